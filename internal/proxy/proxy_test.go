package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	sdkpb "mediamesh/api/mcm/sdk"
	proxyv1 "mediamesh/api/proxy/v1"
	"mediamesh/internal/mcm"
	"mediamesh/internal/proxy"
	"mediamesh/internal/testutil"
	"mediamesh/sdk"
)

func start(t *testing.T, cfg proxy.Config) *proxy.Proxy {
	t.Helper()
	if cfg.RunDir == "" {
		cfg.RunDir = testutil.TempRunDir(t)
	}
	p, err := proxy.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func dial(t *testing.T, target string) sdkpb.SDKAPIClient {
	t.Helper()
	cc, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return sdkpb.NewSDKAPIClient(cc)
}

// videoConfig is what the MCM SDK sends for 640x360 yuv422p10le.
func videoConfig(kind sdkpb.ConnectionKind, urn string) *sdkpb.ConnectionConfig {
	const payload = 640 * 360 * 4
	l, _ := mcm.NewLayout(payload, 0)
	return &sdkpb.ConnectionConfig{
		Kind:                  kind,
		BufQueueCapacity:      16,
		CalculatedPayloadSize: payload,
		BufParts: &sdkpb.BufferPartitions{
			Sysdata:  &sdkpb.BufferPartition{Offset: l.Sysdata.Offset, Size: l.Sysdata.Size},
			Payload:  &sdkpb.BufferPartition{Offset: l.Payload.Offset, Size: l.Payload.Size},
			Metadata: &sdkpb.BufferPartition{Offset: l.Metadata.Offset, Size: l.Metadata.Size},
		},
		Conn:    &sdkpb.ConnectionConfig_MultipointGroup{MultipointGroup: &sdkpb.ConfigMultipointGroup{Urn: urn}},
		Payload: &sdkpb.ConnectionConfig_Video{Video: &sdkpb.ConfigVideo{Width: 640, Height: 360, Fps: 60}},
	}
}

func TestCreateRepliesMemifParameters(t *testing.T) {
	testutil.CheckLeaks(t)
	p := start(t, proxy.Config{})
	api := dial(t, "unix:"+p.SDKSocket())
	resp, err := api.CreateConnection(t.Context(), &sdkpb.CreateConnectionRequest{
		Config: videoConfig(sdkpb.ConnectionKind_CONN_KIND_RECEIVER, "urn:a")})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetMemifConnParam()) != mcm.MemifConnParamSize {
		t.Fatalf("memif_conn_param is %d bytes", len(resp.GetMemifConnParam()))
	}
	var mp mcm.MemifConnParam
	if _, err := mp.Unmarshal(resp.GetMemifConnParam()); err != nil {
		t.Fatal(err)
	}
	if mp.IsMaster || mp.Log2RingSize != 4 || mp.BufferSize != 24+640*360*4 || mp.Secret == "" {
		t.Fatalf("unexpected memif parameters %+v", mp)
	}
	st, err := os.Stat(mp.SocketPath)
	if err != nil || st.Mode().Perm() != 0o660 {
		t.Fatalf("memif socket %s: %v mode %v", mp.SocketPath, err, st.Mode())
	}
	if filepath.Dir(mp.SocketPath) != filepath.Dir(p.SDKSocket()) {
		t.Fatalf("memif socket outside the run dir: %s", mp.SocketPath)
	}
	if _, err := api.DeleteConnection(t.Context(), &sdkpb.DeleteConnectionRequest{ConnId: resp.GetConnId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mp.SocketPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("memif socket left after delete: %v", err)
	}
}

func TestRequestErrors(t *testing.T) {
	p := start(t, proxy.Config{})
	api := dial(t, "unix:"+p.SDKSocket())
	ctx := t.Context()
	bad := videoConfig(sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER, "urn:e")
	bad.BufParts.Payload.Size++ // MCM copied whatever size it got; we check
	other := videoConfig(sdkpb.ConnectionKind_CONN_KIND_RECEIVER, "urn:e")
	other.Payload = &sdkpb.ConnectionConfig_Video{Video: &sdkpb.ConfigVideo{Width: 64, Height: 64, Fps: 60}}
	other.CalculatedPayloadSize = 64 * 64 * 4
	l, _ := mcm.NewLayout(64*64*4, 0)
	other.BufParts.Payload.Size, other.BufParts.Metadata.Offset = l.Payload.Size, l.Metadata.Offset
	cases := []struct {
		name string
		req  *sdkpb.CreateConnectionRequest
		code codes.Code
	}{
		{"no config", &sdkpb.CreateConnectionRequest{}, codes.InvalidArgument},
		{"wrong partitions", &sdkpb.CreateConnectionRequest{Config: bad}, codes.InvalidArgument},
	}
	for _, c := range cases {
		_, err := api.CreateConnection(ctx, c.req)
		if status.Code(err) != c.code {
			t.Errorf("%s: got %v, want %v", c.name, err, c.code)
		}
	}
	// First member fixes the group's layout; a second sender is refused.
	if _, err := api.CreateConnection(ctx, &sdkpb.CreateConnectionRequest{
		Config: videoConfig(sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER, "urn:e")}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.CreateConnection(ctx, &sdkpb.CreateConnectionRequest{Config: other}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("layout mismatch: %v", err)
	}
	if _, err := api.CreateConnection(ctx, &sdkpb.CreateConnectionRequest{
		Config: videoConfig(sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER, "urn:e")}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("second sender: %v", err)
	}
	if _, err := api.DeleteConnection(ctx, &sdkpb.DeleteConnectionRequest{ConnId: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := api.ActivateConnection(ctx, &sdkpb.ActivateConnectionRequest{ConnId: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown id: %v", err)
	}
}

func TestTCPTokenRequired(t *testing.T) {
	p := start(t, proxy.Config{SDKAddr: "127.0.0.1:0", Token: "s3cret-token"})
	api := dial(t, p.TCPAddr().String())
	req := &sdkpb.CreateConnectionRequest{Config: videoConfig(sdkpb.ConnectionKind_CONN_KIND_RECEIVER, "urn:tok")}
	if _, err := api.CreateConnection(t.Context(), req); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("no token: %v", err)
	}
	bad := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer wrong")
	if _, err := api.CreateConnection(bad, req); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("wrong token: %v", err)
	}
	good := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer s3cret-token")
	if _, err := api.CreateConnection(good, req); err != nil {
		t.Fatalf("right token: %v", err)
	}
	// The unix socket needs no token: the kernel vouches for the peer.
	uapi := dial(t, "unix:"+p.SDKSocket())
	if _, err := uapi.CreateConnection(t.Context(), req); err != nil {
		t.Fatalf("unix socket: %v", err)
	}
}

func TestUnixPeerAllowList(t *testing.T) {
	uid := uint32(os.Getuid())
	p := start(t, proxy.Config{AllowUIDs: []uint32{uid + 12345}})
	api := dial(t, "unix:"+p.SDKSocket())
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	_, err := api.CreateConnection(ctx, &sdkpb.CreateConnectionRequest{})
	if status.Code(err) != codes.Unavailable && status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("refused peer got through: %v", err)
	}
	st, err := os.Stat(p.SDKSocket())
	if err != nil || st.Mode().Perm() != 0o660 {
		t.Fatalf("sdk socket mode: %v %v", err, st.Mode())
	}
}

// An app through the Go SDK: frames flow, ListConnections reports them, and
// a receiver whose link dies is reclaimed within a second.
func TestSDKThroughProxy(t *testing.T) {
	testutil.CheckLeaks(t)
	p := start(t, proxy.Config{})
	client, err := sdk.NewClientJSON(fmt.Appendf(nil, `{"apiConnectionString":"Server=unix:%s; Port="}`, p.SDKSocket()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	cfg := []byte(`{"connection":{"multipointGroup":{"urn":"urn:sdk"}},
		"payload":{"video":{"width":64,"height":64,"fps":60,"pixelFormat":"yuv422p10le"}}}`)
	ctx := t.Context()
	rx, err := client.CreateRxConnectionJSON(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := client.CreateTxConnectionJSON(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 50 {
		b, err := tx.GetBufferTimeout(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		b.Payload()[0] = byte(k)
		if err := tx.PutBuffer(b); err != nil {
			t.Fatal(err)
		}
		r, err := rx.GetBufferTimeout(time.Second)
		if err != nil {
			t.Fatalf("frame %d: %v", k, err)
		}
		if r.Payload()[0] != byte(k) || len(r.Payload()) != 64*64*4 || r.Seq() != uint32(k+1) {
			t.Fatalf("frame %d: byte %d len %d seq %d", k, r.Payload()[0], len(r.Payload()), r.Seq())
		}
		_ = rx.PutBuffer(r)
	}
	admin := dialAdmin(t, p.SDKSocket())
	list, err := admin.ListConnections(ctx, &proxyv1.ListConnectionsRequest{})
	if err != nil || len(list.GetConnections()) != 2 {
		t.Fatalf("list: %v %v", list, err)
	}
	for _, c := range list.GetConnections() {
		if c.GetState() != "active" || c.GetBuffers() != 50 {
			t.Fatalf("connection %+v", c)
		}
	}
	if err := rx.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Close(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, time.Second, func() error {
		list, err := admin.ListConnections(ctx, &proxyv1.ListConnectionsRequest{})
		if err != nil {
			return err
		}
		if n := len(list.GetConnections()); n != 0 {
			return fmt.Errorf("%d connections left", n)
		}
		return nil
	})
}

func dialAdmin(t *testing.T, sock string) proxyv1.ProxyAdminClient {
	t.Helper()
	cc, err := grpc.NewClient("unix:"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return proxyv1.NewProxyAdminClient(cc)
}

func TestConnectionLimit(t *testing.T) {
	p := start(t, proxy.Config{MaxConnections: 2})
	api := dial(t, "unix:"+p.SDKSocket())
	for i := range 3 {
		_, err := api.CreateConnection(t.Context(), &sdkpb.CreateConnectionRequest{
			Config: videoConfig(sdkpb.ConnectionKind_CONN_KIND_RECEIVER, "urn:cap")})
		if i < 2 && err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if i == 2 && status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("third connection over a limit of 2: %v", err)
		}
	}
}
