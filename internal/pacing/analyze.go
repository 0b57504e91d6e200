package pacing

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Report is the ST 2110-21 analysis of one stream's packet arrivals.
type Report struct {
	Packets, Frames int // packets analysed and frames they span

	CInstMax int // deepest network compatibility bucket, in packets
	VRXMax   int // fullest virtual receiver buffer, in packets

	BurstMax, BurstP50, BurstP99 int           // burst sizes: runs of packets closer than TRS/4
	GapP50, GapP99, GapMax       time.Duration // inter-packet gaps, frame gaps included

	CMaxNarrow, CMaxWide       int // CINST limits (Model.CMax) as Narrow and as Wide
	VRXFullNarrow, VRXFullWide int // VRX limits (Model.VRXFull) as Narrow and as Wide

	Narrow, Wide bool // compliant as a Narrow, and as a Wide, sender
}

// Analyze checks one stream against the ST 2110-21 models: arrivals are the
// packets' arrival times in ns, in arrival order (e.g. SO_TIMESTAMPNS), and
// frameOf, when it has the same length, names each packet's frame (any
// value that changes at a frame boundary: the RTP timestamp, a counter);
// otherwise every m.Packets packets are one frame. m gives NPACKETS, TFRAME,
// RACTIVE and the schedule (gapped or linear) of the ideal spacing TRS.
// Analysis is offline: it allocates O(len(arrivals)) and never panics,
// whatever the input; an invalid Model yields only the gap statistics.
//
// CINST (network compatibility model): a bucket gains one packet per
// arrival and loses one per tick of TDRAIN = TFRAME/(1.1·NPACKETS), ticks
// counted from the first arrival and lost while the bucket is empty; CINST
// is its depth just after each arrival, so a lone packet reads 1 and n
// packets arriving at once read n. The drain runs at β = 1.1 times the
// stream's average rate NPACKETS/TFRAME for both schedules, as ST 2110-21
// defines TDRAIN (EBU LIST does the same); for a gapped stream that is 1.1 ×
// 0.96 of 1/TRS. Compliant while CINST ≤ CMAX.
//
// VRX (virtual receiver buffer): our reading of ST 2110-21 for a
// receiver that does not know the sender's TROFFSET or the path delay.
// Each frame's drain starts at the arrival of its first packet: packet j of
// the frame is drained at first + j·TRS, and VRX is packets received minus
// packets drained, just after each arrival. The standard anchors the drain
// at the frame's alignment point plus TROFFSET instead; anchoring at the
// first packet removes the unknown offset and the link delay, so the
// measure is TRoffset-independent, and it equals the standard's when the
// first packet arrives on its ideal time. A perfectly paced stream reads 0,
// a burst of n reads n-1. Late packets make VRX negative (the standard's
// buffer underrun); only the maximum is reported. Compliant while VRX ≤
// VRX_FULL.
func Analyze(m Model, arrivals []int64, frameOf []int32) Report {
	r := Report{Packets: len(arrivals)}
	valid := m.valid()
	if valid {
		narrow := m
		narrow.Sender = Narrow
		if m.Sender == NarrowLinear {
			narrow.Sender = NarrowLinear
		}
		wide := m
		wide.Sender = Wide
		r.CMaxNarrow, r.VRXFullNarrow = narrow.CMax(), narrow.VRXFull()
		r.CMaxWide, r.VRXFullWide = wide.CMax(), wide.VRXFull()
	}
	if len(arrivals) == 0 {
		return r
	}

	byFrameOf := len(frameOf) == len(arrivals)
	trs := m.TRS()
	tdrain := m.TFrame() / (drainFactor * float64(max(m.Packets, 1)))
	gaps := make([]int64, 0, len(arrivals)-1)
	bursts := make([]int, 0, len(arrivals)/max(m.CMax(), 1)+1)

	var (
		ticks, depth     int64 // CINST: drain ticks used, bucket depth
		first            int64 // VRX: first arrival of the frame
		received, burst  int64
		nPackets         = int64(m.Packets)
		t0               = arrivals[0]
		cinstMax, vrxMax int64
	)
	for i, t := range arrivals {
		newFrame := i == 0
		if i > 0 {
			switch {
			case byFrameOf:
				newFrame = frameOf[i] != frameOf[i-1]
			case m.Packets > 0:
				newFrame = i%m.Packets == 0
			}
			gap := t - arrivals[i-1]
			gaps = append(gaps, gap)
			if valid && float64(gap) < trs/4 {
				burst++
			} else {
				bursts = append(bursts, int(burst))
				burst = 1
			}
		} else {
			burst = 1
		}
		if newFrame {
			r.Frames++
			first, received = t, 0
		}
		received++
		if !valid {
			continue
		}

		// CINST. A float elapsed time keeps huge or backward jumps from
		// overflowing; ticks only move forward.
		if k := math.Floor(float64(t-t0) / tdrain); k > float64(ticks) {
			drained := k - float64(ticks)
			ticks = int64(math.Min(k, math.MaxInt64/2))
			depth = int64(math.Max(0, float64(depth)-drained))
		}
		depth++
		cinstMax = max(cinstMax, depth)

		// VRX. Packet j's drain time is first + floor(j·TRS), whole ns as
		// arrival stamps and PacketTime are, so the count drained by t is
		// the number of j with floor(j·TRS) ≤ t-first: ceil((t-first+1)/TRS).
		d := math.Ceil(float64(t-first+1) / trs)
		drained := int64(math.Max(0, math.Min(d, float64(nPackets))))
		vrxMax = max(vrxMax, received-drained)
	}
	bursts = append(bursts, int(burst))

	r.CInstMax, r.VRXMax = int(cinstMax), int(vrxMax)
	if valid {
		slices.Sort(bursts)
		r.BurstMax, r.BurstP50, r.BurstP99 = bursts[len(bursts)-1], percentile(bursts, 50), percentile(bursts, 99)
		r.Narrow = r.CInstMax <= r.CMaxNarrow && r.VRXMax <= r.VRXFullNarrow
		r.Wide = r.CInstMax <= r.CMaxWide && r.VRXMax <= r.VRXFullWide
	}
	if len(gaps) > 0 {
		slices.Sort(gaps)
		r.GapP50 = time.Duration(percentile(gaps, 50))
		r.GapP99 = time.Duration(percentile(gaps, 99))
		r.GapMax = time.Duration(gaps[len(gaps)-1])
	}
	return r
}

// percentile is the nearest-rank p-th percentile of sorted, non-empty s.
func percentile[T int | int64](s []T, p int) T {
	i := (len(s)*p + 99) / 100
	return s[max(i, 1)-1]
}

// String is one line for logs and test output, e.g. "4115 pkts/frame × 10
// frames: CINST max 16 (wide ≤ 16 ✓, narrow ≤ 5 ✗), VRX max 15 (wide ≤ 822
// ✓, narrow ≤ 9 ✗), bursts max 16 p50 16 p99 16, gaps p50 0s p99 62µs max
// 679µs".
func (r Report) String() string {
	if r.Packets == 0 {
		return "no packets"
	}
	perFrame := r.Packets / max(r.Frames, 1)
	return fmt.Sprintf("%d pkts/frame × %d frames: CINST max %d (wide ≤ %d %s, narrow ≤ %d %s), "+
		"VRX max %d (wide ≤ %d %s, narrow ≤ %d %s), bursts max %d p50 %d p99 %d, gaps p50 %v p99 %v max %v",
		perFrame, r.Frames,
		r.CInstMax, r.CMaxWide, mark(r.CInstMax <= r.CMaxWide), r.CMaxNarrow, mark(r.CInstMax <= r.CMaxNarrow),
		r.VRXMax, r.VRXFullWide, mark(r.VRXMax <= r.VRXFullWide), r.VRXFullNarrow, mark(r.VRXMax <= r.VRXFullNarrow),
		r.BurstMax, r.BurstP50, r.BurstP99,
		short(r.GapP50), short(r.GapP99), short(r.GapMax))
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

// short rounds a duration for display: whole µs from 10 µs up.
func short(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Microsecond:
		return d.Round(time.Microsecond)
	case d >= time.Microsecond:
		return d.Round(100 * time.Nanosecond)
	case d >= 100*time.Nanosecond:
		return d.Round(10 * time.Nanosecond)
	}
	return d
}
