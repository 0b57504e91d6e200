package mcm

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	sdkpb "mediamesh/api/mcm/sdk"
)

func TestPayloadSizes(t *testing.T) {
	t.Parallel()
	video := []struct {
		w, h uint32
		pix  string
		want uint32
	}{
		{1920, 1080, PixYUV422P10LE, 8294400},
		{3840, 2160, PixYUV422P10LE, 33177600},
		{640, 360, PixYUV422P10LE, 921600},
		{1920, 1080, PixV210, 5529600},
		{3840, 2160, PixV210, 22118400},
		{1920, 1080, PixYUV422P10RFC4175, 5184000},
		{640, 360, PixYUV422P10RFC4175, 576000},
	}
	for _, c := range video {
		got, err := VideoPayloadSize(c.w, c.h, c.pix)
		if err != nil || got != c.want {
			t.Errorf("%dx%d %s: %d %v, want %d", c.w, c.h, c.pix, got, err, c.want)
		}
	}
	audio := []struct {
		ch, rate   uint32
		fmt, ptime string
		want       uint32
	}{
		{2, 48000, "pcm_s24be", "1ms", 288},
		{2, 96000, "pcm_s24be", "1ms", 576},
		{1, 48000, "pcm_s24be", "125us", 18},
		{2, 44100, "pcm_s16be", "1.09ms", 192},
		{1, 44100, "pcm_s8", "0.09ms", 4},
		{8, 48000, "pcm_s24be", "4ms", 4608},
	}
	for _, c := range audio {
		got, err := AudioPayloadSize(c.ch, c.rate, c.fmt, c.ptime)
		if err != nil || got != c.want {
			t.Errorf("%d ch %d Hz %s %s: %d %v, want %d", c.ch, c.rate, c.fmt, c.ptime, got, err, c.want)
		}
	}
	l, _ := NewLayout(18, 0)
	if l.Payload.Size != 24 || l.Total != 48 {
		t.Errorf("18-byte audio payload: %+v", l)
	}
	l, _ = NewLayout(8294400, 0)
	if l.Total != 8294424 || l.Metadata.Offset != 8294424 {
		t.Errorf("1080p layout: %+v", l)
	}
}

func TestPayloadErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		err  error
		is   error
		msg  string
	}{
		{"v210 not /3", errOf(VideoPayloadSize(1, 1, PixV210)), ErrInvalidConfig, "divisible by 3"},
		{"rfc4175 odd", errOf(VideoPayloadSize(1, 1, PixYUV422P10RFC4175)), ErrInvalidConfig, "even"},
		{"zero size", errOf(VideoPayloadSize(0, 1080, PixYUV422P10LE)), ErrInvalidConfig, "positive"},
		{"bad pixel format", errOf(VideoPayloadSize(8, 8, "nv12")), ErrInvalidConfig, "pixelFormat"},
		{"ptime vs rate", errOf(AudioPayloadSize(2, 44100, "pcm_s24be", "1ms")), ErrIncompatible, "not allowed at 44100"},
		{"bad rate", errOf(AudioPayloadSize(2, 22050, "pcm_s24be", "1ms")), ErrInvalidConfig, "sampleRate"},
		{"bad format", errOf(AudioPayloadSize(2, 48000, "f32", "1ms")), ErrInvalidConfig, "format"},
		{"huge region", CheckRegion(1<<28, 4), ErrInvalidConfig, "4 GiB"},
		{"capacity", ValidateQueueCapacity(129), ErrInvalidConfig, "2-128"},
	} {
		if !errors.Is(c.err, c.is) || !strings.Contains(c.err.Error(), c.msg) {
			t.Errorf("%s: %v", c.name, c.err)
		}
	}
}

func errOf(_ uint32, err error) error { return err }

func TestLog2RingSize(t *testing.T) {
	t.Parallel()
	for capacity, want := range map[uint32]uint8{0: 4, 1: 4, 2: 1, 16: 4, 20: 4, 128: 7, 1 << 20: 14} {
		if got := Log2RingSize(capacity); got != want {
			t.Errorf("capacity %d: log2 %d, want %d", capacity, got, want)
		}
	}
}

func TestSysdataRoundTrip(t *testing.T) {
	for _, sd := range []Sysdata{
		{},
		{Timestamp: 1_732_460_000_123_456_789, Seq: 7, PayloadLen: 8294400, MetadataLen: 16},
		{Timestamp: -1_500_001, Seq: 1},
	} {
		var b [SysdataSize]byte
		if _, err := sd.MarshalTo(b[:]); err != nil {
			t.Fatal(err)
		}
		var got Sysdata
		if _, err := got.Unmarshal(b[:]); err != nil || got != sd {
			t.Fatalf("%+v → %+v %v", sd, got, err)
		}
	}
	// MCM readers see milliseconds at offset 0.
	sd := Sysdata{Timestamp: 1_000_000_123_456_789}
	var b [SysdataSize]byte
	_, _ = sd.MarshalTo(b[:])
	if got := hex.EncodeToString(b[:8]); got != hex.EncodeToString(le64(1_000_000_123)) {
		t.Fatalf("timestamp_ms bytes %s", got)
	}
	if _, err := sd.MarshalTo(b[:10]); err == nil {
		t.Fatal("short buffer accepted")
	}
	if _, err := sd.Unmarshal(b[:23]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short input: %v", err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = sd.MarshalTo(b[:]); _, _ = sd.Unmarshal(b[:]) }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

func le64(v uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}

// golden296 is what MCM's proxy sends for a 1080p receiver (mcm-api.md
// §4.2): path, names, buffer size 8294424, log2 4, everything else zero.
func TestMemifConnParamGolden(t *testing.T) {
	t.Parallel()
	p := MemifConnParam{
		SocketPath:    "/run/mcm/media_proxy_rx_5a1b8c3d.sock",
		AppName:       "memif_rx_5a1b8c3d",
		InterfaceName: "memif_rx_5a1b8c3d",
		Secret:        "0123456789abcdef",
		BufferSize:    8294424,
		Log2RingSize:  4,
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 296 {
		t.Fatalf("%d bytes", len(b))
	}
	want := make([]byte, 296)
	copy(want[0:], p.SocketPath)
	copy(want[108:], p.AppName)
	copy(want[216:], p.Secret)
	copy(want[244:], []byte{0x18, 0x90, 0x7e, 0x00}) // 8294424 LE
	want[248] = 4
	copy(want[256:], p.InterfaceName)
	if !bytes.Equal(b, want) {
		t.Fatalf("bytes differ:\n got %x\nwant %x", b, want)
	}
	var q MemifConnParam
	if _, err := q.Unmarshal(b); err != nil || q != p {
		t.Fatalf("round trip: %+v %v", q, err)
	}
	// Garbage in MCM's indeterminate pointer fields is ignored.
	for i := 144; i < 216; i++ {
		b[i] = 0xAA
	}
	if _, err := q.Unmarshal(b); err != nil || q != p {
		t.Fatalf("dirty pointers: %+v %v", q, err)
	}
	for _, bad := range []MemifConnParam{
		{SocketPath: strings.Repeat("x", 108)},
		{AppName: strings.Repeat("x", 32)},
		{Secret: strings.Repeat("x", 24)},
		{AppName: "a\x00b"},
	} {
		if _, err := bad.Marshal(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, err := q.Unmarshal(b[:295]); !errors.Is(err, ErrMalformed) {
		t.Errorf("short: %v", err)
	}
}

func validConfig() *sdkpb.ConnectionConfig {
	l, _ := NewLayout(640*360*4, 64)
	return &sdkpb.ConnectionConfig{
		Kind: sdkpb.ConnectionKind_CONN_KIND_RECEIVER, BufQueueCapacity: 16,
		MaxMetadataSize: 64, CalculatedPayloadSize: 640 * 360 * 4, BufParts: l.Parts(),
		Conn:    &sdkpb.ConnectionConfig_MultipointGroup{MultipointGroup: &sdkpb.ConfigMultipointGroup{Urn: "urn:x"}},
		Payload: &sdkpb.ConnectionConfig_Video{Video: &sdkpb.ConfigVideo{Width: 640, Height: 360, Fps: 50}},
	}
}

func TestValidateConnectionConfig(t *testing.T) {
	t.Parallel()
	if l, err := ValidateConnectionConfig(validConfig()); err != nil || l.Total != 24+921600+64 {
		t.Fatalf("valid config: %+v %v", l, err)
	}
	cases := []struct {
		name string
		edit func(*sdkpb.ConnectionConfig)
		msg  string
	}{
		{"kind", func(c *sdkpb.ConnectionConfig) { c.Kind = 7 }, "kind"},
		{"capacity", func(c *sdkpb.ConnectionConfig) { c.BufQueueCapacity = 1000 }, "bufferQueueCapacity"},
		{"no conn", func(c *sdkpb.ConnectionConfig) { c.Conn = nil }, "want one of"},
		{"empty urn", func(c *sdkpb.ConnectionConfig) {
			c.Conn = &sdkpb.ConnectionConfig_MultipointGroup{MultipointGroup: &sdkpb.ConfigMultipointGroup{}}
		}, "urn is empty"},
		{"calc size", func(c *sdkpb.ConnectionConfig) { c.CalculatedPayloadSize++ }, "calculated_payload_size"},
		{"parts", func(c *sdkpb.ConnectionConfig) { c.BufParts.Payload.Size = 1 << 30 }, "buf_parts"},
		{"parts missing", func(c *sdkpb.ConnectionConfig) { c.BufParts.Sysdata = nil }, "required"},
		{"pixel format", func(c *sdkpb.ConnectionConfig) { c.GetVideo().PixelFormat = 9 }, "pixel_format"},
		{"blob size", func(c *sdkpb.ConnectionConfig) { c.Payload = nil }, "max_payload_size"},
		{"blob st2110", func(c *sdkpb.ConnectionConfig) {
			c.Payload = &sdkpb.ConnectionConfig_Blob{Blob: &sdkpb.ConfigBlob{}}
			c.Conn = &sdkpb.ConnectionConfig_St2110{St2110: &sdkpb.ConfigST2110{Port: 9000}}
		}, "need a multipoint group"},
		{"st2110 port", func(c *sdkpb.ConnectionConfig) {
			c.Conn = &sdkpb.ConnectionConfig_St2110{St2110: &sdkpb.ConfigST2110{Port: 70000}}
		}, "port"},
	}
	for _, c := range cases {
		cfg := validConfig()
		c.edit(cfg)
		_, err := ValidateConnectionConfig(cfg)
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %q", c.name, err, c.msg)
		}
	}
}

func FuzzSysdata(f *testing.F) {
	f.Add(make([]byte, 24))
	f.Add(bytes.Repeat([]byte{0xff}, 24))
	f.Fuzz(func(t *testing.T, b []byte) {
		var sd Sysdata
		if _, err := sd.Unmarshal(b); err != nil {
			return
		}
		out := make([]byte, SysdataSize)
		if _, err := sd.MarshalTo(out); err != nil {
			t.Fatal(err)
		}
		var again Sysdata
		if _, err := again.Unmarshal(out); err != nil || again != sd {
			t.Fatalf("%+v → %+v", sd, again)
		}
	})
}

func FuzzMemifConnParam(f *testing.F) {
	good, _ := (&MemifConnParam{SocketPath: "/run/x.sock", AppName: "a", InterfaceName: "a", BufferSize: 100, Log2RingSize: 4}).Marshal()
	f.Add(good)
	f.Add(make([]byte, 296))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p MemifConnParam
		if _, err := p.Unmarshal(b); err != nil {
			return
		}
		out, err := p.Marshal()
		if err != nil {
			return // strings without NUL at full field width do not re-marshal
		}
		var q MemifConnParam
		if _, err := q.Unmarshal(out); err != nil || q != p {
			t.Fatalf("%+v → %+v %v", p, q, err)
		}
	})
}

// FuzzValidateConnectionConfig feeds arbitrary protobuf bytes, as a hostile
// SDK client would send them, to the proxy's validation.
func FuzzValidateConnectionConfig(f *testing.F) {
	good, _ := proto.Marshal(validConfig())
	f.Add(good)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var cfg sdkpb.ConnectionConfig
		if err := proto.Unmarshal(b, &cfg); err != nil {
			return
		}
		l, err := ValidateConnectionConfig(&cfg)
		if err == nil && (l.Total == 0 || uint64(l.Total)<<Log2RingSize(cfg.GetBufQueueCapacity())*2 >= 1<<32) {
			t.Fatalf("accepted a layout the memif region cannot hold: %+v", l)
		}
	})
}
