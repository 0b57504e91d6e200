package rfc9134

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// headerCases drives TestUnmarshal, TestMarshal and seeds FuzzHeader. The
// words are assembled by hand from the RFC 9134 §4.3 diagram:
// T<<31 | K<<30 | L<<29 | I<<27 | F<<22 | SEP<<11 | P.
var headerCases = []struct {
	name  string
	bytes []byte
	h     Header
}{
	{"zero", []byte{0x00, 0x00, 0x00, 0x00}, Header{}},
	// 1<<31 | 1<<29 | 5<<22 | 3 = 0x80000000|0x20000000|0x01400000|0x3
	{"sequential last frame 5 p 3", []byte{0xa1, 0x40, 0x00, 0x03},
		Header{Sequential: true, Last: true, Frame: 5, P: 3}},
	// 1<<30 | 2<<27 | 31<<22 | 2047<<11 | 2047 = 0x40000000|0x10000000|0x07c00000|0x003ff800|0x7ff
	{"slice first field counters max", []byte{0x57, 0xff, 0xff, 0xff},
		Header{Slice: true, Interlace: InterlaceFirst, Frame: 31, SEP: 2047, P: 2047}},
	// 1<<31 | 3<<27 | 1<<11 = 0x80000000|0x18000000|0x800
	{"second field sep 1", []byte{0x98, 0x00, 0x08, 0x00},
		Header{Sequential: true, Interlace: InterlaceSecond, SEP: 1}},
	{"all ones", []byte{0xff, 0xff, 0xff, 0xff},
		Header{Sequential: true, Slice: true, Last: true, Interlace: 3, Frame: 31, SEP: 2047, P: 2047}},
}

func TestUnmarshal(t *testing.T) {
	t.Parallel()
	for _, c := range headerCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var h Header
			n, err := h.Unmarshal(append(bytes.Clone(c.bytes), 0xaa, 0xbb)) // codestream bytes follow
			if err != nil {
				t.Fatal(err)
			}
			if n != HeaderSize || h != c.h {
				t.Fatalf("got %+v (%d bytes), want %+v", h, n, c.h)
			}
		})
	}
}

func TestMarshal(t *testing.T) {
	t.Parallel()
	for _, c := range headerCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.h.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.bytes) {
				t.Fatalf("got % x, want % x", got, c.bytes)
			}
			if c.h.MarshalSize() != HeaderSize {
				t.Fatalf("MarshalSize %d", c.h.MarshalSize())
			}
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		bytes []byte
	}{
		{"empty", nil},
		{"three bytes", []byte{0x80, 0, 0}},
		{"reserved interlace 0b01", []byte{0x08, 0, 0, 0}},
		{"reserved interlace with other bits", []byte{0xe8, 0xff, 0xff, 0xff}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var h Header
			if _, err := h.Unmarshal(c.bytes); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		h    Header
		buf  int
		want error
	}{
		{"reserved interlace", Header{Interlace: 1}, 4, ErrRange},
		{"interlace 4", Header{Interlace: 4}, 4, ErrRange},
		{"frame 32", Header{Frame: 32}, 4, ErrRange},
		{"sep 2048", Header{SEP: 2048}, 4, ErrRange},
		{"p 2048", Header{P: 2048}, 4, ErrRange},
		{"short buffer", Header{}, 3, io.ErrShortBuffer},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if _, err := c.h.MarshalTo(make([]byte, c.buf)); !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}
}

func TestIndex(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		i      int
		sep, p uint16
	}{
		{0, 0, 0},
		{1, 0, 1},
		{2047, 0, 2047},
		{2048, 1, 0},
		{2049, 1, 1},
		{5000, 2, 904},
		{MaxPackets - 1, 2047, 2047},
	} {
		sep, p := Index(c.i)
		if sep != c.sep || p != c.p {
			t.Errorf("Index(%d) = (%d, %d), want (%d, %d)", c.i, sep, p, c.sep, c.p)
		}
		if got := IndexOf(sep, p); got != c.i {
			t.Errorf("IndexOf(%d, %d) = %d, want %d", sep, p, got, c.i)
		}
	}
	for i := 0; i < MaxPackets; i += 997 {
		if got := IndexOf(Index(i)); got != i {
			t.Fatalf("IndexOf(Index(%d)) = %d", i, got)
		}
	}
}

func TestHeaderAllocs(t *testing.T) {
	b := make([]byte, HeaderSize)
	h := headerCases[2].h
	var back Header
	if n := testing.AllocsPerRun(100, func() {
		_, _ = h.MarshalTo(b)
		_, _ = back.Unmarshal(b)
	}); n != 0 {
		t.Fatalf("%v allocs per marshal+unmarshal, want 0", n)
	}
}

func FuzzHeader(f *testing.F) {
	for _, c := range headerCases {
		f.Add(c.bytes)
	}
	f.Add([]byte{0x08, 0, 0, 0})
	f.Add([]byte{0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		n, err := h.Unmarshal(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		out, err := h.Marshal()
		if err != nil {
			t.Fatalf("re-marshal %+v: %v", h, err)
		}
		if !bytes.Equal(out, b[:n]) {
			t.Fatalf("re-marshal % x, input % x", out, b[:n])
		}
	})
}
