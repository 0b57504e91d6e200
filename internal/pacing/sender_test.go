package pacing

import (
	"encoding/json"
	"errors"
	"testing"
)

var senderNames = []struct {
	in   string
	want Sender
}{
	{"", Wide},
	{"wide", Wide},
	{"WIDE", Wide},
	{"2110TPW", Wide},
	{"narrow", Narrow},
	{" Narrow ", Narrow},
	{"gapped", Narrow},
	{"2110TPN", Narrow},
	{"2110tpn", Narrow},
	{"linear", NarrowLinear},
	{"narrowlinear", NarrowLinear},
	{"narrow-linear", NarrowLinear},
	{"narrow_linear", NarrowLinear},
	{"2110TPNL", NarrowLinear},
}

func TestParseSender(t *testing.T) {
	t.Parallel()
	for _, tt := range senderNames {
		got, err := ParseSender(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSender(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"fast", "2110TP", "narrowwide", "w"} {
		if _, err := ParseSender(bad); !errors.Is(err, ErrSender) {
			t.Errorf("ParseSender(%q) = %v, want ErrSender", bad, err)
		}
	}
}

func TestSenderNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s        Sender
		tp, name string
	}{
		{Narrow, "2110TPN", "narrow"},
		{NarrowLinear, "2110TPNL", "linear"},
		{Wide, "2110TPW", "wide"},
		{7, "", "Sender(7)"},
	}
	for _, tt := range tests {
		if tt.s.TP() != tt.tp || tt.s.String() != tt.name {
			t.Errorf("Sender %d: TP %q String %q", tt.s, tt.s.TP(), tt.s.String())
		}
		if tt.tp == "" {
			if _, err := tt.s.MarshalText(); !errors.Is(err, ErrSender) {
				t.Errorf("MarshalText(%d) = %v", tt.s, err)
			}
			continue
		}
		// Both spellings read back.
		for _, s := range []string{tt.tp, tt.name} {
			if got, err := ParseSender(s); err != nil || got != tt.s {
				t.Errorf("ParseSender(%q) = %v, %v", s, got, err)
			}
		}
		b, err := json.Marshal(struct{ TP Sender }{tt.s})
		if err != nil {
			t.Fatal(err)
		}
		var back struct{ TP Sender }
		if err := json.Unmarshal(b, &back); err != nil || back.TP != tt.s {
			t.Errorf("JSON %s read back as %v, %v", b, back.TP, err)
		}
	}
	var s Sender
	if err := json.Unmarshal([]byte(`"bogus"`), &s); !errors.Is(err, ErrSender) {
		t.Errorf("unmarshal bogus: %v", err)
	}
}

// FuzzParseSender: config input never panics, and whatever parses has a
// name that parses back to it.
func FuzzParseSender(f *testing.F) {
	for _, tt := range senderNames {
		f.Add(tt.in)
	}
	f.Add("bogus")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSender(s)
		if err != nil {
			if !errors.Is(err, ErrSender) {
				t.Fatalf("ParseSender(%q): unwrapped error %v", s, err)
			}
			return
		}
		if back, err := ParseSender(v.TP()); err != nil || back != v {
			t.Fatalf("ParseSender(%q) = %v, whose TP %q reads %v, %v", s, v, v.TP(), back, err)
		}
	})
}
