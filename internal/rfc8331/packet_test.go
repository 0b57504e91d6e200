package rfc8331

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cea708 is a CEA-708 caption packet (DID 0x61, SDID 0x01) on line 9 whose
// user data are eight CDP-shaped bytes. Hand computation (b8 = even parity
// of b0..b7, b9 = NOT b8):
//
//	DID  0x61 = 0110_0001, 3 ones -> b8=1 -> 0x161
//	SDID 0x01,             1 one  -> b8=1 -> 0x101
//	DC   0x08,             1 one  -> b8=1 -> 0x108
//	UDW  0x96 -> 0x296, 0x69 -> 0x269, 0x08 -> 0x108, 0x4f -> 0x14f,
//	     0x43 -> 0x143, 0x00 -> 0x200, 0x01 -> 0x101, 0x72 -> 0x272
//	sum of 9 LSBs: 0x161+0x101+0x108+0x096+0x069+0x108+0x14f+0x143+0x000
//	     +0x101+0x072 = 0x976; mod 0x200 = 0x176; b8=1 -> b9=0 -> CS 0x176
//
// Header word: C=0, Line 9, HO 0, S=0, StreamNum 0 -> 00 90 00 00. The
// first words packed MSB first: 0101100001 0100000001 0100001000
// 1010010110 -> 58 50 14 22 96. 12 words = 120 bits, padded to 128.
var cea708 = Packet{Line: 9, DID: 0x61, SDID: 0x01, Data: []byte{0x96, 0x69, 0x08, 0x4f, 0x43, 0x00, 0x01, 0x72}}

const cea708Hex = "00900000 58501422 969a5085 3d438010 19c97600"

// timecode is an ST 12-2 ancillary time code packet (DID 0x60, SDID 0x60)
// on line 10: 16 UDW, each carrying one BCD nibble of 01:02:03:04 (frame
// units first) in b7..b4 with zero user bits and DBB bits:
//
//	DID, SDID 0x60 = 0110_0000, 2 ones -> b8=0 -> 0x260
//	DC   0x10 -> 0x110; UDW 0x40 -> 0x140, 0x30 -> 0x230, 0x20 -> 0x120,
//	     0x10 -> 0x110, 0x00 -> 0x200 (its 9 LSBs are 0)
//	sum: 0x060+0x060+0x110+0x140+0x030+0x120+0x110 = 0x570; mod 0x200 =
//	     0x170; b8=1 -> CS 0x170
//
// 20 words = 200 bits, padded with 24 zero bits to 224.
var timecode = Packet{Line: 10, DID: 0x60, SDID: 0x60,
	Data: []byte{0x40, 0, 0, 0, 0x30, 0, 0, 0, 0x20, 0, 0, 0, 0x10, 0, 0, 0}}

const timecodeHex = "00a00000 98260441 40802008 02308020 08012080 20080110 80200801 70000000"

// packetCases drive TestAppendPacket and TestDecode and seed FuzzDecode.
var packetCases = []struct {
	name string
	hex  string
	p    Packet
}{
	{"cea-708 captions", cea708Hex, cea708},
	{"st 12-2 timecode", timecodeHex, timecode},
	// No UDW: 4 words (DID 0x41 -> 0x241, SDID 0x07 -> 0x107, DC 0 -> 0x200,
	// CS 0x041+0x107+0x000 = 0x148, b8=1 -> 0x148) = 40 bits, padded to 64.
	{"empty scte-104, chroma, stream 5, anywhere", "fffffe85 90507801 48000000",
		Packet{C: true, Line: LineAny, HOffset: HOffsetAny - 1, S: true, Stream: 5, DID: 0x41, SDID: 0x07}},
}

func TestAppendPacket(t *testing.T) {
	t.Parallel()
	for _, c := range packetCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := AppendPacket([]byte{0xaa}, &c.p)
			if err != nil {
				t.Fatal(err)
			}
			if want := append([]byte{0xaa}, unhex(t, c.hex)...); !bytes.Equal(got, want) {
				t.Fatalf("got  % x\nwant % x", got, want)
			}
		})
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	t.Parallel()
	pkts := []Packet{cea708, timecode}
	h := Header{ExtSeq: 0x1234, Field: FieldSecond}
	b, err := AppendPayload(nil, h, pkts)
	if err != nil {
		t.Fatal(err)
	}
	// Length 20+32 = 52 = 0x34, ANC_Count 2, F 0b11 in the top bits.
	want := append(unhex(t, "1234 0034 02 c0 0000"), unhex(t, cea708Hex+timecodeHex)...)
	if !bytes.Equal(b, want) {
		t.Fatalf("got  % x\nwant % x", b, want)
	}
	var d Decoder
	got, err := d.ResetPayload(b)
	if err != nil {
		t.Fatal(err)
	}
	if got != (Header{ExtSeq: 0x1234, Length: 52, Count: 2, Field: FieldSecond}) {
		t.Fatalf("header %+v", got)
	}
	for i := 0; ; i++ {
		var p Packet
		ok, err := d.Next(&p)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			if i != len(pkts) {
				t.Fatalf("%d packets, want %d", i, len(pkts))
			}
			break
		}
		if !reflect.DeepEqual(p, pkts[i]) {
			t.Fatalf("packet %d: got %+v, want %+v", i, p, pkts[i])
		}
	}
	// An empty payload is a header alone.
	if b, err := AppendPayload(nil, Header{}, nil); err != nil || !bytes.Equal(b, make([]byte, HeaderSize)) {
		t.Fatalf("empty payload % x, %v", b, err)
	}
}

func TestAppendErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		p    Packet
	}{
		{"line", Packet{Line: 0x800}},
		{"horizontal offset", Packet{HOffset: 0x1000}},
		{"stream", Packet{Stream: 0x80}},
		{"data count", Packet{Data: make([]byte, 256)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b, err := AppendPacket([]byte{1}, &c.p)
			if !errors.Is(err, ErrRange) || !bytes.Equal(b, []byte{1}) {
				t.Fatalf("got % x, %v; want ErrRange and b unchanged", b, err)
			}
			b, err = AppendPayload([]byte{1}, Header{}, []Packet{cea708, c.p})
			if !errors.Is(err, ErrRange) || !bytes.Equal(b, []byte{1}) {
				t.Fatalf("payload: got % x, %v; want ErrRange and b unchanged", b, err)
			}
		})
	}
	big := Packet{Data: make([]byte, 255)} // 324 bytes each
	if _, err := AppendPayload(nil, Header{}, make([]Packet, 256)); !errors.Is(err, ErrRange) {
		t.Errorf("256 packets: err %v, want ErrRange", err)
	}
	many := make([]Packet, 210)
	for i := range many {
		many[i] = big
	}
	if _, err := AppendPayload(nil, Header{}, many); !errors.Is(err, ErrRange) {
		t.Errorf("%d bytes: err %v, want ErrRange", 210*packetSize(255), err)
	}
	if _, err := AppendPayload(nil, Header{Field: 1}, nil); !errors.Is(err, ErrRange) {
		t.Errorf("field 1: err %v, want ErrRange", err)
	}
}
