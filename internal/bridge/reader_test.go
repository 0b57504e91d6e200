package bridge_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
	"testing/iotest"

	"mediamesh/internal/bridge"
)

// frameBytes is a data frame on the wire: header, payload, metadata.
func frameBytes(t testing.TB, h bridge.Header, payload, metadata []byte) []byte {
	t.Helper()
	h.PayloadLen, h.MetadataLen = uint32(len(payload)), uint32(len(metadata))
	b, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return append(append(b, payload...), metadata...)
}

func helloBytes(t testing.TB, h bridge.Hello) []byte {
	t.Helper()
	b, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// event is one thing a Reader returned.
type event struct {
	Hello             *bridge.Hello
	Header            bridge.Header
	Payload, Metadata []byte
}

// readStream reads a whole stream as a receiver does: a Hello, then frames
// within the Hello's maxima (capped so fuzzed maxima allocate little),
// until the first error, which it returns with what it read.
func readStream(r io.Reader) ([]event, error) {
	br := bridge.NewReader(r)
	var h bridge.Hello
	if err := br.ReadHello(&h); err != nil {
		return nil, err
	}
	events := []event{{Hello: &h}}
	br.SetLimits(bridge.GroupID(h.URN), min(h.MaxPayload, 1<<16), min(h.MaxMetadata, 1<<10))
	for {
		var e event
		if err := br.ReadHeader(&e.Header); err != nil {
			return events, err
		}
		e.Payload, e.Metadata = make([]byte, e.Header.PayloadLen), make([]byte, e.Header.MetadataLen)
		if err := br.ReadBody(e.Payload, e.Metadata); err != nil {
			return events, err
		}
		events = append(events, e)
	}
}

// chunkReader returns its data in reads of the sizes in chunks (each byte
// + 1, cycling): a socket delivering a stream in arbitrary pieces.
type chunkReader struct {
	data, chunks []byte
	i            int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.chunks) > 0 {
		n = min(n, int(c.chunks[c.i%len(c.chunks)])+1)
		c.i++
	}
	n = copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// goodStream is a handshake, three frames (one empty) and a refusal.
func goodStream(t testing.TB) ([]byte, []event) {
	t.Helper()
	hello := bridge.Hello{URN: "urn:a", Token: "tok", MaxPayload: 100, MaxMetadata: 8}
	g := bridge.GroupID(hello.URN)
	frames := []event{
		{Header: bridge.Header{Group: g, Seq: 1, Timestamp: 10}, Payload: []byte("first frame"), Metadata: []byte("m1")},
		{Header: bridge.Header{Group: g, Seq: 2, Timestamp: 20}, Payload: []byte{}, Metadata: []byte{}},
		{Header: bridge.Header{Group: g, Seq: 3, Timestamp: 30}, Payload: bytes.Repeat([]byte{7}, 100), Metadata: []byte("12345678")},
	}
	stream := helloBytes(t, hello)
	want := []event{{Hello: &hello}}
	for _, f := range frames {
		stream = append(stream, frameBytes(t, f.Header, f.Payload, f.Metadata)...)
		f.Header.PayloadLen, f.Header.MetadataLen = uint32(len(f.Payload)), uint32(len(f.Metadata))
		want = append(want, f)
	}
	ref, _ := (&bridge.Refusal{Group: g, Code: bridge.CodeTooLarge, Message: "enough"}).Marshal()
	return append(stream, ref...), want
}

// A stream reads the same however the socket splits it.
func TestReaderSplits(t *testing.T) {
	t.Parallel()
	stream, want := goodStream(t)
	check := func(name string, r io.Reader) {
		got, err := readStream(r)
		if !errors.Is(err, bridge.ErrTooLarge) || !errors.Is(err, bridge.ErrRefused) {
			t.Fatalf("%s: ended with %v, want the refusal", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: got %+v\nwant %+v", name, got, want)
		}
	}
	check("whole", bytes.NewReader(stream))
	check("one byte", iotest.OneByteReader(bytes.NewReader(stream)))
	check("half", iotest.HalfReader(bytes.NewReader(stream)))
	for i := 1; i < len(stream); i++ {
		check(fmt.Sprintf("split at %d", i), io.MultiReader(bytes.NewReader(stream[:i]), bytes.NewReader(stream[i:])))
	}
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestReaderErrors(t *testing.T) {
	t.Parallel()
	hello := bridge.Hello{URN: "urn:a", Token: "tok", MaxPayload: 100, MaxMetadata: 8}
	g := bridge.GroupID(hello.URN)
	hb := helloBytes(t, hello)
	frame := frameBytes(t, bridge.Header{Group: g, Seq: 1}, make([]byte, 10), nil)
	big := frameBytes(t, bridge.Header{Group: g, Seq: 1}, make([]byte, 101), nil)
	bigMeta := frameBytes(t, bridge.Header{Group: g, Seq: 1}, nil, make([]byte, 9))
	other := frameBytes(t, bridge.Header{Group: g + 1, Seq: 1}, nil, nil)
	ref := func(code bridge.Code) []byte {
		b, _ := (&bridge.Refusal{Code: code, Message: "no"}).Marshal()
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	cases := []struct {
		name   string
		stream []byte
		want   error
		read   int // bytes the reader may have taken: lengths are checked before the body is read
	}{
		{"nothing", nil, io.EOF, 0},
		{"half a hello header", hb[:10], io.ErrUnexpectedEOF, 10},
		{"hello without its URN", hb[:bridge.HeaderSize+2], io.ErrUnexpectedEOF, bridge.HeaderSize + 2},
		{"data before the hello", frame, bridge.ErrProtocol, bridge.HeaderSize},
		{"refused at hello", ref(bridge.CodeUnauthorized), bridge.ErrUnauthorized, len(ref(0))},
		{"garbage", bytes.Repeat([]byte{0xff}, 64), bridge.ErrMalformed, bridge.HeaderSize},
		{"clean end", hb, io.EOF, len(hb)},
		{"second hello", cat(hb, hb), bridge.ErrProtocol, len(hb) + bridge.HeaderSize},
		{"payload over the limit", cat(hb, big), bridge.ErrTooLarge, len(hb) + bridge.HeaderSize},
		{"metadata over the limit", cat(hb, bigMeta), bridge.ErrTooLarge, len(hb) + bridge.HeaderSize},
		{"frame of another group", cat(hb, other), bridge.ErrProtocol, len(hb) + bridge.HeaderSize},
		{"truncated body", cat(hb, frame[:len(frame)-1]), io.ErrUnexpectedEOF, len(hb) + len(frame) - 1},
		{"truncated header", cat(hb, frame[:20]), io.ErrUnexpectedEOF, len(hb) + 20},
		{"refused mid-stream", cat(hb, frame, ref(bridge.CodeTooLarge)), bridge.ErrTooLarge, len(hb) + len(frame) + len(ref(0))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := &countReader{r: bytes.NewReader(c.stream)}
			_, err := readStream(r)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if r.n > c.read {
				t.Fatalf("read %d bytes, at most %d were allowed", r.n, c.read)
			}
		})
	}
}

func TestReaderMisuse(t *testing.T) {
	t.Parallel()
	hello := bridge.Hello{URN: "urn:a", MaxPayload: 100, MaxMetadata: 8}
	g := bridge.GroupID(hello.URN)
	frame := frameBytes(t, bridge.Header{Group: g, Seq: 1}, make([]byte, 10), []byte("m"))
	// Data before SetLimits is refused even after a Hello was read.
	r := bridge.NewReader(bytes.NewReader(append(helloBytes(t, hello), frame...)))
	var h bridge.Hello
	var hdr bridge.Header
	if err := r.ReadHello(&h); err != nil {
		t.Fatal(err)
	}
	if err := r.ReadHeader(&hdr); !errors.Is(err, bridge.ErrProtocol) {
		t.Fatalf("data without limits: %v", err)
	}
	r = bridge.NewReader(bytes.NewReader(append(bytes.Clone(frame), frame...)))
	r.SetLimits(g, 100, 8)
	if err := r.ReadBody(nil, nil); !errors.Is(err, bridge.ErrProtocol) {
		t.Fatalf("body before header: %v", err)
	}
	if err := r.ReadHeader(&hdr); err != nil {
		t.Fatal(err)
	}
	if err := r.ReadHeader(&hdr); !errors.Is(err, bridge.ErrProtocol) {
		t.Fatalf("header before the body: %v", err)
	}
	if err := r.ReadBody(make([]byte, 9), make([]byte, 1)); !errors.Is(err, io.ErrShortBuffer) {
		t.Fatalf("wrong body length: %v", err)
	}
	p, m := make([]byte, 10), make([]byte, 1)
	if err := r.ReadBody(p, m); err != nil || string(m) != "m" {
		t.Fatalf("body: %v %q", err, m)
	}
	if err := r.ReadHeader(&hdr); err != nil || hdr.PayloadLen != 10 {
		t.Fatalf("next frame: %v %+v", err, hdr)
	}
}

// FuzzReader reads arbitrary streams delivered in arbitrary pieces: no
// panic, no allocation beyond the limits, and the same result however the
// stream is split.
func FuzzReader(f *testing.F) {
	stream, _ := goodStream(f)
	f.Add(stream, []byte{0})
	f.Add(stream, []byte{31, 2, 200})
	f.Add(stream[:len(stream)/2], []byte{5})
	for _, c := range msgCases(f) {
		f.Add(append(helloBytes(f, bridge.Hello{URN: "urn:a", MaxPayload: 1 << 20, MaxMetadata: 1 << 20}), c.bytes...), []byte{3})
	}
	f.Fuzz(func(t *testing.T, stream, chunks []byte) {
		want, wantErr := readStream(bytes.NewReader(stream))
		got, gotErr := readStream(&chunkReader{data: stream, chunks: chunks})
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("split read ended with %v, whole read with %v", gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("split read %+v, whole read %+v", got, want)
		}
	})
}
