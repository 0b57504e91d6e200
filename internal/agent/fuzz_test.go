package agent

import (
	"context"
	"log/slog"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	agentv1 "mediamesh/api/agent/v1"
	"mediamesh/internal/mcm"
)

// FuzzRegisterConnection feeds RegisterConnection what a proxy could send:
// any protobuf bytes, with any st2110 options metadata. The handler must
// answer with a clear client error or register the connection, never
// panic or fail internally, and must leave the registry consistent.
//
// No leak check here: under -fuzz the engine starts goroutines of its own
// (signal handling) in this process; the unit tests check Close.
func FuzzRegisterConnection(f *testing.F) {
	cfg := Config{GRPCAddr: "127.0.0.1:0", DataDir: f.TempDir(), Insecure: true}
	a, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	a.noSync = true
	if err := a.Start(f.Context()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = a.Close() })
	for _, id := range []string{"pA", "pB"} {
		if _, err := a.registerProxy(f.Context(), id, Proxy{BridgeIP: "10.0.0.1"}); err != nil {
			f.Fatal(err)
		}
	}
	api := &proxyAPI{a: a}
	// A standing group for new members to be checked against.
	if _, err := api.RegisterConnection(f.Context(), &agentv1.RegisterConnectionRequest{
		ProxyId: "pA", Kind: KindRx, Config: videoCfg(sender, "g"), ConnId: "standing"}); err != nil {
		f.Fatal(err)
	}

	blobWire := blobCfg(sender, "", 1024)
	blobWire.Conn = st2110Cfg(sender, "239.0.0.1", 5004).Conn
	seeds := []struct {
		req  *agentv1.RegisterConnectionRequest
		wire string
	}{
		{&agentv1.RegisterConnectionRequest{ProxyId: "pB", Kind: KindTx, Config: videoCfg(receiver, "g")}, ""},
		{&agentv1.RegisterConnectionRequest{ProxyId: "pB", Kind: KindRx, Config: blobCfg(sender, "b", 4096), ConnId: "c1"}, ""},
		{&agentv1.RegisterConnectionRequest{ProxyId: "pA", Kind: KindTx, Config: st2110Cfg(receiver, "239.0.0.1", 5004)}, ""},
		{&agentv1.RegisterConnectionRequest{ProxyId: "pA", Kind: KindRx, Config: blobWire}, `{"transport":"st2110-40"}`},
		{&agentv1.RegisterConnectionRequest{ProxyId: "pB", Kind: KindRx, Config: videoCfg(sender, "g")}, ""},
		{&agentv1.RegisterConnectionRequest{ProxyId: "pB", Kind: KindTx}, ""},
		{&agentv1.RegisterConnectionRequest{ProxyId: "pB", Kind: "sideways", Config: videoCfg(receiver, "g")}, "{"},
		{&agentv1.RegisterConnectionRequest{ProxyId: "nope", Kind: KindTx, Config: videoCfg(receiver, "g"), ConnId: "standing"}, ""},
	}
	for _, s := range seeds {
		b, err := proto.Marshal(s.req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, s.wire)
	}
	f.Add([]byte{0xff, 0xff, 0xff}, "")
	f.Fuzz(func(t *testing.T, b []byte, wire string) {
		req := &agentv1.RegisterConnectionRequest{}
		if proto.Unmarshal(b, req) != nil {
			return // gRPC refuses what does not decode before any handler runs
		}
		ctx := t.Context()
		if wire != "" {
			ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(mcm.MetadataWireOptions, wire))
		}
		r, err := api.RegisterConnection(ctx, req)
		switch status.Code(err) {
		case codes.OK:
		case codes.InvalidArgument, codes.NotFound, codes.FailedPrecondition, codes.AlreadyExists:
			return
		default:
			t.Fatalf("RegisterConnection(%v): %v", req, err)
		}
		id := r.GetConnId()
		snap, err := a.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c := snap.Conns[id]
		if c == nil || c.ProxyID != req.GetProxyId() || !proto.Equal(c.Config, req.GetConfig()) || c.GroupID == "" {
			t.Fatalf("registered %s as %+v", id, c)
		}
		if g := snap.Groups[c.GroupID]; g.Source != "" && c.Kind == KindRx && g.Source != id {
			t.Fatalf("group %q has two sources", c.GroupID)
		}
		// Keep the registry small: the next input meets the standing group.
		if id != "standing" {
			if err := a.UnregisterConnection(context.Background(), "", id); err != nil {
				t.Fatal(err)
			}
		}
	})
}
