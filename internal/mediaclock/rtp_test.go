package mediaclock

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

var (
	r5994 = Rate{60000, 1001}
	r2997 = Rate{30000, 1001}
	r50   = Rate{50, 1}
)

// The worked example of st2110.md §2, and the same instant in 2100.
const (
	taiExample = 1_700_000_037 * nsPerSecond
	tai2100    = (4_102_444_800 + 37) * nsPerSecond // 2100-01-01 UTC
)

// bigFloor is floor(a·b/c) mod 2^32 computed with math/big: the reference.
func bigFloor(a, b, c int64) *big.Int {
	x := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	q := new(big.Int)
	m := new(big.Int)
	q.DivMod(x, big.NewInt(c), m) // Euclidean: floor for c > 0
	return q
}

func low32(x *big.Int) uint32 {
	return uint32(new(big.Int).And(x, big.NewInt(math.MaxUint32)).Uint64())
}

func TestRTPTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		tai  int64
		rate uint32
		want uint32
	}{
		{"example 90k", taiExample, 90000, 383_344_592},
		{"example 48k", taiExample, 48000, 4_213_086_592},
		{"epoch", 0, 90000, 0},
		{"one tick less than 1s", nsPerSecond - 1, 90000, 89999},
		{"first wrap 90k", ((1<<32)*nsPerSecond + 89999) / 90000, 90000, 0},
		{"just before first wrap", ((1<<32)*nsPerSecond+89999)/90000 - 1, 90000, math.MaxUint32},
		{"year 2100 90k", tai2100, 90000, 3_171_729_360},
		{"year 2100 48k", tai2100, 48000, 1_691_588_992},
		{"max tai", math.MaxInt64, 90000, low32(bigFloor(math.MaxInt64, 90000, nsPerSecond))},
		{"negative floors down", -1, 90000, math.MaxUint32},
		{"rate 0", taiExample, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := RTPTime(tt.tai, tt.rate); got != tt.want {
				t.Errorf("RTPTime(%d, %d) = %d, want %d", tt.tai, tt.rate, got, tt.want)
			}
		})
	}
}

func TestRTPTimeExact(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	// Around every 2^32 wrap of the first few cycles, around the example,
	// year 2100 and the end of int64, and at random.
	var tais []int64
	for k := int64(1); k <= 8; k++ {
		for _, rate := range []int64{90000, 48000, 96000} {
			wrap := new(big.Int).Div(new(big.Int).Mul(big.NewInt(k<<32), big.NewInt(nsPerSecond)), big.NewInt(rate)).Int64()
			for d := int64(-3 * nsPerSecond / rate); d <= 3*nsPerSecond/rate; d += 997 {
				tais = append(tais, wrap+d)
			}
		}
	}
	for _, base := range []int64{taiExample, tai2100, math.MaxInt64 - 1e6} {
		for d := int64(0); d < 1e6; d += 7919 {
			tais = append(tais, base+d)
		}
	}
	for range 2000 {
		tais = append(tais, rng.Int64())
	}
	for _, tai := range tais {
		for _, rate := range []uint32{90000, 48000, 96000, 44100, math.MaxUint32} {
			want := low32(bigFloor(tai, int64(rate), nsPerSecond))
			if got := RTPTime(tai, rate); got != want {
				t.Fatalf("RTPTime(%d, %d) = %d, want %d", tai, rate, got, want)
			}
		}
	}
}

func TestFrameMath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tai     int64
		r       Rate
		wantN   int64
		wantRTP uint32
	}{
		{"example 59.94", taiExample, r5994, 101_898_104_115, 383_343_264},
		{"2100 59.94", tai2100, r5994, 245_900_789_430, 3_171_728_505},
		{"example 50", taiExample, r50, 85_000_001_850, RTPTime(taiExample, 90000)},
		{"epoch", 0, r5994, 0, 0},
		{"invalid rate", taiExample, Rate{}, 0, 0},
		{"negative den", taiExample, Rate{60000, -1001}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := FrameIndex(tt.tai, tt.r)
			if n != tt.wantN {
				t.Fatalf("FrameIndex = %d, want %d", n, tt.wantN)
			}
			if got := FrameRTP(n, tt.r); got != tt.wantRTP {
				t.Errorf("FrameRTP(%d) = %d, want %d", n, got, tt.wantRTP)
			}
			if !tt.r.Valid() {
				return
			}
			start := FrameStart(n, tt.r)
			if start > tt.tai || FrameIndex(start, tt.r) != n || FrameIndex(start-1, tt.r) != n-1 {
				t.Errorf("FrameStart(%d) = %d: not the first ns of the frame at or before %d", n, start, tt.tai)
			}
			// The frame's RTP timestamp is the media clock at its start.
			if got := RTPTime(start, VideoClockRate); got != FrameRTP(n, tt.r) {
				t.Errorf("RTPTime(FrameStart) = %d, FrameRTP = %d", got, FrameRTP(n, tt.r))
			}
		})
	}
}

func TestFrameIncrements(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    Rate
		want []uint32 // repeating pattern of per-frame increments
	}{
		{"59.94", r5994, []uint32{1501, 1502}},
		{"29.97", r2997, []uint32{3003}},
		{"50", r50, []uint32{1800}},
		{"60", Rate{60, 1}, []uint32{1500}},
		{"23.976", Rate{24000, 1001}, []uint32{3753, 3754}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Start on an even frame so the 59.94 pattern starts at 1501, and
			// run across the 90 kHz wrap nearest the example.
			n0 := FrameIndex(taiExample, tt.r) &^ 1
			var sum uint64
			const frames = 20000
			for i := range int64(frames) {
				d := FrameRTP(n0+i+1, tt.r) - FrameRTP(n0+i, tt.r) // mod 2^32
				sum += uint64(d)
				if len(tt.want) == 1 && d != tt.want[0] {
					t.Fatalf("frame %d: increment %d, want %d", n0+i, d, tt.want[0])
				}
				if len(tt.want) == 2 && d != tt.want[0] && d != tt.want[1] {
					t.Fatalf("frame %d: increment %d, want %v", n0+i, d, tt.want)
				}
			}
			// The average is exactly 90000·Den/Num.
			want := float64(VideoClockRate) * float64(tt.r.Den) / float64(tt.r.Num)
			if avg := float64(sum) / frames; math.Abs(avg-want) > 1.0/frames {
				t.Errorf("average increment %v, want %v", avg, want)
			}
		})
	}
}

func TestFrameStartRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	rates := []Rate{r5994, r2997, r50, {24000, 1001}, {120000, 1001}, {25, 1}, {1, 1}, {1000, 1}, {1, maxTerm}}
	for _, r := range rates {
		maxN := FrameIndex(math.MaxInt64-1, r)
		for range 500 {
			n := rng.Int64N(maxN)
			s := FrameStart(n, r)
			if FrameIndex(s, r) != n || (n > 0 && FrameIndex(s-1, r) != n-1) {
				t.Fatalf("rate %v frame %d: FrameStart %d maps to %d", r, n, s, FrameIndex(s, r))
			}
			wantRTP := low32(bigFloor(n, VideoClockRate*r.Den, r.Num))
			if got := FrameRTP(n, r); got != wantRTP {
				t.Fatalf("rate %v FrameRTP(%d) = %d, want %d", r, n, got, wantRTP)
			}
		}
	}
}

func TestUnwrap(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, rate := range []uint32{90000, 48000, 96000} {
		cycle := int64((1 << 32) * float64(nsPerSecond) / float64(rate))
		tick := int64(nsPerSecond / rate)
		for range 5000 {
			tai := tai2100 - rng.Int64N(tai2100-taiExample)
			// The receiver's clock is anywhere within 0.45 cycles of the
			// send time: network delay, buffering, clock error.
			near := tai + rng.Int64N(cycle*9/10) - cycle*45/100
			ts := RTPTime(tai, rate)
			got := Unwrap(ts, rate, near)
			if d := tai - got; d < 0 || d > tick {
				t.Fatalf("rate %d: Unwrap(RTPTime(%d)) = %d, off by %d ns (tick %d)", rate, tai, got, d, tick)
			}
			if RTPTime(got, rate) != ts {
				t.Fatalf("rate %d: RTPTime(Unwrap(%d)) = %d", rate, ts, RTPTime(got, rate))
			}
		}
	}
	if got := Unwrap(5, 0, 42); got != 42 {
		t.Errorf("Unwrap with rate 0 = %d, want near", got)
	}
	// Near the epoch the nearest cycle may be before it.
	if got := Unwrap(math.MaxUint32, 90000, 0); got >= 0 || RTPTime(got, 90000) != math.MaxUint32 {
		t.Errorf("Unwrap(2^32-1, near 0) = %d, want the tick just before the epoch", got)
	}
}

func TestRatioSaturates(t *testing.T) {
	t.Parallel()
	if got := ratio(math.MaxInt64, 2, 1, 1).floor(); got != math.MaxInt64 {
		t.Errorf("floor overflow = %d", got)
	}
	if got := ratio(math.MinInt64, 2, 1, 1).floor(); got != math.MinInt64 {
		t.Errorf("floor underflow = %d", got)
	}
	if got := ratio(math.MinInt64, 1, 1, 1).ceil(); got != math.MinInt64 {
		t.Errorf("ceil(MinInt64) = %d", got)
	}
	if got := ratio(math.MaxInt64, 2, 1, 1).ceil(); got != math.MaxInt64 {
		t.Errorf("ceil overflow = %d", got)
	}
	if got := ratio(-1, 1, 1, 3).floor(); got != -1 {
		t.Errorf("floor(-1/3) = %d", got)
	}
	if got := ratio(-1, 1, 1, 3).ceil(); got != 0 {
		t.Errorf("ceil(-1/3) = %d", got)
	}
	if got := ratio(1, 1, 1, 3).ceil(); got != 1 {
		t.Errorf("ceil(1/3) = %d", got)
	}
}

func TestRTPAllocs(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		_ = RTPTime(taiExample, 90000)
		_ = FrameRTP(FrameIndex(taiExample, r5994), r5994)
		_ = FrameStart(101_898_104_115, r5994)
		_ = Unwrap(383_344_592, 90000, taiExample)
	})
	if n != 0 {
		t.Errorf("RTP math allocates %v times", n)
	}
}

// FuzzRTPMath checks the invariants of the conversions on any input: no
// panic, FrameStart/FrameIndex round trip, Unwrap inverts RTPTime.
func FuzzRTPMath(f *testing.F) {
	f.Add(int64(taiExample), uint32(90000), int64(60000), int64(1001), int64(0))
	f.Add(int64(tai2100), uint32(48000), int64(50), int64(1), int64(3600e9))
	f.Add(int64(0), uint32(0), int64(0), int64(0), int64(0))
	f.Add(int64(math.MaxInt64), uint32(math.MaxUint32), int64(maxTerm), int64(1), int64(math.MinInt64))
	f.Add(int64(-1), uint32(1), int64(1), int64(maxTerm), int64(-1))
	f.Fuzz(func(t *testing.T, tai int64, rate uint32, num, den int64, skew int64) {
		r := Rate{num, den}
		n := FrameIndex(tai, r)
		_ = FrameRTP(n, r)
		if r.Valid() && tai >= 0 {
			s := FrameStart(n, r)
			if s > tai || FrameIndex(s, r) != n {
				t.Fatalf("rate %v tai %d: n %d FrameStart %d FrameIndex %d", r, tai, n, s, FrameIndex(s, r))
			}
		}
		ts := RTPTime(tai, rate)
		if rate == 0 || rate >= nsPerSecond || tai < 0 {
			_ = Unwrap(ts, rate, tai+skew)
			return
		}
		// Within a quarter cycle, Unwrap must find the same tick.
		cycle := int64((1 << 32) * float64(nsPerSecond) / float64(rate))
		near := tai + skew%(cycle/4)
		if near < 0 {
			return
		}
		got := Unwrap(ts, rate, near)
		if RTPTime(got, rate) != ts || got > tai || tai-got > nsPerSecond/int64(rate) {
			t.Fatalf("rate %d tai %d near %d: Unwrap = %d", rate, tai, near, got)
		}
	})
}

func BenchmarkRTPTime(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(4) // one timestamp
	var sink uint32
	tai := int64(taiExample)
	for b.Loop() {
		sink += RTPTime(tai, 90000)
		tai += 16_683_333
	}
	_ = sink
}

func BenchmarkFrameIndexRTP(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(4)
	var sink uint32
	tai := int64(taiExample)
	for b.Loop() {
		sink += FrameRTP(FrameIndex(tai, r5994), r5994)
		tai += 16_683_333
	}
	_ = sink
}

func BenchmarkUnwrap(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(8)
	var sink int64
	ts := uint32(383_344_592)
	for b.Loop() {
		sink += Unwrap(ts, 90000, taiExample)
		ts += 1501
	}
	_ = sink
}
