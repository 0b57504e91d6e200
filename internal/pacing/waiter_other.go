//go:build !linux

package pacing

import "errors"

// newSleeper fails off Linux: the Waiter falls back to the runtime timer.
func newSleeper() (sleeper, error) { return nil, errors.New("no timerfd") }
