package st2110

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"mediamesh/internal/mcm"
	"mediamesh/internal/mediaclock"
	"mediamesh/internal/netio"
	"mediamesh/internal/pacing"
	"mediamesh/internal/pixfmt"
	"mediamesh/internal/rfc4175"
)

// Essence is the kind of ST 2110 stream.
type Essence uint8

// Essences (ST 2110 parts).
const (
	Video  Essence = iota + 1 // ST 2110-20, RFC 4175 uncompressed video
	JPEGXS                    // ST 2110-22, RFC 9134 JPEG XS
	Audio                     // ST 2110-30, L16/L24 PCM
	Anc                       // ST 2110-40, RFC 8331 ancillary data
)

// ParseEssence reads MCM's transport names ("st2110-20" …).
func ParseEssence(s string) (Essence, error) {
	switch s {
	case "st2110-20":
		return Video, nil
	case "st2110-22":
		return JPEGXS, nil
	case "st2110-30":
		return Audio, nil
	case "st2110-40":
		return Anc, nil
	}
	return 0, fmt.Errorf("%w: transport %q: want st2110-20, st2110-22, st2110-30 or st2110-40", ErrConfig, s)
}

// String is MCM's transport name.
func (e Essence) String() string {
	switch e {
	case Video:
		return "st2110-20"
	case JPEGXS:
		return "st2110-22"
	case Audio:
		return "st2110-30"
	case Anc:
		return "st2110-40"
	}
	return fmt.Sprintf("essence(%d)", uint8(e))
}

// ErrConfig reports an unusable Config.
var ErrConfig = errors.New("st2110: invalid config")

// Defaults of Config.
const (
	// DefaultMaxPacket is ST 2110-10's standard UDP size limit: the RTP
	// packet (UDP payload) is at most 1460 bytes unless MAXUDP says more.
	DefaultMaxPacket = 1460
	// DefaultReorderWindow is the least number of packets of the next
	// frame that may arrive before a frame still missing packets is
	// finished; a -20 receiver waits for half a frame's packets at least
	// (~2000 at 1080p, 8 ms). Whole frames finish at once, so the window
	// costs nothing but the delay of a damaged frame — and hosts do
	// reorder far more than one would think: on loopback, GSO runs sent
	// from a thread that moved between CPUs drain from two per-CPU
	// backlogs at once, and a 1080p frame came ~1000 packets out of order.
	DefaultReorderWindow = 64
	// DefaultRecvBuffer is the socket receive buffer asked for: a 1080p
	// frame burst plus scheduling slack (§11: the kernel charges each
	// datagram's whole allocation, so 8 MiB is marginal for 5 MB frames).
	DefaultRecvBuffer = 64 << 20
	// DefaultSendBuffer is the socket send buffer asked for.
	DefaultSendBuffer = 8 << 20
)

// Config describes one stream. Zero values mean defaults.
type Config struct {
	Essence Essence
	// Net names the socket: Remote for a sender; Local (group or local
	// address and port), Source (SSM) for a receiver; Interface for both.
	Net netio.Config
	// PayloadType is the RTP payload type (MCM's default is 112).
	PayloadType uint8
	// SSRC of a sender; 0 picks a random one.
	SSRC uint32
	// Clock is the TAI clock (default: mediaclock.System()).
	Clock *mediaclock.Clock
	// Layout is the app's buffer layout: sysdata, payload, metadata.
	Layout mcm.Layout
	// MaxPacket is the largest RTP packet (UDP payload); default 1460.
	MaxPacket int

	Video VideoConfig
	Audio AudioConfig

	// Sender: Mode is how packets reach the kernel (default GSO).
	Mode netio.Mode
	// Pacer runs the sender's paced bursts together with other senders'
	// (media-proxy shares one); nil gives the sender a Pacer of its own.
	Pacer *Pacer

	// Receiver: Poller drains the socket on its tick together with other
	// receivers' (media-proxy shares one); nil gives the receiver a
	// goroutine of its own, woken per packet batch.
	Poller *Poller
	// From, when valid, is the only source address accepted
	// (MCM's rx ipAddr names the sender of a unicast stream; a multicast
	// stream is filtered by the kernel's source-specific join instead).
	From netip.Addr
	// ReorderWindow is how many packets of a newer frame may
	// arrive before an older frame is finished (default 64).
	ReorderWindow int
	// DropIncomplete drops frames that lost packets instead of delivering
	// them flagged incomplete.
	DropIncomplete bool
	// Idle finishes a frame still open when no packet came for this long
	// (default: two frame periods, at least 20 ms).
	Idle time.Duration
}

// VideoConfig describes a video stream (-20, and -22's frame geometry).
type VideoConfig struct {
	Width, Height int
	Rate          mediaclock.Rate
	// Format is the app's pixel layout (-20); its depth is the wire depth.
	Format pixfmt.Format
	// Packing is the RFC 4175 packing mode a sender uses (default GPM).
	Packing rfc4175.Mode
	// Pacing is the ST 2110-21 sender type, as MCM's st2110.pacing or an
	// SDP's TP names it: "" or "wide" (default), "narrow", "linear", or
	// 2110TPW, 2110TPN, 2110TPNL.
	Pacing string
	// Unpaced sends each frame as fast as the socket takes it: for
	// benchmarks and tests, never for the wire.
	Unpaced bool
	// Burst is how many packets one pacing step sends (default: the Wide
	// sender's CMAX, 16 at 1080p).
	Burst int
	// Colorimetry, TCS and Range go into the SDP (defaults BT709, SDR,
	// NARROW).
	Colorimetry, TCS, Range string
}

// AudioConfig describes an ST 2110-30 stream: one buffer is one packet
// time of interleaved big-endian samples.
type AudioConfig struct {
	Channels    int
	SampleRate  int
	SampleBytes int // 2 (L16) or 3 (L24)
	Samples     int // per packet: 48 at 1 ms and 48 kHz
}

// PacketBytes is the payload of one audio packet.
func (a AudioConfig) PacketBytes() int { return a.Channels * a.SampleBytes * a.Samples }

// Encoding is the SDP encoding name: L16 or L24.
func (a AudioConfig) Encoding() string {
	if a.SampleBytes == 2 {
		return "L16"
	}
	return "L24"
}

// PacketTime is the audio packet time.
func (a AudioConfig) PacketTime() time.Duration {
	return time.Duration(int64(a.Samples) * int64(time.Second) / int64(a.SampleRate))
}

func (c *Config) setDefaults() {
	if c.Clock == nil {
		c.Clock = mediaclock.System()
	}
	if c.MaxPacket == 0 {
		c.MaxPacket = DefaultMaxPacket
	}
	if c.ReorderWindow == 0 {
		c.ReorderWindow = DefaultReorderWindow
	}
	if c.Net.RecvBuffer == 0 {
		c.Net.RecvBuffer = DefaultRecvBuffer
	}
	if c.Net.SendBuffer == 0 {
		c.Net.SendBuffer = DefaultSendBuffer
	}
	v := &c.Video
	if v.Colorimetry == "" {
		v.Colorimetry = "BT709"
	}
	if v.TCS == "" {
		v.TCS = "SDR"
	}
	if v.Range == "" {
		v.Range = "NARROW"
	}
	if c.Idle == 0 {
		c.Idle = 20 * time.Millisecond
		if v.Rate.Num > 0 {
			c.Idle = max(c.Idle, 2*v.Rate.Period())
		}
	}
}

func (c *Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrConfig, c.Essence, fmt.Sprintf(format, args...))
	}
	if _, err := pacing.ParseSender(c.Video.Pacing); err != nil {
		return bad("pacing: %v", err)
	}
	if c.PayloadType > 127 {
		return bad("payload type %d: want 0-127", c.PayloadType)
	}
	if c.MaxPacket < 200 || c.MaxPacket > 8960 {
		return bad("max packet %d bytes: want 200-8960", c.MaxPacket)
	}
	if c.Layout.Total == 0 {
		return bad("no buffer layout")
	}
	switch c.Essence {
	case Video, JPEGXS:
		v := c.Video
		if v.Width <= 0 || v.Height <= 0 || v.Rate.Num <= 0 || v.Rate.Den <= 0 {
			return bad("video %dx%d at %s: want a positive size and frame rate", v.Width, v.Height, v.Rate)
		}
	case Audio:
		a := c.Audio
		switch {
		case a.Channels < 1 || a.Channels > 64:
			return bad("%d channels: want 1-64", a.Channels)
		case a.SampleBytes != 2 && a.SampleBytes != 3:
			return bad("%d-byte samples: want L16 or L24", a.SampleBytes)
		case a.SampleRate != 44100 && a.SampleRate != 48000 && a.SampleRate != 96000:
			return bad("sample rate %d: want 44100, 48000 or 96000", a.SampleRate)
		case a.Samples < 1:
			return bad("%d samples per packet", a.Samples)
		case 12+a.PacketBytes() > c.MaxPacket:
			return bad("a packet time is %d bytes: more than one %d-byte packet", a.PacketBytes(), c.MaxPacket)
		case int(c.Layout.Payload.Size) < a.PacketBytes():
			return bad("buffers hold %d payload bytes, a packet time needs %d", c.Layout.Payload.Size, a.PacketBytes())
		}
	case Anc:
	default:
		return bad("unknown essence")
	}
	return nil
}

// sender is the ST 2110-21 sender type; validate checked it.
func (v VideoConfig) sender() pacing.Sender {
	s, _ := pacing.ParseSender(v.Pacing)
	return s
}

// clockRate is the RTP clock of the essence.
func (c *Config) clockRate() uint32 {
	if c.Essence == Audio {
		return uint32(c.Audio.SampleRate)
	}
	return 90000
}

// addrOr returns a if valid, else b.
func addrOr(a, b netip.Addr) netip.Addr {
	if a.IsValid() && !a.IsUnspecified() {
		return a
	}
	return b
}
