package memif

import "encoding/binary"

// INIT offsets (memif.md §4):
//
//	0   u16      type = 3
//	2   u16      version, 0x0200
//	4   u32      interface id
//	8   u8       mode
//	9   u8[24]   secret, NUL-terminated; empty = none
//	33  char[32] slave application name
const (
	initVersionOffset = 2
	initIDOffset      = 4
	initModeOffset    = 8
	initSecretOffset  = 9
	initNameOffset    = 33
)

// Init is the slave's request to attach to interface ID.
type Init struct {
	Version uint16
	ID      uint32
	Mode    Mode
	Secret  string
	Name    string // slave application name
}

// Type returns MsgInit.
func (*Init) Type() MsgType { return MsgInit }

// MarshalSize returns MsgSize.
func (*Init) MarshalSize() int { return MsgSize }

// MarshalTo writes the message into b[:MsgSize].
func (m *Init) MarshalTo(b []byte) (int, error) {
	if err := putHeader(b, MsgInit); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint16(b[initVersionOffset:], m.Version)
	binary.LittleEndian.PutUint32(b[initIDOffset:], m.ID)
	b[initModeOffset] = byte(m.Mode)
	if err := putString(b[initSecretOffset:initSecretOffset+SecretSize], m.Secret, "secret"); err != nil {
		return 0, err
	}
	if err := putString(b[initNameOffset:initNameOffset+NameSize], m.Name, "name"); err != nil {
		return 0, err
	}
	return MsgSize, nil
}

// Marshal returns the message in a new buffer.
func (m *Init) Marshal() ([]byte, error) { return marshal(m) }

// Unmarshal reads an INIT. Secret and Name are copies. Mode is not
// checked here: the master answers an unknown mode with "mode mismatch".
func (m *Init) Unmarshal(b []byte) (int, error) {
	if err := checkHeader(b, MsgInit); err != nil {
		return 0, err
	}
	*m = Init{
		Version: binary.LittleEndian.Uint16(b[initVersionOffset:]),
		ID:      binary.LittleEndian.Uint32(b[initIDOffset:]),
		Mode:    Mode(b[initModeOffset]),
		Secret:  getString(b[initSecretOffset : initSecretOffset+SecretSize]),
		Name:    getString(b[initNameOffset : initNameOffset+NameSize]),
	}
	return MsgSize, nil
}
