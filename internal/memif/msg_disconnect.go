package memif

import (
	"encoding/binary"
	"strings"
)

// DISCONNECT offsets (memif.md §4):
//
//	0  u16      type = 8
//	2  u32      code; both implementations send 0 — opaque
//	6  char[96] reason text, NUL-terminated
const (
	disconnectCodeOffset   = 2
	disconnectReasonOffset = 6
)

// Disconnect ends a link with a reason.
type Disconnect struct {
	Code   uint32
	Reason string
}

// Type returns MsgDisconnect.
func (*Disconnect) Type() MsgType { return MsgDisconnect }

// MarshalSize returns MsgSize.
func (*Disconnect) MarshalSize() int { return MsgSize }

// MarshalTo writes the message into b[:MsgSize]. A reason is a courtesy to
// the peer, so instead of failing it is cut at a NUL and to ReasonSize − 1
// bytes.
func (m *Disconnect) MarshalTo(b []byte) (int, error) {
	if err := putHeader(b, MsgDisconnect); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint32(b[disconnectCodeOffset:], m.Code)
	r := m.Reason
	if i := strings.IndexByte(r, 0); i >= 0 {
		r = r[:i]
	}
	if len(r) >= ReasonSize {
		r = r[:ReasonSize-1]
	}
	copy(b[disconnectReasonOffset:], r)
	return MsgSize, nil
}

// Marshal returns the message in a new buffer.
func (m *Disconnect) Marshal() ([]byte, error) { return marshal(m) }

// Unmarshal reads a DISCONNECT. Reason is a copy.
func (m *Disconnect) Unmarshal(b []byte) (int, error) {
	if err := checkHeader(b, MsgDisconnect); err != nil {
		return 0, err
	}
	*m = Disconnect{
		Code:   binary.LittleEndian.Uint32(b[disconnectCodeOffset:]),
		Reason: getString(b[disconnectReasonOffset : disconnectReasonOffset+ReasonSize]),
	}
	return MsgSize, nil
}
