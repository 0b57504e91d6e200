package resttest

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	agentv1 "mediamesh/api/agent/v1"
	sdkpb "mediamesh/api/mcm/sdk"
	"mediamesh/internal/agent"
	"mediamesh/internal/agent/rest"
	"mediamesh/internal/mcm"
)

// Token is a valid bearer token for Start's cfg.
const Token = "resttest-token-0123456789abcdef"

// T0 is the agent's clock: every registration happens at T0.
var T0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Agent is a running agent and the ways to reach it.
type Agent struct {
	*agent.Agent
	// URL is the Control API's base, http://127.0.0.1:port.
	URL string
	// Handler is the same API without a socket, for httptest.
	Handler http.Handler
	// API is a client of the Proxy API.
	API agentv1.ProxyAPIClient
}

// Start runs an agent with plaintext gRPC on 127.0.0.1, its store in a
// temporary directory, and the Control API of cfg; everything is closed
// when the test ends.
func Start(t testing.TB, cfg rest.Config) *Agent {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	api, err := rest.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Config{
		GRPCAddr: "127.0.0.1:0",
		DataDir:  t.TempDir(),
		Insecure: true,
		RESTAddr: "127.0.0.1:0",
		REST:     api.Handler,
		Now:      func() time.Time { return T0 },
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	cc, err := grpc.NewClient(a.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return &Agent{Agent: a, URL: "http://" + a.RESTAddr(), Handler: api.Handler(a), API: agentv1.NewProxyAPIClient(cc)}
}

// Proxy registers the proxy id (a mediamesh proxy re-presenting its id)
// with bridge address bridgeIP and ports 9100-9199.
func (a *Agent) Proxy(t testing.TB, id, bridgeIP string) {
	t.Helper()
	ctx := metadata.AppendToOutgoingContext(t.Context(), agent.MetadataProxyID, id)
	_, err := a.API.RegisterMediaProxy(ctx, &agentv1.RegisterMediaProxyRequest{
		SdkApiPort: 8002,
		RdmaConfig: &agentv1.RDMAProxyConfig{DataplaneIpAddr: bridgeIP, DataplaneLocalPorts: "9100-9199"},
	})
	if err != nil {
		t.Fatalf("register proxy %s: %v", id, err)
	}
}

// Open holds the proxy's command stream until the test ends, as a
// media-proxy would: it acknowledges every config and answers a debug
// command with "okay: <text>". It returns once the stream is open.
func (a *Agent) Open(t testing.TB, id string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := a.API.StartCommandQueue(ctx, &agentv1.StartCommandQueueRequest{ProxyId: id})
	if err != nil {
		cancel()
		t.Fatalf("command stream of %s: %v", id, err)
	}
	first, err := stream.Recv() // the config on activation: the stream is registered
	if err != nil {
		cancel()
		t.Fatalf("command stream of %s: %v", id, err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		m := first
		for {
			r := &agentv1.CommandReply{ReqId: m.GetReqId(), ProxyId: id}
			switch {
			case m.GetApplyConfig() != nil:
				r.Reply = &agentv1.CommandReply_ApplyConfig{ApplyConfig: &agentv1.ApplyConfigReply{}}
			case m.GetDebug() != nil:
				r.Reply = &agentv1.CommandReply_Debug{Debug: &agentv1.DebugReply{OutText: "okay: " + m.GetDebug().GetInText()}}
			}
			_, _ = a.API.SendCommandReply(ctx, r)
			var err error
			if m, err = stream.Recv(); err != nil {
				return
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// Conn registers the connection id on proxy with cfg; its MCM kind
// follows cfg.Kind.
func (a *Agent) Conn(t testing.TB, proxy, id string, cfg *sdkpb.ConnectionConfig) {
	t.Helper()
	kind := agent.KindTx
	if cfg.GetKind() == sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER {
		kind = agent.KindRx
	}
	if _, err := a.API.RegisterConnection(t.Context(), &agentv1.RegisterConnectionRequest{
		ProxyId: proxy, Kind: kind, Config: cfg, ConnId: id}); err != nil {
		t.Fatalf("register connection %s: %v", id, err)
	}
}

// Metrics sends the proxy's metrics.
func (a *Agent) Metrics(t testing.TB, proxy string, m ...*agentv1.Metric) {
	t.Helper()
	if _, err := a.API.SendMetrics(t.Context(), &agentv1.SendMetricsRequest{ProxyId: proxy, Metrics: m}); err != nil {
		t.Fatalf("send metrics of %s: %v", proxy, err)
	}
}

// Video is a valid 640x360 yuv422p10le 60 fps group config.
func Video(kind sdkpb.ConnectionKind, urn string) *sdkpb.ConnectionConfig {
	const payload = 640 * 360 * 4
	l, _ := mcm.NewLayout(payload, 0)
	return &sdkpb.ConnectionConfig{
		Kind:                  kind,
		BufQueueCapacity:      16,
		CalculatedPayloadSize: payload,
		BufParts:              l.Parts(),
		Conn:                  &sdkpb.ConnectionConfig_MultipointGroup{MultipointGroup: &sdkpb.ConfigMultipointGroup{Urn: urn}},
		Payload:               &sdkpb.ConnectionConfig_Video{Video: &sdkpb.ConfigVideo{Width: 640, Height: 360, Fps: 60}},
	}
}

// Blob is a valid blob group config of size bytes.
func Blob(kind sdkpb.ConnectionKind, urn string, size uint32) *sdkpb.ConnectionConfig {
	l, _ := mcm.NewLayout(size, 0)
	return &sdkpb.ConnectionConfig{
		Kind: kind, BufQueueCapacity: 16, MaxPayloadSize: size, CalculatedPayloadSize: size, BufParts: l.Parts(),
		Conn:    &sdkpb.ConnectionConfig_MultipointGroup{MultipointGroup: &sdkpb.ConfigMultipointGroup{Urn: urn}},
		Payload: &sdkpb.ConnectionConfig_Blob{Blob: &sdkpb.ConfigBlob{}},
	}
}

// Audio is a valid stereo 48 kHz pcm_s24be 1 ms ST 2110-30 config to
// ip:port.
func Audio(kind sdkpb.ConnectionKind, ip string, port uint32) *sdkpb.ConnectionConfig {
	payload, _ := mcm.AudioPayloadSize(2, 48000, "pcm_s24be", "1ms")
	l, _ := mcm.NewLayout(payload, 0)
	return &sdkpb.ConnectionConfig{
		Kind: kind, BufQueueCapacity: 16, CalculatedPayloadSize: payload, BufParts: l.Parts(),
		Conn: &sdkpb.ConnectionConfig_St2110{St2110: &sdkpb.ConfigST2110{IpAddr: ip, Port: port, PayloadType: 97,
			Transport: sdkpb.ST2110Transport_CONN_TRANSPORT_ST2110_30}},
		Payload: &sdkpb.ConnectionConfig_Audio{Audio: &sdkpb.ConfigAudio{Channels: 2,
			Format: sdkpb.AudioFormat_AUDIO_FORMAT_PCM_S24BE}},
	}
}
