package rfc8331

import "errors"

// Sentinel errors. Each returned error wraps one of them and adds the
// numbers that matter (got/need); callers branch with errors.Is.
var (
	// ErrMalformed: payload bytes that break the RFC 8331 layout (lengths,
	// counts, field values, alignment). Decoding stops at it.
	ErrMalformed = errors.New("rfc8331: malformed")
	// ErrChecksum: an ANC packet whose Checksum_Word does not match its
	// words. The packet is still returned, so the caller may count and
	// pass it; decoding continues.
	ErrChecksum = errors.New("rfc8331: checksum mismatch")
	// ErrRange: a field holds a value its wire field cannot carry, or a
	// payload would exceed the 16-bit Length or 8-bit ANC_Count.
	ErrRange = errors.New("rfc8331: field out of range")
)
