package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"

	sdkpb "mediamesh/api/mcm/sdk"
	proxyv1 "mediamesh/api/proxy/v1"
	"mediamesh/internal/mediaclock"
	"mediamesh/internal/run"
	"mediamesh/internal/st2110"
)

// SDKSocketName is the file name of the SDK API unix socket in the run dir.
const SDKSocketName = "sdk.sock"

// Defaults of Config.
const (
	DefaultLivenessInterval = 200 * time.Millisecond
	DefaultMaxConnections   = 1024
	// attachTimeout bounds how long a created connection waits for its app
	// to attach over memif before it is reclaimed.
	attachTimeout = 10 * time.Second
)

// Proxy is a running media-proxy core.
type Proxy struct {
	cfg Config
	log *slog.Logger
	gid int // socket group, -1 to keep the default

	// mu guards the connection and group tables.
	mu struct {
		sync.Mutex
		conns  map[string]*conn
		groups map[string]*groupEntry
		gate   SenderGate
		closed bool
	}

	clock     *mediaclock.Clock // TAI for ST 2110 timestamps
	pacer     *st2110.Pacer     // runs every ST 2110 sender's paced bursts
	poller    *st2110.Poller    // drains every ST 2110 receiver's socket on one tick
	run       *run.Group
	servers   []*grpc.Server
	sdkSocket string
	tcpAddr   net.Addr
	changes   chan struct{} // see Changes
	closeOnce sync.Once
	closeErr  error
}

// New validates cfg; nothing is bound or started until Start.
func New(cfg Config, log *slog.Logger) (*Proxy, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.RunDir == "" {
		return nil, errors.New("proxy: run dir is required")
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if cfg.LivenessInterval <= 0 {
		cfg.LivenessInterval = DefaultLivenessInterval
	}
	p := &Proxy{cfg: cfg, log: log.With("component", "proxy"), gid: -1, changes: make(chan struct{}, 1)}
	if cfg.SocketGroup != "" {
		gid, err := lookupGroup(cfg.SocketGroup)
		if err != nil {
			return nil, err
		}
		p.gid = gid
	}
	p.mu.conns = make(map[string]*conn)
	p.mu.groups = make(map[string]*groupEntry)
	return p, nil
}

func lookupGroup(name string) (int, error) {
	if gid, err := strconv.Atoi(name); err == nil {
		return gid, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("proxy: socket group %q: %w", name, err)
	}
	return strconv.Atoi(g.Gid)
}

// Start creates the run directory, binds the SDK listeners and serves them.
// ctx bounds startup only.
func (p *Proxy) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.MkdirAll(p.cfg.RunDir, 0o770); err != nil {
		return fmt.Errorf("proxy: run dir: %w", err)
	}
	if err := p.chown(p.cfg.RunDir); err != nil {
		return err
	}
	if p.cfg.PTPClock != "" {
		c, err := mediaclock.OpenPHC(p.cfg.PTPClock)
		if err != nil {
			return fmt.Errorf("proxy: %w", err)
		}
		p.clock = c
	} else {
		p.clock = mediaclock.System()
	}
	if w := p.clock.Warning(); w != "" {
		p.log.Warn("st2110 clock: "+w, "source", p.clock.Source())
	}
	p.pacer = st2110.NewPacer(p.clock, 0)
	p.poller = st2110.NewPoller(p.clock, 0, 0)
	p.run = run.NewGroup(context.Background())

	p.sdkSocket = filepath.Join(p.cfg.RunDir, SDKSocketName)
	_ = os.Remove(p.sdkSocket) // stale socket of a previous run
	ul, err := net.Listen("unix", p.sdkSocket)
	if err != nil {
		return fmt.Errorf("proxy: sdk socket: %w", err)
	}
	if err := p.secureSocket(p.sdkSocket); err != nil {
		_ = ul.Close()
		return err
	}
	unixSrv := p.newServer()
	p.servers = append(p.servers, unixSrv)
	cl := &credListener{Listener: ul, allowUIDs: p.cfg.AllowUIDs, allowGIDs: p.cfg.AllowGIDs, log: p.log}
	p.serve("sdk-unix", unixSrv, cl)
	p.log.Info("sdk api listening", "local", p.sdkSocket)

	if p.cfg.SDKAddr != "" {
		tl, err := net.Listen("tcp", p.cfg.SDKAddr)
		if err != nil {
			_ = p.Close()
			return fmt.Errorf("proxy: sdk tcp: %w", err)
		}
		p.tcpAddr = tl.Addr()
		tcpSrv := p.newServer()
		p.servers = append(p.servers, tcpSrv)
		p.serve("sdk-tcp", tcpSrv, tl)
		p.log.Info("sdk api listening", "local", tl.Addr().String(), "token", p.cfg.Token != "", "insecure", p.cfg.Insecure)
	}
	return nil
}

func (p *Proxy) newServer() *grpc.Server {
	s := grpc.NewServer(grpc.ChainUnaryInterceptor(tokenInterceptor(p.cfg.Token)))
	sdkpb.RegisterSDKAPIServer(s, &sdkAPI{p: p})
	proxyv1.RegisterProxyAdminServer(s, &adminAPI{p: p})
	return s
}

func (p *Proxy) serve(name string, s *grpc.Server, l net.Listener) {
	p.run.Go(name, func(context.Context) error {
		if err := s.Serve(l); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
}

// secureSocket gives a socket file mode 0660 and the configured group.
func (p *Proxy) secureSocket(path string) error {
	if err := os.Chmod(path, 0o660); err != nil {
		return fmt.Errorf("proxy: chmod %s: %w", path, err)
	}
	return p.chown(path)
}

func (p *Proxy) chown(path string) error {
	if p.gid < 0 {
		return nil
	}
	if err := os.Chown(path, -1, p.gid); err != nil {
		return fmt.Errorf("proxy: chown %s: %w", path, err)
	}
	return nil
}

// SDKSocket returns the path of the SDK API unix socket.
func (p *Proxy) SDKSocket() string { return p.sdkSocket }

// TCPAddr returns the bound SDK TCP address, or nil.
func (p *Proxy) TCPAddr() net.Addr { return p.tcpAddr }

// Done is closed when the proxy failed or was closed.
func (p *Proxy) Done() <-chan struct{} { return p.run.Context().Done() }

// Err tells why the proxy stopped, nil while it runs.
func (p *Proxy) Err() error { return context.Cause(p.run.Context()) }

// Close deletes every connection, stops the listeners and waits for every
// goroutine. Idempotent.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.mu.closed = true
		conns := make([]*conn, 0, len(p.mu.conns))
		for _, c := range p.mu.conns {
			conns = append(conns, c)
		}
		p.mu.Unlock()
		for _, c := range conns {
			c.delete()
		}
		for _, s := range p.servers {
			stopServer(s)
		}
		if p.run != nil {
			p.run.Cancel(nil)
			if err := p.run.Wait(); err != nil && !errors.Is(err, context.Canceled) {
				p.closeErr = err
			}
		}
		p.mu.Lock()
		for urn, g := range p.mu.groups {
			_ = g.g.Close()
			delete(p.mu.groups, urn)
		}
		p.mu.Unlock()
		if p.sdkSocket != "" {
			_ = os.Remove(p.sdkSocket)
		}
		if p.pacer != nil {
			_ = p.pacer.Close() // after the connections: no stream uses them now
			_ = p.poller.Close()
		}
		if p.clock != nil {
			_ = p.clock.Close()
		}
		p.log.Info("proxy stopped")
	})
	return p.closeErr
}

// stopServer lets in-flight RPCs finish for a moment, then cuts them.
func stopServer(s *grpc.Server) {
	done := make(chan struct{})
	go func() { s.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		s.Stop()
		<-done
	}
}
