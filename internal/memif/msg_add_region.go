package memif

import "encoding/binary"

// ADD_REGION offsets (memif.md §4); the region's memfd rides along:
//
//	0  u16  type = 4
//	2  u16  region index (0, 1, … in order)
//	4  u64  size: bytes to map from file offset 0
const (
	addRegionIndexOffset = 2
	addRegionSizeOffset  = 4
)

// AddRegion announces a shared memory region.
type AddRegion struct {
	Index uint16
	Size  uint64
}

// Type returns MsgAddRegion.
func (*AddRegion) Type() MsgType { return MsgAddRegion }

// MarshalSize returns MsgSize.
func (*AddRegion) MarshalSize() int { return MsgSize }

// MarshalTo writes the message into b[:MsgSize].
func (m *AddRegion) MarshalTo(b []byte) (int, error) {
	if err := putHeader(b, MsgAddRegion); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint16(b[addRegionIndexOffset:], m.Index)
	binary.LittleEndian.PutUint64(b[addRegionSizeOffset:], m.Size)
	return MsgSize, nil
}

// Marshal returns the message in a new buffer.
func (m *AddRegion) Marshal() ([]byte, error) { return marshal(m) }

// Unmarshal reads an ADD_REGION. Values are checked by the master.
func (m *AddRegion) Unmarshal(b []byte) (int, error) {
	if err := checkHeader(b, MsgAddRegion); err != nil {
		return 0, err
	}
	*m = AddRegion{
		Index: binary.LittleEndian.Uint16(b[addRegionIndexOffset:]),
		Size:  binary.LittleEndian.Uint64(b[addRegionSizeOffset:]),
	}
	return MsgSize, nil
}
