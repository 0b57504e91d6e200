package pacing

import "errors"

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrSender: a sender type name ParseSender does not know.
	ErrSender = errors.New("pacing: unknown sender type")
	// ErrModel: a Model that cannot describe a stream (see Model.Validate).
	ErrModel = errors.New("pacing: invalid model")
	// ErrNoClock: a Waiter without a Clock.
	ErrNoClock = errors.New("pacing: waiter has no clock")
)
