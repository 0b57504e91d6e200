package bridge

import (
	"encoding/binary"
	"fmt"
)

// Data frame header (type 2), then PayloadLen payload bytes and
// MetadataLen metadata bytes:
//
//	0  u16 magic   2 u8 version   3 u8 type = 2
//	4  u32 group
//	8  u32 seq         the buffer's sequence number at the source
//	12 u32 flags       reserved: sent as 0, ignored
//	16 i64 timestamp   Unix nanoseconds, 0 = unset
//	24 u32 payload length
//	28 u32 metadata length
const (
	offSeq         = 8
	offFlags       = 12
	offTimestamp   = 16
	offPayloadLen  = 24
	offMetadataLen = 28
)

// Header is a data frame's header: one buffer of the group.
type Header struct {
	Group       uint32
	Seq         uint32
	Flags       uint32
	Timestamp   int64
	PayloadLen  uint32
	MetadataLen uint32
}

// MarshalSize is HeaderSize.
func (*Header) MarshalSize() int { return HeaderSize }

// MarshalTo writes the header into b[:HeaderSize].
func (h *Header) MarshalTo(b []byte) (int, error) {
	if len(b) < HeaderSize {
		return 0, shortBuffer("data header", len(b), HeaderSize)
	}
	putPrefix(b, TypeData, h.Group)
	binary.BigEndian.PutUint32(b[offSeq:], h.Seq)
	binary.BigEndian.PutUint32(b[offFlags:], h.Flags)
	binary.BigEndian.PutUint64(b[offTimestamp:], uint64(h.Timestamp))
	binary.BigEndian.PutUint32(b[offPayloadLen:], h.PayloadLen)
	binary.BigEndian.PutUint32(b[offMetadataLen:], h.MetadataLen)
	return HeaderSize, nil
}

// Marshal returns the header in a new buffer.
func (h *Header) Marshal() ([]byte, error) {
	b := make([]byte, HeaderSize)
	_, err := h.MarshalTo(b)
	return b, err
}

// Unmarshal reads a data header from b[:HeaderSize]; the body that follows
// is not looked at. Lengths are checked against limits by the Reader, not
// here: the codec knows no maxima.
func (h *Header) Unmarshal(b []byte) (int, error) {
	if err := checkHeader(b, TypeData); err != nil {
		return 0, fmt.Errorf("data header: %w", err)
	}
	*h = Header{
		Group:       binary.BigEndian.Uint32(b[offGroup:]),
		Seq:         binary.BigEndian.Uint32(b[offSeq:]),
		Flags:       binary.BigEndian.Uint32(b[offFlags:]),
		Timestamp:   int64(binary.BigEndian.Uint64(b[offTimestamp:])),
		PayloadLen:  binary.BigEndian.Uint32(b[offPayloadLen:]),
		MetadataLen: binary.BigEndian.Uint32(b[offMetadataLen:]),
	}
	return HeaderSize, nil
}
