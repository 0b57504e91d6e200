package mcm

import (
	"errors"
	"strings"
	"testing"
)

func TestFrameInfoRoundTrip(t *testing.T) {
	t.Parallel()
	in := FrameInfo{Flags: FlagIncomplete, RTPTime: 0xdeadbeef, SSRC: 7, Packets: 4319, Missing: 1, ArrivalNS: 1_700_000_000_123_456_789}
	b := make([]byte, FrameInfoSize+3)
	if n, err := in.MarshalTo(b); err != nil || n != FrameInfoSize {
		t.Fatalf("MarshalTo: %d %v", n, err)
	}
	var out FrameInfo
	if _, err := out.Unmarshal(b); err != nil || out != in {
		t.Fatalf("%+v → %+v (%v)", in, out, err)
	}
	if _, err := in.MarshalTo(b[:FrameInfoSize-1]); err == nil {
		t.Error("short buffer accepted")
	}
	for _, bad := range [][]byte{nil, b[:FrameInfoSize-1], append([]byte("XXXX"), b[4:]...)} {
		if _, err := out.Unmarshal(bad); !errors.Is(err, ErrNoFrameInfo) {
			t.Errorf("% x: %v, want ErrNoFrameInfo", bad, err)
		}
	}
	b[4] = 9 // a newer version
	if _, err := out.Unmarshal(b); !errors.Is(err, ErrNoFrameInfo) {
		t.Errorf("version 9: %v", err)
	}
}

func TestParseWireOptions(t *testing.T) {
	t.Parallel()
	good := WireOptions{Transport: "st2110-40", SDP: "v=0\r\n", DropIncomplete: true, Packing: "bpm", Burst: 8, TTL: 32, PixelFormat: "uyvy"}
	got, err := ParseWireOptions(good.Marshal())
	if err != nil || got != good {
		t.Fatalf("%+v → %+v (%v)", good, got, err)
	}
	for _, tc := range []struct{ in, want string }{
		{`{"burst": 65}`, "burst 65"},
		{`{"ttl": -1}`, "ttl -1"},
		{`{"packing": "xyz"}`, `packing "xyz"`},
		{`{"bogus": 1}`, "unknown field"},
		{`{"burst": "x"}`, "cannot unmarshal"},
		{`{} {}`, "trailing data"},
		{`[`, "unexpected EOF"},
		{`{"sdp":"` + strings.Repeat("a", MaxWireOptions) + `"}`, "at most"},
	} {
		_, err := ParseWireOptions([]byte(tc.in))
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40s: %v, want ErrInvalidConfig with %q", tc.in, err, tc.want)
		}
	}
}

// FuzzWireOptions: the st2110 options come from any gRPC client.
func FuzzWireOptions(f *testing.F) {
	f.Add([]byte(`{"transport":"st2110-40","sdp":"v=0","burst":16}`))
	f.Add([]byte(`{"packing":"bpm","ttl":255}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := ParseWireOptions(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v does not wrap ErrInvalidConfig", err)
			}
			return
		}
		again, err := ParseWireOptions(w.Marshal())
		if err != nil || again != w {
			t.Fatalf("%+v → %+v (%v)", w, again, err)
		}
	})
}

// FuzzFrameInfo: an app reads the record from shared memory it does not
// fully trust.
func FuzzFrameInfo(f *testing.F) {
	b := make([]byte, FrameInfoSize)
	_, _ = (&FrameInfo{Packets: 1}).MarshalTo(b)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		var fi FrameInfo
		if _, err := fi.Unmarshal(b); err != nil {
			return
		}
		out := make([]byte, FrameInfoSize)
		_, _ = fi.MarshalTo(out)
		var again FrameInfo
		if _, err := again.Unmarshal(out); err != nil || again != fi {
			t.Fatalf("%+v → %+v", fi, again)
		}
	})
}
