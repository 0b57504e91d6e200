package agent

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	agentv1 "mediamesh/api/agent/v1"
	sdkpb "mediamesh/api/mcm/sdk"
	"mediamesh/internal/mcm"
	"mediamesh/internal/testutil"
)

// hang bounds every wait for the agent: a guard against a hung test, not
// a timing threshold.
const hang = 10 * time.Second

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// startAgent runs an insecure agent on 127.0.0.1 over dir.
func startAgent(t *testing.T, dir string, mod func(*Config)) *Agent {
	t.Helper()
	cfg := Config{GRPCAddr: "127.0.0.1:0", DataDir: dir, Insecure: true}
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	a.noSync = true
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func dialAgent(t *testing.T, a *Agent, opts ...grpc.DialOption) agentv1.ProxyAPIClient {
	t.Helper()
	if len(opts) == 0 {
		opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	cc, err := grpc.NewClient(a.GRPCAddr().String(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return agentv1.NewProxyAPIClient(cc)
}

// fakeProxy is a media-proxy as the agent sees it: it registers, holds a
// command stream and answers ApplyConfigs.
type fakeProxy struct {
	api    agentv1.ProxyAPIClient
	id     string
	cmds   chan *agentv1.CommandRequest
	end    chan error // the stream's final error, once
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func register(t *testing.T, api agentv1.ProxyAPIClient, bridgeIP, prevID string) *fakeProxy {
	t.Helper()
	ctx := t.Context()
	if prevID != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, MetadataProxyID, prevID)
	}
	r, err := api.RegisterMediaProxy(ctx, &agentv1.RegisterMediaProxyRequest{
		SdkApiPort: 8002,
		RdmaConfig: &agentv1.RDMAProxyConfig{DataplaneIpAddr: bridgeIP, DataplaneLocalPorts: "9100-9199"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fakeProxy{api: api, id: r.GetProxyId()}
}

// open starts the command stream; a goroutine owned by the test reads it
// until the stream ends or the test does.
func (f *fakeProxy) open(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	stream, err := f.api.StartCommandQueue(ctx, &agentv1.StartCommandQueueRequest{ProxyId: f.id})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	f.cancel, f.cmds, f.end = cancel, make(chan *agentv1.CommandRequest, 64), make(chan error, 1)
	f.wg.Go(func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				f.end <- err
				return
			}
			select {
			case f.cmds <- m:
			case <-ctx.Done():
				f.end <- ctx.Err()
				return
			}
		}
	})
	t.Cleanup(f.close)
}

func (f *fakeProxy) close() {
	if f.cancel != nil {
		f.cancel()
		f.wg.Wait()
	}
}

// next returns the next command.
func (f *fakeProxy) next(t *testing.T) *agentv1.CommandRequest {
	t.Helper()
	select {
	case m := <-f.cmds:
		return m
	case err := <-f.end:
		t.Fatalf("proxy %s: stream ended: %v", f.id, err)
	case <-time.After(hang):
		t.Fatalf("proxy %s: no command", f.id)
	}
	return nil
}

// config returns the next command, which must be an ApplyConfig, and
// acknowledges it.
func (f *fakeProxy) config(t *testing.T) *agentv1.ApplyConfigRequest {
	t.Helper()
	m := f.next(t)
	if m.GetApplyConfig() == nil {
		t.Fatalf("proxy %s: got %v, want an apply_config", f.id, m)
	}
	_, err := f.api.SendCommandReply(t.Context(), &agentv1.CommandReply{ReqId: m.GetReqId(), ProxyId: f.id,
		Reply: &agentv1.CommandReply_ApplyConfig{ApplyConfig: &agentv1.ApplyConfigReply{}}})
	if err != nil {
		t.Fatal(err)
	}
	return m.GetApplyConfig()
}

// configUntil reads configs until ok accepts one.
func (f *fakeProxy) configUntil(t *testing.T, ok func(*agentv1.ApplyConfigRequest) bool) *agentv1.ApplyConfigRequest {
	t.Helper()
	for {
		if c := f.config(t); ok(c) {
			return c
		}
	}
}

func (f *fakeProxy) conn(t *testing.T, kind string, cfg *sdkpb.ConnectionConfig, id string) string {
	t.Helper()
	r, err := f.api.RegisterConnection(t.Context(), &agentv1.RegisterConnectionRequest{
		ProxyId: f.id, Kind: kind, Config: cfg, ConnId: id})
	if err != nil {
		t.Fatalf("register %s conn: %v", kind, err)
	}
	return r.GetConnId()
}

func nBridges(n int) func(*agentv1.ApplyConfigRequest) bool {
	return func(c *agentv1.ApplyConfigRequest) bool { return len(c.GetBridges()) == n }
}

// TestMesh: three proxies, a sender on A, receivers on A, B and C.
func TestMesh(t *testing.T) {
	testutil.CheckLeaks(t)
	a := startAgent(t, t.TempDir(), nil)
	api := dialAgent(t, a)
	pa, pb, pc := register(t, api, "10.0.0.1", ""), register(t, api, "10.0.0.2", ""), register(t, api, "10.0.0.3", "")
	for _, p := range []*fakeProxy{pa, pb, pc} {
		p.open(t)
		if c := p.config(t); len(c.GetGroups())+len(c.GetBridges()) != 0 {
			t.Fatalf("a new proxy's config is not empty: %v", c)
		}
	}
	s := pa.conn(t, KindRx, videoCfg(sender, "urn:cam1"), "")
	ra := pa.conn(t, KindTx, videoCfg(receiver, "urn:cam1"), "")
	rb := pb.conn(t, KindTx, videoCfg(receiver, "urn:cam1"), "")
	rc := pc.conn(t, KindTx, videoCfg(receiver, "urn:cam1"), "")

	ca := pa.configUntil(t, nBridges(2))
	cb := pb.configUntil(t, nBridges(1))
	cc := pc.configUntil(t, nBridges(1))
	want := map[string][]string{
		pa.id: {"urn:cam1: " + join(s, ra) + " | ->10.0.0.2:9100 ->10.0.0.3:9100"},
		pb.id: {"urn:cam1: " + rb + " | <-10.0.0.1:9100"},
		pc.id: {"urn:cam1: " + rc + " | <-10.0.0.1:9100"},
	}
	if got := summary(map[string]*agentv1.ApplyConfigRequest{pa.id: ca, pb.id: cb, pc.id: cc}); !reflect.DeepEqual(got, want) {
		t.Fatalf("configs:\n got %q\nwant %q", got, want)
	}
	snap, err := a.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Bridges) != 4 || len(snap.Groups) != 1 || !snap.Active[pa.id] || len(snap.Groups["urn:cam1"].BridgeIDs) != 4 {
		t.Fatalf("snapshot: %d bridges, groups %v, active %v", len(snap.Bridges), snap.Groups, snap.Active)
	}

	// C's receiver leaves: C's pair goes, B's stays as it was.
	if _, err := api.UnregisterConnection(t.Context(), &agentv1.UnregisterConnectionRequest{ProxyId: pc.id, ConnId: rc}); err != nil {
		t.Fatal(err)
	}
	if c := pc.config(t); len(c.GetGroups())+len(c.GetBridges()) != 0 {
		t.Fatalf("C after its last receiver left: %v", c)
	}
	var toB *agentv1.Bridge
	for _, b := range ca.GetBridges() {
		if b.GetTcp().GetRemoteAddr() == "10.0.0.2:9100" {
			toB = b
		}
	}
	if c := pa.config(t); len(c.GetBridges()) != 1 || !proto.Equal(c.GetBridges()[0], toB) {
		t.Fatalf("A after C left: %v, want only %v", c, toB)
	}
}

func join(ids ...string) string {
	slices.Sort(ids)
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += " "
		}
		s += id
	}
	return s
}

// TestIdempotent: the same registration twice changes nothing and pushes
// nothing; the next push is the next change's.
func TestIdempotent(t *testing.T) {
	testutil.CheckLeaks(t)
	a := startAgent(t, t.TempDir(), nil)
	api := dialAgent(t, a)
	pa, pb := register(t, api, "10.0.0.1", ""), register(t, api, "10.0.0.2", "")
	pa.open(t)
	pa.config(t)
	s := pa.conn(t, KindRx, videoCfg(sender, "g"), "")
	pb.conn(t, KindTx, videoCfg(receiver, "g"), "")
	first := pa.configUntil(t, nBridges(1))
	if again := pa.conn(t, KindRx, videoCfg(sender, "g"), s); again != s {
		t.Fatalf("re-registration got id %s, want %s", again, s)
	}
	// Same event once more through the proxy-id path.
	if p := register(t, api, "10.0.0.2", pb.id); p.id != pb.id {
		t.Fatalf("re-registered proxy got id %s, want %s", p.id, pb.id)
	}
	pa.conn(t, KindTx, blobCfg(receiver, "other", 64), "")
	next := pa.config(t)
	if len(next.GetGroups()) != 2 || !proto.Equal(next.GetBridges()[0], first.GetBridges()[0]) {
		t.Fatalf("the push after the duplicates is not the next change's: %v", next)
	}
}

// TestRestart: the registry survives Close and New on the same directory;
// a proxy re-registering with its id gets the same plan.
func TestRestart(t *testing.T) {
	testutil.CheckLeaks(t)
	dir := t.TempDir()
	clk := &clock{t: t0}
	mod := func(c *Config) { c.Now = clk.now; c.Grace = time.Minute }
	a := startAgent(t, dir, mod)
	api := dialAgent(t, a)
	pa, pb := register(t, api, "10.0.0.1", ""), register(t, api, "10.0.0.2", "")
	sid := pa.conn(t, KindRx, videoCfg(sender, "g"), "")
	rid := pb.conn(t, KindTx, videoCfg(receiver, "g"), "")
	pb.open(t)
	before := pb.configUntil(t, nBridges(1))
	snap1, err := a.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	pb.close()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	a2 := startAgent(t, dir, mod)
	snap2, err := a2.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, chk := range []struct {
		what     string
		got, was any
	}{
		{"proxies", snap2.Proxies, snap1.Proxies}, {"bridges", snap2.Bridges, snap1.Bridges},
		{"groups", len(snap2.Groups), len(snap1.Groups)}, {"secret", snap2.Secret, snap1.Secret},
	} {
		if !reflect.DeepEqual(chk.got, chk.was) {
			t.Errorf("%s after restart:\n got %v\nwant %v", chk.what, chk.got, chk.was)
		}
	}
	for id, c := range snap1.Conns {
		if c2 := snap2.Conns[id]; c2 == nil || !proto.Equal(c2.Config, c.Config) || c2.ProxyID != c.ProxyID || !c2.RegisteredAt.Equal(c.RegisteredAt) {
			t.Errorf("connection %s after restart: %+v, was %+v", id, c2, c)
		}
	}
	api2 := dialAgent(t, a2)
	pb2 := register(t, api2, "10.0.0.2", pb.id)
	if pb2.id != pb.id {
		t.Fatalf("re-registered as %s, was %s", pb2.id, pb.id)
	}
	// Its connections come back with their ids: nothing changes.
	if got := pb2.conn(t, KindTx, videoCfg(receiver, "g"), rid); got != rid {
		t.Fatalf("conn re-registered as %s, was %s", got, rid)
	}
	pb2.open(t)
	if after := pb2.config(t); !proto.Equal(after, before) {
		t.Fatalf("plan after restart:\n%v\nwas\n%v", after, before)
	}

	// A never comes back: after the grace period it is unhealthy, kept,
	// and B's bridge goes.
	clk.add(2 * time.Minute)
	if err := a2.do(t.Context(), a2.checkLiveness); err != nil {
		t.Fatal(err)
	}
	if c := pb2.config(t); len(c.GetBridges()) != 0 || len(c.GetGroups()) != 1 {
		t.Fatalf("B's config after A went: %v", c)
	}
	snap3, _ := a2.Snapshot(t.Context())
	if p := snap3.Proxies[pa.id]; p == nil || p.Healthy || snap3.Conns[sid] == nil || !snap3.Proxies[pb.id].Healthy {
		t.Fatalf("after the grace period: A %+v, its sender kept %v", p, snap3.Conns[sid] != nil)
	}
}

func TestBadInput(t *testing.T) {
	testutil.CheckLeaks(t)
	a := startAgent(t, t.TempDir(), nil)
	api := dialAgent(t, a)
	p := register(t, api, "10.0.0.1", "")
	q := register(t, api, "10.0.0.2", "")
	sid := p.conn(t, KindRx, videoCfg(sender, "g"), "")
	ctx := t.Context()
	withMD := func(k, v string) context.Context { return metadata.AppendToOutgoingContext(ctx, k, v) }
	otherSize := videoCfg(receiver, "g")
	otherSize.GetVideo().Width, otherSize.CalculatedPayloadSize = 320, 320*360*4
	l, _ := mcm.NewLayout(320*360*4, 0)
	otherSize.BufParts = l.Parts()
	reg := func(ctx context.Context, r *agentv1.RegisterConnectionRequest) error {
		_, err := api.RegisterConnection(ctx, r)
		return err
	}
	cases := []struct {
		name string
		call func() error
		code codes.Code
		msg  string
	}{
		{"nil config", func() error { return reg(ctx, &agentv1.RegisterConnectionRequest{ProxyId: p.id, Kind: KindTx}) },
			codes.InvalidArgument, "no config"},
		{"unknown proxy", func() error {
			return reg(ctx, &agentv1.RegisterConnectionRequest{ProxyId: "nope", Kind: KindTx, Config: videoCfg(receiver, "g")})
		}, codes.NotFound, `proxy "nope"`},
		{"empty proxy id", func() error {
			return reg(ctx, &agentv1.RegisterConnectionRequest{Kind: KindTx, Config: videoCfg(receiver, "g")})
		}, codes.InvalidArgument, "proxy_id"},
		{"bad kind", func() error {
			return reg(ctx, &agentv1.RegisterConnectionRequest{ProxyId: p.id, Kind: "sideways", Config: videoCfg(receiver, "g")})
		}, codes.InvalidArgument, `kind "sideways"`},
		{"kind contradicts config.kind", func() error {
			return reg(ctx, &agentv1.RegisterConnectionRequest{ProxyId: p.id, Kind: KindTx, Config: videoCfg(sender, "g")})
		}, codes.InvalidArgument, "config.kind"},
		{"config fails validation", func() error {
			c := videoCfg(receiver, "g")
			c.CalculatedPayloadSize++
			return reg(ctx, &agentv1.RegisterConnectionRequest{ProxyId: p.id, Kind: KindTx, Config: c})
		}, codes.InvalidArgument, "calculated_payload_size"},
		{"rdma connection", func() error {
			c := videoCfg(receiver, "g")
			c.Conn = &sdkpb.ConnectionConfig_Rdma{Rdma: &sdkpb.ConfigRDMA{}}
			return reg(ctx, &agentv1.RegisterConnectionRequest{ProxyId: p.id, Kind: KindTx, Config: c})
		}, codes.InvalidArgument, "rdma"},
		{"second sender", func() error {
			return reg(ctx, &agentv1.RegisterConnectionRequest{ProxyId: q.id, Kind: KindRx, Config: videoCfg(sender, "g")})
		}, codes.FailedPrecondition, "already has a sender"},
		{"incompatible member", func() error {
			return reg(ctx, &agentv1.RegisterConnectionRequest{ProxyId: q.id, Kind: KindTx, Config: otherSize})
		}, codes.FailedPrecondition, "calculated_payload_size"},
		{"another proxy's conn id", func() error {
			return reg(ctx, &agentv1.RegisterConnectionRequest{ProxyId: q.id, Kind: KindRx, Config: videoCfg(sender, "g"), ConnId: sid})
		}, codes.AlreadyExists, "belongs to proxy"},
		{"conn id with a slash", func() error {
			return reg(ctx, &agentv1.RegisterConnectionRequest{ProxyId: p.id, Kind: KindTx, Config: videoCfg(receiver, "g"), ConnId: "a/b"})
		}, codes.InvalidArgument, "conn_id"},
		{"bad wire options", func() error {
			return reg(withMD("mediamesh-st2110-bin", "{"), &agentv1.RegisterConnectionRequest{ProxyId: p.id, Kind: KindTx, Config: videoCfg(receiver, "g")})
		}, codes.InvalidArgument, "st2110 options"},
		{"unregister unknown conn", func() error {
			_, err := api.UnregisterConnection(ctx, &agentv1.UnregisterConnectionRequest{ProxyId: p.id, ConnId: "nope"})
			return err
		}, codes.NotFound, "connection"},
		{"unregister another proxy's conn", func() error {
			_, err := api.UnregisterConnection(ctx, &agentv1.UnregisterConnectionRequest{ProxyId: q.id, ConnId: sid})
			return err
		}, codes.NotFound, "connection"},
		{"unregister unknown proxy", func() error {
			_, err := api.UnregisterMediaProxy(ctx, &agentv1.UnregisterMediaProxyRequest{ProxyId: "nope"})
			return err
		}, codes.NotFound, "proxy"},
		{"command queue of unknown proxy", func() error {
			s, err := api.StartCommandQueue(ctx, &agentv1.StartCommandQueueRequest{ProxyId: "nope"})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}, codes.NotFound, "proxy"},
		{"reply to an unknown command", func() error {
			_, err := api.SendCommandReply(ctx, &agentv1.CommandReply{ReqId: "nope", ProxyId: p.id})
			return err
		}, codes.NotFound, "command reply id"},
		{"metrics of unknown proxy", func() error {
			_, err := api.SendMetrics(ctx, &agentv1.SendMetricsRequest{ProxyId: "nope"})
			return err
		}, codes.NotFound, "proxy"},
		{"too many metric fields", func() error {
			_, err := api.SendMetrics(ctx, &agentv1.SendMetricsRequest{ProxyId: p.id,
				Metrics: []*agentv1.Metric{{ProviderId: sid, Fields: make([]*agentv1.MetricField, 65)}}})
			return err
		}, codes.InvalidArgument, "65 fields"},
		{"bad port ranges", func() error {
			_, err := api.RegisterMediaProxy(ctx, &agentv1.RegisterMediaProxyRequest{RdmaConfig: &agentv1.RDMAProxyConfig{DataplaneLocalPorts: "9-1"}})
			return err
		}, codes.InvalidArgument, "descending"},
		{"bad bridge ip", func() error {
			_, err := api.RegisterMediaProxy(ctx, &agentv1.RegisterMediaProxyRequest{RdmaConfig: &agentv1.RDMAProxyConfig{DataplaneIpAddr: "ten"}})
			return err
		}, codes.InvalidArgument, "not an IP address"},
		{"bad sdk port", func() error {
			_, err := api.RegisterMediaProxy(ctx, &agentv1.RegisterMediaProxyRequest{SdkApiPort: 70000})
			return err
		}, codes.InvalidArgument, "sdk_api_port"},
		{"bad previous proxy id", func() error {
			_, err := api.RegisterMediaProxy(withMD(MetadataProxyID, "has space"), &agentv1.RegisterMediaProxyRequest{})
			return err
		}, codes.InvalidArgument, MetadataProxyID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			st, _ := status.FromError(err)
			if st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
				t.Errorf("got %v (%s), want %v containing %q", st.Code(), st.Message(), tc.code, tc.msg)
			}
		})
	}
	// Nothing of the above changed the registry.
	snap, _ := a.Snapshot(ctx)
	if len(snap.Conns) != 1 || len(snap.Proxies) != 2 {
		t.Errorf("registry changed: %d conns, %d proxies", len(snap.Conns), len(snap.Proxies))
	}
}

// TestStreams: a newer stream replaces an older one, unregistering ends
// the stream with NOT_FOUND, and Debug round-trips.
func TestStreams(t *testing.T) {
	testutil.CheckLeaks(t)
	a := startAgent(t, t.TempDir(), nil)
	api := dialAgent(t, a)
	p := register(t, api, "10.0.0.1", "")
	if _, err := a.Debug(t.Context(), p.id, "ping"); !errors.Is(err, ErrNotReady) {
		t.Fatalf("debug without a stream: %v", err)
	}
	p.open(t)
	p.config(t)
	old := p
	p2 := &fakeProxy{api: api, id: p.id}
	p2.open(t)
	p2.config(t)
	if err := <-old.end; status.Code(err) != codes.AlreadyExists {
		t.Fatalf("older stream ended with %v, want AlreadyExists", err)
	}

	// The proxy's side, answering as MCM's proxies do.
	reply := make(chan error, 1)
	go func() {
		select {
		case m := <-p2.cmds:
			_, err := api.SendCommandReply(t.Context(), &agentv1.CommandReply{ReqId: m.GetReqId(), ProxyId: p.id,
				Reply: &agentv1.CommandReply_Debug{Debug: &agentv1.DebugReply{OutText: "Okay Okay! " + m.GetDebug().GetInText()}}})
			reply <- err
		case <-t.Context().Done():
			reply <- t.Context().Err()
		}
	}()
	out, err := a.Debug(t.Context(), p.id, "ping")
	if err != nil || out != "Okay Okay! ping" {
		t.Fatalf("debug = %q, %v", out, err)
	}
	if err := <-reply; err != nil {
		t.Fatal(err)
	}

	if _, err := api.UnregisterMediaProxy(t.Context(), &agentv1.UnregisterMediaProxyRequest{ProxyId: p.id}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p2.end:
		if status.Code(err) != codes.NotFound {
			t.Fatalf("stream of an unregistered proxy ended with %v, want NotFound", err)
		}
	case <-time.After(hang):
		t.Fatal("stream did not end")
	}
}

// TestMetrics: the latest per provider, only the proxy's own providers.
func TestMetrics(t *testing.T) {
	testutil.CheckLeaks(t)
	a := startAgent(t, t.TempDir(), nil)
	api := dialAgent(t, a)
	p, q := register(t, api, "10.0.0.1", ""), register(t, api, "10.0.0.2", "")
	mine := p.conn(t, KindTx, videoCfg(receiver, "g"), "")
	theirs := q.conn(t, KindTx, videoCfg(receiver, "g"), "")
	metric := func(ts int64, provider string, v uint64) *agentv1.Metric {
		return &agentv1.Metric{TimestampMs: ts, ProviderId: provider,
			Fields: []*agentv1.MetricField{{Name: "in", Value: &agentv1.MetricField_UintValue{UintValue: v}}}}
	}
	for _, ms := range [][]*agentv1.Metric{
		{metric(2, mine, 20), metric(1, theirs, 1), metric(1, "collector", 1)},
		{metric(1, mine, 10)}, // older: ignored
	} {
		if _, err := api.SendMetrics(t.Context(), &agentv1.SendMetricsRequest{ProxyId: p.id, Metrics: ms}); err != nil {
			t.Fatal(err)
		}
	}
	snap, _ := a.Snapshot(t.Context())
	got := snap.Metrics[p.id]
	if len(got) != 2 || got[mine].GetFields()[0].GetUintValue() != 20 || got["collector"] == nil {
		t.Fatalf("metrics %v", got)
	}
	if _, err := api.UnregisterConnection(t.Context(), &agentv1.UnregisterConnectionRequest{ProxyId: p.id, ConnId: mine}); err != nil {
		t.Fatal(err)
	}
	if snap, _ = a.Snapshot(t.Context()); snap.Metrics[p.id][mine] != nil {
		t.Fatal("metrics of a deleted connection kept")
	}
}

// TestStartErrors: bad configs are refused by New; a second agent on the
// same directory by Start.
func TestStartErrors(t *testing.T) {
	testutil.CheckLeaks(t)
	for _, cfg := range []Config{{}, {DataDir: "x"}, {DataDir: "x", Insecure: true, Grace: -1}, {DataDir: "x", Insecure: true, REST: func(*Agent) http.Handler { return nil }}} {
		if _, err := New(cfg, slog.New(slog.DiscardHandler)); !errors.Is(err, ErrInvalid) {
			t.Errorf("New(%+v) = %v", cfg, err)
		}
	}
	dir := t.TempDir()
	startAgent(t, dir, nil)
	b, _ := New(Config{GRPCAddr: "127.0.0.1:0", DataDir: dir, Insecure: true}, slog.New(slog.DiscardHandler))
	if err := b.Start(t.Context()); err == nil {
		t.Fatal("a second agent started on the same data dir")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	var c Agent
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// A proxy that restarts re-presents its id but not the connections it
// lost: when it opens its stream, they are pruned, and the group's sender
// slot is free for the sender it registers now. A stream that merely
// reopens prunes nothing.
func TestRestartedProxyPrunesLostConns(t *testing.T) {
	testutil.CheckLeaks(t)
	a := startAgent(t, t.TempDir(), nil)
	api := dialAgent(t, a)
	pa := register(t, api, "10.0.0.1", "")
	old := pa.conn(t, KindRx, videoCfg(sender, "g"), "")
	kept := pa.conn(t, KindTx, videoCfg(receiver, "g"), "")
	pa.open(t)
	pa.config(t)
	pa.close()

	pa2 := register(t, api, "10.0.0.1", pa.id)
	if got := pa2.conn(t, KindTx, videoCfg(receiver, "g"), kept); got != kept {
		t.Fatalf("re-registered as %s, was %s", got, kept)
	}
	pa2.open(t)
	pa2.config(t)
	snap, err := a.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Conns[old] != nil || snap.Conns[kept] == nil {
		t.Fatalf("after the restart: lost sender kept %v, re-registered receiver kept %v", snap.Conns[old] != nil, snap.Conns[kept] != nil)
	}
	fresh := pa2.conn(t, KindRx, videoCfg(sender, "g"), "") // the slot is free
	pa2.close()
	pa2.open(t) // the same epoch: nothing pruned
	pa2.config(t)
	snap, _ = a.Snapshot(t.Context())
	if snap.Conns[fresh] == nil || snap.Conns[kept] == nil {
		t.Fatal("a reopened stream pruned connections")
	}
}
