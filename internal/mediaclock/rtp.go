package mediaclock

// VideoClockRate is the RTP clock rate of every ST 2110-20/-22/-40 stream.
const VideoClockRate = 90000

// nsPerSecond is the PTP timescale's resolution.
const nsPerSecond = 1_000_000_000

// RTPTime is the RTP timestamp of TAI time tai (ns) for a media clock of
// clockRate Hz: floor(tai·clockRate/1e9) mod 2^32 (ST 2110-10 with
// a=mediaclk:direct=0). Audio stamps the first sample of a packet with it.
// It is exact for any tai ≥ 0; negative times are floored the same way.
func RTPTime(tai int64, clockRate uint32) uint32 {
	return uint32(ratio(tai, uint64(clockRate), 1, nsPerSecond).floorBits())
}

// FrameIndex is n = floor(tai·Num/(Den·1e9)): the frame whose alignment point
// is the latest one at or before tai (ST 2059-1 aligns frames to the PTP
// epoch). It returns 0 for an invalid Rate.
func FrameIndex(tai int64, r Rate) int64 {
	if !r.Valid() {
		return 0
	}
	return ratio(tai, uint64(r.Num), 1, uint64(r.Den)*nsPerSecond).floor()
}

// FrameStart is the TAI time (ns) of frame n's alignment point,
// n·Den·1e9/Num, rounded up: the first whole nanosecond that belongs to
// frame n, so that FrameIndex(FrameStart(n, r), r) == n and
// FrameIndex(FrameStart(n, r)-1, r) == n-1 for any rate up to 1e9 frames
// per second. It returns 0 for an invalid Rate.
func FrameStart(n int64, r Rate) int64 {
	if !r.Valid() {
		return 0
	}
	return ratio(n, uint64(r.Den), nsPerSecond, uint64(r.Num)).ceil()
}

// FrameRTP is the 90 kHz RTP timestamp of frame n, floor(n·90000·Den/Num)
// mod 2^32: the media clock at the frame's alignment point, which every
// packet of the frame carries (st2110.md §2). At 59.94 the increments
// alternate 1501, 1502. It returns 0 for an invalid Rate.
func FrameRTP(n int64, r Rate) uint32 {
	if !r.Valid() {
		return 0
	}
	return uint32(ratio(n, uint64(r.Den), VideoClockRate, uint64(r.Num)).floorBits())
}

// Unwrap maps a 32-bit RTP timestamp of a clockRate Hz media clock to the
// TAI time (ns) nearest near, typically the receiver's clock now: among the
// times whose RTPTime is ts, separated by 2^32 ticks (13.25 h at 90 kHz,
// 24.85 h at 48 kHz), it picks the cycle closest to near, and returns the
// first nanosecond of that tick. So RTPTime(Unwrap(ts, rate, near), rate) ==
// ts, and Unwrap inverts RTPTime to within one tick. clockRate 0 returns
// near.
func Unwrap(ts uint32, clockRate uint32, near int64) int64 {
	if clockRate == 0 {
		return near
	}
	ticks := ratio(near, uint64(clockRate), 1, nsPerSecond).floor()
	// The signed 32-bit difference is the shortest way round the cycle.
	ticks += int64(int32(ts - uint32(ticks)))
	return ratio(ticks, nsPerSecond, 1, uint64(clockRate)).ceil()
}
