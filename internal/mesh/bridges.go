package mesh

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	agentv1 "mediamesh/api/agent/v1"
	"mediamesh/internal/bridge"
	"mediamesh/internal/proxy"
	"mediamesh/sdk"
)

// reliableWriteTimeout is how long an egress bridge of a reliable group
// waits for its remote to take a frame before it calls the connection
// failed: the group waits for its slowest receiver by design, and a
// remote one is no exception, but a dead peer must still be noticed.
const reliableWriteTimeout = 30 * time.Second

// groupJoinWait bounds how long an ingress bridge's handshake waits for
// its end to join the local group.
const groupJoinWait = 2 * time.Second

// bridgeKinds, as the agent names them.
const (
	kindEgress  = "tx"
	kindIngress = "rx"
	typeTCP     = "tcp"
)

// bridgeSet is the bridges a proxy runs, by bridge id. Owned by the
// session loop.
type bridgeSet struct {
	log      *slog.Logger
	node     *proxy.Proxy
	client   *sdk.Client // the proxy's own SDK API
	listenIP string      // the proxy's bridge address (-r)
	// bind is listenIP when it is an address of this host: egress bridges
	// dial from it, so the peer, which admits only this proxy's -r
	// address, sees it whatever the route.
	bind netip.Addr

	// running is written by the session loop only, under mu, so that
	// Stats may read it from elsewhere; the loop reads it without.
	mu      sync.Mutex
	running map[string]*runningBridge
	failed  map[string]*agentv1.Bridge // wanted but not running: retried
}

// runningBridge is one bridge end and the SDK connection it joined its
// local group with.
type runningBridge struct {
	spec     *agentv1.Bridge
	urn      string
	conn     *sdk.Connection
	sender   *bridge.Sender   // egress
	listener *bridge.Listener // ingress
}

func newBridgeSet(node *proxy.Proxy, listenIP string, log *slog.Logger) (*bridgeSet, error) {
	c, err := sdk.NewClientJSON(fmt.Appendf(nil,
		`{"apiConnectionString":"Server=unix:%s; Port=","maxMediaConnections":%d}`, node.SDKSocket(), proxy.DefaultMaxConnections))
	if err != nil {
		return nil, err
	}
	set := &bridgeSet{log: log, node: node, client: c, listenIP: listenIP,
		running: map[string]*runningBridge{}, failed: map[string]*agentv1.Bridge{}}
	if ip, err := netip.ParseAddr(listenIP); err == nil && isLocal(ip) {
		set.bind = ip
	} else if listenIP != "" {
		log.Warn("the bridge address (-r) is not an address of this host: other nodes cannot reach this one's ingress bridges", "rdma_ip", listenIP)
	}
	return set, nil
}

// isLocal says whether ip is assigned to an interface of this host (its
// network namespace).
func isLocal(ip netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if x, ok := netip.AddrFromSlice(n.IP); ok && x.Unmap() == ip.Unmap() {
				return true
			}
		}
	}
	return false
}

// apply converges to want: bridges not in it stop, new and changed ones
// start; the same want twice changes nothing. It returns what could not
// be started (those are retried by retry).
func (s *bridgeSet) apply(ctx context.Context, want []*agentv1.Bridge) []string {
	byID := make(map[string]*agentv1.Bridge, len(want))
	var errs []string
	for _, b := range want {
		if _, dup := byID[b.GetBridgeId()]; dup || b.GetBridgeId() == "" {
			errs = append(errs, fmt.Sprintf("bridge %q: missing or repeated id", b.GetBridgeId()))
			continue
		}
		byID[b.GetBridgeId()] = b
	}
	for id, r := range s.running {
		if w := byID[id]; w == nil || !proto.Equal(w, r.spec) {
			s.stop(id, r)
		}
	}
	s.failed = map[string]*agentv1.Bridge{}
	for _, id := range sortedIDs(byID) {
		if s.running[id] != nil {
			continue
		}
		if err := s.start(ctx, byID[id]); err != nil {
			s.failed[id] = byID[id]
			errs = append(errs, fmt.Sprintf("bridge %s: %v", id, err))
		}
	}
	return errs
}

// retry starts the bridges that failed to, once more.
func (s *bridgeSet) retry(ctx context.Context) {
	for _, id := range sortedIDs(s.failed) {
		if err := s.start(ctx, s.failed[id]); err != nil {
			s.log.Debug("bridge still cannot start", "bridge_id", id, "err", err)
			continue
		}
		delete(s.failed, id)
	}
}

func (s *bridgeSet) start(ctx context.Context, b *agentv1.Bridge) error {
	if b.GetType() != typeTCP || b.GetTcp() == nil {
		return fmt.Errorf("type %q: this proxy runs tcp bridges only", b.GetType())
	}
	cfg, err := sdk.ConnectionConfigFromProto(b.GetConnConfig())
	if err != nil {
		return fmt.Errorf("conn_config: %w", err)
	}
	urn := cfg.Connection.MultipointGroup.URN
	log := s.log.With("bridge_id", b.GetBridgeId(), "group", urn, "kind", b.GetKind(), "remote", b.GetTcp().GetRemoteAddr())
	// The proxy tells its bridges' connections from apps' by this mark.
	cctx := metadata.AppendToOutgoingContext(ctx, proxy.MetadataBridge, "true")
	r := &runningBridge{spec: proto.CloneOf(b), urn: urn}
	switch b.GetKind() {
	case kindEgress:
		// A reliable group waits for the bridge, so the bridge may send
		// straight from the sender's memory. Any other group cuts off a
		// zero-copy receiver that holds the sender's buffers too long —
		// a bridge stuck on a slow link would be, and the buffer it is
		// sending would be reused under it, reaching the remote torn —
		// so there the bridge takes a copy into its own ring and drops
		// by the group's rules like any slow receiver.
		reliable := s.node.GroupReliable(urn)
		cfg.Options.Copy = !reliable
		if r.conn, err = s.client.CreateRxConnection(cctx, cfg); err != nil {
			return fmt.Errorf("join group %q: %w", urn, err)
		}
		sc := bridge.SenderConfig{Addr: b.GetTcp().GetRemoteAddr(), URN: urn, Token: b.GetTcp().GetToken(),
			MaxPayload: r.conn.PayloadSize(), MaxMetadata: r.conn.MetadataSize(),
			// The ingress end starts listening as this end starts
			// dialling: retry soon, for a sender waiting at activation.
			MinBackoff: time.Millisecond, LocalAddr: s.bind}
		if reliable {
			sc.WriteTimeout = reliableWriteTimeout
		}
		if r.sender, err = bridge.NewSender(sc, groupSource{r.conn}, log); err == nil {
			err = r.sender.Start(ctx)
		}
	case kindIngress:
		_, port, perr := net.SplitHostPort(b.GetTcp().GetRemoteAddr())
		if perr != nil {
			return fmt.Errorf("remote_addr: %w", perr)
		}
		// Listen first, then join the group: the egress end dials as soon
		// as it has its config too, and a handshake that comes early
		// waits for the group here rather than a redial's backoff there.
		ready := make(chan struct{})
		var sink *groupSink // set before ready is closed; nil: the join failed
		var maxPay, maxMeta int
		open := func(u string, p, m int) (bridge.Sink, error) {
			if u != urn {
				return nil, fmt.Errorf("this bridge carries group %q", urn)
			}
			select {
			case <-ready:
			case <-time.After(groupJoinWait):
				return nil, fmt.Errorf("group %q not joined yet", urn)
			}
			switch {
			case sink == nil:
				return nil, fmt.Errorf("this end could not join group %q", urn)
			case p > maxPay || m > maxMeta:
				return nil, fmt.Errorf("%w: %d+%d bytes, the group's buffers hold %d+%d", bridge.ErrTooLarge, p, m, maxPay, maxMeta)
			}
			return sink, nil
		}
		lc := bridge.ListenerConfig{Addr: net.JoinHostPort(s.listenIP, port), Token: b.GetTcp().GetToken()}
		// Only the sending proxy's bridge address may connect (BridgeTCP).
		host, _, _ := net.SplitHostPort(b.GetTcp().GetRemoteAddr())
		if ip, err := netip.ParseAddr(host); err == nil {
			lc.AllowFrom = ip
		}
		if r.listener, err = bridge.NewListener(lc, open, log); err == nil {
			err = r.listener.Start(ctx)
		}
		if err == nil {
			if r.conn, err = s.client.CreateTxConnection(cctx, cfg); err != nil {
				err = fmt.Errorf("join group %q: %w", urn, err)
			} else {
				sink, maxPay, maxMeta = &groupSink{c: r.conn}, r.conn.PayloadSize(), r.conn.MetadataSize()
			}
		}
		close(ready)
	default:
		return fmt.Errorf("kind %q: want %q or %q", b.GetKind(), kindEgress, kindIngress)
	}
	if err != nil {
		s.close(r)
		return err
	}
	s.mu.Lock()
	s.running[b.GetBridgeId()] = r
	s.mu.Unlock()
	log.Info("bridge started")
	return nil
}

func (s *bridgeSet) stop(id string, r *runningBridge) {
	s.close(r)
	s.mu.Lock()
	delete(s.running, id)
	s.mu.Unlock()
	s.log.Info("bridge stopped", "bridge_id", id, "group", r.urn)
}

// close stops a bridge's goroutines, then leaves its group.
func (s *bridgeSet) close(r *runningBridge) {
	if r.sender != nil {
		_ = r.sender.Close()
	}
	if r.listener != nil {
		_ = r.listener.Close()
	}
	if r.conn != nil {
		_ = r.conn.Close()
	}
}

// closeAll stops every bridge and the SDK client.
func (s *bridgeSet) closeAll() error {
	for id, r := range s.running {
		s.stop(id, r)
	}
	return s.client.Close()
}

// stats returns every running bridge's counters, by bridge id. Safe from
// any goroutine.
func (s *bridgeSet) stats() map[string]bridge.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]bridge.Stats, len(s.running))
	for id, r := range s.running {
		out[id] = r.stats()
	}
	return out
}

// stats returns a bridge's counters.
func (r *runningBridge) stats() bridge.Stats {
	if r.sender != nil {
		return r.sender.Stats()
	}
	st, _ := r.listener.Stats(r.urn)
	return st
}

func sortedIDs[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
