package meshctl

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// streamFlags describe a connection the way meshctl send and recv take it
// on the command line; they become MCM's JSON connection config, so the
// path is exactly what MCM apps use.
type streamFlags struct {
	proxy    string
	group    string
	video    string
	fps      float64
	pix      string
	audio    bool
	rate     int
	channels int
	format   string
	ptime    string
	blob     int
	metadata int
	queue    int
	reliable bool
	frames   int
	timeout  time.Duration

	// ST 2110 instead of a group.
	st2110    string // ADDR:PORT
	sdp       string // recv: create from this SDP file; send: write the proxy's SDP here
	transport string
	pt        int
	source    string
	dropBad   bool
}

func (s *streamFlags) register(fs *flag.FlagSet, env Env) {
	fs.StringVar(&s.proxy, "proxy", defaultProxy(env), "media-proxy SDK API: HOST:PORT, or unix:PATH for its socket")
	fs.StringVar(&s.group, "group", "", "multipoint group URN (required)")
	fs.StringVar(&s.video, "video", "", "video WIDTHxHEIGHT")
	fs.Float64Var(&s.fps, "fps", 59.94, "video frame rate")
	fs.StringVar(&s.pix, "pix", "yuv422p10le", "video pixel format: yuv422p10le, v210 or yuv422p10rfc4175")
	fs.BoolVar(&s.audio, "audio", false, "audio stream (see --sample-rate --channels --format --ptime)")
	fs.IntVar(&s.rate, "sample-rate", 48000, "audio sample rate: 48000, 96000 or 44100")
	fs.IntVar(&s.channels, "channels", 2, "audio channels")
	fs.StringVar(&s.format, "format", "pcm_s24be", "audio sample format: pcm_s24be, pcm_s16be or pcm_s8")
	fs.StringVar(&s.ptime, "ptime", "1ms", "audio packet time: 1ms 125us 250us 333us 4ms 80us (44.1 kHz: 1.09ms 0.14ms 0.09ms)")
	fs.IntVar(&s.blob, "blob", 0, "blob stream of BYTES-sized buffers")
	fs.IntVar(&s.metadata, "metadata", 0, "metadata partition size in bytes (maxMetadataSize)")
	fs.IntVar(&s.queue, "queue", 16, "bufferQueueCapacity: ring slots, 2-128")
	fs.BoolVar(&s.reliable, "reliable", false, "blob groups: wait for slow receivers instead of dropping")
	fs.DurationVar(&s.timeout, "timeout", 5*time.Second, "give up when no buffer comes for this long")
	fs.StringVar(&s.st2110, "st2110", "", "ST 2110 stream ADDR:PORT instead of a group (send: destination; recv: multicast group or local unicast port)")
	fs.StringVar(&s.sdp, "sdp", "", "ST 2110: recv creates the connection from this SDP FILE; send writes the proxy's SDP of the stream to FILE")
	fs.StringVar(&s.transport, "transport", "st2110-20", "with --st2110: st2110-20, st2110-22, st2110-30 (implied by --audio) or st2110-40")
	fs.IntVar(&s.pt, "pt", 96, "with --st2110: RTP payload type")
	fs.StringVar(&s.source, "source", "", "with --st2110 recv of a multicast group: the sender's address (source-specific join)")
	fs.BoolVar(&s.dropBad, "drop-incomplete", false, "with --st2110 recv: drop frames that lost packets instead of delivering them flagged")
}

// onWire reports an ST 2110 stream rather than a group.
func (s *streamFlags) onWire() bool { return s.st2110 != "" || s.sdp != "" }

// wireDefaults adjusts defaults for ST 2110 once flags are parsed: the
// wire carries 10 bits per sample, so the lossless app layout for the test
// pattern is the wire's own pgroups.
func (s *streamFlags) wireDefaults(fs *flag.FlagSet) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if s.onWire() && !set["pix"] {
		s.pix = "yuv422p10rfc4175"
	}
	if !set["transport"] && s.audio {
		s.transport = "st2110-30" // --audio on the wire can only be -30
	}
}

func defaultProxy(env Env) string {
	ip, port := "127.0.0.1", "8002"
	if env.Getenv != nil {
		if v := env.Getenv("MCM_MEDIA_PROXY_IP"); v != "" {
			ip = v
		}
		if v := env.Getenv("MCM_MEDIA_PROXY_PORT"); v != "" {
			port = v
		}
	}
	return net.JoinHostPort(ip, port)
}

func (s *streamFlags) validate() error {
	n := 0
	if s.video != "" {
		n++
	}
	if s.audio {
		n++
	}
	if s.blob > 0 {
		n++
	}
	targets := 0
	for _, t := range []string{s.group, s.st2110} {
		if t != "" {
			targets++
		}
	}
	fromSDP := s.sdp != "" && s.st2110 == "" // recv --sdp: the SDP names the stream
	switch {
	case targets == 0 && !fromSDP:
		return fmt.Errorf("%w: --group URN or --st2110 ADDR:PORT is required", ErrUsage)
	case targets > 1:
		return fmt.Errorf("%w: give --group or --st2110, not both", ErrUsage)
	case s.group != "" && s.sdp != "":
		return fmt.Errorf("%w: --sdp goes with ST 2110 streams, not groups", ErrUsage)
	case n > 1 || (n == 0 && !fromSDP):
		return fmt.Errorf("%w: give exactly one of --video WxH, --audio, --blob BYTES", ErrUsage)
	case s.frames < 0:
		return fmt.Errorf("%w: --frames must not be negative", ErrUsage)
	case s.timeout <= 0:
		return fmt.Errorf("%w: --timeout must be positive", ErrUsage)
	}
	if s.st2110 != "" {
		if _, err := netip.ParseAddrPort(s.st2110); err != nil {
			return fmt.Errorf("%w: --st2110 %q: want IPv4:PORT", ErrUsage, s.st2110)
		}
	}
	if s.video != "" {
		if _, _, err := parseSize(s.video); err != nil {
			return fmt.Errorf("%w: --video: %v", ErrUsage, err)
		}
		if s.fps <= 0 {
			return fmt.Errorf("%w: --fps must be positive", ErrUsage)
		}
	}
	return nil
}

func parseSize(v string) (int, int, error) {
	ws, hs, ok := strings.Cut(strings.ToLower(v), "x")
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if !ok || err1 != nil || err2 != nil || w <= 0 || h <= 0 {
		return 0, 0, fmt.Errorf("%q: want WIDTHxHEIGHT", v)
	}
	return w, h, nil
}

// clientJSON is MCM's client config for the --proxy address.
func (s *streamFlags) clientJSON() []byte {
	server, port := s.proxy, ""
	if !strings.HasPrefix(server, "unix:") {
		if h, p, err := net.SplitHostPort(s.proxy); err == nil {
			server, port = h, p
		}
	}
	b, _ := json.Marshal(map[string]any{
		"apiVersion":          "v1",
		"apiConnectionString": "Server=" + server + "; Port=" + port,
	})
	return b
}

// wireJSON is MCM's connection.st2110 object for --st2110 / --sdp.
func (s *streamFlags) wireJSON(rx bool) map[string]any {
	w := map[string]any{"transport": s.transport, "payloadType": s.pt}
	if ap, err := netip.ParseAddrPort(s.st2110); err == nil {
		w["ipAddr"], w["port"] = ap.Addr().String(), int(ap.Port())
	}
	if s.source != "" {
		w["multicastSourceIpAddr"] = s.source
	}
	if rx && s.sdp != "" {
		w["sdpFile"] = s.sdp
	}
	if s.dropBad {
		w["dropIncomplete"] = true
	}
	return w
}

// connJSON is MCM's connection config for the stream; rx for a receiver.
func (s *streamFlags) connJSON(rx bool) []byte {
	payload := map[string]any{}
	switch {
	case s.video != "":
		w, h, _ := parseSize(s.video)
		payload["video"] = map[string]any{"width": w, "height": h, "fps": s.fps, "pixelFormat": s.pix}
	case s.audio:
		payload["audio"] = map[string]any{"channels": s.channels, "sampleRate": s.rate, "format": s.format, "packetTime": s.ptime}
	case s.blob > 0:
		payload["blob"] = map[string]any{}
	}
	cfg := map[string]any{
		"bufferQueueCapacity": s.queue,
		"maxPayloadSize":      s.blob,
		"maxMetadataSize":     s.metadata,
		"connection":          map[string]any{"multipointGroup": map[string]any{"urn": s.group}},
		"payload":             payload,
	}
	if s.onWire() {
		cfg["connection"] = map[string]any{"st2110": s.wireJSON(rx)}
		if len(payload) == 0 {
			delete(cfg, "payload") // the SDP says what it is
		}
	}
	if s.reliable {
		cfg["options"] = map[string]any{"reliable": true}
	}
	b, _ := json.Marshal(cfg)
	return b
}

// period is the real-time interval between buffers (0: unpaced blobs).
func (s *streamFlags) period() time.Duration {
	switch {
	case s.video != "":
		return time.Duration(float64(time.Second) / s.fps)
	case s.audio:
		return packetTime(s.ptime)
	default:
		return 0
	}
}

func packetTime(p string) time.Duration {
	switch p {
	case "1.09ms":
		return 1088435 * time.Nanosecond // 48 samples at 44.1 kHz
	case "0.14ms":
		return 136054 * time.Nanosecond
	case "0.09ms":
		return 90703 * time.Nanosecond
	case "333us":
		return 333333 * time.Nanosecond
	}
	d, err := time.ParseDuration(strings.Replace(p, "us", "µs", 1))
	if err != nil {
		return time.Millisecond
	}
	return d
}
