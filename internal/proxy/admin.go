package proxy

import (
	"context"
	"sort"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	proxyv1 "mediamesh/api/proxy/v1"
)

// adminAPI serves mediamesh.proxy.v1.ProxyAdmin.
type adminAPI struct {
	proxyv1.UnimplementedProxyAdminServer
	p *Proxy
}

func (a *adminAPI) ListConnections(context.Context, *proxyv1.ListConnectionsRequest) (*proxyv1.ListConnectionsResponse, error) {
	a.p.mu.Lock()
	conns := make([]*conn, 0, len(a.p.mu.conns))
	for _, c := range a.p.mu.conns {
		conns = append(conns, c)
	}
	a.p.mu.Unlock()
	sort.Slice(conns, func(i, j int) bool { return conns[i].created.Before(conns[j].created) })
	resp := &proxyv1.ListConnectionsResponse{}
	for _, c := range conns {
		resp.Connections = append(resp.Connections, c.info())
	}
	return resp, nil
}

func (a *adminAPI) GetSDP(ctx context.Context, req *proxyv1.GetSDPRequest) (*proxyv1.GetSDPResponse, error) {
	c, err := a.p.lookup(ctx, req.GetConnId())
	if err != nil {
		return nil, err
	}
	if c.wire == nil {
		return nil, status.Errorf(codes.FailedPrecondition, "connection %s is in multipoint group %q, not on the wire: it has no SDP", c.id, c.urn)
	}
	if len(c.wire.sdp) == 0 {
		return nil, status.Errorf(codes.NotFound, "connection %s was not created from an SDP", c.id)
	}
	return &proxyv1.GetSDPResponse{Sdp: string(c.wire.sdp), Path: c.wire.sdpPath}, nil
}

func (c *conn) info() *proxyv1.ConnectionInfo {
	c.mu.Lock()
	state := c.mu.state
	var cred struct{ pid, uid uint32 }
	if c.mu.link != nil {
		cr := c.mu.link.Cred()
		cred.pid, cred.uid = uint32(cr.PID), cr.UID
	}
	c.mu.Unlock()
	kind := "rx"
	if c.sender {
		kind = "tx"
	}
	var desc string
	var stats map[string]uint64
	buffers, bytes, dropped := c.counters.Buffers.Load(), c.counters.Bytes.Load(), c.counters.Dropped.Load()
	if c.wire != nil {
		st := c.wire.stats()
		desc, stats = c.wire.desc, st.Snapshot()
		buffers, bytes, dropped = st.Frames.Load(), st.Bytes.Load(), st.Dropped.Load()
	}
	return &proxyv1.ConnectionInfo{
		Wire:          desc,
		WireStats:     stats,
		Id:            c.id,
		Kind:          kind,
		Group:         c.urn,
		State:         state,
		Payload:       c.payload,
		BufferSize:    c.layout.Total,
		QueueCapacity: 1 << c.log2,
		ZeroCopy:      c.zeroCopy,
		Buffers:       buffers,
		Bytes:         bytes,
		Dropped:       dropped,
		PeerPid:       cred.pid,
		PeerUid:       cred.uid,
		CreatedUnixMs: c.created.UnixMilli(),
	}
}
