package rfc8331

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestHeader(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		hex  string
		h    Header
	}{
		{"zero", "0000 0000 00 00 0000", Header{}},
		{"field 1", "ffff 0100 ff 80 0000", Header{ExtSeq: 0xffff, Length: 256, Count: 255, Field: FieldFirst}},
		{"field 2", "0001 0002 03 c0 0000", Header{ExtSeq: 1, Length: 2, Count: 3, Field: FieldSecond}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := unhex(t, c.hex)
			var h Header
			if n, err := h.Unmarshal(b); err != nil || n != HeaderSize || h != c.h {
				t.Fatalf("Unmarshal = %+v, %d, %v; want %+v", h, n, err, c.h)
			}
			out, err := c.h.Marshal()
			if err != nil || !bytes.Equal(out, b) || c.h.MarshalSize() != HeaderSize {
				t.Fatalf("Marshal = % x, %v; want % x", out, err, b)
			}
		})
	}
	// Reserved bits are ignored on receive.
	var h Header
	if _, err := h.Unmarshal(unhex(t, "0000 0000 00 3f ffff")); err != nil || h != (Header{}) {
		t.Fatalf("reserved bits: %+v, %v", h, err)
	}
	for _, c := range []struct {
		name string
		h    Header
		buf  int
		want error
	}{
		{"field 0b01", Header{Field: 1}, 8, ErrRange},
		{"field 4", Header{Field: 4}, 8, ErrRange},
		{"short buffer", Header{}, 7, io.ErrShortBuffer},
	} {
		if _, err := c.h.MarshalTo(make([]byte, c.buf)); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
}

func FuzzHeader(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x12, 0x34, 0, 0x34, 2, 0xc0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 0x7f, 0xff, 0xff})
	f.Add([]byte{1, 2, 3})
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
		want := bytes.Clone(b[:n])
		want[5] &= 0xc0 // reserved bits are dropped
		want[6], want[7] = 0, 0
		if !bytes.Equal(out, want) {
			t.Fatalf("re-marshal % x, want % x", out, want)
		}
	})
}
