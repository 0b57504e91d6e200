package mesh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	agentv1 "mediamesh/api/agent/v1"
	"mediamesh/internal/agent"
	"mediamesh/internal/bridge/bridgetest"
	"mediamesh/internal/proxy"
	"mediamesh/internal/testutil"
	"mediamesh/sdk"
)

// wait bounds every wait: a guard against a hung test, not a timing
// threshold.
const wait = 20 * time.Second

func TestMetadataKeyIsTheAgents(t *testing.T) {
	if metadataProxyID != agent.MetadataProxyID {
		t.Fatalf("%q, the agent reads %q", metadataProxyID, agent.MetadataProxyID)
	}
}

// node is one media-proxy with its mesh and an SDK client for apps.
type node struct {
	p   *proxy.Proxy
	m   *Mesh
	sdk *sdk.Client
}

func startAgent(t testing.TB, addr, dir string) *agent.Agent {
	t.Helper()
	a, err := agent.New(agent.Config{GRPCAddr: addr, DataDir: dir, Insecure: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// freePorts returns a range of n ports starting at a port that was free.
func freePorts(t testing.TB, n int) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(testutil.FreeTCPAddr(t))
	p, _ := strconv.Atoi(port)
	return fmt.Sprintf("%d-%d", p, p+n-1)
}

// startProxy runs a proxy on a fresh run dir, closed when the test ends.
func startProxy(t testing.TB, log *slog.Logger) (*proxy.Proxy, string) {
	t.Helper()
	dir := testutil.TempRunDir(t)
	p, err := proxy.New(proxy.Config{RunDir: dir}, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p, dir
}

func startNode(t testing.TB, agentAddr string, mods ...func(*Config)) *node {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	p, dir := startProxy(t, log)
	cfg := Config{Agent: agentAddr, Insecure: true, RunDir: dir, MetricsInterval: 100 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond,
		Register: &agentv1.RegisterMediaProxyRequest{
			RdmaConfig: &agentv1.RDMAProxyConfig{DataplaneIpAddr: "127.0.0.1", DataplaneLocalPorts: freePorts(t, 8)}}}
	for _, mod := range mods {
		mod(&cfg)
	}
	m, err := New(cfg, p, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	c, err := sdk.NewClientJSON(fmt.Appendf(nil, `{"apiConnectionString":"Server=unix:%s; Port="}`, p.SDKSocket()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &node{p: p, m: m, sdk: c}
}

func (n *node) connect(t testing.TB, tx bool, cfg []byte) *sdk.Connection {
	t.Helper()
	create := n.sdk.CreateRxConnectionJSON
	if tx {
		create = n.sdk.CreateTxConnectionJSON
	}
	k, err := create(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Close() })
	return k
}

// bridgesUp waits until every running bridge of every node is connected
// and there are want of them in all.
func bridgesUp(nodes ...*node) func() error {
	return func() error {
		n := 0
		for _, nd := range nodes {
			for _, st := range nd.m.BridgeStats() {
				if !st.Connected {
					return fmt.Errorf("a bridge of proxy %s is not connected", nd.m.ID())
				}
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("no bridges yet")
		}
		return nil
	}
}

// send puts frames 1..n of the test content on k.
func send(t *testing.T, k *sdk.Connection, from, to uint32, size, meta int) {
	t.Helper()
	for seq := from; seq <= to; seq++ {
		b, err := k.GetBufferTimeout(wait)
		if err != nil {
			t.Fatalf("sending frame %d: %v", seq, err)
		}
		p, m := bridgetest.Content(seq, size, meta)
		if err := b.SetPayloadLen(len(p)); err != nil {
			t.Fatal(err)
		}
		if err := b.SetMetadataLen(len(m)); err != nil {
			t.Fatal(err)
		}
		copy(b.Payload(), p)
		copy(b.Metadata(), m)
		b.SetTimestamp(time.Unix(0, 1e9+int64(seq)))
		if err := k.PutBuffer(b); err != nil {
			t.Fatal(err)
		}
	}
}

// receive checks frames from..to arrive bit-exact, in order, with their
// timestamps; it reports on done.
func receive(k *sdk.Connection, from, to uint32, size, meta int) <-chan error {
	done := make(chan error, 1)
	go func() {
		for seq := from; seq <= to; seq++ {
			b, err := k.GetBufferTimeout(wait)
			if err != nil {
				done <- fmt.Errorf("frame %d: %w", seq, err)
				return
			}
			p, m := bridgetest.Content(seq, size, meta)
			// The sender's own numbers, across the bridge too.
			ok := bytes.Equal(b.Payload(), p) && bytes.Equal(b.Metadata(), m) &&
				b.Timestamp().UnixNano() == 1e9+int64(seq) && b.Seq() == seq
			got := fmt.Errorf("frame %d: %d+%d bytes, seq %d, ts %d: not what was sent",
				seq, len(b.Payload()), len(b.Metadata()), b.Seq(), b.Timestamp().UnixNano())
			_ = k.PutBuffer(b)
			if !ok {
				done <- got
				return
			}
		}
		done <- nil
	}()
	return done
}

const (
	testPayload = 256 << 10 // big enough for the SDK's zero-copy receive
	testMeta    = 64
)

func groupCfg(urn string) []byte {
	return fmt.Appendf(nil, `{"bufferQueueCapacity": 8, "maxPayloadSize": %d, "maxMetadataSize": %d,
		"connection": {"multipointGroup": {"urn": %q}}, "options": {"reliable": true}, "payload": {"blob": {}}}`,
		testPayload, testMeta, urn)
}

// A sender on A, receivers on A and B: the apps name the group only; the
// agent plans a bridge and the proxies run it. Bit-exact with metadata
// and timestamps; then the agent goes away mid-stream and the media does
// not notice, and when it is back the proxies are whole in its view.
func TestGroupAcrossProxies(t *testing.T) {
	testutil.CheckLeaks(t)
	addr := testutil.FreeTCPAddr(t)
	dir := t.TempDir()
	ag := startAgent(t, addr, dir)
	a, b := startNode(t, addr), startNode(t, addr)
	cfg := groupCfg("urn:mediamesh:mesh-test")

	ra := a.connect(t, false, cfg)
	rb := b.connect(t, false, cfg)
	tx := a.connect(t, true, cfg)
	testutil.Eventually(t, wait, bridgesUp(a, b))

	const half = 100
	da, db := receive(ra, 1, 2*half, testPayload, testMeta), receive(rb, 1, 2*half, testPayload, testMeta)
	send(t, tx, 1, half, testPayload, testMeta)

	// The agent stops; the bridges do not.
	if err := ag.Close(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, wait, func() error {
		if a.m.Connected() || b.m.Connected() {
			return fmt.Errorf("still connected to a closed agent")
		}
		return nil
	})
	send(t, tx, half+1, 2*half, testPayload, testMeta)
	for who, d := range map[string]<-chan error{"A": da, "B": db} {
		if err := <-d; err != nil {
			t.Fatalf("receiver on %s: %v", who, err)
		}
	}

	// Back on the same store: the proxies come back under their ids.
	ag2 := startAgent(t, addr, dir)
	testutil.Eventually(t, wait, func() error {
		if !a.m.Connected() || !b.m.Connected() {
			return fmt.Errorf("proxies not back")
		}
		snap, err := ag2.Snapshot(t.Context())
		if err != nil {
			return err
		}
		if len(snap.Proxies) != 2 || len(snap.Conns) != 3 || len(snap.Bridges) != 2 {
			return fmt.Errorf("agent sees %d proxies, %d connections, %d bridges", len(snap.Proxies), len(snap.Conns), len(snap.Bridges))
		}
		for id, p := range snap.Proxies {
			if !p.Healthy {
				return fmt.Errorf("proxy %s unhealthy", id)
			}
		}
		return nil
	})
	for _, st := range b.m.BridgeStats() {
		if st.Gaps != 0 || st.Frames != 2*half {
			t.Fatalf("B's ingress bridge: %+v", st)
		}
	}
}

// The same ApplyConfig twice changes nothing; a config without the
// bridge stops it.
func TestApplyIsIdempotent(t *testing.T) {
	testutil.CheckLeaks(t)
	addr := testutil.FreeTCPAddr(t)
	startAgent(t, addr, t.TempDir())
	a, b := startNode(t, addr), startNode(t, addr)
	cfg := groupCfg("urn:mediamesh:idem")
	tx := a.connect(t, true, cfg)
	rb := b.connect(t, false, cfg)
	testutil.Eventually(t, wait, bridgesUp(a, b))
	_ = tx

	// Stop B's session loop so the test may own its bridge set.
	b.m.g.Cancel(nil)
	_ = b.m.g.Wait()
	want := make([]*agentv1.Bridge, 0, 1)
	for _, r := range b.m.set.running {
		want = append(want, r.spec)
	}
	before := map[string]*runningBridge{}
	for id, r := range b.m.set.running {
		before[id] = r
	}
	if errs := b.m.set.apply(t.Context(), want); len(errs) != 0 {
		t.Fatal(errs)
	}
	for id, r := range b.m.set.running {
		if before[id] != r {
			t.Fatalf("bridge %s restarted by the same config", id)
		}
	}
	if errs := b.m.set.apply(t.Context(), nil); len(errs) != 0 || len(b.m.set.running) != 0 {
		t.Fatalf("after an empty config: %d running, errors %v", len(b.m.set.running), errs)
	}
	_ = rb
	_ = context.Background
}

func videoLikeCfg(urn string, reliable bool) []byte {
	return fmt.Appendf(nil, `{"bufferQueueCapacity": 8, "maxPayloadSize": %d, "maxMetadataSize": %d,
		"connection": {"multipointGroup": {"urn": %q}}, "options": {"reliable": %t}, "payload": {"blob": {}}}`,
		testPayload, testMeta, urn, reliable)
}

// One proxy sends one group across and receives another; two receivers
// of a group on one node share one bridge (one copy per node).
func TestBothWaysOneCopyPerNode(t *testing.T) {
	testutil.CheckLeaks(t)
	addr := testutil.FreeTCPAddr(t)
	startAgent(t, addr, t.TempDir())
	a, b := startNode(t, addr), startNode(t, addr)
	g1, g2 := groupCfg("urn:mediamesh:a-to-b"), groupCfg("urn:mediamesh:b-to-a")
	rb1, rb2 := b.connect(t, false, g1), b.connect(t, false, g1)
	ra := a.connect(t, false, g2)
	txa := a.connect(t, true, g1)
	txb := b.connect(t, true, g2)
	testutil.Eventually(t, wait, func() error {
		if na, nb := len(a.m.BridgeStats()), len(b.m.BridgeStats()); na != 2 || nb != 2 {
			return fmt.Errorf("bridges: %d on A, %d on B; want an egress and an ingress on each", na, nb)
		}
		return bridgesUp(a, b)()
	})
	const n = 50
	got := []<-chan error{receive(rb1, 1, n, testPayload, testMeta), receive(rb2, 1, n, testPayload, testMeta), receive(ra, 1, n, testPayload, testMeta)}
	done := make(chan struct{})
	go func() { defer close(done); send(t, txb, 1, n, testPayload, testMeta) }()
	send(t, txa, 1, n, testPayload, testMeta)
	<-done
	for i, d := range got {
		if err := <-d; err != nil {
			t.Fatalf("receiver %d: %v", i, err)
		}
	}
}

// A receiver on B that cannot keep up loses frames there; the receiver
// on A, and the sender, never notice.
func TestSlowRemoteNeverStallsLocal(t *testing.T) {
	testutil.CheckLeaks(t)
	addr := testutil.FreeTCPAddr(t)
	startAgent(t, addr, t.TempDir())
	a, b := startNode(t, addr), startNode(t, addr)
	cfg := videoLikeCfg("urn:mediamesh:slow-remote", false)
	ra := a.connect(t, false, cfg)
	slow := b.connect(t, false, cfg)
	tx := a.connect(t, true, cfg)
	testutil.Eventually(t, wait, bridgesUp(a, b))
	stop := make(chan struct{})
	slowDone := make(chan int, 1)
	go func() { // holds every buffer 20 ms: 50 fps at best
		n := 0
		for {
			select {
			case <-stop:
				slowDone <- n
				return
			default:
			}
			buf, err := slow.GetBufferTimeout(100 * time.Millisecond)
			if err != nil {
				continue
			}
			time.Sleep(20 * time.Millisecond)
			_ = slow.PutBuffer(buf)
			n++
		}
	}()
	const n = 300
	local := receive(ra, 1, n, testPayload, testMeta)
	start := time.Now()
	for k := uint32(1); k <= n; k++ {
		// 250 fps: five times what the slow receiver takes, and slow
		// enough for the local one (verifying under -race on a busy
		// machine) to keep up: in a group that is not reliable a sender
		// outrunning its local receiver would lose frames there too.
		send(t, tx, k, k, testPayload, testMeta)
		time.Sleep(4 * time.Millisecond)
	}
	if err := <-local; err != nil {
		t.Fatalf("local receiver: %v", err)
	}
	elapsed := time.Since(start)
	close(stop)
	slowGot := <-slowDone
	t.Logf("%d frames in %v; the slow remote receiver took %d", n, elapsed, slowGot)
	if slowGot >= n {
		t.Fatalf("the slow receiver got all %d frames: it did not slow the test down enough to matter", n)
	}
}

// A bridge that cannot start (its port is taken) is reported to the agent
// in the ApplyConfig reply, retried, and starts once the port is free.
func TestBridgeRetriedUntilItStarts(t *testing.T) {
	testutil.CheckLeaks(t)
	addr := testutil.FreeTCPAddr(t)
	ag := startAgent(t, addr, t.TempDir())
	squat, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(squat.Addr().String())
	a := startNode(t, addr)
	b := startNode(t, addr, func(c *Config) { c.Register.RdmaConfig.DataplaneLocalPorts = port })
	cfg := groupCfg("urn:mediamesh:busy-port")
	rb := b.connect(t, false, cfg)
	tx := a.connect(t, true, cfg) // waits out its gate: B's end is down
	testutil.Eventually(t, wait, func() error {
		snap, err := ag.Snapshot(t.Context())
		if err != nil {
			return err
		}
		if errs := snap.ApplyErrors[b.m.ID()]; len(errs) == 0 || !strings.Contains(errs[0], "address already in use") {
			return fmt.Errorf("B's apply errors: %q", errs)
		}
		return nil
	})
	_ = squat.Close()
	testutil.Eventually(t, wait, bridgesUp(a, b))
	d := receive(rb, 1, 10, testPayload, testMeta)
	send(t, tx, 1, 10, testPayload, testMeta)
	if err := <-d; err != nil {
		t.Fatal(err)
	}
}

var errNotYet = errors.New("not yet")
