package mesh

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"

	agentv1 "mediamesh/api/agent/v1"
	"mediamesh/internal/conf"
	"mediamesh/internal/mtls"
	"mediamesh/internal/proxy"
)

// Join connects a started proxy to mesh-agent as media-proxy's
// configuration says, and starts the Mesh; nil when the proxy runs alone:
// no agent address, or no way to reach it securely (no mTLS files and no
// --insecure), which is said once in the log.
func Join(cfg *conf.Proxy, p *proxy.Proxy, log *slog.Logger) (*Mesh, error) {
	if !cfg.MeshEnabled() {
		return nil, nil
	}
	var tc *tls.Config
	switch {
	case cfg.AgentTLS():
		var err error
		if tc, err = mtls.Client(cfg.AgentCA, cfg.AgentCert, cfg.AgentKey); err != nil {
			return nil, err
		}
	case cfg.Insecure:
		log.Warn("talking to mesh-agent without TLS (--insecure)", "agent", cfg.Agent)
	default:
		log.Info("not joining a mesh: give --agent-ca, --agent-cert and --agent-key (meshctl certs makes them), or --insecure; --agent none silences this")
		return nil, nil
	}
	sdkPort := 0
	if a, ok := p.TCPAddr().(*net.TCPAddr); ok {
		sdkPort = a.Port
	}
	m, err := New(Config{
		Agent:    cfg.Agent,
		TLS:      tc,
		Insecure: cfg.Insecure,
		RunDir:   cfg.RunDir,
		Register: &agentv1.RegisterMediaProxyRequest{
			SdkApiPort:   uint32(sdkPort),
			St2110Config: &agentv1.ST2110ProxyConfig{DataplaneIpAddr: cfg.ST2110IP, DevPortBdf: cfg.ST2110Dev},
			RdmaConfig:   &agentv1.RDMAProxyConfig{DataplaneIpAddr: cfg.RDMAIP, DataplaneLocalPorts: cfg.RDMAPorts},
		},
	}, p, log)
	if err != nil {
		return nil, err
	}
	return m, m.Start(context.Background())
}
