package rest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	agentv1 "mediamesh/api/agent/v1"
	sdkpb "mediamesh/api/mcm/sdk"
	"mediamesh/api/openapi"
	"mediamesh/internal/agent/rest"
	"mediamesh/internal/agent/rest/resttest"
	"mediamesh/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the responses")

const (
	sender   = sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER
	receiver = sdkpb.ConnectionKind_CONN_KIND_RECEIVER
)

// mesh starts an agent with three proxies: A (sender and a receiver of
// video group g1) and B (two receivers) hold command streams, so A has an
// egress bridge to B; C has an ST 2110 audio receiver and no stream.
func mesh(t *testing.T, cfg rest.Config) *resttest.Agent {
	t.Helper()
	a := resttest.Start(t, cfg)
	a.Proxy(t, "pA", "10.0.0.1")
	a.Proxy(t, "pB", "10.0.0.2")
	a.Proxy(t, "pC", "10.0.0.3")
	a.Open(t, "pA")
	a.Open(t, "pB")
	a.Conn(t, "pA", "c-src", resttest.Video(sender, "g1"))
	a.Conn(t, "pA", "c-a", resttest.Video(receiver, "g1"))
	a.Conn(t, "pB", "c-b1", resttest.Video(receiver, "g1"))
	a.Conn(t, "pB", "c-b2", resttest.Video(receiver, "g1"))
	a.Conn(t, "pC", "c-audio", resttest.Audio(receiver, "239.1.1.1", 5004))
	a.Metrics(t, "pB", &agentv1.Metric{TimestampMs: resttest.T0.UnixMilli() + 1500, ProviderId: "c-b1", Fields: []*agentv1.MetricField{
		{Name: "state", Value: &agentv1.MetricField_StrValue{StrValue: "configured"}},
		{Name: "link", Value: &agentv1.MetricField_BoolValue{BoolValue: true}},
		{Name: "in", Value: &agentv1.MetricField_UintValue{UintValue: 1000}},
		{Name: "out", Value: &agentv1.MetricField_UintValue{UintValue: 900}},
		{Name: "strn", Value: &agentv1.MetricField_UintValue{UintValue: 10}},
		{Name: "ftrn", Value: &agentv1.MetricField_UintValue{UintValue: 1}},
		{Name: "err", Value: &agentv1.MetricField_UintValue{UintValue: 2}},
		{Name: "errd", Value: &agentv1.MetricField_UintValue{UintValue: 1}},
		{Name: "tps", Value: &agentv1.MetricField_DoubleValue{DoubleValue: 59.9}},
		{Name: "inbw", Value: &agentv1.MetricField_DoubleValue{DoubleValue: 442.5}},
		{Name: "outbw", Value: &agentv1.MetricField_DoubleValue{DoubleValue: 441}},
	}})
	return a
}

// client is an HTTP client whose connections close with the test.
func client(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

type response struct {
	code   int
	header http.Header
	body   string
}

// call sends one request; token "" sends none.
func call(t *testing.T, c *http.Client, a *resttest.Agent, method, path, body, token string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, a.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// checkError asserts the error shape: JSON, its code the status.
func checkError(t *testing.T, what string, r response) rest.ErrorBody {
	t.Helper()
	var e rest.Error
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error.Code != r.code || e.Error.Message == "" {
		t.Errorf("%s: status %d, body %q is not an error of that code (%v)", what, r.code, r.body, err)
	}
	return e.Error
}

// TestRoutes: every route's happy path and its errors, at both prefixes.
func TestRoutes(t *testing.T) {
	testutil.CheckLeaks(t)
	a := mesh(t, rest.Config{Token: resttest.Token})
	c := client(t)
	bridge := func() string {
		var l rest.BridgeList
		r := call(t, c, a, "GET", "/bridge", "", resttest.Token)
		if err := json.Unmarshal([]byte(r.body), &l); err != nil || len(l.Bridge) != 2 {
			t.Fatalf("bridges: %v %s", err, r.body)
		}
		return l.Bridge[0].ID
	}()
	big := `{"text":"` + strings.Repeat("x", rest.MaxBody) + `"}`
	cases := []struct {
		name, method, path, body string
		code                     int
		want                     string // in the body (for errors: the message)
		once                     bool   // path as is; else also under /api/v1
	}{
		{"healthz", "GET", "/api/v1/healthz", "", 200, `{"status":"ok"}`, true},
		{"openapi", "GET", "/api/v1/openapi.yaml", "", 200, "openapi: 3.0.3", true},
		{"list proxies", "GET", "/media-proxy", "", 200, `"id":"pC","conns":[{"id":"c-audio","groupId":"239.1.1.1:5004","config":`, false},
		{"get proxy", "GET", "/media-proxy/pA", "", 200, `{"status":{"healthy":true,"registeredAt":"2026-01-02T03:04:05.000Z","connsNum":2,"bridgesNum":1,"active":true,`, false},
		{"get proxy config", "GET", "/media-proxy/pB?config", "", 200, `{"config":{"sdkApiPort":8002,"controlplaneIpAddr":"127.0.0.1","st2110":{"dataplaneIpAddr":"","devPort":""},"rdma":{"dataplaneIpAddr":"10.0.0.2","dataplanePorts":"9100-9199"}},`, false},
		{"unknown proxy", "GET", "/media-proxy/nope", "", 404, `proxy "nope" not found`, false},
		{"list connections", "GET", "/connection", "", 200, `{"connection":[{"id":"c-a","proxyId":"pA","groupId":"g1"},`, false},
		{"get connection", "GET", "/connection/c-b1", "", 200, `{"proxyId":"pB","groupId":"g1","status":{"registeredAt":"2026-01-02T03:04:05.000Z","updatedAt":"2026-01-02T03:04:06.500Z","state":"configured","linked":true,"inbound":1000,"outbound":900,"trnSucceeded":10,"trnFailed":1,"tps":59.9,"inBandwidthMbit":442.5,"outBandwidthMbit":441,"errors":2,"errorsDelta":1}}`, false},
		{"get connection config", "GET", "/connection/c-audio?config", "", 200, `"conn":{"st2110":{"remoteIpAddr":"239.1.1.1","port":5004,"transport":"st2110-30","pacing":"","payloadType":97}},"options":{"rdma":{}},"payload":{"audio":{"channels":2,"sampleRate":"48000","format":"pcm-s24be","packetTime":"1ms"}},"kind":"tx"}`, false},
		{"unknown connection", "GET", "/connection/nope", "", 404, `connection "nope" not found`, false},
		{"list groups", "GET", "/multipoint-group?status", "", 200, `{"id":"g1","status":{"registeredAt":"2026-01-02T03:04:05.000Z","updatedAt":null,"state":"active",`, false},
		{"get group", "GET", "/multipoint-group/g1", "", 200, `"connIds":["c-a","c-b1","c-b2","c-src"],"bridgeIds":[`, false},
		{"get group escaped", "GET", "/multipoint-group/239.1.1.1%3A5004?config", "", 200, `"transport":"st2110-30"`, false},
		{"unknown group", "GET", "/multipoint-group/nope", "", 404, `multipoint group "nope" not found`, false},
		{"list bridges", "GET", "/bridge?config", "", 200, `"type":"tcp","kind":"tx","tcp":{"remoteAddr":"10.0.0.2:9100","port":9100,"peerProxyId":"pB"}`, false},
		{"get bridge", "GET", "/bridge/" + bridge, "", 200, `{"proxyId":"p`, false},
		{"unknown bridge", "GET", "/bridge/nope", "", 404, `bridge "nope" not found`, false},
		{"command", "POST", "/media-proxy/pA/command", `{"text":"ping"}`, 200, `{"text":"okay: ping"}`, false},
		{"command mcm", "GET", "/media-proxy/pB/command/hello%20there", "", 200, "okay: hello there\n", false},
		{"command no stream", "POST", "/media-proxy/pC/command", `{"text":"ping"}`, 409, "proxy command stream not ready", false},
		{"command unknown proxy", "POST", "/media-proxy/nope/command", `{"text":"ping"}`, 404, `proxy "nope" not found`, false},
		{"command apply-config", "GET", "/media-proxy/pA/command/apply-config", "", 400, "apply-config is not served", false},
		{"command empty body", "POST", "/media-proxy/pA/command", "", 400, "request body is empty", false},
		{"command empty text", "POST", "/media-proxy/pA/command", `{"text":""}`, 400, "command text is empty", false},
		{"command unknown key", "POST", "/media-proxy/pA/command", `{"text":"a","x":1}`, 400, `unknown field "x"`, false},
		{"command trailing", "POST", "/media-proxy/pA/command", `{"text":"a"} {}`, 400, "data after the JSON object", false},
		{"command not json", "POST", "/media-proxy/pA/command", `text=a`, 400, "request body: invalid character", false},
		{"command wrong type", "POST", "/media-proxy/pA/command", `{"text":1}`, 400, "request body: json: cannot unmarshal number", false},
		{"command too long", "POST", "/media-proxy/pA/command", `{"text":"` + strings.Repeat("x", 5000) + `"}`, 400, "5000 bytes, at most 4096", false},
		{"command too big", "POST", "/media-proxy/pA/command", big, 413, "request body over 1048576 bytes", false},
		{"no such path", "GET", "/media-proxy/pA/add-bridge/x", "", 404, "/media-proxy/pA/add-bridge/x", false},
		{"wrong method", "PUT", "/media-proxy", "", 405, "/media-proxy (allowed: GET, HEAD)", false},
		{"no group delete", "DELETE", "/multipoint-group/g1", "", 405, "(allowed: GET, HEAD)", false},
		{"unknown delete proxy", "DELETE", "/media-proxy/nope", "", 404, `proxy "nope" not found`, false},
		{"unknown delete connection", "DELETE", "/connection/nope", "", 404, `connection "nope" not found`, false},
		{"healthz unversioned", "GET", "/healthz", "", 404, "no such path", true},
	}
	for _, tc := range cases {
		paths := []string{tc.path, rest.Prefix + tc.path}
		if tc.once {
			paths = paths[:1]
		}
		for _, path := range paths {
			r := call(t, c, a, tc.method, path, tc.body, resttest.Token)
			if r.code != tc.code {
				t.Errorf("%s %s: status %d, want %d: %.300s", tc.method, path, r.code, tc.code, r.body)
				continue
			}
			if r.code >= 400 {
				if e := checkError(t, tc.name, r); !strings.Contains(e.Message, tc.want) {
					t.Errorf("%s %s: message %q, want %q in it", tc.method, path, e.Message, tc.want)
				}
			} else if !strings.Contains(r.body, tc.want) {
				t.Errorf("%s %s: body %.2000s\nwant in it: %s", tc.method, path, r.body, tc.want)
			}
		}
	}
	if r := call(t, c, a, "PUT", "/media-proxy", "", resttest.Token); r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("405 without Allow: %v", r.header)
	}
	if r := call(t, c, a, "GET", "/api/v1/openapi.yaml", "", resttest.Token); r.body != openapi.Agent() ||
		r.header.Get("Content-Type") != "application/yaml" {
		t.Errorf("openapi.yaml: %s, %d bytes, want the embedded document", r.header.Get("Content-Type"), len(r.body))
	}
	if r := call(t, c, a, "GET", "/media-proxy", "", resttest.Token, "Origin", "https://evil.example"); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS header without configured origins: %v", r.header)
	}
}

// Deletes change the registry and the plan.
func TestDelete(t *testing.T) {
	testutil.CheckLeaks(t)
	a := mesh(t, rest.Config{Token: resttest.Token})
	c := client(t)
	if r := call(t, c, a, "DELETE", "/connection/c-b1", "", resttest.Token); r.code != 200 || r.body != "" {
		t.Fatalf("delete connection: %d %q", r.code, r.body)
	}
	if r := call(t, c, a, "GET", "/api/v1/connection/c-b1", "", resttest.Token); r.code != 404 {
		t.Fatalf("deleted connection: %d", r.code)
	}
	// B still has c-b2: the bridge pair stays.
	if r := call(t, c, a, "GET", "/media-proxy/pA", "", resttest.Token); !strings.Contains(r.body, `"bridgesNum":1`) {
		t.Fatalf("bridge gone with one of B's receivers: %s", r.body)
	}
	if r := call(t, c, a, "DELETE", "/api/v1/media-proxy/pB", "", resttest.Token); r.code != 200 {
		t.Fatalf("delete proxy: %d %s", r.code, r.body)
	}
	var l rest.ConnectionList
	r := call(t, c, a, "GET", "/connection", "", resttest.Token)
	if err := json.Unmarshal([]byte(r.body), &l); err != nil {
		t.Fatal(err)
	}
	for _, cn := range l.Connection {
		if cn.ProxyID == "pB" {
			t.Errorf("connection %s of the deleted proxy remains", cn.ID)
		}
	}
	if r := call(t, c, a, "GET", "/bridge", "", resttest.Token); r.body != "{\"bridge\":[]}\n" {
		t.Errorf("bridges after B left: %s", r.body)
	}
}

// The lists in MCM's shapes, byte for byte (testdata/*.golden; -update
// rewrites them).
func TestGolden(t *testing.T) {
	testutil.CheckLeaks(t)
	a := mesh(t, rest.Config{Token: resttest.Token})
	c := client(t)
	for _, g := range []struct{ file, path string }{
		{"media-proxy.golden", "/media-proxy?status&config"},
		{"multipoint-group.golden", "/multipoint-group?status&config"},
		{"connection.golden", "/connection?status=false&config=0"},
	} {
		r := call(t, c, a, "GET", g.path, "", resttest.Token)
		var buf bytes.Buffer
		if err := json.Indent(&buf, []byte(r.body), "", "  "); err != nil {
			t.Fatalf("%s: %v", g.path, err)
		}
		file := filepath.Join("testdata", g.file)
		if *update {
			if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("GET %s differs from %s (run with -update to accept):\n%s", g.path, file, buf.String())
		}
	}
}

// The token guards every request but the health check.
func TestToken(t *testing.T) {
	testutil.CheckLeaks(t)
	a := resttest.Start(t, rest.Config{Token: resttest.Token, Insecure: true}) // insecure, yet a token: required
	c := client(t)
	for _, tc := range []struct {
		name, method, path, auth string
		code                     int
		msg                      string
	}{
		{"none", "GET", "/media-proxy", "", 401, "missing bearer token"},
		{"wrong", "GET", "/api/v1/media-proxy", "Bearer " + resttest.Token + "x", 401, "invalid bearer token"},
		{"prefix of it", "GET", "/connection", "Bearer " + resttest.Token[:20], 401, "invalid bearer token"},
		{"basic", "GET", "/media-proxy", "Basic " + resttest.Token, 401, "missing bearer token"},
		{"no scheme", "GET", "/media-proxy", resttest.Token, 401, "missing bearer token"},
		{"unknown path", "GET", "/nope", "", 401, "missing bearer token"},
		{"openapi", "GET", "/api/v1/openapi.yaml", "", 401, "missing bearer token"},
		{"delete", "DELETE", "/media-proxy/x", "", 401, "missing bearer token"},
		{"healthz post", "POST", "/api/v1/healthz", "", 401, "missing bearer token"},
		{"healthz", "GET", "/api/v1/healthz", "", 200, ""},
		{"healthz head", "HEAD", "/api/v1/healthz", "", 200, ""},
		{"right", "GET", "/media-proxy", "Bearer " + resttest.Token, 200, ""},
		{"scheme any case", "GET", "/media-proxy", "bearer " + resttest.Token, 200, ""},
		{"wrong, healthz", "GET", "/api/v1/healthz", "Bearer nope", 200, ""},
	} {
		var hdr []string
		if tc.auth != "" {
			hdr = []string{"Authorization", tc.auth}
		}
		r := call(t, c, a, tc.method, tc.path, "", "", hdr...)
		if r.code != tc.code {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, r.code, tc.code, r.body)
			continue
		}
		if tc.code == 401 {
			if e := checkError(t, tc.name, r); !strings.HasPrefix(e.Message, tc.msg) {
				t.Errorf("%s: %q, want %q", tc.name, e.Message, tc.msg)
			}
			if r.header.Get("WWW-Authenticate") != `Bearer realm="mesh-agent"` {
				t.Errorf("%s: WWW-Authenticate %q", tc.name, r.header.Get("WWW-Authenticate"))
			}
		}
	}
}

// Insecure without a token: open to all.
func TestInsecure(t *testing.T) {
	testutil.CheckLeaks(t)
	a := resttest.Start(t, rest.Config{Insecure: true})
	if r := call(t, client(t), a, "GET", "/media-proxy", "", ""); r.code != 200 || r.body != "{\"mediaProxy\":[]}\n" {
		t.Fatalf("insecure: %d %s", r.code, r.body)
	}
}

// CORS only for the listed origins; preflights need no token.
func TestCORS(t *testing.T) {
	testutil.CheckLeaks(t)
	const ui = "https://ui.example:8443"
	a := resttest.Start(t, rest.Config{Token: resttest.Token, CORSOrigins: []string{ui}})
	c := client(t)
	r := call(t, c, a, "OPTIONS", "/api/v1/media-proxy/x", "", "", "Origin", ui, "Access-Control-Request-Method", "DELETE")
	if r.code != 204 || r.header.Get("Access-Control-Allow-Origin") != ui ||
		r.header.Get("Access-Control-Allow-Methods") != "DELETE, GET, POST" ||
		r.header.Get("Access-Control-Allow-Headers") != "Authorization, Content-Type" {
		t.Errorf("preflight: %d %v", r.code, r.header)
	}
	if r := call(t, c, a, "GET", "/media-proxy", "", resttest.Token, "Origin", ui); r.code != 200 ||
		r.header.Get("Access-Control-Allow-Origin") != ui || r.header.Get("Vary") != "Origin" {
		t.Errorf("listed origin: %d %v", r.code, r.header)
	}
	for _, origin := range []string{"https://evil.example", "null", "https://ui.example:8443.evil", "*"} {
		r := call(t, c, a, "OPTIONS", "/media-proxy", "", "", "Origin", origin, "Access-Control-Request-Method", "GET")
		if r.code != 401 || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight from %s: %d %v", origin, r.code, r.header)
		}
		r = call(t, c, a, "GET", "/media-proxy", "", resttest.Token, "Origin", origin)
		if r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("GET from %s: %v", origin, r.header)
		}
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  rest.Config
		want string // "" = valid
	}{
		{"token", rest.Config{Token: resttest.Token}, ""},
		{"insecure", rest.Config{Insecure: true}, ""},
		{"origins", rest.Config{Insecure: true, CORSOrigins: []string{"http://localhost:3000", "https://ui.example"}}, ""},
		{"nothing", rest.Config{}, "a bearer token is required unless insecure"},
		{"short", rest.Config{Token: "0123456789"}, "token is 10 bytes, want at least 16"},
		{"space", rest.Config{Token: "0123456789 abcdefgh"}, "printable ASCII without spaces"},
		{"non-ascii", rest.Config{Token: "0123456789abcdefgé"}, "printable ASCII without spaces"},
		{"wildcard", rest.Config{Insecure: true, CORSOrigins: []string{"*"}}, `CORS origin "*"`},
		{"wildcard host", rest.Config{Insecure: true, CORSOrigins: []string{"https://*.example"}}, "no wildcard"},
		{"path", rest.Config{Insecure: true, CORSOrigins: []string{"https://ui.example/app"}}, "want scheme://host[:port]"},
		{"scheme", rest.Config{Insecure: true, CORSOrigins: []string{"ui.example"}}, "want scheme://host[:port]"},
	} {
		_, err := rest.New(tc.cfg, slog.New(slog.DiscardHandler))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, rest.ErrInvalid)):
			t.Errorf("%s: %v, want ErrInvalid with %q", tc.name, err, tc.want)
		}
	}
}

// A closed agent's API says so: 503, as JSON.
func TestClosed(t *testing.T) {
	testutil.CheckLeaks(t)
	a := resttest.Start(t, rest.Config{Insecure: true})
	h := a.Handler
	// Not checked: closed at once after Start, the agent's gRPC server may
	// not have begun serving, and Close reports grpc.ErrServerStopped.
	_ = a.Close()
	for _, path := range []string{"/api/v1/healthz", "/media-proxy", "/connection/x"} {
		rec := httptest.NewRecorder()
		req, _ := http.NewRequest("GET", path, nil)
		h.ServeHTTP(rec, req)
		r := response{rec.Code, rec.Header(), rec.Body.String()}
		if r.code != 503 {
			t.Errorf("%s after close: %d %s", path, r.code, r.body)
		}
		checkError(t, path, r)
	}
}
