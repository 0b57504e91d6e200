package pixfmt

import "errors"

// Sentinel errors. Callers branch on them with errors.Is; the returned
// errors wrap them with the numbers that matter.
var (
	// ErrFormat: an unknown format name or Format value.
	ErrFormat = errors.New("pixfmt: unknown format")
	// ErrGeometry: a frame size this layout cannot hold (non-positive or odd
	// width, a V210 frame that is not whole 6-pixel groups, over 2 GiB).
	ErrGeometry = errors.New("pixfmt: invalid geometry")
	// ErrShort: a buffer is smaller than the frame or the pgroups asked for,
	// or the pgroup range lies outside the frame. Nothing was written.
	ErrShort = errors.New("pixfmt: short buffer or range outside frame")
)
