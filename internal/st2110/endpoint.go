package st2110

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"mediamesh/internal/netio"
	"mediamesh/internal/run"
)

// endpoint is what a Sender and a Receiver share: the stream's config, its
// socket, its counters and the goroutine group that Close waits for.
type endpoint struct {
	cfg   Config
	log   *slog.Logger
	role  string                                  // "sender" or "receiver", for errors
	open  func(netio.Config) (*netio.Conn, error) // netio.Dial or netio.Listen
	conn  *netio.Conn
	stats Stats
	grp   *run.Group
	once  sync.Once
}

// Bind opens the socket (a receiver also joins its group), so that
// address errors surface before any app buffer exists; a receiver's
// packets queue in the socket until Start. Start calls it when needed.
func (e *endpoint) Bind() error {
	if e.conn != nil {
		return nil
	}
	conn, err := e.open(e.cfg.Net)
	if err != nil {
		return fmt.Errorf("st2110 %s %s: %w", e.cfg.Essence, e.role, err)
	}
	e.conn = conn
	return nil
}

// begin is the common part of Start: bound, started once.
func (e *endpoint) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.grp != nil {
		return fmt.Errorf("st2110 %s %s: already started", e.cfg.Essence, e.role)
	}
	if err := e.Bind(); err != nil {
		return err
	}
	e.grp = run.NewGroup(context.Background())
	return nil
}

// stop ends the goroutines: detach (may be nil) first lets go of what
// drives the endpoint from outside, then the group is cancelled, the
// socket closed (waking a blocked send or receive) and the group waited
// for. Idempotent.
func (e *endpoint) stop(detach func()) {
	e.once.Do(func() {
		if detach != nil {
			detach()
		}
		if e.grp != nil {
			e.grp.Cancel(nil) // wakes ring and pacing waits
		}
		if e.conn != nil {
			_ = e.conn.Close()
		}
		if e.grp != nil {
			_ = e.grp.Wait()
		}
	})
}

// Stats returns the live counters.
func (e *endpoint) Stats() *Stats { return &e.stats }

// LocalAddr is the socket's address (valid after Bind).
func (e *endpoint) LocalAddr() netip.AddrPort {
	if e.conn == nil {
		return netip.AddrPort{}
	}
	return e.conn.LocalAddr()
}

// Caps reports what the kernel granted the socket (valid after Bind).
func (e *endpoint) Caps() netio.Caps {
	if e.conn == nil {
		return netio.Caps{}
	}
	return e.conn.Caps()
}
