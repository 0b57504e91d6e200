package bridge_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"mediamesh/internal/bridge"
)

// message is what every message type implements (STYLE.md §9).
type message interface {
	MarshalSize() int
	MarshalTo([]byte) (int, error)
	Marshal() ([]byte, error)
	Unmarshal([]byte) (int, error)
}

// hx decodes hex with spaces; "|" separates fields for the reader's eye.
func hx(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "|", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type msgCase struct {
	name  string
	bytes []byte
	msg   message
	clean bool // bytes are exactly what MarshalTo writes
}

// msgCases is the one table behind TestUnmarshal, TestMarshal and the seeds
// of FuzzUnmarshal. GroupID("urn:a") = 0x31f4b605 (FNV-1a, checked by
// TestGroupID).
func msgCases(t testing.TB) []msgCase {
	t.Helper()
	zero12 := strings.Repeat("00", 12)
	zero20 := strings.Repeat("00", 20)
	dirty := func(b []byte, from, to int) []byte {
		b = bytes.Clone(b)
		for i := from; i < to; i++ {
			b[i] = byte(0xa5 ^ i)
		}
		return b
	}
	hello := hx(t, "6d62 01 01 | 31f4b605 | 007e9000 | 00000040 | 0005 0003 |"+zero12+"| 75726e3a61 | 746f6b")
	helloMsg := &bridge.Hello{URN: "urn:a", Token: "tok", MaxPayload: 8294400, MaxMetadata: 64}
	refusal := hx(t, "6d62 01 03 | 31f4b605 | 0002 000b |"+zero20+"| 77726f6e6720746f6b656e")
	refusalMsg := &bridge.Refusal{Group: 0x31f4b605, Code: bridge.CodeUnauthorized, Message: "wrong token"}
	return []msgCase{
		{"data", hx(t, "6d62 01 02 | 31f4b605 | 00000007 | 00000000 | 0102030405060708 | 000003e8 | 00000010"),
			&bridge.Header{Group: 0x31f4b605, Seq: 7, Timestamp: 0x0102030405060708, PayloadLen: 1000, MetadataLen: 16}, true},
		{"data extremes", hx(t, "6d62 01 02 | ffffffff | ffffffff | 80000001 | ffffffffffffffff | ffffffff | ffffffff"),
			&bridge.Header{Group: ^uint32(0), Seq: ^uint32(0), Flags: 0x80000001, Timestamp: -1, PayloadLen: ^uint32(0), MetadataLen: ^uint32(0)}, true},
		{"data empty", hx(t, "6d62 01 02"+strings.Repeat("00", 28)), &bridge.Header{}, true},
		{"hello", hello, helloMsg, true},
		{"hello dirty reserved", dirty(hello, 20, 32), helloMsg, false},
		{"hello no token", hx(t, "6d62 01 01 | 31f4b605 | 00000000 | 00000000 | 0005 0000 |"+zero12+"| 75726e3a61"),
			&bridge.Hello{URN: "urn:a"}, true},
		{"refusal", refusal, refusalMsg, true},
		{"refusal dirty reserved", dirty(refusal, 12, 32), refusalMsg, false},
		{"refusal unknown code, no text", hx(t, "6d62 01 03 | 00000000 | 0063 0000 |"+zero20),
			&bridge.Refusal{Code: 99}, true},
	}
}

func TestGroupID(t *testing.T) {
	t.Parallel()
	for urn, want := range map[string]uint32{"": 0x811c9dc5, "urn:a": 0x31f4b605, "ipv4:224.0.0.1:9003": 0xcd0b9ad5} {
		if got := bridge.GroupID(urn); got != want {
			t.Errorf("GroupID(%q) = %#08x, want %#08x", urn, got, want)
		}
	}
}

func TestUnmarshal(t *testing.T) {
	t.Parallel()
	for _, c := range msgCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := reflect.New(reflect.TypeOf(c.msg).Elem()).Interface().(message)
			// Trailing bytes (the next message, a frame's body) are not
			// consumed.
			n, err := got.Unmarshal(append(bytes.Clone(c.bytes), 0xee, 0xff))
			if err != nil {
				t.Fatal(err)
			}
			if n != len(c.bytes) || !reflect.DeepEqual(got, c.msg) {
				t.Fatalf("got %d, %+v; want %d, %+v", n, got, len(c.bytes), c.msg)
			}
		})
	}
}

func TestMarshal(t *testing.T) {
	t.Parallel()
	for _, c := range msgCases(t) {
		if !c.clean {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if n := c.msg.MarshalSize(); n != len(c.bytes) {
				t.Fatalf("MarshalSize %d, want %d", n, len(c.bytes))
			}
			b, err := c.msg.Marshal()
			if err != nil || !bytes.Equal(b, c.bytes) {
				t.Fatalf("Marshal: %v\n got % x\nwant % x", err, b, c.bytes)
			}
			// MarshalTo overwrites whatever the buffer held, reserved
			// bytes included.
			buf := bytes.Repeat([]byte{0xff}, len(c.bytes)+3)
			n, err := c.msg.MarshalTo(buf)
			if err != nil || n != len(c.bytes) || !bytes.Equal(buf[:n], c.bytes) {
				t.Fatalf("MarshalTo: %d, %v\n% x", n, err, buf[:n])
			}
			if _, err := c.msg.MarshalTo(buf[:len(c.bytes)-1]); !errors.Is(err, io.ErrShortBuffer) {
				t.Fatalf("MarshalTo into a short buffer: %v", err)
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", bridge.MaxText+1)
	cases := []struct {
		name string
		msg  message
	}{
		{"hello without URN", &bridge.Hello{Token: "t"}},
		{"hello URN too long", &bridge.Hello{URN: long}},
		{"hello token too long", &bridge.Hello{URN: "u", Token: long}},
		{"refusal text too long", &bridge.Refusal{Message: long}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if _, err := c.msg.Marshal(); !errors.Is(err, bridge.ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	t.Parallel()
	data := msgCases(t)[0].bytes
	hello := msgCases(t)[3].bytes
	refusal := msgCases(t)[6].bytes
	with := func(b []byte, off int, v ...byte) []byte {
		b = bytes.Clone(b)
		copy(b[off:], v)
		return b
	}
	cases := []struct {
		name  string
		bytes []byte
		into  message
	}{
		{"empty", nil, &bridge.Header{}},
		{"short header", data[:31], &bridge.Header{}},
		{"bad magic", with(data, 0, 0x6d, 0x63), &bridge.Header{}},
		{"version 0", with(data, 2, 0), &bridge.Header{}},
		{"version 2", with(data, 2, 2), &bridge.Header{}},
		{"type 0", with(data, 3, 0), &bridge.Header{}},
		{"type 4", with(data, 3, 4), &bridge.Header{}},
		{"hello as data", hello, &bridge.Header{}},
		{"data as hello", data, &bridge.Hello{}},
		{"hello short header", hello[:20], &bridge.Hello{}},
		{"hello empty URN", with(hello, 16, 0, 0), &bridge.Hello{}},
		{"hello URN over MaxText", with(hello, 16, 0x04, 0x01), &bridge.Hello{}},
		{"hello token over MaxText", with(hello, 18, 0x04, 0x01), &bridge.Hello{}},
		{"hello truncated body", hello[:len(hello)-1], &bridge.Hello{}},
		{"hello group not the URN's", with(hello, 4, 0), &bridge.Hello{}},
		{"refusal as hello", refusal, &bridge.Hello{}},
		{"refusal short header", refusal[:31], &bridge.Refusal{}},
		{"refusal text over MaxText", with(refusal, 10, 0x04, 0x01), &bridge.Refusal{}},
		{"refusal truncated text", refusal[:len(refusal)-1], &bridge.Refusal{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if _, err := c.into.Unmarshal(c.bytes); !errors.Is(err, bridge.ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestRemoteError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code bridge.Code
		want error
		text string
	}{
		{bridge.CodeProtocol, bridge.ErrProtocol, "bridge: refused by peer: protocol error: x"},
		{bridge.CodeUnauthorized, bridge.ErrUnauthorized, "bridge: refused by peer: unauthorized: x"},
		{bridge.CodeRefused, bridge.ErrRefused, "bridge: refused by peer: refused: x"},
		{bridge.CodeTooLarge, bridge.ErrTooLarge, "bridge: refused by peer: too large: x"},
		{bridge.CodeInternal, bridge.ErrRefused, "bridge: refused by peer: internal error: x"},
		{77, bridge.ErrRefused, "bridge: refused by peer: code 77: x"},
	}
	for _, c := range cases {
		err := (&bridge.Refusal{Code: c.code, Message: "x"}).Err()
		if !errors.Is(err, c.want) || !errors.Is(err, bridge.ErrRefused) || err.Error() != c.text {
			t.Errorf("code %d: %v (want %v)", c.code, err, c.want)
		}
		if c.code != bridge.CodeUnauthorized && errors.Is(err, bridge.ErrUnauthorized) {
			t.Errorf("code %d matches ErrUnauthorized", c.code)
		}
	}
}

// FuzzUnmarshal feeds every message type arbitrary bytes: no panic, and
// whatever decodes re-encodes to the same bytes (reserved fields zeroed)
// and decodes to the same value.
func FuzzUnmarshal(f *testing.F) {
	for _, c := range msgCases(f) {
		f.Add(c.bytes)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range []message{&bridge.Header{}, &bridge.Hello{}, &bridge.Refusal{}} {
			n, err := m.Unmarshal(b)
			if err != nil {
				if !errors.Is(err, bridge.ErrMalformed) {
					t.Fatalf("%T: error %v is not ErrMalformed", m, err)
				}
				continue
			}
			if n > len(b) || n != m.MarshalSize() {
				t.Fatalf("%T: consumed %d of %d, MarshalSize %d", m, n, len(b), m.MarshalSize())
			}
			out, err := m.Marshal()
			if err != nil {
				t.Fatalf("%T %+v: re-marshal: %v", m, m, err)
			}
			want := bytes.Clone(b[:n])
			switch m.(type) {
			case *bridge.Hello:
				clear(want[20:32])
			case *bridge.Refusal:
				clear(want[12:32])
			}
			if !bytes.Equal(out, want) {
				t.Fatalf("%T: re-marshalled\n% x\nfrom\n% x", m, out, want)
			}
			again := reflect.New(reflect.TypeOf(m).Elem()).Interface().(message)
			if _, err := again.Unmarshal(out); err != nil || !reflect.DeepEqual(again, m) {
				t.Fatalf("%T: round trip %+v → %+v (%v)", m, m, again, err)
			}
		}
	})
}
