package rtp

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers branch on them with errors.Is; the wrapping
// error names the field and the numbers (got vs need).
var (
	// ErrShort: the packet ends before what its header claims (the fixed
	// header, the CSRC list, the header extension or the padding count).
	ErrShort = errors.New("rtp: packet too short")
	// ErrVersion: the version field is not 2.
	ErrVersion = errors.New("rtp: unsupported version")
	// ErrPadding: P=1 with a padding count of 0 or larger than the bytes
	// after the header (RFC 3550 §5.1: the count includes itself).
	ErrPadding = errors.New("rtp: invalid padding")
	// ErrPayloadType: a payload type above 127 does not fit the 7-bit field.
	ErrPayloadType = errors.New("rtp: payload type out of range")
)

// detailError is a sentinel plus the numbers that locate the fault. It is
// built without formatting, so rejecting a hostile packet costs one small
// allocation and no fmt work; Error formats on demand.
type detailError struct {
	err  error  // the sentinel
	what string // the field or claim that failed
	got  int
	rel  string // how got must relate to need: ">=", "==", "<="
	need int
}

func (e *detailError) Error() string {
	return fmt.Sprintf("%v: %s %d, need %s %d", e.err, e.what, e.got, e.rel, e.need)
}

func (e *detailError) Unwrap() error { return e.err }

func errDetail(err error, what string, got int, rel string, need int) error {
	return &detailError{err: err, what: what, got: got, rel: rel, need: need}
}
