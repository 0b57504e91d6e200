package pixfmt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"mediamesh/internal/testutil"
)

var allFormats = []Format{PGroup10, PGroup8, YUV422P10LE, V210}

// geometries the conversions are checked on: tiny frames, pgroup counts
// that are not multiples of the 64-pgroup planar chunk, the v210 pair of
// groups or the 3-pgroup v210 group, and the real sizes. Frames a layout
// cannot hold are skipped per format.
var geometries = []struct{ w, h int }{
	{2, 1}, {2, 3}, {6, 1}, {10, 3}, {18, 3}, {14, 3}, {48, 2}, {130, 3}, {1922, 3},
	{320, 240}, {1280, 720}, {1920, 1080},
}

// forEach runs fn as a parallel subtest per format and geometry the
// format can hold.
func forEach(t *testing.T, fn func(t *testing.T, f Format, pixels int, rng *rand.Rand)) {
	t.Helper()
	for _, f := range allFormats {
		for _, g := range geometries {
			if _, err := FrameSize(f, g.w, g.h); err != nil {
				continue
			}
			if testutil.RaceEnabled && g.w*g.h > 320*240 {
				continue // the instrumented loops take seconds a frame
			}
			t.Run(fmt.Sprintf("%s/%dx%d", f, g.w, g.h), func(t *testing.T) {
				t.Parallel()
				fn(t, f, g.w*g.h, rand.New(rand.NewPCG(uint64(f), uint64(g.w*g.h))))
			})
		}
	}
}

// checkPGroup is the spec's check value (st2110.md §4): Cb=0x123
// Y0=0x040 Cr=0x2DE Y1=0x3AC.
var checkPGroup = []byte{0x48, 0xc4, 0x0b, 0x7b, 0xac}

func TestCheckValue(t *testing.T) {
	t.Parallel()
	// The v210 group carries the check pgroup three times; its words, by
	// hand from §4: w0 = Cb|Y0<<10|Cr<<20, w1 = Y1|Cb<<10|Y0<<20, ...
	v210 := make([]byte, 16)
	for i, w := range []uint32{0x2de10123, 0x04048fac, 0x123eb2de, 0x3acb7840} {
		binary.LittleEndian.PutUint32(v210[4*i:], w)
	}
	triple := bytes.Repeat(checkPGroup, 3)
	for _, tc := range []struct {
		name   string
		f      Format
		pixels int
		frame  []byte
		wire   []byte
	}{
		{"yuv422p10rfc4175", PGroup10, 2, checkPGroup, checkPGroup},
		// Y = 0x040 0x3AC, Cb = 0x123, Cr = 0x2DE, little-endian.
		{"yuv422p10le", YUV422P10LE, 2, []byte{0x40, 0x00, 0xac, 0x03, 0x23, 0x01, 0xde, 0x02}, checkPGroup},
		{"v210", V210, 6, v210, triple},
		// 8-bit: Cb Y0 Cr Y1 bytes as they are.
		{"uyvy", PGroup8, 2, []byte{0x80, 0x10, 0xf0, 0xeb}, []byte{0x80, 0x10, 0xf0, 0xeb}},
	} {
		wire := make([]byte, len(tc.wire))
		if err := Pack(tc.f, wire, tc.frame, tc.pixels, 0, tc.pixels/2); err != nil || !bytes.Equal(wire, tc.wire) {
			t.Errorf("%s: Pack = % x, %v; want % x", tc.name, wire, err, tc.wire)
		}
		frame := make([]byte, len(tc.frame))
		if err := Unpack(tc.f, frame, tc.wire, tc.pixels, 0, tc.pixels/2); err != nil || !bytes.Equal(frame, tc.frame) {
			t.Errorf("%s: Unpack = % x, %v; want % x", tc.name, frame, err, tc.frame)
		}
	}
}

// refPGroup reads pgroup k of a frame straight from the definitions in
// st2110.md §4, sample by sample, as the oracle for the fast paths.
func refPGroup(f Format, frame []byte, pixels, k int) (cb, y0, cr, y1 uint64) {
	u16 := func(i int) uint64 { return uint64(binary.LittleEndian.Uint16(frame[2*i:])) & 0x3FF }
	switch f {
	case YUV422P10LE:
		return u16(pixels + k), u16(2 * k), u16(pixels + pixels/2 + k), u16(2*k + 1)
	case V210:
		s := func(i int) uint64 { // sample i of the frame, in wire order
			w := binary.LittleEndian.Uint32(frame[i/12*16+i%12/3*4:])
			return uint64(w>>(i%3*10)) & 0x3FF
		}
		return s(4 * k), s(4*k + 1), s(4*k + 2), s(4*k + 3)
	case PGroup8:
		b := frame[4*k:]
		return uint64(b[0]), uint64(b[1]), uint64(b[2]), uint64(b[3])
	}
	panic("refPGroup: " + f.String())
}

// refPack is Pack by refPGroup and a bit writer, MSB first.
func refPack(f Format, frame []byte, pixels int) []byte {
	if f == PGroup10 {
		return bytes.Clone(frame)
	}
	depth := uint(f.Depth())
	var out []byte
	var acc uint64
	var bits uint
	for k := range pixels / 2 {
		cb, y0, cr, y1 := refPGroup(f, frame, pixels, k)
		for _, s := range []uint64{cb, y0, cr, y1} {
			acc, bits = acc<<depth|s, bits+depth
			for bits >= 8 {
				out = append(out, byte(acc>>(bits-8)))
				bits -= 8
			}
		}
	}
	return out
}

func TestPackMatchesDefinition(t *testing.T) {
	forEach(t, func(t *testing.T, f Format, pixels int, rng *rand.Rand) {
		frame := randFrame(rng, f, pixels)
		if f == YUV422P10LE {
			// Stray high bits must be masked away, not leak into
			// neighbours: set bits 10-15 of every sample.
			for i := 1; i < len(frame); i += 2 {
				frame[i] |= 0xFC
			}
		}
		wire := make([]byte, pixels/2*f.PGroupBytes())
		if err := Pack(f, wire, frame, pixels, 0, pixels/2); err != nil {
			t.Fatal(err)
		}
		if want := refPack(f, frame, pixels); !bytes.Equal(wire, want) {
			t.Fatalf("Pack differs from the definition at byte %d", firstDiff(wire, want))
		}
	})
}

func TestRoundTrip(t *testing.T) {
	forEach(t, func(t *testing.T, f Format, pixels int, rng *rand.Rand) {
		pgroups, pgb := pixels/2, f.PGroupBytes()
		// Unpack∘Pack: a frame of valid samples comes back unchanged.
		frame := randFrame(rng, f, pixels)
		wire := make([]byte, pgroups*pgb)
		if err := Pack(f, wire, frame, pixels, 0, pgroups); err != nil {
			t.Fatal(err)
		}
		back := randFrame(rng, f, pixels)
		if err := Unpack(f, back, wire, pixels, 0, pgroups); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back, frame) {
			t.Fatalf("Unpack(Pack(frame)) differs at byte %d", firstDiff(back, frame))
		}
		// Pack∘Unpack: any wire bytes are valid pgroups and come back.
		for i := range wire {
			wire[i] = byte(rng.Uint32())
		}
		if err := Unpack(f, back, wire, pixels, 0, pgroups); err != nil {
			t.Fatal(err)
		}
		again := make([]byte, len(wire))
		if err := Pack(f, again, back, pixels, 0, pgroups); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, wire) {
			t.Fatalf("Pack(Unpack(wire)) differs at byte %d", firstDiff(again, wire))
		}
	})
}

// randRange returns a random pgroup range of a frame, biased to short
// ones and to starts and ends around the edges of v210 groups.
func randRange(rng *rand.Rand, pgroups int) (first, n int) {
	first = rng.IntN(pgroups + 1)
	switch rng.IntN(3) {
	case 0:
		n = rng.IntN(min(8, pgroups-first) + 1)
	case 1:
		n = rng.IntN(min(300, pgroups-first) + 1)
	default:
		n = rng.IntN(pgroups - first + 1)
	}
	return first, n
}

func TestSubRanges(t *testing.T) {
	forEach(t, func(t *testing.T, f Format, pixels int, rng *rand.Rand) {
		pgroups, pgb := pixels/2, f.PGroupBytes()
		frame := randFrame(rng, f, pixels)
		whole := make([]byte, pgroups*pgb)
		if err := Pack(f, whole, frame, pixels, 0, pgroups); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(whole)+8)
		for range 200 {
			first, n := randRange(rng, pgroups)
			// The 8 bytes past n pgroups must stay untouched, whatever
			// the wide stores do.
			slack := buf[n*pgb : n*pgb+8]
			copy(slack, "\xa5\xa5\xa5\xa5\xa5\xa5\xa5\xa5")
			if err := Pack(f, buf, frame, pixels, first, n); err != nil {
				t.Fatalf("Pack(first=%d, n=%d): %v", first, n, err)
			}
			if want := whole[first*pgb : (first+n)*pgb]; !bytes.Equal(buf[:n*pgb], want) {
				t.Fatalf("Pack(first=%d, n=%d) differs from the whole frame's", first, n)
			}
			if string(slack) != "\xa5\xa5\xa5\xa5\xa5\xa5\xa5\xa5" {
				t.Fatalf("Pack(first=%d, n=%d) wrote past n pgroups: % x", first, n, slack)
			}
		}
	})
}

func TestUnpackSubRanges(t *testing.T) {
	forEach(t, func(t *testing.T, f Format, pixels int, rng *rand.Rand) {
		pgroups, pgb := pixels/2, f.PGroupBytes()
		frame := randFrame(rng, f, pixels)
		wire := make([]byte, pgroups*pgb)
		if err := Pack(f, wire, frame, pixels, 0, pgroups); err != nil {
			t.Fatal(err)
		}
		// Cut the frame into packets of random sizes and unpack them in
		// random order over another frame: the result is the frame.
		type packet struct{ first, n int }
		var packets []packet
		for first := 0; first < pgroups; {
			n := min(1+rng.IntN(40), pgroups-first)
			packets = append(packets, packet{first, n})
			first += n
		}
		rng.Shuffle(len(packets), func(i, j int) { packets[i], packets[j] = packets[j], packets[i] })
		dst := randFrame(rng, f, pixels)
		for _, p := range packets {
			if err := Unpack(f, dst, wire[p.first*pgb:(p.first+p.n)*pgb], pixels, p.first, p.n); err != nil {
				t.Fatalf("Unpack(first=%d, n=%d): %v", p.first, p.n, err)
			}
		}
		if !bytes.Equal(dst, frame) {
			t.Fatalf("frame rebuilt from %d packets differs at byte %d", len(packets), firstDiff(dst, frame))
		}
		// One range into another frame changes those pgroups only.
		for range max(2, min(100, 2_000_000/pixels)) {
			first, n := randRange(rng, pgroups)
			other := randFrame(rng, f, pixels)
			before := make([]byte, len(wire))
			if err := Pack(f, before, other, pixels, 0, pgroups); err != nil {
				t.Fatal(err)
			}
			if err := Unpack(f, other, wire[first*pgb:(first+n)*pgb], pixels, first, n); err != nil {
				t.Fatal(err)
			}
			after := make([]byte, len(wire))
			if err := Pack(f, after, other, pixels, 0, pgroups); err != nil {
				t.Fatal(err)
			}
			want := append(append(append([]byte(nil), before[:first*pgb]...), wire[first*pgb:(first+n)*pgb]...), before[(first+n)*pgb:]...)
			if !bytes.Equal(after, want) {
				t.Fatalf("Unpack(first=%d, n=%d): frame differs from expected at wire byte %d", first, n, firstDiff(after, want))
			}
		}
	})
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// errorCases drive TestErrors and seed the fuzz targets. The frame has
// 12 pixels (6 pgroups) unless pixels says otherwise; lengths are those of
// the wire and frame buffers.
var errorCases = []struct {
	name             string
	f                Format
	wire, frame      int
	pixels, first, n int
	err              error
}{
	{"ok whole", YUV422P10LE, 30, 48, 12, 0, 6, nil},
	{"ok empty range at end", V210, 0, 32, 12, 6, 0, nil},
	{"ok v210 middle", V210, 10, 32, 12, 2, 2, nil},
	{"ok bigger buffers", PGroup10, 100, 100, 12, 1, 5, nil},
	{"frame short", YUV422P10LE, 30, 47, 12, 0, 6, ErrShort},
	{"frame short v210", V210, 30, 31, 12, 0, 1, ErrShort},
	{"frame short pgroup8", PGroup8, 24, 23, 12, 0, 1, ErrShort},
	{"wire short", PGroup10, 29, 30, 12, 0, 6, ErrShort},
	{"wire short partial", V210, 9, 32, 12, 1, 2, ErrShort},
	{"range past end", PGroup8, 100, 100, 12, 4, 3, ErrShort},
	{"first past end", PGroup10, 100, 100, 12, 7, 0, ErrShort},
	{"negative first", YUV422P10LE, 100, 100, 12, -1, 1, ErrShort},
	{"negative n", YUV422P10LE, 100, 100, 12, 1, -1, ErrShort},
	{"overflowing n", PGroup10, 100, 100, 12, 1, int(^uint(0) >> 1), ErrShort},
	{"odd pixels", PGroup10, 100, 100, 11, 0, 1, ErrGeometry},
	{"zero pixels", PGroup10, 100, 100, 0, 0, 0, ErrGeometry},
	{"negative pixels", YUV422P10LE, 100, 100, -12, 0, 0, ErrGeometry},
	{"v210 partial group", V210, 100, 100, 8, 0, 1, ErrGeometry},
	{"huge pixels", YUV422P10LE, 100, 100, math.MaxInt, 0, 1, ErrGeometry},
	{"unknown format", 0, 100, 100, 12, 0, 1, ErrFormat},
	{"unknown format 200", 200, 100, 100, 12, 0, 1, ErrFormat},
}

func TestErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range errorCases {
		for _, op := range []struct {
			name string
			fn   func(Format, []byte, []byte, int, int, int) error
			pack bool
		}{{"Pack", Pack, true}, {"Unpack", Unpack, false}} {
			wire := bytes.Repeat([]byte{0x5A}, tc.wire)
			frame := bytes.Repeat([]byte{0x5A}, tc.frame)
			dst, src := frame, wire
			if op.pack {
				dst, src = wire, frame
			}
			err := op.fn(tc.f, dst, src, tc.pixels, tc.first, tc.n)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("%s: %s = %v, want %v", tc.name, op.name, err, tc.err)
			}
			if err != nil && !bytes.Equal(dst, bytes.Repeat([]byte{0x5A}, len(dst))) {
				t.Errorf("%s: %s wrote to dst despite the error", tc.name, op.name)
			}
		}
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	err := Pack(YUV422P10LE, make([]byte, 10), make([]byte, 47), 12, 0, 2)
	if want := "pixfmt: short buffer or range outside frame: src holds 47 bytes, a yuv422p10le frame of 12 pixels needs 48"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
	err = Unpack(V210, make([]byte, 32), make([]byte, 9), 12, 1, 2)
	if want := "pixfmt: short buffer or range outside frame: src holds 9 bytes, 2 pgroups need 10"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestZeroAllocs(t *testing.T) {
	pixels := 320 * 240
	for _, f := range allFormats {
		frame := randFrame(rand.New(rand.NewPCG(3, 4)), f, pixels)
		wire := make([]byte, pixels/2*f.PGroupBytes())
		for _, op := range []struct {
			name string
			fn   func() error
		}{
			{"Pack", func() error { return Pack(f, wire, frame, pixels, 1, 1000) }},
			{"Unpack", func() error { return Unpack(f, frame, wire, pixels, 1, 1000) }},
		} {
			var err error
			if allocs := testing.AllocsPerRun(100, func() { err = op.fn() }); allocs != 0 || err != nil {
				t.Errorf("%s %v: %v allocs, err %v; want 0, nil", op.name, f, allocs, err)
			}
		}
	}
}

// TestUnpackV210Partial pins the read-modify-write of v210 groups a range
// covers in part: only the samples of the range's pgroups change; the
// other samples and the unused bits 30-31 keep their values.
func TestUnpackV210Partial(t *testing.T) {
	t.Parallel()
	const pixels = 18 // 3 groups, 9 pgroups
	for _, tc := range []struct{ first, n int }{
		{0, 1}, {1, 1}, {2, 1}, {1, 2}, {2, 2}, {2, 4}, {1, 7}, {0, 9}, {3, 3}, {4, 0}, {8, 1},
	} {
		wire := make([]byte, tc.n*pgroup10Bytes)
		for i := range wire {
			wire[i] = byte(17*i + 3)
		}
		frame := bytes.Repeat([]byte{0xFF}, pixels/6*16)
		if err := Unpack(V210, frame, wire, pixels, tc.first, tc.n); err != nil {
			t.Fatal(err)
		}
		// Expected: all ones but the range's samples, and bits 30-31
		// cleared only in the groups the range covers whole.
		want := bytes.Repeat([]byte{0xFF}, len(frame))
		for k := tc.first; k < tc.first+tc.n; k++ {
			p := get40(wire[(k-tc.first)*pgroup10Bytes:])
			for s := range 4 {
				i := 4*k + s // sample index in the frame, wire order
				off, sh := i/12*16+i%12/3*4, uint(i%3*10)
				w := binary.LittleEndian.Uint32(want[off:])
				w = w&^(0x3FF<<sh) | uint32(p>>(30-10*s))&0x3FF<<sh
				binary.LittleEndian.PutUint32(want[off:], w)
			}
		}
		for g := range pixels / 6 {
			if tc.first <= 3*g && 3*g+3 <= tc.first+tc.n {
				for w := range 4 {
					want[16*g+4*w+3] &= 0x3F
				}
			}
		}
		if !bytes.Equal(frame, want) {
			t.Errorf("Unpack(first=%d, n=%d):\n got % x\nwant % x", tc.first, tc.n, frame, want)
		}
	}
}
