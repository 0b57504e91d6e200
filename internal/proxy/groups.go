package proxy

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"mediamesh/internal/group"
	"mediamesh/internal/mcm"
)

// groupEntry is a local multipoint group and what its members agreed on.
type groupEntry struct {
	g       *group.Group
	layout  mcm.Layout
	payload string
	sender  string // conn id of the sender, "" if none
	members map[string]*conn
}

// join registers c with its group, creating the group on first use. All
// members must share one buffer layout (memif.md §10.3: the SDK rejects
// slots of another size), and a group has one sender.
func (p *Proxy) join(c *conn, reliable bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.closed {
		return status.Error(codes.Unavailable, "proxy is shutting down")
	}
	e, ok := p.mu.groups[c.urn]
	if !ok {
		g, err := group.New(group.Config{URN: c.urn, Reliable: reliable, OnStall: p.disconnectStaller}, p.log)
		if err != nil {
			return status.Error(codes.Internal, err.Error())
		}
		g.Start()
		e = &groupEntry{g: g, layout: c.layout, payload: c.payload, members: map[string]*conn{}}
		p.mu.groups[c.urn] = e
	}
	switch {
	case e.layout != c.layout:
		return status.Errorf(codes.FailedPrecondition,
			"group %q carries %d-byte buffers (payload %d, metadata %d); this connection asks for %d (payload %d, metadata %d)",
			c.urn, e.layout.Total, e.layout.Payload.Size, e.layout.Metadata.Size,
			c.layout.Total, c.layout.Payload.Size, c.layout.Metadata.Size)
	case c.sender && e.sender != "":
		return status.Errorf(codes.FailedPrecondition, "group %q already has a sender (%s)", c.urn, e.sender)
	}
	if reliable {
		e.g.SetReliable()
	}
	if c.sender {
		e.sender = c.id
	}
	e.members[c.id] = c
	return nil
}

// leave undoes join; the last member closes the group.
func (p *Proxy) leave(c *conn) {
	p.mu.Lock()
	e, ok := p.mu.groups[c.urn]
	if !ok {
		p.mu.Unlock()
		return
	}
	if e.sender == c.id {
		e.sender = ""
	}
	delete(e.members, c.id)
	last := len(e.members) == 0
	if last {
		delete(p.mu.groups, c.urn)
	}
	p.mu.Unlock()
	if last {
		_ = e.g.Close()
	}
}

func (p *Proxy) groupOf(urn string) *group.Group {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.mu.groups[urn]; ok {
		return e.g
	}
	return nil
}

// senderOf returns the group's sender connection, if any.
func (p *Proxy) senderOf(urn string) *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.mu.groups[urn]; ok && e.sender != "" {
		return e.members[e.sender]
	}
	return nil
}

// zeroCopyMembers returns the group's zero-copy receivers.
func (p *Proxy) zeroCopyMembers(urn string) []*conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*conn
	if e, ok := p.mu.groups[urn]; ok {
		for _, c := range e.members {
			if c.zeroCopy {
				out = append(out, c)
			}
		}
	}
	return out
}

// disconnectStaller cuts off a zero-copy receiver the group found pinning
// its sender. Called by a group's forwarder: it must not block, and it must
// not unmap (the forwarder still owns the rings): memif's Disconnect.
func (p *Proxy) disconnectStaller(id string) {
	p.mu.Lock()
	c := p.mu.conns[id]
	p.mu.Unlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	link := c.mu.link
	c.mu.Unlock()
	if link != nil {
		link.Disconnect("receiver too slow: it held the sender's buffers")
	}
}
