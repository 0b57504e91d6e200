package memif

import "encoding/binary"

// IMPORT_REGION is mediamesh's extension for zero-copy fan-out
// (memif.md §11.1 A). After CONNECTED, a master that agreed on it with the
// slave out of band (never by probing: libmemif drops the link on an
// unknown type) hands the slave a region it did not create — the sender's
// buffer memfd, reopened read-only — and the slave maps it PROT_READ and
// answers ACK. Descriptors may then name it by index. Body as ADD_REGION's,
// plus flags:
//
//	0  u16  type = 0x0100
//	2  u16  region index: the first one above the slave's regions so far
//	4  u64  size
//	12 u16  flags: bit 0 read-only
const (
	MsgImportRegion MsgType = 0x0100

	importRegionIndexOffset = 2
	importRegionSizeOffset  = 4
	importRegionFlagsOffset = 12

	// ImportReadOnly marks a region the slave must map without write access.
	ImportReadOnly = 1
)

// ImportRegion hands a slave a region created elsewhere; its fd rides along.
type ImportRegion struct {
	Index uint16
	Size  uint64
	Flags uint16
}

// Type returns MsgImportRegion.
func (*ImportRegion) Type() MsgType { return MsgImportRegion }

// MarshalSize returns MsgSize.
func (*ImportRegion) MarshalSize() int { return MsgSize }

// MarshalTo writes the message into b[:MsgSize].
func (m *ImportRegion) MarshalTo(b []byte) (int, error) {
	if err := putHeader(b, MsgImportRegion); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint16(b[importRegionIndexOffset:], m.Index)
	binary.LittleEndian.PutUint64(b[importRegionSizeOffset:], m.Size)
	binary.LittleEndian.PutUint16(b[importRegionFlagsOffset:], m.Flags)
	return MsgSize, nil
}

// Marshal returns the message in a new buffer.
func (m *ImportRegion) Marshal() ([]byte, error) { return marshal(m) }

// Unmarshal reads an IMPORT_REGION. Values are checked by the slave.
func (m *ImportRegion) Unmarshal(b []byte) (int, error) {
	if err := checkHeader(b, MsgImportRegion); err != nil {
		return 0, err
	}
	*m = ImportRegion{
		Index: binary.LittleEndian.Uint16(b[importRegionIndexOffset:]),
		Size:  binary.LittleEndian.Uint64(b[importRegionSizeOffset:]),
		Flags: binary.LittleEndian.Uint16(b[importRegionFlagsOffset:]),
	}
	return MsgSize, nil
}
