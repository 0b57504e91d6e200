package memif

import "errors"

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrDisconnected: the link ended (peer DISCONNECT, EOF, protocol error).
	ErrDisconnected = errors.New("memif: disconnected")
	// ErrClosed: this side closed the connection, listener or interface.
	ErrClosed = errors.New("memif: closed")
	// ErrTimeout: a wait ran out of time.
	ErrTimeout = errors.New("memif: timeout")
	// ErrRingFull: no free slot for what was to be sent.
	ErrRingFull = errors.New("memif: ring full")
	// ErrMessage: a control message is malformed.
	ErrMessage = errors.New("memif: malformed message")
	// ErrProtocol: a peer broke the protocol (bad index, descriptor, order).
	ErrProtocol = errors.New("memif: protocol violation")
	// ErrConfig: an invalid Config.
	ErrConfig = errors.New("memif: invalid config")
)

// DisconnectError is why a link ended: the reason text the peer sent in its
// DISCONNECT, or the local protocol error that ended it.
type DisconnectError struct {
	Reason string
	Remote bool // the peer said so
	Err    error
}

func (e *DisconnectError) Error() string {
	who := "local"
	if e.Remote {
		who = "peer"
	}
	if e.Reason == "" {
		return "memif: disconnected by " + who
	}
	return "memif: disconnected by " + who + ": " + e.Reason
}

// Unwrap lets errors.Is match ErrDisconnected and the cause.
func (e *DisconnectError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrDisconnected, e.Err}
	}
	return []error{ErrDisconnected}
}
