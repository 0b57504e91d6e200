package mesh

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	agentv1 "mediamesh/api/agent/v1"
	"mediamesh/internal/bridge"
	"mediamesh/internal/proxy"
	"mediamesh/internal/run"
)

// metadataProxyID is agent.MetadataProxyID, the gRPC metadata key that
// re-presents a proxy's previous id (a test checks they agree; the agent
// package itself is not linked into the proxy).
const metadataProxyID = "mediamesh-proxy-id"

// IDFile is the file in the proxy's run dir that keeps its agent id
// across restarts.
const IDFile = "mesh-proxy-id"

// Defaults of Config.
const (
	DefaultMetricsInterval = time.Second
	DefaultMaxBackoff      = 2 * time.Second // MCM's retry interval
	minBackoff             = 100 * time.Millisecond
	callTimeout            = 5 * time.Second // MCM's deadline of the unary calls
	// senderGateWait bounds how long an app's sender waits at activation
	// for its group's bridges (gateSender).
	senderGateWait = 2 * time.Second
)

// Config is what a Mesh needs. Zero values mean the defaults.
type Config struct {
	// Agent is mesh-agent's Proxy API address, host:port (-a).
	Agent string
	// TLS is the client side of the mTLS the agent requires: the CA that
	// signed the agent's certificate and this proxy's certificate. nil
	// only with Insecure.
	TLS *tls.Config
	// Insecure talks plaintext to the agent (a lab choice).
	Insecure bool
	// Register is what the proxy tells the agent about itself: SDK port,
	// ST 2110 and bridge (-r, -p) settings.
	Register *agentv1.RegisterMediaProxyRequest
	// RunDir keeps IDFile.
	RunDir string
	// MetricsInterval is how often metrics go to the agent (default 1s).
	MetricsInterval time.Duration
	// MaxBackoff bounds the wait before a new session (default 2s).
	MaxBackoff time.Duration
}

// Mesh connects one proxy to the mesh. Create with New, then Start.
type Mesh struct {
	cfg   Config
	log   *slog.Logger
	node  *proxy.Proxy
	cc    *grpc.ClientConn
	api   agentv1.ProxyAPIClient
	g     *run.Group
	set   *bridgeSet // owned by run
	stats metricsState

	mu struct {
		sync.Mutex
		id        string // the agent's id of this proxy, "" until registered
		connected bool   // a command stream is open
		// plan is, by app connection id, the bridge ids of its group in
		// the last applied config; refused, the ids the agent refused.
		// What gateSender waits on.
		plan    map[string][]string
		refused map[string]bool
	}
	closeOnce sync.Once
	closeErr  error
}

// New validates cfg for node, a started proxy; it dials nothing yet.
func New(cfg Config, node *proxy.Proxy, log *slog.Logger) (*Mesh, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.Agent == "":
		return nil, errors.New("mesh: no agent address")
	case cfg.TLS == nil && !cfg.Insecure:
		return nil, errors.New("mesh: the agent needs mTLS (a CA, a certificate and its key) unless insecure")
	case cfg.RunDir == "":
		return nil, errors.New("mesh: no run dir")
	}
	if cfg.MetricsInterval <= 0 {
		cfg.MetricsInterval = DefaultMetricsInterval
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.Register == nil {
		cfg.Register = &agentv1.RegisterMediaProxyRequest{}
	}
	creds := insecure.NewCredentials()
	if cfg.TLS != nil {
		creds = credentials.NewTLS(cfg.TLS)
	}
	cc, err := grpc.NewClient(cfg.Agent, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("mesh: agent %s: %w", cfg.Agent, err)
	}
	log = log.With("component", "mesh", "agent", cfg.Agent)
	set, err := newBridgeSet(node, cfg.Register.GetRdmaConfig().GetDataplaneIpAddr(), log)
	if err != nil {
		_ = cc.Close()
		return nil, err
	}
	m := &Mesh{cfg: cfg, log: log, node: node, cc: cc, api: agentv1.NewProxyAPIClient(cc), set: set}
	m.mu.id = m.loadID()
	node.SetSenderGate(m.gateSender)
	return m, nil
}

// Start runs the session loop: it returns at once, and the proxy works
// whether or not the agent answers.
func (m *Mesh) Start(context.Context) error {
	m.g = run.NewGroup(context.Background())
	m.g.Go("mesh", m.run)
	return nil
}

// Close unregisters the proxy (a clean stop: its connections go with it),
// stops the sessions, then every bridge. Idempotent.
func (m *Mesh) Close() error {
	m.closeOnce.Do(func() {
		if m.g != nil {
			m.g.Cancel(nil)
			_ = m.g.Wait()
		}
		if id := m.ID(); id != "" {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			if _, err := m.api.UnregisterMediaProxy(ctx, &agentv1.UnregisterMediaProxyRequest{ProxyId: id}); err != nil {
				m.log.Debug("unregister", "err", err)
			}
			cancel()
		}
		m.node.SetSenderGate(nil)
		m.closeErr = errors.Join(m.set.closeAll(), m.cc.Close())
	})
	return m.closeErr
}

// ID returns the agent's id of this proxy, "" before the first
// registration.
func (m *Mesh) ID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.id
}

// BridgeStats returns the counters of every bridge the proxy runs, by
// bridge id.
func (m *Mesh) BridgeStats() map[string]bridge.Stats { return m.set.stats() }

// Connected says whether the proxy has a command stream open with the agent.
func (m *Mesh) Connected() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.connected
}

func (m *Mesh) loadID() string {
	b, err := os.ReadFile(filepath.Join(m.cfg.RunDir, IDFile))
	if err != nil {
		return ""
	}
	id := strings.TrimSpace(string(b))
	if len(id) > 64 || strings.ContainsAny(id, " /\n") {
		return ""
	}
	return id
}

func (m *Mesh) setID(id string) {
	m.mu.Lock()
	old := m.mu.id
	m.mu.id = id
	m.mu.Unlock()
	if id == old {
		return
	}
	path := filepath.Join(m.cfg.RunDir, IDFile)
	if err := os.WriteFile(path+".tmp", []byte(id+"\n"), 0o600); err == nil {
		err = os.Rename(path+".tmp", path)
		if err != nil {
			m.log.Warn("cannot keep the proxy id", "path", path, "err", err)
		}
	}
}

// run is the session loop: it owns the bridges and the registrations.
func (m *Mesh) run(ctx context.Context) error {
	backoff := minBackoff
	failing := false
	for {
		up, err := m.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if up {
			backoff, failing = minBackoff, false
		}
		if !failing {
			// Bridges keep running: media does not need the agent.
			m.log.Warn("agent session ended; media keeps flowing, reconnecting", "err", err)
			failing = true
		} else {
			m.log.Debug("agent still unreachable", "err", err, "retry_in", backoff)
		}
		m.set.retry(ctx)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, m.cfg.MaxBackoff)
	}
}

// session registers, reports every connection, opens the command stream
// and serves it until it fails; up says whether the stream opened.
func (m *Mesh) session(ctx context.Context) (up bool, err error) {
	id, err := m.register(ctx)
	if err != nil {
		return false, err
	}
	reg := &registrations{m: m, id: id, done: map[string]string{}}
	if err := reg.sync(ctx); err != nil {
		return false, err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := m.api.StartCommandQueue(sctx, &agentv1.StartCommandQueueRequest{ProxyId: id})
	if err != nil {
		return false, fmt.Errorf("command stream: %w", err)
	}
	cmds := make(chan *agentv1.CommandRequest)
	ended := make(chan error, 1)
	started := m.g.Go("mesh-stream", func(context.Context) error {
		for {
			c, err := stream.Recv()
			if err != nil {
				ended <- err
				return nil
			}
			select {
			case cmds <- c:
			case <-sctx.Done():
				ended <- sctx.Err()
				return nil
			}
		}
	})
	if !started { // the mesh is closing
		return false, ctx.Err()
	}
	defer func() { cancel(); <-ended }()
	m.setConnected(true)
	defer m.setConnected(false)
	m.log.Info("agent session up", "proxy_id", id, "connections", len(reg.done))
	tick := time.NewTicker(m.cfg.MetricsInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case err := <-ended:
			ended <- err // for the deferred drain
			if status.Code(err) == codes.NotFound {
				return true, fmt.Errorf("the agent does not know this proxy (%w): registering again", err)
			}
			return true, fmt.Errorf("command stream: %w", err)
		case c := <-cmds:
			if err := m.command(ctx, id, c); err != nil {
				return true, err
			}
		case <-m.node.Changes():
			if err := reg.sync(ctx); err != nil {
				return true, err
			}
		case <-tick.C:
			m.set.retry(ctx)
			if err := m.sendMetrics(ctx, id, reg); err != nil {
				return true, err
			}
		}
	}
}

func (m *Mesh) setConnected(v bool) {
	m.mu.Lock()
	m.mu.connected = v
	m.mu.Unlock()
}

// register registers the proxy, presenting its previous id.
func (m *Mesh) register(ctx context.Context) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 3*callTimeout)
	defer cancel()
	if prev := m.ID(); prev != "" {
		cctx = metadata.AppendToOutgoingContext(cctx, metadataProxyID, prev)
	}
	r, err := m.api.RegisterMediaProxy(cctx, m.cfg.Register)
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	m.setID(r.GetProxyId())
	return r.GetProxyId(), nil
}

// command runs one command from the agent and answers it.
func (m *Mesh) command(ctx context.Context, id string, c *agentv1.CommandRequest) error {
	reply := &agentv1.CommandReply{ReqId: c.GetReqId(), ProxyId: id}
	switch {
	case c.GetApplyConfig() != nil:
		errs := m.set.apply(ctx, c.GetApplyConfig().GetBridges())
		m.setPlan(c.GetApplyConfig())
		for _, e := range errs {
			m.log.Warn("apply config", "err", e)
		}
		m.log.Debug("config applied", "bridges", len(m.set.running), "failed", len(errs))
		reply.Reply = &agentv1.CommandReply_ApplyConfig{ApplyConfig: &agentv1.ApplyConfigReply{Error: errs}}
	case c.GetResetMetrics() != nil:
		m.stats.reset()
		reply.Reply = &agentv1.CommandReply_ResetMetrics{ResetMetrics: &agentv1.ResetMetricsReply{}}
	case c.GetDebug() != nil:
		out := fmt.Sprintf("media-proxy %s: %d connections, %d bridges running, %d failing", id,
			len(m.node.AppConns()), len(m.set.running), len(m.set.failed))
		reply.Reply = &agentv1.CommandReply_Debug{Debug: &agentv1.DebugReply{OutText: out}}
	default:
		m.log.Warn("unknown command from the agent", "req_id", c.GetReqId())
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := m.api.SendCommandReply(cctx, reply); err != nil {
		return fmt.Errorf("command reply: %w", err)
	}
	return nil
}

// setPlan records, for gateSender, which bridges each connection's group
// has in the applied config.
func (m *Mesh) setPlan(cfg *agentv1.ApplyConfigRequest) {
	plan := map[string][]string{}
	for _, g := range cfg.GetGroups() {
		for _, id := range g.GetConnIds() {
			plan[id] = g.GetBridgeIds()
		}
	}
	m.mu.Lock()
	m.mu.plan = plan
	m.mu.Unlock()
}

func (m *Mesh) setRefused(id string, refused bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.refused == nil {
		m.mu.refused = map[string]bool{}
	}
	if refused {
		m.mu.refused[id] = true
	} else {
		delete(m.mu.refused, id)
	}
}

// gateSender holds a new app sender's activation until the agent's plan
// covers it and its group's egress bridges are connected, so its first
// buffer reaches every node (MCM's apps slept connCreationDelayMilliseconds
// and hoped). Without an agent session, or once senderGateWait has
// passed, it lets the sender go at once: the mesh never blocks local media.
func (m *Mesh) gateSender(ctx context.Context, connID string) {
	start := time.Now()
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		m.mu.Lock()
		up, refused := m.mu.connected, m.mu.refused[connID]
		bridges, planned := m.mu.plan[connID]
		m.mu.Unlock()
		if !up || refused {
			return
		}
		if planned {
			stats := m.set.stats()
			ready := true
			for _, id := range bridges {
				ready = ready && stats[id].Connected
			}
			if ready {
				m.log.Debug("sender's bridges up", "conn_id", connID, "bridges", len(bridges), "waited", time.Since(start))
				return
			}
		}
		if time.Since(start) > senderGateWait {
			m.log.Warn("sender activated before its group's bridges were up", "conn_id", connID, "planned", planned)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
