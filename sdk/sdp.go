package sdk

import (
	"io"
	"os"
	"strconv"

	"mediamesh/internal/mcm"
	"mediamesh/internal/sdp"
)

// ConnectionConfigFromSDP makes a receiver's config for the stream an SDP
// describes (ST 2110-20, -22, -30 or -40, as media-proxy, FFmpeg, GStreamer
// or broadcast gear write them): the st2110 endpoint from its addresses,
// port and payload type, the payload from its format. Video arrives in the
// wire's own layout (yuv422p10rfc4175 for 10 bits, uyvy for 8) unless the
// config is then changed; an SDP without a frame rate (FFmpeg writes none)
// is taken as 59.94.
func ConnectionConfigFromSDP(text []byte) (ConnectionConfig, error) {
	c := ConnectionConfig{
		BufferQueueCapacity: mcm.DefaultQueueCapacity,
		Connection:          Endpoint{ST2110: &ST2110{SDP: string(text)}},
	}
	if err := c.resolveSDP(); err != nil {
		return ConnectionConfig{}, err
	}
	return c, c.Validate()
}

// resolveSDP fills an st2110 endpoint from its SDP (st2110.sdp, or the
// file st2110.sdpFile): addresses, port, transport and payload type always
// come from it; the payload only when the config has none.
func (c *ConnectionConfig) resolveSDP() error {
	s := c.Connection.ST2110
	if s == nil || (s.SDP == "" && s.SDPFile == "") {
		return nil
	}
	bad := func(f string, a ...any) error { return configErr(ErrCodeConnConfigInval, f, a...) }
	if s.SDPFile != "" {
		f, err := os.Open(s.SDPFile)
		if err != nil {
			return bad("connection.st2110.sdpFile: %v", err)
		}
		b, err := io.ReadAll(io.LimitReader(f, sdp.MaxSize+1))
		_ = f.Close()
		if err != nil {
			return bad("connection.st2110.sdpFile: %v", err)
		}
		s.SDP, s.SDPFile = string(b), ""
	}
	sess, err := sdp.Parse([]byte(s.SDP))
	if err != nil {
		return bad("connection.st2110.sdp: %v", err)
	}
	m := sess.Media[0]
	s.Port = int(m.Port)
	s.PayloadType = int(m.PayloadType)
	if m.Dest.IsValid() {
		s.IPAddr = m.Dest.String()
	}
	if m.Source.IsValid() {
		s.MulticastSourceIPAddr = m.Source.String()
	}
	switch m.Encoding {
	case sdp.EncodingRaw:
		s.Transport = "st2110-20"
	case sdp.EncodingJXSV:
		s.Transport = "st2110-22"
	case sdp.EncodingL16, sdp.EncodingL24:
		s.Transport = "st2110-30"
	case sdp.EncodingSMPTE291:
		s.Transport = "st2110-40"
	}
	if c.Payload != (Payload{}) {
		return nil
	}
	switch {
	case m.Video != nil:
		v := m.Video
		fps := 59.94
		if r := v.ExactFrameRate; r.Num > 0 {
			fps = float64(r.Num) / float64(max(r.Den, 1))
		}
		pix := mcm.PixYUV422P10RFC4175
		if v.Depth == 8 {
			pix = mcm.PixUYVY
		}
		if m.Encoding == sdp.EncodingJXSV {
			pix = mcm.PixYUV422P10LE // the buffer holds a codestream of at most a raw frame
		}
		c.Payload.Video = &Video{Width: uint32(v.Width), Height: uint32(v.Height), FPS: fps, PixelFormat: pix}
	case m.Type == sdp.TypeAudio:
		format := "pcm_s24be"
		if m.Encoding == sdp.EncodingL16 {
			format = "pcm_s16be"
		}
		c.Payload.Audio = &Audio{Channels: uint32(max(m.Channels, 1)), SampleRate: m.ClockRate,
			Format: format, PacketTime: packetTime(m.PacketTime, m.ClockRate)}
	default: // ancillary data: one frame's ANC packets per buffer
		c.Payload.Blob = &Blob{}
		if c.MaxPayloadSize == 0 {
			c.MaxPayloadSize = 8192
		}
	}
	return nil
}

// packetTime names an SDP ptime (ms) as MCM's config does; FFmpeg writes
// none, and 1 ms is ST 2110-30's level A.
func packetTime(ms float64, rate uint32) string {
	if rate == 44100 {
		switch {
		case ms > 0 && ms < 0.1:
			return "0.09ms"
		case ms > 0 && ms < 0.5:
			return "0.14ms"
		default:
			return "1.09ms"
		}
	}
	switch ms {
	case 0, 1:
		return "1ms"
	case 0.125:
		return "125us"
	case 0.25:
		return "250us"
	case 0.333, 0.33:
		return "333us"
	case 4:
		return "4ms"
	case 0.08:
		return "80us"
	}
	return strconv.FormatFloat(ms, 'f', -1, 64) + "ms"
}
