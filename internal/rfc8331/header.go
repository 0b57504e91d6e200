package rfc8331

import (
	"encoding/binary"
	"fmt"
	"io"
)

// HeaderSize is the size of the RFC 8331 payload header that follows the
// RTP header.
const HeaderSize = 8

// Payload header (RFC 8331 §2.1), big-endian:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Extended Sequence Number    |            Length             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| ANC_Count     | F |                reserved                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	extSeqOffset = 0
	lengthOffset = 2
	countOffset  = 4
	fieldOffset  = 5 // F in the top two bits; the 22 reserved bits follow
	fieldShift   = 6
)

// Field values of the F field.
const (
	FieldProgressive uint8 = 0 // progressive video, or no field specified
	fieldInvalid     uint8 = 1 // 0b01 is not valid
	FieldFirst       uint8 = 2 // the timestamp refers to field 1 of an interlaced signal
	FieldSecond      uint8 = 3 // the timestamp refers to field 2
)

// Header is the RFC 8331 payload header.
type Header struct {
	ExtSeq uint16 // high 16 bits of the 32-bit sequence number (RTP seq is the low half)
	Length uint16 // bytes of ANC data after this header, through the last word_align
	Count  uint8  // ANC_Count: ANC packets in this RTP packet
	Field  uint8  // F: FieldProgressive, FieldFirst or FieldSecond
}

// MarshalSize returns HeaderSize.
func (*Header) MarshalSize() int { return HeaderSize }

// MarshalTo writes the header, reserved bits zero, into b[:HeaderSize].
func (h *Header) MarshalTo(b []byte) (int, error) {
	if len(b) < HeaderSize {
		return 0, fmt.Errorf("rfc8331: header needs %d bytes, got %d: %w", HeaderSize, len(b), io.ErrShortBuffer)
	}
	if h.Field == fieldInvalid || h.Field > FieldSecond {
		return 0, fmt.Errorf("%w: F %d, need 0, 2 or 3", ErrRange, h.Field)
	}
	binary.BigEndian.PutUint16(b[extSeqOffset:], h.ExtSeq)
	binary.BigEndian.PutUint16(b[lengthOffset:], h.Length)
	b[countOffset] = h.Count
	b[fieldOffset] = h.Field << fieldShift
	b[6], b[7] = 0, 0
	return HeaderSize, nil
}

// Marshal returns the header in a new buffer.
func (h *Header) Marshal() ([]byte, error) {
	b := make([]byte, HeaderSize)
	if _, err := h.MarshalTo(b); err != nil {
		return nil, err
	}
	return b, nil
}

// Unmarshal reads the header from the first HeaderSize bytes of b (the RTP
// payload) and returns HeaderSize. Reserved bits are ignored, as receivers
// must; F = 0b01 is refused. It does not check Length against b: see
// Decoder.ResetPayload.
func (h *Header) Unmarshal(b []byte) (int, error) {
	if len(b) < HeaderSize {
		return 0, fmt.Errorf("%w: header needs %d bytes, got %d", ErrMalformed, HeaderSize, len(b))
	}
	f := b[fieldOffset] >> fieldShift
	if f == fieldInvalid {
		return 0, fmt.Errorf("%w: F field 0b01 is not valid", ErrMalformed)
	}
	*h = Header{
		ExtSeq: binary.BigEndian.Uint16(b[extSeqOffset:]),
		Length: binary.BigEndian.Uint16(b[lengthOffset:]),
		Count:  b[countOffset],
		Field:  f,
	}
	return HeaderSize, nil
}
