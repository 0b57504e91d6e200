package mediaclock

import "errors"

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrNotPHC: the path opened but is not a PTP hardware clock (the
	// kernel refused clock_gettime on its dynamic clock id), or PTP
	// hardware clocks are not supported on this platform.
	ErrNotPHC = errors.New("mediaclock: not a PTP hardware clock")
	// ErrRate: a frame rate that is not an integer, n·1000/1001 or one of
	// the usual decimal shorthands for it.
	ErrRate = errors.New("mediaclock: unsupported frame rate")
)
