package conf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultFileMatchesDefaults(t *testing.T) {
	t.Parallel()
	cfg, action, err := LoadProxy([]string{"--config", "../../deploy/media-proxy.json"}, env(nil), nil)
	if err != nil || action != ActionRun {
		t.Fatal(err)
	}
	if def := DefaultProxy(); !reflect.DeepEqual(*cfg, def) {
		t.Fatalf("deploy/media-proxy.json drifted from the defaults:\n%+v\n%+v", *cfg, def)
	}
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(file, []byte(`{"sdkPort": 1111, "logLevel": "warn", "runDir": "/tmp/a"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := LoadProxy([]string{"--config", file, "--tcp", "3333"},
		env(map[string]string{"MEDIAMESH_SDK_PORT": "2222", "MEDIAMESH_LOG_LEVEL": "debug"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	// flags > env > file > defaults
	if cfg.SDKPort != 3333 || cfg.LogLevel != "debug" || cfg.RunDir != "/tmp/a" || cfg.GRPCPort != 8001 {
		t.Fatalf("%+v", cfg)
	}
	// MCM's short and HEAD's long names reach the same keys.
	cfg, _, err = LoadProxy([]string{"-t", "9", "-i", "10.1.1.1", "-d", "0000:01:00.0", "-g", "7", "-a", "agent:1",
		"-r", "10.2.2.2", "-p", "1-2,5", "--st2110_ip", "10.3.3.3", "--sdk", "10"}, env(nil), nil)
	if err != nil || cfg.SDKPort != 10 || cfg.ST2110IP != "10.3.3.3" || cfg.ST2110Dev != "0000:01:00.0" ||
		cfg.GRPCPort != 7 || cfg.Agent != "agent:1" || cfg.RDMAIP != "10.2.2.2" || cfg.RDMAPorts != "1-2,5" {
		t.Fatalf("%+v %v", cfg, err)
	}
}

func TestValidationErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"-t", "70000"}, []string{"sdkPort: 70000"}},
		{[]string{"--sdk-ip", "0.0.0.0"}, []string{"sdkIp: 0.0.0.0 is not loopback"}},
		{[]string{"--sdk-ip", "nope", "--log-level", "loud", "-p", "5-1"}, []string{"sdkIp:", "logLevel:", "rdmaPorts:"}},
		{[]string{"-a", "noport"}, []string{"agent:"}},
		{[]string{"--log-format", "xml"}, []string{"logFormat:"}},
		{[]string{"--allow-uid", "1,x"}, []string{"not an id"}},
	}
	for _, c := range cases {
		_, _, err := LoadProxy(c.args, env(nil), nil)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %v, want %q", c.args, err, w)
			}
		}
	}
	// A token or an explicit --insecure allows other addresses.
	for _, args := range [][]string{{"--sdk-ip", "0.0.0.0", "--token", "t"}, {"--sdk-ip", "0.0.0.0", "--insecure"}} {
		if _, _, err := LoadProxy(args, env(nil), nil); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	if _, _, err := LoadProxy([]string{"--bogus"}, env(nil), nil); !errors.Is(err, ErrUsage) {
		t.Fatalf("unknown flag: %v", err)
	}
	var out bytes.Buffer
	if _, action, err := LoadProxy([]string{"-h"}, env(nil), &out); err != nil || action != ActionHelp || !strings.Contains(out.String(), "--tcp") {
		t.Fatalf("help: %v %v %q", action, err, out.String())
	}
	file := filepath.Join(t.TempDir(), "c.json")
	_ = os.WriteFile(file, []byte(`{"sdkPrt": 1}`), 0o600)
	if _, _, err := LoadProxy([]string{"--config", file}, env(nil), nil); err == nil || !strings.Contains(err.Error(), "sdkPrt") {
		t.Fatalf("unknown key in file: %v", err)
	}
	cfg, action, _ := LoadProxy([]string{"--print-config", "--token", "secret"}, env(nil), nil)
	if action != ActionPrint || cfg.Redacted().Token != "REDACTED" {
		t.Fatal("print-config must redact the token")
	}
}
