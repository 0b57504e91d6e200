package bridge

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"mediamesh/internal/run"
)

// Lock order: Listener.mu and warnLimiter.mu are leaves, never held
// together, never across I/O or a call into a Sink or the OpenFunc.

// ListenerConfig configures a Listener. Zero values mean the defaults.
type ListenerConfig struct {
	// Addr is the local host:port to listen on; port 0 picks a free one
	// (see Listener.Addr).
	Addr string
	// Token is the shared secret every sender must present; required.
	Token string
	// HandshakeTimeout bounds how long a new connection may take to
	// present its Hello (default 2s), so idle sockets cannot pile up.
	HandshakeTimeout time.Duration
	// SocketBuffer, when > 0, sets SO_RCVBUF; by default the kernel autotunes
	// it, which measured faster (see tune).
	SocketBuffer int
	// AllowFrom, when valid, is the only peer address accepted: anyone
	// else is closed on before a byte is read, token or not.
	AllowFrom netip.Addr
}

func (c *ListenerConfig) validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("%w: addr %q: %v", ErrConfig, c.Addr, err))
	}
	c.AllowFrom = c.AllowFrom.Unmap()
	if c.Token == "" || len(c.Token) > MaxText {
		errs = append(errs, fmt.Errorf("%w: token: want 1-%d bytes, got %d", ErrConfig, MaxText, len(c.Token)))
	}
	c.HandshakeTimeout = orDefault(c.HandshakeTimeout, 2*time.Second)
	return errors.Join(errs...)
}

// Listener accepts bridge connections and reads each group's frames into
// the Sink its OpenFunc gives. A group has one connection at a time: a new
// one for the same URN (the sender redialled after a fault the old socket
// has not noticed yet) closes the old one and takes over once the old
// one has let go of the Sink. Gaps in sequence numbers are counted per
// group across connections.
//
// Goroutines, all started through the Listener's run.Group and waited for
// by Close: the accept loop, and one per connection.
type Listener struct {
	cfg  ListenerConfig
	open OpenFunc
	log  *slog.Logger
	lim  warnLimiter

	mu struct {
		sync.Mutex
		g       *run.Group
		ln      net.Listener
		started bool
		closed  bool
		groups  map[string]*inbound
	}
}

// inbound is one group's receiving end, across its connections.
type inbound struct {
	c counters
	// The connection that holds the group's Sink now, and a channel closed
	// when it lets go; guarded by Listener.mu.
	conn net.Conn
	done chan struct{}
	// Owned by the connection holding the Sink; handed over through done.
	last uint32
	seen bool
}

// NewListener validates cfg; it binds nothing.
func NewListener(cfg ListenerConfig, open OpenFunc, log *slog.Logger) (*Listener, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if open == nil {
		return nil, fmt.Errorf("%w: no open function", ErrConfig)
	}
	l := &Listener{cfg: cfg, open: open, log: log.With("component", "bridge")}
	l.mu.groups = map[string]*inbound{}
	return l, nil
}

// Start binds the listening socket and spawns the accept loop; ctx bounds
// the bind only.
func (l *Listener) Start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.mu.closed:
		return ErrClosed
	case l.mu.started:
		return fmt.Errorf("bridge: listener already started")
	}
	lc := net.ListenConfig{KeepAliveConfig: keepAlive}
	ln, err := lc.Listen(ctx, "tcp", l.cfg.Addr)
	if err != nil {
		return fmt.Errorf("bridge: listen: %w", err)
	}
	l.mu.started, l.mu.ln = true, ln
	l.mu.g = run.NewGroup(context.Background())
	g := l.mu.g
	g.Go("bridge-accept", func(ctx context.Context) error { return l.accept(ctx, g, ln) })
	l.log.Info("bridge listening", "local", ln.Addr().String())
	return nil
}

// Addr is the listening address, nil before Start.
func (l *Listener) Addr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.ln == nil {
		return nil
	}
	return l.mu.ln.Addr()
}

// Stats returns the counters of the group urn; false if no sender has
// opened it yet.
func (l *Listener) Stats(urn string) (Stats, bool) {
	l.mu.Lock()
	in := l.mu.groups[urn]
	l.mu.Unlock()
	if in == nil {
		return Stats{}, false
	}
	return in.c.snapshot(), true
}

// Close stops accepting, closes every connection and returns once every
// goroutine has ended: no Sink is used after Close returns. Idempotent.
func (l *Listener) Close() error {
	l.mu.Lock()
	g, ln := l.mu.g, l.mu.ln
	l.mu.closed = true
	l.mu.Unlock()
	if g == nil {
		return nil
	}
	g.Cancel(nil) // closes every connection (context.AfterFunc in serve)
	_ = ln.Close()
	return g.Wait()
}

func (l *Listener) accept(ctx context.Context, g *run.Group, ln net.Listener) error {
	l.log.Debug("bridge accept loop started")
	defer l.log.Debug("bridge accept loop stopped")
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of fds or memory: wait a little rather than spin.
			l.lim.warn(l.log, "bridge accept failed", "err", err)
			if !sleep(ctx, 50*time.Millisecond) {
				return nil
			}
			continue
		}
		if !l.allowed(c.RemoteAddr()) {
			l.lim.warn(l.log, "bridge connection from a foreign address closed", "remote", c.RemoteAddr().String(), "allowed", l.cfg.AllowFrom.String())
			_ = c.Close()
			continue
		}
		if !g.Go("bridge-conn", func(ctx context.Context) error { l.serve(ctx, c); return nil }) {
			_ = c.Close()
		}
	}
}

// allowed says whether a peer may talk to the Listener at all.
func (l *Listener) allowed(a net.Addr) bool {
	if !l.cfg.AllowFrom.IsValid() {
		return true
	}
	ap, err := netip.ParseAddrPort(a.String())
	return err == nil && ap.Addr().Unmap() == l.cfg.AllowFrom
}

// serve runs one connection: handshake, then frames until it ends.
func (l *Listener) serve(ctx context.Context, c net.Conn) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	remote := c.RemoteAddr().String()
	tune(c, l.cfg.SocketBuffer, false)
	r := NewReader(c)
	h, sink, err := l.handshake(c, r)
	if err != nil {
		l.lim.warn(l.log, "bridge connection refused", "remote", remote, "err", err)
		return
	}
	log := l.log.With("group", h.URN, "remote", remote)
	in, release, err := l.take(ctx, h.URN, c)
	if err != nil {
		return
	}
	defer release()
	reply := Hello{URN: h.URN, Token: l.cfg.Token, MaxPayload: h.MaxPayload, MaxMetadata: h.MaxMetadata}
	b, err := reply.Marshal()
	if err == nil {
		_, err = c.Write(b)
	}
	if err == nil {
		err = c.SetDeadline(time.Time{})
	}
	if err != nil {
		in.c.fail(fmt.Errorf("bridge: handshake reply: %w", err))
		return
	}
	r.SetLimits(GroupID(h.URN), h.MaxPayload, h.MaxMetadata)
	in.c.up()
	defer in.c.connected.Store(false)
	log.Info("bridge connection accepted", "reconnects", in.c.snapshot().Reconnects)
	err = l.receive(ctx, r, in, sink)
	switch {
	case ctx.Err() != nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		// Closed by the sender, by a newer connection, or by Close.
		log.Debug("bridge connection ended", "err", err)
	default:
		in.c.fail(err)
		// Say why, unless the socket itself failed (nobody to tell).
		if errors.Is(err, errSink) {
			refuse(c, GroupID(h.URN), CodeInternal, reason(err))
		} else if code := codeOf(err); code != CodeInternal {
			refuse(c, GroupID(h.URN), code, reason(err))
		}
		l.lim.warn(log, "bridge connection failed", "err", err)
	}
}

// errSink marks failures of the local Sink: the receiver's fault, not
// the sender's.
var errSink = errors.New("bridge: local group")

// handshake reads the sender's Hello, checks its token and opens its
// group. A refused connection is sent a Refusal saying why.
func (l *Listener) handshake(c net.Conn, r *Reader) (Hello, Sink, error) {
	var h Hello
	if err := c.SetDeadline(time.Now().Add(l.cfg.HandshakeTimeout)); err != nil {
		return h, nil, err
	}
	if err := r.ReadHello(&h); err != nil {
		if !errors.Is(err, io.EOF) {
			refuse(c, 0, codeOf(err), reason(err))
		}
		return h, nil, fmt.Errorf("bridge: handshake: %w", err)
	}
	group := GroupID(h.URN)
	if subtle.ConstantTimeCompare([]byte(h.Token), []byte(l.cfg.Token)) != 1 {
		refuse(c, group, CodeUnauthorized, fmt.Sprintf("wrong token for group %q", h.URN))
		return h, nil, fmt.Errorf("bridge: handshake: %w: wrong token for group %q", ErrUnauthorized, h.URN)
	}
	sink, err := l.open(h.URN, int(h.MaxPayload), int(h.MaxMetadata))
	if err == nil && sink == nil {
		err = errors.New("no sink")
	}
	if err != nil {
		code := CodeRefused
		if errors.Is(err, ErrTooLarge) {
			code = CodeTooLarge
		}
		refuse(c, group, code, fmt.Sprintf("group %q: %s", h.URN, reason(err)))
		return h, nil, fmt.Errorf("bridge: handshake: %w: group %q: %w", ErrRefused, h.URN, err)
	}
	return h, sink, nil
}

// take makes c the connection of group urn: a previous one is closed and
// waited for, so that one goroutine at a time uses the group's Sink.
// release hands the group on.
func (l *Listener) take(ctx context.Context, urn string, c net.Conn) (*inbound, func(), error) {
	done := make(chan struct{})
	l.mu.Lock()
	in := l.mu.groups[urn]
	if in == nil {
		in = &inbound{}
		l.mu.groups[urn] = in
	}
	prev, prevDone := in.conn, in.done
	in.conn, in.done = c, done
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		if in.conn == c {
			in.conn, in.done = nil, nil
		}
		l.mu.Unlock()
		close(done)
	}
	if prev != nil {
		// The newest connection wins: the sender redialled, so the old
		// one is dead even if its socket has not noticed yet.
		_ = prev.Close()
		select {
		case <-prevDone:
		case <-ctx.Done():
			release()
			return nil, nil, ctx.Err()
		}
	}
	return in, release, nil
}

// receive reads frames into the Sink until the connection fails.
func (l *Listener) receive(ctx context.Context, r *Reader, in *inbound, sink Sink) error {
	var h Header
	for {
		if err := r.ReadHeader(&h); err != nil {
			return err
		}
		f, err := sink.Get(ctx)
		if err != nil {
			return fmt.Errorf("%w: get buffer: %w", errSink, err)
		}
		if int(h.PayloadLen) > len(f.Payload) || int(h.MetadataLen) > len(f.Metadata) {
			sink.Discard(f)
			return fmt.Errorf("%w: frame of %d+%d bytes, the group's buffers hold %d+%d",
				ErrTooLarge, h.PayloadLen, h.MetadataLen, len(f.Payload), len(f.Metadata))
		}
		p, m := f.Payload[:h.PayloadLen], f.Metadata[:h.MetadataLen]
		if err := r.ReadBody(p, m); err != nil {
			sink.Discard(f)
			return err
		}
		f.Payload, f.Metadata, f.Seq, f.Timestamp = p, m, h.Seq, h.Timestamp
		// Serial arithmetic (RFC 1982): a step back or none is a
		// restarted sender, not a loss.
		if d := int32(h.Seq - in.last); in.seen && d > 1 {
			in.c.gaps.Add(uint64(d - 1))
		}
		in.last, in.seen = h.Seq, true
		if err := sink.Put(f); err != nil {
			return fmt.Errorf("%w: put buffer: %w", errSink, err)
		}
		in.c.frames.Add(1)
		in.c.bytes.Add(uint64(h.PayloadLen) + uint64(h.MetadataLen))
	}
}

// refuse tells the peer why its connection ends, best effort: the caller
// closes c next.
func refuse(c net.Conn, group uint32, code Code, msg string) {
	if len(msg) > MaxText {
		msg = msg[:MaxText]
	}
	m := Refusal{Group: group, Code: code, Message: msg}
	b, err := m.Marshal()
	if err != nil {
		return
	}
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write(b)
}

// reason is an error's text for a Refusal: without this package's
// prefix, which the peer's RemoteError adds again.
func reason(err error) string {
	return strings.ReplaceAll(err.Error(), "bridge: ", "")
}
