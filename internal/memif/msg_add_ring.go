package memif

import "encoding/binary"

// ADD_RING offsets (memif.md §4); the ring's eventfd rides along:
//
//	0   u16  type = 5
//	2   u16  flags: bit 0 = S2M
//	4   u16  ring index within its direction
//	6   u16  region holding the ring header
//	8   u32  offset of the ring header in that region
//	12  u8   log2 ring size
//	13  u16  private_hdr_size, must be 0
const (
	addRingFlagsOffset   = 2
	addRingIndexOffset   = 4
	addRingRegionOffset  = 6
	addRingOffsetOffset  = 8
	addRingLog2Offset    = 12
	addRingPrivHdrOffset = 13
)

// AddRing announces a ring.
type AddRing struct {
	Flags          uint16 // RingFlagS2M
	Index          uint16
	Region         uint16
	Offset         uint32
	Log2RingSize   uint8
	PrivateHdrSize uint16
}

// S2M reports whether the ring carries slave-to-master traffic.
func (m *AddRing) S2M() bool { return m.Flags&RingFlagS2M != 0 }

// Type returns MsgAddRing.
func (*AddRing) Type() MsgType { return MsgAddRing }

// MarshalSize returns MsgSize.
func (*AddRing) MarshalSize() int { return MsgSize }

// MarshalTo writes the message into b[:MsgSize].
func (m *AddRing) MarshalTo(b []byte) (int, error) {
	if err := putHeader(b, MsgAddRing); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint16(b[addRingFlagsOffset:], m.Flags)
	binary.LittleEndian.PutUint16(b[addRingIndexOffset:], m.Index)
	binary.LittleEndian.PutUint16(b[addRingRegionOffset:], m.Region)
	binary.LittleEndian.PutUint32(b[addRingOffsetOffset:], m.Offset)
	b[addRingLog2Offset] = m.Log2RingSize
	binary.LittleEndian.PutUint16(b[addRingPrivHdrOffset:], m.PrivateHdrSize)
	return MsgSize, nil
}

// Marshal returns the message in a new buffer.
func (m *AddRing) Marshal() ([]byte, error) { return marshal(m) }

// Unmarshal reads an ADD_RING. Values are checked by the master.
func (m *AddRing) Unmarshal(b []byte) (int, error) {
	if err := checkHeader(b, MsgAddRing); err != nil {
		return 0, err
	}
	*m = AddRing{
		Flags:          binary.LittleEndian.Uint16(b[addRingFlagsOffset:]),
		Index:          binary.LittleEndian.Uint16(b[addRingIndexOffset:]),
		Region:         binary.LittleEndian.Uint16(b[addRingRegionOffset:]),
		Offset:         binary.LittleEndian.Uint32(b[addRingOffsetOffset:]),
		Log2RingSize:   b[addRingLog2Offset],
		PrivateHdrSize: binary.LittleEndian.Uint16(b[addRingPrivHdrOffset:]),
	}
	return MsgSize, nil
}
