package rfc9134

import "errors"

// Sentinel errors. Each returned error wraps one of them and adds the
// numbers that matter (got/need); callers branch with errors.Is.
var (
	// ErrMalformed: payload header bytes, a packet or a codestream that
	// break RFC 9134 or ISO/IEC 21122 framing.
	ErrMalformed = errors.New("rfc9134: malformed")
	// ErrRange: a Header field holds a value its wire field cannot carry
	// (Marshal refuses rather than truncate).
	ErrRange = errors.New("rfc9134: field out of range")
	// ErrOutOfFrame: a packet would write outside the destination buffer.
	ErrOutOfFrame = errors.New("rfc9134: packet outside the destination")
	// ErrDuplicate: a packet of the unit arrived again; it was ignored.
	ErrDuplicate = errors.New("rfc9134: duplicate packet")
	// ErrUnsupported: slice packetization mode (K=1), which the
	// Reassembler does not rebuild.
	ErrUnsupported = errors.New("rfc9134: unsupported packetization mode")
	// ErrConfig: an invalid argument to NewPacketizer or NewReassembler.
	ErrConfig = errors.New("rfc9134: invalid config")
)
