package pixfmt

import (
	"errors"
	"math"
	"testing"
)

func TestParseFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		want Format
	}{
		{"yuv422p10rfc4175", PGroup10},
		{"pgroup10", PGroup10},
		{"uyvp", PGroup10},
		{"uyvy", PGroup8},
		{"pgroup8", PGroup8},
		{"yuv422p10le", YUV422P10LE},
		{"v210", V210},
	} {
		got, err := ParseFormat(tc.name)
		if err != nil || got != tc.want {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	for _, name := range []string{"", "V210", "yuv422p10", "uyvy422", " v210", "yuv420p"} {
		if f, err := ParseFormat(name); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseFormat(%q) = %v, %v; want ErrFormat", name, f, err)
		}
	}
}

func TestFormatProperties(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		f           Format
		name        string
		depth, pgb  int
		passthrough bool
	}{
		{PGroup10, "yuv422p10rfc4175", 10, 5, true},
		{PGroup8, "uyvy", 8, 4, true},
		{YUV422P10LE, "yuv422p10le", 10, 5, false},
		{V210, "v210", 10, 5, false},
		{0, "Format(0)", 0, 0, false},
		{V210 + 1, "Format(5)", 0, 0, false},
	} {
		if got := tc.f.String(); got != tc.name {
			t.Errorf("Format(%d).String() = %q, want %q", uint8(tc.f), got, tc.name)
		}
		if got := tc.f.Depth(); got != tc.depth {
			t.Errorf("%v.Depth() = %d, want %d", tc.f, got, tc.depth)
		}
		if got := tc.f.PGroupBytes(); got != tc.pgb {
			t.Errorf("%v.PGroupBytes() = %d, want %d", tc.f, got, tc.pgb)
		}
		if got := tc.f.Passthrough(); got != tc.passthrough {
			t.Errorf("%v.Passthrough() = %v, want %v", tc.f, got, tc.passthrough)
		}
		if tc.f.valid() {
			if back, err := ParseFormat(tc.name); err != nil || back != tc.f {
				t.Errorf("ParseFormat(%q) = %v, %v; want %v", tc.name, back, err, tc.f)
			}
		}
	}
}

func TestFrameSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		f             Format
		width, height int
		want          int64 // 2 GiB does not fit an int of 32 bits
		err           error
	}{
		{"pgroup10 1080p", PGroup10, 1920, 1080, 5184000, nil},
		{"pgroup10 2160p", PGroup10, 3840, 2160, 20736000, nil},
		{"uyvy 1080p", PGroup8, 1920, 1080, 4147200, nil},
		{"planar 1080p", YUV422P10LE, 1920, 1080, 8294400, nil},
		{"v210 1080p", V210, 1920, 1080, 5529600, nil},
		{"v210 2160p", V210, 3840, 2160, 22118400, nil},
		{"v210 1280x720", V210, 1280, 720, 2457600, nil},
		{"v210 2x3", V210, 2, 3, 16, nil},
		{"planar 2x1", YUV422P10LE, 2, 1, 8, nil},
		{"planar exactly 2 GiB", YUV422P10LE, 32768, 16384, 32768 * 16384 * 4, nil},
		{"zero width", PGroup10, 0, 1080, 0, ErrGeometry},
		{"negative height", PGroup10, 1920, -1, 0, ErrGeometry},
		{"odd width", YUV422P10LE, 1919, 1080, 0, ErrGeometry},
		{"v210 not whole groups", V210, 2, 1, 0, ErrGeometry},
		{"v210 not whole groups 320x241", V210, 320, 241, 0, ErrGeometry},
		{"planar over 2 GiB", YUV422P10LE, 32768, 16385, 0, ErrGeometry},
		{"huge width", PGroup10, math.MaxInt - 1, 1, 0, ErrGeometry},
		{"huge height", PGroup10, 2, math.MaxInt, 0, ErrGeometry},
		{"product over 2 GiB", PGroup10, 1 << 16, 1 << 16, 0, ErrGeometry},
		{"huge both", PGroup8, math.MaxInt, math.MaxInt, 0, ErrGeometry},
		{"unknown format", 0, 1920, 1080, 0, ErrFormat},
		{"unknown format 9", 9, 1920, 1080, 0, ErrFormat},
	} {
		got, err := FrameSize(tc.f, tc.width, tc.height)
		if tc.err == nil && tc.want > maxFrameBytes {
			continue // an int of 32 bits
		}
		if int64(got) != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: FrameSize(%v, %d, %d) = %d, %v; want %d, %v", tc.name, tc.f, tc.width, tc.height, got, err, tc.want, tc.err)
		}
	}
}
