package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	sdkpb "mediamesh/api/mcm/sdk"
	"mediamesh/internal/mcm"
)

// ClientConfig is MCM's client JSON configuration (mcm-api.md §3.1).
type ClientConfig struct {
	APIVersion          string `json:"apiVersion"`
	APIConnectionString string `json:"apiConnectionString"`
	// APIDefaultTimeoutMicroseconds is the wait of GetBufferDefault. MCM
	// used it as milliseconds by mistake (mcm-api.md §8 #7); mediamesh reads
	// it as documented: microseconds.
	APIDefaultTimeoutMicroseconds int `json:"apiDefaultTimeoutMicroseconds"`
	MaxMediaConnections           int `json:"maxMediaConnections"`
}

// Client defaults, as in MCM.
const (
	DefaultProxyIP        = "127.0.0.1"
	DefaultProxyPort      = "8002"
	defaultTimeoutMicros  = 1000000
	defaultMaxConnections = 32
)

// ParseClientConfig parses MCM's client JSON. Unknown keys are ignored, as
// MCM does, so MCM configs load unchanged.
func ParseClientConfig(data []byte) (ClientConfig, error) {
	c := ClientConfig{APIVersion: "v1", APIDefaultTimeoutMicroseconds: defaultTimeoutMicros, MaxMediaConnections: defaultMaxConnections}
	if err := decode(data, &c); err != nil {
		return ClientConfig{}, configErr(ErrCodeClientConfigInval, "%w", err)
	}
	return c, c.Validate()
}

// Validate checks a client config.
func (c ClientConfig) Validate() error {
	switch {
	case c.APIDefaultTimeoutMicroseconds < -2:
		return configErr(ErrCodeClientConfigInval, "apiDefaultTimeoutMicroseconds %d: want ≥ 0, -1 (infinite) or -2 (default)", c.APIDefaultTimeoutMicroseconds)
	case c.MaxMediaConnections < 0:
		return configErr(ErrCodeClientConfigInval, "maxMediaConnections %d: must not be negative", c.MaxMediaConnections)
	}
	return nil
}

func (c ClientConfig) maxConnections() int {
	if c.MaxMediaConnections == 0 {
		return defaultMaxConnections
	}
	return c.MaxMediaConnections
}

func (c ClientConfig) defaultTimeout() time.Duration {
	switch us := c.APIDefaultTimeoutMicroseconds; {
	case us == -1:
		return TimeoutInfinite
	case us <= 0:
		return defaultTimeoutMicros * time.Microsecond
	default:
		return time.Duration(us) * time.Microsecond
	}
}

// ProxyTarget resolves the proxy address (mcm-api.md §3.2): Server and Port
// from apiConnectionString ("Server=<ip>; Port=<port>"), else the
// environment's MCM_MEDIA_PROXY_IP and MCM_MEDIA_PROXY_PORT, else
// 127.0.0.1:8002. A Server of the form "unix:/path" names media-proxy's
// unix socket and is returned as is.
func (c ClientConfig) ProxyTarget(lookupEnv func(string) (string, bool)) string {
	var server, port string
	for item := range strings.SplitSeq(c.APIConnectionString, ";") {
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "Server":
			server = strings.TrimSpace(v)
		case "Port":
			port = strings.TrimSpace(v)
		}
	}
	if strings.HasPrefix(server, "unix:") {
		return server
	}
	env := func(k, def string) string {
		if lookupEnv != nil {
			if v, ok := lookupEnv(k); ok && v != "" {
				return v
			}
		}
		return def
	}
	if server == "" {
		server = env("MCM_MEDIA_PROXY_IP", DefaultProxyIP)
	}
	if strings.HasPrefix(server, "unix:") {
		return server
	}
	if port == "" {
		port = env("MCM_MEDIA_PROXY_PORT", DefaultProxyPort)
	}
	return net.JoinHostPort(server, port)
}

// ConnectionConfig is MCM's connection JSON configuration (mcm-api.md
// §3.3–3.6), with mediamesh's one addition, Options.Reliable.
type ConnectionConfig struct {
	BufferQueueCapacity           int      `json:"bufferQueueCapacity"`
	MaxPayloadSize                uint32   `json:"maxPayloadSize"`
	MaxMetadataSize               uint32   `json:"maxMetadataSize"`
	ConnCreationDelayMilliseconds int      `json:"connCreationDelayMilliseconds"`
	Connection                    Endpoint `json:"connection"`
	Options                       Options  `json:"options"`
	Payload                       Payload  `json:"payload"`
}

// Endpoint names what a connection attaches to (MCM's "connection" key):
// exactly one field is set.
type Endpoint struct {
	MultipointGroup *MultipointGroup `json:"multipointGroup,omitempty"`
	ST2110          *ST2110          `json:"st2110,omitempty"`
	RDMA            *RDMA            `json:"rdma,omitempty"`
}

// MultipointGroup is a group of apps exchanging one stream.
type MultipointGroup struct {
	URN string `json:"urn"`
}

// ST2110 describes an ST 2110 / RTP endpoint on the wire.
type ST2110 struct {
	Transport             string `json:"transport"` // st2110-20, st2110-22, st2110-30, st2110-40
	IPAddr                string `json:"ipAddr"`
	Port                  int    `json:"port"`
	MulticastSourceIPAddr string `json:"multicastSourceIpAddr"`
	Pacing                string `json:"pacing"`
	PayloadType           int    `json:"payloadType"`
	TransportPixelFormat  string `json:"transportPixelFormat"`

	// mediamesh extensions (MCM ignores them).

	// SDP is the stream's session description (receivers): ipAddr, port,
	// multicastSourceIpAddr, transport and payloadType come from it, and
	// payload.video or payload.audio too when the config has none.
	SDP string `json:"sdp,omitempty"`
	// SDPFile names a file holding the SDP.
	SDPFile string `json:"sdpFile,omitempty"`
	// DropIncomplete drops frames that lost packets instead of delivering
	// them flagged (see Buffer.FrameInfo).
	DropIncomplete bool `json:"dropIncomplete,omitempty"`
	// Packing is a sender's RFC 4175 packing mode: "gpm" (default) or "bpm".
	Packing string `json:"packing,omitempty"`
	// Burst caps a sender's pacing bursts, in packets (default: the ST
	// 2110-21 wide sender's CMAX).
	Burst int `json:"burst,omitempty"`
	// TTL is a multicast sender's TTL (default 64).
	TTL int `json:"ttl,omitempty"`
}

// UnmarshalJSON applies MCM's defaults before reading.
func (s *ST2110) UnmarshalJSON(b []byte) error {
	type plain ST2110
	p := plain{Transport: "st2110-20", PayloadType: 112, TransportPixelFormat: mcm.PixYUV422P10RFC4175}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = ST2110(p)
	return nil
}

// RDMA is accepted for MCM compatibility; mediamesh bridges groups instead.
type RDMA struct {
	ConnectionMode        string `json:"connectionMode"`
	MaxLatencyNanoseconds uint32 `json:"maxLatencyNanoseconds"`
}

// Options are connection options.
type Options struct {
	RDMA *RDMAOptions `json:"rdma,omitempty"`
	// Reliable (mediamesh) asks the group to wait for slow receivers
	// instead of dropping their oldest buffers: nothing is lost, and the
	// sender slows down to the slowest receiver.
	Reliable bool `json:"reliable,omitempty"`
	// BusyPoll (mediamesh) makes a receiver spin on its ring instead of
	// sleeping on the eventfd: lowest latency, one core busy per receiver.
	BusyPoll bool `json:"busyPoll,omitempty"`
	// Copy (mediamesh) makes a receiver take copies into its own buffers
	// instead of reading the sender's memory in place (the default with
	// mediamesh's proxy): MCM's data path, for comparison or for apps that
	// write into received buffers.
	Copy bool `json:"copy,omitempty"`
}

// RDMAOptions are MCM's options.rdma.
type RDMAOptions struct {
	Provider     string `json:"provider"`
	NumEndpoints int    `json:"num_endpoints"`
}

// UnmarshalJSON accepts num_endpoints (MCM's code) and numEndpoints (its
// docs).
func (o *RDMAOptions) UnmarshalJSON(b []byte) error {
	var p struct {
		Provider  *string `json:"provider"`
		Snake     *int    `json:"num_endpoints"`
		Camel     *int    `json:"numEndpoints"`
		unmatched struct{}
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*o = RDMAOptions{Provider: "tcp", NumEndpoints: 1}
	if p.Provider != nil {
		o.Provider = *p.Provider
	}
	if p.Camel != nil {
		o.NumEndpoints = *p.Camel
	}
	if p.Snake != nil {
		o.NumEndpoints = *p.Snake
	}
	_ = p.unmatched
	return nil
}

// Payload is what the buffers carry: exactly one field is set; none means
// blob, as in MCM.
type Payload struct {
	Video *Video `json:"video,omitempty"`
	Audio *Audio `json:"audio,omitempty"`
	Blob  *Blob  `json:"blob,omitempty"`
}

// Video is raw video, one frame per buffer.
type Video struct {
	Width       uint32  `json:"width"`
	Height      uint32  `json:"height"`
	FPS         float64 `json:"fps"`
	PixelFormat string  `json:"pixelFormat"` // yuv422p10le, v210, yuv422p10rfc4175
}

// UnmarshalJSON applies MCM's defaults (640x640 at 60, yuv422p10le: the
// height default is MCM's, kept for compatibility).
func (v *Video) UnmarshalJSON(b []byte) error {
	type plain Video
	p := plain{Width: 640, Height: 640, FPS: 60, PixelFormat: mcm.PixYUV422P10LE}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*v = Video(p)
	return nil
}

// Audio is PCM audio, one packet time per buffer.
type Audio struct {
	Channels   uint32 `json:"channels"`
	SampleRate uint32 `json:"sampleRate"` // 48000, 96000, 44100
	Format     string `json:"format"`     // pcm_s24be, pcm_s16be, pcm_s8
	PacketTime string `json:"packetTime"` // 1ms 125us 250us 333us 4ms 80us; 44.1 kHz: 1.09ms 0.14ms 0.09ms
}

// UnmarshalJSON applies MCM's defaults (stereo, 48 kHz, pcm_s24be, 1ms).
func (a *Audio) UnmarshalJSON(b []byte) error {
	type plain Audio
	p := plain{Channels: 2, SampleRate: 48000, Format: "pcm_s24be", PacketTime: "1ms"}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*a = Audio(p)
	return nil
}

// Blob is opaque data of up to MaxPayloadSize bytes per buffer.
type Blob struct{}

// ParseConnectionConfig parses MCM's connection JSON. Unknown keys are
// ignored as in MCM; a key of the wrong type or an invalid value is an
// error naming the key. An st2110 endpoint with an SDP (mediamesh's
// connection.st2110.sdp or sdpFile) is filled from it, reading the file.
func ParseConnectionConfig(data []byte) (ConnectionConfig, error) {
	var raw struct {
		Connection json.RawMessage `json:"connection"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return ConnectionConfig{}, configErr(ErrCodeConnConfigInval, "%w", describe(err))
	}
	c := ConnectionConfig{BufferQueueCapacity: mcm.DefaultQueueCapacity}
	if err := decode(data, &c); err != nil {
		return ConnectionConfig{}, configErr(ErrCodeConnConfigInval, "%w", err)
	}
	if raw.Connection == nil {
		return ConnectionConfig{}, configErr(ErrCodeConnConfigInval, "connection: required; want one of multipointGroup, st2110, rdma")
	}
	if err := c.resolveSDP(); err != nil {
		return ConnectionConfig{}, err
	}
	return c, c.Validate()
}

func decode(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return describe(err)
	}
	if d.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// describe turns encoding/json errors into ones that name the key.
func describe(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s: got JSON %s, want %s", te.Field, te.Value, jsonKind(te.Type.Kind().String()))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, err)
	}
	return err
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "struct", "map", "ptr":
		return "an object"
	default:
		return "a number in range (" + goKind + ")"
	}
}

var transports = map[string]sdkpb.ST2110Transport{
	"st2110-20": sdkpb.ST2110Transport_CONN_TRANSPORT_ST2110_20,
	"st2110-22": sdkpb.ST2110Transport_CONN_TRANSPORT_ST2110_22,
	"st2110-30": sdkpb.ST2110Transport_CONN_TRANSPORT_ST2110_30,
}

// Validate checks the config as MCM's SDK does (mcm-api.md §3.7), with
// range checks MCM skipped (§8 #14).
func (c ConnectionConfig) Validate() error {
	inval := func(f string, a ...any) error { return configErr(ErrCodeConnConfigInval, f, a...) }
	incompat := func(f string, a ...any) error { return configErr(ErrCodeConnConfigIncompat, f, a...) }
	if q := c.BufferQueueCapacity; q < 0 || q > mcm.MaxQueueCapacity {
		return inval("bufferQueueCapacity %d: want 2-128 (0 or 1: default 16)", q)
	}
	if c.ConnCreationDelayMilliseconds < 0 || c.ConnCreationDelayMilliseconds > 10000 {
		return inval("connCreationDelayMilliseconds %d: want 0-10000", c.ConnCreationDelayMilliseconds)
	}
	n := 0
	for _, set := range []bool{c.Connection.MultipointGroup != nil, c.Connection.ST2110 != nil, c.Connection.RDMA != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return inval("connection: want exactly one of multipointGroup, st2110, rdma, got %d", n)
	}
	p := 0
	for _, set := range []bool{c.Payload.Video != nil, c.Payload.Audio != nil, c.Payload.Blob != nil} {
		if set {
			p++
		}
	}
	if p > 1 {
		return inval("payload: want exactly one of video, audio, blob, got %d", p)
	}
	blob := p == 0 || c.Payload.Blob != nil
	switch {
	case c.Connection.MultipointGroup != nil && c.Connection.MultipointGroup.URN == "":
		return inval("connection.multipointGroup.urn: must not be empty")
	case c.Connection.ST2110 != nil:
		s := c.Connection.ST2110
		if anc := s.Transport == "st2110-40"; blob && !anc {
			return incompat("payload.blob: needs connection.multipointGroup, not st2110 (but st2110-40)")
		} else if anc && !blob {
			return incompat("connection.st2110.transport st2110-40: carries a blob payload (the ANC data), not video or audio")
		}
		if s.Packing != "" && s.Packing != "gpm" && s.Packing != "bpm" {
			return inval("connection.st2110.packing %q: want gpm or bpm", s.Packing)
		}
		if s.Burst < 0 || s.Burst > 64 {
			return inval("connection.st2110.burst %d: want 1-64", s.Burst)
		}
		if s.TTL < 0 || s.TTL > 255 {
			return inval("connection.st2110.ttl %d: want 1-255", s.TTL)
		}
		if _, ok := transports[s.Transport]; !ok && s.Transport != "st2110-40" {
			return inval("connection.st2110.transport %q: want one of st2110-20, st2110-22, st2110-30, st2110-40", s.Transport)
		}
		if s.Port < 1 || s.Port > 65535 {
			return inval("connection.st2110.port %d: want 1-65535", s.Port)
		}
		if s.PayloadType < 0 || s.PayloadType > 127 {
			return inval("connection.st2110.payloadType %d: want 0-127", s.PayloadType)
		}
	case c.Connection.RDMA != nil && blob:
		return incompat("payload.blob: needs connection.multipointGroup, not rdma")
	}
	if o := c.Options.RDMA; o != nil {
		if o.Provider != "tcp" && o.Provider != "verbs" {
			return inval("options.rdma.provider %q: want tcp or verbs", o.Provider)
		}
		if o.NumEndpoints < 1 || o.NumEndpoints > 8 {
			return inval("options.rdma.num_endpoints %d: want 1-8", o.NumEndpoints)
		}
	}
	if v := c.Payload.Video; v != nil && v.PixelFormat == mcm.PixUYVY && c.Connection.ST2110 == nil {
		return inval("payload.video.pixelFormat uyvy: only st2110 connections carry it")
	}
	if c.Options.Reliable && !blob {
		return incompat("options.reliable: only blob groups may ask for reliable delivery")
	}
	if _, err := c.payloadSize(); err != nil {
		code := ErrCodeConnConfigInval
		if errors.Is(err, mcm.ErrIncompatible) {
			code = ErrCodeConnConfigIncompat
		}
		return &Error{Code: code, Op: "config", Err: err}
	}
	if _, err := c.layout(); err != nil {
		return inval("%w", err)
	}
	return nil
}

func (c ConnectionConfig) payloadSize() (uint32, error) {
	switch {
	case c.Payload.Video != nil:
		v := c.Payload.Video
		if v.FPS <= 0 || v.FPS > 1000 {
			return 0, fmt.Errorf("%w: payload.video.fps %g: want 0-1000", mcm.ErrInvalidConfig, v.FPS)
		}
		return mcm.VideoPayloadSize(v.Width, v.Height, v.PixelFormat)
	case c.Payload.Audio != nil:
		a := c.Payload.Audio
		return mcm.AudioPayloadSize(a.Channels, a.SampleRate, a.Format, a.PacketTime)
	default:
		if c.MaxPayloadSize == 0 {
			return 0, fmt.Errorf("%w: maxPayloadSize: a blob payload needs it > 0", mcm.ErrInvalidConfig)
		}
		return c.MaxPayloadSize, nil
	}
}

// PayloadSize is MCM's calculated payload size (not aligned): a video
// frame, an audio packet time, or maxPayloadSize for blobs. 0 if invalid.
func (c ConnectionConfig) PayloadSize() int {
	n, _ := c.payloadSize()
	return int(n)
}

func (c ConnectionConfig) queueCapacity() uint32 {
	if c.BufferQueueCapacity <= 1 {
		return mcm.DefaultQueueCapacity
	}
	return uint32(c.BufferQueueCapacity)
}

func (c ConnectionConfig) layout() (mcm.Layout, error) {
	n, err := c.payloadSize()
	if err != nil {
		return mcm.Layout{}, err
	}
	l, err := mcm.NewLayout(n, c.MaxMetadataSize)
	if err != nil {
		return l, err
	}
	return l, mcm.CheckRegion(l.Total, mcm.Log2RingSize(c.queueCapacity()))
}

func (c ConnectionConfig) reliable() bool { return c.Options.Reliable }

// wireOptions are the st2110 settings MCM's proto cannot carry.
func (c ConnectionConfig) wireOptions() mcm.WireOptions {
	s := c.Connection.ST2110
	if s == nil {
		return mcm.WireOptions{}
	}
	w := mcm.WireOptions{SDP: s.SDP, DropIncomplete: s.DropIncomplete, Packing: s.Packing, Burst: s.Burst, TTL: s.TTL}
	if s.Transport == "st2110-40" {
		w.Transport = s.Transport
	}
	if v := c.Payload.Video; v != nil && indexOf(mcm.PixelFormats, v.PixelFormat) < 0 {
		w.PixelFormat = v.PixelFormat
	}
	return w
}

// wireExtensions tell mcm's validation what the wire options change.
func wireExtensions(w mcm.WireOptions) mcm.Extensions {
	return mcm.Extensions{BlobOnWire: w.Transport == "st2110-40", PixelFormat: w.PixelFormat}
}

func indexOf[T comparable](list []T, v T) int32 {
	for i, x := range list {
		if x == v {
			return int32(i)
		}
	}
	return -1
}

// toProto builds the ConnectionConfig MCM's SDK sends in CreateConnection.
// c must be valid.
func (c ConnectionConfig) toProto(kind sdkpb.ConnectionKind) *sdkpb.ConnectionConfig {
	size, _ := c.payloadSize()
	l, _ := c.layout()
	p := &sdkpb.ConnectionConfig{
		Kind:                  kind,
		BufQueueCapacity:      c.queueCapacity(),
		MaxPayloadSize:        c.MaxPayloadSize,
		MaxMetadataSize:       c.MaxMetadataSize,
		CalculatedPayloadSize: size,
		BufParts:              l.Parts(),
	}
	switch conn := c.Connection; {
	case conn.MultipointGroup != nil:
		p.Conn = &sdkpb.ConnectionConfig_MultipointGroup{MultipointGroup: &sdkpb.ConfigMultipointGroup{Urn: conn.MultipointGroup.URN}}
	case conn.ST2110 != nil:
		s := conn.ST2110
		if kind == sdkpb.ConnectionKind_CONN_KIND_RECEIVER && p.MaxMetadataSize < mcm.FrameInfoSize {
			// Room for the FrameInfo that tells an incomplete frame from a
			// whole one: without it the proxy must drop incomplete frames.
			p.MaxMetadataSize = mcm.FrameInfoSize
			l, _ = mcm.NewLayout(size, p.MaxMetadataSize)
			p.BufParts = l.Parts()
		}
		p.Conn = &sdkpb.ConnectionConfig_St2110{St2110: &sdkpb.ConfigST2110{
			IpAddr: s.IPAddr, Port: uint32(s.Port), McastSipAddr: s.MulticastSourceIPAddr,
			Transport: transports[s.Transport], Pacing: s.Pacing, PayloadType: uint32(s.PayloadType)}}
	case conn.RDMA != nil:
		p.Conn = &sdkpb.ConnectionConfig_Rdma{Rdma: &sdkpb.ConfigRDMA{
			ConnectionMode: conn.RDMA.ConnectionMode, MaxLatencyNs: conn.RDMA.MaxLatencyNanoseconds}}
	}
	opts := RDMAOptions{Provider: "tcp", NumEndpoints: 1}
	if c.Options.RDMA != nil {
		opts = *c.Options.RDMA
	}
	p.Options = &sdkpb.ConnectionOptions{Rdma: &sdkpb.ConnectionOptionsRDMA{Provider: opts.Provider, NumEndpoints: uint32(opts.NumEndpoints)}}
	switch pl := c.Payload; {
	case pl.Video != nil:
		p.Payload = &sdkpb.ConnectionConfig_Video{Video: &sdkpb.ConfigVideo{
			Width: pl.Video.Width, Height: pl.Video.Height, Fps: pl.Video.FPS,
			PixelFormat: sdkpb.VideoPixelFormat(max(indexOf(mcm.PixelFormats, pl.Video.PixelFormat), 0))}}
	case pl.Audio != nil:
		p.Payload = &sdkpb.ConnectionConfig_Audio{Audio: &sdkpb.ConfigAudio{
			Channels:   pl.Audio.Channels,
			SampleRate: sdkpb.AudioSampleRate(indexOf(mcm.SampleRates, pl.Audio.SampleRate)),
			Format:     sdkpb.AudioFormat(indexOf(mcm.AudioFormats, pl.Audio.Format)),
			PacketTime: sdkpb.AudioPacketTime(indexOf(mcm.PacketTimes, pl.Audio.PacketTime))}}
	default:
		p.Payload = &sdkpb.ConnectionConfig_Blob{Blob: &sdkpb.ConfigBlob{}}
	}
	return p
}

// ConnectionConfigFromProto turns MCM's protobuf connection config (what
// the agent hands a proxy for a bridge) back into a ConnectionConfig. Only
// multipoint groups: an st2110 or rdma config has no group to join.
func ConnectionConfigFromProto(p *sdkpb.ConnectionConfig) (ConnectionConfig, error) {
	urn := p.GetMultipointGroup().GetUrn()
	if urn == "" {
		return ConnectionConfig{}, configErr(ErrCodeConnConfigInval, "not a multipoint group config")
	}
	c := ConnectionConfig{
		BufferQueueCapacity: int(p.GetBufQueueCapacity()),
		MaxPayloadSize:      p.GetMaxPayloadSize(),
		MaxMetadataSize:     p.GetMaxMetadataSize(),
		Connection:          Endpoint{MultipointGroup: &MultipointGroup{URN: urn}},
	}
	if o := p.GetOptions().GetRdma(); o != nil {
		c.Options.RDMA = &RDMAOptions{Provider: o.GetProvider(), NumEndpoints: int(o.GetNumEndpoints())}
	}
	pick := func(what string, i int32, n int) (int, error) {
		if i < 0 || int(i) >= n {
			return 0, configErr(ErrCodeConnConfigInval, "%s %d is not one of MCM's", what, i)
		}
		return int(i), nil
	}
	switch {
	case p.GetVideo() != nil:
		v := p.GetVideo()
		i, err := pick("pixel format", int32(v.GetPixelFormat()), len(mcm.PixelFormats))
		if err != nil {
			return ConnectionConfig{}, err
		}
		c.Payload.Video = &Video{Width: v.GetWidth(), Height: v.GetHeight(), FPS: v.GetFps(), PixelFormat: mcm.PixelFormats[i]}
	case p.GetAudio() != nil:
		a := p.GetAudio()
		r, err := pick("sample rate", int32(a.GetSampleRate()), len(mcm.SampleRates))
		if err != nil {
			return ConnectionConfig{}, err
		}
		f, err := pick("audio format", int32(a.GetFormat()), len(mcm.AudioFormats))
		if err != nil {
			return ConnectionConfig{}, err
		}
		t, err := pick("packet time", int32(a.GetPacketTime()), len(mcm.PacketTimes))
		if err != nil {
			return ConnectionConfig{}, err
		}
		c.Payload.Audio = &Audio{Channels: a.GetChannels(), SampleRate: mcm.SampleRates[r], Format: mcm.AudioFormats[f], PacketTime: mcm.PacketTimes[t]}
	default:
		c.Payload.Blob = &Blob{}
	}
	return c, c.Validate()
}
