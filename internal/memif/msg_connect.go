package memif

// CONNECT / CONNECTED offsets (memif.md §4):
//
//	0  u16      type = 6 (CONNECT, slave) or 7 (CONNECTED, master)
//	2  char[32] the sender's interface name
const connectNameOffset = 2

// Connect is the slave's last handshake message.
type Connect struct{ Name string }

// Connected is the master's answer to Connect: the link is up.
type Connected struct{ Name string }

// Type returns MsgConnect.
func (*Connect) Type() MsgType { return MsgConnect }

// MarshalSize returns MsgSize.
func (*Connect) MarshalSize() int { return MsgSize }

// MarshalTo writes the message into b[:MsgSize].
func (m *Connect) MarshalTo(b []byte) (int, error) { return marshalName(b, MsgConnect, m.Name) }

// Marshal returns the message in a new buffer.
func (m *Connect) Marshal() ([]byte, error) { return marshal(m) }

// Unmarshal reads a CONNECT. Name is a copy.
func (m *Connect) Unmarshal(b []byte) (int, error) { return unmarshalName(b, MsgConnect, &m.Name) }

// Type returns MsgConnected.
func (*Connected) Type() MsgType { return MsgConnected }

// MarshalSize returns MsgSize.
func (*Connected) MarshalSize() int { return MsgSize }

// MarshalTo writes the message into b[:MsgSize].
func (m *Connected) MarshalTo(b []byte) (int, error) { return marshalName(b, MsgConnected, m.Name) }

// Marshal returns the message in a new buffer.
func (m *Connected) Marshal() ([]byte, error) { return marshal(m) }

// Unmarshal reads a CONNECTED. Name is a copy.
func (m *Connected) Unmarshal(b []byte) (int, error) {
	return unmarshalName(b, MsgConnected, &m.Name)
}

func marshalName(b []byte, t MsgType, name string) (int, error) {
	if err := putHeader(b, t); err != nil {
		return 0, err
	}
	if err := putString(b[connectNameOffset:connectNameOffset+NameSize], name, "name"); err != nil {
		return 0, err
	}
	return MsgSize, nil
}

func unmarshalName(b []byte, t MsgType, name *string) (int, error) {
	if err := checkHeader(b, t); err != nil {
		return 0, err
	}
	*name = getString(b[connectNameOffset : connectNameOffset+NameSize])
	return MsgSize, nil
}
