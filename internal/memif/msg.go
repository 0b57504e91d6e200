package memif

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// Control messages (shared/spec/memif.md §4). Every message is exactly
// MsgSize bytes: a u16 type at offset 0, the body from offset 2, padding to
// the end. Integers are little-endian. Strings are NUL-terminated fixed
// fields; padding after the NUL may be garbage (libmemif sends uninitialised
// heap bytes), so parsers stop at the first NUL and never demand zeros.

// MsgType is the u16 at offset 0 of every control message.
type MsgType uint16

// Message types.
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
	}
	return fmt.Sprintf("type(0x%04x)", uint16(t))
}

// Wire constants.
const (
	MsgSize       = 128    // every control message
	Version       = 0x0200 // protocol 2.0
	Cookie        = 0x03E31F20
	NameSize      = 32 // interface/application names, NUL-terminated
	SecretSize    = 24
	ReasonSize    = 96
	MaxLog2Ring   = 14
	RingFlagS2M   = 1 // ADD_RING flags bit 0
	RingMaskInt   = 1 // ring flags bit 0: consumer wants no interrupts
	DescFlagNext  = 1 // descriptor flags bit 0: chain continues
	DescSize      = 16
	maxRingIndex  = 255
	maxRegionIdx  = 255
	msgTypeOffset = 0
)

// Field offsets from the start of the 128-byte message (§4 tables).
const (
	helloName       = 2
	helloMinVersion = 34
	helloMaxVersion = 36
	helloMaxRegion  = 38
	helloMaxM2S     = 40
	helloMaxS2M     = 42
	helloMaxLog2    = 44

	initVersion = 2
	initID      = 4
	initMode    = 8
	initSecret  = 9
	initName    = 33

	regionIndex = 2
	regionSize  = 4

	ringFlags   = 2
	ringIndex   = 4
	ringRegion  = 6
	ringOffset  = 8
	ringLog2    = 12
	ringPrivHdr = 13

	connectName = 2

	discCode   = 2
	discReason = 6
)

// Message is one decoded control message.
type Message interface {
	Type() MsgType
	// MarshalTo writes the full 128-byte message into b.
	MarshalTo(b []byte) (int, error)
	// Unmarshal reads a full 128-byte message of this type.
	Unmarshal(b []byte) (int, error)
}

// Ack acknowledges INIT, ADD_REGION and ADD_RING (no body).
type Ack struct{}

// Hello is the master's first message.
type Hello struct {
	Name            string
	MinVersion      uint16
	MaxVersion      uint16
	MaxRegion       uint16 // highest region index accepted
	MaxM2SRing      uint16 // highest M2S ring index accepted
	MaxS2MRing      uint16 // highest S2M ring index accepted
	MaxLog2RingSize uint8
}

// Init is the slave's request to attach to interface ID.
type Init struct {
	Version uint16
	ID      uint32
	Mode    Mode
	Secret  string
	Name    string
}

// AddRegion announces a shared memory region; its memfd rides along.
type AddRegion struct {
	Index uint16
	Size  uint64
}

// AddRing announces a ring; its eventfd rides along.
type AddRing struct {
	Flags          uint16 // RingFlagS2M
	Index          uint16
	Region         uint16
	Offset         uint32
	Log2RingSize   uint8
	PrivateHdrSize uint16
}

// Connect is the slave's last handshake message.
type Connect struct{ Name string }

// Connected is the master's answer to Connect: the link is up.
type Connected struct{ Name string }

// Disconnect ends a link with a reason.
type Disconnect struct {
	Code   uint32
	Reason string
}

// Type implementations.
func (*Ack) Type() MsgType        { return MsgAck }
func (*Hello) Type() MsgType      { return MsgHello }
func (*Init) Type() MsgType       { return MsgInit }
func (*AddRegion) Type() MsgType  { return MsgAddRegion }
func (*AddRing) Type() MsgType    { return MsgAddRing }
func (*Connect) Type() MsgType    { return MsgConnect }
func (*Connected) Type() MsgType  { return MsgConnected }
func (*Disconnect) Type() MsgType { return MsgDisconnect }

// MarshalSize of every message is MsgSize.
func (*Ack) MarshalSize() int        { return MsgSize }
func (*Hello) MarshalSize() int      { return MsgSize }
func (*Init) MarshalSize() int       { return MsgSize }
func (*AddRegion) MarshalSize() int  { return MsgSize }
func (*AddRing) MarshalSize() int    { return MsgSize }
func (*Connect) MarshalSize() int    { return MsgSize }
func (*Connected) MarshalSize() int  { return MsgSize }
func (*Disconnect) MarshalSize() int { return MsgSize }

// Marshal returns a new 128-byte message.
func Marshal(m Message) ([]byte, error) {
	b := make([]byte, MsgSize)
	if _, err := m.MarshalTo(b); err != nil {
		return nil, err
	}
	return b, nil
}

// header checks b and writes the type; the rest of b[:MsgSize] is zeroed.
func header(b []byte, t MsgType) error {
	if len(b) < MsgSize {
		return fmt.Errorf("%w: %d bytes, need %d", io.ErrShortBuffer, len(b), MsgSize)
	}
	clear(b[:MsgSize])
	binary.LittleEndian.PutUint16(b, uint16(t))
	return nil
}

// check verifies an incoming message's size and type.
func check(b []byte, t MsgType) error {
	if len(b) != MsgSize {
		return fmt.Errorf("%w: %s is %d bytes, want %d", ErrMessage, t, len(b), MsgSize)
	}
	if got := MsgType(binary.LittleEndian.Uint16(b)); got != t {
		return fmt.Errorf("%w: type %s, want %s", ErrMessage, got, t)
	}
	return nil
}

// putString writes s NUL-terminated into a field of size n.
func putString(field []byte, s, what string) error {
	if len(s) >= len(field) {
		return fmt.Errorf("%w: %s is %d bytes, at most %d", ErrConfig, what, len(s), len(field)-1)
	}
	if bytes.IndexByte([]byte(s), 0) >= 0 {
		return fmt.Errorf("%w: %s contains NUL", ErrConfig, what)
	}
	copy(field, s)
	return nil
}

// getString reads a NUL-terminated field; a field without NUL is whole.
func getString(field []byte) string {
	if i := bytes.IndexByte(field, 0); i >= 0 {
		field = field[:i]
	}
	return string(field)
}

// MarshalTo writes an ACK.
func (m *Ack) MarshalTo(b []byte) (int, error) {
	return MsgSize, header(b, MsgAck)
}

// Unmarshal reads an ACK; its body is ignored (libmemif leaves it dirty).
func (m *Ack) Unmarshal(b []byte) (int, error) {
	return MsgSize, check(b, MsgAck)
}

// MarshalTo writes a HELLO.
func (m *Hello) MarshalTo(b []byte) (int, error) {
	if err := header(b, MsgHello); err != nil {
		return 0, err
	}
	if err := putString(b[helloName:helloName+NameSize], m.Name, "name"); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint16(b[helloMinVersion:], m.MinVersion)
	binary.LittleEndian.PutUint16(b[helloMaxVersion:], m.MaxVersion)
	binary.LittleEndian.PutUint16(b[helloMaxRegion:], m.MaxRegion)
	binary.LittleEndian.PutUint16(b[helloMaxM2S:], m.MaxM2SRing)
	binary.LittleEndian.PutUint16(b[helloMaxS2M:], m.MaxS2MRing)
	b[helloMaxLog2] = m.MaxLog2RingSize
	return MsgSize, nil
}

// Unmarshal reads a HELLO.
func (m *Hello) Unmarshal(b []byte) (int, error) {
	if err := check(b, MsgHello); err != nil {
		return 0, err
	}
	*m = Hello{
		Name:            getString(b[helloName : helloName+NameSize]),
		MinVersion:      binary.LittleEndian.Uint16(b[helloMinVersion:]),
		MaxVersion:      binary.LittleEndian.Uint16(b[helloMaxVersion:]),
		MaxRegion:       binary.LittleEndian.Uint16(b[helloMaxRegion:]),
		MaxM2SRing:      binary.LittleEndian.Uint16(b[helloMaxM2S:]),
		MaxS2MRing:      binary.LittleEndian.Uint16(b[helloMaxS2M:]),
		MaxLog2RingSize: b[helloMaxLog2],
	}
	return MsgSize, nil
}

// MarshalTo writes an INIT.
func (m *Init) MarshalTo(b []byte) (int, error) {
	if err := header(b, MsgInit); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint16(b[initVersion:], m.Version)
	binary.LittleEndian.PutUint32(b[initID:], m.ID)
	b[initMode] = byte(m.Mode)
	if err := putString(b[initSecret:initSecret+SecretSize], m.Secret, "secret"); err != nil {
		return 0, err
	}
	if err := putString(b[initName:initName+NameSize], m.Name, "name"); err != nil {
		return 0, err
	}
	return MsgSize, nil
}

// Unmarshal reads an INIT.
func (m *Init) Unmarshal(b []byte) (int, error) {
	if err := check(b, MsgInit); err != nil {
		return 0, err
	}
	*m = Init{
		Version: binary.LittleEndian.Uint16(b[initVersion:]),
		ID:      binary.LittleEndian.Uint32(b[initID:]),
		Mode:    Mode(b[initMode]),
		Secret:  getString(b[initSecret : initSecret+SecretSize]),
		Name:    getString(b[initName : initName+NameSize]),
	}
	return MsgSize, nil
}

// MarshalTo writes an ADD_REGION.
func (m *AddRegion) MarshalTo(b []byte) (int, error) {
	if err := header(b, MsgAddRegion); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint16(b[regionIndex:], m.Index)
	binary.LittleEndian.PutUint64(b[regionSize:], m.Size)
	return MsgSize, nil
}

// Unmarshal reads an ADD_REGION.
func (m *AddRegion) Unmarshal(b []byte) (int, error) {
	if err := check(b, MsgAddRegion); err != nil {
		return 0, err
	}
	m.Index = binary.LittleEndian.Uint16(b[regionIndex:])
	m.Size = binary.LittleEndian.Uint64(b[regionSize:])
	return MsgSize, nil
}

// MarshalTo writes an ADD_RING.
func (m *AddRing) MarshalTo(b []byte) (int, error) {
	if err := header(b, MsgAddRing); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint16(b[ringFlags:], m.Flags)
	binary.LittleEndian.PutUint16(b[ringIndex:], m.Index)
	binary.LittleEndian.PutUint16(b[ringRegion:], m.Region)
	binary.LittleEndian.PutUint32(b[ringOffset:], m.Offset)
	b[ringLog2] = m.Log2RingSize
	binary.LittleEndian.PutUint16(b[ringPrivHdr:], m.PrivateHdrSize)
	return MsgSize, nil
}

// Unmarshal reads an ADD_RING.
func (m *AddRing) Unmarshal(b []byte) (int, error) {
	if err := check(b, MsgAddRing); err != nil {
		return 0, err
	}
	*m = AddRing{
		Flags:          binary.LittleEndian.Uint16(b[ringFlags:]),
		Index:          binary.LittleEndian.Uint16(b[ringIndex:]),
		Region:         binary.LittleEndian.Uint16(b[ringRegion:]),
		Offset:         binary.LittleEndian.Uint32(b[ringOffset:]),
		Log2RingSize:   b[ringLog2],
		PrivateHdrSize: binary.LittleEndian.Uint16(b[ringPrivHdr:]),
	}
	return MsgSize, nil
}

// MarshalTo writes a CONNECT.
func (m *Connect) MarshalTo(b []byte) (int, error) { return marshalName(b, MsgConnect, m.Name) }

// Unmarshal reads a CONNECT.
func (m *Connect) Unmarshal(b []byte) (int, error) { return unmarshalName(b, MsgConnect, &m.Name) }

// MarshalTo writes a CONNECTED.
func (m *Connected) MarshalTo(b []byte) (int, error) { return marshalName(b, MsgConnected, m.Name) }

// Unmarshal reads a CONNECTED.
func (m *Connected) Unmarshal(b []byte) (int, error) { return unmarshalName(b, MsgConnected, &m.Name) }

func marshalName(b []byte, t MsgType, name string) (int, error) {
	if err := header(b, t); err != nil {
		return 0, err
	}
	if err := putString(b[connectName:connectName+NameSize], name, "name"); err != nil {
		return 0, err
	}
	return MsgSize, nil
}

func unmarshalName(b []byte, t MsgType, name *string) (int, error) {
	if err := check(b, t); err != nil {
		return 0, err
	}
	*name = getString(b[connectName : connectName+NameSize])
	return MsgSize, nil
}

// MarshalTo writes a DISCONNECT; a reason longer than the field is cut.
func (m *Disconnect) MarshalTo(b []byte) (int, error) {
	if err := header(b, MsgDisconnect); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint32(b[discCode:], m.Code)
	r := m.Reason
	if len(r) >= ReasonSize {
		r = r[:ReasonSize-1]
	}
	copy(b[discReason:discReason+ReasonSize-1], r)
	return MsgSize, nil
}

// Unmarshal reads a DISCONNECT.
func (m *Disconnect) Unmarshal(b []byte) (int, error) {
	if err := check(b, MsgDisconnect); err != nil {
		return 0, err
	}
	m.Code = binary.LittleEndian.Uint32(b[discCode:])
	m.Reason = getString(b[discReason : discReason+ReasonSize])
	return MsgSize, nil
}

// ParseMessage decodes any control message.
func ParseMessage(b []byte) (Message, error) {
	if len(b) != MsgSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrMessage, len(b), MsgSize)
	}
	var m Message
	switch t := MsgType(binary.LittleEndian.Uint16(b)); t {
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
	default:
		return nil, fmt.Errorf("%w: unknown message type %s", ErrMessage, t)
	}
	if _, err := m.Unmarshal(b); err != nil {
		return nil, err
	}
	return m, nil
}
