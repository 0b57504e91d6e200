package proxy

import (
	"context"
	"sort"

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
	return &proxyv1.ConnectionInfo{
		Id:            c.id,
		Kind:          kind,
		Group:         c.urn,
		State:         state,
		Payload:       c.payload,
		BufferSize:    c.layout.Total,
		QueueCapacity: 1 << c.log2,
		ZeroCopy:      c.zeroCopy,
		Buffers:       c.counters.Buffers.Load(),
		Bytes:         c.counters.Bytes.Load(),
		Dropped:       c.counters.Dropped.Load(),
		PeerPid:       cred.pid,
		PeerUid:       cred.uid,
		CreatedUnixMs: c.created.UnixMilli(),
	}
}
