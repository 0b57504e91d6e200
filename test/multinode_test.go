//go:build integration

package test

// End-to-end tests of a mesh across nodes: three media-proxy processes,
// each in its own network namespace on a test LAN, mesh-agent in a fourth,
// mTLS between them, meshctl apps that only name a group URN. What crosses
// a node does so through the bridges the agent plans; the tests check
// what apps receive, bit for bit, and that faults of the network, the
// agent or a proxy hurt only what they must. The harness is in
// multinode_helpers_test.go.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	agentv1 "mediamesh/api/agent/v1"
	sdkpb "mediamesh/api/mcm/sdk"
	"mediamesh/internal/mcm"
	"mediamesh/internal/mtls"
	"mediamesh/internal/testutil"
)

// everyNode is one receiver on each node.
var everyNode = map[string]int{"A": 1, "B": 1, "C": 1}

// waitOK waits for a verifying receiver and checks it got all of s intact.
func waitOK(t *testing.T, node string, r *app, s stream) string {
	t.Helper()
	line, err := r.wait(t, 30*time.Second)
	if err != nil {
		t.Fatalf("receiver on %s: %v", node, err)
	}
	recvOK(t, line, s.frames)
	return line
}

// One 1080p sender on A, a receiver on every node: 300 frames arrive
// bit-exact and in order on A directly and on B and C through one bridge
// each. 30 fps rather than 59.94: the frames are the same, and the 2-core
// CI machine carries every copy of them (feed, 3 verifies, 2 TCP streams)
// at half the rate without dropping one.
func TestMeshVideoAcrossNodes(t *testing.T) {
	testutil.CheckLeaks(t)
	m := newMesh(t)
	sendToEveryNode(t, m, video("urn:mediamesh:test:mesh-video", 1920, 1080, 30, 300))
}

// sendToEveryNode streams s from A to a verifying receiver on every node
// and returns each receiver's last line once all got all of s intact.
func sendToEveryNode(t *testing.T, m *mesh, s stream) map[string]string {
	t.Helper()
	rx := map[string]*app{}
	for _, n := range nodes {
		rx[n] = m.recv(n, s, "--frames", strconv.Itoa(s.frames), "--verify")
	}
	m.waitReceivers(s.urn, everyNode)
	tx, feed := m.send("A", s)
	m.waitBridges(s.urn, "A", "B", "C")
	feed.start()
	mustSend(t, tx, feed, s, 60*time.Second)
	lines := map[string]string{}
	for _, n := range nodes {
		lines[n] = waitOK(t, n, rx[n], s)
	}
	return lines
}

// Audio, the smallest buffers at the highest rate: 2000 packets of 1 ms
// of 48 kHz 24-bit stereo (288 bytes each), bit-exact on every node. The
// rings are 64 buffers deep, not 16: of 1 ms packets, 16 are a 16 ms
// budget for every hop (sender, bridge, remote group, receiver) to be
// scheduled in, which a loaded 2-core machine running ten processes does
// not always keep (B once lost 14 packets); 16 video frames are 0.5 s.
func TestMeshAudioAcrossNodes(t *testing.T) {
	testutil.CheckLeaks(t)
	m := newMesh(t)
	s := stream{urn: "urn:mediamesh:test:mesh-audio", size: 288, period: time.Millisecond, frames: 2000,
		flags: []string{"--audio", "--sample-rate", "48000", "--channels", "2", "--format", "pcm_s24be", "--ptime", "1ms",
			"--queue", "64"}}
	for n, line := range sendToEveryNode(t, m, s) {
		if !strings.Contains(line, fmt.Sprintf(" bytes=%d ", s.frames*s.size)) {
			t.Fatalf("receiver on %s: want %d × %d bytes: %q", n, s.frames, s.size, line)
		}
	}
}

// A reliable blob group carries 100 MiB from A to C as fast as it goes,
// bit-exact: unpaced, the sender outruns the bridge, and reliability
// means TCP's back-pressure reaches the sender instead of frames being
// dropped.
func TestMeshReliableBlob(t *testing.T) {
	testutil.CheckLeaks(t)
	m := newMesh(t)
	s := stream{urn: "urn:mediamesh:test:mesh-blob", size: 1 << 20, frames: 100,
		flags: []string{"--blob", strconv.Itoa(1 << 20), "--reliable"}}
	rx := m.recv("C", s, "--frames", strconv.Itoa(s.frames), "--verify")
	m.waitReceivers(s.urn, map[string]int{"C": 1})
	tx, feed := m.send("A", s)
	m.waitBridges(s.urn, "A", "C")
	feed.start()
	mustSend(t, tx, feed, s, 60*time.Second)
	if line := waitOK(t, "C", rx, s); !strings.Contains(line, fmt.Sprintf(" bytes=%d ", s.frames*s.size)) {
		t.Fatalf("receiver on C: want %d bytes: %q", s.frames*s.size, line)
	}
}

// B's cable is pulled for 2 s mid-stream. B resumes receiving once it is
// back, every buffer it gets is intact, and its ingress bridge reports the
// loss as a gap; A (local) and C (its own bridge) lose nothing: a dead
// remote costs the sender's group nothing.
func TestMeshLinkFault(t *testing.T) {
	testutil.CheckLeaks(t)
	m := newMesh(t)
	s := video("urn:mediamesh:test:mesh-fault", 640, 360, 50, 600) // 12 s
	rxA := m.recv("A", s, "--frames", strconv.Itoa(s.frames), "--verify")
	rxC := m.recv("C", s, "--frames", strconv.Itoa(s.frames), "--verify")
	// B loses buffers by design. It verifies without a count (--frames
	// 0): what it skips counts as lost, what is damaged as bad. It ends
	// once the stream has been quiet for 10 s: longer than the fault plus
	// TCP's retransmission backoff and the bridge's redial backoff, and
	// than the setup before the first buffer (2 s under -race).
	rxB := m.recv("B", s, "--verify", "--timeout", "10s")
	m.waitReceivers(s.urn, everyNode)
	tx, feed := m.send("A", s)
	m.waitBridges(s.urn, "A", "B", "C")
	feed.start()

	feed.waitFed(t, 150) // 3 s in
	m.lan.SetLink(t, "B", false)
	down := feed.fed.Load()
	time.Sleep(2 * time.Second) // the fault itself, not a wait for anything
	m.lan.SetLink(t, "B", true)
	up := feed.fed.Load()
	t.Logf("B's link down after buffer %d, up after buffer %d", down, up)
	if up >= uint64(s.frames) {
		t.Fatalf("the stream ended (%d buffers) before B's link came back", up)
	}

	// The bridge must say so: that is how an operator sees the fault (the
	// app sees it as gaps, see below). Asked while the stream runs: its
	// bridges go when its sender does.
	var bridgeGaps uint64
	m.eventually(15*time.Second, func() error {
		n, err := m.bridgeGaps(s.urn, "B")
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("B's ingress bridge reports no gap")
		}
		bridgeGaps = n
		return nil
	})

	mustSend(t, tx, feed, s, 60*time.Second)
	waitOK(t, "A", rxA, s)
	waitOK(t, "C", rxC, s)
	_, _ = rxB.wait(t, 30*time.Second) // FAILED: it lost buffers
	r, ok := parseRecv(rxB.out.String())
	if !ok {
		t.Fatalf("receiver on B printed no result: %s %s", rxB.out.String(), rxB.err.String())
	}
	// B's ingress bridge keeps the sender's sequence numbers, so B's SDK
	// counts what the bridge lost as gaps (proxy_gaps), as it would a
	// local sender's.
	t.Logf("receiver on B: %d buffers intact, %d lost, %d damaged; its SDK saw %d gaps; the bridge reports %d",
		r.frames, r.lost, r.bad, r.gaps, bridgeGaps)
	if r.bad != 0 {
		t.Errorf("receiver on B got %d damaged buffers", r.bad)
	}
	if r.lost == 0 {
		t.Error("receiver on B lost nothing across a 2 s outage: was the link really down?")
	}
	if uint64(r.gaps) < bridgeGaps {
		t.Errorf("receiver on B: its SDK saw %d gaps, fewer than the %d its bridge reports missing", r.gaps, bridgeGaps)
	}
	if uint64(r.lost) < bridgeGaps {
		t.Errorf("receiver on B lost %d buffers, fewer than the %d its bridge reports missing", r.lost, bridgeGaps)
	}
	// It had at most `down` buffers before the fault: at least half of
	// those sent after it must have come too.
	if after := uint64(s.frames) - up; uint64(r.frames) < down+after/2 {
		t.Errorf("receiver on B got %d buffers: %d before the fault, then fewer than half of the %d sent after it",
			r.frames, down, after)
	}
}

// mesh-agent is killed mid-stream and started again on the same data
// dir: media does not stop (the receivers on B and C verify every frame),
// and the proxies are back, healthy, within seconds, with the same plan.
func TestMeshAgentRestart(t *testing.T) {
	testutil.CheckLeaks(t)
	m := newMesh(t)
	s := video("urn:mediamesh:test:mesh-agent-restart", 640, 360, 50, 750) // 15 s
	rxB := m.recv("B", s, "--frames", strconv.Itoa(s.frames), "--verify")
	rxC := m.recv("C", s, "--frames", strconv.Itoa(s.frames), "--verify")
	m.waitReceivers(s.urn, map[string]int{"B": 1, "C": 1})
	tx, feed := m.send("A", s)
	m.waitBridges(s.urn, "A", "B", "C")
	feed.start()

	feed.waitFed(t, 150) // 3 s in
	m.agent.stop(syscall.SIGKILL)
	killed := time.Now()
	m.agent.start()
	m.waitProxiesHealthy(10 * time.Second)
	t.Logf("all proxies healthy %v after the kill, at buffer %d", time.Since(killed).Round(time.Millisecond), feed.fed.Load())
	m.waitBridges(s.urn, "A", "B", "C")
	if feed.fed.Load() >= uint64(s.frames) {
		t.Log("the stream ended before the agent was back: the test proved less than it should")
	}

	mustSend(t, tx, feed, s, 60*time.Second)
	waitOK(t, "B", rxB, s)
	waitOK(t, "C", rxC, s)
}

// B's media-proxy is killed mid-stream and started again: a new receiver
// on B gets frames (B's groups and its bridge are rebuilt), the receiver
// B had relinks by itself and gets frames again, and A and C lose
// nothing.
func TestMeshProxyRestart(t *testing.T) {
	testutil.CheckLeaks(t)
	m := newMesh(t)
	s := video("urn:mediamesh:test:mesh-proxy-restart", 640, 360, 50, 750) // 15 s
	rxA := m.recv("A", s, "--frames", strconv.Itoa(s.frames), "--verify")
	rxC := m.recv("C", s, "--frames", strconv.Itoa(s.frames), "--verify")
	// B's receivers count instead of verifying: they lose what is sent
	// while B is down, and recv --verify --frames N takes a buffer past
	// index N (which they see, having skipped some) for a damaged one.
	// This one relinks to the new proxy by itself and ends once it has
	// had 300 buffers, which it can only reach by resuming: about 100
	// come before the kill.
	const oldWant = 300
	rxOld := m.recv("B", s, "--frames", strconv.Itoa(oldWant))
	m.waitReceivers(s.urn, everyNode)
	tx, feed := m.send("A", s)
	m.waitBridges(s.urn, "A", "B", "C")
	feed.start()

	feed.waitFed(t, 100) // 2 s in
	m.proxies["B"].stop(syscall.SIGKILL)
	killed := feed.fed.Load()
	m.proxies["B"].start()
	m.waitProxiesHealthy(20 * time.Second)
	t.Logf("B's proxy killed after buffer %d, back at buffer %d", killed, feed.fed.Load())
	const want = 100 // 2 s of the stream
	// It joins a running stream: --join verifies from its first buffer.
	rxNew := m.recv("B", s, "--frames", strconv.Itoa(want), "--verify", "--join")
	waitOK(t, "B", rxNew, stream{frames: want})
	t.Logf("new receiver on B: %d buffers by buffer %d", want, feed.fed.Load())

	mustSend(t, tx, feed, s, 60*time.Second)
	waitOK(t, "A", rxA, s)
	waitOK(t, "C", rxC, s)
	_, _ = rxOld.wait(t, 30*time.Second)
	out := rxOld.out.String()
	if r, _ := parseRecv(out); r.frames != oldWant || r.reconnects != 1 {
		t.Fatalf("B's first receiver did not relink and resume (proxy killed after buffer %d): %s %s", killed, out, rxOld.err.String())
	}
}

// Hostile or broken input at every port of the mesh is refused with a
// clear answer, and a stream running meanwhile loses nothing.
func TestMeshBadInput(t *testing.T) {
	testutil.CheckLeaks(t)
	m := newMesh(t)
	s := video("urn:mediamesh:test:mesh-bad-input", 640, 360, 50, 500) // 10 s
	rx := m.recv("B", s, "--frames", strconv.Itoa(s.frames), "--verify")
	m.waitReceivers(s.urn, map[string]int{"B": 1})
	tx, feed := m.send("A", s)
	m.waitBridges(s.urn, "A", "B")
	feed.start()
	ids, err := m.proxyIDs()
	if err != nil {
		t.Fatal(err)
	}
	idOf := map[string]string{}
	for id, n := range ids {
		idOf[n] = id
	}

	t.Run("REST", func(t *testing.T) {
		tr := &http.Transport{DialContext: nsDialer(m.ns("ctl"))}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		cmdPath := "/api/v1/media-proxy/" + idOf["A"] + "/command"
		for _, c := range []struct {
			name, method, path, token, body string
			code                            int
		}{
			{"wrong token", "GET", "/api/v1/media-proxy", "not-the-token-0123456789", "", http.StatusUnauthorized},
			{"no token", "GET", "/api/v1/bridge", "", "", http.StatusUnauthorized},
			{"truncated JSON", "POST", cmdPath, meshToken, `{"text": "stat`, http.StatusBadRequest},
			{"unknown key", "POST", cmdPath, meshToken, `{"txt": "stats"}`, http.StatusBadRequest},
			{"not JSON", "POST", cmdPath, meshToken, "\x00\xff garbage", http.StatusBadRequest},
			{"unknown path", "GET", "/api/v1/no-such-thing", meshToken, "", http.StatusNotFound},
			{"unknown proxy", "GET", "/api/v1/media-proxy/no-such-proxy", meshToken, "", http.StatusNotFound},
			{"wrong method", "DELETE", "/api/v1/bridge", meshToken, "", http.StatusMethodNotAllowed},
		} {
			req, err := http.NewRequestWithContext(t.Context(), c.method, agentURL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			if c.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			_ = resp.Body.Close()
			if resp.StatusCode != c.code {
				t.Errorf("%s: %s %s: status %d, want %d: %s", c.name, c.method, c.path, resp.StatusCode, c.code, body)
				continue
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("%s: Content-Type %q, want JSON", c.name, ct)
			}
			if err := errorBody(body, c.code); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		}
	})

	t.Run("gRPC", func(t *testing.T) {
		tc, err := mtls.Client(filepath.Join(m.certs, "ca.pem"), filepath.Join(m.certs, "proxyA.pem"),
			filepath.Join(m.certs, "proxyA-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		dial := nsDialer(m.ns("A"))
		cc, err := grpc.NewClient("passthrough:///"+agentGRPC, grpc.WithTransportCredentials(credentials.NewTLS(tc)),
			grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) { return dial(ctx, "tcp", addr) }))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		api := agentv1.NewProxyAPIClient(cc)
		sender := groupConfig(t, sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER, "urn:mediamesh:test:garbage")
		for _, c := range []struct {
			name string
			req  *agentv1.RegisterConnectionRequest
			code codes.Code
			says string // the message names what is wrong
		}{
			{"unknown proxy", &agentv1.RegisterConnectionRequest{ProxyId: "no-such-proxy", Kind: "rx", Config: sender},
				codes.NotFound, "no-such-proxy"},
			{"bad kind", &agentv1.RegisterConnectionRequest{ProxyId: idOf["A"], Kind: "sideways", Config: sender},
				codes.InvalidArgument, "sideways"},
			{"kind against config", &agentv1.RegisterConnectionRequest{ProxyId: idOf["A"], Kind: "tx", Config: sender},
				codes.InvalidArgument, "kind"},
			{"empty config", &agentv1.RegisterConnectionRequest{ProxyId: idOf["A"], Kind: "rx", Config: &sdkpb.ConnectionConfig{}},
				codes.InvalidArgument, "connection"},
			{"no config", &agentv1.RegisterConnectionRequest{ProxyId: idOf["A"], Kind: "rx"},
				codes.InvalidArgument, "config"},
			{"bad proxy id", &agentv1.RegisterConnectionRequest{ProxyId: "../etc/passwd\x00", Kind: "rx", Config: sender},
				codes.InvalidArgument, "proxy_id"},
		} {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			_, err := api.RegisterConnection(ctx, c.req)
			cancel()
			st, _ := status.FromError(err)
			if st.Code() != c.code || !strings.Contains(st.Message(), c.says) {
				t.Errorf("%s: %v, want %v saying %q", c.name, err, c.code, c.says)
			}
		}
	})

	t.Run("bridge port", func(t *testing.T) {
		in, err := m.bridge(s.urn, "B", "rx")
		if err != nil {
			t.Fatal(err)
		}
		addr := net.JoinHostPort(nodeIPs["B"], strconv.Itoa(int(in.Config.TCP.Port)))
		dial := nsDialer(m.ns("C"))
		for _, junk := range [][]byte{
			[]byte("GET / HTTP/1.1\r\nHost: b\r\n\r\n"),
			[]byte("mb\x01\x01\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), // a Hello's start, absurd lengths
			make([]byte, 64),
			bytes.Repeat([]byte{0xff}, 4096),
			nil, // says nothing: dropped after the handshake timeout
		} {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			c, err := dial(ctx, "tcp", addr)
			cancel()
			if err != nil {
				t.Fatalf("dial %s: %v", addr, err)
			}
			_, _ = c.Write(junk)
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			// Whatever it answers (a Refusal), it must then hang up.
			n, err := io.Copy(io.Discard, c)
			_ = c.Close()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("%d bytes of junk %.16q: connection still open after 10 s", len(junk), junk)
			} else {
				t.Logf("%d bytes of junk: answered %d bytes, closed (%v)", len(junk), n, err)
			}
		}
	})

	mustSend(t, tx, feed, s, 60*time.Second)
	waitOK(t, "B", rx, s)
}

// groupConfig is a valid 640x360 yuv422p10le group config of kind, as an
// SDK sends it to a proxy, for requests whose other fields are wrong.
func groupConfig(t *testing.T, kind sdkpb.ConnectionKind, urn string) *sdkpb.ConnectionConfig {
	t.Helper()
	size, err := mcm.VideoPayloadSize(640, 360, mcm.PixYUV422P10LE)
	if err != nil {
		t.Fatal(err)
	}
	l, err := mcm.NewLayout(size, 0)
	if err != nil {
		t.Fatal(err)
	}
	return &sdkpb.ConnectionConfig{
		Kind: kind, BufQueueCapacity: 16, CalculatedPayloadSize: size, BufParts: l.Parts(),
		Conn:    &sdkpb.ConnectionConfig_MultipointGroup{MultipointGroup: &sdkpb.ConfigMultipointGroup{Urn: urn}},
		Payload: &sdkpb.ConnectionConfig_Video{Video: &sdkpb.ConfigVideo{Width: 640, Height: 360, Fps: 50}},
	}
}
