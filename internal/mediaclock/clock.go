package mediaclock

import (
	"strconv"
	"sync/atomic"
	"time"
)

// DefaultUTCOffset is TAI − UTC in nanoseconds: 37 s since 2017-01-01, the
// value assumed when the kernel has not been told (st2110.md §2).
const DefaultUTCOffset = 37 * int64(time.Second)

// Source names, as Source reports them.
const (
	sourceRealtime = "system:CLOCK_REALTIME+37s"
	sourceTAI      = "system:CLOCK_TAI"
	sourcePHC      = "phc:"
	sourceFixed    = "fixed"
)

type clockKind uint8

const (
	kindRealtime clockKind = iota // CLOCK_REALTIME + 37 s; the zero Clock
	kindTAI                       // clock_gettime(CLOCK_TAI)
	kindPHC                       // clock_gettime on a PHC's dynamic clock id
	kindFixed                     // an injected function
)

// Clock reads TAI nanoseconds since the PTP epoch (1970-01-01 00:00:00 TAI).
// Make one with System, OpenPHC or NewFixed; the zero Clock reads
// CLOCK_REALTIME + 37 s. A Clock is safe for concurrent use; Close must not
// race Now on a PHC clock.
type Clock struct {
	kind    clockKind
	id      int32 // clock id for clock_gettime: CLOCK_TAI or a PHC's
	fd      int   // the PHC's open file, owned by the Clock; -1 otherwise
	utc     int64 // TAI − UTC in ns for kindTAI and kindPHC
	now     func() int64
	source  string
	warning string

	closed   atomic.Bool
	failures atomic.Uint64 // PHC/TAI reads that failed and fell back
}

// NewFixed returns a Clock whose Now is the injected now (for tests and
// simulations); its UTCOffset is DefaultUTCOffset. A nil now reads 0.
func NewFixed(now func() int64) *Clock {
	return &Clock{kind: kindFixed, fd: -1, now: now, source: sourceFixed}
}

// Now is the current TAI time in nanoseconds. It does not allocate and costs
// one vDSO call (CLOCK_REALTIME) or one system call (CLOCK_TAI, PHC). If a
// PHC read fails (the device went away, or the Clock was closed), Now falls
// back to CLOCK_REALTIME + UTCOffset and counts the failure (Failures), so a
// sender keeps a sane time base instead of jumping to 0.
func (c *Clock) Now() int64 {
	switch c.kind {
	case kindTAI, kindPHC:
		if !c.closed.Load() {
			if ns, err := readClock(c.id); err == nil {
				return ns
			}
		}
		c.failures.Add(1)
		return time.Now().UnixNano() + c.utc
	case kindFixed:
		if c.now == nil {
			return 0
		}
		return c.now()
	default:
		return time.Now().UnixNano() + DefaultUTCOffset
	}
}

// Source says where the time comes from: "phc:/dev/ptp0",
// "system:CLOCK_TAI", "system:CLOCK_REALTIME+37s" or "fixed".
func (c *Clock) Source() string {
	if c.source == "" {
		return sourceRealtime
	}
	return c.source
}

// Warning is why the Clock is not what was asked for, e.g. "kernel TAI
// offset is 0 (no ptp4l/phc2sys/chrony leapsectz): using
// CLOCK_REALTIME+37s"; "" when there is nothing to say. Callers log it once
// at Warn.
func (c *Clock) Warning() string { return c.warning }

// UTCOffset is TAI − UTC in nanoseconds, to subtract from a TAI time to get
// Unix (UTC) time and to add going back: the kernel's TAI offset when it is
// set, DefaultUTCOffset (37 s) otherwise. MCM buffer headers carry Unix
// times; ST 2110 carries TAI.
func (c *Clock) UTCOffset() int64 {
	if c.kind == kindTAI || c.kind == kindPHC {
		return c.utc
	}
	return DefaultUTCOffset
}

// Failures counts the reads of a PHC or CLOCK_TAI that failed and fell back
// to CLOCK_REALTIME (see Now). Export it as a metric.
func (c *Clock) Failures() uint64 { return c.failures.Load() }

// Close releases a PHC's file descriptor; it is idempotent and a no-op for
// other clocks. After Close, Now falls back to CLOCK_REALTIME + UTCOffset.
func (c *Clock) Close() error {
	if c.kind != kindPHC || !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	return closeFD(c.fd)
}

// systemClock picks the system time source from the kernel's TAI offset
// (adjtimex's timex.tai, in seconds) and whether reading it failed: the
// decision of System, apart so the tests can take every branch.
func systemClock(taiOffset int32, adjErr error, taiErr error) *Clock {
	const fallback = ": using CLOCK_REALTIME+37s"
	switch {
	case adjErr != nil:
		return &Clock{fd: -1, source: sourceRealtime, warning: "adjtimex: " + adjErr.Error() + fallback}
	case taiOffset == 0:
		// CLOCK_TAI would equal CLOCK_REALTIME: 37 s off the PTP timescale.
		return &Clock{fd: -1, source: sourceRealtime,
			warning: "kernel TAI offset is 0 (no ptp4l/phc2sys/chrony leapsectz)" + fallback}
	case taiErr != nil:
		return &Clock{fd: -1, source: sourceRealtime, warning: "clock_gettime(CLOCK_TAI): " + taiErr.Error() + fallback}
	}
	c := &Clock{kind: kindTAI, id: clockTAI, fd: -1, utc: int64(taiOffset) * int64(time.Second), source: sourceTAI}
	if int64(taiOffset)*int64(time.Second) != DefaultUTCOffset {
		c.warning = "kernel TAI offset is " + strconv.FormatInt(int64(taiOffset), 10) + " s, not 37 s: check the leap second table (leapsectz right/UTC)"
	}
	return c
}

// utcOffsetFrom is the UTC offset to use given the kernel's TAI offset.
func utcOffsetFrom(taiOffset int32) int64 {
	if taiOffset == 0 {
		return DefaultUTCOffset
	}
	return int64(taiOffset) * int64(time.Second)
}
