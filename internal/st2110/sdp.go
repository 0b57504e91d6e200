package st2110

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"mediamesh/internal/netio"
	"mediamesh/internal/rfc4175"
	"mediamesh/internal/sdp"
)

// Session describes the Sender's stream as an ST 2110 SDP (§10): what a
// receiver — ours, FFmpeg, GStreamer, broadcast gear — needs to open it.
// Valid after Bind.
func (s *Sender) Session(name string) *sdp.Session {
	origin := addrOr(s.LocalAddr().Addr(), s.cfg.Net.Interface)
	if !origin.IsValid() {
		origin = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	dst := s.cfg.Net.Remote
	m := sdp.Media{
		Port:        dst.Port(),
		PayloadType: s.cfg.PayloadType,
		ClockRate:   s.cfg.clockRate(),
		Dest:        dst.Addr(),
		RefClock:    refClock(s.cfg, origin),
		MediaClock:  "direct=0",
	}
	if dst.Addr().IsMulticast() {
		m.TTL = s.cfg.Net.TTL
		if m.TTL == 0 {
			m.TTL = 64
		}
		m.Source = origin
	}
	v := s.cfg.Video
	rate := sdp.Rate{Num: int(v.Rate.Num), Den: int(v.Rate.Den)}
	switch s.cfg.Essence {
	case Video:
		m.Type, m.Encoding = sdp.TypeVideo, sdp.EncodingRaw
		pm := "2110GPM"
		if v.Packing == rfc4175.BPM {
			pm = "2110BPM"
		}
		m.Video = &sdp.VideoFormat{
			Sampling: "YCbCr-4:2:2", Depth: v.Format.Depth(), Width: v.Width, Height: v.Height,
			ExactFrameRate: rate, Colorimetry: v.Colorimetry, TCS: v.TCS, PM: pm,
			SSN: "ST2110-20:2017", TP: v.sender().TP(), Range: v.Range,
		}
		if s.cfg.MaxPacket > DefaultMaxPacket {
			m.Video.MaxUDP = s.cfg.MaxPacket
		}
	case JPEGXS:
		m.Type, m.Encoding = sdp.TypeVideo, sdp.EncodingJXSV
		m.Video = &sdp.VideoFormat{
			Sampling: "YCbCr-4:2:2", Depth: v.Format.Depth(), Width: v.Width, Height: v.Height,
			ExactFrameRate: rate, Colorimetry: v.Colorimetry, TCS: v.TCS, SSN: "ST2110-22:2019",
			TP: v.sender().TP(), Range: v.Range,
		}
		m.JXS = &sdp.JXSFormat{PacketMode: 0, TransMode: 1}
	case Audio:
		a := s.cfg.Audio
		m.Type, m.Encoding, m.Channels = sdp.TypeAudio, a.Encoding(), a.Channels
		m.PacketTime = float64(a.PacketTime()) / float64(time.Millisecond)
		order := channelOrder(a.Channels)
		m.Audio = &sdp.AudioFormat{ChannelOrder: order}
	case Anc:
		m.Type, m.Encoding = sdp.TypeVideo, sdp.EncodingSMPTE291
		m.Anc = &sdp.AncFormat{ExactFrameRate: rate, SSN: "ST2110-40:2021"}
	}
	now := time.Now().Unix()
	return &sdp.Session{
		Origin:         origin,
		SessionID:      uint64(now),
		SessionVersion: uint64(now),
		Name:           name,
		Media:          []sdp.Media{m},
	}
}

// SDP is Session marshalled.
func (s *Sender) SDP(name string) []byte { return s.Session(name).Marshal() }

// refClock names the reference clock (ST 2110-10): a PTP hardware clock
// is traceable PTP; the system clock is local — by the interface's MAC
// where it has one (ST 2110-10 localmac), else RFC 7273's "local".
func refClock(c Config, origin netip.Addr) string {
	if strings.HasPrefix(c.Clock.Source(), "phc:") {
		return "ptp=IEEE1588-2008:traceable"
	}
	if ifi, err := netio.InterfaceByIP(origin); err == nil && len(ifi.HardwareAddr) == 6 {
		return "localmac=" + strings.ToUpper(strings.ReplaceAll(ifi.HardwareAddr.String(), ":", "-"))
	}
	return "local"
}

// channelOrder is the SMPTE 2110 channel grouping for n channels: mono,
// stereo pairs, else undefined channels (the config does not say whether
// six channels are 5.1, so the SDP does not claim it).
func channelOrder(n int) string {
	var groups []string
	switch n {
	case 1:
		groups = []string{"M"}
	default:
		if n%2 == 0 {
			for range n / 2 {
				groups = append(groups, "ST")
			}
		} else {
			groups = []string{fmt.Sprintf("U%02d", n)}
		}
	}
	return "SMPTE2110.(" + strings.Join(groups, ",") + ")"
}
