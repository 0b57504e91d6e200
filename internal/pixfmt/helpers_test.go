package pixfmt

import (
	"encoding/binary"
	"math/rand/v2"
)

// randFrame returns a random frame of layout f whose every sample is a
// valid 10-bit (or 8-bit) value: planar samples have bits 10-15 clear and
// v210 words bits 30-31, so conversions round-trip exactly.
func randFrame(rng *rand.Rand, f Format, pixels int) []byte {
	size, err := frameBytes(f, pixels)
	if err != nil {
		panic(err)
	}
	mask := uint64(1<<64 - 1)
	switch f {
	case YUV422P10LE:
		mask = 0x03FF03FF_03FF03FF
	case V210:
		mask = 0x3FFFFFFF_3FFFFFFF
	}
	// Every size is a multiple of 8 but pgroup frames of 2 mod 4 pixels.
	b := make([]byte, (size+7)/8*8)
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64()&mask)
	}
	return b[:size]
}
