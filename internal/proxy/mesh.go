package proxy

import (
	"context"
	"sort"

	sdkpb "mediamesh/api/mcm/sdk"
	"mediamesh/internal/mcm"
)

// AppConn is what the mesh (internal/mesh) reports to the agent about one
// app connection in a group or on the wire.
type AppConn struct {
	ID string
	// Sender: the app transmits (CONN_KIND_TRANSMITTER), MCM's agent kind "rx".
	Sender bool
	// Config is the connection's config as the app sent it (a copy).
	Config *sdkpb.ConnectionConfig
	// Wire holds an st2110 connection's mediamesh wire options.
	Wire mcm.WireOptions
	// Reliable: the app asked for reliable delivery in its group.
	Reliable bool
	// State is the connection's state name (created, linked, active, closed).
	State string
	// Buffers and Bytes: taken (sender) or delivered (receiver); Dropped and
	// Errors as in group.Counters.
	Buffers, Bytes, Dropped, Errors uint64
}

// AppConns returns the connections apps hold that are active (linked and
// in their group or stream), oldest first; the proxy's own bridge
// connections are not among them.
func (p *Proxy) AppConns() []AppConn {
	p.mu.Lock()
	conns := make([]*conn, 0, len(p.mu.conns))
	for _, c := range p.mu.conns {
		if !c.bridge {
			conns = append(conns, c)
		}
	}
	p.mu.Unlock()
	sort.Slice(conns, func(i, j int) bool { return conns[i].created.Before(conns[j].created) })
	out := make([]AppConn, 0, len(conns))
	for _, c := range conns {
		c.mu.Lock()
		state, joined := c.mu.state, c.mu.joined
		c.mu.Unlock()
		if !joined || state == stateClosed {
			continue
		}
		out = append(out, AppConn{
			ID: c.id, Sender: c.sender, Config: c.config, Wire: c.wireOpts, Reliable: c.reliable, State: state,
			Buffers: c.counters.Buffers.Load(), Bytes: c.counters.Bytes.Load(),
			Dropped: c.counters.Dropped.Load(), Errors: c.counters.Errors.Load(),
		})
	}
	return out
}

// Changes is signalled (capacity 1, never closed) after an app connection
// joined its group or was reclaimed: the mesh then reconciles what it
// reported to the agent with AppConns. One reader.
func (p *Proxy) Changes() <-chan struct{} { return p.changes }

func (p *Proxy) changed() {
	select {
	case p.changes <- struct{}{}:
	default:
	}
}

// GroupReliable says whether the local group urn waits for its slowest
// receiver: a bridge sending it must then wait for its remote too.
func (p *Proxy) GroupReliable(urn string) bool {
	g := p.groupOf(urn)
	return g != nil && g.Reliable()
}

// SenderGate is called when an app's sender connection has joined its
// group, before its activation returns to the app: the mesh holds it
// until the group's bridges to other nodes are up, so the app's first
// buffer reaches every node. It must return by itself within a bounded
// time (or when ctx ends).
type SenderGate func(ctx context.Context, connID string)

// SetSenderGate installs g (nil: none).
func (p *Proxy) SetSenderGate(g SenderGate) {
	p.mu.Lock()
	p.mu.gate = g
	p.mu.Unlock()
}

func (p *Proxy) senderGate() SenderGate {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.gate
}
