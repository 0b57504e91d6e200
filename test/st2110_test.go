//go:build integration

package test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mediamesh/internal/sdp"
	"mediamesh/internal/testutil"
)

// e2ePort returns an even UDP port that is free on every address, from
// below the kernel's ephemeral range so that no socket bound to port 0
// takes it meanwhile.
func e2ePort(t *testing.T) int {
	t.Helper()
	for range 200 {
		p := 30000 + 2*rand.IntN(1000) // [30000, 32000)
		c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: p})
		if err != nil {
			continue
		}
		_ = c.Close()
		return p
	}
	t.Fatal("no free UDP port in [30000, 32000)")
	return 0
}

// e2eProxy is a media-proxy whose ST 2110 interface is loopback. It also
// stops race-built binaries from sleeping a second at exit (the race
// runtime's default), so that polling `meshctl ls` follows a stream of a
// few seconds.
func e2eProxy(t *testing.T) *proxyProc {
	t.Helper()
	t.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	return startProxy(t, testutil.TempRunDir(t), "-i", "127.0.0.1")
}

// e2eConn is one row of `meshctl ls` and its wire counters.
type e2eConn struct {
	id, kind, state, where string
	stats                  map[string]uint64
}

// e2eLs runs `meshctl ls` and returns its connections by id.
func e2eLs(t *testing.T, p *proxyProc) (map[string]*e2eConn, string, error) {
	t.Helper()
	_, bin := bins(t)
	out, err := exec.Command(bin, "ls", "--proxy", p.addr()).CombinedOutput()
	if err != nil {
		return nil, string(out), fmt.Errorf("meshctl ls: %v: %s", err, out)
	}
	conns := map[string]*e2eConn{}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		switch {
		case len(f) >= 2 && f[1] == "wire:":
			c := conns[f[0]]
			if c == nil {
				return nil, string(out), fmt.Errorf("wire counters of an unlisted connection: %q", l)
			}
			for _, kv := range f[2:] {
				k, v, _ := strings.Cut(kv, "=")
				c.stats[k], _ = strconv.ParseUint(v, 10, 64)
			}
		case len(f) >= 4:
			// The GROUP column holds the wire's description, spaces and all:
			// it runs up to the PAYLOAD column, which starts with the essence.
			where := strings.Join(f[3:], " ")
			if i := strings.Index(where, " st2110-"); i >= 0 {
				where = where[:i]
			}
			conns[f[0]] = &e2eConn{id: f[0], kind: f[1], state: f[2], where: where, stats: map[string]uint64{}}
		}
	}
	return conns, string(out), nil
}

// e2eWire waits until `meshctl ls` shows a connection of each kind on the
// wire that has counted frames, and returns them in that order.
func e2eWire(t *testing.T, p *proxyProc, kinds ...string) []*e2eConn {
	t.Helper()
	var got []*e2eConn
	testutil.Eventually(t, 10*time.Second, func() error {
		conns, out, err := e2eLs(t, p)
		if err != nil {
			return err
		}
		got = got[:0]
		for _, kind := range kinds {
			for _, c := range conns {
				if c.kind == kind && c.stats["frames"] > 0 && c.stats["packets"] > 0 {
					got = append(got, c)
					break
				}
			}
		}
		if len(got) != len(kinds) {
			return fmt.Errorf("no %v connections with wire frames yet:\n%s", kinds, out)
		}
		return nil
	})
	return got
}

// tenBitFrames makes n yuv422p10le frames of w×h whose samples are 10-bit
// clean (all the wire carries) and differ from frame to frame.
func tenBitFrames(w, h, n int) []byte {
	size := w * h * 4
	b := make([]byte, size*n)
	for i := range len(b) / 2 {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(i*13+i/size*97)&0x3ff)
	}
	return b
}

// TestST2110Video: meshctl send --st2110 to meshctl recv --st2110 through
// a real media-proxy, in the wire's own layout (the test pattern, checked
// by --verify) and as yuv422p10le (10-bit clean frames from a file,
// compared with what arrived).
func TestST2110Video(t *testing.T) {
	p := e2eProxy(t)
	t.Run("yuv422p10rfc4175", func(t *testing.T) {
		port := fmt.Sprint(e2ePort(t))
		args := []string{"--proxy", p.addr(), "--st2110", "127.0.0.1:" + port, "--video", "320x240", "--fps", "59.94"}
		rx := startApp(t, append(append([]string{"recv"}, args...), "--frames", "60", "--verify", "--timeout", "10s")...)
		waitConns(t, p, "rx", 1)
		tx := startApp(t, append(append([]string{"send"}, args...), "--frames", "60")...)
		if line, err := tx.wait(t, 30*time.Second); err != nil || !strings.HasPrefix(line, "send ok frames=60 ") {
			t.Fatalf("sender: %q %v", line, err)
		}
		line, err := rx.wait(t, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		recvOK(t, line, 60)
		if !strings.Contains(rx.out.String(), " incomplete=0") || !strings.Contains(line, fmt.Sprintf("bytes=%d ", 60*320*240*5/2)) {
			t.Fatalf("receiver: %s", rx.out.String())
		}
	})
	t.Run("yuv422p10le", func(t *testing.T) {
		const w, h, n = 320, 240, 30
		dir := t.TempDir()
		in, out := filepath.Join(dir, "in.yuv"), filepath.Join(dir, "out.yuv")
		frames := tenBitFrames(w, h, n)
		if err := os.WriteFile(in, frames, 0o644); err != nil {
			t.Fatal(err)
		}
		port := fmt.Sprint(e2ePort(t))
		args := []string{"--proxy", p.addr(), "--st2110", "127.0.0.1:" + port, "--video", fmt.Sprintf("%dx%d", w, h), "--pix", "yuv422p10le"}
		rx := startApp(t, append(append([]string{"recv"}, args...), "--frames", fmt.Sprint(n), "--to", out, "--timeout", "10s")...)
		waitConns(t, p, "rx", 1)
		tx := startApp(t, append(append([]string{"send"}, args...), "--from", in, "--frames", "0")...)
		if line, err := tx.wait(t, 30*time.Second); err != nil || !strings.HasPrefix(line, fmt.Sprintf("send ok frames=%d ", n)) {
			t.Fatalf("sender: %q %v", line, err)
		}
		line, err := rx.wait(t, 30*time.Second)
		if err != nil || !strings.HasPrefix(line, fmt.Sprintf("recv ok frames=%d ", n)) {
			t.Fatalf("receiver: %q %v", line, err)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, frames) {
			size := w * h * 4
			for k := range n {
				if k*size+size > len(got) || !bytes.Equal(got[k*size:(k+1)*size], frames[k*size:(k+1)*size]) {
					t.Fatalf("frame %d of %d differs (%d bytes received, %d sent)", k, n, len(got), len(frames))
				}
			}
		}
	})
}

// TestST2110Audio: ST 2110-30 packet times through a real media-proxy,
// verified buffer by buffer.
func TestST2110Audio(t *testing.T) {
	p := e2eProxy(t)
	for _, tc := range []struct {
		name                        string
		channels, format, pt, queue string
		packets, bytesPerPkt        int
	}{
		{"L24-2ch-1ms", "2", "pcm_s24be", "1ms", "16", 500, 288},
		// 8000 buffers/s: 16 slots are 2 ms, less than a race-built
		// receiver's scheduling hiccups; 128 are 16 ms.
		{"L16-8ch-125us", "8", "pcm_s16be", "125us", "128", 2000, 96},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := fmt.Sprint(e2ePort(t))
			args := []string{"--proxy", p.addr(), "--st2110", "127.0.0.1:" + port, "--transport", "st2110-30", "--pt", "97",
				"--audio", "--sample-rate", "48000", "--channels", tc.channels, "--format", tc.format, "--ptime", tc.pt, "--queue", tc.queue}
			n := fmt.Sprint(tc.packets)
			rx := startApp(t, append(append([]string{"recv"}, args...), "--frames", n, "--verify", "--timeout", "10s")...)
			waitConns(t, p, "rx", 1)
			tx := startApp(t, append(append([]string{"send"}, args...), "--frames", n)...)
			if line, err := tx.wait(t, 30*time.Second); err != nil || !strings.HasPrefix(line, "send ok frames="+n+" ") {
				t.Fatalf("sender: %q %v", line, err)
			}
			line, err := rx.wait(t, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			recvOK(t, line, tc.packets)
			if !strings.Contains(line, fmt.Sprintf("bytes=%d ", tc.packets*tc.bytesPerPkt)) {
				t.Fatalf("want %d × %d bytes: %q", tc.packets, tc.bytesPerPkt, line)
			}
		})
	}
}

// TestST2110LsAndSDP: while a stream runs, `meshctl ls` shows both ends on
// the wire with their counters, and `meshctl sdp` prints the sender's SDP,
// the same that `send --sdp` wrote, parseable and naming the stream.
func TestST2110LsAndSDP(t *testing.T) {
	p := e2eProxy(t)
	port := e2ePort(t)
	sdpOut := filepath.Join(t.TempDir(), "tx.sdp")
	args := []string{"--proxy", p.addr(), "--st2110", fmt.Sprintf("127.0.0.1:%d", port), "--video", "320x240", "--pt", "100"}
	rx := startApp(t, append(append([]string{"recv"}, args...), "--frames", "240", "--verify", "--timeout", "10s")...)
	waitConns(t, p, "rx", 1)
	tx := startApp(t, append(append([]string{"send"}, args...), "--frames", "240", "--sdp", sdpOut)...)

	both := e2eWire(t, p, "rx", "tx")
	r, s := both[0], both[1]
	if want := fmt.Sprintf("st2110-20 rx 127.0.0.1:%d", port); r.where != want {
		t.Errorf("rx wire %q, want %q", r.where, want)
	}
	if !strings.HasPrefix(s.where, "st2110-20 tx 127.0.0.1:") || !strings.HasSuffix(s.where, fmt.Sprintf(" -> 127.0.0.1:%d", port)) {
		t.Errorf("tx wire %q, want st2110-20 tx 127.0.0.1:… -> 127.0.0.1:%d", s.where, port)
	}
	if s.stats["bytes"] == 0 || r.stats["bytes"] == 0 {
		t.Errorf("wire counters: rx %v, tx %v", r.stats, s.stats)
	}

	_, bin := bins(t)
	cmd := exec.Command(bin, "sdp", "--proxy", p.addr(), s.id)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("meshctl sdp %s: %v: %s", s.id, err, stderr.String())
	}
	sess, err := sdp.Parse(out)
	if err != nil {
		t.Fatalf("meshctl sdp printed an SDP we cannot parse: %v\n%s", err, out)
	}
	m := sess.Media[0]
	if m.Encoding != sdp.EncodingRaw || m.Port != uint16(port) || m.PayloadType != 100 || m.Dest.String() != "127.0.0.1" ||
		m.Video == nil || m.Video.Width != 320 || m.Video.Height != 240 || m.Video.Depth != 10 {
		t.Errorf("SDP of %s: media %+v video %+v\n%s", s.id, m, m.Video, out)
	}
	if err := sess.Validate(); err != nil {
		t.Errorf("SDP of %s is not valid ST 2110: %v\n%s", s.id, err, out)
	}
	if file, err := os.ReadFile(sdpOut); err != nil || !bytes.Equal(file, out) {
		t.Errorf("send --sdp wrote %q (%v), meshctl sdp printed %q", file, err, out)
	}
	if runFile, err := os.ReadFile(filepath.Join(p.runDir, s.id+".sdp")); err != nil || !bytes.Equal(runFile, out) {
		t.Errorf("the run dir's SDP file: %v", err)
	}
	// A group-less receiver has no SDP of its own.
	if b, err := exec.Command(bin, "sdp", "--proxy", p.addr(), r.id).CombinedOutput(); err == nil {
		t.Errorf("meshctl sdp of a plain rx connection printed %q", b)
	}

	if line, err := tx.wait(t, 30*time.Second); err != nil || !strings.HasPrefix(line, "send ok frames=240 ") {
		t.Fatalf("sender: %q %v", line, err)
	}
	line, err := rx.wait(t, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	recvOK(t, line, 240)
}

// TestST2110ReceiverKilled: a receiving app killed mid-stream loses its
// connection (its socket and memif link are reclaimed), while the sender
// keeps sending to the wire and ends normally.
func TestST2110ReceiverKilled(t *testing.T) {
	p := e2eProxy(t)
	port := fmt.Sprint(e2ePort(t))
	args := []string{"--proxy", p.addr(), "--st2110", "127.0.0.1:" + port, "--video", "320x240"}
	victim := startApp(t, append(append([]string{"recv"}, args...), "--timeout", "30s")...)
	waitConns(t, p, "rx", 1)
	tx := startApp(t, append(append([]string{"send"}, args...), "--frames", "180")...)
	r := e2eWire(t, p, "rx")[0]
	_ = victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.done
	var sent uint64
	testutil.Eventually(t, 5*time.Second, func() error {
		conns, out, err := e2eLs(t, p)
		if err != nil {
			return err
		}
		if _, ok := conns[r.id]; ok {
			return fmt.Errorf("killed receiver %s still listed:\n%s", r.id, out)
		}
		for _, c := range conns {
			if c.kind == "tx" {
				sent = c.stats["frames"]
			}
		}
		return nil
	})
	testutil.Eventually(t, 5*time.Second, func() error {
		conns, out, err := e2eLs(t, p)
		if err != nil {
			return err
		}
		for _, c := range conns {
			if c.kind == "tx" && c.state == "active" && c.stats["frames"] > sent {
				return nil
			}
		}
		return fmt.Errorf("the sender stopped at %d frames after the receiver died:\n%s", sent, out)
	})
	if line, err := tx.wait(t, 30*time.Second); err != nil || !strings.HasPrefix(line, "send ok frames=180 ") {
		t.Fatalf("sender: %q %v", line, err)
	}
	// Nothing holds the port any more: a new receiver can bind it.
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: mustAtoi(t, port)})
	if err != nil {
		t.Fatalf("the killed receiver's port is still bound: %v", err)
	}
	_ = c.Close()
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
