package pixfmt

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseFormat: any name either parses to a format whose canonical name
// parses back to it, or fails with ErrFormat.
func FuzzParseFormat(f *testing.F) {
	for _, name := range []string{"yuv422p10rfc4175", "pgroup10", "uyvp", "uyvy", "pgroup8", "yuv422p10le", "v210", "", "V210"} {
		f.Add(name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, err := ParseFormat(name)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("ParseFormat(%q): %v does not wrap ErrFormat", name, err)
			}
			return
		}
		if back, err := ParseFormat(p.String()); err != nil || back != p {
			t.Fatalf("ParseFormat(%q) = %v, but its name %q parses to %v, %v", name, p, p.String(), back, err)
		}
	})
}

// maxFuzzFrame bounds the frames the fuzz targets make, so an input cannot
// make them allocate without bound.
const maxFuzzFrame = 1 << 20

// fuzzFrameLen is the frame length a fuzz input asks for: the exact size
// of its geometry plus delta (so that inputs reach the conversions, not
// only the length checks), or just delta when the geometry is invalid or
// too large.
func fuzzFrameLen(f Format, pixels int, delta int8) int {
	size, err := frameBytes(f, pixels)
	if err != nil || size > maxFuzzFrame {
		size = 0
	}
	return max(size+int(delta), 0)
}

// isSentinel reports whether err wraps one of the package's sentinels.
func isSentinel(err error) bool {
	return errors.Is(err, ErrShort) || errors.Is(err, ErrGeometry) || errors.Is(err, ErrFormat)
}

// FuzzUnpack feeds wire bytes from the network, with any format, geometry
// and range, into a frame. Unpack must not panic, must fail only with a
// sentinel and without touching the frame, and on success Pack of the
// same range must give the wire bytes back: 10-bit and 8-bit pgroups have
// no invalid or redundant encodings.
func FuzzUnpack(f *testing.F) {
	for _, tc := range errorCases {
		pixels := int32(min(tc.pixels, 1<<30))
		f.Add(uint8(tc.f), pixels, int32(tc.first), int32(min(tc.n, 1<<30)),
			int8(tc.frame-fuzzFrameLen(tc.f, int(pixels), 0)), make([]byte, tc.wire))
	}
	f.Add(uint8(V210), int32(12), int32(1), int32(4), int8(0), append(bytes.Repeat(checkPGroup, 3), 1, 2, 3, 4, 5))
	f.Add(uint8(YUV422P10LE), int32(640), int32(3), int32(300), int8(0), bytes.Repeat(checkPGroup, 300))
	f.Fuzz(func(t *testing.T, format uint8, pixels, first, n int32, delta int8, wire []byte) {
		fm := Format(format)
		frame := make([]byte, fuzzFrameLen(fm, int(pixels), delta))
		err := Unpack(fm, frame, wire, int(pixels), int(first), int(n))
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("Unpack: %v wraps no sentinel", err)
			}
			if !bytes.Equal(frame, make([]byte, len(frame))) {
				t.Fatalf("Unpack failed with %v but wrote to the frame", err)
			}
			return
		}
		size := int(n) * fm.PGroupBytes()
		back := make([]byte, size)
		if err := Pack(fm, back, frame, int(pixels), int(first), int(n)); err != nil {
			t.Fatalf("Pack of the range Unpack accepted: %v", err)
		}
		if !bytes.Equal(back, wire[:size]) {
			t.Fatalf("Pack(Unpack(wire)) differs at byte %d", firstDiff(back, wire[:size]))
		}
	})
}

// FuzzPack converts any frame bytes (an app's buffer, which may hold junk
// in the bits a layout leaves unused). Pack must not panic, must fail only
// with a sentinel, and the pgroups it makes must survive Unpack and Pack
// unchanged. The frame is the input's bytes, repeated to the length asked.
func FuzzPack(f *testing.F) {
	for _, tc := range errorCases {
		n := min(tc.n, 1<<30)
		f.Add(uint8(tc.f), int32(min(tc.pixels, 1<<30)), int32(tc.first), int32(n),
			int8(tc.wire-max(n, 0)*tc.f.PGroupBytes()), bytes.Repeat([]byte{0xFF}, min(tc.frame, 8)))
	}
	f.Add(uint8(V210), int32(48), int32(2), int32(20), int8(0), []byte{0xff, 0x00, 0x12, 0xc0, 0x3f})
	f.Fuzz(func(t *testing.T, format uint8, pixels, first, n int32, delta int8, pattern []byte) {
		fm := Format(format)
		frame := make([]byte, fuzzFrameLen(fm, int(pixels), 0))
		for i := 0; len(pattern) > 0 && i < len(frame); i += len(pattern) {
			copy(frame[i:], pattern)
		}
		wireLen := 0
		if n > 0 && int(n) <= maxFuzzFrame/pgroup10Bytes {
			wireLen = int(n) * fm.PGroupBytes()
		}
		wire := make([]byte, max(wireLen+int(delta), 0))
		err := Pack(fm, wire, frame, int(pixels), int(first), int(n))
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("Pack: %v wraps no sentinel", err)
			}
			return
		}
		size := int(n) * fm.PGroupBytes()
		other := bytes.Clone(frame)
		if err := Unpack(fm, other, wire[:size], int(pixels), int(first), int(n)); err != nil {
			t.Fatalf("Unpack of the range Pack accepted: %v", err)
		}
		again := make([]byte, size)
		if err := Pack(fm, again, other, int(pixels), int(first), int(n)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, wire[:size]) {
			t.Fatalf("Pack(Unpack(Pack(frame))) differs at byte %d", firstDiff(again, wire[:size]))
		}
	})
}
