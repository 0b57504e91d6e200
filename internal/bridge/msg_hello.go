package bridge

import (
	"encoding/binary"
	"fmt"
)

// Hello (type 1), the first message in each direction:
//
//	0  u16 magic   2 u8 version   3 u8 type = 1
//	4  u32 group         GroupID(URN)
//	8  u32 max payload   the largest payload a frame will carry / may carry
//	12 u32 max metadata
//	16 u16 URN length    1..MaxText
//	18 u16 token length  0..MaxText
//	20 12 bytes reserved: sent as 0, ignored
//	32 URN, then token
const (
	offMaxPayload  = 8
	offMaxMetadata = 12
	offURNLen      = 16
	offTokenLen    = 18
)

// Hello opens a bridge connection. The sender names the group, proves it
// knows the shared token and says how large its frames can be; the
// receiver answers with the same URN, the token and the maxima it accepted,
// or with a Refusal.
type Hello struct {
	URN         string
	Token       string
	MaxPayload  uint32
	MaxMetadata uint32
}

// MarshalSize is the header plus the URN and the token.
func (m *Hello) MarshalSize() int { return HeaderSize + len(m.URN) + len(m.Token) }

// MarshalTo writes the message into b[:MarshalSize()].
func (m *Hello) MarshalTo(b []byte) (int, error) {
	if err := m.check(); err != nil {
		return 0, err
	}
	n := m.MarshalSize()
	if len(b) < n {
		return 0, shortBuffer("hello", len(b), n)
	}
	putPrefix(b, TypeHello, GroupID(m.URN))
	binary.BigEndian.PutUint32(b[offMaxPayload:], m.MaxPayload)
	binary.BigEndian.PutUint32(b[offMaxMetadata:], m.MaxMetadata)
	binary.BigEndian.PutUint16(b[offURNLen:], uint16(len(m.URN)))
	binary.BigEndian.PutUint16(b[offTokenLen:], uint16(len(m.Token)))
	clear(b[offTokenLen+2 : HeaderSize])
	copy(b[HeaderSize:], m.URN)
	copy(b[HeaderSize+len(m.URN):], m.Token)
	return n, nil
}

// Marshal returns the message in a new buffer.
func (m *Hello) Marshal() ([]byte, error) {
	b := make([]byte, m.MarshalSize())
	_, err := m.MarshalTo(b)
	return b, err
}

func (m *Hello) check() error {
	if m.URN == "" {
		return fmt.Errorf("%w: hello without a URN", ErrMalformed)
	}
	if err := checkText("URN", len(m.URN)); err != nil {
		return err
	}
	return checkText("token", len(m.Token))
}

// helloBodyLen validates a Hello's header and returns the length of the
// URN and token that follow it.
func helloBodyLen(b []byte) (urn, token int, err error) {
	if err := checkHeader(b, TypeHello); err != nil {
		return 0, 0, fmt.Errorf("hello: %w", err)
	}
	urn = int(binary.BigEndian.Uint16(b[offURNLen:]))
	token = int(binary.BigEndian.Uint16(b[offTokenLen:]))
	if urn == 0 {
		return 0, 0, fmt.Errorf("hello: %w: empty URN", ErrMalformed)
	}
	if err := checkText("URN", urn); err != nil {
		return 0, 0, fmt.Errorf("hello: %w", err)
	}
	if err := checkText("token", token); err != nil {
		return 0, 0, fmt.Errorf("hello: %w", err)
	}
	return urn, token, nil
}

// Unmarshal reads a Hello from b, which must hold the whole message; it
// returns the bytes consumed. URN and Token are copies. A group field that
// is not GroupID(URN) is ErrMalformed.
func (m *Hello) Unmarshal(b []byte) (int, error) {
	urn, token, err := helloBodyLen(b)
	if err != nil {
		return 0, err
	}
	n := HeaderSize + urn + token
	if len(b) < n {
		return 0, fmt.Errorf("hello: %w: %d bytes, need %d", ErrMalformed, len(b), n)
	}
	*m = Hello{
		URN:         string(b[HeaderSize : HeaderSize+urn]),
		Token:       string(b[HeaderSize+urn : n]),
		MaxPayload:  binary.BigEndian.Uint32(b[offMaxPayload:]),
		MaxMetadata: binary.BigEndian.Uint32(b[offMaxMetadata:]),
	}
	if g, want := binary.BigEndian.Uint32(b[offGroup:]), GroupID(m.URN); g != want {
		return 0, fmt.Errorf("hello: %w: group %#08x, the URN hashes to %#08x", ErrMalformed, g, want)
	}
	return n, nil
}
