package rfc9134

import (
	"encoding/binary"
	"errors"
	"testing"
)

// csSpec describes a small synthetic picture segment: the boxes and header
// segments a JPEG XS encoder writes, with a fake slice in place of coded
// data (ProbeCodestream never reads slice contents).
type csSpec struct {
	jpvi, colr bool
	profile    uint16
	plev       uint16
	w, h       uint16
	nc         uint8
	cdt        []byte // component table body; nil: no CDT
}

func box(typ string, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
	return append(append(b, typ...), body...)
}

func segment(marker uint16, body []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, marker)
	b = binary.BigEndian.AppendUint16(b, uint16(2+len(body)))
	return append(b, body...)
}

func (s csSpec) build() []byte {
	var b []byte
	if s.jpvi {
		// brat, frat, schar, tcod: values are not read, only the framing.
		b = append(b, box("jpvi", []byte{0, 0, 1, 0x7a, 0x02, 0x00, 0x00, 0x3c, 0, 0, 0, 0, 0, 0})...)
	}
	if s.colr {
		b = append(b, box("colr", []byte{5, 0, 0, 1, 0, 1, 0, 1, 0x80})...)
	}
	start := len(b)
	b = append(b, 0xff, 0x10)                    // SOC
	b = append(b, segment(0xff50, []byte{0})...) // CAP
	pih := binary.BigEndian.AppendUint32(nil, 0) // Lcod, patched below
	pih = binary.BigEndian.AppendUint16(pih, s.profile)
	pih = binary.BigEndian.AppendUint16(pih, s.plev)
	pih = binary.BigEndian.AppendUint16(pih, s.w)
	pih = binary.BigEndian.AppendUint16(pih, s.h)
	pih = append(pih, 0, 0, 0, 1, s.nc, 4, 8, 20, 0x60, 0, 0x52, 0) // Cw, Hsl, Nc, Ng, Ss, Bw, Fq|Br, Fslc.., Nlx|Nly, Lh..
	b = append(b, segment(0xff12, pih)...)
	lcodAt := len(b) - len(pih)
	if s.cdt != nil {
		b = append(b, segment(0xff13, s.cdt)...)
	}
	b = append(b, segment(0xff14, []byte{1, 2, 3, 4})...)   // WGT
	b = append(b, segment(0xff20, []byte{0, 0})...)         // SLH, slice 0
	b = append(b, 0x12, 0x00, 0xff, 0x11, 0xff, 0x12, 0x34) // coded data, may contain anything
	b = append(b, 0xff, 0x11)                               // EOC
	binary.BigEndian.PutUint32(b[lcodAt:], uint32(len(b)-start))
	return b
}

var yuv422 = csSpec{profile: 0x3540, plev: 0x1004, w: 1920, h: 1080, nc: 3, cdt: []byte{10, 0x11, 10, 0x21, 10, 0x21}}

func TestProbeCodestream(t *testing.T) {
	t.Parallel()
	with := func(f func(*csSpec)) csSpec { s := yuv422; f(&s); return s }
	for _, c := range []struct {
		name string
		spec csSpec
		want Info
	}{
		{"main422.10 1080p", yuv422, Info{Profile: 0x3540, Level: 0x10, Sublevel: 0x04, Width: 1920, Height: 1080,
			Components: 3, Depth: 10, Subsampling: "4:2:2"}},
		{"boxes", with(func(s *csSpec) { s.jpvi, s.colr = true, true }), Info{VideoInfo: true, Colour: true,
			Profile: 0x3540, Level: 0x10, Sublevel: 0x04, Width: 1920, Height: 1080, Components: 3, Depth: 10, Subsampling: "4:2:2"}},
		{"jpvi only", with(func(s *csSpec) { s.jpvi = true }), Info{VideoInfo: true,
			Profile: 0x3540, Level: 0x10, Sublevel: 0x04, Width: 1920, Height: 1080, Components: 3, Depth: 10, Subsampling: "4:2:2"}},
		{"no cdt", with(func(s *csSpec) { s.cdt = nil }), Info{Profile: 0x3540, Level: 0x10, Sublevel: 0x04,
			Width: 1920, Height: 1080, Components: 3}},
		{"444 12 bit", csSpec{profile: 0x4a40, plev: 0x2080, w: 3840, h: 2160, nc: 3, cdt: []byte{12, 0x11, 12, 0x11, 12, 0x11}},
			Info{Profile: 0x4a40, Level: 0x20, Sublevel: 0x80, Width: 3840, Height: 2160, Components: 3, Depth: 12, Subsampling: "4:4:4"}},
		{"420 mixed depth", csSpec{w: 64, h: 32, nc: 3, cdt: []byte{10, 0x11, 8, 0x22, 8, 0x22}},
			Info{Width: 64, Height: 32, Components: 3, Subsampling: "4:2:0"}},
		{"4224", csSpec{w: 8, h: 8, nc: 4, cdt: []byte{8, 0x11, 8, 0x21, 8, 0x21, 8, 0x11}},
			Info{Width: 8, Height: 8, Components: 4, Depth: 8, Subsampling: "4:2:2:4"}},
		{"grey", csSpec{w: 8, h: 8, nc: 1, cdt: []byte{16, 0x11}},
			Info{Width: 8, Height: 8, Components: 1, Depth: 16, Subsampling: "4:0:0"}},
		{"odd subsampling", csSpec{w: 8, h: 8, nc: 2, cdt: []byte{8, 0x11, 8, 0x21}},
			Info{Width: 8, Height: 8, Components: 2, Depth: 8}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := c.spec.build()
			got, err := ProbeCodestream(b)
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			want.Offset = 0
			if c.spec.jpvi {
				want.Offset += 8 + 14
			}
			if c.spec.colr {
				want.Offset += 8 + 9
			}
			want.Length = len(b) - want.Offset
			want.Lcod = uint32(want.Length)
			if got != want {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestProbeCodestreamErrors(t *testing.T) {
	t.Parallel()
	good := yuv422.build()
	const pihAt = 2 + 5 // after SOC and the 5-byte CAP segment
	edit := func(f func(b []byte) []byte) []byte {
		b := append([]byte(nil), good...)
		return f(b)
	}
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"soc only", []byte{0xff, 0x10}},
		{"soc eoc no pih", []byte{0xff, 0x10, 0xff, 0x11}},
		{"no soc", edit(func(b []byte) []byte { b[1] = 0x4f; return b })},
		{"no eoc", edit(func(b []byte) []byte { return b[:len(b)-1] })},
		{"pih length 24", edit(func(b []byte) []byte { b[pihAt+3] = 24; return b })},
		{"segment length past end", edit(func(b []byte) []byte { b[pihAt+2], b[pihAt+3] = 0xff, 0xf0; return b })},
		{"segment length 1", edit(func(b []byte) []byte { b[pihAt+2], b[pihAt+3] = 0, 1; return b })},
		{"not a marker", edit(func(b []byte) []byte { b[pihAt] = 0x7f; return b })},
		{"zero width", edit(func(b []byte) []byte { b[pihAt+12], b[pihAt+13] = 0, 0; return b })},
		{"zero components", edit(func(b []byte) []byte { b[pihAt+20] = 0; return b })},
		{"cdt wrong size", csSpec{w: 8, h: 8, nc: 3, cdt: []byte{8, 0x11}}.build()},
		{"slice before pih", []byte{0xff, 0x10, 0xff, 0x20, 0x00, 0x04, 0, 0, 0xff, 0x11}},
		{"cdt before pih", []byte{0xff, 0x10, 0xff, 0x13, 0x00, 0x04, 8, 0x11, 0xff, 0x11}},
		{"truncated marker length", []byte{0xff, 0x10, 0xff, 0x50, 0xff, 0x11}},
		{"unknown box", append(box("ftyp", []byte{1, 2, 3, 4}), good...)},
		{"box too long", append(append(binary.BigEndian.AppendUint32(nil, 1<<20), "jpvi"...), good...)},
		{"box too short", append(append(binary.BigEndian.AppendUint32(nil, 4), "jpvi"...), good...)},
		{"box to end of file", append(append(binary.BigEndian.AppendUint32(nil, 0), "jpvi"...), good...)},
		{"xlbox truncated", append(binary.BigEndian.AppendUint32(nil, 1), "colr"...)},
		{"xlbox huge", append(append(binary.BigEndian.AppendUint64(append(binary.BigEndian.AppendUint32(nil, 1), "colr"...), 1<<62), 0), good...)},
		{"two jpvi", append(append(box("jpvi", nil), box("jpvi", nil)...), good...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if info, err := ProbeCodestream(c.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %+v, %v; want ErrMalformed", info, err)
			}
		})
	}
}

func TestProbeCodestreamXLBox(t *testing.T) {
	t.Parallel()
	body := []byte{5, 0, 0}
	b := binary.BigEndian.AppendUint32(nil, 1)
	b = append(b, "colr"...)
	b = binary.BigEndian.AppendUint64(b, uint64(16+len(body)))
	b = append(append(b, body...), yuv422.build()...)
	info, err := ProbeCodestream(b)
	if err != nil || !info.Colour || info.Offset != 19 || info.Width != 1920 {
		t.Fatalf("got %+v, %v", info, err)
	}
}

func TestProfileName(t *testing.T) {
	t.Parallel()
	for code, want := range map[uint16]string{0x3540: "Main422.10", 0x4e40: "High4444.12", 0x2500: "Light-Subline422.10", 0x1234: ""} {
		if got := ProfileName(code); got != want {
			t.Errorf("ProfileName(%#04x) = %q, want %q", code, got, want)
		}
	}
}

func TestProbeCodestreamAllocs(t *testing.T) {
	b := csSpec{jpvi: true, colr: true, profile: 0x3540, w: 1920, h: 1080, nc: 3, cdt: yuv422.cdt}.build()
	if n := testing.AllocsPerRun(100, func() { _, _ = ProbeCodestream(b) }); n != 0 {
		t.Fatalf("%v allocs per probe, want 0", n)
	}
}

func FuzzProbeCodestream(f *testing.F) {
	f.Add(yuv422.build())
	f.Add(csSpec{jpvi: true, colr: true, w: 8, h: 8, nc: 4, cdt: []byte{8, 0x11, 8, 0x21, 8, 0x21, 8, 0x11}}.build())
	f.Add([]byte{0xff, 0x10, 0xff, 0x11})
	f.Add(append(box("jpvi", nil), 0xff, 0x10, 0xff, 0x11))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ProbeCodestream(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if info.Offset+info.Length != len(b) || info.Width == 0 || info.Height == 0 || info.Components == 0 {
			t.Fatalf("accepted with %+v for %d bytes", info, len(b))
		}
	})
}
