package meshctl

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
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
	switch {
	case s.group == "":
		return fmt.Errorf("%w: --group is required", ErrUsage)
	case n != 1:
		return fmt.Errorf("%w: give exactly one of --video WxH, --audio, --blob BYTES", ErrUsage)
	case s.frames < 0:
		return fmt.Errorf("%w: --frames must not be negative", ErrUsage)
	case s.timeout <= 0:
		return fmt.Errorf("%w: --timeout must be positive", ErrUsage)
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

// connJSON is MCM's connection config for the stream.
func (s *streamFlags) connJSON() []byte {
	payload := map[string]any{}
	switch {
	case s.video != "":
		w, h, _ := parseSize(s.video)
		payload["video"] = map[string]any{"width": w, "height": h, "fps": s.fps, "pixelFormat": s.pix}
	case s.audio:
		payload["audio"] = map[string]any{"channels": s.channels, "sampleRate": s.rate, "format": s.format, "packetTime": s.ptime}
	default:
		payload["blob"] = map[string]any{}
	}
	cfg := map[string]any{
		"bufferQueueCapacity": s.queue,
		"maxPayloadSize":      s.blob,
		"maxMetadataSize":     s.metadata,
		"connection":          map[string]any{"multipointGroup": map[string]any{"urn": s.group}},
		"payload":             payload,
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
