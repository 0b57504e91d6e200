package sdk_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mediamesh/sdk"
)

// SDPs as FFmpeg, GStreamer and ST 2110 gear write them (shared/spec
// st2110.md §10, shared/interop).
const (
	ffmpegVideoSDP = "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=No Name\nc=IN IP4 127.0.0.1\nt=0 0\n" +
		"a=tool:libavformat LIBAVFORMAT_VERSION\nm=video 5004 RTP/AVP 96\nb=AS:46080\n" +
		"a=rtpmap:96 raw/90000\na=fmtp:96 sampling=YCbCr-4:2:2; width=320; height=240; depth=10\n"
	st2110VideoSDP = "v=0\r\no=- 1700000000 1700000000 IN IP4 192.0.2.10\r\ns=Camera 1 video\r\nt=0 0\r\n" +
		"m=video 5004 RTP/AVP 96\r\nc=IN IP4 239.10.1.1/64\r\n" +
		"a=source-filter: incl IN IP4 239.10.1.1 192.0.2.10\r\na=rtpmap:96 raw/90000\r\n" +
		"a=fmtp:96 sampling=YCbCr-4:2:2; width=1920; height=1080; exactframerate=60000/1001; depth=10; " +
		"TCS=SDR; colorimetry=BT709; PM=2110GPM; SSN=ST2110-20:2017; TP=2110TPW\r\n" +
		"a=ts-refclk:ptp=IEEE1588-2008:08-00-11-FF-FE-21-E1-B0:127\r\na=mediaclk:direct=0\r\n"
	uyvySDP = "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=8-bit\nc=IN IP4 127.0.0.1\nt=0 0\n" +
		"m=video 5010 RTP/AVP 100\na=rtpmap:100 raw/90000\n" +
		"a=fmtp:100 sampling=YCbCr-4:2:2; width=640; height=360; exactframerate=50; depth=8\n"
	jxsSDP = "v=0\no=- 1700000002 1700000002 IN IP4 192.0.2.10\ns=Camera 1 JPEG XS\nt=0 0\n" +
		"m=video 5006 RTP/AVP 98\nc=IN IP4 239.10.1.3/64\nb=AS:380000\n" +
		"a=source-filter: incl IN IP4 239.10.1.3 192.0.2.10\na=rtpmap:98 jxsv/90000\n" +
		"a=fmtp:98 packetmode=0; transmode=1; profile=Main422.10; level=2k-1; sublevel=Sublev3bpp; " +
		"sampling=YCbCr-4:2:2; depth=10; width=1920; height=1080; exactframerate=60000/1001; " +
		"colorimetry=BT709; TCS=SDR; RANGE=NARROW; SSN=ST2110-22:2019; TP=2110TPNL\n" +
		"a=ts-refclk:ptp=IEEE1588-2008:08-00-11-FF-FE-21-E1-B0:127\na=mediaclk:direct=0\n"
	ancSDP = "v=0\no=- 1700000003 1700000003 IN IP4 192.0.2.10\ns=Camera 1 ANC\nt=0 0\n" +
		"m=video 5008 RTP/AVP 100\nc=IN IP4 239.10.1.4/64\n" +
		"a=source-filter: incl IN IP4 239.10.1.4 192.0.2.10\na=rtpmap:100 smpte291/90000\n" +
		"a=fmtp:100 DID_SDID={0x61,0x01};DID_SDID={0x41,0x07};VPID_Code=133;exactframerate=60000/1001;TM=CTM;SSN=ST2110-40:2021\n" +
		"a=ts-refclk:ptp=IEEE1588-2008:08-00-11-FF-FE-21-E1-B0:127\na=mediaclk:direct=0\n"
)

// audioSDP is an -30 SDP: encoding L24 or L16, channels, and a=ptime
// unless ptime is "" (FFmpeg writes none).
func audioSDP(encoding, channels, ptime string) string {
	s := "v=0\no=- 1700000001 1700000001 IN IP4 192.0.2.10\ns=Camera 1 audio\nt=0 0\n" +
		"m=audio 5006 RTP/AVP 97\nc=IN IP4 239.10.1.2/64\n" +
		"a=source-filter: incl IN IP4 239.10.1.2 192.0.2.10\n" +
		"a=rtpmap:97 " + encoding + "/48000/" + channels + "\na=fmtp:97 channel-order=SMPTE2110.(ST)\n"
	if ptime != "" {
		s += "a=ptime:" + ptime + "\n"
	}
	return s + "a=mediaclk:direct=0\n"
}

// sdpCase is what a receiver's config must say after reading an SDP.
type sdpCase struct {
	name, sdp                   string
	transport, ip, source       string
	port, pt                    int
	video                       *sdk.Video
	audio                       *sdk.Audio
	blob                        bool
	payloadSize, maxPayloadSize int
}

var sdpCases = []sdpCase{
	{name: "ffmpeg minimal -20", sdp: ffmpegVideoSDP, transport: "st2110-20", ip: "127.0.0.1", port: 5004, pt: 96,
		video:       &sdk.Video{Width: 320, Height: 240, FPS: 59.94, PixelFormat: "yuv422p10rfc4175"},
		payloadSize: 320 * 240 * 5 / 2},
	{name: "full -20 multicast", sdp: st2110VideoSDP, transport: "st2110-20", ip: "239.10.1.1", source: "192.0.2.10", port: 5004, pt: 96,
		video:       &sdk.Video{Width: 1920, Height: 1080, FPS: 60000.0 / 1001, PixelFormat: "yuv422p10rfc4175"},
		payloadSize: 5184000},
	{name: "8-bit -20", sdp: uyvySDP, transport: "st2110-20", ip: "127.0.0.1", port: 5010, pt: 100,
		video:       &sdk.Video{Width: 640, Height: 360, FPS: 50, PixelFormat: "uyvy"},
		payloadSize: 640 * 360 * 2},
	{name: "-22", sdp: jxsSDP, transport: "st2110-22", ip: "239.10.1.3", source: "192.0.2.10", port: 5006, pt: 98,
		video:       &sdk.Video{Width: 1920, Height: 1080, FPS: 60000.0 / 1001, PixelFormat: "yuv422p10le"},
		payloadSize: 1920 * 1080 * 4},
	{name: "L24 1ms", sdp: audioSDP("L24", "2", "1"), transport: "st2110-30", ip: "239.10.1.2", source: "192.0.2.10", port: 5006, pt: 97,
		audio: &sdk.Audio{Channels: 2, SampleRate: 48000, Format: "pcm_s24be", PacketTime: "1ms"}, payloadSize: 288},
	{name: "L24 without ptime", sdp: audioSDP("L24", "2", ""), transport: "st2110-30", ip: "239.10.1.2", source: "192.0.2.10", port: 5006, pt: 97,
		audio: &sdk.Audio{Channels: 2, SampleRate: 48000, Format: "pcm_s24be", PacketTime: "1ms"}, payloadSize: 288},
	{name: "L16 125us", sdp: audioSDP("L16", "8", "0.125"), transport: "st2110-30", ip: "239.10.1.2", source: "192.0.2.10", port: 5006, pt: 97,
		audio: &sdk.Audio{Channels: 8, SampleRate: 48000, Format: "pcm_s16be", PacketTime: "125us"}, payloadSize: 8 * 2 * 6},
	{name: "L16 without ptime", sdp: audioSDP("L16", "2", ""), transport: "st2110-30", ip: "239.10.1.2", source: "192.0.2.10", port: 5006, pt: 97,
		audio: &sdk.Audio{Channels: 2, SampleRate: 48000, Format: "pcm_s16be", PacketTime: "1ms"}, payloadSize: 192},
	{name: "-40", sdp: ancSDP, transport: "st2110-40", ip: "239.10.1.4", source: "192.0.2.10", port: 5008, pt: 100,
		blob: true, payloadSize: 8192, maxPayloadSize: 8192},
}

// check compares a config made from c.sdp with what c says.
func (c sdpCase) check(t *testing.T, cfg sdk.ConnectionConfig) {
	t.Helper()
	s := cfg.Connection.ST2110
	if s == nil {
		t.Fatalf("no st2110 endpoint: %+v", cfg.Connection)
	}
	if s.Transport != c.transport || s.IPAddr != c.ip || s.MulticastSourceIPAddr != c.source || s.Port != c.port || s.PayloadType != c.pt {
		t.Errorf("endpoint %+v, want %s %s (source %q) port %d pt %d", *s, c.transport, c.ip, c.source, c.port, c.pt)
	}
	if s.SDP != c.sdp || s.SDPFile != "" {
		t.Errorf("the endpoint keeps sdp %q, sdpFile %q: want the SDP text only", s.SDP, s.SDPFile)
	}
	p := cfg.Payload
	switch {
	case c.video != nil:
		if p.Video == nil || p.Audio != nil || p.Blob != nil || *p.Video != *c.video {
			t.Errorf("payload video %+v, want %+v (payload %+v)", p.Video, *c.video, p)
		}
	case c.audio != nil:
		if p.Audio == nil || p.Video != nil || p.Blob != nil || *p.Audio != *c.audio {
			t.Errorf("payload audio %+v, want %+v (payload %+v)", p.Audio, *c.audio, p)
		}
	case c.blob:
		if p.Blob == nil || p.Video != nil || p.Audio != nil || cfg.MaxPayloadSize != uint32(c.maxPayloadSize) {
			t.Errorf("payload %+v, maxPayloadSize %d: want a blob of %d", p, cfg.MaxPayloadSize, c.maxPayloadSize)
		}
	}
	if n := cfg.PayloadSize(); n != c.payloadSize {
		t.Errorf("payload size %d, want %d", n, c.payloadSize)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("the config does not validate: %v", err)
	}
}

func TestConnectionConfigFromSDP(t *testing.T) {
	t.Parallel()
	for _, c := range sdpCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := sdk.ConnectionConfigFromSDP([]byte(c.sdp))
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, cfg)
			if cfg.BufferQueueCapacity != 16 {
				t.Errorf("bufferQueueCapacity %d, want MCM's default 16", cfg.BufferQueueCapacity)
			}
		})
	}
}

// TestParseConnectionConfigSDPFile: connection.st2110.sdpFile is read and
// takes over the endpoint (ipAddr, port, transport, payloadType), and the
// payload when the JSON has none.
func TestParseConnectionConfigSDPFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i, c := range sdpCases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".sdp")
			if err := os.WriteFile(path, []byte(c.sdp), 0o644); err != nil {
				t.Fatal(err)
			}
			js, _ := json.Marshal(map[string]any{
				"bufferQueueCapacity": 8 + i,
				"connection": map[string]any{"st2110": map[string]any{
					"sdpFile": path, "ipAddr": "10.1.1.1", "port": 1, "transport": "st2110-20", "payloadType": 112}},
			})
			cfg, err := sdk.ParseConnectionConfig(js)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, cfg)
			if cfg.BufferQueueCapacity != 8+i {
				t.Errorf("bufferQueueCapacity %d: the JSON's own keys must stay", cfg.BufferQueueCapacity)
			}
		})
	}
	// A payload in the JSON wins over the SDP's format.
	path := filepath.Join(dir, "ffmpeg.sdp")
	if err := os.WriteFile(path, []byte(ffmpegVideoSDP), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := sdk.ParseConnectionConfig([]byte(`{"connection":{"st2110":{"sdpFile":"` + path +
		`"}},"payload":{"video":{"width":320,"height":240,"fps":30,"pixelFormat":"yuv422p10le"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if v := cfg.Payload.Video; v.FPS != 30 || v.PixelFormat != "yuv422p10le" || cfg.Connection.ST2110.Port != 5004 {
		t.Errorf("video %+v, endpoint %+v: want the JSON's payload and the SDP's endpoint", *v, *cfg.Connection.ST2110)
	}
}

func TestSDPErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope.sdp")
	cases := []struct {
		name string
		run  func() error
		want []string
	}{
		{"garbage", func() error {
			_, err := sdk.ConnectionConfigFromSDP([]byte("this is not an SDP\n"))
			return err
		}, []string{"connection.st2110.sdp"}},
		{"no media", func() error {
			_, err := sdk.ConnectionConfigFromSDP([]byte("v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nt=0 0\n"))
			return err
		}, []string{"connection.st2110.sdp"}},
		{"garbage in JSON", func() error {
			_, err := sdk.ParseConnectionConfig([]byte(`{"connection":{"st2110":{"sdp":"m=video 0 RTP/AVP 96"}}}`))
			return err
		}, []string{"connection.st2110.sdp"}},
		{"missing file", func() error {
			_, err := sdk.ParseConnectionConfig([]byte(`{"connection":{"st2110":{"sdpFile":"` + missing + `"}}}`))
			return err
		}, []string{"connection.st2110.sdpFile", missing}},
		{"directory", func() error {
			_, err := sdk.ParseConnectionConfig([]byte(`{"connection":{"st2110":{"sdpFile":"` + filepath.Dir(missing) + `"}}}`))
			return err
		}, []string{"connection.st2110.sdpFile"}},
	}
	// An empty SDP is refused too (today as a blob on st2110, not as an
	// empty SDP).
	if _, err := sdk.ConnectionConfigFromSDP(nil); err == nil {
		t.Error("an empty SDP made a config")
	}
	for _, c := range cases {
		err := c.run()
		if !errors.Is(err, sdk.ErrConnConfigInvalid) {
			t.Errorf("%s: %v, want ErrConnConfigInvalid", c.name, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", c.name, err, w)
			}
		}
	}
}
