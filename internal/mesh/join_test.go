package mesh

import (
	"log/slog"
	"path/filepath"
	"testing"

	"mediamesh/internal/conf"
	"mediamesh/internal/testutil"
)

// Join follows media-proxy's configuration: no agent, or no way to reach
// it securely, is a proxy alone; broken mTLS files are an error; an agent
// reached as configured is joined.
func TestJoin(t *testing.T) {
	testutil.CheckLeaks(t)
	log := slog.New(slog.DiscardHandler)
	p, dir := startProxy(t, log)
	addr := testutil.FreeTCPAddr(t)
	startAgent(t, addr, t.TempDir())
	cfg := func(mod func(*conf.Proxy)) *conf.Proxy {
		c := conf.DefaultProxy()
		c.RunDir, c.Agent, c.RDMAIP = dir, addr, "127.0.0.1"
		mod(&c)
		return &c
	}
	for name, c := range map[string]*conf.Proxy{
		"agent none":            cfg(func(c *conf.Proxy) { c.Agent = "none" }),
		"no certificates, safe": cfg(func(*conf.Proxy) {}),
	} {
		if m, err := Join(c, p, log); m != nil || err != nil {
			t.Errorf("%s: joined (%v, %v), want a proxy alone", name, m, err)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	if m, err := Join(cfg(func(c *conf.Proxy) { c.AgentCA, c.AgentCert, c.AgentKey = missing, missing, missing }), p, log); m != nil || err == nil {
		t.Errorf("missing certificate files: %v, %v; want an error", m, err)
	}
	m, err := Join(cfg(func(c *conf.Proxy) { c.Insecure = true }), p, log)
	if err != nil || m == nil {
		t.Fatalf("insecure: %v, %v", m, err)
	}
	t.Cleanup(func() { _ = m.Close() })
	testutil.Eventually(t, wait, func() error {
		if !m.Connected() {
			return errNotYet
		}
		return nil
	})
}
