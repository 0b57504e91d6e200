package rfc9134

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

type packet struct {
	h    Header
	data []byte
}

// codestream returns n deterministic pseudo-random bytes.
func codestream(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// split packetizes cs as a sender would.
func split(t testing.TB, cs []byte, maxPayload int, frame, interlace uint8) []packet {
	t.Helper()
	p, err := NewPacketizer(maxPayload)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]packet, p.Count(len(cs)))
	for i := range out {
		h, s, e := p.Packet(i, len(cs), frame, interlace)
		out[i] = packet{h, cs[s:e]}
	}
	return out
}

func reversed(p []packet) []packet {
	q := slices.Clone(p)
	slices.Reverse(q)
	return q
}

func newReassembler(t testing.TB, maxUnit, maxPayload int) *Reassembler {
	t.Helper()
	r, err := NewReassembler(maxUnit, maxPayload)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNewReassemblerConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ unit, payload int }{
		{0, 1400}, {-1, 1400}, {1000, HeaderSize + MinChunk - 1}, {1000, 65536},
	} {
		if _, err := NewReassembler(c.unit, c.payload); !errors.Is(err, ErrConfig) {
			t.Errorf("NewReassembler(%d, %d): err %v, want ErrConfig", c.unit, c.payload, err)
		}
	}
}

// TestReassembleOrders rebuilds units from packets in every order a
// network or a sender with T=0 may produce.
func TestReassembleOrders(t *testing.T) {
	t.Parallel()
	reorder := map[string]func([]packet) []packet{
		"in order": func(p []packet) []packet { return p },
		"reversed": func(p []packet) []packet { return reversed(p) },
		"last first": func(p []packet) []packet {
			return append([]packet{p[len(p)-1]}, p[:len(p)-1]...)
		},
		"shuffled": func(p []packet) []packet {
			q := slices.Clone(p)
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(q), func(i, j int) { q[i], q[j] = q[j], q[i] })
			return q
		},
	}
	for _, c := range []struct {
		name       string
		n          int
		maxPayload int
	}{
		{"single packet", 100, 1400},
		{"exact chunks", 1396 * 4, 1400},
		{"short last", 1396*4 + 17, 1400},
		{"1080p 3bpp", 1920 * 1080 * 3 / 8, 1400},
		{"sep wraps", MinChunk*2048*2 + 9, HeaderSize + MinChunk},
	} {
		for oname, order := range reorder {
			t.Run(c.name+"/"+oname, func(t *testing.T) {
				t.Parallel()
				cs := codestream(c.n, uint64(c.n))
				pkts := order(split(t, cs, c.maxPayload, 9, InterlaceFirst))
				r := newReassembler(t, c.n+1000, c.maxPayload)
				dst := make([]byte, c.n+1000)
				r.Reset(dst)
				for k, p := range pkts {
					if r.Complete() {
						t.Fatalf("complete after %d of %d packets", k, len(pkts))
					}
					if err := r.Add(p.h, p.data); err != nil {
						t.Fatalf("packet %d (index %d): %v", k, IndexOf(p.h.SEP, p.h.P), err)
					}
				}
				switch {
				case !r.Complete() || r.Broken():
					t.Fatalf("not complete: received %d missing %d broken %v", r.Received(), r.Missing(), r.Broken())
				case r.Len() != c.n || r.Received() != len(pkts) || r.Missing() != 0:
					t.Fatalf("Len %d Received %d Missing %d, want %d %d 0", r.Len(), r.Received(), r.Missing(), c.n, len(pkts))
				case r.Frame() != 9 || r.Interlace() != InterlaceFirst:
					t.Fatalf("frame %d interlace %d", r.Frame(), r.Interlace())
				case !bytes.Equal(dst[:r.Len()], cs):
					t.Fatal("rebuilt codestream differs")
				}
			})
		}
	}
}

func TestReassembleLoss(t *testing.T) {
	t.Parallel()
	const n = 1396*10 + 5 // 11 packets
	for _, c := range []struct {
		name        string
		drop        []int
		wantMissing int
	}{
		{"first", []int{0}, 1},
		{"middle two", []int{3, 7}, 2},
		{"last", []int{10}, 1},       // lower bound: L itself
		{"tail", []int{8, 9, 10}, 1}, // nothing tells how many follow 7
		{"last and one", []int{2, 10}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newReassembler(t, n, 1400)
			r.Reset(make([]byte, n))
			for i, p := range split(t, codestream(n, 1), 1400, 0, 0) {
				if slices.Contains(c.drop, i) {
					continue
				}
				if err := r.Add(p.h, p.data); err != nil {
					t.Fatal(err)
				}
			}
			if r.Complete() || r.Broken() {
				t.Fatalf("complete %v broken %v with packets %v lost", r.Complete(), r.Broken(), c.drop)
			}
			if r.Missing() != c.wantMissing || r.Received() != 11-len(c.drop) {
				t.Fatalf("Missing %d Received %d, want %d %d", r.Missing(), r.Received(), c.wantMissing, 11-len(c.drop))
			}
		})
	}
}

func TestReassembleDuplicates(t *testing.T) {
	t.Parallel()
	const n = 1396*3 + 5
	cs := codestream(n, 3)
	pkts := split(t, cs, 1400, 0, 0)
	r := newReassembler(t, n, 1400)
	dst := make([]byte, n)
	r.Reset(dst)
	for _, k := range []int{3, 3, 1, 1, 0, 2, 0, 3} {
		err := r.Add(pkts[k].h, pkts[k].data)
		if err != nil && !errors.Is(err, ErrDuplicate) {
			t.Fatalf("packet %d: %v", k, err)
		}
	}
	if !r.Complete() || r.Received() != 4 || !bytes.Equal(dst, cs) {
		t.Fatalf("complete %v received %d", r.Complete(), r.Received())
	}
}

// TestReassemblerReuse runs units of different sizes through one
// Reassembler: Reset must forget the previous unit entirely.
func TestReassemblerReuse(t *testing.T) {
	t.Parallel()
	r := newReassembler(t, 200000, 1400)
	dst := make([]byte, 200000)
	for k, n := range []int{150000, 3000, 1, 150000, 99999} {
		cs := codestream(n, uint64(k))
		r.Reset(dst)
		for _, p := range split(t, cs, 1400, uint8(k), 0) {
			if err := r.Add(p.h, p.data); err != nil {
				t.Fatalf("unit %d: %v", k, err)
			}
		}
		if !r.Complete() || r.Len() != n || !bytes.Equal(dst[:n], cs) {
			t.Fatalf("unit %d of %d bytes: complete %v len %d", k, n, r.Complete(), r.Len())
		}
	}
	// A unit whose L has not arrived is not complete, whatever came before.
	r.Reset(dst)
	if r.Complete() || r.Received() != 0 || r.Missing() != 1 || r.Len() != 0 {
		t.Fatalf("fresh unit: complete %v received %d missing %d len %d", r.Complete(), r.Received(), r.Missing(), r.Len())
	}
}

func TestReassembleErrors(t *testing.T) {
	t.Parallel()
	const chunk = 1396
	mid := func(i int, n int) packet { // a non-last packet at index i
		sep, p := Index(i)
		return packet{Header{SEP: sep, P: p}, make([]byte, n)}
	}
	last := func(i int, n int) packet {
		q := mid(i, n)
		q.h.Last = true
		return q
	}
	with := func(q packet, f func(*Header)) packet { f(&q.h); return q }
	for _, c := range []struct {
		name       string
		dst        int
		before     []packet // accepted first
		bad        packet
		want       error
		wantBroken bool
	}{
		{"slice mode", 10000, nil, with(mid(0, chunk), func(h *Header) { h.Slice = true }), ErrUnsupported, false},
		{"reserved interlace", 10000, nil, with(mid(0, chunk), func(h *Header) { h.Interlace = 1 }), ErrMalformed, false},
		{"empty packet", 10000, nil, mid(0, 0), ErrMalformed, false},
		{"over max payload", 10000, nil, mid(0, chunk+1), ErrMalformed, false},
		{"other frame", 10000, []packet{mid(0, chunk)}, with(mid(1, chunk), func(h *Header) { h.Frame = 1 }), ErrMalformed, false},
		{"other field", 10000, []packet{mid(0, chunk)}, with(mid(1, chunk), func(h *Header) { h.Interlace = 2 }), ErrMalformed, false},
		{"size contradicts chunk", 10000, []packet{mid(0, chunk)}, mid(1, chunk-1), ErrMalformed, true},
		{"first chunk below minimum", 10000, nil, mid(1, MinChunk-1), ErrMalformed, true},
		{"second last", 10000, []packet{last(3, 10)}, last(4, 10), ErrMalformed, true},
		{"packet after last", 10000, []packet{mid(0, chunk), last(3, 10)}, mid(4, chunk), ErrMalformed, true},
		{"packet at last index", 10000, []packet{last(3, 10)}, mid(3, chunk), ErrMalformed, true},
		{"last before seen packet", 10000, []packet{mid(5, chunk)}, last(2, 10), ErrMalformed, true},
		{"last larger than chunk", 100000, []packet{mid(0, 1000)}, last(3, 1001), ErrMalformed, true},
		{"held last larger than chunk", 100000, []packet{last(3, 1001)}, mid(0, 1000), ErrMalformed, true},
		{"middle past dst", chunk * 3, nil, mid(3, chunk), ErrOutOfFrame, false},
		{"middle straddles dst end", chunk*3 - 1, nil, mid(2, chunk), ErrOutOfFrame, false},
		{"last past dst", chunk * 3, []packet{mid(0, chunk)}, last(3, 1), ErrOutOfFrame, false},
		{"single past dst", 10, nil, last(0, 11), ErrOutOfFrame, false},
		{"held last past dst", chunk * 3, []packet{last(3, 1)}, mid(0, chunk), ErrOutOfFrame, true},
		{"index beyond bitmap", 10000, nil, mid(MaxPackets-1, chunk), ErrOutOfFrame, false},
		{"duplicate middle", 10000, []packet{mid(1, chunk)}, mid(1, chunk), ErrDuplicate, false},
		{"duplicate last", 10000, []packet{last(2, 5)}, last(2, 5), ErrDuplicate, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newReassembler(t, 100000, 1400)
			dst := make([]byte, c.dst+16)
			for i := range dst {
				dst[i] = 0xee
			}
			r.Reset(dst[:c.dst])
			for _, p := range c.before {
				if err := r.Add(p.h, p.data); err != nil {
					t.Fatalf("setup packet %+v: %v", p.h, err)
				}
			}
			err := r.Add(c.bad.h, c.bad.data)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if r.Broken() != c.wantBroken {
				t.Fatalf("Broken %v, want %v", r.Broken(), c.wantBroken)
			}
			for i := c.dst; i < len(dst); i++ {
				if dst[i] != 0xee {
					t.Fatalf("byte %d past dst written", i)
				}
			}
		})
	}
}

func TestReassemblerMaxUnitCapsDst(t *testing.T) {
	t.Parallel()
	r := newReassembler(t, 2000, 1400)
	dst := make([]byte, 10000) // longer than maxUnitBytes
	r.Reset(dst)
	p := packet{Header{P: 1}, make([]byte, 1396)}
	if err := r.Add(p.h, p.data); !errors.Is(err, ErrOutOfFrame) {
		t.Fatalf("err %v, want ErrOutOfFrame beyond maxUnitBytes", err)
	}
}

func TestReassemblerAllocs(t *testing.T) {
	const n = 1396*100 + 7
	pkts := split(t, codestream(n, 5), 1400, 0, 0)
	r := newReassembler(t, n, 1400)
	dst := make([]byte, n)
	if a := testing.AllocsPerRun(20, func() {
		r.Reset(dst)
		for _, p := range pkts {
			_ = r.Add(p.h, p.data)
		}
		_ = r.Add(pkts[3].h, pkts[3].data) // duplicate path
	}); a != 0 {
		t.Fatalf("%v allocs per unit, want 0", a)
	}
	if !r.Complete() {
		t.Fatal("unit not complete")
	}
}

// FuzzReassemble feeds arbitrary packets: each record is a 4-byte payload
// header, a length byte (times 8) and that many data bytes. Whatever
// arrives, nothing is written outside dst, nothing panics, and a Complete
// unit reports a length within dst.
func FuzzReassemble(f *testing.F) {
	seed := func(pkts []packet) []byte {
		var b []byte
		for _, p := range pkts {
			hb, _ := p.h.Marshal()
			n := min(len(p.data)/8, 255)
			b = append(b, hb...)
			b = append(b, byte(n))
			b = append(b, p.data[:n*8]...)
		}
		return b
	}
	f.Add(seed(split(f, codestream(800, 1), HeaderSize+128, 0, 0)))
	f.Add(seed(reversed(split(f, codestream(1000, 2), HeaderSize+200, 1, 2))))
	f.Add([]byte{0x20, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReassembler(4096, HeaderSize+2040)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 3000+64)
		r.Reset(buf[:3000])
		for len(b) >= HeaderSize+1 {
			var h Header
			_, herr := h.Unmarshal(b)
			n := min(int(b[HeaderSize])*8, len(b)-HeaderSize-1)
			data := b[HeaderSize+1 : HeaderSize+1+n]
			b = b[HeaderSize+1+n:]
			if herr != nil {
				continue
			}
			if err := r.Add(h, data); err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrOutOfFrame) &&
				!errors.Is(err, ErrDuplicate) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("unexpected error %v", err)
			}
		}
		for i, v := range buf[3000:] {
			if v != 0 {
				t.Fatalf("byte %d past dst written", 3000+i)
			}
		}
		if r.Complete() && (r.Len() > 3000 || r.Missing() != 0) {
			t.Fatalf("complete with Len %d Missing %d", r.Len(), r.Missing())
		}
	})
}
