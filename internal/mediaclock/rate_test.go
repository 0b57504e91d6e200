package mediaclock

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestRateFromFPS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fps  float64
		want Rate
	}{
		{23.976, Rate{24000, 1001}},
		{23.98, Rate{24000, 1001}},
		{24, Rate{24, 1}},
		{25, Rate{25, 1}},
		{29.97, Rate{30000, 1001}},
		{30, Rate{30, 1}},
		{47.95, Rate{48000, 1001}},
		{50, Rate{50, 1}},
		{59.94, Rate{60000, 1001}},
		{59.940, Rate{60000, 1001}},
		{60, Rate{60, 1}},
		{119.88, Rate{120000, 1001}},
		{120, Rate{120, 1}},
		{239.76, Rate{240000, 1001}},
		{60.0000001, Rate{60, 1}},
		{60000.0 / 1001, Rate{60000, 1001}},
		{15000.0 / 1001, Rate{15000, 1001}},
		{7000.0 / 1001, Rate{1000, 143}}, // reduced
		{1, Rate{1, 1}},
	}
	for _, tt := range tests {
		got, err := RateFromFPS(tt.fps)
		if err != nil || got != tt.want {
			t.Errorf("RateFromFPS(%v) = %v, %v; want %v", tt.fps, got, err, tt.want)
		}
	}
}

func TestRateFromFPSErrors(t *testing.T) {
	t.Parallel()
	for _, fps := range []float64{0, -25, math.NaN(), math.Inf(1), 59.95, 29.9, 23.97, 1e7, 0.5, 6.97e-7, 1e-9} {
		if r, err := RateFromFPS(fps); !errors.Is(err, ErrRate) {
			t.Errorf("RateFromFPS(%v) = %v, %v; want ErrRate", fps, r, err)
		}
	}
}

func TestRatePeriodString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r      Rate
		period time.Duration
		str    string
		valid  bool
	}{
		{Rate{60000, 1001}, 16_683_333 * time.Nanosecond, "60000/1001", true},
		{Rate{30000, 1001}, 33_366_667 * time.Nanosecond, "30000/1001", true},
		{Rate{50, 1}, 20 * time.Millisecond, "50", true},
		{Rate{24000, 1001}, 41_708_333 * time.Nanosecond, "24000/1001", true},
		{Rate{}, 0, "0/0", false},
		{Rate{-50, 1}, 0, "-50", false},
		{Rate{maxTerm + 1, 1}, 0, "4294967297", false},
	}
	for _, tt := range tests {
		if got := tt.r.Period(); got != tt.period {
			t.Errorf("%v.Period() = %v, want %v", tt.r, got, tt.period)
		}
		if got := tt.r.String(); got != tt.str {
			t.Errorf("String() = %q, want %q", got, tt.str)
		}
		if got := tt.r.Valid(); got != tt.valid {
			t.Errorf("%v.Valid() = %v", tt.r, got)
		}
	}
}

// FuzzRateFromFPS: never panics; what it accepts is a valid Rate within
// 5e-3 of the input (shorthands are rounded to 2-3 decimals).
func FuzzRateFromFPS(f *testing.F) {
	for _, fps := range []float64{23.976, 23.98, 29.97, 59.94, 119.88, 50, 0, -1, math.NaN(), 1e6, 59.95} {
		f.Add(fps)
	}
	f.Fuzz(func(t *testing.T, fps float64) {
		r, err := RateFromFPS(fps)
		if err != nil {
			return
		}
		if !r.Valid() {
			t.Fatalf("RateFromFPS(%v) = invalid %v", fps, r)
		}
		if got := float64(r.Num) / float64(r.Den); math.Abs(got-fps) > 5e-3*math.Max(1, fps/1000) {
			t.Fatalf("RateFromFPS(%v) = %v (%v fps)", fps, r, got)
		}
		if r.Period() <= 0 {
			t.Fatalf("%v.Period() = %v", r, r.Period())
		}
	})
}
