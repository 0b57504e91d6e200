package pacing

import (
	"fmt"
	"strconv"
	"strings"
)

// Sender is an ST 2110-21 sender type: how tightly packets are spaced.
type Sender uint8

// Sender types, with their SDP TP= names.
const (
	// Narrow (2110TPN) spreads packets evenly over the active video time
	// and leaves a gap in vertical blanking; bursts stay within a few
	// packets (CMAX 4–5 at 1080p).
	Narrow Sender = iota
	// NarrowLinear (2110TPNL) spreads packets evenly over the whole frame
	// period, with no gap.
	NarrowLinear
	// Wide (2110TPW) follows the gapped schedule on average but may burst
	// up to CMAX 16 at 1080p: what user space on Linux can reach with
	// sleeps and a short spin (st2110.md §6), and our default.
	Wide
)

// ParseSender reads a sender type as configs and SDP spell it, ignoring
// case: "wide", "narrow", "linear" (or "narrowlinear", "narrow-linear",
// "narrow_linear") and the SDP names 2110TPN, 2110TPNL, 2110TPW. MCM's
// documentation says "narrow". The empty string is Wide, our default.
func ParseSender(s string) (Sender, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "wide", "2110tpw":
		return Wide, nil
	case "narrow", "gapped", "2110tpn":
		return Narrow, nil
	case "linear", "narrowlinear", "narrow-linear", "narrow_linear", "2110tpnl":
		return NarrowLinear, nil
	}
	return 0, fmt.Errorf("%w: got %q, need wide, narrow, linear, 2110TPW, 2110TPN or 2110TPNL", ErrSender, s)
}

// TP is the SDP fmtp TP= value: "2110TPN", "2110TPNL" or "2110TPW"; "" for
// an unknown Sender.
func (s Sender) TP() string {
	switch s {
	case Narrow:
		return "2110TPN"
	case NarrowLinear:
		return "2110TPNL"
	case Wide:
		return "2110TPW"
	}
	return ""
}

// String is the config spelling, which ParseSender reads back: "narrow",
// "linear" or "wide".
func (s Sender) String() string {
	switch s {
	case Narrow:
		return "narrow"
	case NarrowLinear:
		return "linear"
	case Wide:
		return "wide"
	}
	return "Sender(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText writes String, so a Sender is a JSON config value.
func (s Sender) MarshalText() ([]byte, error) {
	if s > Wide {
		return nil, fmt.Errorf("%w: %d", ErrSender, uint8(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads what ParseSender accepts.
func (s *Sender) UnmarshalText(b []byte) error {
	v, err := ParseSender(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
