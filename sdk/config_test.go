package sdk

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	sdkpb "mediamesh/api/mcm/sdk"
	"mediamesh/internal/mcm"
)

func TestParseConnectionConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := ParseConnectionConfig([]byte(`{"connection":{"multipointGroup":{"urn":"u"}},"payload":{"video":{}},"unknownKey":1}`))
	if err != nil {
		t.Fatal(err)
	}
	v := c.Payload.Video
	if c.BufferQueueCapacity != 16 || v.Width != 640 || v.Height != 640 || v.FPS != 60 || v.PixelFormat != "yuv422p10le" {
		t.Fatalf("defaults: %+v %+v", c, v)
	}
	c, err = ParseConnectionConfig([]byte(`{"connection":{"st2110":{"port":9000}},"payload":{"audio":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Connection.ST2110; s.Transport != "st2110-20" || s.PayloadType != 112 || c.Payload.Audio.SampleRate != 48000 || c.PayloadSize() != 288 {
		t.Fatalf("st2110/audio defaults: %+v %+v", s, c.Payload.Audio)
	}
	for _, key := range []string{"num_endpoints", "numEndpoints"} {
		c, err := ParseConnectionConfig([]byte(`{"connection":{"multipointGroup":{"urn":"u"}},"options":{"rdma":{"` + key + `":4}},"payload":{"video":{}}}`))
		if err != nil || c.Options.RDMA.NumEndpoints != 4 || c.Options.RDMA.Provider != "tcp" {
			t.Fatalf("%s: %+v %v", key, c.Options.RDMA, err)
		}
	}
}

func TestParseConnectionConfigErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		json string
		code error
		msg  string
	}{
		{`{}`, ErrConnConfigInvalid, "connection: required"},
		{`{"connection":{}}`, ErrConnConfigInvalid, "exactly one of multipointGroup"},
		{`{"connection":{"multipointGroup":{"urn":"u"},"st2110":{"port":1}}}`, ErrConnConfigInvalid, "exactly one"},
		{`{"connection":{"multipointGroup":{"urn":"u"}},"payload":{"video":{},"audio":{}}}`, ErrConnConfigInvalid, "exactly one of video"},
		{`{"connection":{"multipointGroup":{"urn":"u"}},"payload":{"video":{"width":"wide"}}}`, ErrConnConfigInvalid, "payload.video.width"},
		{`{"connection":{"multipointGroup":{"urn":"u"}},"payload":{"video":{"width":-1}}}`, ErrConnConfigInvalid, "payload.video.width"},
		{`{"connection":{"multipointGroup":{"urn":"u"}},"payload":{"video":{"pixelFormat":"nv12"}}}`, ErrConnConfigInvalid, "pixelFormat"},
		{`{"connection":{"multipointGroup":{"urn":"u"}},"payload":{"video":{"width":1,"height":1,"pixelFormat":"v210"}}}`, ErrConnConfigInvalid, "divisible by 3"},
		{`{"connection":{"multipointGroup":{"urn":"u"}},"payload":{"audio":{"packetTime":"2ms"}}}`, ErrConnConfigIncompat, "packetTime"},
		{`{"connection":{"multipointGroup":{"urn":"u"}},"payload":{"audio":{"sampleRate":44100}}}`, ErrConnConfigIncompat, "not allowed at 44100"},
		{`{"connection":{"multipointGroup":{"urn":"u"}},"payload":{"audio":{"format":"f32"}}}`, ErrConnConfigInvalid, "format"},
		{`{"connection":{"multipointGroup":{"urn":"u"}},"payload":{"blob":{}}}`, ErrConnConfigInvalid, "maxPayloadSize"},
		{`{"connection":{"multipointGroup":{"urn":"u"}}}`, ErrConnConfigInvalid, "maxPayloadSize"},
		{`{"maxPayloadSize":10,"connection":{"st2110":{"port":1}},"payload":{"blob":{}}}`, ErrConnConfigIncompat, "needs connection.multipointGroup"},
		{`{"connection":{"st2110":{"port":1,"transport":"st2110-99"}},"payload":{"video":{}}}`, ErrConnConfigInvalid, "transport"},
		{`{"connection":{"st2110":{"port":0}},"payload":{"video":{}}}`, ErrConnConfigInvalid, "port"},
		{`{"bufferQueueCapacity":1000,"connection":{"multipointGroup":{"urn":"u"}},"payload":{"video":{}}}`, ErrConnConfigInvalid, "bufferQueueCapacity"},
		{`{"connection":{"multipointGroup":{"urn":"u"}},"options":{"rdma":{"provider":"ib"}},"payload":{"video":{}}}`, ErrConnConfigInvalid, "provider"},
		{`{"connection":{"multipointGroup":{"urn":"u"}},"options":{"reliable":true},"payload":{"video":{}}}`, ErrConnConfigIncompat, "reliable"},
		{`{"connection":`, ErrConnConfigInvalid, "JSON"},
		{`{"connection":{"multipointGroup":{"urn":""}},"payload":{"video":{}}}`, ErrConnConfigInvalid, "urn"},
	}
	for _, c := range cases {
		_, err := ParseConnectionConfig([]byte(c.json))
		if !errors.Is(err, c.code) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s:\n got %v\nwant %v containing %q", c.json, err, c.code, c.msg)
		}
	}
}

func TestClientConfigAndTarget(t *testing.T) {
	t.Parallel()
	env := map[string]string{"MCM_MEDIA_PROXY_IP": "10.0.0.9", "MCM_MEDIA_PROXY_PORT": "9002"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cases := []struct{ conn, want string }{
		{"", "10.0.0.9:9002"},
		{"Server=; Port=", "10.0.0.9:9002"}, // what MCM's FFmpeg plugin sends
		{"Server=127.0.0.2; Port=7000", "127.0.0.2:7000"},
		{"  Server = 127.0.0.3 ;Port=7001 ; junk", "127.0.0.3:7001"},
		{"Server=::1; Port=8002", "[::1]:8002"},
		{"Server=unix:/run/mediamesh/sdk.sock; Port=8002", "unix:/run/mediamesh/sdk.sock"},
		{"server=1.2.3.4", "10.0.0.9:9002"}, // keys are case-sensitive, as in MCM
	}
	for _, c := range cases {
		if got := (ClientConfig{APIConnectionString: c.conn}).ProxyTarget(lookup); got != c.want {
			t.Errorf("%q: %q, want %q", c.conn, got, c.want)
		}
	}
	if got := (ClientConfig{}).ProxyTarget(nil); got != "127.0.0.1:8002" {
		t.Errorf("no env: %q", got)
	}
	c, err := ParseClientConfig([]byte(`{"apiVersion":"v1","apiConnectionString":"Server=; Port=","apiDefaultTimeoutMicroseconds":100000,"maxMediaConnections":32}`))
	if err != nil || c.defaultTimeout().Milliseconds() != 100 || c.maxConnections() != 32 {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := ParseClientConfig([]byte(`{"maxMediaConnections":"many"}`)); !errors.Is(err, ErrClientConfigInvalid) {
		t.Fatalf("bad type: %v", err)
	}
}

func TestToProtoMatchesProxyValidation(t *testing.T) {
	t.Parallel()
	for _, js := range []string{
		`{"connection":{"multipointGroup":{"urn":"u"}},"payload":{"video":{"width":1920,"height":1080,"fps":59.94,"pixelFormat":"v210"}},"maxMetadataSize":100}`,
		`{"connection":{"multipointGroup":{"urn":"u"}},"payload":{"audio":{"channels":8,"sampleRate":96000,"format":"pcm_s16be","packetTime":"125us"}}}`,
		`{"maxPayloadSize":102400,"maxMetadataSize":8192,"connection":{"multipointGroup":{"urn":"u"}},"payload":{"blob":{}}}`,
		`{"connection":{"st2110":{"port":20000,"ipAddr":"239.2.39.238"}},"payload":{"video":{}}}`,
	} {
		c, err := ParseConnectionConfig([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		p := c.toProto(sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER)
		if _, err := mcm.ValidateConnectionConfig(p); err != nil {
			t.Errorf("%s: proxy would refuse: %v", js, err)
		}
	}
}

func TestErrText(t *testing.T) {
	t.Parallel()
	if ErrText(-1011) != "Connection is closed" || ErrText(1012) != "Timeout occurred" || ErrText(5) != "Unknown error code" {
		t.Fatal("texts differ from mesh_err2str")
	}
	err := error(&Error{Code: ErrCodeTimeout, Op: "get buffer"})
	if !errors.Is(err, ErrTimeout) || errors.Is(err, ErrConnClosed) {
		t.Fatal("errors.Is by code")
	}
}

func FuzzParseConnectionConfig(f *testing.F) {
	f.Add([]byte(`{"connection":{"multipointGroup":{"urn":"u"}},"payload":{"video":{"width":1920,"height":1080}}}`))
	f.Add([]byte(`{"maxPayloadSize":10,"connection":{"multipointGroup":{"urn":"u"}},"options":{"reliable":true}}`))
	f.Add([]byte(`{"connection":{"st2110":{"port":9}},"payload":{"audio":{"sampleRate":44100,"packetTime":"0.09ms"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConnectionConfig(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		// Whatever the SDK accepts, the proxy must accept too.
		if _, err := mcm.ValidateConnectionConfig(c.toProto(sdkpb.ConnectionKind_CONN_KIND_RECEIVER)); err != nil {
			t.Fatalf("SDK accepted what the proxy refuses: %v\n%s", err, b)
		}
	})
}

func FuzzParseClientConfig(f *testing.F) {
	f.Add([]byte(`{"apiConnectionString":"Server=1.2.3.4; Port=5"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseClientConfig(b)
		if err == nil {
			_ = c.ProxyTarget(nil)
		}
	})
}

// A group config survives MCM's proto and back, as a bridge gets it from
// the agent; a config that is not a group's is refused.
func TestConnectionConfigFromProto(t *testing.T) {
	for _, js := range []string{
		`{"connection":{"multipointGroup":{"urn":"g"}},"payload":{"video":{"width":1920,"height":1080,"fps":59.94,"pixelFormat":"v210"}}}`,
		`{"bufferQueueCapacity":32,"connection":{"multipointGroup":{"urn":"a"}},"payload":{"audio":{"channels":8,"sampleRate":96000,"format":"pcm_s16be","packetTime":"125us"}}}`,
		`{"maxPayloadSize":1000,"maxMetadataSize":64,"connection":{"multipointGroup":{"urn":"b"}},"payload":{"blob":{}}}`,
	} {
		c, err := ParseConnectionConfig([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		p := c.toProto(sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER)
		back, err := ConnectionConfigFromProto(p)
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		if again := back.toProto(sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER); !proto.Equal(again, p) {
			t.Errorf("%s:\n got %v\nwant %v", js, again, p)
		}
	}
	if _, err := ConnectionConfigFromProto(&sdkpb.ConnectionConfig{}); err == nil {
		t.Error("a config without a group accepted")
	}
	bad := &sdkpb.ConnectionConfig{Conn: &sdkpb.ConnectionConfig_MultipointGroup{MultipointGroup: &sdkpb.ConfigMultipointGroup{Urn: "g"}},
		Payload: &sdkpb.ConnectionConfig_Video{Video: &sdkpb.ConfigVideo{Width: 8, Height: 8, Fps: 25, PixelFormat: 99}}}
	if _, err := ConnectionConfigFromProto(bad); err == nil {
		t.Error("an unknown pixel format accepted")
	}
}

// A bridge's config comes from the agent as protobuf: whatever it holds,
// ConnectionConfigFromProto returns a valid config or an error.
func FuzzConnectionConfigFromProto(f *testing.F) {
	for _, js := range []string{
		`{"connection":{"multipointGroup":{"urn":"g"}},"payload":{"video":{"width":1920,"height":1080,"fps":59.94}}}`,
		`{"connection":{"multipointGroup":{"urn":"a"}},"payload":{"audio":{}}}`,
		`{"maxPayloadSize":1000,"connection":{"multipointGroup":{"urn":"b"}},"payload":{"blob":{}}}`,
	} {
		c, err := ParseConnectionConfig([]byte(js))
		if err != nil {
			f.Fatal(err)
		}
		b, err := proto.Marshal(c.toProto(sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p sdkpb.ConnectionConfig
		if proto.Unmarshal(b, &p) != nil {
			return
		}
		c, err := ConnectionConfigFromProto(&p)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
	})
}
