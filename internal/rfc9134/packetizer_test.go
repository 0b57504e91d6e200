package rfc9134

import (
	"errors"
	"testing"
)

func TestNewPacketizer(t *testing.T) {
	t.Parallel()
	for _, mp := range []int{-1, 0, HeaderSize} {
		if _, err := NewPacketizer(mp); !errors.Is(err, ErrConfig) {
			t.Errorf("NewPacketizer(%d): err %v, want ErrConfig", mp, err)
		}
	}
	p, err := NewPacketizer(HeaderSize + 1)
	if err != nil || p.Chunk() != 1 {
		t.Fatalf("NewPacketizer(%d) = %v, %v", HeaderSize+1, p, err)
	}
}

func TestPacketizerCount(t *testing.T) {
	t.Parallel()
	p, err := NewPacketizer(1004) // 1000 codestream bytes per packet
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ n, want int }{
		{-5, 0}, {0, 0}, {1, 1}, {999, 1}, {1000, 1}, {1001, 2}, {2048 * 1000, 2048}, {2048*1000 + 1, 2049},
	} {
		if got := p.Count(c.n); got != c.want {
			t.Errorf("Count(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// TestPacketizerCovers checks that the packets of a unit cover the
// codestream exactly once, in order, with the counters of Index and L only
// on the last.
func TestPacketizerCovers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name       string
		maxPayload int
		n          int
	}{
		{"one byte", 1400, 1},
		{"exact one packet", 1400, 1396},
		{"one over", 1400, 1397},
		{"1080p 3bpp frame", 1400, 1920 * 1080 * 3 / 8},
		{"sep wraps", HeaderSize + 10, 2048*10 + 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p, err := NewPacketizer(c.maxPayload)
			if err != nil {
				t.Fatal(err)
			}
			count, next := p.Count(c.n), 0
			for i := range count {
				h, start, end := p.Packet(i, c.n, 33, InterlaceSecond)
				sep, pc := Index(i)
				switch {
				case start != next || end <= start || end-start > p.Chunk():
					t.Fatalf("packet %d covers [%d, %d), want start %d", i, start, end, next)
				case h.Last != (i == count-1):
					t.Fatalf("packet %d of %d: Last %v", i, count, h.Last)
				case h.SEP != sep || h.P != pc || !h.Sequential || h.Slice:
					t.Fatalf("packet %d header %+v", i, h)
				case h.Frame != 1 || h.Interlace != InterlaceSecond:
					t.Fatalf("packet %d frame %d interlace %d, want 1 (33 mod 32) and 3", i, h.Frame, h.Interlace)
				case i < count-1 && end-start != p.Chunk():
					t.Fatalf("packet %d carries %d bytes, want %d", i, end-start, p.Chunk())
				}
				if _, err := h.MarshalTo(make([]byte, HeaderSize)); err != nil {
					t.Fatal(err)
				}
				next = end
			}
			if next != c.n {
				t.Fatalf("packets end at %d, want %d", next, c.n)
			}
			for _, i := range []int{-1, count} {
				if _, s, e := p.Packet(i, c.n, 0, 0); s != e {
					t.Errorf("Packet(%d) of %d = [%d, %d), want empty", i, count, s, e)
				}
			}
		})
	}
}

func TestPacketizerAllocs(t *testing.T) {
	p, err := NewPacketizer(1400)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, HeaderSize)
	if n := testing.AllocsPerRun(100, func() {
		for i := range p.Count(100000) {
			h, _, _ := p.Packet(i, 100000, 7, 0)
			_, _ = h.MarshalTo(b)
		}
	}); n != 0 {
		t.Fatalf("%v allocs per unit, want 0", n)
	}
}
