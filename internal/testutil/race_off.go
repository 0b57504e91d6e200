//go:build !race

package testutil

// RaceEnabled reports whether the race detector is on: heavy loops shrink.
const RaceEnabled = false
