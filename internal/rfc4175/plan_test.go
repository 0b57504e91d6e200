package rfc4175

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPlanCounts(t *testing.T) {
	t.Parallel()
	g2160 := Geometry{Width: 3840, Height: 2160, PGroupBytes: 5, PGroupPixels: 2}
	g720 := Geometry{Width: 1280, Height: 720, PGroupBytes: 5, PGroupPixels: 2}
	gOdd := Geometry{Width: 1918, Height: 1080, PGroupBytes: 5, PGroupPixels: 2}
	cases := []struct {
		name        string
		g           Geometry
		mode        Mode
		maxPayload  int
		packets     int
		size, last  int // sample bytes of the first and the last packet
		perLine     []int
		fieldBreaks []int // packets with Marker
	}{
		// st2110.md §5.
		{"1080p gpm", g1080p10, GPM, DefaultMaxPayload, 4320, 1200, 1200, []int{1200, 1200, 1200, 1200}, []int{4319}},
		{"1080p bpm", g1080p10, BPM, DefaultMaxPayload, 4115, 1260, 360, nil, []int{4114}},
		{"2160p bpm", g2160, BPM, DefaultMaxPayload, 16458, 1260, 180, nil, []int{16457}},
		{"320x240 gpm", g320p10, GPM, DefaultMaxPayload, 240, 800, 800, []int{800}, []int{239}},
		// More of the same rule.
		{"2160p gpm", g2160, GPM, DefaultMaxPayload, 17280, 1200, 1200, []int{1200, 1200, 1200, 1200, 1200, 1200, 1200, 1200}, []int{17279}},
		{"720p gpm one more than fewest", g720, GPM, DefaultMaxPayload, 2880, 800, 800, []int{800, 800, 800, 800}, []int{2879}},
		{"no equal split: last shorter", gOdd, GPM, DefaultMaxPayload, 4320, 1200, 1195, []int{1200, 1200, 1200, 1195}, []int{4319}},
		{"1080p gpm maxudp", g1080p10, GPM, MAXUDPMaxPayload, 1080, 4800, 4800, []int{4800}, []int{1079}},
		{"1080i gpm", g1080i10, GPM, DefaultMaxPayload, 4320, 1200, 1200, []int{1200, 1200, 1200, 1200}, []int{2159, 4319}},
		{"1080i bpm", g1080i10, BPM, DefaultMaxPayload, 4116, 1260, 180, nil, []int{2057, 4115}},
		{"1080p 4:2:0 gpm", g1080p420, GPM, DefaultMaxPayload, 2160, 1440, 1440, []int{1440, 1440, 1440, 1440}, []int{2159}},
		{"1080p 4:4:4 gpm", g1080p444, GPM, DefaultMaxPayload, 5400, 1440, 1440, []int{1440, 1440, 1440, 1440, 1440}, []int{5399}},
		{"1080p bpm budget exactly", g1080p10, BPM, 1274, 4115, 1260, 360, nil, []int{4114}},
		{"gpm one pgroup per packet", g320p10, GPM, 2 + 6 + 5, 240 * 160, 5, 5, []int{5, 5}, []int{240*160 - 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p, err := NewPlan(c.g, c.mode, c.maxPayload)
			if err != nil {
				t.Fatal(err)
			}
			n := len(p.Packets)
			if n != c.packets {
				t.Fatalf("%d packets, want %d", n, c.packets)
			}
			if got := p.Packets[0].Bytes; got != c.size {
				t.Errorf("first packet %d bytes, want %d", got, c.size)
			}
			if got := p.Packets[n-1].Bytes; got != c.last {
				t.Errorf("last packet %d bytes, want %d", got, c.last)
			}
			for i, want := range c.perLine {
				if got := p.Packets[i].Bytes; got != want || p.Packets[i].N != 1 || p.Packets[i].SRDs[0].Row != 0 {
					t.Errorf("packet %d of line 0: %d bytes in %+v, want %d", i, got, p.Packets[i], want)
				}
			}
			var markers []int
			for i, pk := range p.Packets {
				if pk.Marker {
					markers = append(markers, i)
				}
			}
			if fmt.Sprint(markers) != fmt.Sprint(c.fieldBreaks) {
				t.Errorf("Marker on %v, want %v", markers, c.fieldBreaks)
			}
		})
	}
}

func TestPlanErrors(t *testing.T) {
	t.Parallel()
	g16 := Geometry{Width: 1920, Height: 1080, PGroupBytes: 8, PGroupPixels: 2}
	cases := []struct {
		name       string
		g          Geometry
		mode       Mode
		maxPayload int
		err        error
	}{
		{"invalid geometry", Geometry{Width: 1921, Height: 1080, PGroupBytes: 5, PGroupPixels: 2}, GPM, DefaultMaxPayload, ErrGeometry},
		{"unknown mode", g1080p10, Mode(2), DefaultMaxPayload, ErrUnsupported},
		{"gpm budget below one pgroup", g1080p10, GPM, 2 + 6 + 4, ErrUnsupported},
		{"gpm budget zero", g1080p10, GPM, 0, ErrUnsupported},
		{"gpm budget negative", g1080p10, GPM, -1, ErrUnsupported},
		{"budget above udp", g1080p10, GPM, 65496, ErrUnsupported},
		{"bpm 16-bit", g16, BPM, DefaultMaxPayload, ErrUnsupported},
		{"bpm short lines", g320p10, BPM, DefaultMaxPayload, ErrUnsupported},
		{"bpm budget", g1080p10, BPM, 1273, ErrUnsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if p, err := NewPlan(c.g, c.mode, c.maxPayload); p != nil || !errors.Is(err, c.err) {
				t.Errorf("NewPlan = %v, %v; want nil, %v", p, err, c.err)
			}
		})
	}
}

func TestModeString(t *testing.T) {
	t.Parallel()
	for m, want := range map[Mode]string{GPM: "2110GPM", BPM: "2110BPM", Mode(9): "Mode(9)"} {
		if got := m.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", uint8(m), got, want)
		}
	}
}

// checkPlan asserts the Plan invariants of doc.go: every frame byte once,
// wire order per field, the payload budget, at most two SRDs, Locate's
// placement, GPM's equal segments and BPM's 1260-byte rhythm.
func checkPlan(t *testing.T, p *Plan) {
	t.Helper()
	g := p.Geometry
	type span struct{ from, to int }
	var spans []span
	fieldStart := 0
	for i, pk := range p.Packets {
		if pk.N < 1 || pk.N > 2 || (p.Mode == GPM && pk.N != 1) {
			t.Fatalf("packet %d has %d SRDs", i, pk.N)
		}
		if size := p.HeaderSize(i) + pk.Bytes; size > p.MaxPayload {
			t.Fatalf("packet %d payload %d > budget %d", i, size, p.MaxPayload)
		}
		if pk.Offset != pk.SRDOffset[0] || pk.Offset != pk.PGroup*g.PGroupBytes {
			t.Fatalf("packet %d offset %d, srd offset %d, pgroup %d", i, pk.Offset, pk.SRDOffset[0], pk.PGroup)
		}
		sum := 0
		for j, s := range pk.SRDs[:pk.N] {
			if s.Continue != (j < pk.N-1) || s.Field != (fieldStart > 0) {
				t.Fatalf("packet %d srd %d: %+v", i, j, s)
			}
			off, _, err := g.Locate(s)
			if err != nil || off != pk.SRDOffset[j] {
				t.Fatalf("packet %d srd %d: Locate %d, %v; plan says %d", i, j, off, err, pk.SRDOffset[j])
			}
			spans = append(spans, span{off, off + int(s.Length)})
			sum += int(s.Length)
		}
		if sum != pk.Bytes || sum == 0 {
			t.Fatalf("packet %d Bytes %d, SRDs sum %d", i, pk.Bytes, sum)
		}
		if i > fieldStart && !g.Interlaced && pk.Offset != p.Packets[i-1].Offset+p.Packets[i-1].Bytes {
			t.Fatalf("packet %d at %d does not follow packet %d", i, pk.Offset, i-1)
		}
		if p.Mode == BPM && !pk.Marker && pk.Bytes != BPMPacketBytes {
			t.Fatalf("bpm packet %d has %d bytes", i, pk.Bytes)
		}
		if p.Mode == GPM && i > fieldStart {
			prev := p.Packets[i-1]
			sameLine := prev.SRDs[0].Row == pk.SRDs[0].Row
			if sameLine && prev.Bytes < pk.Bytes || !sameLine && pk.Bytes != p.Packets[fieldStart].Bytes {
				t.Fatalf("gpm packet %d: %d bytes after %d", i, pk.Bytes, prev.Bytes)
			}
		}
		if pk.Marker {
			fieldStart = i + 1
		}
	}
	if fieldStart != len(p.Packets) {
		t.Fatalf("no Marker on the last packet")
	}
	// Every byte exactly once: the segments, sorted, tile [0, FrameBytes).
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	end := 0
	for _, sp := range spans {
		if sp.from < end {
			t.Fatalf("frame bytes [%d, %d) covered twice", sp.from, end)
		}
		if sp.from > end {
			t.Fatalf("frame bytes [%d, %d) never covered", end, sp.from)
		}
		end = sp.to
	}
	if end != g.FrameBytes() {
		t.Fatalf("frame bytes [%d, %d) never covered", end, g.FrameBytes())
	}
}

// sweepGeometries returns formats × sizes, interlaced too, for the
// coverage and round-trip tests; small sizes keep them fast under -race.
func sweepGeometries() []Geometry {
	type pg struct{ bytes, pixels, lines int }
	pgroups := []pg{{4, 2, 1}, {5, 2, 1}, {6, 2, 1}, {8, 2, 1}, {3, 1, 1}, {15, 4, 1}, {9, 2, 1}, {6, 4, 2}}
	var gs []Geometry
	for _, p := range pgroups {
		for _, w := range []int{4, 12, 320, 516, 720, 1278, 1920} {
			for _, h := range []int{4, 8, 12} {
				for _, il := range []bool{false, true} {
					g := Geometry{Width: w, Height: h, PGroupBytes: p.bytes, PGroupPixels: p.pixels, PGroupLines: p.lines, Interlaced: il}
					if g.Validate() == nil {
						gs = append(gs, g)
					}
				}
			}
		}
	}
	return gs
}

var sweepPayloads = []int{DefaultMaxPayload, 1274, 600, 2 + 6 + 15, MAXUDPMaxPayload}

func TestPlanCoverage(t *testing.T) {
	t.Parallel()
	plans := 0
	for _, g := range sweepGeometries() {
		for _, mode := range []Mode{GPM, BPM} {
			for _, mp := range sweepPayloads {
				p, err := NewPlan(g, mode, mp)
				if err != nil {
					if !errors.Is(err, ErrUnsupported) {
						t.Fatalf("%+v %v %d: %v", g, mode, mp, err)
					}
					continue
				}
				plans++
				t.Run(fmt.Sprintf("%dx%d/%d,%d,%d/i=%v/%v/%d", g.Width, g.Height, g.PGroupBytes, g.PGroupPixels, g.lines(), g.Interlaced, mode, mp), func(t *testing.T) {
					t.Parallel()
					checkPlan(t, p)
				})
			}
		}
	}
	if plans < 200 {
		t.Errorf("only %d plans in the sweep", plans)
	}
}

// frame returns a packed frame of g filled with deterministic noise.
func frame(g Geometry, seed uint64) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	b := make([]byte, g.FrameBytes())
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

// send packetizes f with p the way a sender does: PutHeader, then the
// sample bytes each SRD points at.
func send(p *Plan, f []byte) [][]byte {
	pkts := make([][]byte, len(p.Packets))
	for i, pk := range p.Packets {
		b := make([]byte, p.HeaderSize(i), p.HeaderSize(i)+pk.Bytes)
		if n := p.PutHeader(b, i, uint16(i>>16)); n != len(b) {
			panic("PutHeader length")
		}
		for j, s := range pk.SRDs[:pk.N] {
			b = append(b, f[pk.SRDOffset[j]:pk.SRDOffset[j]+int(s.Length)]...)
		}
		pkts[i] = b
	}
	return pkts
}

// receive is the receiver helper: it parses each payload with Unmarshal
// and Locate and copies the samples into a frame of g.
func receive(t *testing.T, g Geometry, pkts [][]byte) []byte {
	t.Helper()
	out := make([]byte, g.FrameBytes())
	var h PayloadHeader
	for i, pkt := range pkts {
		n, err := h.Unmarshal(pkt)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		data := pkt[n:]
		for _, s := range h.SRDs[:h.N] {
			off, _, err := g.Locate(s)
			if err != nil {
				t.Fatalf("packet %d: %v", i, err)
			}
			data = data[copy(out[off:off+int(s.Length)], data):]
		}
	}
	return out
}

func TestPlanRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		g    Geometry
		mode Mode
		mp   int
	}{
		{g1080p10, GPM, DefaultMaxPayload},
		{g1080p10, BPM, DefaultMaxPayload},
		{g1080i10, GPM, DefaultMaxPayload},
		{g1080i10, BPM, DefaultMaxPayload},
		{g1080p420, BPM, DefaultMaxPayload},
		{Geometry{Width: 1918, Height: 16, PGroupBytes: 5, PGroupPixels: 2, Interlaced: true}, GPM, DefaultMaxPayload},
	}
	for _, g := range sweepGeometries() {
		cases = append(cases, struct {
			g    Geometry
			mode Mode
			mp   int
		}{g, GPM, 600})
	}
	for i, c := range cases {
		p, err := NewPlan(c.g, c.mode, c.mp)
		if err != nil {
			t.Fatalf("%+v: %v", c.g, err)
		}
		t.Run(fmt.Sprintf("%dx%d/%d/i=%v/%v", c.g.Width, c.g.Height, c.g.PGroupBytes, c.g.Interlaced, c.mode), func(t *testing.T) {
			t.Parallel()
			want := frame(c.g, uint64(i))
			if got := receive(t, c.g, send(p, want)); !bytes.Equal(got, want) {
				t.Fatal("rebuilt frame differs")
			}
		})
	}
}

// greedy packs f the way GStreamer's rtpvrawpay and FFmpeg do
// (st2110.md §3, §13): each packet filled with as many whole pgroups as
// fit, a new SRD at every line change, up to 3 per packet.
func greedy(g Geometry, f []byte, maxPayload int) [][]byte {
	var pkts [][]byte
	line, perLine := g.LineBytes(), g.LineBytes()/g.PGroupBytes
	row, pgroup := 0, 0
	for row < g.Height {
		var h PayloadHeader
		room, data := maxPayload-2, []byte(nil)
		for row < g.Height && h.N < 3 && room >= SRDSize+g.PGroupBytes {
			n := min(perLine-pgroup, (room-SRDSize)/g.PGroupBytes)
			h.SRDs[h.N] = SRD{Length: uint16(n * g.PGroupBytes), Row: uint16(row), Offset: uint16(pgroup * g.PGroupPixels)}
			h.N++
			at := row*line + pgroup*g.PGroupBytes
			data = append(data, f[at:at+n*g.PGroupBytes]...)
			room -= SRDSize + n*g.PGroupBytes
			if pgroup += n; pgroup == perLine {
				row, pgroup = row+1, 0
			}
		}
		b, err := h.Marshal()
		if err != nil {
			panic(err)
		}
		pkts = append(pkts, append(b, data...))
	}
	return pkts
}

func TestReceiveGreedy(t *testing.T) {
	t.Parallel()
	// 320x240 10-bit at GStreamer's mtu=1400: RTP payload 1388.
	want := frame(g320p10, 1)
	pkts := greedy(g320p10, want, 1400-12)
	threes := 0
	for _, pkt := range pkts {
		var h PayloadHeader
		if _, err := h.Unmarshal(pkt); err == nil && h.N == 3 {
			threes++
		}
	}
	if threes == 0 {
		t.Fatal("greedy packer made no three-SRD packet")
	}
	if got := receive(t, g320p10, pkts); !bytes.Equal(got, want) {
		t.Fatal("rebuilt frame differs")
	}
}

func TestZeroAllocs(t *testing.T) {
	gpm, err := NewPlan(g1080p10, GPM, DefaultMaxPayload)
	if err != nil {
		t.Fatal(err)
	}
	pkt := greedy(g320p10, frame(g320p10, 2), 1388)[1]
	buf := make([]byte, 64)
	hdr := PayloadHeader{N: 2}
	var h PayloadHeader
	cases := []struct {
		name string
		fn   func()
	}{
		{"Unmarshal+Locate", func() {
			if _, err := h.Unmarshal(pkt); err != nil {
				panic(err)
			}
			for _, s := range h.SRDs[:h.N] {
				if _, _, err := g320p10.Locate(s); err != nil {
					panic(err)
				}
			}
		}},
		{"PutHeader", func() { gpm.PutHeader(buf, 17, 3) }},
		{"MarshalTo", func() { _, _ = hdr.MarshalTo(buf) }},
	}
	for _, c := range cases {
		if n := testing.AllocsPerRun(100, c.fn); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", c.name, n)
		}
	}
}

// FuzzPlan builds plans for small fuzzed geometries (the geometry comes
// from an SDP, outside input) and checks the Plan invariants and a round
// trip whenever NewPlan accepts.
func FuzzPlan(f *testing.F) {
	f.Add(uint16(320), uint16(8), uint8(5), uint8(2), uint8(1), false, false, uint16(DefaultMaxPayload))
	f.Add(uint16(1920), uint16(4), uint8(5), uint8(2), uint8(1), true, true, uint16(DefaultMaxPayload))
	f.Add(uint16(1918), uint16(2), uint8(5), uint8(2), uint8(1), true, false, uint16(DefaultMaxPayload))
	f.Add(uint16(1920), uint16(4), uint8(6), uint8(4), uint8(2), true, true, uint16(1274))
	f.Add(uint16(1280), uint16(3), uint8(15), uint8(4), uint8(0), false, false, uint16(23))
	f.Fuzz(func(t *testing.T, w, h uint16, pb, pp, pl uint8, interlaced, bpm bool, mp uint16) {
		g := Geometry{Width: int(w % 2048), Height: int(h % 16), PGroupBytes: int(pb % 32),
			PGroupPixels: int(pp % 8), PGroupLines: int(pl % 4), Interlaced: interlaced}
		mode := GPM
		if bpm {
			mode = BPM
		}
		p, err := NewPlan(g, mode, int(mp))
		if err != nil {
			if !errors.Is(err, ErrGeometry) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("%+v %v %d: %v", g, mode, mp, err)
			}
			return
		}
		checkPlan(t, p)
		want := frame(g, uint64(w))
		if got := receive(t, g, send(p, want)); !bytes.Equal(got, want) {
			t.Fatal("rebuilt frame differs")
		}
	})
}
