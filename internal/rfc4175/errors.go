package rfc4175

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers branch on them with errors.Is; the wrapping
// error names the field and the numbers (got vs need).
var (
	// ErrMalformed: a payload header that cannot be read: too short for
	// its SRDs, more than MaxSRDs SRDs, SRD lengths summing past the end
	// of the packet, or (when marshalling) a field too wide for the wire.
	ErrMalformed = errors.New("rfc4175: malformed payload header")
	// ErrOutOfFrame: an SRD that does not fit the geometry: row, field,
	// offset or length outside the frame or not on a pgroup boundary.
	ErrOutOfFrame = errors.New("rfc4175: segment outside the frame")
	// ErrGeometry: a Geometry that breaks the rules of Geometry.Validate.
	ErrGeometry = errors.New("rfc4175: invalid geometry")
	// ErrUnsupported: a format or packing this package does not produce
	// or know: an unknown sampling or depth, BPM with pgroups that do not
	// divide 180 bytes or lines shorter than a packet, a payload budget
	// outside what a packet can carry.
	ErrUnsupported = errors.New("rfc4175: unsupported")
)

// detailError is a sentinel plus the numbers that locate the fault. It is
// built without formatting, so rejecting a hostile packet costs one small
// allocation and no fmt work; Error formats on demand.
type detailError struct {
	err  error  // the sentinel
	what string // the field or claim that failed
	got  int
	rel  string // how got must relate to need: "<", "<=", ">=", "multiple of"
	need int
}

func (e *detailError) Error() string {
	return fmt.Sprintf("%v: %s %d, need %s %d", e.err, e.what, e.got, e.rel, e.need)
}

func (e *detailError) Unwrap() error { return e.err }

func errDetail(err error, what string, got int, rel string, need int) error {
	return &detailError{err: err, what: what, got: got, rel: rel, need: need}
}
