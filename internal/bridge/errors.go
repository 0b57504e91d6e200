package bridge

import (
	"errors"
	"fmt"
	"net"
)

// Sentinel errors. Callers branch on them with errors.Is; a refusal sent by
// the peer (*RemoteError) matches ErrRefused and the sentinel of its code,
// so one check covers a local and a remote verdict alike.
var (
	// ErrMalformed: bytes that are not a bridge message (magic, version,
	// type, or a length outside what the message allows).
	ErrMalformed = errors.New("bridge: malformed message")
	// ErrProtocol: a well-formed message out of place (data before the
	// handshake, a frame of another group, an answer for another URN).
	ErrProtocol = errors.New("bridge: protocol violation")
	// ErrTooLarge: a frame or a handshake's maxima beyond what the other
	// side can hold.
	ErrTooLarge = errors.New("bridge: frame too large")
	// ErrUnauthorized: the handshake's token is not the shared secret.
	ErrUnauthorized = errors.New("bridge: unauthorized")
	// ErrRefused: the peer refused the connection (wrapped by every
	// *RemoteError), or the local open callback refused the group.
	ErrRefused = errors.New("bridge: refused")
	// ErrConfig: an invalid SenderConfig or ListenerConfig.
	ErrConfig = errors.New("bridge: invalid config")
	// ErrClosed: the component was closed. It wraps net.ErrClosed so loops
	// that end quietly on net.ErrClosed do.
	ErrClosed = fmt.Errorf("bridge: closed: %w", net.ErrClosed)
)

// Code is why a side refused, as carried by a Refusal message.
type Code uint16

// Refusal codes. Values are wire format: never renumber.
const (
	CodeProtocol     Code = 1 // malformed or out-of-order message
	CodeUnauthorized Code = 2 // wrong token
	CodeRefused      Code = 3 // group unknown here, or refused by its owner
	CodeTooLarge     Code = 4 // frame or maxima beyond the receiver's pool
	CodeInternal     Code = 5 // the receiver failed (its local group went away)
)

// codes maps each code to its sentinel: the one table of this boundary.
var codes = [...]struct {
	code Code
	err  error
	name string
}{
	{CodeProtocol, ErrProtocol, "protocol error"},
	{CodeUnauthorized, ErrUnauthorized, "unauthorized"},
	{CodeTooLarge, ErrTooLarge, "too large"},
	{CodeRefused, ErrRefused, "refused"}, // after the specific ones: codeOf takes the first match
	{CodeInternal, nil, "internal error"},
}

// String names the code.
func (c Code) String() string {
	for _, e := range codes {
		if e.code == c {
			return e.name
		}
	}
	return fmt.Sprintf("code %d", uint16(c))
}

// codeOf picks the refusal code for a local error.
func codeOf(err error) Code {
	if errors.Is(err, ErrMalformed) {
		return CodeProtocol
	}
	for _, e := range codes {
		if e.err != nil && errors.Is(err, e.err) {
			return e.code
		}
	}
	return CodeInternal
}

// RemoteError is a Refusal the peer sent: its code and its text. It
// matches ErrRefused and the code's sentinel (ErrUnauthorized,
// ErrTooLarge, ErrProtocol).
type RemoteError struct {
	Code    Code
	Message string
}

func (e *RemoteError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("bridge: refused by peer: %v", e.Code)
	}
	return fmt.Sprintf("bridge: refused by peer: %v: %s", e.Code, e.Message)
}

// Unwrap lets errors.Is match ErrRefused and the code's sentinel.
func (e *RemoteError) Unwrap() []error {
	for _, c := range codes {
		if c.code == e.Code && c.err != nil && c.err != ErrRefused {
			return []error{ErrRefused, c.err}
		}
	}
	return []error{ErrRefused}
}
