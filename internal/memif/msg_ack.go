package memif

// Ack acknowledges INIT, ADD_REGION and ADD_RING (memif.md §4). It has no
// body; libmemif leaves the rest of the message uninitialised.
//
//	0  u16 type = 1
type Ack struct{}

// Type returns MsgAck.
func (*Ack) Type() MsgType { return MsgAck }

// MarshalSize returns MsgSize.
func (*Ack) MarshalSize() int { return MsgSize }

// MarshalTo writes the message into b[:MsgSize].
func (m *Ack) MarshalTo(b []byte) (int, error) {
	if err := putHeader(b, MsgAck); err != nil {
		return 0, err
	}
	return MsgSize, nil
}

// Marshal returns the message in a new buffer.
func (m *Ack) Marshal() ([]byte, error) { return marshal(m) }

// Unmarshal reads an ACK; the body is ignored.
func (m *Ack) Unmarshal(b []byte) (int, error) {
	if err := checkHeader(b, MsgAck); err != nil {
		return 0, err
	}
	return MsgSize, nil
}
