//go:build integration

package test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mediamesh/internal/testutil"
)

var video1080 = []string{"--video", "1920x1080", "--fps", "59.94", "--pix", "yuv422p10le"}

func recvOK(t *testing.T, line string, frames int) {
	t.Helper()
	want := fmt.Sprintf("recv ok frames=%d ", frames)
	if !strings.HasPrefix(line, want) || !strings.Contains(line, " lost=0 bad=0 ") {
		t.Fatalf("receiver ended with %q, want %q… lost=0 bad=0", line, want)
	}
}

// One sender, three receivers, 180 1080p yuv422p10le frames, bit-exact.
// At 30 fps: the frames are the same, and on the 2-core CI machine four
// race-built meshctl processes generating and verifying every one of them
// at 59.94 fps sometimes fall behind far enough that the proxy cuts a
// receiver off for pinning the sender (lost frames, the slow-receiver
// rule working, not a fault of the data path).
func TestVideoFanOut(t *testing.T) {
	p := startProxy(t, testutil.TempRunDir(t))
	group := []string{"--proxy", p.addr(), "--group", "urn:test:video"}
	video := append(append([]string{}, video1080...), "--fps", "30")
	var rx []*app
	for range 3 {
		args := append(append([]string{"recv"}, group...), video...)
		rx = append(rx, startApp(t, append(args, "--frames", "180", "--verify", "--timeout", "20s")...))
	}
	waitConns(t, p, "rx", 3)
	tx := startApp(t, append(append(append([]string{"send"}, group...), video...), "--frames", "180")...)
	if line, err := tx.wait(t, 60*time.Second); err != nil || !strings.HasPrefix(line, "send ok frames=180 ") {
		t.Fatalf("sender: %q %v", line, err)
	}
	for i, r := range rx {
		line, err := r.wait(t, 30*time.Second)
		if err != nil {
			t.Fatalf("receiver %d: %v", i, err)
		}
		recvOK(t, line, 180)
	}
}

// Audio: 48 kHz, 24-bit, stereo, 1 ms packets, 1000 of them.
func TestAudio(t *testing.T) {
	p := startProxy(t, testutil.TempRunDir(t))
	args := []string{"--proxy", p.addr(), "--group", "urn:test:audio", "--audio",
		"--sample-rate", "48000", "--channels", "2", "--format", "pcm_s24be", "--ptime", "1ms"}
	r := startApp(t, append(append([]string{"recv"}, args...), "--frames", "1000", "--verify", "--timeout", "10s")...)
	waitConns(t, p, "rx", 1)
	tx := startApp(t, append(append([]string{"send"}, args...), "--frames", "1000")...)
	if _, err := tx.wait(t, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	line, err := r.wait(t, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	recvOK(t, line, 1000)
	if !strings.Contains(line, "bytes=288000 ") {
		t.Fatalf("want 1000 × 288 bytes: %q", line)
	}
}

// A reliable blob group delivers 100 MB in 102400-byte buffers bit-exact,
// even to a receiver slower than the sender.
func TestReliableBlob(t *testing.T) {
	p := startProxy(t, testutil.TempRunDir(t))
	const n = 1024 // 1024 × 102400 B = 100 MiB
	args := []string{"--proxy", p.addr(), "--group", "urn:test:blob", "--blob", "102400", "--reliable"}
	fast := startApp(t, append(append([]string{"recv"}, args...), "--frames", fmt.Sprint(n), "--verify", "--timeout", "20s")...)
	slow := startApp(t, append(append([]string{"recv"}, args...), "--frames", fmt.Sprint(n), "--verify", "--timeout", "20s", "--hold", "2ms")...)
	waitConns(t, p, "rx", 2)
	tx := startApp(t, append(append([]string{"send"}, args...), "--frames", fmt.Sprint(n))...)
	if _, err := tx.wait(t, 120*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*app{fast, slow} {
		line, err := r.wait(t, 120*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		recvOK(t, line, n)
	}
}

// A slow receiver loses its oldest buffers but never stalls the sender or
// a fast receiver.
func TestSlowReceiverDoesNotStall(t *testing.T) {
	p := startProxy(t, testutil.TempRunDir(t))
	args := []string{"--proxy", p.addr(), "--group", "urn:test:slow", "--video", "640x360", "--fps", "200"}
	fast := startApp(t, append(append([]string{"recv"}, args...), "--frames", "600", "--verify", "--timeout", "10s")...)
	slow := startApp(t, append(append([]string{"recv"}, args...), "--timeout", "3s", "--hold", "50ms")...)
	waitConns(t, p, "rx", 2)
	start := time.Now()
	tx := startApp(t, append(append([]string{"send"}, args...), "--frames", "600")...)
	if _, err := tx.wait(t, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("sender took %v for 3 s of video: stalled by the slow receiver", d)
	}
	line, err := fast.wait(t, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	recvOK(t, line, 600)
	_, _ = slow.wait(t, 30*time.Second)
	if !strings.Contains(slow.out.String(), "recv ") {
		t.Fatalf("slow receiver printed nothing: %s", slow.err.String())
	}
}

// An app killed mid-stream is reclaimed within a second; the others go on.
func TestAppKilledMidStream(t *testing.T) {
	p := startProxy(t, testutil.TempRunDir(t))
	args := []string{"--proxy", p.addr(), "--group", "urn:test:kill", "--video", "640x360", "--fps", "100"}
	keep := startApp(t, append(append([]string{"recv"}, args...), "--frames", "400", "--verify", "--timeout", "10s")...)
	victim := startApp(t, append(append([]string{"recv"}, args...), "--timeout", "30s")...)
	waitConns(t, p, "rx", 2)
	tx := startApp(t, append(append([]string{"send"}, args...), "--frames", "400")...)
	time.Sleep(time.Second)
	_ = victim.cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	waitConns(t, p, "rx", 1)
	if d := time.Since(killed); d > 2*time.Second {
		t.Fatalf("killed app reclaimed after %v", d)
	}
	if _, err := tx.wait(t, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	line, err := keep.wait(t, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	recvOK(t, line, 400)
	// Its memif socket file is gone too.
	socks, _ := filepath.Glob(filepath.Join(p.runDir, "media_proxy_*.sock"))
	if len(socks) != 0 {
		t.Fatalf("memif sockets left after all apps ended: %v", socks)
	}
}

// The proxy restarts mid-stream: sender and receiver relink by themselves
// and the stream resumes within 2 s.
func TestProxyRestart(t *testing.T) {
	runDir := testutil.TempRunDir(t)
	p := startProxy(t, runDir)
	args := []string{"--proxy", p.addr(), "--group", "urn:test:restart", "--video", "640x360", "--fps", "50"}
	rx := startApp(t, append(append([]string{"recv"}, args...), "--frames", "400", "--timeout", "10s")...)
	waitConns(t, p, "rx", 1)
	tx := startApp(t, append(append([]string{"send"}, args...), "--frames", "400")...)
	time.Sleep(2 * time.Second)
	p.stop(syscall.SIGKILL)
	time.Sleep(300 * time.Millisecond)
	p.start()
	if _, err := tx.wait(t, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	_, _ = rx.wait(t, 30*time.Second)
	out := rx.out.String()
	if !strings.Contains(out, "reconnects=1") {
		t.Fatalf("receiver did not relink: %s %s", out, rx.err.String())
	}
	// 8 s of stream, ≤ 2 s lost to the restart: at least 250 frames.
	var frames int
	if _, err := fmt.Sscanf(out[strings.Index(out, "recv stats frames="):], "recv stats frames=%d", &frames); err != nil || frames < 250 {
		t.Fatalf("receiver got %d frames across the restart (want ≥ 250): %s", frames, out)
	}
}

// Garbage on every socket the proxy owns leaves it serving.
func TestGarbageOnEverySocket(t *testing.T) {
	runDir := testutil.TempRunDir(t)
	p := startProxy(t, runDir)
	args := []string{"--proxy", p.addr(), "--group", "urn:test:garbage", "--video", "64x64", "--fps", "100"}
	rx := startApp(t, append(append([]string{"recv"}, args...), "--frames", "300", "--verify", "--timeout", "10s")...)
	waitConns(t, p, "rx", 1)

	junk := [][]byte{
		[]byte("GET / HTTP/1.1\r\n\r\n"),
		[]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x08\x00\x00\x00\x00\x00garbage"),
		make([]byte, 128),
		bytesOf(0xff, 4096),
	}
	for _, j := range junk {
		if c, err := net.Dial("unix", filepath.Join(runDir, "sdk.sock")); err == nil {
			_, _ = c.Write(j)
			_ = c.Close()
		}
		socks, _ := filepath.Glob(filepath.Join(runDir, "media_proxy_*.sock"))
		for _, s := range socks {
			if c, err := net.Dial("unixpacket", s); err == nil {
				_, _ = c.Write(j[:min(len(j), 128)])
				_ = c.Close()
			}
		}
	}
	tx := startApp(t, append(append([]string{"send"}, args...), "--frames", "300")...)
	if _, err := tx.wait(t, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	line, err := rx.wait(t, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	recvOK(t, line, 300)
	if _, err := os.Stat(filepath.Join(runDir, "sdk.sock")); err != nil {
		t.Fatal(err)
	}
	_, bin := bins(t)
	if out, err := exec.Command(bin, "ls", "--proxy", p.addr()).CombinedOutput(); err != nil {
		t.Fatalf("proxy no longer answers: %v %s", err, out)
	}
}

func bytesOf(b byte, n int) []byte {
	s := make([]byte, n)
	for i := range s {
		s[i] = b
	}
	return s
}

// Sixteen receivers in one group: every one gets every buffer, in order.
func TestSixteenReceivers(t *testing.T) {
	p := startProxy(t, testutil.TempRunDir(t))
	args := []string{"--proxy", p.addr(), "--group", "urn:test:16", "--video", "320x180", "--fps", "50"}
	var rx []*app
	for range 16 {
		rx = append(rx, startApp(t, append(append([]string{"recv"}, args...), "--frames", "100", "--verify", "--timeout", "20s")...))
	}
	waitConns(t, p, "rx", 16)
	tx := startApp(t, append(append([]string{"send"}, args...), "--frames", "100")...)
	if _, err := tx.wait(t, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	for i, r := range rx {
		line, err := r.wait(t, 30*time.Second)
		if err != nil {
			t.Fatalf("receiver %d: %v", i, err)
		}
		recvOK(t, line, 100)
	}
}

// Raw frames piped in (as from FFmpeg) come out byte for byte.
func TestRawFramesThroughStdio(t *testing.T) {
	p := startProxy(t, testutil.TempRunDir(t))
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.raw"), filepath.Join(dir, "out.raw")
	const w, h, frames = 64, 36, 30
	data := make([]byte, w*h*4*frames)
	for i := range data {
		data[i] = byte(i*7 + i/251)
	}
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--proxy", p.addr(), "--group", "urn:test:raw", "--video", fmt.Sprintf("%dx%d", w, h), "--fps", "100"}
	rx := startApp(t, append(append([]string{"recv"}, args...), "--frames", fmt.Sprint(frames), "--to", out, "--timeout", "10s")...)
	waitConns(t, p, "rx", 1)
	_, bin := bins(t)
	send := exec.Command(bin, append(append([]string{"send"}, args...), "--from", "-", "--frames", "0")...)
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	send.Stdin = f
	if b, err := send.CombinedOutput(); err != nil || !strings.Contains(string(b), fmt.Sprintf("send ok frames=%d ", frames)) {
		t.Fatalf("send: %v %s", err, b)
	}
	if _, err := rx.wait(t, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("output differs: %d bytes, want %d", len(got), len(data))
	}
}
