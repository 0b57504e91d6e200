//go:build integration

// Package test holds end-to-end tests of the built binaries: a real
// media-proxy process and meshctl processes as apps, talking over real
// unix sockets, gRPC and memif shared memory.
package test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mediamesh/internal/testutil"
)

// bins builds media-proxy and meshctl once per test binary.
func bins(t *testing.T) (proxy, meshctl string) {
	t.Helper()
	b := testutil.BuildBinaries(t, "media-proxy", "meshctl")
	return b["media-proxy"], b["meshctl"]
}

// proxyProc is a running media-proxy.
type proxyProc struct {
	t      *testing.T
	bin    string
	runDir string
	cmd    *exec.Cmd
	log    *bytes.Buffer
	mu     sync.Mutex
}

func startProxy(t *testing.T, runDir string, extra ...string) *proxyProc {
	t.Helper()
	bin, _ := bins(t)
	p := &proxyProc{t: t, bin: bin, runDir: runDir}
	p.start(extra...)
	t.Cleanup(func() { p.stop(syscall.SIGTERM) })
	return p
}

func (p *proxyProc) start(extra ...string) {
	p.t.Helper()
	args := append([]string{"--run-dir", p.runDir, "-t", "0", "--log-level", "debug", "--log-format", "text"}, extra...)
	p.cmd = exec.Command(p.bin, args...)
	p.log = &bytes.Buffer{}
	p.cmd.Stdout = &lockedWriter{mu: &p.mu, w: p.log}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start media-proxy: %v", err)
	}
	testutil.Eventually(p.t, 10*time.Second, func() error {
		if _, err := os.Stat(filepath.Join(p.runDir, "sdk.sock")); err != nil {
			return err
		}
		return nil
	})
}

// stop signals the proxy and waits for it.
func (p *proxyProc) stop(sig syscall.Signal) {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	p.cmd = nil
	if p.t.Failed() {
		p.mu.Lock()
		p.t.Logf("media-proxy log:\n%s", p.log.String())
		p.mu.Unlock()
	}
}

func (p *proxyProc) addr() string { return "unix:" + filepath.Join(p.runDir, "sdk.sock") }

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// app is a meshctl process.
type app struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	err  bytes.Buffer
	done chan struct{}
	res  error
}

func startApp(t *testing.T, args ...string) *app {
	t.Helper()
	_, bin := bins(t)
	a := &app{done: make(chan struct{})}
	a.cmd = exec.Command(bin, args...)
	a.cmd.Stdout, a.cmd.Stderr = &a.out, &a.err
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start meshctl %v: %v", args, err)
	}
	go func() { a.res = a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		select {
		case <-a.done:
		default:
			_ = a.cmd.Process.Kill()
			<-a.done
		}
	})
	return a
}

// wait waits for the app to exit and returns its last stdout line.
func (a *app) wait(t *testing.T, timeout time.Duration) (string, error) {
	t.Helper()
	select {
	case <-a.done:
	case <-time.After(timeout):
		_ = a.cmd.Process.Kill()
		<-a.done
		return lastLine(a.out.String()), fmt.Errorf("timed out; stderr: %s", a.err.String())
	}
	if a.res != nil {
		return lastLine(a.out.String()), fmt.Errorf("%v; stderr: %s; stdout: %s", a.res, a.err.String(), a.out.String())
	}
	return lastLine(a.out.String()), nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// waitConns polls `meshctl ls` until n connections of kind are active.
func waitConns(t *testing.T, p *proxyProc, kind string, n int) {
	t.Helper()
	_, bin := bins(t)
	testutil.Eventually(t, 10*time.Second, func() error {
		out, err := exec.Command(bin, "ls", "--proxy", p.addr()).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		got := 0
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			if len(f) > 2 && f[1] == kind && f[2] == "active" {
				got++
			}
		}
		if got != n {
			return fmt.Errorf("%d %s connections active, want %d:\n%s", got, kind, n, out)
		}
		return nil
	})
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
