package pacing

import (
	"errors"
	"math"
	"testing"

	"mediamesh/internal/mediaclock"
)

var (
	r5994 = mediaclock.Rate{Num: 60000, Den: 1001}
	r2997 = mediaclock.Rate{Num: 30000, Den: 1001}
	r50   = mediaclock.Rate{Num: 50, Den: 1}
	r25   = mediaclock.Rate{Num: 25, Den: 1}
)

func model1080p5994(s Sender) Model {
	return Model{Rate: r5994, Packets: 4115, Height: 1080, Sender: s}
}

// TestModelTable is the table of st2110.md §6: 4:2:2 10-bit, 1260-byte BPM.
func TestModelTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                   string
		rate                   mediaclock.Rate
		packets, height        int
		trsGapped, trsLinear   float64 // µs, to the table's precision
		precision              float64
		cmaxN, cmaxW           int
		vrxN, vrxW             int
		cmaxLinear, vrxLinearN int
	}{
		{"1080p59.94", r5994, 4115, 1080, 3.89, 4.05, 0.005, 5, 16, 9, 822, 5, 9},
		{"1080p50", r50, 4115, 1080, 4.67, 4.86, 0.005, 4, 16, 8, 720, 4, 8},
		{"2160p59.94", r5994, 16458, 2160, 0.973, 1.014, 0.0005, 23, 45, 36, 3288, 22, 36},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := Model{Rate: tt.rate, Packets: tt.packets, Height: tt.height}
			gapped, linear, wide := m, m, m
			gapped.Sender, linear.Sender, wide.Sender = Narrow, NarrowLinear, Wide
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"TRS gapped", gapped.TRS() / 1e3, tt.trsGapped},
				{"TRS wide", wide.TRS() / 1e3, tt.trsGapped},
				{"TRS linear", linear.TRS() / 1e3, tt.trsLinear},
			} {
				if math.Abs(c.got-c.want) > tt.precision {
					t.Errorf("%s = %.4f µs, want %v", c.name, c.got, c.want)
				}
			}
			for _, c := range []struct {
				name      string
				got, want int
			}{
				{"CMAX narrow", gapped.CMax(), tt.cmaxN},
				{"CMAX wide", wide.CMax(), tt.cmaxW},
				{"CMAX linear", linear.CMax(), tt.cmaxLinear},
				{"VRX_FULL narrow", gapped.VRXFull(), tt.vrxN},
				{"VRX_FULL linear", linear.VRXFull(), tt.vrxLinearN},
				{"VRX_FULL wide", wide.VRXFull(), tt.vrxW},
			} {
				if c.got != c.want {
					t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
				}
			}
		})
	}
}

func TestDefaultTROffset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    Model
		want int64 // ns, floored
	}{
		{"1080p59.94: 43/1125 TFRAME", Model{Rate: r5994, Height: 1080}, 637_674},
		{"2160p59.94", Model{Rate: r5994, Height: 2160}, 637_674},
		{"unknown height", Model{Rate: r5994}, 637_674},
		{"1080p50", Model{Rate: r50, Height: 1080}, 764_444},
		{"720p59.94: 28/750 TFRAME", Model{Rate: r5994, Height: 720}, 622_844},
		{"1080i29.97: 22/1125·2·TFIELD", Model{Rate: r2997, Height: 1080, Interlaced: true}, 652_503},
		{"576i25: 26/625·2·TFIELD", Model{Rate: r25, Height: 576, Interlaced: true}, 1_664_000},
		{"480i29.97: 20/525·2·TFIELD", Model{Rate: r2997, Height: 480, Interlaced: true}, 1_271_111},
		{"invalid rate", Model{Height: 1080}, 0},
	}
	for _, tt := range tests {
		if got := tt.m.DefaultTROffset(); got != tt.want {
			t.Errorf("%s: DefaultTROffset() = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestRActive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		height     int
		interlaced bool
		want       float64
	}{
		{1080, false, 1080.0 / 1125},
		{2160, false, 1080.0 / 1125},
		{720, false, 720.0 / 750},
		{0, false, 1080.0 / 1125},
		{1080, true, 1080.0 / 1125},
		{576, true, 576.0 / 625},
		{480, true, 487.0 / 525},
		{486, true, 487.0 / 525},
	}
	for _, tt := range tests {
		m := Model{Rate: r5994, Packets: 1, Height: tt.height, Interlaced: tt.interlaced}
		if got := m.RActive(); got != tt.want {
			t.Errorf("height %d interlaced %v: RActive() = %v, want %v", tt.height, tt.interlaced, got, tt.want)
		}
	}
}

func TestTFrame(t *testing.T) {
	t.Parallel()
	if got := (Model{Rate: r5994}).TFrame(); math.Abs(got-16_683_333.333) > 0.001 {
		t.Errorf("59.94 TFRAME = %v", got)
	}
	if got := (Model{Rate: r2997, Interlaced: true}).TFrame(); math.Abs(got-16_683_333.333) > 0.001 {
		t.Errorf("1080i29.97 TFRAME (field) = %v", got)
	}
	if got := (Model{}).TFrame(); got != 0 {
		t.Errorf("invalid TFRAME = %v", got)
	}
}

func TestPacketTime(t *testing.T) {
	t.Parallel()
	fs := mediaclock.FrameStart(101_898_104_115, r5994)
	tests := []struct {
		name   string
		m      Model
		tro    int64
		active float64 // ns the packets spread over
	}{
		{"gapped", model1080p5994(Narrow), 637_674, 16_683_333.333 * 1080 / 1125},
		{"wide", model1080p5994(Wide), 637_674, 16_683_333.333 * 1080 / 1125},
		{"linear", model1080p5994(NarrowLinear), 637_674, 16_683_333.333},
		{"signalled TROFF", Model{Rate: r5994, Packets: 4115, Height: 1080, TROffset: 100_000}, 100_000, 16_683_333.333 * 1080 / 1125},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.m.PacketTime(fs, 0); got != fs+tt.tro {
				t.Errorf("PacketTime(0) = fs%+d, want fs%+d", got-fs, tt.tro)
			}
			span := float64(tt.m.PacketTime(fs, tt.m.Packets) - tt.m.PacketTime(fs, 0))
			if math.Abs(span-tt.active) > 1 {
				t.Errorf("packets span %v ns, want %v", span, tt.active)
			}
			for i := 1; i < tt.m.Packets; i++ {
				if d := tt.m.PacketTime(fs, i) - tt.m.PacketTime(fs, i-1); float64(d) < tt.m.TRS()-1 || float64(d) > tt.m.TRS()+1 {
					t.Fatalf("packet %d: spacing %d, TRS %v", i, d, tt.m.TRS())
				}
			}
		})
	}
}

func TestSchedule(t *testing.T) {
	t.Parallel()
	wide := model1080p5994(Wide)
	tests := []struct {
		name    string
		m       Model
		burst   int
		want    int // bursts
		wantB   int
		lastLen int
	}{
		{"wide default", wide, 0, 258, 16, 3},
		{"wide 8", wide, 8, 515, 8, 3},
		{"narrow default", model1080p5994(Narrow), 0, 823, 5, 0 + 4115 - 822*5},
		{"one packet each", model1080p5994(NarrowLinear), 1, 4115, 1, 1},
		{"burst beyond frame", wide, 10000, 1, 4115, 4115},
		{"2160p wide default", Model{Rate: r5994, Packets: 16458, Height: 2160, Sender: Wide}, 0, 366, 45, 16458 - 365*45},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tt.m.Schedule(tt.burst)
			if len(s.Offsets) != tt.want || s.Burst != tt.wantB || s.Packets != tt.m.Packets {
				t.Fatalf("Schedule(%d): %d bursts of %d, want %d of %d", tt.burst, len(s.Offsets), s.Burst, tt.want, tt.wantB)
			}
			total := 0
			for k, off := range s.Offsets {
				first, n := s.Span(k)
				if first != k*s.Burst || off != tt.m.PacketTime(0, first) {
					t.Fatalf("burst %d: first %d offset %d, want %d at %d", k, first, off, k*s.Burst, tt.m.PacketTime(0, first))
				}
				total += n
			}
			if _, n := s.Span(len(s.Offsets) - 1); n != tt.lastLen || total != tt.m.Packets {
				t.Errorf("last burst %d packets, total %d", n, total)
			}
			if _, n := s.Span(len(s.Offsets)); n != 0 {
				t.Errorf("Span past the end = %d packets", n)
			}
		})
	}
	if s := (Model{}).Schedule(16); len(s.Offsets) != 0 {
		t.Errorf("invalid model scheduled %d bursts", len(s.Offsets))
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    Model
		ok   bool
	}{
		{"1080p59.94", model1080p5994(Wide), true},
		{"zero", Model{}, false},
		{"no packets", Model{Rate: r5994}, false},
		{"too many packets", Model{Rate: r5994, Packets: maxPackets + 1}, false},
		{"bad rate", Model{Rate: mediaclock.Rate{Num: 60000}, Packets: 10}, false},
		{"negative height", Model{Rate: r5994, Packets: 10, Height: -1}, false},
		{"bad sender", Model{Rate: r5994, Packets: 10, Sender: 7}, false},
		{"negative troffset", Model{Rate: r5994, Packets: 10, TROffset: -1}, false},
		{"troffset past frame", Model{Rate: r5994, Packets: 10, TROffset: 17_000_000}, false},
	}
	for _, tt := range tests {
		err := tt.m.Validate()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrModel)) {
			t.Errorf("%s: Validate() = %v", tt.name, err)
		}
	}
	// Every problem is reported at once.
	if err := (Model{Height: -1, Sender: 9}).Validate(); err == nil || len(err.(interface{ Unwrap() []error }).Unwrap()) != 4 {
		t.Errorf("Validate() = %v, want 4 problems", err)
	}
	// An invalid model is harmless.
	var m Model
	if m.TRS() != 0 || m.CMax() != 0 || m.VRXFull() != 0 || m.PacketTime(5, 3) != 5 {
		t.Error("invalid model should compute zeros")
	}
}

func TestPacketTimeAllocs(t *testing.T) {
	m := model1080p5994(Wide)
	if n := testing.AllocsPerRun(100, func() { _ = m.PacketTime(1e18, 4000) }); n != 0 {
		t.Errorf("PacketTime allocates %v times", n)
	}
}

func BenchmarkPacketTime(b *testing.B) {
	m := model1080p5994(Wide)
	b.ReportAllocs()
	b.SetBytes(8) // one send time
	var sink int64
	i := 0
	for b.Loop() {
		sink += m.PacketTime(1e18, i)
		i = (i + 16) % m.Packets
	}
	_ = sink
}
