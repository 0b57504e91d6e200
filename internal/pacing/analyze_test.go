package pacing

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"mediamesh/internal/mediaclock"
)

// stream builds arrivals for frames frames of m: place gives packet i's
// arrival relative to the frame's alignment point.
func stream(m Model, frames int, place func(i int) int64) ([]int64, []int32) {
	n0 := mediaclock.FrameIndex(1_700_000_037e9, m.Rate)
	arr := make([]int64, 0, frames*m.Packets)
	fr := make([]int32, 0, frames*m.Packets)
	for f := range frames {
		fs := mediaclock.FrameStart(n0+int64(f), m.Rate)
		for i := range m.Packets {
			arr = append(arr, fs+place(i))
			fr = append(fr, int32(f))
		}
	}
	return arr, fr
}

// bursty places packets in bursts of b at the ideal time of the burst's
// first packet, spaced within the burst by intra ns (a 10 GbE wire sends a
// 1.3 kB packet in ~1 µs).
func bursty(m Model, b int, intra int64) func(int) int64 {
	return func(i int) int64 { return m.PacketTime(0, i/b*b) + int64(i%b)*intra }
}

func TestAnalyze(t *testing.T) {
	t.Parallel()
	gapped, linear, wide := model1080p5994(Narrow), model1080p5994(NarrowLinear), model1080p5994(Wide)
	tests := []struct {
		name          string
		m             Model
		place         func(int) int64
		cinstMax      int // exact, or -1 for "at most 2"
		vrxMax        int
		burstMax      int
		burstP50      int
		narrow, wide  bool
		cmaxN, vrxFuN int
	}{
		{"perfect gapped", gapped, func(i int) int64 { return gapped.PacketTime(0, i) }, -1, 0, 1, 1, true, true, 5, 9},
		{"perfect linear", linear, func(i int) int64 { return linear.PacketTime(0, i) }, -1, 0, 1, 1, true, true, 5, 9},
		{"perfect gapped, checked as wide", wide, func(i int) int64 { return wide.PacketTime(0, i) }, -1, 0, 1, 1, true, true, 5, 9},
		{"16-packet bursts at once", wide, bursty(wide, 16, 0), 16, 15, 16, 16, false, true, 5, 9},
		{"16-packet bursts at 1 µs", wide, bursty(wide, 16, 100), 16, 15, 16, 16, false, true, 5, 9},
		{"4-packet bursts", gapped, bursty(gapped, 4, 0), 4, 3, 4, 4, true, true, 5, 9},
		{"32-packet bursts", wide, bursty(wide, 32, 0), 32, 31, 32, 32, false, false, 5, 9},
		{"one frame in one burst", wide, func(int) int64 { return 637_674 }, 4115, 4114, 4115, 4115, false, false, 5, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			arr, fr := stream(tt.m, 10, tt.place)
			for _, frameOf := range [][]int32{fr, nil} { // explicit frames, or every Packets
				r := Analyze(tt.m, arr, frameOf)
				t.Log(r)
				if r.Packets != 10*tt.m.Packets || r.Frames != 10 {
					t.Fatalf("%d packets, %d frames", r.Packets, r.Frames)
				}
				if (tt.cinstMax < 0 && r.CInstMax > 2) || (tt.cinstMax >= 0 && r.CInstMax != tt.cinstMax) {
					t.Errorf("CINST max %d, want %d", r.CInstMax, tt.cinstMax)
				}
				if r.VRXMax != tt.vrxMax {
					t.Errorf("VRX max %d, want %d", r.VRXMax, tt.vrxMax)
				}
				if r.BurstMax != tt.burstMax || r.BurstP50 != tt.burstP50 {
					t.Errorf("bursts max %d p50 %d, want %d, %d", r.BurstMax, r.BurstP50, tt.burstMax, tt.burstP50)
				}
				if r.Narrow != tt.narrow || r.Wide != tt.wide {
					t.Errorf("narrow %v wide %v, want %v %v", r.Narrow, r.Wide, tt.narrow, tt.wide)
				}
				if r.CMaxNarrow != tt.cmaxN || r.VRXFullNarrow != tt.vrxFuN || r.CMaxWide != 16 || r.VRXFullWide != 822 {
					t.Errorf("limits %d/%d %d/%d", r.CMaxNarrow, r.CMaxWide, r.VRXFullNarrow, r.VRXFullWide)
				}
			}
		})
	}
}

func TestAnalyzeGaps(t *testing.T) {
	t.Parallel()
	m := model1080p5994(Wide)
	arr, fr := stream(m, 4, bursty(m, 16, 0))
	r := Analyze(m, arr, fr)
	// Inside a burst the gap is 0; between bursts 16·TRS; between frames
	// the rest of the frame, the vertical blanking and TROFFSET.
	if r.GapP50 != 0 {
		t.Errorf("gap p50 %v, want 0", r.GapP50)
	}
	if want := time.Duration(16 * m.TRS()); r.GapP99 < want-time.Microsecond || r.GapP99 > want+time.Microsecond {
		t.Errorf("gap p99 %v, want about %v", r.GapP99, want)
	}
	blank := time.Duration(m.TFrame() + float64(m.PacketTime(0, 0)) - float64(m.PacketTime(0, 4112)))
	if r.GapMax < blank || r.GapMax > blank+time.Microsecond {
		t.Errorf("gap max %v, want %v", r.GapMax, blank)
	}
	s := r.String()
	for _, want := range []string{"4115 pkts/frame × 4 frames", "CINST max 16 (wide ≤ 16 ✓, narrow ≤ 5 ✗)", "VRX max 15 (wide ≤ 822 ✓, narrow ≤ 9 ✗)", "bursts max 16 p50 16 p99 16", "gaps p50 0s p99 62µs"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() = %q, missing %q", s, want)
		}
	}
}

func TestAnalyzeEdges(t *testing.T) {
	t.Parallel()
	m := model1080p5994(Wide)
	if r := Analyze(m, nil, nil); r.Packets != 0 || r.Frames != 0 || r.Wide || r.String() != "no packets" {
		t.Errorf("no packets: %+v", r)
	}
	// One packet: a frame of one, compliant as far as it goes.
	if r := Analyze(m, []int64{42}, nil); r.Frames != 1 || r.CInstMax != 1 || r.VRXMax != 0 || !r.Wide {
		t.Errorf("one packet: %+v", r)
	}
	// An invalid model still measures the gaps.
	if r := Analyze(Model{}, []int64{0, 10, 30}, nil); r.GapMax != 20 || r.GapP50 != 10 || r.Wide || r.Narrow || r.Frames != 1 {
		t.Errorf("invalid model: %+v", r)
	}
	// frameOf of the wrong length is ignored: every Packets packets.
	arr, _ := stream(m, 3, bursty(m, 16, 0))
	if r := Analyze(m, arr, []int32{1, 2}); r.Frames != 3 {
		t.Errorf("short frameOf: %d frames", r.Frames)
	}
	// Unsorted, huge and negative times: no panic.
	_ = Analyze(m, []int64{5e18, -5e18, 0, 9e18, -9e18, 1}, []int32{0, 0, 1, 1, 2, 2})
}

func TestAnalyzeExtraPackets(t *testing.T) {
	t.Parallel()
	// A frame with more packets than the model: the drain stops at
	// NPACKETS, so the surplus piles up in VRX.
	m := Model{Rate: r5994, Packets: 10, Height: 1080, Sender: Wide}
	arr := make([]int64, 30)
	for i := range arr {
		arr[i] = int64(i) * int64(m.TRS())
	}
	if r := Analyze(m, arr, make([]int32, 30)); r.VRXMax != 20 {
		t.Errorf("VRX max %d, want 20", r.VRXMax)
	}
}

// FuzzAnalyze: arrival times and models from anywhere (a capture file)
// never panic the checker, and the counts stay within the input.
func FuzzAnalyze(f *testing.F) {
	m := model1080p5994(Wide)
	seed := func(arr []int64) []byte {
		b := make([]byte, 0, 8*len(arr))
		for _, t := range arr {
			b = binary.LittleEndian.AppendUint64(b, uint64(t))
		}
		return b
	}
	arr, _ := stream(Model{Rate: r5994, Packets: 40, Height: 1080}, 3, bursty(m, 16, 0))
	f.Add(seed(arr), int64(60000), int64(1001), 40, 1080, false, uint8(Wide), int64(0), true)
	f.Add(seed([]int64{0, 1, 2}), int64(0), int64(0), 0, 0, true, uint8(9), int64(-1), false)
	f.Add(seed([]int64{9e18, -9e18, 0}), int64(1<<32), int64(1), 1<<20, 480, true, uint8(Narrow), int64(1e6), true)
	f.Fuzz(func(t *testing.T, data []byte, num, den int64, packets, height int, interlaced bool, sender uint8, troff int64, frames bool) {
		arr := make([]int64, len(data)/8)
		var fr []int32
		if frames {
			fr = make([]int32, len(arr))
		}
		for i := range arr {
			arr[i] = int64(binary.LittleEndian.Uint64(data[8*i:]))
			if frames {
				fr[i] = int32(data[8*i] & 3)
			}
		}
		m := Model{Rate: mediaclock.Rate{Num: num, Den: den}, Packets: packets, Height: height,
			Interlaced: interlaced, Sender: Sender(sender), TROffset: troff}
		_ = m.Validate()
		_ = m.Schedule(int(sender))
		r := Analyze(m, arr, fr)
		_ = r.String()
		n := len(arr)
		if r.Packets != n || r.Frames > n || r.CInstMax > n || r.VRXMax > n || r.BurstMax > n || r.CInstMax < 0 || r.VRXMax < 0 {
			t.Fatalf("%d packets: %+v", n, r)
		}
	})
}

func BenchmarkAnalyze(b *testing.B) {
	m := model1080p5994(Wide)
	arr, fr := stream(m, 10, bursty(m, 16, 100))
	b.ReportAllocs()
	b.SetBytes(int64(8 * len(arr)))
	for b.Loop() {
		_ = Analyze(m, arr, fr)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(arr)), "ns/pkt")
}
