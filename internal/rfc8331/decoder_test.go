package rfc8331

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	for _, c := range packetCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var d Decoder
			d.Reset(unhex(t, c.hex), 1)
			var p Packet
			if ok, err := d.Next(&p); !ok || err != nil {
				t.Fatalf("Next = %v, %v", ok, err)
			}
			if p.Data == nil {
				p.Data = []byte{} // DeepEqual: an empty scratch slice vs nil
			}
			want := c.p
			if want.Data == nil {
				want.Data = []byte{}
			}
			if !reflect.DeepEqual(p, want) || d.ParityErrors() != 0 {
				t.Fatalf("got %+v (parity errors %d), want %+v", p, d.ParityErrors(), want)
			}
			if ok, err := d.Next(&p); ok || err != nil {
				t.Fatalf("Next after the last = %v, %v", ok, err)
			}
		})
	}
}

// TestDecodeErrors is the table of damaged payloads: each names the first
// error Next or ResetPayload must return and how many packets come out
// before it.
func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	good, err := AppendPayload(nil, Header{}, []Packet{cea708, timecode})
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, c := range []struct {
		name       string
		payload    []byte
		want       error
		packets    int // returned before the error (a checksum error returns its packet too)
		parityErrs int
	}{
		{"short header", good[:7], ErrMalformed, 0, 0},
		{"field 0b01", edit(func(b []byte) []byte { b[5] = 0x40; return b }), ErrMalformed, 0, 0},
		{"length larger than data", edit(func(b []byte) []byte { return b[:len(b)-1] }), ErrMalformed, 0, 0},
		{"count 0 with length", edit(func(b []byte) []byte { b[4] = 0; return b }), ErrMalformed, 0, 0},
		{"count larger than packets", edit(func(b []byte) []byte { b[4] = 3; return b }), ErrMalformed, 2, 0},
		{"count smaller than packets", edit(func(b []byte) []byte { b[4] = 1; return b }), ErrMalformed, 1, 0},
		{"data count past end", edit(func(b []byte) []byte {
			// cea708 DC word 0x108 at bits 52..61 of the packet -> 0x3ff
			// (255 words): the packet now runs past Length. The layout
			// error comes before any parity is looked at.
			b[8+6] |= 0x0f
			b[8+7] |= 0xfc
			return b
		}), ErrMalformed, 0, 0},
		{"truncated packet header", edit(func(b []byte) []byte {
			b[2], b[3] = 0, 24 // Length 24: the timecode packet is cut to 4 bytes
			return b[:8+24]
		}), ErrMalformed, 1, 0},
		{"non-zero word_align", edit(func(b []byte) []byte { b[8+19] = 0x01; return b }), ErrMalformed, 0, 0},
		{"bad checksum", edit(func(b []byte) []byte { b[8+18] ^= 0x40; return b }), ErrChecksum, 1, 0},
		{"checksum b9 equal to b8", edit(func(b []byte) []byte {
			// cea708 CS 0x176 ends at bit 151 of the packet (bytes 17..19);
			// set its b9 (bit 142 = byte 17, mask 0x02).
			b[8+17] |= 0x02
			return b
		}), ErrChecksum, 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var d Decoder
			if _, err := d.ResetPayload(c.payload); err != nil {
				if !errors.Is(err, c.want) || c.packets != 0 {
					t.Fatalf("ResetPayload: %v, want %v after %d packets", err, c.want, c.packets)
				}
				return
			}
			n := 0
			for {
				var p Packet
				ok, err := d.Next(&p)
				if ok {
					n++
				}
				if err != nil {
					if !errors.Is(err, c.want) || n != c.packets {
						t.Fatalf("err %v after %d packets, want %v after %d", err, n, c.want, c.packets)
					}
					break
				}
				if !ok {
					t.Fatalf("no error after %d packets, want %v", n, c.want)
				}
			}
			if d.ParityErrors() != c.parityErrs {
				t.Fatalf("parity errors %d, want %d", d.ParityErrors(), c.parityErrs)
			}
		})
	}
}

// TestDecodeBadParity flips b8 of a user data word: the value is kept, the
// parity error counted, and the checksum (over the wire bits) then fails.
func TestDecodeBadParity(t *testing.T) {
	t.Parallel()
	b := unhex(t, cea708Hex)
	// UDW 0 (0x296) occupies bits 62..71 of the packet; its b8 is bit 63
	// (byte 7, mask 0x01). Flipping only b8 breaks parity and the sum.
	b[7] ^= 0x01
	var d Decoder
	d.Reset(b, 1)
	var p Packet
	ok, err := d.Next(&p)
	if !ok || !errors.Is(err, ErrChecksum) || d.ParityErrors() != 1 || p.Data[0] != 0x96 {
		t.Fatalf("ok %v err %v parity %d data % x", ok, err, d.ParityErrors(), p.Data)
	}
	// Flipping b8 and b9 together keeps b9 = NOT b8 but breaks parity; fix
	// the checksum to match and only the parity count remains.
	b = unhex(t, cea708Hex)
	b[7] ^= 0x01 // b8
	b[7] ^= 0x02 // b9
	// The checksum rises by 0x100 (b8 of UDW 0 now set): 0x176 -> 0x076,
	// whose b8 = 0 gives b9 = 1: 0x276. CS sits at bits 142..151 (bytes
	// 17..19 of the packet: 0x176 -> 0x276 flips bits 142 and 143).
	b[17] ^= 0x03
	d.Reset(b, 1)
	ok, err = d.Next(&p)
	if !ok || err != nil || d.ParityErrors() != 1 {
		t.Fatalf("ok %v err %v parity %d", ok, err, d.ParityErrors())
	}
}

func TestDecoderAfterEnd(t *testing.T) {
	t.Parallel()
	var d Decoder
	d.Reset(unhex(t, cea708Hex), 5)
	var p Packet
	_, _ = d.Next(&p)
	if _, err := d.Next(&p); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err %v, want ErrMalformed", err)
	}
	if ok, err := d.Next(&p); ok || err != nil {
		t.Fatalf("after a layout error: %v, %v; want false, nil", ok, err)
	}
	d.Reset(nil, -1)
	if ok, err := d.Next(&p); ok || err != nil {
		t.Fatalf("negative count: %v, %v", ok, err)
	}
}

func TestAllocs(t *testing.T) {
	payload, err := AppendPayload(nil, Header{}, []Packet{cea708, timecode})
	if err != nil {
		t.Fatal(err)
	}
	var d Decoder
	var p Packet
	if n := testing.AllocsPerRun(100, func() {
		if _, err := d.ResetPayload(payload); err != nil {
			t.Fatal(err)
		}
		for ok, _ := d.Next(&p); ok; ok, _ = d.Next(&p) {
		}
	}); n != 0 {
		t.Fatalf("decode: %v allocs, want 0", n)
	}
	buf := make([]byte, 0, 256)
	pkts := []Packet{cea708, timecode}
	if n := testing.AllocsPerRun(100, func() {
		_, _ = AppendPayload(buf[:0], Header{ExtSeq: 1}, pkts)
	}); n != 0 {
		t.Fatalf("encode: %v allocs, want 0", n)
	}
}

func FuzzDecode(f *testing.F) {
	for _, c := range packetCases {
		p, err := AppendPayload(nil, Header{ExtSeq: 7, Field: FieldFirst}, []Packet{c.p})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	all, err := AppendPayload(nil, Header{}, []Packet{cea708, timecode, packetCases[2].p})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(all)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 8, 1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Decoder
		h, err := d.ResetPayload(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ResetPayload error %v does not wrap ErrMalformed", err)
			}
			return
		}
		var pkts []Packet
		clean := true
		for {
			var p Packet
			ok, err := d.Next(&p)
			if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrChecksum) {
				t.Fatalf("Next error %v wraps no sentinel", err)
			}
			if ok && len(p.Data) > MaxData {
				t.Fatalf("%d data words", len(p.Data))
			}
			if errors.Is(err, ErrMalformed) {
				return
			}
			if err != nil {
				clean = false
			}
			if !ok {
				break
			}
			p.Data = bytes.Clone(p.Data)
			pkts = append(pkts, p)
		}
		if !clean || d.ParityErrors() != 0 {
			return
		}
		out, err := AppendPayload(nil, h, pkts)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		want := bytes.Clone(b[:HeaderSize+int(h.Length)])
		want[5] &= 0xc0
		want[6], want[7] = 0, 0
		if !bytes.Equal(out, want) {
			t.Fatalf("re-encode\n got % x\nwant % x", out, want)
		}
	})
}
