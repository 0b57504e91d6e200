//go:build !linux

package mediaclock

import (
	"errors"
	"fmt"
)

const clockTAI = 11 // CLOCK_TAI's Linux number; never read here

var errUnsupported = errors.New("CLOCK_TAI and PTP hardware clocks are Linux-only")

// System returns CLOCK_REALTIME + 37 s: CLOCK_TAI is Linux-only.
func System() *Clock { return systemClock(0, errUnsupported, nil) }

// OpenPHC fails: PTP hardware clocks are Linux-only.
func OpenPHC(path string) (*Clock, error) {
	return nil, fmt.Errorf("%w: %s: %w; omit --ptp-clock to use system TAI", ErrNotPHC, path, errUnsupported)
}

func readClock(int32) (int64, error) { return 0, errUnsupported }

func closeFD(int) error { return nil }
