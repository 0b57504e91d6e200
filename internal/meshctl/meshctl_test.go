package meshctl

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mediamesh/internal/testutil"
	"mediamesh/sdk"
)

func run(ctx context.Context, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Run(ctx, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}, args)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"send", "--video", "1920x1080"}, "--group URN or --st2110 ADDR:PORT is required"},
		{[]string{"send", "--group", "g"}, "exactly one of"},
		{[]string{"send", "--group", "g", "--video", "1920"}, "WIDTHxHEIGHT"},
		{[]string{"send", "--group", "g", "--blob", "10", "--audio"}, "exactly one of"},
		{[]string{"recv", "--group", "g", "--blob", "10", "--bogus"}, "flag provided but not defined"},
		{[]string{"memif", "send"}, "--socket is required"},
		{[]string{"memif", "send", "--socket", "/x", "--role", "boss"}, "want master or slave"},
		{[]string{"memif", "dance"}, "memif send|recv"},
	}
	for _, c := range cases {
		code, _, errOut := run(t.Context(), c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
	if code, out, _ := run(t.Context(), "--help"); code != 0 || !strings.Contains(out, "memif") {
		t.Errorf("--help: exit %d, %q", code, out)
	}
}

// The flags become MCM JSON that the SDK accepts as is.
func TestStreamFlagsMakeValidMCMConfig(t *testing.T) {
	t.Parallel()
	for _, s := range []streamFlags{
		{group: "g", video: "1920x1080", fps: 59.94, pix: "yuv422p10le", queue: 16},
		{group: "g", video: "1920x1080", fps: 50, pix: "v210", queue: 8, metadata: 100},
		{group: "g", audio: true, rate: 48000, channels: 2, format: "pcm_s24be", ptime: "1ms", queue: 16},
		{group: "g", blob: 102400, reliable: true, queue: 16},
	} {
		cfg, err := sdk.ParseConnectionConfig(s.connJSON(false))
		if err != nil {
			t.Fatalf("%s: %v", s.connJSON(false), err)
		}
		if cfg.Connection.MultipointGroup.URN != "g" || cfg.Options.Reliable != s.reliable {
			t.Fatalf("%s parsed as %+v", s.connJSON(false), cfg)
		}
	}
	s := streamFlags{proxy: "unix:/run/x/sdk.sock"}
	cc, err := sdk.ParseClientConfig(s.clientJSON())
	if err != nil || cc.ProxyTarget(nil) != "unix:/run/x/sdk.sock" {
		t.Fatalf("unix proxy: %v %q", err, cc.ProxyTarget(nil))
	}
	s = streamFlags{proxy: "[::1]:9000"}
	cc, _ = sdk.ParseClientConfig(s.clientJSON())
	if got := cc.ProxyTarget(nil); got != "[::1]:9000" {
		t.Fatalf("ipv6 proxy: %q", got)
	}
}

// meshctl memif send and recv talk to each other in both role pairings,
// with buffers larger than a slot (chains).
func TestMemifSendRecv(t *testing.T) {
	testutil.CheckLeaks(t)
	for _, roles := range [][2]string{{"master", "slave"}, {"slave", "master"}} {
		sock := filepath.Join(testutil.TempRunDir(t), "m.sock")
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		var wg sync.WaitGroup
		var rcode, scode int
		var rout, sout, rerr, serr string
		common := []string{"--socket", sock, "--count", "300", "--size", "5000", "--buf-size", "2048", "--timeout", "15s", "--secret", "pw"}
		// The master listens first; the slave dials once the socket exists.
		recv := func() {
			rcode, rout, rerr = run(ctx, append([]string{"memif", "recv", "--role", roles[0]}, common...)...)
		}
		wg.Add(1)
		if roles[0] == "master" {
			go func() { defer wg.Done(); recv() }()
			testutil.Eventually(t, 5*time.Second, func() error { _, err := os.Stat(sock); return err })
		} else {
			go func() {
				defer wg.Done()
				testutil.Eventually(t, 5*time.Second, func() error { _, err := os.Stat(sock); return err })
				recv()
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			scode, sout, serr = run(ctx, append([]string{"memif", "send", "--role", roles[1]}, common...)...)
		}()
		wg.Wait()
		cancel()
		if rcode != 0 || !strings.Contains(rout, "memif recv ok count=300 bytes=1500000 lost=0 bad=0") {
			t.Fatalf("%v recv: exit %d %q %q", roles, rcode, rout, rerr)
		}
		if scode != 0 || !strings.Contains(sout, "memif send ok count=300 bytes=1500000") {
			t.Fatalf("%v send: exit %d %q %q", roles, scode, sout, serr)
		}
	}
}
