package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	agentv1 "mediamesh/api/agent/v1"
	sdkpb "mediamesh/api/mcm/sdk"
	"mediamesh/internal/mcm"
)

// MetadataProxyID is the gRPC metadata key by which a mediamesh proxy
// re-presents its previous id to RegisterMediaProxy, so that after an
// agent restart (or a lost stream) it keeps its id and connections. MCM's
// proxies never send it and get a new id, as from MCM's agent.
const MetadataProxyID = "mediamesh-proxy-id"

// Limits on what a proxy may send.
const (
	maxFieldLen         = 256   // addresses, device names
	maxMetricsPerCall   = 10000 // one per connection and bridge, and then some
	maxFieldsPerMetric  = 64
	maxMetricStringSize = 256
)

// proxyAPI serves mediaproxy.ProxyAPI (mcm-api.md §5.1) on the Agent.
type proxyAPI struct {
	agentv1.UnimplementedProxyAPIServer
	a *Agent
}

var _ agentv1.ProxyAPIServer = (*proxyAPI)(nil)

// grpcStatus maps the package's outcomes to gRPC codes: the one table of
// this boundary. MCM answered UNKNOWN for everything but NOT_FOUND from
// StartCommandQueue (§5.2); clients that only look at that code still work.
func grpcStatus(err error) error {
	if err == nil {
		return nil
	}
	code := codes.Internal
	switch {
	case errors.Is(err, ErrInvalid), errors.Is(err, mcm.ErrInvalidConfig):
		code = codes.InvalidArgument
	case errors.Is(err, ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, ErrIncompatible):
		code = codes.FailedPrecondition
	case errors.Is(err, ErrConflict):
		code = codes.AlreadyExists
	case errors.Is(err, ErrForbidden):
		code = codes.PermissionDenied
	case errors.Is(err, ErrNotReady), errors.Is(err, ErrClosed), errors.Is(err, errStore):
		code = codes.Unavailable
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}

// peerIP is the address a request came from: the proxy's control-plane IP.
func peerIP(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	if ap, err := netip.ParseAddrPort(p.Addr.String()); err == nil {
		return ap.Addr().Unmap().String()
	}
	host, _, _ := net.SplitHostPort(p.Addr.String())
	return host
}

// peerIdentity is the common name of the caller's verified client
// certificate, "" without TLS (an insecure agent).
func peerIdentity(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return ""
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return ""
	}
	return ti.State.VerifiedChains[0][0].Subject.CommonName
}

// authorize refuses a caller acting for a proxy that registered under
// another certificate. Unknown proxies pass: the call itself says
// NOT_FOUND.
func (a *Agent) authorize(ctx context.Context, proxyID string) error {
	who := peerIdentity(ctx)
	if who == "" {
		return nil
	}
	return a.do(ctx, func(*batch) error {
		if p := a.state.Proxies[proxyID]; p != nil && p.Identity != "" && p.Identity != who {
			return fmt.Errorf("%w: proxy %s registered with certificate %q, not %q", ErrForbidden, proxyID, p.Identity, who)
		}
		return nil
	})
}

// authorizeUnary runs authorize for every unary request that names a
// proxy (all but RegisterMediaProxy, which binds the identity).
func (a *Agent) authorizeUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if r, ok := req.(interface{ GetProxyId() string }); ok && r.GetProxyId() != "" {
		if err := a.authorize(ctx, r.GetProxyId()); err != nil {
			return nil, grpcStatus(err)
		}
	}
	return h(ctx, req)
}

func firstMD(ctx context.Context, key string) (string, bool) {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(key); len(v) > 0 {
		return v[0], true
	}
	return "", false
}

// checkIP accepts "" or an IP address.
func checkIP(what, s string) error {
	if s == "" {
		return nil
	}
	if _, err := netip.ParseAddr(s); err != nil || len(s) > maxFieldLen {
		return fmt.Errorf("%w: %s %q is not an IP address", ErrInvalid, what, s)
	}
	return nil
}

func (s *proxyAPI) RegisterMediaProxy(ctx context.Context, req *agentv1.RegisterMediaProxyRequest) (*agentv1.RegisterMediaProxyReply, error) {
	p := Proxy{
		SDKPort:     req.GetSdkApiPort(),
		ControlIP:   peerIP(ctx),
		ST2110IP:    req.GetSt2110Config().GetDataplaneIpAddr(),
		ST2110Dev:   req.GetSt2110Config().GetDevPortBdf(),
		BridgeIP:    req.GetRdmaConfig().GetDataplaneIpAddr(),
		BridgePorts: req.GetRdmaConfig().GetDataplaneLocalPorts(),
	}
	errs := []error{checkIP("st2110_config.dataplane_ip_addr", p.ST2110IP), checkIP("rdma_config.dataplane_ip_addr", p.BridgeIP)}
	if p.SDKPort > 65535 {
		errs = append(errs, fmt.Errorf("%w: sdk_api_port %d: want 0-65535", ErrInvalid, p.SDKPort))
	}
	if len(p.ST2110Dev) > maxFieldLen {
		errs = append(errs, fmt.Errorf("%w: st2110_config.dev_port_bdf: %d bytes, at most %d", ErrInvalid, len(p.ST2110Dev), maxFieldLen))
	}
	if p.BridgePorts != "" {
		if len(p.BridgePorts) > maxFieldLen {
			errs = append(errs, fmt.Errorf("%w: rdma_config.dataplane_local_ports: %d bytes, at most %d", ErrInvalid, len(p.BridgePorts), maxFieldLen))
		} else if _, err := parsePorts(p.BridgePorts); err != nil {
			errs = append(errs, fmt.Errorf("rdma_config.dataplane_local_ports: %w", err))
		}
	}
	prev, _ := firstMD(ctx, MetadataProxyID)
	if prev != "" {
		errs = append(errs, checkID(MetadataProxyID, prev))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, grpcStatus(err)
	}
	p.Identity = peerIdentity(ctx)
	id, err := s.a.registerProxy(ctx, prev, p)
	if err != nil {
		return nil, grpcStatus(err)
	}
	return &agentv1.RegisterMediaProxyReply{ProxyId: id}, nil
}

// registerProxy adds a proxy, or updates the one with id prev: a proxy
// re-presenting its id keeps it, its registration time and connections.
func (a *Agent) registerProxy(ctx context.Context, prev string, p Proxy) (string, error) {
	err := a.do(ctx, func(b *batch) error {
		now := a.now()
		p.ID, p.RegisteredAt = prev, now
		if p.ID == "" {
			p.ID = newUUID()
		}
		if old := a.state.Proxies[p.ID]; old != nil {
			if old.Identity != "" && old.Identity != p.Identity {
				return fmt.Errorf("%w: proxy %s registered with certificate %q, not %q", ErrForbidden, p.ID, old.Identity, p.Identity)
			}
			p.RegisteredAt = old.RegisteredAt
		}
		p.LastSeen, p.Healthy = now, true
		a.epochs[p.ID]++
		a.state.Proxies[p.ID] = &p
		b.putProxy(&p)
		a.log.Info("proxy registered", "proxy_id", p.ID, "peer", p.ControlIP, "bridge_ip", p.BridgeIP, "again", prev != "")
		return nil
	})
	return p.ID, err
}

func (s *proxyAPI) UnregisterMediaProxy(ctx context.Context, req *agentv1.UnregisterMediaProxyRequest) (*agentv1.UnregisterMediaProxyReply, error) {
	if err := s.a.UnregisterProxy(ctx, req.GetProxyId()); err != nil {
		return nil, grpcStatus(err)
	}
	return &agentv1.UnregisterMediaProxyReply{}, nil
}

func (s *proxyAPI) RegisterConnection(ctx context.Context, req *agentv1.RegisterConnectionRequest) (*agentv1.RegisterConnectionReply, error) {
	var ext mcm.Extensions
	if v, ok := firstMD(ctx, mcm.MetadataWireOptions); ok {
		opts, err := mcm.ParseWireOptions([]byte(v))
		if err != nil {
			return nil, grpcStatus(err)
		}
		ext = mcm.Extensions{BlobOnWire: opts.Transport == "st2110-40", PixelFormat: opts.PixelFormat}
	}
	c, err := checkConn(req, ext)
	if err != nil {
		return nil, grpcStatus(err)
	}
	id, err := s.a.registerConn(ctx, c)
	if err != nil {
		return nil, grpcStatus(err)
	}
	return &agentv1.RegisterConnectionReply{ConnId: id}, nil
}

// checkConn validates a RegisterConnection request on its own; the
// registry checks what depends on other connections.
func checkConn(req *agentv1.RegisterConnectionRequest, ext mcm.Extensions) (*Conn, error) {
	if err := checkID("proxy_id", req.GetProxyId()); err != nil {
		return nil, err
	}
	if req.GetConnId() != "" {
		if err := checkID("conn_id", req.GetConnId()); err != nil {
			return nil, err
		}
	}
	cfg := req.GetConfig()
	if cfg.GetRdma() != nil {
		return nil, fmt.Errorf("%w: connection.rdma is not supported: use a multipoint group", ErrInvalid)
	}
	if _, err := mcm.ValidateConnectionConfigExt(cfg, ext); err != nil {
		return nil, err
	}
	// MCM's kind is the proxy's view, the config's the SDK's: an SDK
	// transmitter is the proxy's "rx".
	want := sdkpb.ConnectionKind_CONN_KIND_RECEIVER
	switch req.GetKind() {
	case KindRx:
		want = sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER
	case KindTx:
	default:
		return nil, fmt.Errorf("%w: kind %q: want \"rx\" (an SDK sender) or \"tx\" (an SDK receiver)", ErrInvalid, req.GetKind())
	}
	if cfg.GetKind() != want {
		return nil, fmt.Errorf("%w: kind %q with config.kind %v: want %v", ErrInvalid, req.GetKind(), cfg.GetKind(), want)
	}
	return &Conn{
		ID:      req.GetConnId(),
		ProxyID: req.GetProxyId(),
		Kind:    req.GetKind(),
		GroupID: groupID(cfg),
		Config:  proto.CloneOf(cfg),
	}, nil
}

// registerConn adds c to the registry, or replaces the connection that
// has its id (a proxy recovering its connections after an agent
// restart). A group's members must match its first member's config, and
// a group has one source.
func (a *Agent) registerConn(ctx context.Context, c *Conn) (string, error) {
	err := a.do(ctx, func(b *batch) error {
		if a.state.Proxies[c.ProxyID] == nil {
			return fmt.Errorf("%w: proxy %q", ErrNotFound, c.ProxyID)
		}
		a.seen(c.ProxyID)
		old := a.state.Conns[c.ID]
		if old != nil && old.ProxyID != c.ProxyID {
			return fmt.Errorf("%w: connection %s belongs to proxy %s", ErrConflict, c.ID, old.ProxyID)
		}
		var first *Conn
		for _, m := range a.state.Conns {
			if m.GroupID != c.GroupID || m.ID == c.ID {
				continue
			}
			if c.Kind == KindRx && m.Kind == KindRx {
				return fmt.Errorf("%w: group %q already has a sender (connection %s on proxy %s)", ErrIncompatible, c.GroupID, m.ID, m.ProxyID)
			}
			if first == nil || earlier(m, first) {
				first = m
			}
		}
		if first != nil {
			if err := compatible(first.Config, c.Config); err != nil {
				return fmt.Errorf("group %q: %w", c.GroupID, err)
			}
		}
		if c.ID == "" {
			c.ID = newUUID()
		}
		c.RegisteredAt = a.now()
		a.connEpoch[c.ID] = a.epochs[c.ProxyID]
		if old != nil {
			if old.Kind == c.Kind && old.GroupID == c.GroupID && proto.Equal(old.Config, c.Config) {
				return nil // the same registration again: nothing changes
			}
			c.RegisteredAt = old.RegisteredAt
		}
		a.state.Conns[c.ID] = c
		b.putConn(c)
		a.log.Debug("connection registered", "conn_id", c.ID, "proxy_id", c.ProxyID, "group", c.GroupID, "kind", c.Kind)
		return nil
	})
	return c.ID, err
}

func (s *proxyAPI) UnregisterConnection(ctx context.Context, req *agentv1.UnregisterConnectionRequest) (*agentv1.UnregisterConnectionReply, error) {
	if req.GetProxyId() == "" || req.GetConnId() == "" {
		return nil, grpcStatus(fmt.Errorf("%w: proxy_id and conn_id are required", ErrInvalid))
	}
	if err := s.a.UnregisterConnection(ctx, req.GetProxyId(), req.GetConnId()); err != nil {
		return nil, grpcStatus(err)
	}
	return &agentv1.UnregisterConnectionReply{}, nil
}

// StartCommandQueue is the proxy's command stream: its plan on activation
// and after every change, and debug commands. It ends when the proxy goes,
// a newer stream replaces it (ALREADY_EXISTS), the proxy is unregistered
// (NOT_FOUND, upon which a proxy registers again) or the agent closes.
func (s *proxyAPI) StartCommandQueue(req *agentv1.StartCommandQueueRequest, stream grpc.ServerStreamingServer[agentv1.CommandRequest]) error {
	ctx := stream.Context()
	id := req.GetProxyId()
	if err := s.a.authorize(ctx, id); err != nil {
		return grpcStatus(err)
	}
	sess, err := s.a.openSession(ctx, id)
	if err != nil {
		return grpcStatus(err)
	}
	defer s.a.closeSession(sess)
	for {
		cfg, cmds := sess.take()
		if cfg != nil {
			reqID := newUUID()
			s.a.expect(reqID, &pendingCmd{proxyID: id})
			cmds = append([]*agentv1.CommandRequest{{ReqId: reqID,
				Command: &agentv1.CommandRequest_ApplyConfig{ApplyConfig: cfg}}}, cmds...)
		}
		for _, c := range cmds {
			if err := stream.Send(c); err != nil {
				return err
			}
		}
		select {
		case <-sess.wake:
		case <-sess.done:
			return grpcStatus(sess.endErr)
		case <-ctx.Done():
			return nil
		case <-s.a.group.Context().Done():
			return grpcStatus(ErrClosed)
		}
	}
}

func (s *proxyAPI) SendCommandReply(ctx context.Context, req *agentv1.CommandReply) (*agentv1.CommandReplyReceipt, error) {
	pc, err := s.a.answer(req)
	if err != nil {
		return nil, grpcStatus(err)
	}
	if req.GetApplyConfig() != nil {
		errs := req.GetApplyConfig().GetError()
		err = s.a.do(ctx, func(*batch) error {
			a := s.a
			if a.state.Proxies[pc.proxyID] == nil {
				return nil // unregistered meanwhile
			}
			a.seen(pc.proxyID)
			if len(errs) > 0 {
				a.applied[pc.proxyID] = errs
				a.log.Warn("proxy could not apply its config", "proxy_id", pc.proxyID, "err", strings.Join(errs, "; "))
			} else {
				delete(a.applied, pc.proxyID)
			}
			return nil
		})
		if err != nil {
			return nil, grpcStatus(err)
		}
	}
	return &agentv1.CommandReplyReceipt{}, nil
}

func (s *proxyAPI) SendMetrics(ctx context.Context, req *agentv1.SendMetricsRequest) (*agentv1.SendMetricsReply, error) {
	if n := len(req.GetMetrics()); n > maxMetricsPerCall {
		return nil, grpcStatus(fmt.Errorf("%w: %d metrics, at most %d per call", ErrInvalid, n, maxMetricsPerCall))
	}
	for _, m := range req.GetMetrics() {
		if err := checkMetric(m); err != nil {
			return nil, grpcStatus(err)
		}
	}
	id := req.GetProxyId()
	err := s.a.do(ctx, func(*batch) error {
		a := s.a
		if a.state.Proxies[id] == nil {
			return fmt.Errorf("%w: proxy %q", ErrNotFound, id)
		}
		a.seen(id)
		mine := a.metrics[id]
		if mine == nil {
			mine = map[string]*agentv1.Metric{}
			a.metrics[id] = mine
		}
		for _, m := range req.GetMetrics() {
			pid := m.GetProviderId()
			// Only the proxy's own providers: MCM took any id from anyone (§8 #21).
			if c := a.state.Conns[pid]; (c == nil || c.ProxyID != id) && pid != "collector" {
				if br := a.state.Bridges[pid]; br == nil || br.ProxyID != id {
					continue
				}
			}
			if old := mine[pid]; old == nil || old.GetTimestampMs() <= m.GetTimestampMs() {
				mine[pid] = m
			}
		}
		return nil
	})
	if err != nil {
		return nil, grpcStatus(err)
	}
	return &agentv1.SendMetricsReply{}, nil
}

func checkMetric(m *agentv1.Metric) error {
	if n := len(m.GetFields()); n > maxFieldsPerMetric {
		return fmt.Errorf("%w: metric of %q: %d fields, at most %d", ErrInvalid, m.GetProviderId(), n, maxFieldsPerMetric)
	}
	if len(m.GetProviderId()) > maxIDLen {
		return fmt.Errorf("%w: metric provider_id: %d bytes, at most %d", ErrInvalid, len(m.GetProviderId()), maxIDLen)
	}
	for _, f := range m.GetFields() {
		if len(f.GetName()) > maxMetricStringSize || len(f.GetStrValue()) > maxMetricStringSize {
			return fmt.Errorf("%w: metric of %q: field %.32q too long", ErrInvalid, m.GetProviderId(), f.GetName())
		}
	}
	return nil
}
