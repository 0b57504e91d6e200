package bridge_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mediamesh/internal/bridge"
	"mediamesh/internal/bridge/bridgetest"
	"mediamesh/internal/testutil"
)

const (
	token   = "s3cret"
	urn     = "urn:cam1"
	maxPay  = 64 << 10
	maxMeta = 256
	// wait bounds every wait for something that must happen; reaching it
	// is a failure, not a measurement.
	wait = 10 * time.Second
)

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// content is what frame seq holds in these tests.
func content(seq uint32) ([]byte, []byte) { return bridgetest.Content(seq, maxPay, maxMeta) }

// checker returns a Sink check that frames arrive bit-exact, in order,
// with their timestamps, and records the last sequence number.
func checker(t *testing.T, last *atomic.Uint32) func(bridge.Frame) error {
	return func(f bridge.Frame) error {
		p, m := content(f.Seq)
		if prev := last.Load(); f.Seq <= prev {
			t.Errorf("frame %d after %d", f.Seq, prev)
		}
		if !bytes.Equal(f.Payload, p) || !bytes.Equal(f.Metadata, m) || f.Timestamp != int64(f.Seq)*1000 {
			t.Errorf("frame %d: %d+%d bytes, ts %d; want %d+%d, ts %d, or the bytes differ",
				f.Seq, len(f.Payload), len(f.Metadata), f.Timestamp, len(p), len(m), int64(f.Seq)*1000)
		}
		last.Store(f.Seq)
		return nil
	}
}

// opener serves urn with sink, refusing other groups and sizes the sink
// cannot hold, and counts its calls.
type opener struct {
	sink  bridge.Sink
	calls atomic.Int32
}

func (o *opener) open(u string, p, m int) (bridge.Sink, error) {
	o.calls.Add(1)
	switch {
	case u != urn:
		return nil, errors.New("unknown group")
	case p > maxPay || m > maxMeta:
		return nil, fmt.Errorf("%w: %d+%d bytes, the group's buffers hold %d+%d", bridge.ErrTooLarge, p, m, maxPay, maxMeta)
	}
	return o.sink, nil
}

func startListener(t *testing.T, open bridge.OpenFunc) *bridge.Listener {
	t.Helper()
	l, err := bridge.NewListener(bridge.ListenerConfig{Addr: "127.0.0.1:0", Token: token, HandshakeTimeout: wait}, open, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func startSender(t *testing.T, addr string, src bridge.Source, edit func(*bridge.SenderConfig)) *bridge.Sender {
	t.Helper()
	// Timeouts far beyond need: a loaded CI machine under -race must not
	// turn a slow write into a lost frame.
	cfg := bridge.SenderConfig{Addr: addr, URN: urn, Token: token, MaxPayload: maxPay, MaxMetadata: maxMeta,
		DialTimeout: wait, WriteTimeout: wait}
	if edit != nil {
		edit(&cfg)
	}
	s, err := bridge.NewSender(cfg, src, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func connected(s *bridge.Sender) func() error {
	return func() error {
		if st := s.Stats(); !st.Connected {
			return fmt.Errorf("sender not connected: %+v", st)
		}
		return nil
	}
}

func waitFrames(t *testing.T, sink *bridgetest.Sink, n uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	if err := sink.WaitFrames(ctx, n); err != nil {
		t.Fatalf("%d of %d frames arrived: %v", sink.Frames(), n, err)
	}
}

// 1000 frames of random sizes, metadata included, arrive bit-exact.
func TestLoopback(t *testing.T) {
	testutil.CheckLeaks(t)
	var last atomic.Uint32
	sink := bridgetest.NewSink(maxPay, maxMeta, checker(t, &last))
	l := startListener(t, (&opener{sink: sink}).open)
	src := bridgetest.NewSource(content)
	s := startSender(t, l.Addr().String(), src, nil)
	testutil.Eventually(t, wait, connected(s))
	src.Allow(1000)
	waitFrames(t, sink, 1000)

	var bytes uint64
	for seq := uint32(1); seq <= 1000; seq++ {
		p, m := content(seq)
		bytes += uint64(len(p) + len(m))
	}
	// Both ends count a frame once it is through, maybe after the sink
	// saw it: wait for the counters and the releases to settle.
	testutil.Eventually(t, wait, func() error {
		rs, _ := l.Stats(urn)
		ss := s.Stats()
		if rs.Frames != 1000 || rs.Bytes != bytes || rs.Gaps != 0 || rs.Errors != 0 || !rs.Connected {
			return fmt.Errorf("receiver stats %+v, want 1000 frames, %d bytes", rs, bytes)
		}
		if ss.Frames != 1000 || ss.Bytes != bytes || ss.Dropped != 0 || ss.Errors != 0 || ss.Reconnects != 0 {
			return fmt.Errorf("sender stats %+v", ss)
		}
		if n := src.Outstanding(); n != 0 {
			return fmt.Errorf("%d frames not released", n)
		}
		return nil
	})
}

// forwarder relays TCP connections to target until Cut drops them all: a
// network fault between two proxies that neither end sees coming.
type forwarder struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

func newForwarder(t *testing.T, target string) *forwarder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &forwarder{ln: ln, target: target}
	f.wg.Go(f.accept)
	t.Cleanup(func() {
		_ = ln.Close()
		f.mu.Lock()
		f.closed = true
		f.mu.Unlock()
		f.Cut()
		f.wg.Wait()
	})
	return f
}

func (f *forwarder) accept() {
	for {
		a, err := f.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", f.target)
		if err != nil {
			_ = a.Close()
			continue
		}
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			_ = a.Close()
			_ = b.Close()
			return
		}
		f.conns = append(f.conns, a, b)
		f.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			// Hide the TCPConns from io.Copy: splice(2) would borrow
			// pipes that only the GC gives back, which the leak check
			// would wait for.
			_, _ = io.Copy(struct{ io.Writer }{dst}, struct{ io.Reader }{src})
			_ = dst.Close()
			_ = src.Close()
		}
		f.wg.Go(func() { pipe(a, b) })
		f.wg.Go(func() { pipe(b, a) })
	}
}

// Cut closes every relayed connection.
func (f *forwarder) Cut() {
	f.mu.Lock()
	conns := f.conns
	f.conns = nil
	f.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// A connection cut mid-stream: the sender redials, frames resume, and the
// receiver counts exactly the frames that never arrived.
func TestReconnect(t *testing.T) {
	testutil.CheckLeaks(t)
	var last atomic.Uint32
	sink := bridgetest.NewSink(maxPay, maxMeta, checker(t, &last))
	l := startListener(t, (&opener{sink: sink}).open)
	fw := newForwarder(t, l.Addr().String())
	src := bridgetest.NewSource(content)
	s := startSender(t, fw.ln.Addr().String(), src, func(c *bridge.SenderConfig) { c.MinBackoff = time.Millisecond })
	testutil.Eventually(t, wait, connected(s))
	src.Allow(100)
	waitFrames(t, sink, 100)

	fw.Cut()
	// Frames keep coming: the ones sent into the dead connection and those
	// drained while the sender backs off are lost, until it is back.
	testutil.Eventually(t, wait, func() error {
		src.Allow(1)
		if rs, _ := l.Stats(urn); rs.Reconnects == 0 || !rs.Connected || !s.Stats().Connected {
			return fmt.Errorf("not reconnected: receiver %+v, sender %+v", rs, s.Stats())
		}
		return nil
	})
	src.Allow(100)
	testutil.Eventually(t, wait, func() error {
		if got, want := last.Load(), src.Given(); got != want {
			return fmt.Errorf("last frame received %d, last sent %d", got, want)
		}
		if rs, _ := l.Stats(urn); rs.Frames != sink.Frames() {
			return fmt.Errorf("receiver counted %d frames, the sink got %d", rs.Frames, sink.Frames())
		}
		return nil
	})
	rs, _ := l.Stats(urn)
	ss := s.Stats()
	if rs.Gaps == 0 || rs.Gaps != uint64(last.Load())-rs.Frames {
		t.Errorf("receiver: %d gaps, %d frames up to seq %d: every missing seq must be counted", rs.Gaps, rs.Frames, last.Load())
	}
	if rs.Reconnects != 1 || ss.Reconnects != 1 || ss.Errors == 0 || ss.Err != nil {
		t.Errorf("stats after one fault: receiver %+v, sender %+v", rs, ss)
	}
	if lost := uint64(src.Given()) - ss.Frames; lost < ss.Dropped {
		t.Errorf("sender: %d given, %d sent, %d dropped", src.Given(), ss.Frames, ss.Dropped)
	}
}

// Refused handshakes: the sender never connects, and its error says why.
func TestRefused(t *testing.T) {
	testutil.CheckLeaks(t)
	cases := []struct {
		name   string
		edit   func(*bridge.SenderConfig)
		want   error
		code   bridge.Code
		text   string
		opened bool
	}{
		{"wrong token", func(c *bridge.SenderConfig) { c.Token = "guess" }, bridge.ErrUnauthorized,
			bridge.CodeUnauthorized, `wrong token for group "urn:cam1"`, false},
		{"unknown group", func(c *bridge.SenderConfig) { c.URN = "urn:other" }, bridge.ErrRefused,
			bridge.CodeRefused, `group "urn:other": unknown group`, true},
		{"frames larger than the pool", func(c *bridge.SenderConfig) { c.MaxPayload = maxPay + 1 }, bridge.ErrTooLarge,
			bridge.CodeTooLarge, "65537+256 bytes, the group's buffers hold 65536+256", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := &opener{sink: bridgetest.NewSink(maxPay, maxMeta, nil)}
			l := startListener(t, o.open)
			src := bridgetest.NewSource(content)
			s := startSender(t, l.Addr().String(), src, c.edit)
			testutil.Eventually(t, wait, func() error {
				if err := s.Stats().Err; err == nil {
					return errors.New("no error yet")
				}
				return nil
			})
			st := s.Stats()
			var remote *bridge.RemoteError
			if !errors.Is(st.Err, c.want) || !errors.As(st.Err, &remote) || remote.Code != c.code ||
				!strings.Contains(remote.Message, c.text) {
				t.Fatalf("sender error %v, want %v with %q", st.Err, c.want, c.text)
			}
			if st.Connected || st.Frames != 0 || (o.calls.Load() > 0) != c.opened {
				t.Fatalf("stats %+v, open called %d times", st, o.calls.Load())
			}
			if _, ok := l.Stats(urn); ok {
				t.Fatal("a refused sender got a group")
			}
		})
	}
}

// rawConn is a hand-driven sender for what Sender never sends.
func rawConn(t *testing.T, addr string, hello bridge.Hello) (net.Conn, *bridge.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(wait))
	r := bridge.NewReader(c)
	if hello.URN == "" {
		return c, r
	}
	if _, err := c.Write(helloBytes(t, hello)); err != nil {
		t.Fatal(err)
	}
	var reply bridge.Hello
	if err := r.ReadHello(&reply); err != nil {
		t.Fatal(err)
	}
	if reply.URN != hello.URN || reply.Token != token || reply.MaxPayload != hello.MaxPayload {
		t.Fatalf("reply %+v", reply)
	}
	return c, r
}

// The listener refuses what breaks the protocol, saying why, before it
// reads a byte of an oversize frame.
func TestListenerRefuses(t *testing.T) {
	testutil.CheckLeaks(t)
	sink := bridgetest.NewSink(maxPay, maxMeta, nil)
	l := startListener(t, (&opener{sink: sink}).open)
	g := bridge.GroupID(urn)
	// The sink's buffer is smaller than this sender's (accepted) maxima.
	small := bridgetest.NewSink(100, 0, nil)
	lSmall := startListener(t, func(string, int, int) (bridge.Sink, error) { return small, nil })
	hello := bridge.Hello{URN: urn, Token: token, MaxPayload: maxPay, MaxMetadata: maxMeta}
	cases := []struct {
		name  string
		addr  string
		hello bool
		send  []byte
		want  error
	}{
		{"garbage instead of a hello", l.Addr().String(), false, bytes.Repeat([]byte{'G'}, 40), bridge.ErrProtocol},
		{"data instead of a hello", l.Addr().String(), false, frameBytes(t, bridge.Header{Group: g}, nil, nil), bridge.ErrProtocol},
		{"payload over the maxima", l.Addr().String(), true,
			frameBytes(t, bridge.Header{Group: g, Seq: 1}, make([]byte, maxPay+1), nil)[:bridge.HeaderSize], bridge.ErrTooLarge},
		{"metadata over the maxima", l.Addr().String(), true,
			frameBytes(t, bridge.Header{Group: g, Seq: 1}, nil, make([]byte, maxMeta+1))[:bridge.HeaderSize], bridge.ErrTooLarge},
		{"frame of another group", l.Addr().String(), true, frameBytes(t, bridge.Header{Group: g ^ 1}, nil, nil), bridge.ErrProtocol},
		{"a second hello", l.Addr().String(), true, helloBytes(t, hello), bridge.ErrProtocol},
		{"frame larger than the sink's buffer", lSmall.Addr().String(), true,
			frameBytes(t, bridge.Header{Group: g, Seq: 1}, make([]byte, 101), nil)[:bridge.HeaderSize], bridge.ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := bridge.Hello{}
			if c.hello {
				h = hello
			}
			conn, r := rawConn(t, c.addr, h)
			if _, err := conn.Write(c.send); err != nil {
				t.Fatal(err)
			}
			var err error
			if c.hello {
				err = r.ReadHeader(&bridge.Header{})
			} else {
				err = r.ReadHello(&bridge.Hello{})
			}
			var remote *bridge.RemoteError
			if !errors.Is(err, c.want) || !errors.As(err, &remote) || remote.Message == "" {
				t.Fatalf("got %v, want a refusal matching %v", err, c.want)
			}
			t.Log(err)
			if n, err := conn.Read(make([]byte, 1)); n != 0 || err == nil {
				t.Fatalf("connection still open after the refusal: %d, %v", n, err)
			}
		})
	}
	if sink.Out() || small.Out() {
		t.Fatal("a refused frame kept a sink buffer")
	}
}

// A frame larger than the receiver accepts is dropped by the sender, not
// sent; the receiver sees the gap.
func TestSenderDropsOversize(t *testing.T) {
	testutil.CheckLeaks(t)
	sink := bridgetest.NewSink(maxPay, maxMeta, nil)
	l := startListener(t, (&opener{sink: sink}).open)
	src := bridgetest.NewSource(func(seq uint32) ([]byte, []byte) {
		if seq == 2 {
			return make([]byte, maxPay+1), nil
		}
		return []byte{byte(seq)}, nil
	})
	s := startSender(t, l.Addr().String(), src, nil)
	testutil.Eventually(t, wait, connected(s))
	src.Allow(3)
	waitFrames(t, sink, 2)
	// The sender counts a frame once writev returned, maybe after it
	// arrived.
	testutil.Eventually(t, wait, func() error {
		rs, _ := l.Stats(urn)
		if ss := s.Stats(); ss.Dropped != 1 || ss.Frames != 2 || rs.Gaps != 1 || ss.Err != nil {
			return fmt.Errorf("sender %+v, receiver %+v", ss, rs)
		}
		return nil
	})
}

// A new connection for a group takes over from the old one, which is
// closed: the sink is never used by two at once.
func TestNewestConnectionWins(t *testing.T) {
	testutil.CheckLeaks(t)
	sink := bridgetest.NewSink(maxPay, maxMeta, nil)
	l := startListener(t, (&opener{sink: sink}).open)
	hello := bridge.Hello{URN: urn, Token: token, MaxPayload: maxPay, MaxMetadata: maxMeta}
	g := bridge.GroupID(urn)
	old, _ := rawConn(t, l.Addr().String(), hello)
	if _, err := old.Write(frameBytes(t, bridge.Header{Group: g, Seq: 1}, []byte("a"), nil)); err != nil {
		t.Fatal(err)
	}
	waitFrames(t, sink, 1)
	// Half a frame: the old connection holds the sink's buffer.
	if _, err := old.Write(frameBytes(t, bridge.Header{Group: g, Seq: 2}, []byte("bcd"), nil)[:bridge.HeaderSize+1]); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, wait, func() error {
		if !sink.Out() {
			return errors.New("buffer not taken")
		}
		return nil
	})
	nc, _ := rawConn(t, l.Addr().String(), hello)
	if n, err := old.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("old connection still open: %d, %v", n, err)
	}
	if _, err := nc.Write(frameBytes(t, bridge.Header{Group: g, Seq: 5}, []byte("e"), nil)); err != nil {
		t.Fatal(err)
	}
	waitFrames(t, sink, 2)
	testutil.Eventually(t, wait, func() error { // counted after the sink's Put
		if rs, _ := l.Stats(urn); rs.Reconnects != 1 || rs.Gaps != 3 || rs.Frames != 2 || !rs.Connected {
			return fmt.Errorf("stats %+v", rs)
		}
		return nil
	})
}

// blockingSink never has room: the local group is stuck.
type blockingSink struct{ got chan struct{} }

func (b blockingSink) Get(ctx context.Context) (bridge.Frame, error) {
	select {
	case b.got <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return bridge.Frame{}, ctx.Err()
}
func (blockingSink) Put(bridge.Frame) error { return nil }
func (blockingSink) Discard(bridge.Frame)   {}

// Close returns promptly from every blocking point: a sender waiting on
// its source or stuck in a write to a peer that reads nothing, a listener
// waiting on a socket or on its sink, and before or after Start.
func TestCloseWakesEverything(t *testing.T) {
	testutil.CheckLeaks(t)
	// Idle: the sender waits in Next, the receiver in a read.
	idleSink := bridgetest.NewSink(maxPay, maxMeta, nil)
	l1 := startListener(t, (&opener{sink: idleSink}).open)
	idle := startSender(t, l1.Addr().String(), bridgetest.NewSource(content), nil)
	testutil.Eventually(t, wait, connected(idle))

	// Stuck: the receiver's sink never has room, so TCP fills up and the
	// sender blocks in writev (its deadline far away).
	stuck := blockingSink{got: make(chan struct{}, 1)}
	l2 := startListener(t, func(string, int, int) (bridge.Sink, error) { return stuck, nil })
	big := make([]byte, maxPay)
	src := bridgetest.NewSource(func(uint32) ([]byte, []byte) { return big, nil })
	blocked := startSender(t, l2.Addr().String(), src, func(c *bridge.SenderConfig) { c.WriteTimeout = time.Hour })
	testutil.Eventually(t, wait, connected(blocked))
	src.Allow(1 << 20)
	<-stuck.got
	// Stuck in writev: a frame is out and the count stands still between
	// two looks.
	var seen uint64
	testutil.Eventually(t, wait, func() error {
		n := blocked.Stats().Frames
		defer func() { seen = n }()
		if out := src.Outstanding(); out != 1 || n == 0 || n != seen {
			return fmt.Errorf("%d frames written, %d out: still moving", n, out)
		}
		return nil
	})

	for _, c := range []io.Closer{idle, blocked, l1, l2} {
		done := make(chan error, 1)
		go func() { done <- c.Close() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%T.Close: %v", c, err)
			}
		case <-time.After(wait):
			t.Fatalf("%T.Close hangs", c)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}
	if src.Outstanding() != 0 {
		t.Fatal("a frame was not released")
	}

	// Before Start, and Start after Close.
	s, err := bridge.NewSender(bridge.SenderConfig{Addr: "127.0.0.1:1", URN: urn, Token: token, MaxPayload: 1},
		bridgetest.NewSource(content), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); !errors.Is(err, bridge.ErrClosed) || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
	l, err := bridge.NewListener(bridge.ListenerConfig{Addr: "127.0.0.1:0", Token: token}, (&opener{}).open, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if l.Addr() != nil {
		t.Fatal("address before Start")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(t.Context()); !errors.Is(err, bridge.ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	src := bridgetest.NewSource(content)
	good := bridge.SenderConfig{Addr: "127.0.0.1:9", URN: urn, Token: token, MaxPayload: 1}
	cases := []struct {
		name string
		edit func(*bridge.SenderConfig)
		src  bridge.Source
	}{
		{"no addr", func(c *bridge.SenderConfig) { c.Addr = "" }, src},
		{"addr without port", func(c *bridge.SenderConfig) { c.Addr = "host" }, src},
		{"no urn", func(c *bridge.SenderConfig) { c.URN = "" }, src},
		{"urn too long", func(c *bridge.SenderConfig) { c.URN = strings.Repeat("u", bridge.MaxText+1) }, src},
		{"no token", func(c *bridge.SenderConfig) { c.Token = "" }, src},
		{"no payload size", func(c *bridge.SenderConfig) { c.MaxPayload = 0 }, src},
		{"negative metadata size", func(c *bridge.SenderConfig) { c.MaxMetadata = -1 }, src},
		{"no source", func(*bridge.SenderConfig) {}, nil},
	}
	for _, c := range cases {
		cfg := good
		c.edit(&cfg)
		if _, err := bridge.NewSender(cfg, c.src, testLog(t)); !errors.Is(err, bridge.ErrConfig) {
			t.Errorf("sender, %s: %v", c.name, err)
		}
	}
	open := (&opener{}).open
	for name, cfg := range map[string]bridge.ListenerConfig{
		"no token": {Addr: "127.0.0.1:0"},
		"no addr":  {Token: token},
	} {
		if _, err := bridge.NewListener(cfg, open, testLog(t)); !errors.Is(err, bridge.ErrConfig) {
			t.Errorf("listener, %s: %v", name, err)
		}
	}
	if _, err := bridge.NewListener(bridge.ListenerConfig{Addr: "127.0.0.1:0", Token: token}, nil, testLog(t)); !errors.Is(err, bridge.ErrConfig) {
		t.Errorf("listener without open: %v", err)
	}
}

// The data path allocates nothing per frame, on either side.
func TestNoAllocsPerFrame(t *testing.T) {
	if testutil.RaceEnabled {
		t.Skip("the race detector allocates")
	}
	testutil.CheckLeaks(t)
	sink := bridgetest.NewSink(maxPay, maxMeta, nil)
	l := startListener(t, (&opener{sink: sink}).open)
	p, m := make([]byte, 4096), make([]byte, 16)
	src := bridgetest.NewSource(func(uint32) ([]byte, []byte) { return p, m })
	s := startSender(t, l.Addr().String(), src, nil)
	testutil.Eventually(t, wait, connected(s))
	src.Allow(10)
	waitFrames(t, sink, 10) // warm up: iovec caches, timers
	const batch = 100
	allocs := testing.AllocsPerRun(20, func() {
		want := sink.Frames() + batch
		src.Allow(batch)
		for sink.Frames() < want {
			time.Sleep(50 * time.Microsecond)
		}
	})
	if perFrame := allocs / batch; perFrame > 0.05 {
		t.Fatalf("%.2f allocations per frame", perFrame)
	}
}

// A Listener with AllowFrom talks to nobody else: a sender from another
// address is closed on before its Hello, token or not; one from the
// allowed address (here: bound to it) gets in.
func TestAllowFrom(t *testing.T) {
	testutil.CheckLeaks(t)
	sink := bridgetest.NewSink(maxPay, maxMeta, nil)
	l, err := bridge.NewListener(bridge.ListenerConfig{Addr: "127.0.0.1:0", Token: token,
		AllowFrom: netip.MustParseAddr("127.0.0.2")}, (&opener{sink: sink}).open, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	foreign := startSender(t, l.Addr().String(), bridgetest.NewSource(nil), nil)
	time.Sleep(200 * time.Millisecond) // a few dials; none may get through
	if st := foreign.Stats(); st.Connected || st.Errors == 0 {
		t.Fatalf("a sender from 127.0.0.1 was let in: %+v", st)
	}
	allowed := startSender(t, l.Addr().String(), bridgetest.NewSource(nil), func(c *bridge.SenderConfig) {
		c.LocalAddr = netip.MustParseAddr("127.0.0.2")
	})
	testutil.Eventually(t, wait, connected(allowed))
}
