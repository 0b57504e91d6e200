package main

import (
	"io"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	cases := []struct {
		name string
		args []string
		env  func(string) string
		err  string
		want func(*flags) bool
	}{
		{"secure by default: certificates required", nil, env(), "mTLS needs --ca, --cert and --key", nil},
		{"insecure is explicit", []string{"--insecure"}, env(), "", func(f *flags) bool {
			return f.insecure && f.grpcAddr == ":50051" && f.restAddr == "127.0.0.1:8100" && f.dataDir == "/var/lib/mediamesh"
		}},
		{"mTLS", []string{"--ca", "c", "--cert", "a", "--key", "k", "--rest-addr="}, env(), "", func(f *flags) bool { return !f.insecure }},
		{"mTLS without a REST token", []string{"--ca", "c", "--cert", "a", "--key", "k"}, env(), "needs --token", nil},
		{"insecure with certificates", []string{"--insecure", "--ca", "c"}, env(), "exclude each other", nil},
		{"environment, then flags", []string{"--data-dir", "/flag"},
			env("MEDIAMESH_AGENT_INSECURE", "true", "MEDIAMESH_AGENT_GRPC_ADDR", "127.0.0.1:1", "MEDIAMESH_AGENT_DATA_DIR", "/env"), "",
			func(f *flags) bool { return f.insecure && f.grpcAddr == "127.0.0.1:1" && f.dataDir == "/flag" }},
		{"bad environment value", []string{"--insecure"}, env("MEDIAMESH_AGENT_INSECURE", "maybe"), "MEDIAMESH_AGENT_INSECURE", nil},
		{"stray argument", []string{"--insecure", "x"}, env(), "unexpected arguments", nil},
		{"unknown flag", []string{"--nope"}, env(), "not defined", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := parse(tc.args, tc.env, io.Discard)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !tc.want(f) {
				t.Fatalf("parse = %+v, %v", f, err)
			}
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	if code := run([]string{"-h"}, func(string) string { return "" }, io.Discard); code != 0 {
		t.Errorf("-h exits %d", code)
	}
	if code := run(nil, func(string) string { return "" }, io.Discard); code != 2 {
		t.Errorf("missing certificates exit %d, want 2", code)
	}
	if code := run([]string{"--insecure", "--log-level", "loud"}, func(string) string { return "" }, io.Discard); code != 2 {
		t.Errorf("bad log level exits %d, want 2", code)
	}
}
