package bridge

import (
	"encoding/binary"
	"fmt"
)

// Refusal (type 3): why a side ends the connection; it is the last message
// that side sends.
//
//	0  u16 magic   2 u8 version   3 u8 type = 3
//	4  u32 group           GroupID of the URN, 0 before one is known
//	8  u16 code            a Code
//	10 u16 message length  0..MaxText
//	12 20 bytes reserved: sent as 0, ignored
//	32 message, UTF-8
const (
	offCode   = 8
	offMsgLen = 10
)

// Refusal is a side's reason for closing, read by the other as a
// *RemoteError.
type Refusal struct {
	Group   uint32
	Code    Code
	Message string
}

// MarshalSize is the header plus the message.
func (m *Refusal) MarshalSize() int { return HeaderSize + len(m.Message) }

// MarshalTo writes the message into b[:MarshalSize()].
func (m *Refusal) MarshalTo(b []byte) (int, error) {
	if err := checkText("refusal message", len(m.Message)); err != nil {
		return 0, err
	}
	n := m.MarshalSize()
	if len(b) < n {
		return 0, shortBuffer("refusal", len(b), n)
	}
	putPrefix(b, TypeRefusal, m.Group)
	binary.BigEndian.PutUint16(b[offCode:], uint16(m.Code))
	binary.BigEndian.PutUint16(b[offMsgLen:], uint16(len(m.Message)))
	clear(b[offMsgLen+2 : HeaderSize])
	copy(b[HeaderSize:], m.Message)
	return n, nil
}

// Marshal returns the message in a new buffer.
func (m *Refusal) Marshal() ([]byte, error) {
	b := make([]byte, m.MarshalSize())
	_, err := m.MarshalTo(b)
	return b, err
}

func refusalBodyLen(b []byte) (int, error) {
	if err := checkHeader(b, TypeRefusal); err != nil {
		return 0, fmt.Errorf("refusal: %w", err)
	}
	n := int(binary.BigEndian.Uint16(b[offMsgLen:]))
	if err := checkText("refusal message", n); err != nil {
		return 0, fmt.Errorf("refusal: %w", err)
	}
	return n, nil
}

// Unmarshal reads a Refusal from b, which must hold the whole message; it
// returns the bytes consumed. Message is a copy. Unknown codes are kept:
// a newer peer may know more reasons.
func (m *Refusal) Unmarshal(b []byte) (int, error) {
	text, err := refusalBodyLen(b)
	if err != nil {
		return 0, err
	}
	n := HeaderSize + text
	if len(b) < n {
		return 0, fmt.Errorf("refusal: %w: %d bytes, need %d", ErrMalformed, len(b), n)
	}
	*m = Refusal{
		Group:   binary.BigEndian.Uint32(b[offGroup:]),
		Code:    Code(binary.BigEndian.Uint16(b[offCode:])),
		Message: string(b[HeaderSize:n]),
	}
	return n, nil
}

// Err is the refusal as the error its receiver sees.
func (m *Refusal) Err() error { return &RemoteError{Code: m.Code, Message: m.Message} }
