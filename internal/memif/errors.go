package memif

import (
	"errors"
	"fmt"
	"net"
)

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrDisconnected: the link ended because of the peer (DISCONNECT, EOF)
	// or a protocol violation. The concrete error is a *DisconnectError.
	ErrDisconnected = errors.New("memif: disconnected")
	// ErrClosed: this side closed the Conn, Listener or Interface. It
	// wraps net.ErrClosed so loops that stop quietly on net.ErrClosed do.
	ErrClosed = fmt.Errorf("memif: closed: %w", net.ErrClosed)
	// ErrTimeout: a wait or the handshake ran out of time.
	ErrTimeout = errors.New("memif: timeout")
	// ErrRingFull: no free slot for what was to be sent; nothing was published.
	ErrRingFull = errors.New("memif: ring full")
	// ErrRingEmpty: Next or NextDesc found no received descriptor.
	ErrRingEmpty = errors.New("memif: ring empty")
	// ErrLength: a data length exceeds the slot's buffer.
	ErrLength = errors.New("memif: length exceeds buffer")
	// ErrSlot: a slot index outside [0, Room()) or a publish count beyond it.
	ErrSlot = errors.New("memif: slot out of range")
	// ErrMessage: a control message is malformed (size, type, field).
	ErrMessage = errors.New("memif: malformed message")
	// ErrProtocol: a peer broke the protocol (bad index, descriptor, order).
	ErrProtocol = errors.New("memif: protocol violation")
	// ErrConfig: an invalid Config or ListenConfig.
	ErrConfig = errors.New("memif: invalid config")
)

// DisconnectError is why a link ended: the reason text the peer sent in its
// DISCONNECT (Remote), or the local protocol error that ended it. It
// matches ErrDisconnected and, when set, Err.
type DisconnectError struct {
	Reason string // the DISCONNECT text, "" if none was sent
	Remote bool   // the peer ended the link
	Err    error  // the cause: ErrProtocol, io.EOF, a socket error, or nil
}

func (e *DisconnectError) Error() string {
	s := "memif: disconnected"
	if e.Remote {
		s += " by peer"
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	} else if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap lets errors.Is match ErrDisconnected and the cause.
func (e *DisconnectError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrDisconnected, e.Err}
	}
	return []error{ErrDisconnected}
}
