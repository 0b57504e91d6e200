//go:build integration

package test

// The multi-node harness: a mesh of real processes on a test LAN of
// network namespaces. mesh-agent runs in "ctl", one media-proxy in each of
// "A", "B" and "C", all with mTLS to the agent; apps are meshctl processes
// in the node namespaces. Nothing leaves the namespaces: the addresses are
// the LAN's own, and the LAN is a bridge no host interface is part of.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"mediamesh/internal/agent/rest"
	"mediamesh/internal/pattern"
	"mediamesh/internal/testutil"
)

// The LAN's plan: the agent's addresses are fixed because they are baked
// into its server certificate (meshctl certs --hosts) and into every
// proxy's -a.
const (
	ctlIP       = "10.77.0.1"
	agentGRPC   = ctlIP + ":50051"
	agentURL    = "http://" + ctlIP + ":8100"
	meshToken   = "mediamesh-multinode-test-token" // ≥ 16 bytes, as the agent demands
	bridgePorts = "9100-9199"
)

// nodes are the media nodes, in the order tests iterate them.
var nodes = []string{"A", "B", "C"}

// nodeIPs are the nodes' LAN addresses: each proxy's -r, its bridge
// address.
var nodeIPs = map[string]string{"A": "10.77.0.11", "B": "10.77.0.12", "C": "10.77.0.13"}

// mesh is one test's cluster.
type mesh struct {
	t       *testing.T
	lan     *testutil.LAN
	meshctl string
	certs   string
	agent   *daemon
	proxies map[string]*daemon // by node
	runDirs map[string]string  // by node: the proxy's --run-dir
}

// newMesh builds the LAN, makes the certificates, starts the agent and the
// three proxies and returns once the agent lists all three healthy with
// their command streams open: from then on a connection an app makes is
// planned at once. Everything is stopped, and its logs are printed if the
// test failed, when the test ends.
func newMesh(t *testing.T) *mesh {
	t.Helper()
	testutil.RequireRoot(t)
	b := testutil.BuildBinaries(t, "media-proxy", "mesh-agent", "meshctl")
	hosts := map[string]string{"ctl": ctlIP}
	for _, n := range nodes {
		hosts[n] = nodeIPs[n]
	}
	m := &mesh{t: t, lan: testutil.NewLAN(t, "lan", hosts), meshctl: b["meshctl"],
		certs: t.TempDir(), proxies: map[string]*daemon{}, runDirs: map[string]string{}}
	clients := make([]string, len(nodes))
	for i, n := range nodes {
		clients[i] = "proxy" + n
	}
	if out, err := exec.Command(m.meshctl, "certs", "--out", m.certs, "--hosts", ctlIP,
		"--clients", strings.Join(clients, ",")).CombinedOutput(); err != nil {
		t.Fatalf("meshctl certs: %v\n%s", err, out)
	}
	cert := func(name string) string { return filepath.Join(m.certs, name) }
	m.agent = startDaemon(t, "mesh-agent", m.lan.Hosts["ctl"].NS, b["mesh-agent"], "mesh-agent started",
		"--grpc-addr", agentGRPC, "--rest-addr", ctlIP+":8100", "--data-dir", t.TempDir(),
		"--ca", cert("ca.pem"), "--cert", cert("agent.pem"), "--key", cert("agent-key.pem"),
		"--token", meshToken, "--log-format", "text", "--log-level", "debug")
	for _, n := range nodes {
		m.runDirs[n] = testutil.TempRunDir(t)
		m.proxies[n] = startDaemon(t, "media-proxy "+n, m.ns(n), b["media-proxy"], "media-proxy started",
			"--run-dir", m.runDirs[n], "-t", "0", "--log-format", "text", "--log-level", "debug",
			"-a", agentGRPC, "--agent-ca", cert("ca.pem"),
			"--agent-cert", cert("proxy"+n+".pem"), "--agent-key", cert("proxy"+n+"-key.pem"),
			"-r", nodeIPs[n], "-p", bridgePorts)
	}
	m.waitProxiesHealthy(30 * time.Second)
	return m
}

// eventually is testutil.Eventually for polls of the agent, at most four
// tries a second rather than twenty: each try runs meshctl processes
// (built with -race under make test), which on 2 cores compete with the
// very streams a test watches. A polling loop that starves the receivers
// makes the faults it waits for.
func (m *mesh) eventually(timeout time.Duration, fn func() error) {
	m.t.Helper()
	var last time.Time
	testutil.Eventually(m.t, timeout, func() error {
		if d := 250*time.Millisecond - time.Since(last); d > 0 {
			time.Sleep(d) // a rate limit, not a wait for anything
		}
		last = time.Now()
		return fn()
	})
}

// ns is a node's (or "ctl"'s) namespace.
func (m *mesh) ns(node string) *testutil.NS { return m.lan.Hosts[node].NS }

// sdk is the --proxy address of node's media-proxy for apps.
func (m *mesh) sdk(node string) string { return "unix:" + filepath.Join(m.runDirs[node], "sdk.sock") }

// get runs `meshctl get what -o json` against the agent from the ctl
// namespace, as an operator would, and decodes the answer into v.
func (m *mesh) get(what string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := m.ns("ctl").Exec(ctx, m.meshctl, "get", what, "-o", "json", "--agent", agentURL, "--token", meshToken)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("meshctl get %s: %v: %s", what, err, strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("meshctl get %s: %v: %.300s", what, err, out)
	}
	return nil
}

// proxyIDs maps the agent's proxy ids to nodes by their bridge address
// (the -r each registered with). A proxy the agent no longer hears from
// (unhealthy, or without its command stream) is left out, so after a
// restart only the live registration counts.
func (m *mesh) proxyIDs() (map[string]string, error) {
	var l rest.MediaProxyList
	if err := m.get("proxies", &l); err != nil {
		return nil, err
	}
	byIP := map[string]string{}
	for n, ip := range nodeIPs {
		byIP[ip] = n
	}
	ids := map[string]string{}
	for _, p := range l.MediaProxy {
		if p.Config == nil || p.Status == nil || !p.Status.Healthy || !p.Status.Active {
			continue
		}
		if n, ok := byIP[p.Config.RDMA.DataplaneIPAddr]; ok {
			ids[p.ID] = n
		}
	}
	return ids, nil
}

// waitProxiesHealthy waits until the agent lists each node's proxy
// healthy and active (command stream open), and no other.
func (m *mesh) waitProxiesHealthy(timeout time.Duration) {
	m.t.Helper()
	m.eventually(timeout, func() error {
		var l rest.MediaProxyList
		if err := m.get("proxies", &l); err != nil {
			return err
		}
		seen := map[string]bool{}
		var bad []string
		for _, p := range l.MediaProxy {
			st, cfg := p.Status, p.Config
			if st == nil || cfg == nil || !st.Healthy || !st.Active {
				bad = append(bad, fmt.Sprintf("%s %+v", p.ID, st))
				continue
			}
			seen[cfg.RDMA.DataplaneIPAddr] = true
		}
		for _, n := range nodes {
			if !seen[nodeIPs[n]] {
				return fmt.Errorf("proxy of %s (%s) not healthy and active; not ready: %v", n, nodeIPs[n], bad)
			}
		}
		return nil
	})
}

// waitReceivers waits until the agent knows want[node] receivers of urn on
// each node's proxy: the apps' connections have reached the control plane,
// so the planner can count them.
func (m *mesh) waitReceivers(urn string, want map[string]int) {
	m.t.Helper()
	m.eventually(30*time.Second, func() error {
		ids, err := m.proxyIDs()
		if err != nil {
			return err
		}
		var l rest.ConnectionList
		if err := m.get("connections", &l); err != nil {
			return err
		}
		got := map[string]int{}
		for _, c := range l.Connection {
			// The agent's kind is the proxy's view: "tx" is an SDK receiver.
			if c.GroupID == urn && c.Config != nil && c.Config.Kind == "tx" {
				got[ids[c.ProxyID]]++
			}
		}
		for n, w := range want {
			if got[n] != w {
				return fmt.Errorf("agent lists receivers of %s per node %v, want %v", urn, got, want)
			}
		}
		return nil
	})
}

// waitBridges waits until the agent lists exactly the bridge pairs a
// sender on src and receivers on dsts need for urn — an egress on src and
// an ingress on each dst, per dst — each reported linked by its proxy.
// Only then does a frame sent reach every node: the bridges are planned,
// dialled and handshaken.
func (m *mesh) waitBridges(urn, src string, dsts ...string) {
	m.t.Helper()
	m.eventually(30*time.Second, func() error {
		ids, err := m.proxyIDs()
		if err != nil {
			return err
		}
		var l rest.BridgeList
		if err := m.get("bridges", &l); err != nil {
			return err
		}
		var have, want []string
		for _, d := range dsts {
			want = append(want, src+">"+d+" egress", src+">"+d+" ingress")
		}
		for _, b := range l.Bridge {
			if b.GroupID != urn || b.Config == nil || b.Config.TCP == nil {
				continue
			}
			if b.Status == nil || !b.Status.Linked {
				return fmt.Errorf("bridge %s on %s (%s) not linked yet: %+v", b.ID, ids[b.ProxyID], b.Config.Kind, b.Status)
			}
			me, peer := ids[b.ProxyID], ids[b.Config.TCP.PeerProxyID]
			switch b.Config.Kind {
			case "tx":
				have = append(have, me+">"+peer+" egress")
			case "rx":
				have = append(have, peer+">"+me+" ingress")
			}
		}
		slices.Sort(have)
		slices.Sort(want)
		if !slices.Equal(have, want) {
			return fmt.Errorf("bridges of %s: %v, want %v", urn, have, want)
		}
		return nil
	})
}

// bridge returns the agent's bridge of urn of kind ("tx" egress, "rx"
// ingress) on node.
func (m *mesh) bridge(urn, node, kind string) (rest.Bridge, error) {
	ids, err := m.proxyIDs()
	if err != nil {
		return rest.Bridge{}, err
	}
	var l rest.BridgeList
	if err := m.get("bridges", &l); err != nil {
		return rest.Bridge{}, err
	}
	for _, b := range l.Bridge {
		if b.GroupID == urn && ids[b.ProxyID] == node && b.Config != nil && b.Config.Kind == kind {
			return b, nil
		}
	}
	return rest.Bridge{}, fmt.Errorf("no %s bridge of %s on %s", kind, urn, node)
}

// bridgeGaps is the number of buffers node's ingress bridge of urn found
// missing in the sequence, as the agent shows it from the proxy's
// metrics.
func (m *mesh) bridgeGaps(urn, node string) (uint64, error) {
	b, err := m.bridge(urn, node, "rx")
	if err != nil {
		return 0, err
	}
	if b.Status == nil {
		return 0, fmt.Errorf("ingress bridge %s on %s has no status", b.ID, node)
	}
	return b.Status.Gaps, nil
}

// daemon is a long-running process (mesh-agent, a media-proxy) in a
// namespace. Its output is kept across restarts and printed when the test
// fails; it is stopped when the test ends: SIGTERM, then SIGKILL after
// 10 s.
type daemon struct {
	t     *testing.T
	name  string
	ns    *testutil.NS
	bin   string
	args  []string
	ready string // the log line that says it serves

	mu   sync.Mutex
	log  bytes.Buffer // guarded by mu: every run's output
	mark int          // guarded by mu: where the current run's output starts

	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
}

func startDaemon(t *testing.T, name string, ns *testutil.NS, bin, ready string, args ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, name: name, ns: ns, bin: bin, args: args, ready: ready}
	t.Cleanup(func() {
		d.stop(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("%s log (tail):\n%s", d.name, d.tail(32<<10))
		}
	})
	d.start()
	return d
}

// start runs the process (again) and waits until it logs its ready line.
// The process is ip netns exec's own: ip execs the binary after switching
// namespaces, so signals reach the daemon itself.
func (d *daemon) start() {
	d.t.Helper()
	d.mu.Lock()
	fmt.Fprintf(&d.log, "=== %s: %s %s\n", time.Now().Format("15:04:05.000"), d.name, strings.Join(d.args, " "))
	d.mark = d.log.Len()
	d.mu.Unlock()
	cmd := d.ns.Exec(context.Background(), d.bin, d.args...)
	w := &lockedWriter{mu: &d.mu, w: &d.log}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		d.t.Fatalf("start %s: %v", d.name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // ends with the process; stop waits for it
	d.cmd, d.exited = cmd, exited
	testutil.Eventually(d.t, 20*time.Second, func() error {
		select {
		case <-exited:
			d.t.Fatalf("%s exited while starting: %v\n%s", d.name, cmd.ProcessState, d.tail(8<<10))
		default:
		}
		if !strings.Contains(d.current(), d.ready) {
			return fmt.Errorf("%s has not logged %q yet", d.name, d.ready)
		}
		return nil
	})
}

// stop signals the process and waits for it, killing it after 10 s.
func (d *daemon) stop(sig syscall.Signal) {
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Signal(sig)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
	d.cmd = nil
}

// current is the output of the current run.
func (d *daemon) current() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return string(d.log.Bytes()[d.mark:])
}

// tail is the last n bytes of all runs' output, from a line start.
func (d *daemon) tail(n int) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.log.Bytes()
	if len(b) <= n {
		return string(b)
	}
	b = b[len(b)-n:]
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return "…\n" + string(b)
}

// stream is a test stream as meshctl send and recv take it.
type stream struct {
	urn    string
	flags  []string      // the payload flags: --video …, --audio …, --blob N
	size   int           // payload bytes per buffer
	period time.Duration // between buffers; 0: as fast as the group takes them
	frames int
}

// video is a yuv422p10le stream of w×h frames at fps.
func video(urn string, w, h int, fps float64, frames int) stream {
	return stream{urn: urn, frames: frames, size: w * h * 4, // 4 bytes a pixel: 10-bit 4:2:2 planar in 16-bit words
		period: time.Duration(float64(time.Second) / fps),
		flags:  []string{"--video", fmt.Sprintf("%dx%d", w, h), "--fps", strconv.FormatFloat(fps, 'f', -1, 64), "--pix", "yuv422p10le"}}
}

// args are the flags naming the stream for app on a proxy.
func (s stream) args(cmd, proxy string) []string {
	return append([]string{cmd, "--proxy", proxy, "--group", s.urn}, s.flags...)
}

// recv starts `meshctl recv` of s on node. The timeout covers the wait
// for bridges before the first buffer as well as silence at the end.
func (m *mesh) recv(node string, s stream, extra ...string) *app {
	m.t.Helper()
	return m.app(node, nil, append(append(s.args("recv", m.sdk(node)), "--timeout", "30s"), extra...)...)
}

// send starts the sender of s on node and returns it with its feeder. The
// sender is `meshctl send --from -`: its connection is made (and reported
// to the agent, which plans the bridges from it) at once, but it sends
// nothing until the feeder is started, since the test pattern starts at
// buffer 0 and a verifying receiver counts every buffer it missed as lost.
// So a test starts the receivers, starts the sender, waits for the
// bridges, then starts the feed. The feeder paces (meshctl's own pacing
// is off): a live source, as a camera piped in through FFmpeg.
func (m *mesh) send(node string, s stream) (*app, *feeder) {
	m.t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		m.t.Fatal(err)
	}
	// A 1 MiB pipe: a 1080p frame crosses in 8 writes rather than 128.
	// Through the raw conn, not Fd(), which would make w blocking and a
	// write to a stuck sender uninterruptible by Close.
	if rc, err := w.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { _, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 1<<20) })
	}
	a := m.app(node, r, append(s.args("send", m.sdk(node)),
		"--from", "-", "--frames", strconv.Itoa(s.frames), "--no-pace", "--timeout", "30s")...)
	_ = r.Close() // the child has it
	f := &feeder{s: s, w: w, begin: make(chan struct{}), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go f.run(ctx) // the test's cleanup cancels and waits for it
	m.t.Cleanup(func() {
		cancel()
		_ = w.Close() // unblocks a write to a stuck sender
		<-f.done
	})
	return a, f
}

// feeder writes s's test pattern into a sender's stdin once started.
type feeder struct {
	s     stream
	w     *os.File
	begin chan struct{}
	done  chan struct{}
	err   error         // set before done closes
	fed   atomic.Uint64 // buffers written so far
	once  sync.Once
}

// start lets the feed begin.
func (f *feeder) start() { f.once.Do(func() { close(f.begin) }) }

// wait returns once every buffer is written (and stdin closed) or the
// feed failed.
func (f *feeder) wait(timeout time.Duration) error {
	select {
	case <-f.done:
		return f.err
	case <-time.After(timeout):
		return fmt.Errorf("feeder: %d of %d buffers written after %v", f.fed.Load(), f.s.frames, timeout)
	}
}

// waitFed blocks until n buffers are written: the test's clock for
// "mid-stream".
func (f *feeder) waitFed(t *testing.T, n uint64) {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, func() error {
		select {
		case <-f.done:
			if f.fed.Load() < n {
				t.Fatalf("feed ended after %d buffers, before %d: %v", f.fed.Load(), n, f.err)
			}
		default:
		}
		if got := f.fed.Load(); got < n {
			return fmt.Errorf("%d of %d buffers fed", got, n)
		}
		return nil
	})
}

func (f *feeder) run(ctx context.Context) {
	defer close(f.done)
	defer f.w.Close() // EOF: the sender ends
	select {
	case <-f.begin:
	case <-ctx.Done():
		f.err = ctx.Err()
		return
	}
	pat := pattern.New(f.s.size)
	buf := make([]byte, f.s.size)
	start := time.Now()
	for k := range f.s.frames {
		pat.Fill(buf, uint64(k))
		if _, err := f.w.Write(buf); err != nil {
			f.err = fmt.Errorf("feeder: buffer %d: %w", k, err)
			return
		}
		f.fed.Add(1)
		if f.s.period == 0 {
			continue
		}
		// Against the start, not the last buffer: a late write is
		// caught up, so the stream's rate holds on a loaded machine.
		select {
		case <-time.After(time.Until(start.Add(time.Duration(k+1) * f.s.period))):
		case <-ctx.Done():
			f.err = ctx.Err()
			return
		}
	}
}

// app starts meshctl with args in node's namespace; stdin may be nil. It
// is killed if still running when the test ends, and its output is
// printed if the test failed.
func (m *mesh) app(node string, stdin io.Reader, args ...string) *app {
	m.t.Helper()
	a := &app{done: make(chan struct{})}
	a.cmd = m.ns(node).Exec(context.Background(), m.meshctl, args...)
	a.cmd.Stdin = stdin
	a.cmd.Stdout, a.cmd.Stderr = &a.out, &a.err
	if err := a.cmd.Start(); err != nil {
		m.t.Fatalf("start meshctl %v on %s: %v", args, node, err)
	}
	go func() { a.res = a.cmd.Wait(); close(a.done) }() // ends with the process; the cleanup waits for it
	t := m.t
	t.Cleanup(func() {
		select {
		case <-a.done:
		default:
			_ = a.cmd.Process.Kill()
			<-a.done
		}
		if t.Failed() {
			t.Logf("on %s: meshctl %s: %v\nstdout: %s\nstderr: %s", node, strings.Join(args, " "),
				a.res, strings.TrimSpace(a.out.String()), strings.TrimSpace(a.err.String()))
		}
	})
	return a
}

// mustSend waits for the sender and its feeder to finish all of s.
func mustSend(t *testing.T, tx *app, f *feeder, s stream, timeout time.Duration) {
	t.Helper()
	if err := f.wait(timeout); err != nil {
		t.Fatal(err)
	}
	line, err := tx.wait(t, 30*time.Second)
	if err != nil || !strings.HasPrefix(line, fmt.Sprintf("send ok frames=%d ", s.frames)) {
		t.Fatalf("sender: %q %v", line, err)
	}
}

// recvResult is what a meshctl recv printed in its two closing lines,
// "recv stats frames=N … proxy_gaps=G reconnects=R …" and "recv ok|FAILED
// frames=N bytes=B lost=L bad=D …": what it got even when its verdict is
// not ok. lost and bad count against the test pattern under --verify
// (lost: indexes skipped; bad: buffers damaged), else lost is the SDK's
// sequence gaps.
type recvResult struct {
	frames, lost, bad, gaps, reconnects int
}

func parseRecv(out string) (recvResult, bool) {
	var r recvResult
	found := false
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "recv ") {
			continue
		}
		found = true
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			n, err := strconv.Atoi(v)
			if err != nil {
				continue
			}
			switch k {
			case "frames":
				r.frames = n
			case "lost":
				r.lost = n
			case "bad":
				r.bad = n
			case "proxy_gaps":
				r.gaps = n
			case "reconnects":
				r.reconnects = n
			}
		}
	}
	return r, found
}

// nsDialer dials from inside ns: the socket is made in the namespace and
// stays there, so an in-process client (HTTP, gRPC) reaches the LAN.
func nsDialer(ns *testutil.NS) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := ns.Do(func() error {
			var d net.Dialer
			var err error
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

// errorBody decodes the agent's JSON error and checks its shape: the
// status again and a message a person can act on.
func errorBody(body []byte, code int) error {
	var e rest.Error
	if err := json.Unmarshal(body, &e); err != nil {
		return fmt.Errorf("error body is not JSON: %v: %.200q", err, body)
	}
	if e.Error.Code != code || e.Error.Message == "" {
		return fmt.Errorf("error body %s: want code %d and a message", bytes.TrimSpace(body), code)
	}
	return nil
}
