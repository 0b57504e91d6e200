//go:build integration

package test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
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

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	proxyv1 "mediamesh/api/proxy/v1"
	"mediamesh/internal/testutil"
)

// Helpers of the ST 2110 interop tests (st2110_interop_test.go): a
// media-proxy with an ST 2110 address, peer processes whose logs are kept
// and shown on failure, UDP ports FFmpeg can use, readiness checks,
// deterministic reference media and the frame comparison.

// ixProxy is a media-proxy for ST 2110 on loopback: -i 127.0.0.1, the SDK
// API on a free TCP port of 127.0.0.1 (no token needed on loopback).
type ixProxy struct {
	*proxyProc
	sdk   string                   // 127.0.0.1:PORT for meshctl --proxy
	admin proxyv1.ProxyAdminClient // what meshctl ls asks, in process: a race-built meshctl takes a second to start
}

func ixStartST2110Proxy(t *testing.T) *ixProxy {
	t.Helper()
	sdk := testutil.FreeTCPAddr(t)
	_, port, _ := net.SplitHostPort(sdk)
	// Info level: the proxy log is printed whole when a case fails.
	p := startProxy(t, testutil.TempRunDir(t), "-i", "127.0.0.1", "-t", port, "--log-level", "info")
	testutil.Eventually(t, 10*time.Second, func() error {
		c, err := net.Dial("tcp", sdk)
		if err != nil {
			return err
		}
		return c.Close()
	})
	cc, err := grpc.NewClient(sdk, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return &ixProxy{proxyProc: p, sdk: sdk, admin: proxyv1.NewProxyAdminClient(cc)}
}

// ixCase is one case of the peer matrix: its own directory, a hard
// deadline, and the processes it started, which are killed when the case
// ends and whose logs are printed when it failed.
type ixCase struct {
	t       *testing.T
	ctx     context.Context
	dir     string
	proxy   *ixProxy
	meshctl string
	procs   []*ixProc
}

// ixCaseTimeout bounds one case, peers included.
const ixCaseTimeout = 30 * time.Second

func newIxCase(t *testing.T, p *ixProxy) *ixCase {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ixCaseTimeout)
	_, meshctl := bins(t)
	c := &ixCase{t: t, ctx: ctx, dir: t.TempDir(), proxy: p, meshctl: meshctl}
	t.Cleanup(func() {
		cancel() // kills whatever still runs (exec.CommandContext)
		for _, pr := range c.procs {
			<-pr.done
			if t.Failed() {
				t.Logf("--- %s (%s) exit %v, log:\n%s", pr.name, strings.Join(pr.cmd.Args, " "), pr.err, pr.tail(6000))
			}
		}
	})
	return c
}

func (c *ixCase) path(name string) string { return filepath.Join(c.dir, name) }

// ixProc is a peer or meshctl process; stdout and stderr go to a log file
// in the case's directory.
type ixProc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func (c *ixCase) start(name, bin string, args ...string) *ixProc {
	c.t.Helper()
	p := &ixProc{name: name, log: c.path(name + ".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		c.t.Fatal(err)
	}
	p.cmd = exec.CommandContext(c.ctx, bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		_ = f.Close()
		c.t.Fatalf("start %s: %v", name, err)
	}
	c.procs = append(c.procs, p)
	go func() {
		p.err = p.cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	return p
}

// meshctl starts a meshctl command against the case's proxy.
func (c *ixCase) meshctlCmd(name, sub string, args ...string) *ixProc {
	c.t.Helper()
	return c.start(name, c.meshctl, append([]string{sub, "--proxy", c.proxy.sdk}, args...)...)
}

// wait waits for the process to exit (the case's deadline kills it) and
// fails the test if it did not exit 0.
func (p *ixProc) wait(t *testing.T) {
	t.Helper()
	<-p.done
	if p.err != nil {
		t.Fatalf("%s failed: %v (its log follows)", p.name, p.err)
	}
}

// exited reports whether the process has ended.
func (p *ixProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *ixProc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

func (p *ixProc) tail(n int) string {
	s := p.output()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// line returns the last line of the process's log that starts with prefix.
func (p *ixProc) line(prefix string) string {
	lines := strings.Split(p.output(), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], prefix) {
			return lines[i]
		}
	}
	return ""
}

// ixNeedGst skips (fails under CI=true) unless gst-launch-1.0 and the named
// elements are installed, and returns gst-launch-1.0's path.
func ixNeedGst(t *testing.T, pkg string, elements ...string) string {
	t.Helper()
	launch := needPeer(t, "gst-launch-1.0", "gstreamer1.0-tools")
	inspect := needPeer(t, "gst-inspect-1.0", "gstreamer1.0-tools")
	for _, e := range elements {
		if exec.Command(inspect, "--exists", e).Run() != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("GStreamer element %s missing: scripts/deps.sh must install Debian's %s", e, pkg)
			}
			t.Skipf("GStreamer element %s not installed (Debian package %s)", e, pkg)
		}
	}
	return launch
}

// ixFreeUDPPort returns an even UDP port whose successor is free too: FFmpeg
// binds port+1 for RTCP next to an RTP port, and sends its reports there.
// Ports come from below the kernel's ephemeral range so that no socket
// bound to port 0 meanwhile takes them; each is checked free on the
// wildcard address, which conflicts with a bind to any address.
func ixFreeUDPPort(t *testing.T) int {
	t.Helper()
	for range 200 {
		p := 20000 + 2*rand.IntN(5000) // even, in [20000, 30000)
		a, err := net.ListenUDP("udp4", &net.UDPAddr{Port: p})
		if err != nil {
			continue
		}
		b, err := net.ListenUDP("udp4", &net.UDPAddr{Port: p + 1})
		_ = a.Close()
		if err != nil {
			continue
		}
		_ = b.Close()
		return p
	}
	t.Fatal("no free even UDP port pair in [20000, 30000)")
	return 0
}

// ixUDPBound reports whether some socket of this host is bound to UDP port
// (any address), from /proc/net/udp and udp6 like a wait-port helper.
func ixUDPBound(port int) error {
	hex := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(l)
			if len(fs) > 1 && strings.HasSuffix(fs[1], hex) {
				return nil
			}
		}
	}
	return fmt.Errorf("nothing bound to UDP port %d", port)
}

// waitUDP waits until a peer bound its UDP port, failing early if the peer
// died first.
func (c *ixCase) waitUDP(p *ixProc, port int) {
	c.t.Helper()
	testutil.Eventually(c.t, 10*time.Second, func() error {
		if p.exited() {
			return fmt.Errorf("%s exited before binding UDP %d: %v\n%s", p.name, port, p.err, p.tail(2000))
		}
		return ixUDPBound(port)
	})
}

// waitWire waits until the proxy lists an active ST 2110 connection of
// kind (rx or tx) whose stream description mentions 127.0.0.1:port (the
// local port of a receiver, the destination of a sender): then its socket
// is bound and its memif link up.
func (c *ixCase) waitWire(p *ixProc, kind string, port int) {
	c.t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	testutil.Eventually(c.t, 10*time.Second, func() error {
		if p.exited() {
			return fmt.Errorf("%s exited early: %v\n%s", p.name, p.err, p.tail(2000))
		}
		ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
		defer cancel()
		resp, err := c.proxy.admin.ListConnections(ctx, &proxyv1.ListConnectionsRequest{})
		if err != nil {
			return fmt.Errorf("list connections: %w", err)
		}
		var seen []string
		for _, cn := range resp.GetConnections() {
			if cn.GetKind() == kind && cn.GetState() == "active" && strings.Contains(cn.GetWire(), addr) {
				return nil
			}
			seen = append(seen, fmt.Sprintf("%s %s %q", cn.GetKind(), cn.GetState(), cn.GetWire()))
		}
		return fmt.Errorf("no active %s connection on %s; connections: %v", kind, addr, seen)
	})
}

// waitSDP waits until a process wrote a complete SDP to path (one
// write: it ends with a newline and has its media line).
func (c *ixCase) waitSDP(p *ixProc, path string) string {
	c.t.Helper()
	var sdp string
	testutil.Eventually(c.t, 10*time.Second, func() error {
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte("\nm=")) && bytes.HasSuffix(b, []byte("\n")) {
			sdp = string(b)
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited without writing %s: %v\n%s", p.name, path, p.err, p.tail(2000))
		}
		return fmt.Errorf("no SDP in %s yet", path)
	})
	return sdp
}

// fifo makes a named pipe for `meshctl send --from`: meshctl then creates
// its connection (and the stream's SDP) and waits for the first frame
// until feed writes the frames, so a receiver that needs that SDP can be
// started in between.
func (c *ixCase) fifo(name string) string {
	c.t.Helper()
	p := c.path(name)
	if err := unix.Mkfifo(p, 0o600); err != nil {
		c.t.Fatal(err)
	}
	return p
}

// fifoWriter opens the pipe's write end once its reader (meshctl) has it
// open. The non-blocking open fails with ENXIO until then; the file then
// goes through the runtime poller, so writes honour the case's deadline
// and fail with EPIPE if meshctl dies.
func (c *ixCase) fifoWriter(p *ixProc, path string) *os.File {
	c.t.Helper()
	var f *os.File
	testutil.Eventually(c.t, 10*time.Second, func() error {
		if p.exited() {
			return fmt.Errorf("%s exited before opening %s: %v\n%s", p.name, path, p.err, p.tail(2000))
		}
		var err error
		f, err = os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		return err
	})
	if dl, ok := c.ctx.Deadline(); ok {
		_ = f.SetWriteDeadline(dl)
	}
	return f
}

// feed writes frames to the pipe and closes it.
func (c *ixCase) feed(f *os.File, frames [][]byte) {
	c.t.Helper()
	defer f.Close()
	for i, fr := range frames {
		if _, err := f.Write(fr); err != nil {
			c.t.Fatalf("feeding frame %d to meshctl: %v", i, err)
		}
	}
}

// Socket receive buffer limits (sysctl net.core.*).
const (
	ixRmemMax     = "/proc/sys/net/core/rmem_max"     // cap of SO_RCVBUF
	ixRmemDefault = "/proc/sys/net/core/rmem_default" // SO_RCVBUF of a socket that sets none
)

// ixNeedRcvBuf raises each knob to at least n bytes for the test and
// restores it afterwards: a peer that cannot force its socket buffer
// (FFmpeg asks with SO_RCVBUF, capped by rmem_max; sdpdemux's udpsrc asks
// nothing) loses packets of a 1080p frame burst at Debian's defaults.
// Only root may: the test skips otherwise.
func ixNeedRcvBuf(t *testing.T, n int, knobs ...string) {
	t.Helper()
	for _, knob := range knobs {
		b, err := os.ReadFile(knob)
		if err != nil {
			t.Skipf("cannot read %s: %v", knob, err)
		}
		old, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || old >= n {
			continue
		}
		if os.Geteuid() != 0 {
			t.Skipf("%s is %d: the peer's socket buffer cannot hold a frame burst; run as root (the test raises it to %d) or raise it yourself", knob, old, n)
		}
		if err := os.WriteFile(knob, []byte(strconv.Itoa(n)), 0o644); err != nil {
			t.Skipf("raise %s: %v", knob, err)
		}
		t.Cleanup(func() {
			if err := os.WriteFile(knob, []byte(strconv.Itoa(old)), 0o644); err != nil {
				t.Errorf("restore %s to %d: %v", knob, old, err)
			}
		})
	}
}

// Layouts of reference video frames.
const (
	ixLayoutPG     = "pgroup10"    // RFC 4175 4:2:2 10-bit pgroups = GStreamer UYVP = FFmpeg bitpacked
	ixLayoutPlanar = "yuv422p10le" // FFmpeg yuv422p10le, GStreamer I422_10LE
	ixLayoutV210   = "v210"        // 6 pixels in 16 bytes, no row padding (MCM's; standard v210 when width%48 == 0)
)

// ixRefVideo holds deterministic 4:2:2 10-bit reference frames. Samples are
// drawn from 4-1019, the codes that survive every layout conversion
// (FFmpeg's v210 encoder clamps to that range).
type ixRefVideo struct {
	w, h    int
	planar  [][]byte
	layouts map[string][][]byte
}

func ixNewRefVideo(seed string, w, h, n int) *ixRefVideo {
	hs := fnv.New64a()
	_, _ = hs.Write([]byte(seed))
	r := rand.New(rand.NewPCG(hs.Sum64(), uint64(w)<<32|uint64(h)))
	v := &ixRefVideo{w: w, h: h, layouts: map[string][][]byte{}}
	for range n {
		f := make([]byte, w*h*4) // Y (w*h), Cb (w*h/2), Cr (w*h/2) samples of 2 bytes
		ixFillSamples(f, r)
		v.planar = append(v.planar, f)
	}
	v.layouts[ixLayoutPlanar] = v.planar
	return v
}

// The loops below touch only the test's own buffers; //go:norace keeps
// the race detector's instrumentation out of them (1080p references take
// seconds with it, milliseconds without).

//go:norace
func ixFillSamples(f []byte, r *rand.Rand) {
	for i := 0; i+8 <= len(f); i += 8 {
		x := r.Uint64()
		for j := range 4 {
			binary.LittleEndian.PutUint16(f[i+2*j:], uint16(4+(x>>(16*j)&0xffff)%1016))
		}
	}
}

// frames returns the reference frames in a layout, converted by this
// file's own code from the spec (shared/spec/st2110.md §4), not by
// internal/pixfmt, so the proxy's conversions are checked independently.
func (v *ixRefVideo) frames(layout string) [][]byte {
	if out, ok := v.layouts[layout]; ok {
		return out
	}
	conv := map[string]func([]byte, int) []byte{ixLayoutPG: ixPlanarToPG, ixLayoutV210: ixPlanarToV210}[layout]
	if conv == nil {
		panic("unknown layout " + layout)
	}
	out := make([][]byte, len(v.planar))
	for i, f := range v.planar {
		out[i] = conv(f, v.w*v.h)
	}
	v.layouts[layout] = out
	return out
}

// ixPlanarToPG packs pgroup k = Cb[k] Y[2k] Cr[k] Y[2k+1] of a yuv422p10le
// frame of px pixels as 40 bits, most significant first.
//
//go:norace
func ixPlanarToPG(f []byte, px int) []byte {
	y, cb, cr := f[:2*px], f[2*px:3*px], f[3*px:4*px]
	out := make([]byte, px*5/2+3) // PutUint64 writes 8 bytes for 5
	le := binary.LittleEndian
	for k := range px / 2 {
		v := uint64(le.Uint16(cb[2*k:]))<<54 | uint64(le.Uint16(y[4*k:]))<<44 |
			uint64(le.Uint16(cr[2*k:]))<<34 | uint64(le.Uint16(y[4*k+2:]))<<24
		binary.BigEndian.PutUint64(out[5*k:], v)
	}
	return out[:px*5/2]
}

// ixPlanarToV210 packs each 6 pixels into 4 LE words of three samples:
// Cb0 Y0 Cr0 | Y1 Cb1 Y2 | Cr1 Y3 Cb2 | Y4 Cr2 Y5.
//
//go:norace
func ixPlanarToV210(f []byte, px int) []byte {
	y, cb, cr := f[:2*px], f[2*px:3*px], f[3*px:4*px]
	out := make([]byte, px*8/3)
	le := binary.LittleEndian
	s := func(p []byte, i int) uint32 { return uint32(le.Uint16(p[2*i:])) }
	for g := range px / 6 {
		p, c, o := 6*g, 3*g, out[16*g:]
		le.PutUint32(o[0:], s(cb, c)|s(y, p)<<10|s(cr, c)<<20)
		le.PutUint32(o[4:], s(y, p+1)|s(cb, c+1)<<10|s(y, p+2)<<20)
		le.PutUint32(o[8:], s(cr, c+1)|s(y, p+3)<<10|s(cb, c+2)<<20)
		le.PutUint32(o[12:], s(y, p+4)|s(cr, c+2)<<10|s(y, p+5)<<20)
	}
	return out
}

// ixRefAudio returns n deterministic packets of size bytes (any bytes are
// valid L16/L24 samples).
func ixRefAudio(seed string, size, n int) [][]byte {
	hs := fnv.New64a()
	_, _ = hs.Write([]byte(seed))
	r := rand.New(rand.NewPCG(hs.Sum64(), uint64(size)))
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, size)
		for j := range out[i] {
			out[i][j] = byte(r.Uint32())
		}
	}
	return out
}

// ixWriteFrames writes frames back to back to path and returns it.
func ixWriteFrames(t *testing.T, path string, frames [][]byte) string {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(frames, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// ixMatchRun checks the file got against ref, unit by unit (frames or audio
// packets of len(ref[0]) bytes): the first unit received is located in
// ref, at most maxOffset units in (a peer may drop a first frame), and
// from there every unit must equal its reference, at least want of them.
// It returns the offset found and the number of units received.
func ixMatchRun(got []byte, ref [][]byte, want, maxOffset int) (offset, n int, err error) {
	size := len(ref[0])
	if len(got)%size != 0 {
		return 0, 0, fmt.Errorf("received %d bytes: not a whole number of %d-byte units", len(got), size)
	}
	n = len(got) / size
	if n < want {
		return 0, n, fmt.Errorf("received %d units of %d bytes, want at least %d", n, size, want)
	}
	unit := func(i int) []byte { return got[i*size : (i+1)*size] }
	offset = -1
	for k := range min(maxOffset+1, len(ref)) {
		if bytes.Equal(unit(0), ref[k]) {
			offset = k
			break
		}
	}
	if offset < 0 {
		return 0, n, fmt.Errorf("the first unit received matches none of the first %d reference units: %s", maxOffset+1, ixDescribeMismatch(unit(0), ref))
	}
	var bad []string
	nbad := 0
	for i := range n {
		k := offset + i
		if k >= len(ref) {
			return offset, n, fmt.Errorf("received %d units from reference unit %d, but only %d exist", n, offset, len(ref))
		}
		if bytes.Equal(unit(i), ref[k]) {
			continue
		}
		if nbad++; len(bad) < 8 {
			bad = append(bad, fmt.Sprintf("unit %d: %s", i, ixLocate(unit(i), ref, k)))
		}
	}
	if nbad > 0 {
		return offset, n, fmt.Errorf("%d of %d units differ from the reference (the first received is reference unit %d):\n  %s",
			nbad, n, offset, strings.Join(bad, "\n  "))
	}
	return offset, n, nil
}

// ixLocate explains a unit that should have been ref[k]: it equals a
// neighbour (lost, repeated or reordered units), or where it differs.
func ixLocate(b []byte, ref [][]byte, k int) string {
	for j := max(0, k-4); j < min(len(ref), k+8); j++ {
		if j != k && bytes.Equal(b, ref[j]) {
			return fmt.Sprintf("is reference unit %d, want %d", j, k)
		}
	}
	return "want reference unit " + strconv.Itoa(k) + ": " + ixDescribeMismatch(b, ref[k:k+1])
}

// ixDescribeMismatch says where b first differs from the first candidate and
// how many bytes differ, and whether b equals another candidate.
func ixDescribeMismatch(b []byte, cands [][]byte) string {
	for k, c := range cands {
		if bytes.Equal(b, c) {
			return fmt.Sprintf("equals candidate %d", k)
		}
	}
	c, first, diff := cands[0], -1, 0
	for i := range b {
		if b[i] != c[i] {
			diff++
			if first < 0 {
				first = i
			}
		}
	}
	return fmt.Sprintf("%d of %d bytes differ, the first at byte %d (%.1f %% into the unit)", diff, len(b), first, 100*float64(first)/float64(len(b)))
}
