package rfc4175

import (
	"errors"
	"testing"
)

func TestPGroup(t *testing.T) {
	t.Parallel()
	cases := []struct {
		sampling      string
		depth         int
		bytes, pixels int
	}{
		{"YCbCr-4:2:2", 8, 4, 2},
		{"YCbCr-4:2:2", 10, 5, 2},
		{"YCbCr-4:2:2", 12, 6, 2},
		{"YCbCr-4:2:2", 16, 8, 2},
		{"YCbCr-4:4:4", 8, 3, 1},
		{"YCbCr-4:4:4", 10, 15, 4},
		{"YCbCr-4:4:4", 12, 9, 2},
		{"RGB", 8, 3, 1},
		{"RGB", 10, 15, 4},
		{"RGB", 12, 9, 2},
		{"YCbCr-4:2:0", 8, 6, 4},
	}
	for _, c := range cases {
		b, px, err := PGroup(c.sampling, c.depth)
		if err != nil || b != c.bytes || px != c.pixels {
			t.Errorf("PGroup(%q, %d) = %d, %d, %v; want %d, %d", c.sampling, c.depth, b, px, err, c.bytes, c.pixels)
		}
	}
	for _, c := range []struct {
		sampling string
		depth    int
	}{
		{"YCbCr-4:2:2", 9}, {"YCbCr-4:4:4", 16}, {"YCbCr-4:2:0", 10}, {"ycbcr-4:2:2", 10},
		{"XYZ", 12}, {"", 0}, {"RGB", -8},
	} {
		if _, _, err := PGroup(c.sampling, c.depth); !errors.Is(err, ErrUnsupported) {
			t.Errorf("PGroup(%q, %d) error %v, want ErrUnsupported", c.sampling, c.depth, err)
		}
	}
}

func TestGeometry(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                  string
		g                     Geometry
		line, frame, fieldRow int
	}{
		{"1080p 4:2:2 10-bit", g1080p10, 4800, 5184000, 1080},
		{"1080i 4:2:2 10-bit", g1080i10, 4800, 5184000, 540},
		{"2160p 4:2:2 10-bit", Geometry{Width: 3840, Height: 2160, PGroupBytes: 5, PGroupPixels: 2}, 9600, 20736000, 2160},
		{"320x240 4:2:2 10-bit", g320p10, 800, 192000, 240},
		{"1080p 4:2:0 8-bit", g1080p420, 5760, 3110400, 1080},
		{"1080p 4:4:4 10-bit", g1080p444, 7200, 7776000, 1080},
		{"720p 4:2:2 8-bit", Geometry{Width: 1280, Height: 720, PGroupBytes: 4, PGroupPixels: 2}, 2560, 1843200, 720},
		{"max", Geometry{Width: 32767, Height: 32767, PGroupBytes: 2, PGroupPixels: 1}, 65534, 65534 * 32767, 32767},
		{"one pixel", Geometry{Width: 1, Height: 1, PGroupBytes: 3, PGroupPixels: 1}, 3, 3, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if err := c.g.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := c.g.LineBytes(); got != c.line {
				t.Errorf("LineBytes %d, want %d", got, c.line)
			}
			if got := c.g.FrameBytes(); got != c.frame {
				t.Errorf("FrameBytes %d, want %d", got, c.frame)
			}
			if got := c.g.FieldRows(); got != c.fieldRow {
				t.Errorf("FieldRows %d, want %d", got, c.fieldRow)
			}
		})
	}
}

func TestGeometryErrors(t *testing.T) {
	t.Parallel()
	ok := g1080p10
	with := func(f func(*Geometry)) Geometry { g := ok; f(&g); return g }
	cases := []struct {
		name string
		g    Geometry
	}{
		{"zero", Geometry{}},
		{"width 0", with(func(g *Geometry) { g.Width = 0 })},
		{"width negative", with(func(g *Geometry) { g.Width = -2 })},
		{"width 32768", with(func(g *Geometry) { g.Width = 32768 })},
		{"height 0", with(func(g *Geometry) { g.Height = 0 })},
		{"height 32768", with(func(g *Geometry) { g.Height = 32768 })},
		{"pgroup bytes 0", with(func(g *Geometry) { g.PGroupBytes = 0 })},
		{"pgroup bytes huge", with(func(g *Geometry) { g.PGroupBytes = 1 << 40 })},
		{"pgroup pixels 0", with(func(g *Geometry) { g.PGroupPixels = 0 })},
		{"pgroup lines negative", with(func(g *Geometry) { g.PGroupLines = -1 })},
		{"pgroup lines do not divide pixels", with(func(g *Geometry) { g.PGroupPixels = 3; g.PGroupLines = 2 })},
		{"odd width 4:2:2", with(func(g *Geometry) { g.Width = 1921 })},
		{"width not 4:4:4 10-bit pgroups", Geometry{Width: 1922, Height: 1080, PGroupBytes: 15, PGroupPixels: 4}},
		{"interlaced odd height", with(func(g *Geometry) { g.Interlaced = true; g.Height = 1081 })},
		{"4:2:0 odd height", Geometry{Width: 1920, Height: 1081, PGroupBytes: 6, PGroupPixels: 4, PGroupLines: 2}},
		{"4:2:0 interlaced height not multiple of 4", Geometry{Width: 1920, Height: 1082, PGroupBytes: 6, PGroupPixels: 4, PGroupLines: 2, Interlaced: true}},
		{"frame 2 GiB", Geometry{Width: 32766, Height: 32767, PGroupBytes: 15, PGroupPixels: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if err := c.g.Validate(); !errors.Is(err, ErrGeometry) {
				t.Errorf("Validate %v, want ErrGeometry", err)
			}
		})
	}
}

func TestNewGeometry(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		sampling   string
		depth      int
		w, h       int
		interlaced bool
		want       Geometry
		err        error
	}{
		{"1080p59.94 worked example", "YCbCr-4:2:2", 10, 1920, 1080, false, g1080p10, nil},
		{"1080i", "YCbCr-4:2:2", 10, 1920, 1080, true, g1080i10, nil},
		{"4:2:0 spans two lines", "YCbCr-4:2:0", 8, 1920, 1080, false, g1080p420, nil},
		{"RGB 12-bit", "RGB", 12, 640, 480, false, Geometry{Width: 640, Height: 480, PGroupBytes: 9, PGroupPixels: 2, PGroupLines: 1}, nil},
		{"unknown sampling", "CMYK", 8, 1920, 1080, false, Geometry{}, ErrUnsupported},
		{"odd width", "YCbCr-4:2:2", 10, 1919, 1080, false, Geometry{}, ErrGeometry},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			g, err := NewGeometry(c.sampling, c.depth, c.w, c.h, c.interlaced)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("error %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			want.PGroupLines = max(want.PGroupLines, 1)
			if g != want {
				t.Errorf("got %+v, want %+v", g, want)
			}
		})
	}
}
