package mediaclock

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSystemClockChoice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tai     int32
		adjErr  error
		taiErr  error
		source  string
		warning string // substring; "" means no warning
		utc     int64
	}{
		{"offset set", 37, nil, nil, "system:CLOCK_TAI", "", 37e9},
		{"offset 0", 0, nil, nil, "system:CLOCK_REALTIME+37s",
			"kernel TAI offset is 0 (no ptp4l/phc2sys/chrony leapsectz): using CLOCK_REALTIME+37s", 37e9},
		{"adjtimex fails", 37, errors.New("operation not permitted"), nil, "system:CLOCK_REALTIME+37s",
			"adjtimex: operation not permitted: using CLOCK_REALTIME+37s", 37e9},
		{"CLOCK_TAI unreadable", 37, nil, errors.New("invalid argument"), "system:CLOCK_REALTIME+37s",
			"clock_gettime(CLOCK_TAI): invalid argument", 37e9},
		{"odd offset", 36, nil, nil, "system:CLOCK_TAI", "kernel TAI offset is 36 s, not 37 s", 36e9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := systemClock(tt.tai, tt.adjErr, tt.taiErr)
			if c.Source() != tt.source {
				t.Errorf("Source() = %q, want %q", c.Source(), tt.source)
			}
			if (tt.warning == "") != (c.Warning() == "") || !strings.Contains(c.Warning(), tt.warning) {
				t.Errorf("Warning() = %q, want %q", c.Warning(), tt.warning)
			}
			if c.UTCOffset() != tt.utc {
				t.Errorf("UTCOffset() = %d, want %d", c.UTCOffset(), tt.utc)
			}
			if err := c.Close(); err != nil {
				t.Errorf("Close() = %v", err)
			}
		})
	}
}

func TestSystem(t *testing.T) {
	t.Parallel()
	c := System()
	defer c.Close()
	t.Logf("source %s, warning %q, UTC offset %v", c.Source(), c.Warning(), time.Duration(c.UTCOffset()))
	switch c.Source() {
	case sourceTAI, sourceRealtime:
	default:
		t.Fatalf("Source() = %q", c.Source())
	}
	if c.Source() == sourceRealtime && c.Warning() == "" {
		t.Error("the CLOCK_REALTIME fallback must say why")
	}
	// TAI − UTC must come out as the offset: compare with the Unix clock.
	before := time.Now().UnixNano()
	now := c.Now()
	after := time.Now().UnixNano()
	if utc := now - c.UTCOffset(); utc < before-int64(time.Millisecond) || utc > after+int64(time.Millisecond) {
		t.Errorf("Now()-UTCOffset() = %d, want within [%d, %d]", utc, before, after)
	}
	if c.Failures() != 0 {
		t.Errorf("Failures() = %d", c.Failures())
	}
}

func TestZeroClock(t *testing.T) {
	t.Parallel()
	var c Clock
	if c.Source() != sourceRealtime || c.UTCOffset() != DefaultUTCOffset {
		t.Errorf("zero Clock: %q, %d", c.Source(), c.UTCOffset())
	}
	if d := c.Now() - DefaultUTCOffset - time.Now().UnixNano(); d > int64(time.Second) || d < -int64(time.Second) {
		t.Errorf("zero Clock is %v off CLOCK_REALTIME+37s", time.Duration(d))
	}
}

func TestFixed(t *testing.T) {
	t.Parallel()
	var ns int64 = taiExample
	c := NewFixed(func() int64 { ns += 10; return ns })
	if got := c.Now(); got != taiExample+10 {
		t.Errorf("Now() = %d", got)
	}
	if c.Source() != "fixed" || c.Warning() != "" || c.UTCOffset() != 37e9 {
		t.Errorf("fixed clock: %q %q %d", c.Source(), c.Warning(), c.UTCOffset())
	}
	if got := NewFixed(nil).Now(); got != 0 {
		t.Errorf("NewFixed(nil).Now() = %d", got)
	}
}

func TestNowAllocs(t *testing.T) {
	for _, c := range []*Clock{System(), systemClock(37, nil, nil), {}, NewFixed(func() int64 { return 1 })} {
		if n := testing.AllocsPerRun(100, func() { _ = c.Now() }); n != 0 {
			t.Errorf("%s: Now allocates %v times", c.Source(), n)
		}
	}
}

func BenchmarkNow(b *testing.B) {
	for _, c := range []*Clock{{}, systemClock(37, nil, nil)} {
		b.Run(c.Source(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(8) // one TAI time
			var sink int64
			for b.Loop() {
				sink += c.Now()
			}
			_ = sink
		})
	}
}
