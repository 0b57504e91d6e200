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
	members int
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
		g, err := group.New(group.Config{URN: c.urn, Reliable: reliable}, p.log)
		if err != nil {
			return status.Error(codes.Internal, err.Error())
		}
		g.Start()
		e = &groupEntry{g: g, layout: c.layout, payload: c.payload}
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
	e.members++
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
	e.members--
	last := e.members <= 0
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
