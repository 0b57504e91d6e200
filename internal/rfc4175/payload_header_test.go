package rfc4175

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

// hx decodes a hex string, ignoring spaces.
func hx(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Geometries of the tables and the fuzz target.
var (
	g1080p10  = Geometry{Width: 1920, Height: 1080, PGroupBytes: 5, PGroupPixels: 2}
	g1080i10  = Geometry{Width: 1920, Height: 1080, PGroupBytes: 5, PGroupPixels: 2, Interlaced: true}
	g320p10   = Geometry{Width: 320, Height: 240, PGroupBytes: 5, PGroupPixels: 2}
	g1080p420 = Geometry{Width: 1920, Height: 1080, PGroupBytes: 6, PGroupPixels: 4, PGroupLines: 2}
	g1080p444 = Geometry{Width: 1920, Height: 1080, PGroupBytes: 15, PGroupPixels: 4}
)

// loc is where Locate puts one SRD.
type loc struct{ byteOff, pgroup int }

// headerCase is one row of the codec table: payload header bytes (sample
// data of the claimed length follows), the value they decode to, and
// where each SRD lands in the given geometry.
type headerCase struct {
	name   string
	bytes  []byte // header only; the test appends data bytes of zeros
	data   int    // sample bytes after the header
	header PayloadHeader
	geo    Geometry
	locs   []loc
}

func srds(s ...SRD) (a [MaxSRDs]SRD) {
	copy(a[:], s)
	return a
}

func headerCases(tb testing.TB) []headerCase {
	tb.Helper()
	eight := make([]SRD, MaxSRDs)
	eightHex := "00 00"
	var eightLocs []loc
	for i := range eight {
		eight[i] = SRD{Length: 5, Row: uint16(i), Offset: 0, Continue: i < MaxSRDs-1}
		c := "00 00"
		if i < MaxSRDs-1 {
			c = "80 00"
		}
		eightHex += " 00 05 00 " + hex.EncodeToString([]byte{byte(i)}) + " " + c
		eightLocs = append(eightLocs, loc{i * 800, i * 160})
	}
	return []headerCase{
		{
			// GStreamer rtpvrawpay / FFmpeg, 320x240 10-bit, 1400-byte
			// packets, greedy GPM (st2110.md §3).
			name:  "gstreamer three srds",
			bytes: hx(tb, "00 00  00 e6 00 01 80 e4  03 20 00 02 80 00  01 4f 00 03 00 00"),
			data:  230 + 800 + 335,
			header: PayloadHeader{N: 3, SRDs: srds(
				SRD{Length: 230, Row: 1, Offset: 228, Continue: true},
				SRD{Length: 800, Row: 2, Offset: 0, Continue: true},
				SRD{Length: 335, Row: 3, Offset: 0})},
			geo:  g320p10,
			locs: []loc{{800 + 570, 160 + 114}, {1600, 320}, {2400, 480}},
		},
		{
			name:  "gstreamer two srds line end",
			bytes: hx(tb, "00 00  01 d1 00 03 80 86  03 20 00 04 00 00"),
			data:  465 + 800,
			header: PayloadHeader{N: 2, SRDs: srds(
				SRD{Length: 465, Row: 3, Offset: 134, Continue: true},
				SRD{Length: 800, Row: 4, Offset: 0})},
			geo:  g320p10,
			locs: []loc{{2400 + 335, 480 + 67}, {3200, 640}},
		},
		{
			name:   "gpm 1080p one srd",
			bytes:  hx(tb, "00 07  04 b0 00 05 01 e0"),
			data:   1200,
			header: PayloadHeader{ExtSeq: 7, N: 1, SRDs: srds(SRD{Length: 1200, Row: 5, Offset: 480})},
			geo:    g1080p10,
			locs:   []loc{{5*4800 + 1200, 5*960 + 240}},
		},
		{
			name:   "gpm last row last segment",
			bytes:  hx(tb, "ff ff  04 b0 04 37 05 a0"),
			data:   1200,
			header: PayloadHeader{ExtSeq: 0xffff, N: 1, SRDs: srds(SRD{Length: 1200, Row: 1079, Offset: 1440})},
			geo:    g1080p10,
			locs:   []loc{{1079*4800 + 3600, 1079*960 + 720}},
		},
		{
			// 1080p BPM packet 3: bytes 3780..5039 cross from row 0 to row 1.
			name:  "bpm crossing a line",
			bytes: hx(tb, "00 01  03 fc 00 00 85 e8  00 f0 00 01 00 00"),
			data:  1260,
			header: PayloadHeader{ExtSeq: 1, N: 2, SRDs: srds(
				SRD{Length: 1020, Row: 0, Offset: 1512, Continue: true},
				SRD{Length: 240, Row: 1, Offset: 0})},
			geo:  g1080p10,
			locs: []loc{{3780, 756}, {4800, 960}},
		},
		{
			name:   "interlaced second field",
			bytes:  hx(tb, "00 00  04 b0 82 1b 00 f0"),
			data:   1200,
			header: PayloadHeader{N: 1, SRDs: srds(SRD{Length: 1200, Field: true, Row: 539, Offset: 240})},
			geo:    g1080i10,
			locs:   []loc{{1079*4800 + 600, 1079*960 + 120}},
		},
		{
			name:   "interlaced first field",
			bytes:  hx(tb, "00 00  04 b0 00 0a 00 00"),
			data:   1200,
			header: PayloadHeader{N: 1, SRDs: srds(SRD{Length: 1200, Row: 10, Offset: 0})},
			geo:    g1080i10,
			locs:   []loc{{20 * 4800, 20 * 960}},
		},
		{
			name:   "4:2:0 row pair",
			bytes:  hx(tb, "00 00  05 a0 00 06 01 e0"),
			data:   1440,
			header: PayloadHeader{N: 1, SRDs: srds(SRD{Length: 1440, Row: 6, Offset: 480})},
			geo:    g1080p420,
			locs:   []loc{{3*5760 + 1440, 3*960 + 240}},
		},
		{
			name:   "4:4:4 10-bit",
			bytes:  hx(tb, "00 00  05 a0 00 02 00 60"),
			data:   1440,
			header: PayloadHeader{N: 1, SRDs: srds(SRD{Length: 1440, Row: 2, Offset: 96})},
			geo:    g1080p444,
			locs:   []loc{{2*7200 + 360, 2*480 + 24}},
		},
		{
			name:   "trailing bytes ignored",
			bytes:  hx(tb, "00 00  00 05 00 00 00 00"),
			data:   9,
			header: PayloadHeader{N: 1, SRDs: srds(SRD{Length: 5})},
			geo:    g320p10,
			locs:   []loc{{0, 0}},
		},
		{
			name:   "zero length",
			bytes:  hx(tb, "00 00  00 00 00 00 01 3e"),
			header: PayloadHeader{N: 1, SRDs: srds(SRD{Row: 0, Offset: 318})},
			geo:    g320p10,
			locs:   []loc{{795, 159}},
		},
		{
			name:   "eight srds",
			bytes:  hx(tb, eightHex),
			data:   5 * MaxSRDs,
			header: PayloadHeader{N: MaxSRDs, SRDs: srds(eight...)},
			geo:    g320p10,
			locs:   eightLocs,
		},
	}
}

func (c headerCase) packet() []byte {
	return append(bytes.Clone(c.bytes), make([]byte, c.data)...)
}

func TestUnmarshal(t *testing.T) {
	t.Parallel()
	for _, c := range headerCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// Stale state from an earlier packet must not survive.
			p := PayloadHeader{ExtSeq: 9, N: MaxSRDs, SRDs: srds(SRD{Length: 1}, SRD{Length: 2}, SRD{}, SRD{}, SRD{}, SRD{}, SRD{}, SRD{Row: 3})}
			n, err := p.Unmarshal(c.packet())
			if err != nil {
				t.Fatal(err)
			}
			if n != len(c.bytes) {
				t.Errorf("header length %d, want %d", n, len(c.bytes))
			}
			if p != c.header {
				t.Errorf("got  %+v\nwant %+v", p, c.header)
			}
		})
	}
}

func TestMarshal(t *testing.T) {
	t.Parallel()
	for _, c := range headerCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := c.header
			// MarshalTo derives C itself.
			for i := range h.SRDs {
				h.SRDs[i].Continue = i%2 == 0
			}
			if got := h.MarshalSize(); got != len(c.bytes) {
				t.Errorf("MarshalSize %d, want %d", got, len(c.bytes))
			}
			got, err := h.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.bytes) {
				t.Errorf("Marshal\n got %x\nwant %x", got, c.bytes)
			}
		})
	}
}

func TestLocate(t *testing.T) {
	t.Parallel()
	for _, c := range headerCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if err := c.geo.Validate(); err != nil {
				t.Fatal(err)
			}
			for i, s := range c.header.SRDs[:c.header.N] {
				off, pg, err := c.geo.Locate(s)
				if err != nil {
					t.Fatalf("srd %d: %v", i, err)
				}
				if (loc{off, pg}) != c.locs[i] {
					t.Errorf("srd %d at %d (pgroup %d), want %d (pgroup %d)", i, off, pg, c.locs[i].byteOff, c.locs[i].pgroup)
				}
			}
		})
	}
}

// unmarshalErrorCases are malformed payload headers; they seed the fuzz
// target too.
func unmarshalErrorCases(tb testing.TB) []struct {
	name  string
	bytes []byte
} {
	tb.Helper()
	nine := "00 00"
	for range MaxSRDs + 1 {
		nine += " 00 00 00 00 80 00"
	}
	return []struct {
		name  string
		bytes []byte
	}{
		{"empty", nil},
		{"ext seq only", hx(tb, "00 01")},
		{"srd cut", hx(tb, "00 01 00 05 00 00 00")},
		{"continue on last with no room", hx(tb, "00 00 00 05 00 00 80 00  00 00 00 00 00")},
		{"continue on last exactly at end", hx(tb, "00 00 00 00 00 00 80 00")},
		{"nine srds", hx(tb, nine)},
		{"length past end", hx(tb, "00 00 00 05 00 00 00 00  00 00 00 00")},
		{"lengths sum past end", hx(tb, "00 00 00 05 00 00 80 00 00 05 00 01 00 00  00 00 00 00 00 00 00 00 00")},
		{"huge length", hx(tb, "00 00 ff ff 00 00 00 00  00")},
	}
}

func TestUnmarshalErrors(t *testing.T) {
	t.Parallel()
	for _, c := range unmarshalErrorCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			want := PayloadHeader{ExtSeq: 5, N: 1}
			p := want
			n, err := p.Unmarshal(c.bytes)
			if n != 0 || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Unmarshal = %d, %v; want 0, ErrMalformed", n, err)
			}
			if p != want {
				t.Errorf("failed Unmarshal changed the header to %+v", p)
			}
			if !strings.Contains(err.Error(), "need") {
				t.Errorf("error %q lacks got/need detail", err)
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		h    PayloadHeader
		buf  int
		err  error
	}{
		{"no srds", PayloadHeader{}, 64, ErrMalformed},
		{"negative count", PayloadHeader{N: -1}, 64, ErrMalformed},
		{"too many", PayloadHeader{N: MaxSRDs + 1}, 64, ErrMalformed},
		{"row 15 bits", PayloadHeader{N: 1, SRDs: srds(SRD{Row: 0x8000})}, 64, ErrMalformed},
		{"offset 15 bits", PayloadHeader{N: 2, SRDs: srds(SRD{}, SRD{Offset: 0x8000})}, 64, ErrMalformed},
		{"short buffer", PayloadHeader{N: 2}, 13, io.ErrShortBuffer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if n, err := c.h.MarshalTo(make([]byte, c.buf)); n != 0 || !errors.Is(err, c.err) {
				t.Errorf("MarshalTo = %d, %v; want 0, %v", n, err, c.err)
			}
			if c.buf == 64 {
				if b, err := c.h.Marshal(); b != nil || !errors.Is(err, c.err) {
					t.Errorf("Marshal = %x, %v; want nil, %v", b, err, c.err)
				}
			}
		})
	}
}

func TestLocateErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		geo  Geometry
		srd  SRD
		err  error
	}{
		{"row past frame", g1080p10, SRD{Row: 1080, Length: 5}, ErrOutOfFrame},
		{"row max", g1080p10, SRD{Row: 0x7fff, Length: 5}, ErrOutOfFrame},
		{"row past field", g1080i10, SRD{Row: 540, Length: 5}, ErrOutOfFrame},
		{"second field of progressive", g1080p10, SRD{Field: true, Length: 5}, ErrOutOfFrame},
		{"offset past line", g1080p10, SRD{Offset: 1920}, ErrOutOfFrame},
		{"offset max", g1080p10, SRD{Offset: 0x7fff, Length: 5}, ErrOutOfFrame},
		{"offset inside pgroup", g1080p10, SRD{Offset: 3, Length: 5}, ErrOutOfFrame},
		{"offset inside 4:4:4 pgroup", g1080p444, SRD{Offset: 2, Length: 15}, ErrOutOfFrame},
		{"length not pgroups", g1080p10, SRD{Length: 1199}, ErrOutOfFrame},
		{"length past line", g1080p10, SRD{Offset: 1440, Length: 1205}, ErrOutOfFrame},
		{"length of two lines", g320p10, SRD{Length: 1600}, ErrOutOfFrame},
		{"length max", g320p10, SRD{Length: 65535}, ErrOutOfFrame},
		{"4:2:0 odd row", g1080p420, SRD{Row: 7, Length: 6}, ErrOutOfFrame},
		{"4:2:0 offset odd", g1080p420, SRD{Offset: 1, Length: 6}, ErrOutOfFrame},
		{"zero geometry", Geometry{}, SRD{}, ErrGeometry},
		{"pgroup lines above pixels", Geometry{Width: 8, Height: 8, PGroupBytes: 3, PGroupPixels: 1, PGroupLines: 2}, SRD{}, ErrGeometry},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if off, pg, err := c.geo.Locate(c.srd); off != 0 || pg != 0 || !errors.Is(err, c.err) {
				t.Errorf("Locate = %d, %d, %v; want 0, 0, %v", off, pg, err, c.err)
			}
		})
	}
}

// fuzzGeometries are the geometries FuzzPayloadHeader locates SRDs in.
var fuzzGeometries = []Geometry{g1080p10, g1080i10, g320p10, g1080p420, g1080p444,
	{Width: 3, Height: 3, PGroupBytes: 3, PGroupPixels: 1}}

// FuzzPayloadHeader checks that Unmarshal and Locate never panic, that
// what they accept is self-consistent and inside the frame, and that an
// accepted header re-marshals to the same bytes.
func FuzzPayloadHeader(f *testing.F) {
	for _, c := range headerCases(f) {
		f.Add(c.packet())
	}
	for _, c := range unmarshalErrorCases(f) {
		f.Add(c.bytes)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p PayloadHeader
		n, err := p.Unmarshal(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if p.N < 1 || p.N > MaxSRDs || n != 2+SRDSize*p.N || n > len(b) {
			t.Fatalf("N %d, length %d of %d bytes", p.N, n, len(b))
		}
		sum := 0
		for i, s := range p.SRDs {
			if i < p.N {
				sum += int(s.Length)
				if s.Continue != (i < p.N-1) {
					t.Fatalf("srd %d Continue %v of %d", i, s.Continue, p.N)
				}
			} else if s != (SRD{}) {
				t.Fatalf("srd %d beyond N is %+v", i, s)
			}
		}
		if sum > len(b)-n {
			t.Fatalf("lengths %d, %d bytes after the header", sum, len(b)-n)
		}
		for _, g := range fuzzGeometries {
			for _, s := range p.SRDs[:p.N] {
				off, pg, lerr := g.Locate(s)
				if lerr != nil {
					if !errors.Is(lerr, ErrOutOfFrame) {
						t.Fatalf("error %v does not wrap ErrOutOfFrame", lerr)
					}
					continue
				}
				if off < 0 || off+int(s.Length) > g.FrameBytes() || off != pg*g.PGroupBytes {
					t.Fatalf("%+v in %+v at %d (pgroup %d), frame %d bytes", s, g, off, pg, g.FrameBytes())
				}
			}
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, b[:n]) {
			t.Fatalf("re-marshalled %x from %x", out, b[:n])
		}
	})
}
