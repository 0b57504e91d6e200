// Command media-proxy is mediamesh's per-node data-plane daemon, a drop-in
// for MCM's media_proxy. See README.md beside this file.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	agentv1 "mediamesh/api/agent/v1"
	"mediamesh/internal/conf"
	"mediamesh/internal/logging"
	"mediamesh/internal/mesh"
	"mediamesh/internal/mtls"
	"mediamesh/internal/proxy"
	"mediamesh/internal/version"
)

func main() { os.Exit(run()) }

func run() int {
	cfg, action, err := conf.LoadProxy(os.Args[1:], os.Getenv, os.Stdout)
	switch {
	case errors.Is(err, conf.ErrUsage):
		fmt.Fprintf(os.Stderr, "media-proxy: %v\n\n", err)
		conf.ProxyUsage(os.Stderr)
		return 2
	case err != nil:
		fmt.Fprintf(os.Stderr, "media-proxy: invalid configuration:\n%v\n", err)
		return 2
	case action == conf.ActionHelp:
		return 0
	case action == conf.ActionCheck:
		fmt.Println("config ok")
		return 0
	case action == conf.ActionPrint:
		b, _ := json.MarshalIndent(cfg.Redacted(), "", "  ")
		fmt.Println(string(b))
		return 0
	}
	format := cfg.LogFormat
	if format == "" {
		format = "json"
		if term.IsTerminal(int(os.Stderr.Fd())) {
			format = "text"
		}
	}
	log, err := logging.New(cfg.LogLevel, format, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "media-proxy: %v\n", err)
		return 2
	}
	if cfg.Insecure {
		log.Warn("running with --insecure: TCP clients are not authenticated")
	}
	p, err := proxy.New(proxy.Config{
		RunDir:      cfg.RunDir,
		SDKAddr:     cfg.SDKAddr(),
		Token:       cfg.Token,
		Insecure:    cfg.Insecure,
		SocketGroup: cfg.SocketGroup,
		AllowUIDs:   cfg.AllowUIDs,
		AllowGIDs:   cfg.AllowGIDs,
		ST2110IP:    cfg.ST2110IP,
		PTPClock:    cfg.PTPClock,
	}, log)
	if err != nil {
		log.Error("configure", "err", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := p.Start(ctx); err != nil {
		log.Error("start", "err", err)
		_ = p.Close()
		return 1
	}
	log.Info("media-proxy started", "version", version.String(), "run_dir", cfg.RunDir)
	m, err := joinMesh(cfg, p, log)
	if err != nil {
		log.Error("mesh", "err", err)
		_ = p.Close()
		return 2
	}
	code := 0
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case <-p.Done():
		log.Error("proxy failed", "err", p.Err())
		code = 1
	}
	if m != nil {
		if err := m.Close(); err != nil {
			log.Error("close mesh", "err", err)
		}
	}
	if err := p.Close(); err != nil {
		log.Error("close", "err", err)
		code = 1
	}
	return code
}

// joinMesh connects the proxy to mesh-agent, nil when it runs alone: no
// agent address, or no way to reach it securely (no mTLS files and no
// --insecure), which is said once in the log.
func joinMesh(cfg *conf.Proxy, p *proxy.Proxy, log *slog.Logger) (*mesh.Mesh, error) {
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
	m, err := mesh.New(mesh.Config{
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
