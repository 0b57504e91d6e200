package mediaclock

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// maxTerm bounds Rate's numerator and denominator so every product in the
// conversions fits 128 bits (see ratio). Real rates use at most 240000/1001.
const maxTerm = 1 << 32

// Rate is an exact frame rate Num/Den in frames per second, e.g.
// {60000, 1001} for 59.94 and {50, 1} for 50. It is the value of the SDP
// exactframerate parameter; for interlaced video it counts frames, not
// fields.
type Rate struct{ Num, Den int64 }

// Valid reports whether Num and Den are both in [1, 2^32]. Functions given
// an invalid Rate return 0 instead of dividing by zero.
func (r Rate) Valid() bool {
	return r.Num > 0 && r.Den > 0 && r.Num <= maxTerm && r.Den <= maxTerm
}

// Period is the frame period Den/Num seconds, rounded to the nearest
// nanosecond (16.683333 ms at 59.94). It is 0 for an invalid Rate.
func (r Rate) Period() time.Duration {
	if !r.Valid() {
		return 0
	}
	p := uint64(r.Den) * uint64(time.Second) // ≤ 2^62
	num := uint64(r.Num)
	q, rem := p/num, p%num
	if 2*rem >= num {
		q++
	}
	return time.Duration(q)
}

// String is "60000/1001", or just "50" when Den is 1: the SDP exactframerate
// spelling.
func (r Rate) String() string {
	if r.Den == 1 {
		return strconv.FormatInt(r.Num, 10)
	}
	return strconv.FormatInt(r.Num, 10) + "/" + strconv.FormatInt(r.Den, 10)
}

// RateFromFPS turns a decimal frame rate, as operators and MCM configs write
// it, into an exact Rate:
//
//   - the shorthands 23.976 and 23.98, 29.97, 47.952 and 47.95, 59.94,
//     119.88, 239.76 → n·1000/1001 for n = 24, 30, 48, 60, 120, 240;
//   - an integer (within 1e-6) → n/1;
//   - any value within 1e-6 of n·1000/1001 for an integer n → that fraction,
//     reduced.
//
// Anything else, and values ≤ 0, NaN or above 1e6, is an ErrRate.
func RateFromFPS(fps float64) (Rate, error) {
	if !(fps > 0 && fps <= 1e6) { // also rejects NaN
		return Rate{}, fmt.Errorf("%w: got %v fps, need a positive rate", ErrRate, fps)
	}
	// Shorthands are matched on the value in millihertz so that 59.94 and
	// 59.940 are the same key but 59.941 is not.
	milli := fps * 1000
	if k := math.Round(milli); math.Abs(milli-k) < 1e-6 {
		switch int64(k) {
		case 23976, 23980:
			return Rate{24000, 1001}, nil
		case 29970:
			return Rate{30000, 1001}, nil
		case 47952, 47950:
			return Rate{48000, 1001}, nil
		case 59940:
			return Rate{60000, 1001}, nil
		case 119880:
			return Rate{120000, 1001}, nil
		case 239760:
			return Rate{240000, 1001}, nil
		}
	}
	if n := math.Round(fps); n >= 1 && math.Abs(fps-n) < 1e-6 {
		return Rate{int64(n), 1}, nil
	}
	if n := math.Round(fps * 1.001); n >= 1 && math.Abs(fps-n*1000/1001) < 1e-6 {
		num, den := int64(n)*1000, int64(1001)
		g := gcd(num, den)
		return Rate{num / g, den / g}, nil
	}
	return Rate{}, fmt.Errorf("%w: got %v fps, need an integer, n×1000/1001 or a shorthand such as 59.94", ErrRate, fps)
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
