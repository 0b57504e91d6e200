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
	"sync"
	"time"

	"mediamesh/internal/run"
)

// SenderConfig configures a Sender. Zero values mean the defaults.
type SenderConfig struct {
	// Addr is the remote Listener's host:port.
	Addr string
	// URN names the group the connection carries.
	URN string
	// Token is the shared secret the Listener checks; required.
	Token string
	// MaxPayload and MaxMetadata are the group's buffer partitions, the
	// largest frame the Source can give: the handshake announces them so
	// the receiver can refuse a group it cannot hold. MaxPayload > 0.
	MaxPayload, MaxMetadata int
	// MinBackoff and MaxBackoff bound the wait before a redial, doubled
	// after each failure in a row (defaults 50ms and 2s). While it waits
	// the Sender keeps taking buffers from the Source and drops them, so
	// a dead remote never holds the local group.
	MinBackoff, MaxBackoff time.Duration
	// DialTimeout bounds a dial and its handshake (default 2s).
	DialTimeout time.Duration
	// WriteTimeout bounds the hand-over of one frame to the kernel
	// (default 1s). A remote that does not take a frame within it is
	// treated as failed and the connection dropped: the Source's buffer is
	// never held longer than this. Reliable groups, which wait for the
	// bridge by design, may want it longer.
	WriteTimeout time.Duration
	// SocketBuffer, when > 0, sets SO_SNDBUF; by default the kernel autotunes
	// it, which measured faster (see tune).
	SocketBuffer int
	// LocalAddr, when valid, is the source address to dial from: a
	// Listener with AllowFrom admits only its peer's address.
	LocalAddr netip.Addr
	// Dial, when set, opens the TCP connection instead of a net.Dialer
	// with DialTimeout, keep-alives and LocalAddr: e.g. from another
	// network namespace.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
}

func (c *SenderConfig) validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("%w: addr %q: %v", ErrConfig, c.Addr, err))
	}
	if c.URN == "" || len(c.URN) > MaxText {
		errs = append(errs, fmt.Errorf("%w: urn: want 1-%d bytes, got %d", ErrConfig, MaxText, len(c.URN)))
	}
	if c.Token == "" || len(c.Token) > MaxText {
		errs = append(errs, fmt.Errorf("%w: token: want 1-%d bytes, got %d", ErrConfig, MaxText, len(c.Token)))
	}
	if c.MaxPayload <= 0 || uint64(c.MaxPayload) > 1<<32-1 || c.MaxMetadata < 0 || uint64(c.MaxMetadata) > 1<<32-1 {
		errs = append(errs, fmt.Errorf("%w: max payload %d, max metadata %d: want 1..2^32-1 and 0..2^32-1",
			ErrConfig, c.MaxPayload, c.MaxMetadata))
	}
	c.MinBackoff = orDefault(c.MinBackoff, 50*time.Millisecond)
	c.MaxBackoff = max(orDefault(c.MaxBackoff, 2*time.Second), c.MinBackoff)
	c.DialTimeout = orDefault(c.DialTimeout, 2*time.Second)
	c.WriteTimeout = orDefault(c.WriteTimeout, time.Second)
	return errors.Join(errs...)
}

// orDefault returns v, or def when v is not positive.
func orDefault(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// Sender carries one group's buffers from a Source to a remote Listener.
// It keeps one connection up, redialling with backoff after any failure;
// buffers that arrive while it is down are released unsent (Dropped), and
// the receiver reports the gap.
//
// One goroutine, started by Start and waited for by Close, does all the
// work: dial, handshake, then Next → writev → Release per frame.
type Sender struct {
	cfg   SenderConfig
	src   Source
	log   *slog.Logger
	group uint32
	c     counters

	mu struct {
		sync.Mutex
		g       *run.Group // nil until Start
		started bool
		closed  bool
	}

	// Owned by the send loop: one header and iovec array for every frame.
	hdr     [HeaderSize]byte
	iov     [3][]byte
	bufs    net.Buffers
	maxPay  int // what this connection's receiver accepted
	maxMeta int
}

// NewSender validates cfg; it starts nothing.
func NewSender(cfg SenderConfig, src Source, log *slog.Logger) (*Sender, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if src == nil {
		return nil, fmt.Errorf("%w: no source", ErrConfig)
	}
	return &Sender{
		cfg:   cfg,
		src:   src,
		log:   log.With("component", "bridge", "group", cfg.URN, "remote", cfg.Addr),
		group: GroupID(cfg.URN),
	}, nil
}

// Start spawns the send loop. It does not wait for a connection: the
// remote may come up later, and Stats says when it is connected.
func (s *Sender) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.mu.closed:
		return ErrClosed
	case s.mu.started:
		return fmt.Errorf("bridge: sender already started")
	}
	s.mu.started = true
	s.mu.g = run.NewGroup(context.Background())
	s.mu.g.Go("bridge-sender", s.run)
	return nil
}

// Close stops the Sender and returns once its goroutine has ended, its
// connection is closed and every buffer it took is released. Idempotent.
func (s *Sender) Close() error {
	s.mu.Lock()
	g := s.mu.g
	s.mu.closed = true
	s.mu.Unlock()
	if g == nil {
		return nil
	}
	g.Cancel(nil)
	return g.Wait()
}

// Stats returns the Sender's counters.
func (s *Sender) Stats() Stats { return s.c.snapshot() }

func (s *Sender) run(ctx context.Context) error {
	s.log.Debug("bridge sender started")
	defer s.log.Debug("bridge sender stopped")
	backoff := s.cfg.MinBackoff
	failing := false
	for {
		connected, err := s.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			backoff = s.cfg.MinBackoff
			failing = false
		}
		s.c.fail(err)
		// The first failure of a run is news; the retries that follow
		// are not, until the bridge is back (rate-limits the log).
		if !failing {
			s.log.Warn("bridge down, redialling", "err", err, "dur", backoff)
			failing = true
		} else {
			s.log.Debug("bridge redial failed", "err", err, "dur", backoff)
		}
		s.discard(ctx, backoff)
		backoff = min(2*backoff, s.cfg.MaxBackoff)
	}
}

// discard releases every buffer the Source gives for d, or until ctx ends.
func (s *Sender) discard(ctx context.Context, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		f, err := s.src.Next(ctx)
		if err != nil {
			<-ctx.Done() // a failed source: wait out the backoff instead of spinning
			return
		}
		s.src.Release(f)
		s.c.dropped.Add(1)
	}
}

// session dials, shakes hands and sends until the connection fails or ctx
// ends; connected says whether the handshake succeeded.
func (s *Sender) session(ctx context.Context) (connected bool, err error) {
	var conn net.Conn
	if s.cfg.Dial != nil {
		dctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
		conn, err = s.cfg.Dial(dctx, s.cfg.Addr)
		cancel()
	} else {
		d := net.Dialer{Timeout: s.cfg.DialTimeout, KeepAliveConfig: keepAlive}
		if s.cfg.LocalAddr.IsValid() {
			d.LocalAddr = &net.TCPAddr{IP: s.cfg.LocalAddr.AsSlice()}
		}
		conn, err = d.DialContext(ctx, "tcp", s.cfg.Addr)
	}
	if err != nil {
		return false, fmt.Errorf("bridge: dial: %w", err)
	}
	defer conn.Close()
	// Close wakes a handshake or a write blocked on a stuck peer at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	tune(conn, s.cfg.SocketBuffer, true)
	r := NewReader(conn)
	if err := s.handshake(conn, r); err != nil {
		return false, err
	}
	s.c.up()
	defer s.c.connected.Store(false)
	s.log.Info("bridge connected", "local", conn.LocalAddr().String(), "reconnects", s.Stats().Reconnects)
	warned := false
	for {
		f, err := s.src.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return true, nil
			}
			// The source is the local group: a failure there (the
			// proxy's member relinking) is not the remote's fault, so the
			// connection stays and the source is asked again.
			s.c.fail(fmt.Errorf("bridge: source: %w", err))
			if !sleep(ctx, s.cfg.MinBackoff) {
				return true, nil
			}
			continue
		}
		if len(f.Payload) > s.maxPay || len(f.Metadata) > s.maxMeta {
			s.src.Release(f)
			s.c.dropped.Add(1)
			if !warned {
				warned = true
				s.log.Warn("frame larger than the receiver accepts: dropped",
					"bytes", len(f.Payload)+len(f.Metadata), "max_payload", s.maxPay, "max_metadata", s.maxMeta)
			}
			continue
		}
		err = s.send(conn, &f)
		s.src.Release(f)
		if err != nil {
			return true, s.why(conn, r, err)
		}
	}
}

// handshake sends our Hello and checks the answer: the same URN, the same
// token (the listener proves it is the intended peer), and the maxima the
// receiver accepted, which bound what this connection sends.
func (s *Sender) handshake(conn net.Conn, r *Reader) error {
	if err := conn.SetDeadline(time.Now().Add(s.cfg.DialTimeout)); err != nil {
		return err
	}
	hello := Hello{URN: s.cfg.URN, Token: s.cfg.Token,
		MaxPayload: uint32(s.cfg.MaxPayload), MaxMetadata: uint32(s.cfg.MaxMetadata)}
	b, err := hello.Marshal()
	if err != nil {
		return err
	}
	if _, err := conn.Write(b); err != nil {
		return fmt.Errorf("bridge: handshake: %w", err)
	}
	var reply Hello
	if err := r.ReadHello(&reply); err != nil {
		return fmt.Errorf("bridge: handshake: %w", err)
	}
	switch {
	case reply.URN != s.cfg.URN:
		return fmt.Errorf("bridge: handshake: %w: the listener answered for group %q", ErrProtocol, reply.URN)
	case subtle.ConstantTimeCompare([]byte(reply.Token), []byte(s.cfg.Token)) != 1:
		return fmt.Errorf("bridge: handshake: %w: the listener does not know the token", ErrUnauthorized)
	}
	s.maxPay = min(s.cfg.MaxPayload, int(reply.MaxPayload))
	s.maxMeta = min(s.cfg.MaxMetadata, int(reply.MaxMetadata))
	return conn.SetDeadline(time.Time{})
}

// send writes one frame: header, payload and metadata in one writev,
// straight from the Source's memory. It allocates nothing.
func (s *Sender) send(conn net.Conn, f *Frame) error {
	h := Header{Group: s.group, Seq: f.Seq, Timestamp: f.Timestamp,
		PayloadLen: uint32(len(f.Payload)), MetadataLen: uint32(len(f.Metadata))}
	if _, err := h.MarshalTo(s.hdr[:]); err != nil {
		return err
	}
	s.bufs = append(s.iov[:0], s.hdr[:])
	if len(f.Payload) > 0 {
		s.bufs = append(s.bufs, f.Payload)
	}
	if len(f.Metadata) > 0 {
		s.bufs = append(s.bufs, f.Metadata)
	}
	if err := conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)); err != nil {
		return err
	}
	// WriteTo consumes s.bufs; the iovec array stays for the next frame.
	if _, err := s.bufs.WriteTo(conn); err != nil {
		return err
	}
	s.c.frames.Add(1)
	s.c.bytes.Add(uint64(h.PayloadLen) + uint64(h.MetadataLen))
	return nil
}

// why adds the receiver's reason to a write failure: a receiver that
// refuses mid-stream sends a Refusal before it closes.
func (s *Sender) why(conn net.Conn, r *Reader, err error) error {
	if errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("bridge: send: %w", err)
	}
	if conn.SetReadDeadline(time.Now().Add(100*time.Millisecond)) == nil {
		var h Header
		var remote *RemoteError
		if rerr := r.ReadHeader(&h); errors.As(rerr, &remote) {
			return fmt.Errorf("bridge: send: %w", remote)
		} else if errors.Is(rerr, io.EOF) {
			return fmt.Errorf("bridge: send: %w (the receiver closed the connection)", err)
		}
	}
	return fmt.Errorf("bridge: send: %w", err)
}

// sleep waits d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
