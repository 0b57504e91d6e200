package memif

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// Control messages (memif.md §3, §4). Every message is exactly MsgSize
// bytes: a u16 type at offset 0, the body from offset 2, padding to the end.
// Integers are little-endian. Strings are NUL-terminated fixed fields;
// padding after the NUL may be garbage (libmemif sends uninitialised heap
// bytes), so parsers stop at the first NUL and never demand zeros. A field
// without a NUL is cut to its size − 1, as libmemif's strlcpy does, so any
// parsed message marshals again.

// MsgType is the u16 at offset 0 of every control message.
type MsgType uint16

// Message types (memif.md §2).
const (
	MsgAck        MsgType = 1
	MsgHello      MsgType = 2
	MsgInit       MsgType = 3
	MsgAddRegion  MsgType = 4
	MsgAddRing    MsgType = 5
	MsgConnect    MsgType = 6
	MsgConnected  MsgType = 7
	MsgDisconnect MsgType = 8
)

// String returns the spec's name of t.
func (t MsgType) String() string {
	switch t {
	case MsgAck:
		return "ACK"
	case MsgHello:
		return "HELLO"
	case MsgInit:
		return "INIT"
	case MsgAddRegion:
		return "ADD_REGION"
	case MsgAddRing:
		return "ADD_RING"
	case MsgConnect:
		return "CONNECT"
	case MsgConnected:
		return "CONNECTED"
	case MsgDisconnect:
		return "DISCONNECT"
	case MsgImportRegion:
		return "IMPORT_REGION"
	}
	return fmt.Sprintf("type(0x%04x)", uint16(t))
}

// Wire constants (memif.md §2).
const (
	MsgSize         = 128        // every control message, exactly
	Version         = 0x0200     // protocol 2.0
	Cookie          = 0x03E31F20 // first word of every ring
	NameSize        = 32         // names, NUL-terminated: at most 31 bytes
	SecretSize      = 24         // secret, NUL-terminated: at most 23 bytes
	ReasonSize      = 96         // disconnect reason, NUL-terminated
	MaxLog2RingSize = 14         // 16384 slots
	RingFlagS2M     = 1          // ADD_RING flags bit 0: the ring is S2M
	RingFlagMaskInt = 1          // ring flags bit 0: the consumer wants no interrupts
	DescFlagNext    = 1          // descriptor flags bit 0: the chain continues
	DescSize        = 16         // one ring descriptor

	maxIndex = 255 // highest region and ring index (u8 counts in libmemif, §9)
)

// msgTypeOffset is where every message keeps its u16 type.
const msgTypeOffset = 0

// Message is one control message. Each type has the four methods of
// STYLE.md §9; MarshalTo zeroes the padding it writes.
type Message interface {
	Type() MsgType
	MarshalSize() int
	MarshalTo(b []byte) (int, error)
	Marshal() ([]byte, error)
	Unmarshal(b []byte) (int, error)
}

// Compile-time checks.
var (
	_ Message = (*Ack)(nil)
	_ Message = (*Hello)(nil)
	_ Message = (*Init)(nil)
	_ Message = (*AddRegion)(nil)
	_ Message = (*AddRing)(nil)
	_ Message = (*Connect)(nil)
	_ Message = (*Connected)(nil)
	_ Message = (*Disconnect)(nil)
)

// ParseMessage decodes any control message. b must be exactly MsgSize bytes.
func ParseMessage(b []byte) (Message, error) {
	if len(b) != MsgSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrMessage, len(b), MsgSize)
	}
	var m Message
	switch t := peekType(b); t {
	case MsgAck:
		m = &Ack{}
	case MsgHello:
		m = &Hello{}
	case MsgInit:
		m = &Init{}
	case MsgAddRegion:
		m = &AddRegion{}
	case MsgAddRing:
		m = &AddRing{}
	case MsgConnect:
		m = &Connect{}
	case MsgConnected:
		m = &Connected{}
	case MsgDisconnect:
		m = &Disconnect{}
	case MsgImportRegion:
		m = &ImportRegion{}
	default:
		return nil, fmt.Errorf("%w: unknown message type (0x%04x)", ErrMessage, uint16(t))
	}
	if _, err := m.Unmarshal(b); err != nil {
		return nil, err
	}
	return m, nil
}

// peekType reads the type of a message of at least 2 bytes.
func peekType(b []byte) MsgType {
	return MsgType(binary.LittleEndian.Uint16(b[msgTypeOffset:]))
}

// marshal is the shared Marshal: a fresh MsgSize buffer.
func marshal(m Message) ([]byte, error) {
	b := make([]byte, MsgSize)
	if _, err := m.MarshalTo(b); err != nil {
		return nil, err
	}
	return b, nil
}

// putHeader checks b's size, zeroes the message and writes its type.
func putHeader(b []byte, t MsgType) error {
	if len(b) < MsgSize {
		return fmt.Errorf("%w: %d bytes, need %d", io.ErrShortBuffer, len(b), MsgSize)
	}
	clear(b[:MsgSize])
	binary.LittleEndian.PutUint16(b[msgTypeOffset:], uint16(t))
	return nil
}

// checkHeader verifies an incoming message's exact size and type.
func checkHeader(b []byte, t MsgType) error {
	if len(b) != MsgSize {
		return fmt.Errorf("%w: %s is %d bytes, want %d", ErrMessage, t, len(b), MsgSize)
	}
	if got := peekType(b); got != t {
		return fmt.Errorf("%w: type %s, want %s", ErrMessage, got, t)
	}
	return nil
}

// putString writes s NUL-terminated into field.
func putString(field []byte, s, what string) error {
	if len(s) >= len(field) {
		return fmt.Errorf("%w: %s is %d bytes, at most %d", ErrMessage, what, len(s), len(field)-1)
	}
	if hasNUL(s) {
		return fmt.Errorf("%w: %s contains NUL", ErrMessage, what)
	}
	copy(field, s)
	return nil
}

// getString reads a NUL-terminated field: up to the first NUL, at most
// len(field) − 1 bytes; what follows is ignored.
func getString(field []byte) string {
	field = field[:len(field)-1]
	if i := bytes.IndexByte(field, 0); i >= 0 {
		field = field[:i]
	}
	return string(field)
}
