package memif

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

// msgCase is one row of the codec table: wire bytes and the value they
// decode to (memif.md §12 vectors, plus dirty-padding variants).
type msgCase struct {
	name  string
	bytes []byte
	msg   Message
	clean bool // bytes are exactly what MarshalTo writes
}

func msgCases(t testing.TB) []msgCase {
	t.Helper()
	dirty := func(b []byte, from int) []byte {
		b = bytes.Clone(b)
		for i := from; i < len(b); i++ {
			b[i] = byte(0xA5 ^ i)
		}
		return b
	}
	hello := vec(t,
		"0000: 02 00 6d 65 6d 69 66 5f 74 78 5f 35 61 31 62 38",
		"0010: 63 33 64 2d 32 65 34 66 2d 34 61 36 62 2d 38 63",
		"0020: 37 00 00 02 00 02 ff 00 ff 00 ff 00 0e")
	helloMsg := &Hello{Name: mcmName, MinVersion: Version, MaxVersion: Version,
		MaxRegion: 255, MaxM2SRing: 255, MaxS2MRing: 255, MaxLog2RingSize: 14}
	initMCM := vec(t,
		"0000: 03 00 00 02 00 00 00 00 00 00 00 00 00 00 00 00",
		"0020: 00 6d 65 6d 69 66 5f 74 78 5f 35 61 31 62 38 63",
		"0030: 33 64 2d 32 65 34 66 2d 34 61 36 62 2d 38 63 37")
	initIP := vec(t,
		"0000: 03 00 00 02 04 03 02 01 01 73 33 63 72 65 74 00",
		"0020: 00 61 70 70")
	initIPMsg := &Init{Version: Version, ID: 0x01020304, Mode: ModeIP, Secret: "s3cret", Name: "app"}
	// libmemif leaves the secret's tail and everything after the name dirty.
	initIPDirty := bytes.Clone(initIP)
	copy(initIPDirty[16:33], "garbage-garbage!!")
	initIPDirty = dirty(initIPDirty, 37)
	connect := vec(t, "0000: 06 00")
	copy(connect[2:], mcmName)
	return []msgCase{
		{"hello", hello, helloMsg, true},
		{"hello dirty padding", dirty(hello, 45), helloMsg, false},
		{"init mcm", initMCM, &Init{Version: Version, Name: mcmName}, true},
		{"init ip secret", initIP, initIPMsg, true},
		{"init dirty padding", initIPDirty, initIPMsg, false},
		{"ack", vec(t, "0000: 01 00"), &Ack{}, true},
		{"ack dirty body", dirty(vec(t, "0000: 01 00"), 2), &Ack{}, false},
		{"add_region 0", vec(t, "0000: 04 00 00 00 00 03 00 00 00 00 00 00"), &AddRegion{Index: 0, Size: 768}, true},
		{"add_region 1", vec(t, "0000: 04 00 01 00 00 00 00 10 00 00 00 00"), &AddRegion{Index: 1, Size: 0x10000000}, true},
		{"add_ring s2m", vec(t, "0000: 05 00 01 00 00 00 00 00 00 00 00 00 04 00 00"),
			&AddRing{Flags: RingFlagS2M, Log2RingSize: 4}, true},
		{"add_ring m2s", vec(t, "0000: 05 00 00 00 00 00 00 00 80 01 00 00 04 00 00"),
			&AddRing{Offset: 0x180, Log2RingSize: 4}, true},
		{"connect", connect, &Connect{Name: mcmName}, true},
		{"connected", func() []byte { b := bytes.Clone(connect); b[0] = 7; return b }(), &Connected{Name: mcmName}, true},
		{"disconnect", vec(t, "0000: 08 00 00 00 00 00 69 6e 63 6f 6d 70 61 74 69 62 6c 65 20 76 65 72 73 69 6f 6e 00"),
			&Disconnect{Reason: "incompatible version"}, true},
		{"disconnect dirty", dirty(vec(t, "0000: 08 00 07 00 00 00 62 79 65"), 10), &Disconnect{Code: 7, Reason: "bye"}, false},
	}
}

func TestUnmarshal(t *testing.T) {
	t.Parallel()
	for _, c := range msgCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseMessage(c.bytes)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.msg) {
				t.Fatalf("got %+v, want %+v", got, c.msg)
			}
			// The typed Unmarshal agrees and reports the size consumed.
			m := reflect.New(reflect.TypeOf(c.msg).Elem()).Interface().(Message)
			n, err := m.Unmarshal(c.bytes)
			if err != nil || n != MsgSize || !reflect.DeepEqual(m, c.msg) {
				t.Fatalf("Unmarshal: %d, %v, %+v", n, err, m)
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
			if c.msg.MarshalSize() != MsgSize {
				t.Fatalf("MarshalSize %d", c.msg.MarshalSize())
			}
			b, err := c.msg.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, c.bytes) {
				t.Fatalf("got\n% x\nwant\n% x", b, c.bytes)
			}
			// MarshalTo overwrites whatever b held.
			buf := bytes.Repeat([]byte{0xff}, MsgSize+3)
			n, err := c.msg.MarshalTo(buf)
			if err != nil || n != MsgSize || !bytes.Equal(buf[:MsgSize], c.bytes) {
				t.Fatalf("MarshalTo: %d, %v\n% x", n, err, buf[:MsgSize])
			}
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	t.Parallel()
	ack := vec(t, "0000: 01 00")
	cases := []struct {
		name  string
		bytes []byte
		into  Message
		want  error
	}{
		{"empty", nil, nil, ErrMessage},
		{"short", ack[:127], nil, ErrMessage},
		{"long", append(bytes.Clone(ack), 0), nil, ErrMessage},
		{"type 0", vec(t, "0000: 00 00"), nil, ErrMessage},
		{"type 9", vec(t, "0000: 09 00"), nil, ErrMessage},
		{"type high byte", vec(t, "0000: 01 01"), nil, ErrMessage},
		{"wrong type", ack, &Hello{}, ErrMessage},
		{"short typed", ack[:2], &Ack{}, ErrMessage},
		{"long typed", make([]byte, 200), &Init{}, ErrMessage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var err error
			if c.into == nil {
				_, err = ParseMessage(c.bytes)
			} else {
				_, err = c.into.Unmarshal(c.bytes)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	t.Parallel()
	long := string(bytes.Repeat([]byte{'x'}, 32))
	cases := []struct {
		name string
		msg  Message
		buf  int
		want error
	}{
		{"short buffer", &Ack{}, 127, io.ErrShortBuffer},
		{"hello name 32", &Hello{Name: long}, MsgSize, ErrMessage},
		{"init secret 24", &Init{Secret: long[:24]}, MsgSize, ErrMessage},
		{"init name NUL", &Init{Name: "a\x00b"}, MsgSize, ErrMessage},
		{"connect name 32", &Connect{Name: long}, MsgSize, ErrMessage},
		{"connected short", &Connected{}, 0, io.ErrShortBuffer},
		{"disconnect short", &Disconnect{}, 10, io.ErrShortBuffer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if _, err := c.msg.MarshalTo(make([]byte, c.buf)); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// TestStringFields: a name without NUL is cut to 31 bytes (strlcpy), a
// too-long reason is cut when marshalled, so every parse re-marshals.
func TestStringFields(t *testing.T) {
	t.Parallel()
	b := vec(t, "0000: 06 00")
	copy(b[2:34], bytes.Repeat([]byte{'n'}, 32))
	var c Connect
	if _, err := c.Unmarshal(b); err != nil || len(c.Name) != 31 {
		t.Fatalf("%v, %q", err, c.Name)
	}
	d := Disconnect{Reason: string(bytes.Repeat([]byte{'r'}, 200))}
	out, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var back Disconnect
	if _, err := back.Unmarshal(out); err != nil || len(back.Reason) != ReasonSize-1 {
		t.Fatalf("%v, %d", err, len(back.Reason))
	}
}

// FuzzUnmarshal feeds arbitrary bytes to every parser: no panic, and a
// message that parses marshals again to an equal message.
func FuzzUnmarshal(f *testing.F) {
	for _, c := range msgCases(f) {
		f.Add(c.bytes)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 129))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range []Message{&Ack{}, &Hello{}, &Init{}, &AddRegion{}, &AddRing{}, &Connect{}, &Connected{}, &Disconnect{}} {
			_, _ = m.Unmarshal(b)
		}
		m, err := ParseMessage(b)
		if err != nil {
			if !errors.Is(err, ErrMessage) {
				t.Fatalf("error %v does not wrap ErrMessage", err)
			}
			return
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("re-marshal %+v: %v", m, err)
		}
		back, err := ParseMessage(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !reflect.DeepEqual(m, back) {
			t.Fatalf("round trip: %+v != %+v", m, back)
		}
	})
}
