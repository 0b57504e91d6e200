package rest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"mediamesh/internal/agent/rest"
	"mediamesh/internal/agent/rest/resttest"
)

// FuzzHandler sends the Control API arbitrary requests — method, path
// and query, body, with or without the token — against a real agent
// holding proxies, connections and a bridge pair. Whatever comes in, the
// answer is never a 5xx nor a panic, and every error is the JSON error
// shape with its status as code.
//
// No leak check here: under -fuzz the engine starts goroutines of its own.
// The proxies hold no command streams, so debug commands end in 409 at
// once; a successful DELETE is undone by registering again, so every
// input meets the same registry.
func FuzzHandler(f *testing.F) {
	a := resttest.Start(f, rest.Config{Token: resttest.Token})
	setup := func(t testing.TB) {
		a.Proxy(t, "pA", "10.0.0.1")
		a.Proxy(t, "pB", "10.0.0.2")
		a.Conn(t, "pA", "c-src", resttest.Video(sender, "g1"))
		a.Conn(t, "pB", "c-b", resttest.Video(receiver, "g1"))
		a.Conn(t, "pB", "c-audio", resttest.Audio(receiver, "239.1.1.1", 5004))
	}
	setup(f)
	for _, s := range []struct {
		method, target, body string
		token                bool
	}{
		{"GET", "/api/v1/healthz", "", false},
		{"GET", "/api/v1/openapi.yaml", "", true},
		{"GET", "/media-proxy?status&config", "", true},
		{"GET", "/api/v1/media-proxy/pA?config=false", "", true},
		{"DELETE", "/media-proxy/pB", "", true},
		{"GET", "/connection?status", "", true},
		{"GET", "/api/v1/connection/c-b", "", true},
		{"DELETE", "/api/v1/connection/c-b", "", true},
		{"GET", "/multipoint-group/g1?config", "", true},
		{"GET", "/multipoint-group/239.1.1.1%3A5004", "", true},
		{"GET", "/bridge?status&config", "", true},
		{"GET", "/bridge/x", "", true},
		{"POST", "/api/v1/media-proxy/pA/command", `{"text":"ping"}`, true},
		{"POST", "/media-proxy/pA/command", `{"text":"a","x":[1,{"y":null}]}`, true},
		{"POST", "/media-proxy/pA/command", `{"text":"\u00e9\ud800"} trailing`, true},
		{"POST", "/media-proxy/pA/command", `[{"text":"a"}]`, true},
		{"GET", "/media-proxy/pA/command/apply-config", "", true},
		{"GET", "/media-proxy/pA/command/%00%ff", "", true},
		{"PUT", "/bridge?proxy=pA&group=g1", "{}", true},
		{"OPTIONS", "/media-proxy", "", false},
		{"GET", "//media-proxy/../connection/./c-b", "", true},
		{"GET", "/api/v1/healthz/", "", true},
		{"BREW", "/media-proxy", "", true},
		{"GET", "/media-proxy", "", false},
	} {
		f.Add(s.method, s.target, []byte(s.body), s.token)
	}
	f.Fuzz(func(t *testing.T, method, target string, body []byte, token bool) {
		if !strings.HasPrefix(target, "/") {
			return // not a request line net/http would pass on
		}
		req, err := http.NewRequest(method, "http://agent"+target, bytes.NewReader(body))
		if err != nil {
			return // rejected by net/http before any handler
		}
		if token {
			req.Header.Set("Authorization", "Bearer "+resttest.Token)
		}
		rec := httptest.NewRecorder()
		a.Handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: %d %s", method, target, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var e rest.Error
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code != rec.Code || e.Error.Message == "" ||
				rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("%s %q: %d: not a JSON error: %q (%v)", method, target, rec.Code, rec.Body, err)
			}
		}
		if rec.Code == http.StatusOK && rec.Header().Get("Content-Type") == "application/json" && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %q: invalid JSON: %q", method, target, rec.Body)
		}
		if req.Method == http.MethodDelete && rec.Code == http.StatusOK {
			setup(t)
		}
	})
}
