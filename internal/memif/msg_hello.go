package memif

import "encoding/binary"

// HELLO offsets (memif.md §4):
//
//	0   u16      type = 2
//	2   char[32] master application name
//	34  u16      min_version
//	36  u16      max_version
//	38  u16      max_region     highest region index accepted
//	40  u16      max_m2s_ring   highest M2S ring index accepted
//	42  u16      max_s2m_ring   highest S2M ring index accepted
//	44  u8       max_log2_ring_size
const (
	helloNameOffset       = 2
	helloMinVersionOffset = 34
	helloMaxVersionOffset = 36
	helloMaxRegionOffset  = 38
	helloMaxM2SOffset     = 40
	helloMaxS2MOffset     = 42
	helloMaxLog2Offset    = 44
)

// Hello is the master's first message, sent right after accept.
type Hello struct {
	Name            string // master application name
	MinVersion      uint16
	MaxVersion      uint16
	MaxRegion       uint16 // highest region index accepted
	MaxM2SRing      uint16 // highest M2S ring index accepted
	MaxS2MRing      uint16 // highest S2M ring index accepted
	MaxLog2RingSize uint8
}

// Type returns MsgHello.
func (*Hello) Type() MsgType { return MsgHello }

// MarshalSize returns MsgSize.
func (*Hello) MarshalSize() int { return MsgSize }

// MarshalTo writes the message into b[:MsgSize].
func (m *Hello) MarshalTo(b []byte) (int, error) {
	if err := putHeader(b, MsgHello); err != nil {
		return 0, err
	}
	if err := putString(b[helloNameOffset:helloNameOffset+NameSize], m.Name, "name"); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint16(b[helloMinVersionOffset:], m.MinVersion)
	binary.LittleEndian.PutUint16(b[helloMaxVersionOffset:], m.MaxVersion)
	binary.LittleEndian.PutUint16(b[helloMaxRegionOffset:], m.MaxRegion)
	binary.LittleEndian.PutUint16(b[helloMaxM2SOffset:], m.MaxM2SRing)
	binary.LittleEndian.PutUint16(b[helloMaxS2MOffset:], m.MaxS2MRing)
	b[helloMaxLog2Offset] = m.MaxLog2RingSize
	return MsgSize, nil
}

// Marshal returns the message in a new buffer.
func (m *Hello) Marshal() ([]byte, error) { return marshal(m) }

// Unmarshal reads a HELLO. Name is a copy.
func (m *Hello) Unmarshal(b []byte) (int, error) {
	if err := checkHeader(b, MsgHello); err != nil {
		return 0, err
	}
	*m = Hello{
		Name:            getString(b[helloNameOffset : helloNameOffset+NameSize]),
		MinVersion:      binary.LittleEndian.Uint16(b[helloMinVersionOffset:]),
		MaxVersion:      binary.LittleEndian.Uint16(b[helloMaxVersionOffset:]),
		MaxRegion:       binary.LittleEndian.Uint16(b[helloMaxRegionOffset:]),
		MaxM2SRing:      binary.LittleEndian.Uint16(b[helloMaxM2SOffset:]),
		MaxS2MRing:      binary.LittleEndian.Uint16(b[helloMaxS2MOffset:]),
		MaxLog2RingSize: b[helloMaxLog2Offset],
	}
	return MsgSize, nil
}
