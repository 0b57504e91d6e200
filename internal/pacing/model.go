package pacing

import (
	"errors"
	"fmt"
	"math"
	"math/bits"

	"mediamesh/internal/mediaclock"
)

// maxPackets bounds Model.Packets: 8K 4:4:4 16-bit at one frame is ~170 000
// packets, and the bound keeps the CMAX/VRX_FULL arithmetic in 128 bits.
const maxPackets = 1 << 20

// drainFactor is β of ST 2110-21's network compatibility model: the bucket
// drains 10 % faster than the stream's average packet rate.
const drainFactor = 1.1

// Model is one video stream's ST 2110-21 timing: the frame rate, packets per
// frame, active ratio and TROFFSET that fix when each packet should leave
// (st2110.md §6). For interlaced video the -21 unit is the field: Rate is
// still the frame rate (SDP exactframerate), but Packets counts the packets
// of one field, TFRAME is the field period, and "frame" below means field.
// The zero value is invalid (Validate); methods return 0 for it.
type Model struct {
	Rate       mediaclock.Rate
	Packets    int  // NPACKETS: packets per frame (per field when Interlaced)
	Height     int  // active lines of the frame (1080 for 1080i): picks RACTIVE and the TROFFSET default; 0 means 1080
	Interlaced bool // fields, not frames, are the unit of the model
	Sender     Sender
	TROffset   int64 // ns from the alignment point to the first packet; 0 = DefaultTROffset
}

// Validate reports every reason the Model cannot describe a stream, each
// wrapping ErrModel.
func (m Model) Validate() error {
	var errs []error
	if !m.Rate.Valid() {
		errs = append(errs, fmt.Errorf("%w: rate %v: need numerator and denominator in [1, 2^32]", ErrModel, m.Rate))
	}
	if m.Packets < 1 || m.Packets > maxPackets {
		errs = append(errs, fmt.Errorf("%w: packets %d: need 1..%d", ErrModel, m.Packets, maxPackets))
	}
	if m.Height < 0 {
		errs = append(errs, fmt.Errorf("%w: height %d: need ≥ 0", ErrModel, m.Height))
	}
	if m.Sender > Wide {
		errs = append(errs, fmt.Errorf("%w: sender %v", ErrModel, m.Sender))
	}
	if m.TROffset < 0 || (m.Rate.Valid() && float64(m.TROffset) >= m.TFrame()) {
		errs = append(errs, fmt.Errorf("%w: troffset %d ns: need 0 ≤ TROFFSET < TFRAME (%.0f ns)", ErrModel, m.TROffset, m.TFrame()))
	}
	return errors.Join(errs...)
}

// valid is the part of Validate the arithmetic depends on.
func (m Model) valid() bool {
	return m.Rate.Valid() && m.Packets >= 1 && m.Packets <= maxPackets && m.Sender <= Wide
}

// tframe is TFRAME as the exact fraction p/q seconds.
func (m Model) tframe() (p, q uint64) {
	p, q = uint64(m.Rate.Den), uint64(m.Rate.Num)
	if m.Interlaced {
		q *= 2
	}
	return p, q
}

// TFrame is TFRAME in nanoseconds: the frame period, or the field period
// when Interlaced (16 683 333.3 ns at 59.94).
func (m Model) TFrame() float64 {
	if !m.Rate.Valid() {
		return 0
	}
	p, q := m.tframe()
	return float64(p) * 1e9 / float64(q)
}

// ractive is RACTIVE as an exact fraction. ST 2110-21 §6.3.2 gives 1080/1125
// for progressive images; 720p's 720/750 is the same 0.96. Interlaced and
// PsF images (§6.3.3) use their own rasters: 487/525 (480i), 576/625 (576i),
// 1080/1125 (1080i).
func (m Model) ractive() (a, b uint64) {
	h := m.Height
	switch {
	case h <= 0:
		return 1080, 1125 // unknown: the common case
	case !m.Interlaced && h < 1080:
		return 720, 750
	case m.Interlaced && h < 576:
		return 487, 525
	case m.Interlaced && h < 1080:
		return 576, 625
	}
	return 1080, 1125
}

// RActive is the active fraction of the frame period, RACTIVE: 1080/1125
// for 1080- and 2160-line progressive video, 720/750 for 720p, 487/525 for
// 480i, 576/625 for 576i. It is a property of the raster: a NarrowLinear
// sender ignores it (TRS, CMax).
func (m Model) RActive() float64 {
	a, b := m.ractive()
	return float64(a) / float64(b)
}

// TRS is the ideal spacing of packets in nanoseconds: TFRAME·RACTIVE/NPACKETS
// for Narrow and Wide (packets over the active time, a gap in vertical
// blanking), TFRAME/NPACKETS for NarrowLinear (3.89 µs and 4.05 µs at
// 1080p59.94 with 4115 packets).
func (m Model) TRS() float64 {
	if !m.valid() {
		return 0
	}
	t := m.TFrame() / float64(m.Packets)
	if m.Sender != NarrowLinear {
		t *= m.RActive()
	}
	return t
}

// CMax is the network compatibility model's limit on CINST for the Model's
// sender type (ST 2110-21, st2110.md §6), in packets:
//
//	Narrow:        max(4,  floor(NPACKETS / (43200 · RACTIVE · TFRAME)))
//	NarrowLinear:  max(4,  floor(NPACKETS / (43200 · TFRAME)))   RACTIVE = 1
//	Wide:          max(16, floor(NPACKETS / (21600 · TFRAME)))
//
// with TFRAME in seconds; computed exactly, because a float floor can land
// one below an integer quotient.
func (m Model) CMax() int {
	if !m.valid() {
		return 0
	}
	p, q := m.tframe()
	n := uint64(m.Packets)
	switch m.Sender {
	case Wide:
		return max(16, mulDiv(n, q, 21600*p))
	case NarrowLinear:
		return max(4, mulDiv(n, q, 43200*p))
	}
	a, b := m.ractive()
	return max(4, mulDiv(n*b, q, 43200*a*p))
}

// VRXFull is the virtual receiver buffer's limit for the Model's sender type
// (ST 2110-21, st2110.md §6), in packets:
//
//	Narrow, NarrowLinear:  max(8,   floor(NPACKETS / (27000 · TFRAME)))
//	Wide:                  max(720, floor(NPACKETS / (300 · TFRAME)))
//
// The constants 8 and 720 are the standard's values for packets of at most
// 1500 bytes (MAXUDP not raised).
func (m Model) VRXFull() int {
	if !m.valid() {
		return 0
	}
	p, q := m.tframe()
	n := uint64(m.Packets)
	if m.Sender == Wide {
		return max(720, mulDiv(n, q, 300*p))
	}
	return max(8, mulDiv(n, q, 27000*p))
}

// DefaultTROffset is the TROFFSET a sender uses when it signals none, in ns:
// 43/1125·TFRAME for progressive video of 1080 lines or more (637.7 µs at
// 59.94), 28/750·TFRAME for 720p, and for interlaced video, with TFRAME the
// field period, 22/1125·2·TFRAME (1080i), 26/625·2·TFRAME (576i),
// 20/525·2·TFRAME (480i).
func (m Model) DefaultTROffset() int64 {
	if !m.Rate.Valid() {
		return 0
	}
	var a, b, k uint64 = 43, 1125, 1
	h := m.Height
	switch {
	case m.Interlaced && h > 0 && h < 576:
		a, b, k = 20, 525, 2
	case m.Interlaced && h > 0 && h < 1080:
		a, b, k = 26, 625, 2
	case m.Interlaced:
		a, b, k = 22, 1125, 2
	case h > 0 && h < 1080:
		a, b = 28, 750
	}
	p, q := m.tframe()
	return int64(mulDiv(a*k*p, 1e9, b*q)) // ≤ TFRAME: fits
}

// troffset is the TROFFSET in force.
func (m Model) troffset() int64 {
	if m.TROffset > 0 {
		return m.TROffset
	}
	return m.DefaultTROffset()
}

// PacketTime is the ideal send time (TAI ns) of packet i of the frame whose
// alignment point is frameStart (mediaclock.FrameStart): frameStart +
// TROFFSET + i·TRS. It does not allocate. Send times need not be exact to
// the nanosecond, so i·TRS is computed in float64 (error far below 1 ns).
func (m Model) PacketTime(frameStart int64, i int) int64 {
	return frameStart + m.troffset() + int64(float64(i)*m.TRS())
}

// Schedule is a frame's send plan in bursts: burst k, packets k·Burst up to
// min((k+1)·Burst, Packets)-1, leaves at frameStart + Offsets[k]. Computed
// once per Model, it is read-only and shared by every frame: the per-frame
// send loop allocates nothing.
type Schedule struct {
	Offsets []int64 // ns after the alignment point: PacketTime(0, k·Burst)
	Burst   int     // packets per burst; the last burst may be shorter
	Packets int     // packets per frame
}

// Schedule plans a frame in bursts of up to burst packets; burst ≤ 0 picks
// CMax of the Model's sender type, 16 for a 1080p Wide sender (one
// sendmmsg or GSO call of 16 packets every 16·TRS ≈ 62 µs at 1080p59.94).
// Each burst leaves at the ideal time of its first packet, so the average
// rate is the nominal one and the network compatibility bucket (drained at
// 1.1·NPACKETS/TFRAME) empties between bursts: CINST stays at burst. An
// invalid Model gives an empty Schedule.
func (m Model) Schedule(burst int) Schedule {
	if !m.valid() {
		return Schedule{}
	}
	if burst <= 0 {
		burst = m.CMax()
	}
	burst = min(burst, m.Packets)
	offsets := make([]int64, (m.Packets+burst-1)/burst)
	tro, trs := m.troffset(), m.TRS()
	for k := range offsets {
		offsets[k] = tro + int64(float64(k*burst)*trs)
	}
	return Schedule{Offsets: offsets, Burst: burst, Packets: m.Packets}
}

// Span is the packets of burst k: the first packet's index in the frame and
// how many; n is 0 when k is out of range.
func (s Schedule) Span(k int) (first, n int) {
	if k < 0 || k >= len(s.Offsets) {
		return 0, 0
	}
	first = k * s.Burst
	return first, min(s.Burst, s.Packets-first)
}

// mulDiv is floor(a·b/c) with a 128-bit product, saturating at MaxInt.
func mulDiv(a, b, c uint64) int {
	hi, lo := bits.Mul64(a, b)
	if c == 0 || hi >= c {
		return math.MaxInt
	}
	q, _ := bits.Div64(hi, lo, c)
	if q > math.MaxInt {
		return math.MaxInt
	}
	return int(q)
}
