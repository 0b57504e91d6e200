package rest

import (
	"bufio"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	sdkpb "mediamesh/api/mcm/sdk"
	"mediamesh/api/openapi"
)

// docRoutes reads "METHOD /full/path" for every operation of an OpenAPI
// document, with a line scanner (there is no YAML module): paths are the
// keys at indent 2 under "paths:", operations the method keys at indent 4,
// and a path's "servers:" list (urls at indent 8) overrides the top-level
// one.
func docRoutes(t *testing.T, doc string) []string {
	t.Helper()
	var top, servers []string
	var out []string
	section, path := "", ""
	var ops []string
	flush := func() {
		for _, op := range ops {
			for _, s := range servers {
				out = append(out, op+" "+strings.TrimSuffix(s, "/")+path)
			}
		}
		ops = nil
	}
	url := regexp.MustCompile(`^ *- url: *(\S+)$`)
	sc := bufio.NewScanner(strings.NewReader(doc))
	for sc.Scan() {
		line := sc.Text()
		indent := len(line) - len(strings.TrimLeft(line, " "))
		key := strings.TrimSpace(line)
		switch {
		case key == "" || strings.HasPrefix(key, "#"):
			continue
		case indent == 0:
			if section == "paths" {
				flush()
			}
			section = strings.TrimSuffix(key, ":")
		case section == "servers" && indent == 2:
			if m := url.FindStringSubmatch(line); m != nil {
				top = append(top, m[1])
			}
		case section == "paths" && indent == 2:
			flush()
			path, servers = strings.TrimSuffix(key, ":"), top
		case section == "paths" && indent == 4 && key == "servers:":
			servers = nil
		case section == "paths" && indent == 6 && url.MatchString(line):
			servers = append(servers, url.FindStringSubmatch(line)[1])
		case section == "paths" && indent == 4:
			switch m := strings.TrimSuffix(key, ":"); m {
			case "get", "put", "post", "delete", "patch", "head", "options":
				ops = append(ops, strings.ToUpper(m))
			}
		}
	}
	flush()
	if len(top) == 0 {
		t.Fatal("document has no servers")
	}
	slices.Sort(out)
	return out
}

// The document and the handlers describe the same API: every route
// registered is documented, every documented operation is routed.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	api, err := New(Config{Insecure: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h := api.handler(nil)
	var registered []string
	for _, r := range h.routes {
		registered = append(registered, r.method+" "+Prefix+r.path)
		if !r.versioned {
			registered = append(registered, r.method+" "+r.path)
		}
	}
	slices.Sort(registered)
	documented := docRoutes(t, openapi.Agent())
	if !slices.Equal(registered, documented) {
		for _, r := range registered {
			if !slices.Contains(documented, r) {
				t.Errorf("registered, not documented: %s", r)
			}
		}
		for _, d := range documented {
			if !slices.Contains(registered, d) {
				t.Errorf("documented, not registered: %s", d)
			}
		}
	}
	// And the mux routes each documented operation (not just the table).
	param := regexp.MustCompile(`\{[^}]+\}`)
	for _, d := range documented {
		method, path, _ := strings.Cut(d, " ")
		req := httptest.NewRequest(method, param.ReplaceAllString(path, "x"), nil)
		if _, pattern := h.mux.Handler(req); pattern == "" {
			t.Errorf("%s: no handler", d)
		}
	}
}

// MCM's agent JSON spells enums after the proto names (mcm-api.md §5.6).
func TestEnumStrings(t *testing.T) {
	t.Parallel()
	cfg := sdkConfig(nil)
	if cfg.Conn.MultipointGroup != nil || cfg.Payload.Video != nil {
		t.Fatalf("nil config: %+v", cfg)
	}
	cases := []struct {
		name   string
		names  map[int32]string
		prefix string
		sep    string
		v      int32
		want   string
	}{
		{"transport", sdkpb.ST2110Transport_name, "CONN_TRANSPORT_", "-", 0, "st2110-20"},
		{"transport 30", sdkpb.ST2110Transport_name, "CONN_TRANSPORT_", "-", 2, "st2110-30"},
		{"pixel format", sdkpb.VideoPixelFormat_name, "VIDEO_PIXEL_FORMAT_", "", 0, "yuv422planar10le"},
		{"pixel format rfc4175", sdkpb.VideoPixelFormat_name, "VIDEO_PIXEL_FORMAT_", "", 2, "yuv422rfc4175be10"},
		{"sample rate", sdkpb.AudioSampleRate_name, "AUDIO_SAMPLE_RATE_", "", 2, "44100"},
		{"format", sdkpb.AudioFormat_name, "AUDIO_FORMAT_", "-", 2, "pcm-s24be"},
		{"packet time", sdkpb.AudioPacketTime_name, "AUDIO_PACKET_TIME_", ".", 6, "1.09ms"},
		{"packet time 0.09", sdkpb.AudioPacketTime_name, "AUDIO_PACKET_TIME_", ".", 8, "0.09ms"},
		{"packet time 125us", sdkpb.AudioPacketTime_name, "AUDIO_PACKET_TIME_", ".", 1, "125us"},
		{"unknown", sdkpb.AudioPacketTime_name, "AUDIO_PACKET_TIME_", ".", 99, "99"},
	}
	for _, c := range cases {
		if got := enumString(c.names, c.v, c.prefix, c.sep); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
