package meshctl

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	agentv1 "mediamesh/api/agent/v1"
	sdkpb "mediamesh/api/mcm/sdk"
	"mediamesh/internal/agent/rest"
	"mediamesh/internal/agent/rest/resttest"
	"mediamesh/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the commands' output")

// agentMesh is a real agent: proxies A and B hold command streams, A has
// the sender and a receiver of group "g1", B two receivers (so one bridge
// pair A→B), C an ST 2110 audio receiver and no stream.
func agentMesh(t *testing.T) *resttest.Agent {
	t.Helper()
	const tx, rx = sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER, sdkpb.ConnectionKind_CONN_KIND_RECEIVER
	a := resttest.Start(t, rest.Config{Token: resttest.Token})
	a.Proxy(t, "pA", "10.0.0.1")
	a.Proxy(t, "pB", "10.0.0.2")
	a.Proxy(t, "pC", "10.0.0.3")
	a.Open(t, "pA")
	a.Open(t, "pB")
	a.Conn(t, "pA", "c-src", resttest.Video(tx, "g1"))
	a.Conn(t, "pA", "c-a", resttest.Video(rx, "g1"))
	a.Conn(t, "pB", "c-b1", resttest.Video(rx, "g1"))
	a.Conn(t, "pB", "c-b2", resttest.Video(rx, "g1"))
	a.Conn(t, "pC", "c-audio", resttest.Audio(rx, "239.1.1.1", 5004))
	a.Conn(t, "pC", "c-blob", resttest.Blob(rx, "files/a", 102400))
	a.Metrics(t, "pB", &agentv1.Metric{TimestampMs: resttest.T0.UnixMilli(), ProviderId: "c-b1", Fields: []*agentv1.MetricField{
		{Name: "state", Value: &agentv1.MetricField_StrValue{StrValue: "configured"}},
		{Name: "link", Value: &agentv1.MetricField_BoolValue{BoolValue: true}},
		{Name: "in", Value: &agentv1.MetricField_UintValue{UintValue: 921600}},
		{Name: "err", Value: &agentv1.MetricField_UintValue{UintValue: 3}},
	}})
	return a
}

// runWith runs meshctl with the environment env.
func runWith(ctx context.Context, env map[string]string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Run(ctx, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}, args)
	return code, out.String(), errb.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n%s", file, got)
	}
}

// meshctl get and describe against a real agent, table output compared
// with testdata/*.golden.
func TestGetDescribe(t *testing.T) {
	testutil.CheckLeaks(t)
	a := agentMesh(t)
	auth := []string{"--agent", a.URL, "--token", resttest.Token}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"get-proxies", []string{"get", "proxies"}},
		{"get-connections", []string{"get", "connections"}},
		{"get-groups", []string{"get", "groups"}},
		{"get-bridges", []string{"get", "bridges"}},
		{"describe-group", []string{"describe", "group", "g1"}},
		{"describe-group-slash", []string{"describe", "group", "files/a"}},
	} {
		code, out, errOut := run(t.Context(), append(tc.args, auth...)...)
		if code != 0 {
			t.Errorf("%v: exit %d: %s", tc.args, code, errOut)
			continue
		}
		golden(t, tc.name, out)
	}

	// -o json is the API's JSON, flags before or after the resource.
	code, out, errOut := run(t.Context(), append([]string{"get", "-o", "json", "groups"}, auth...)...)
	var l rest.MultipointGroupList
	if code != 0 || json.Unmarshal([]byte(out), &l) != nil || len(l.MultipointGroup) != 3 || l.MultipointGroup[2].SourceID != "c-src" {
		t.Errorf("get groups -o json: exit %d %s\n%s", code, errOut, out)
	}
	code, out, errOut = run(t.Context(), append([]string{"describe", "group", "g1", "-o", "json"}, auth...)...)
	var d struct {
		Group       rest.MultipointGroup `json:"multipointGroup"`
		Connections []rest.Connection    `json:"connections"`
		Bridges     []rest.Bridge        `json:"bridges"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil || d.Group.ID != "g1" || len(d.Connections) != 4 || len(d.Bridges) != 2 {
		t.Errorf("describe -o json: exit %d %s\n%s", code, errOut, out)
	}
}

// Where the agent URL and the token come from: flags, then
// MEDIAMESH_AGENT_TOKEN, then the config file.
func TestAgentConfig(t *testing.T) {
	testutil.CheckLeaks(t)
	a := resttest.Start(t, rest.Config{Token: resttest.Token})
	home := t.TempDir()
	cfgDir := filepath.Join(home, ".config", "mediamesh")
	if err := os.MkdirAll(cfgDir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeCfg := func(s string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(cfgDir, "meshctl.json"), []byte(s), mode); err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(filepath.Join(cfgDir, "meshctl.json"), mode)
	}
	env := map[string]string{"HOME": home}
	ok := "ID  HEALTHY  ACTIVE  CONTROL-IP  BRIDGE-IP  PORTS  CONNS  BRIDGES  REGISTERED\n"

	writeCfg(`{"agent": "`+a.URL+`", "token": "`+resttest.Token+`"}`, 0o600)
	if code, out, errOut := runWith(t.Context(), env, "get", "proxies"); code != 0 || out != ok || errOut != "" {
		t.Errorf("config file: exit %d %q %q", code, out, errOut)
	}
	// The environment's token wins over the file's, the flag over both.
	env["MEDIAMESH_AGENT_TOKEN"] = "wrong-token-0123456789"
	if code, _, errOut := runWith(t.Context(), env, "get", "proxies"); code != 1 || !strings.Contains(errOut, "agent: 401 invalid bearer token") {
		t.Errorf("env token: exit %d %q", code, errOut)
	}
	if code, _, errOut := runWith(t.Context(), env, "get", "proxies", "--token", resttest.Token); code != 0 {
		t.Errorf("flag token: exit %d %q", code, errOut)
	}
	delete(env, "MEDIAMESH_AGENT_TOKEN")

	writeCfg(`{"agent": "`+a.URL+`", "token": "`+resttest.Token+`"}`, 0o644)
	if code, _, errOut := runWith(t.Context(), env, "get", "proxies"); code != 0 || !strings.Contains(errOut, "readable by others") {
		t.Errorf("open config file: exit %d %q", code, errOut)
	}
	writeCfg(`{"agent": "`+a.URL+`", "tokn": "x"}`, 0o600)
	if code, _, errOut := runWith(t.Context(), env, "get", "proxies"); code != 1 || !strings.Contains(errOut, `unknown field "tokn"`) {
		t.Errorf("config typo: exit %d %q", code, errOut)
	}
	if code, _, errOut := runWith(t.Context(), env, "get", "proxies", "--config", filepath.Join(home, "none.json")); code != 1 ||
		!strings.Contains(errOut, "no such file") {
		t.Errorf("missing --config: exit %d %q", code, errOut)
	}
}

func TestGetErrors(t *testing.T) {
	testutil.CheckLeaks(t)
	a := agentMesh(t)
	auth := []string{"--agent", a.URL, "--token", resttest.Token}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"get"}, 2, "want one of proxies, connections, groups, bridges"},
		{[]string{"get", "pods"}, 2, "want one of proxies"},
		{[]string{"get", "proxies", "bridges"}, 2, "want one of proxies"},
		{[]string{"get", "proxies", "-o", "yaml"}, 2, `-o "yaml": want table or json`},
		{[]string{"get", "proxies", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"describe", "proxy", "x"}, 2, "want: describe group URN"},
		{[]string{"describe", "group"}, 2, "want: describe group URN"},
		{[]string{"describe", "group", "nope"}, 1, `agent: 404 multipoint group "nope" not found`},
		{[]string{"get", "proxies", "--token", "wrong-token-0123456789"}, 1, "agent: 401 invalid bearer token"},
		{[]string{"get", "proxies", "--agent", "ftp://x"}, 2, "want http(s)://host:port"},
		{[]string{"get", "proxies", "--agent", "http://" + testutil.FreeTCPAddr(t)}, 1, "connection refused"},
		{[]string{"get", "proxies", "--agent", "https://127.0.0.1:1", "--ca", "/nonexistent.pem"}, 1, "no such file"},
	} {
		// The case's flags come last and win over the defaults.
		args := append(append([]string{tc.args[0]}, auth...), tc.args[1:]...)
		code, _, errOut := run(t.Context(), args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}
