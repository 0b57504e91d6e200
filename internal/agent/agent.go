package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"

	agentv1 "mediamesh/api/agent/v1"
	"mediamesh/internal/run"
)

// Defaults of Config.
const (
	DefaultGRPCAddr = ":50051"
	DefaultGrace    = 15 * time.Second
	// DebugTimeout bounds Debug when its context has no deadline (MCM
	// waits 10 s for a command reply).
	DebugTimeout = 10 * time.Second
)

// Config configures an Agent. Zero values mean the defaults.
type Config struct {
	// GRPCAddr is the Proxy API's listen address (DefaultGRPCAddr).
	GRPCAddr string
	// DataDir holds the store, DataDir/agent.db. Required.
	DataDir string
	// TLS is the Proxy API's server config, from mtls.Server; client
	// certificates are always required and verified. Required unless
	// Insecure.
	TLS *tls.Config
	// Insecure serves the Proxy API in plaintext, to anyone: a lab choice.
	Insecure bool
	// Grace is how long a proxy may go unseen without a command stream
	// before it is marked unhealthy (DefaultGrace). After a restart every
	// stored proxy gets this long to come back.
	Grace time.Duration
	// RESTAddr and REST are the Control API seam: when REST is set, Start
	// serves REST(agent) over HTTP on RESTAddr. The handler owns its
	// authentication; it reads through Snapshot and acts through the
	// Agent's exported methods.
	RESTAddr string
	REST     func(*Agent) http.Handler
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Agent is mesh-agent's core: the registry, its store, the planner and
// the Proxy API. See doc.go.
type Agent struct {
	cfg Config
	log *slog.Logger

	reqs    chan request
	group   *run.Group
	store   *store
	grpc    *grpc.Server
	lis     net.Listener
	rest    *http.Server
	restLis net.Listener
	started time.Time
	close   sync.Once
	noSync  bool // tests: the store skips fsync

	// Owned by the loop goroutine (loop.go); everything else reaches them
	// through do.
	state    *State
	sessions map[string]*session                    // by proxy id: open command streams
	want     map[string]*agentv1.ApplyConfigRequest // by proxy id: the current plan
	metrics  map[string]map[string]*agentv1.Metric  // by proxy id, provider id: latest
	applied  map[string][]string                    // by proxy id: errors of the last ApplyConfig reply
	// epochs count each proxy's registrations; a connection carries the
	// epoch it was last registered in (connEpoch). When a proxy that
	// registered again opens its command stream, the connections it did
	// not re-register in that epoch are gone (it restarted without them)
	// and are pruned. In memory only: after an agent restart every
	// proxy's first registration is a new epoch.
	epochs    map[string]uint64 // by proxy id
	connEpoch map[string]uint64 // by conn id
	pruned    map[string]uint64 // by proxy id: the epoch last pruned
	problems  string            // the planner's last complaints, logged on change

	pending struct {
		mu sync.Mutex
		m  map[string]*pendingCmd // by req id
	}
}

// New validates cfg. It opens nothing: Start does.
func New(cfg Config, log *slog.Logger) (*Agent, error) {
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = DefaultGRPCAddr
	}
	if cfg.Grace == 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var errs []error
	if cfg.DataDir == "" {
		errs = append(errs, fmt.Errorf("%w: data dir is required", ErrInvalid))
	}
	if cfg.TLS == nil && !cfg.Insecure {
		errs = append(errs, fmt.Errorf("%w: TLS config is required unless insecure", ErrInvalid))
	}
	if cfg.Grace < 0 {
		errs = append(errs, fmt.Errorf("%w: grace %v is negative", ErrInvalid, cfg.Grace))
	}
	if cfg.REST != nil && cfg.RESTAddr == "" {
		errs = append(errs, fmt.Errorf("%w: REST handler without an address", ErrInvalid))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	a := &Agent{
		cfg:       cfg,
		log:       log.With("component", "agent"),
		reqs:      make(chan request),
		sessions:  map[string]*session{},
		want:      map[string]*agentv1.ApplyConfigRequest{},
		metrics:   map[string]map[string]*agentv1.Metric{},
		applied:   map[string][]string{},
		epochs:    map[string]uint64{},
		connEpoch: map[string]uint64{},
		pruned:    map[string]uint64{},
	}
	a.pending.m = map[string]*pendingCmd{}
	return a, nil
}

// Start opens the store, loads the registry, and serves the Proxy API
// (and REST, when configured). ctx bounds startup only.
func (a *Agent) Start(ctx context.Context) (err error) {
	st, err := openStore(a.cfg.DataDir, a.noSync)
	if err != nil {
		return err
	}
	a.store = st
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	if a.state, err = st.load(); err != nil {
		return err
	}
	a.started = a.now()
	var lc net.ListenConfig
	if a.lis, err = lc.Listen(ctx, "tcp", a.cfg.GRPCAddr); err != nil {
		return err
	}
	opts := []grpc.ServerOption{
		grpc.WaitForHandlers(true), // Close returns only once every stream handler has
		// Dead peers are found within ~30 s even with no RPC in flight, so a
		// crashed proxy's stream ends and its grace period starts.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 20 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	}
	if !a.cfg.Insecure {
		tc := a.cfg.TLS.Clone()
		tc.ClientAuth = tls.RequireAndVerifyClientCert
		opts = append(opts, grpc.Creds(credentials.NewTLS(tc)))
	}
	opts = append(opts, grpc.ChainUnaryInterceptor(a.authorizeUnary))
	a.grpc = grpc.NewServer(opts...)
	agentv1.RegisterProxyAPIServer(a.grpc, &proxyAPI{a: a})
	if a.cfg.REST != nil {
		if a.restLis, err = lc.Listen(ctx, "tcp", a.cfg.RESTAddr); err != nil {
			return err
		}
		a.rest = &http.Server{
			Handler:           a.cfg.REST(a),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      10 * time.Second,
			ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		}
	}
	// From here on the loop owns the registry: count it now.
	loaded := struct{ proxies, conns int }{len(a.state.Proxies), len(a.state.Conns)}
	a.group = run.NewGroup(context.Background())
	ready := make(chan struct{})
	a.group.Go("agent-loop", func(ctx context.Context) error { return a.loop(ctx, ready) })
	a.group.Go("agent-grpc", func(context.Context) error {
		// A Close right after Start may stop the server before Serve runs:
		// that is a clean end, not a failure.
		if err := a.grpc.Serve(a.lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return err
		}
		return nil
	})
	if a.rest != nil {
		a.group.Go("agent-rest", func(context.Context) error {
			if err := a.rest.Serve(a.restLis); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	select {
	case <-ready:
	case <-a.group.Context().Done():
		return context.Cause(a.group.Context())
	}
	a.log.Info("agent started", "grpc", a.lis.Addr().String(), "rest", a.RESTAddr(),
		"proxies", loaded.proxies, "conns", loaded.conns, "insecure", a.cfg.Insecure)
	return nil
}

// Close stops serving, waits for every goroutine and stream handler, and
// closes the store. Idempotent; safe before Start.
func (a *Agent) Close() error {
	var err error
	a.close.Do(func() {
		if a.group != nil {
			a.group.Cancel(ErrClosed) // ends the loop and every stream handler
		}
		if a.grpc != nil {
			a.grpc.Stop()
		} else if a.lis != nil {
			_ = a.lis.Close()
		}
		if a.rest != nil {
			_ = a.rest.Close()
		} else if a.restLis != nil {
			_ = a.restLis.Close()
		}
		if a.group != nil {
			if werr := a.group.Wait(); werr != nil && !errors.Is(werr, ErrClosed) {
				err = werr
			}
		}
		if a.store != nil {
			err = errors.Join(err, a.store.close())
		}
	})
	return err
}

// Done is closed when the agent fails or closes; Err says why.
func (a *Agent) Done() <-chan struct{} { return a.group.Context().Done() }

// Err is the reason Done was closed.
func (a *Agent) Err() error { return context.Cause(a.group.Context()) }

// GRPCAddr is the Proxy API's bound address (after Start).
func (a *Agent) GRPCAddr() net.Addr { return a.lis.Addr() }

// RESTAddr is the Control API's bound address, "" without REST.
func (a *Agent) RESTAddr() string {
	if a.restLis == nil {
		return ""
	}
	return a.restLis.Addr().String()
}

func (a *Agent) now() time.Time { return a.cfg.Now().UTC().Truncate(time.Millisecond) }

// Snapshot is a consistent copy of what the agent knows, for the Control
// API. Connection configs and metrics are shared: do not modify them.
type Snapshot struct {
	*State
	Groups map[string]*Group
	// Active holds the proxies with an open command stream.
	Active map[string]bool
	// Metrics is the latest metric per proxy id and provider id
	// (connection, bridge, or "collector").
	Metrics map[string]map[string]*agentv1.Metric
	// ApplyErrors is what each proxy reported for its last ApplyConfig.
	ApplyErrors map[string][]string
	// Plan is each healthy proxy's current desired config.
	Plan map[string]*agentv1.ApplyConfigRequest
}

// Snapshot returns a copy of the registry and the agent's live view.
func (a *Agent) Snapshot(ctx context.Context) (*Snapshot, error) {
	var s *Snapshot
	err := a.do(ctx, func(*batch) error {
		s = &Snapshot{
			State:       a.state.Clone(),
			Active:      map[string]bool{},
			Metrics:     make(map[string]map[string]*agentv1.Metric, len(a.metrics)),
			ApplyErrors: make(map[string][]string, len(a.applied)),
			Plan:        make(map[string]*agentv1.ApplyConfigRequest, len(a.want)),
		}
		for id := range a.sessions {
			s.Active[id] = true
		}
		for id, m := range a.metrics {
			s.Metrics[id] = make(map[string]*agentv1.Metric, len(m))
			for k, v := range m {
				s.Metrics[id][k] = v
			}
		}
		for id, e := range a.applied {
			s.ApplyErrors[id] = slices.Clone(e)
		}
		for id, c := range a.want {
			s.Plan[id] = proto.CloneOf(c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.Groups = s.State.Groups()
	return s, nil
}

// UnregisterProxy deletes a proxy with its connections (and so its
// bridges) and ends its command stream. MCM kept the connections,
// orphaned (mcm-api.md §8 #11).
func (a *Agent) UnregisterProxy(ctx context.Context, id string) error {
	return a.do(ctx, func(b *batch) error {
		p := a.state.Proxies[id]
		if p == nil {
			return fmt.Errorf("%w: proxy %q", ErrNotFound, id)
		}
		for cid, c := range a.state.Conns {
			if c.ProxyID == id {
				delete(a.state.Conns, cid)
				delete(a.connEpoch, cid)
				b.del(bucketConns, cid)
			}
		}
		delete(a.state.Proxies, id)
		delete(a.epochs, id)
		delete(a.pruned, id)
		b.del(bucketProxies, id)
		if s := a.sessions[id]; s != nil {
			s.end(fmt.Errorf("%w: proxy %s unregistered", ErrNotFound, id))
			delete(a.sessions, id)
		}
		delete(a.metrics, id)
		delete(a.applied, id)
		a.log.Info("proxy unregistered", "proxy_id", id)
		return nil
	})
}

// UnregisterConnection deletes a connection. proxyID "" matches any
// proxy.
func (a *Agent) UnregisterConnection(ctx context.Context, proxyID, connID string) error {
	return a.do(ctx, func(b *batch) error {
		c := a.state.Conns[connID]
		if c == nil || (proxyID != "" && c.ProxyID != proxyID) {
			if proxyID == "" {
				return fmt.Errorf("%w: connection %q", ErrNotFound, connID)
			}
			return fmt.Errorf("%w: connection %q on proxy %q", ErrNotFound, connID, proxyID)
		}
		a.seen(c.ProxyID)
		delete(a.state.Conns, connID)
		delete(a.connEpoch, connID)
		b.del(bucketConns, connID)
		delete(a.metrics[c.ProxyID], connID)
		a.log.Debug("connection unregistered", "conn_id", connID, "proxy_id", c.ProxyID, "group", c.GroupID)
		return nil
	})
}

// Debug sends MCM's free-text debug command to a proxy and returns its
// reply (REST GET /media-proxy/{id}/command/{text}).
func (a *Agent) Debug(ctx context.Context, proxyID, text string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DebugTimeout)
		defer cancel()
	}
	reqID := newUUID()
	pc := &pendingCmd{proxyID: proxyID, reply: make(chan *agentv1.CommandReply, 1)}
	err := a.do(ctx, func(*batch) error {
		s := a.sessions[proxyID]
		if s == nil {
			return fmt.Errorf("%w: proxy %q", ErrNotReady, proxyID)
		}
		a.expect(reqID, pc)
		s.enqueue(&agentv1.CommandRequest{ReqId: reqID,
			Command: &agentv1.CommandRequest_Debug{Debug: &agentv1.DebugRequest{InText: text}}})
		return nil
	})
	if err != nil {
		return "", err
	}
	defer a.forget(reqID)
	select {
	case r := <-pc.reply:
		return r.GetDebug().GetOutText(), nil
	case <-ctx.Done():
		return "", fmt.Errorf("debug command to proxy %s: %w", proxyID, context.Cause(ctx))
	}
}

// pendingCmd is a command sent and not yet answered.
type pendingCmd struct {
	proxyID string
	sent    time.Time
	reply   chan *agentv1.CommandReply // cap 1; nil when no one waits
}

// maxPending bounds unanswered commands; the oldest are forgotten first
// (MCM's proxies never answer reset_metrics, §5.3).
const maxPending = 4096

// expect records a command about to be sent.
func (a *Agent) expect(reqID string, pc *pendingCmd) {
	pc.sent = time.Now()
	a.pending.mu.Lock()
	defer a.pending.mu.Unlock()
	if len(a.pending.m) >= maxPending {
		var oldest string
		for id, p := range a.pending.m {
			if oldest == "" || p.sent.Before(a.pending.m[oldest].sent) {
				oldest = id
			}
		}
		delete(a.pending.m, oldest)
	}
	a.pending.m[reqID] = pc
}

func (a *Agent) forget(reqID string) {
	a.pending.mu.Lock()
	delete(a.pending.m, reqID)
	a.pending.mu.Unlock()
}

// answer matches a reply to its command.
func (a *Agent) answer(r *agentv1.CommandReply) (*pendingCmd, error) {
	a.pending.mu.Lock()
	defer a.pending.mu.Unlock()
	pc := a.pending.m[r.GetReqId()]
	switch {
	case pc == nil:
		return nil, fmt.Errorf("%w: command reply id %q", ErrNotFound, r.GetReqId())
	case pc.proxyID != r.GetProxyId():
		return nil, fmt.Errorf("%w: bad proxy id %q for command %q", ErrInvalid, r.GetProxyId(), r.GetReqId())
	}
	delete(a.pending.m, r.GetReqId())
	if pc.reply != nil {
		pc.reply <- r // cap 1, one reply per id: never blocks
	}
	return pc, nil
}

// joinErrs renders planner problems for a log line.
func joinErrs(errs []error) string {
	s := make([]string, len(errs))
	for i, e := range errs {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}
