package rtp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	pionrtp "github.com/pion/rtp"
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

// headerCase is one row of the codec table: a packet, the header it
// parses to and the payload bounds.
type headerCase struct {
	name    string
	bytes   []byte
	header  Header
	hdrLen  int    // what Unmarshal returns
	payload string // hex of what Parse returns
	clean   bool   // bytes[:12] is exactly what MarshalTo writes
}

func headerCases(tb testing.TB) []headerCase {
	tb.Helper()
	return []headerCase{
		{"st2110 video", hx(tb, "80 60 12 34 16 d9 5e 80 de ad be ef  00 00 00 01"),
			Header{PayloadType: 96, Seq: 0x1234, Timestamp: 383344256, SSRC: 0xdeadbeef}, 12, "00000001", true},
		{"marker", hx(tb, "80 e0 ff ff ff ff ff ff 00 00 00 01  aa"),
			Header{Marker: true, PayloadType: 96, Seq: 0xffff, Timestamp: 0xffffffff, SSRC: 1}, 12, "aa", true},
		{"pt 127 empty payload", hx(tb, "80 7f 00 00 00 00 00 00 00 00 00 00"),
			Header{PayloadType: 127}, 12, "", true},
		{"pt 0 marker", hx(tb, "80 80 00 01 00 00 00 02 00 00 00 03  01 02"),
			Header{Marker: true, Seq: 1, Timestamp: 2, SSRC: 3}, 12, "0102", true},
		{"two csrcs", hx(tb, "82 61 00 07 00 00 00 08 00 00 00 09  11 11 11 11 22 22 22 22  bb cc"),
			Header{PayloadType: 97, Seq: 7, Timestamp: 8, SSRC: 9}, 20, "bbcc", false},
		{"fifteen csrcs", append(hx(tb, "8f 61 00 07 00 00 00 08 00 00 00 09"), append(make([]byte, 60), 0xee)...),
			Header{PayloadType: 97, Seq: 7, Timestamp: 8, SSRC: 9}, 72, "ee", false},
		{"one-byte extension", hx(tb, "90 e2 00 01 00 00 00 02 00 00 00 03  be de 00 01 10 aa 00 00  cc"),
			Header{Marker: true, PayloadType: 98, Seq: 1, Timestamp: 2, SSRC: 3}, 20, "cc", false},
		{"empty extension", hx(tb, "90 60 00 01 00 00 00 02 00 00 00 03  12 34 00 00  dd"),
			Header{PayloadType: 96, Seq: 1, Timestamp: 2, SSRC: 3}, 16, "dd", false},
		{"csrc and extension", hx(tb, "91 60 00 01 00 00 00 02 00 00 00 03  00 00 00 04  10 00 00 02 01 02 03 04 05 06 07 08  ee ff"),
			Header{PayloadType: 96, Seq: 1, Timestamp: 2, SSRC: 3}, 28, "eeff", false},
		{"padding", hx(tb, "a0 60 00 01 00 00 00 02 00 00 00 03  01 02 03 00 00 03"),
			Header{PayloadType: 96, Seq: 1, Timestamp: 2, SSRC: 3}, 12, "010203", false},
		{"padding is whole payload", hx(tb, "a0 60 00 01 00 00 00 02 00 00 00 03  00 00 00 04"),
			Header{PayloadType: 96, Seq: 1, Timestamp: 2, SSRC: 3}, 12, "", false},
		{"padding count only", hx(tb, "a0 60 00 01 00 00 00 02 00 00 00 03  01"),
			Header{PayloadType: 96, Seq: 1, Timestamp: 2, SSRC: 3}, 12, "", false},
		{"padding csrc extension", hx(tb, "b1 60 00 01 00 00 00 02 00 00 00 03  00 00 00 04  00 00 00 00  ab 02"),
			Header{PayloadType: 96, Seq: 1, Timestamp: 2, SSRC: 3}, 20, "", false},
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, c := range headerCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var h Header
			payload, err := Parse(&h, c.bytes)
			if err != nil {
				t.Fatal(err)
			}
			if h != c.header {
				t.Errorf("header %+v, want %+v", h, c.header)
			}
			if got := hex.EncodeToString(payload); got != c.payload {
				t.Errorf("payload %s, want %s", got, c.payload)
			}
			if cap(payload) != len(payload) {
				t.Errorf("payload cap %d, want %d (must not reach the padding)", cap(payload), len(payload))
			}
			var u Header
			n, err := u.Unmarshal(c.bytes)
			if err != nil || n != c.hdrLen || u != c.header {
				t.Errorf("Unmarshal = %d, %v, %+v; want %d, nil, %+v", n, err, u, c.hdrLen, c.header)
			}
		})
	}
}

func TestMarshal(t *testing.T) {
	t.Parallel()
	for _, c := range headerCases(t) {
		if !c.clean {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if n := c.header.MarshalSize(); n != HeaderSize {
				t.Fatalf("MarshalSize %d, want %d", n, HeaderSize)
			}
			got, err := c.header.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.bytes[:HeaderSize]) {
				t.Errorf("Marshal\n got %x\nwant %x", got, c.bytes[:HeaderSize])
			}
			// MarshalTo writes only its 12 bytes.
			buf := bytes.Repeat([]byte{0x55}, HeaderSize+4)
			if n, err := c.header.MarshalTo(buf); err != nil || n != HeaderSize {
				t.Fatalf("MarshalTo = %d, %v", n, err)
			}
			if !bytes.Equal(buf[:HeaderSize], got) || !bytes.Equal(buf[HeaderSize:], []byte{0x55, 0x55, 0x55, 0x55}) {
				t.Errorf("MarshalTo wrote %x", buf)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		bytes []byte
		err   error
	}{
		{"empty", nil, ErrShort},
		{"11 bytes", hx(t, "80 60 00 01 00 00 00 02 00 00 00"), ErrShort},
		{"version 0", hx(t, "00 60 00 01 00 00 00 02 00 00 00 03"), ErrVersion},
		{"version 1", hx(t, "40 60 00 01 00 00 00 02 00 00 00 03"), ErrVersion},
		{"version 3", hx(t, "c0 60 00 01 00 00 00 02 00 00 00 03"), ErrVersion},
		{"csrc list cut", hx(t, "82 60 00 01 00 00 00 02 00 00 00 03  00 00 00 01 00 00 00"), ErrShort},
		{"cc 15 no csrcs", hx(t, "8f 60 00 01 00 00 00 02 00 00 00 03"), ErrShort},
		{"extension header missing", hx(t, "90 60 00 01 00 00 00 02 00 00 00 03  be de"), ErrShort},
		{"extension cut", hx(t, "90 60 00 01 00 00 00 02 00 00 00 03  be de 00 02 00 00 00 00"), ErrShort},
		{"extension length huge", hx(t, "90 60 00 01 00 00 00 02 00 00 00 03  be de ff ff"), ErrShort},
		{"padding without count", hx(t, "a0 60 00 01 00 00 00 02 00 00 00 03"), ErrShort},
		{"padding count 0", hx(t, "a0 60 00 01 00 00 00 02 00 00 00 03  01 02 00"), ErrPadding},
		{"padding beyond payload", hx(t, "a0 60 00 01 00 00 00 02 00 00 00 03  01 02 04"), ErrPadding},
		{"padding into csrc", hx(t, "a1 60 00 01 00 00 00 02 00 00 00 03  00 00 00 05  06"), ErrPadding},
		{"padding 255 short packet", hx(t, "a0 60 00 01 00 00 00 02 00 00 00 03  ff"), ErrPadding},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := Header{Seq: 42}
			payload, err := Parse(&h, c.bytes)
			if !errors.Is(err, c.err) {
				t.Fatalf("Parse error %v, want %v", err, c.err)
			}
			if payload != nil || h != (Header{Seq: 42}) {
				t.Errorf("failed Parse returned payload %x, changed header to %+v", payload, h)
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
		h    Header
		buf  int
		err  error
	}{
		{"short buffer", Header{}, HeaderSize - 1, io.ErrShortBuffer},
		{"no buffer", Header{}, 0, io.ErrShortBuffer},
		{"pt 128", Header{PayloadType: 128}, HeaderSize, ErrPayloadType},
		{"pt 255", Header{PayloadType: 255}, HeaderSize, ErrPayloadType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if n, err := c.h.MarshalTo(make([]byte, c.buf)); n != 0 || !errors.Is(err, c.err) {
				t.Errorf("MarshalTo = %d, %v; want 0, %v", n, err, c.err)
			}
			if b, err := c.h.Marshal(); c.buf == HeaderSize && (b != nil || !errors.Is(err, c.err)) {
				t.Errorf("Marshal = %x, %v; want nil, %v", b, err, c.err)
			}
		})
	}
}

func TestPatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		seq    uint16
		ts     uint32
		marker bool
	}{
		{"set marker", 0xfffe, 0x01020304, true},
		{"clear marker", 0, 0, false},
		{"wrap", 0xffff, 0xffffffff, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, before := range []bool{false, true} {
				h := Header{Marker: before, PayloadType: 112, Seq: 9, Timestamp: 9, SSRC: 0xcafef00d}
				b, err := h.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				Patch(b, c.seq, c.ts, c.marker)
				want := Header{Marker: c.marker, PayloadType: 112, Seq: c.seq, Timestamp: c.ts, SSRC: 0xcafef00d}
				var got Header
				if _, err := got.Unmarshal(b); err != nil || got != want {
					t.Errorf("marker before %v: got %+v, %v; want %+v", before, got, err, want)
				}
			}
		})
	}
}

func TestZeroAllocs(t *testing.T) {
	pkt := benchPacket()
	hdr := Header{PayloadType: 96, SSRC: 1}
	buf := make([]byte, HeaderSize)
	var h Header
	var s SeqExtender
	cases := []struct {
		name string
		fn   func()
	}{
		{"Parse", func() { _, _ = Parse(&h, pkt) }},
		{"Unmarshal", func() { _, _ = h.Unmarshal(pkt) }},
		{"MarshalTo", func() { _, _ = hdr.MarshalTo(buf) }},
		{"Patch", func() { Patch(buf, 1, 2, true) }},
		{"Extend", func() { s.Extend(7) }},
	}
	for _, c := range cases {
		if n := testing.AllocsPerRun(100, c.fn); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", c.name, n)
		}
	}
}

// FuzzParse checks that Parse never panics, that it agrees with pion/rtp
// (an independent parser) on every header field and on the payload bounds
// whenever both accept, and that an accepted header re-marshals to the
// same fields.
func FuzzParse(f *testing.F) {
	for _, c := range headerCases(f) {
		f.Add(c.bytes)
	}
	f.Add(hx(f, "a0 60 00 01 00 00 00 02 00 00 00 03  01 02 04"))
	f.Add(hx(f, "90 60 00 01 00 00 00 02 00 00 00 03  be de ff ff"))
	f.Add(hx(f, "40 60 00 01 00 00 00 02 00 00 00 03  00"))
	f.Fuzz(func(t *testing.T, pkt []byte) {
		var h Header
		payload, err := Parse(&h, pkt)

		var p pionrtp.Packet
		perr := p.Unmarshal(pkt)
		// pion does not check the version; it is the only thing it accepts
		// that Parse must not.
		pionOK := perr == nil && p.Version == Version
		switch {
		case err == nil && !pionOK:
			// pion also parses the contents of one- and two-byte header
			// extensions (RFC 8285) and may reject them; RFC 3550 does not.
			if pkt[0]&extensionBit == 0 {
				t.Fatalf("Parse accepted, pion rejected (%v): %x", perr, pkt)
			}
			return
		case err != nil && pionOK:
			t.Fatalf("pion accepted, Parse rejected (%v): %x", err, pkt)
		case err != nil:
			if payload != nil {
				t.Fatalf("payload %x with error %v", payload, err)
			}
			return
		}

		var ph pionrtp.Header
		pn, _ := ph.Unmarshal(pkt)
		var u Header
		n, uerr := u.Unmarshal(pkt)
		if uerr != nil || u != h {
			t.Fatalf("Unmarshal = %+v, %v; Parse gave %+v", u, uerr, h)
		}
		want := Header{Marker: p.Marker, PayloadType: p.PayloadType, Seq: p.SequenceNumber,
			Timestamp: p.Timestamp, SSRC: p.SSRC}
		if h != want {
			t.Fatalf("header %+v, pion %+v: %x", h, want, pkt)
		}
		if n != pn || len(payload) != len(p.Payload) || !bytes.Equal(payload, p.Payload) {
			t.Fatalf("payload at %d len %d, pion at %d len %d: %x", n, len(payload), pn, len(p.Payload), pkt)
		}

		b, err := h.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != Version<<versionShift || !bytes.Equal(b[1:], pkt[1:HeaderSize]) {
			t.Fatalf("re-marshalled %x from %x", b, pkt[:HeaderSize])
		}
	})
}

// benchPacket is an ST 2110-20 GPM packet: 12-byte header, 1208-byte payload.
func benchPacket() []byte {
	pkt := make([]byte, HeaderSize+1208)
	h := Header{Marker: true, PayloadType: 96, Seq: 0x1234, Timestamp: 0x56789abc, SSRC: 0xdeadbeef}
	_, _ = h.MarshalTo(pkt)
	return pkt
}

func BenchmarkParse(b *testing.B) {
	pkt := benchPacket()
	var h Header
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, err := Parse(&h, pkt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPatch(b *testing.B) {
	pkt := benchPacket()
	b.ReportAllocs()
	b.SetBytes(HeaderSize)
	var seq uint16
	for b.Loop() {
		seq++
		Patch(pkt, seq, 1234, seq&1 == 0)
	}
}

func BenchmarkMarshalTo(b *testing.B) {
	pkt := benchPacket()
	h := Header{PayloadType: 96, SSRC: 1}
	b.ReportAllocs()
	b.SetBytes(HeaderSize)
	for b.Loop() {
		h.Seq++
		if _, err := h.MarshalTo(pkt); err != nil {
			b.Fatal(err)
		}
	}
}
