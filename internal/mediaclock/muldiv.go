package mediaclock

import (
	"math"
	"math/bits"
)

// quotient is the exact value of a·b·m/d: its magnitude in 128 bits, its
// sign, and whether the division left a remainder. Callers pick the rounding
// (floor, ceil, low bits) so that every conversion in this package is exact
// rather than "close enough": tai_ns·90000 overflows int64 after 3.3 years.
type quotient struct {
	hi, lo  uint64
	neg     bool // the exact value is negative
	inexact bool // d did not divide a·b·m
}

// ratio divides a·b·m by d. b and m must be at most 2^32, so the product
// of the three stays below 2^128; d must not be zero.
func ratio(a int64, b, m, d uint64) quotient {
	ua := uint64(a)
	if a < 0 {
		ua = -ua // two's complement: also right for math.MinInt64
	}
	h1, l1 := bits.Mul64(ua, b) // < 2^96, so h1 < 2^32
	h2, lo := bits.Mul64(l1, m)
	hi := h1*m + h2 // the product is < 2^128, so this cannot overflow
	qhi := hi / d
	qlo, rem := bits.Div64(hi%d, lo, d)
	return quotient{
		hi:      qhi,
		lo:      qlo,
		neg:     a < 0 && (qhi|qlo|rem) != 0,
		inexact: rem != 0,
	}
}

// floor rounds toward minus infinity, saturating at the int64 range.
func (q quotient) floor() int64 {
	if !q.neg {
		if q.hi != 0 || q.lo > math.MaxInt64 {
			return math.MaxInt64
		}
		return int64(q.lo)
	}
	if q.hi != 0 || q.lo >= 1<<63 {
		return math.MinInt64
	}
	mag := q.lo
	if q.inexact {
		mag++
	}
	return -int64(mag) // mag ≤ 2^63: int64(2^63) is MinInt64, its own negation
}

// ceil rounds toward plus infinity, saturating at the int64 range.
func (q quotient) ceil() int64 {
	if q.neg { // toward zero
		if q.hi != 0 || q.lo > 1<<63 {
			return math.MinInt64
		}
		return -int64(q.lo) // q.lo == 2^63 gives MinInt64, as it should
	}
	if q.hi != 0 || q.lo >= math.MaxInt64 {
		return math.MaxInt64
	}
	if q.inexact {
		return int64(q.lo) + 1
	}
	return int64(q.lo)
}

// floorBits is floor(x) mod 2^64, for timestamps that wrap: the high word
// of the quotient is a multiple of 2^64 and drops out.
func (q quotient) floorBits() uint64 {
	if !q.neg {
		return q.lo
	}
	mag := q.lo
	if q.inexact {
		mag++
	}
	return -mag
}
