package mcm

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// MetadataWireOptions is the gRPC metadata key (binary: "-bin") by which a
// mediamesh SDK sends the ST 2110 settings MCM's ConfigST2110 has no field
// for, as JSON WireOptions. MCM's protos stay untouched; an MCM SDK simply
// never sends it.
const MetadataWireOptions = "mediamesh-st2110-bin"

// MaxWireOptions bounds the JSON (an SDP is a few hundred bytes).
const MaxWireOptions = 64 << 10

// WireOptions are mediamesh's additions to an ST 2110 connection.
type WireOptions struct {
	// Transport overrides ConfigST2110.transport, whose enum stops at -30:
	// "st2110-40" is only expressible here.
	Transport string `json:"transport,omitempty"`
	// SDP is the stream's session description (rx: what to receive; its
	// fmtp parameters — depth, sampling, packing — override the defaults
	// MCM's config implies).
	SDP string `json:"sdp,omitempty"`
	// DropIncomplete drops frames that lost packets instead of delivering
	// them flagged incomplete in their FrameInfo.
	DropIncomplete bool `json:"dropIncomplete,omitempty"`
	// Packing is the RFC 4175 packing mode of a sender: "gpm" (default) or
	// "bpm".
	Packing string `json:"packing,omitempty"`
	// Burst is the largest pacing burst of a sender, in packets.
	Burst int `json:"burst,omitempty"`
	// TTL is the multicast TTL of a sender (default 64).
	TTL int `json:"ttl,omitempty"`
	// PixelFormat overrides payload.video.pixelFormat for layouts MCM's
	// enum lacks: "uyvy" (8-bit 4:2:2 pgroups).
	PixelFormat string `json:"pixelFormat,omitempty"`
}

// Empty reports whether no option is set.
func (w WireOptions) Empty() bool { return w == WireOptions{} }

// ParseWireOptions decodes the metadata value; unknown keys are refused so
// a typo is not silently ignored.
func ParseWireOptions(b []byte) (WireOptions, error) {
	var w WireOptions
	if len(b) > MaxWireOptions {
		return w, fmt.Errorf("%w: st2110 options: %d bytes, at most %d", ErrInvalidConfig, len(b), MaxWireOptions)
	}
	if err := strictJSON(b, &w); err != nil {
		return WireOptions{}, fmt.Errorf("%w: st2110 options: %v", ErrInvalidConfig, err)
	}
	if w.Burst < 0 || w.Burst > 64 {
		return WireOptions{}, fmt.Errorf("%w: st2110 options: burst %d: want 1-64", ErrInvalidConfig, w.Burst)
	}
	if w.TTL < 0 || w.TTL > 255 {
		return WireOptions{}, fmt.Errorf("%w: st2110 options: ttl %d: want 1-255", ErrInvalidConfig, w.TTL)
	}
	switch w.Packing {
	case "", "gpm", "bpm":
	default:
		return WireOptions{}, fmt.Errorf("%w: st2110 options: packing %q: want gpm or bpm", ErrInvalidConfig, w.Packing)
	}
	return w, nil
}

// Marshal encodes the options for the metadata value.
func (w WireOptions) Marshal() []byte {
	b, _ := json.Marshal(w)
	return b
}

func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("trailing data after the JSON object")
	}
	return nil
}
