// Package mediaclock reads TAI time and converts it to the media clocks of
// SMPTE ST 2110: RTP timestamps and frame indexes (shared/spec/st2110.md §2).
//
// ST 2110-10 locks every device to PTP, whose timescale is TAI counted from
// 1970-01-01 00:00:00 TAI. With a=mediaclk:direct=0 the RTP clock is that
// same time scaled to the media rate with offset 0, so a timestamp is
//
//	rtp_ts = floor(tai_ns · rate / 1e9) mod 2^32
//
// and frames are aligned to the epoch (ST 2059-1): frame n of a rate num/den
// starts at n·den/num seconds. All conversions here are exact integer
// arithmetic on 128-bit intermediates (math/bits): floating point would be
// off by a tick after a few years of nanoseconds, and a receiver that
// compares timestamps across streams (lip sync, ST 2022-7 merge) needs the
// same answer the sender computed.
//
// Clock is the time source: the kernel's CLOCK_TAI when its TAI offset has
// been set (ptp4l/phc2sys, chrony with leapsectz), otherwise CLOCK_REALTIME
// plus 37 s with a warning, or a PTP hardware clock (/dev/ptpN) read through
// its dynamic POSIX clock id. Now never allocates; it costs one vDSO call
// (CLOCK_REALTIME) or one system call (CLOCK_TAI, PHC). A Clock is safe for
// concurrent use; it owns no goroutine.
//
// Invariants the tests pin:
//
//   - RTPTime, FrameIndex, FrameStart and FrameRTP are exact for every
//     tai ≥ 0 up to 2^63 ns (year 2262), including across 2^32 wraps.
//   - FrameIndex(FrameStart(n, r), r) == n: FrameStart rounds up, so it is
//     the first whole nanosecond that belongs to frame n.
//   - RTPTime(Unwrap(ts, rate, near), rate) == ts, and Unwrap(RTPTime(t))
//     lies within one tick at or below t when near is within half a wrap
//     cycle of t (13.25 h at 90 kHz, 12.4 h at 48 kHz).
//
// Rates are exact fractions (Rate{60000, 1001}); RateFromFPS maps the
// decimal shorthands people type (59.94, 23.976) onto them.
package mediaclock
