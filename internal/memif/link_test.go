package memif

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// payload is the k-th test packet: 1…600 bytes, so 256-byte buffers chain.
func payload(k int) []byte {
	return bytes.Repeat([]byte{byte(k), byte(k >> 8)}, (1+k%600+1)/2)[:1+k%600]
}

// sendAll sends n packets, waiting for room when the ring is full.
func sendAll(ctx context.Context, q *TxQueue, n int) error {
	for k := range n {
		p := payload(k)
		for {
			err := q.Send(p)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrRingFull) {
				return fmt.Errorf("send %d: %w", k, err)
			}
			if err := q.WaitRoom(ctx, 3); err != nil {
				return fmt.Errorf("send %d: %w", k, err)
			}
		}
	}
	return nil
}

// recvAll receives n packets, reassembling chains, and checks each.
func recvAll(ctx context.Context, q *RxQueue, n int) error {
	var chain []byte
	for k := 0; k < n; {
		if q.Available() == 0 {
			if err := q.Wait(ctx); err != nil {
				return fmt.Errorf("packet %d: %w", k, err)
			}
			continue
		}
		b, more, err := q.Next()
		if err != nil {
			return err
		}
		chain = append(chain, b...)
		q.Release(1)
		if more {
			continue
		}
		if want := payload(k); !bytes.Equal(chain, want) {
			return fmt.Errorf("packet %d: %d bytes, want %d", k, len(chain), len(want))
		}
		chain = chain[:0]
		k++
	}
	return nil
}

func TestLinkBothDirections(t *testing.T) {
	checkLeaks(t)
	for _, c := range []struct {
		name     string
		abstract bool
		poll     bool
	}{
		{"interrupt", false, false},
		{"poll", false, true},
		{"abstract", true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := sockPath(t)
			if c.abstract {
				path = fmt.Sprintf("@mediamesh-memif-test-%d-%d", os.Getpid(), time.Now().UnixNano())
			}
			m, s := pair(t, Config{Name: "master", BufferSize: 256, Log2RingSize: 3, Poll: c.poll},
				Config{SocketPath: path, ID: 3, Name: "slave", BufferSize: 256, Log2RingSize: 3, Poll: c.poll})
			if m.PeerName() != "slave" || s.PeerName() != "mediamesh" {
				t.Errorf("peer names %q %q", m.PeerName(), s.PeerName())
			}
			if cr := m.Cred(); cr.PID != int32(os.Getpid()) || cr.UID != uint32(os.Getuid()) || cr.GID != uint32(os.Getgid()) {
				t.Errorf("cred %+v", cr)
			}
			if s.Cred() != (Cred{}) || m.Role() != RoleMaster || s.Role() != RoleSlave {
				t.Errorf("slave cred %+v, roles %v %v", s.Cred(), m.Role(), s.Role())
			}
			if m.NumTx() != 1 || m.NumRx() != 1 || s.NumTx() != 1 || s.NumRx() != 1 {
				t.Fatal("ring counts")
			}
			if got := m.Config(); got.BufferSize != 256 || got.Log2RingSize != 3 {
				t.Errorf("master config %+v", got)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			// 40000 packets of 1…600 bytes over 256-byte slots use about
			// 68000 slots per ring: the u16 indexes wrap.
			const n = 40000
			errc := make(chan error, 2)
			go func() { errc <- sendAll(ctx, s.Tx(0), n) }()
			go func() { errc <- sendAll(ctx, m.Tx(0), n) }()
			rerr := make(chan error, 1)
			go func() { rerr <- recvAll(ctx, s.Rx(0), n) }()
			if err := recvAll(ctx, m.Rx(0), n); err != nil {
				t.Fatal("master rx:", err)
			}
			if err := <-rerr; err != nil {
				t.Fatal("slave rx:", err)
			}
			for range 2 {
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
			}
			if m.Err() != nil || s.Err() != nil {
				t.Fatalf("link errors %v %v", m.Err(), s.Err())
			}
		})
	}
}

func TestHandshakeRefusals(t *testing.T) {
	checkLeaks(t)
	p := sockPath(t)
	l := listen(t, ListenConfig{Path: p})
	iface, err := l.Register(Config{ID: 7, Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Register(Config{ID: 7}); !errors.Is(err, ErrConfig) {
		t.Errorf("duplicate id: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	refused := func(cfg Config, reason string) {
		t.Helper()
		_, err := Dial(ctx, cfg)
		var de *DisconnectError
		if !errors.As(err, &de) || de.Reason != reason || !de.Remote || !errors.Is(err, ErrDisconnected) {
			t.Errorf("%+v: got %v, want reason %q", cfg, err, reason)
		}
	}
	refused(Config{SocketPath: p, ID: 7, Secret: "wrong"}, "incorrect secret")
	refused(Config{SocketPath: p, ID: 7, Secret: "s3cre"}, "incorrect secret")
	refused(Config{SocketPath: p, ID: 7}, "incorrect secret")
	refused(Config{SocketPath: p, ID: 8, Secret: "s3cret"}, "unmatched interface id")
	refused(Config{SocketPath: p, ID: 7, Secret: "s3cret", Mode: ModeIP}, "mode mismatch")

	s, err := Dial(ctx, Config{SocketPath: p, ID: 7, Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := iface.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	refused(Config{SocketPath: p, ID: 7, Secret: "s3cret"}, "already connected")
	_ = s.Close()
	<-m.Done()
	// The link ended: a new slave may attach even before the owner closed m.
	s2, err := Dial(ctx, Config{SocketPath: p, ID: 7, Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := iface.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = m.Close()
	if m2.Err() != nil {
		t.Fatalf("closing the old link hurt the new one: %v", m2.Err())
	}
	_ = s2.Close()
	_ = m2.Close()
	// Closing the interface ends Accept and refuses slaves.
	_ = iface.Close()
	if _, err := iface.Accept(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("accept after close: %v", err)
	}
	refused(Config{SocketPath: p, ID: 7, Secret: "s3cret"}, "unmatched interface id")
}

func TestCheckPeer(t *testing.T) {
	checkLeaks(t)
	p := sockPath(t)
	seen := make(chan Cred, 1)
	l := listen(t, ListenConfig{Path: p, CheckPeer: func(c Cred) error { seen <- c; return errors.New("uid not allowed") }})
	if _, err := l.Register(Config{}); err != nil {
		t.Fatal(err)
	}
	_, err := Dial(t.Context(), Config{SocketPath: p})
	var de *DisconnectError
	if !errors.As(err, &de) || de.Reason != "permission denied" {
		t.Fatalf("got %v", err)
	}
	if c := <-seen; c.PID != int32(os.Getpid()) || c.UID != uint32(os.Getuid()) {
		t.Errorf("CheckPeer saw %+v", c)
	}
}

func TestPeerCloseWakesWaiter(t *testing.T) {
	checkLeaks(t)
	for _, poll := range []bool{false, true} {
		for _, closer := range []string{"slave", "master"} {
			t.Run(fmt.Sprintf("%s closes, poll=%v", closer, poll), func(t *testing.T) {
				m, s := pair(t, Config{Poll: poll}, Config{SocketPath: sockPath(t), Poll: poll})
				closing, waiting := s, m
				if closer == "master" {
					closing, waiting = m, s
				}
				errc := make(chan error)
				go func() { errc <- waiting.Rx(0).Wait(context.Background()) }()
				time.Sleep(20 * time.Millisecond) // let it block (the test passes either way)
				_ = closing.CloseWithReason("bye")
				select {
				case err := <-errc:
					if !errors.Is(err, ErrDisconnected) {
						t.Fatalf("wait returned %v", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("waiter not woken")
				}
				<-waiting.Done()
				var de *DisconnectError
				if !errors.As(waiting.Err(), &de) || de.Reason != "bye" || !de.Remote {
					t.Fatalf("err %v", waiting.Err())
				}
				// Memory stays mapped until the owner closes.
				if r := waiting.Regions(); r[0].Data == nil || r[0].FD < 0 {
					t.Fatal("regions released before Close")
				}
				if err := waiting.Tx(0).Send([]byte{1}); !errors.Is(err, ErrDisconnected) {
					t.Errorf("send after link loss: %v", err)
				}
				if _, _, err := waiting.Rx(0).Next(); !errors.Is(err, ErrDisconnected) {
					t.Errorf("next after link loss: %v", err)
				}
			})
		}
	}
}

func TestCloseIdempotent(t *testing.T) {
	checkLeaks(t)
	p := sockPath(t)
	l := listen(t, ListenConfig{Path: p})
	iface, err := l.Register(Config{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Dial(t.Context(), Config{SocketPath: p})
	if err != nil {
		t.Fatal(err)
	}
	m, err := iface.Accept(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error)
	go func() { errc <- s.Rx(0).Wait(context.Background()) }()
	for range 2 {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.CloseWithReason("again")
	if err := <-errc; !errors.Is(err, ErrClosed) || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("wait after local close: %v", err)
	}
	if !errors.Is(s.Err(), ErrClosed) {
		t.Fatalf("slave err %v", s.Err())
	}
	if s.Regions()[0].Data != nil {
		t.Fatal("regions still mapped after Close")
	}
	s.Rx(0).Wake() // after Close: harmless
	<-m.Done()
	for range 2 {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	_ = iface.Close()
	_ = m.Close()
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket file left: %v", err)
	}
	if _, err := l.Register(Config{ID: 1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("register after close: %v", err)
	}
}

func TestWaitWakeups(t *testing.T) {
	checkLeaks(t)
	for _, poll := range []bool{false, true} {
		t.Run(fmt.Sprintf("poll=%v", poll), func(t *testing.T) {
			m, _ := pair(t, Config{Poll: poll}, Config{SocketPath: sockPath(t), Poll: poll})
			q := m.Rx(0)
			if err := q.WaitTimeout(20 * time.Millisecond); !errors.Is(err, ErrTimeout) {
				t.Errorf("WaitTimeout: %v", err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			defer cancel()
			if err := q.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Wait deadline: %v", err)
			}
			ctx2, cancel2 := context.WithCancel(t.Context())
			errc := make(chan error)
			go func() { errc <- q.Wait(ctx2) }()
			time.AfterFunc(20*time.Millisecond, cancel2)
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Errorf("Wait cancel: %v", err)
			}
			go func() { errc <- q.WaitTimeout(0) }()
			time.AfterFunc(20*time.Millisecond, q.Wake)
			if err := <-errc; err != nil {
				t.Errorf("Wait after Wake: %v", err)
			}
		})
	}
}

func TestListenerSocketFile(t *testing.T) {
	checkLeaks(t)
	p := sockPath(t)
	// A stale socket file (its listener died without unlinking) is replaced.
	stale, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: p, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	_ = stale.Close()
	l, err := Listen(ListenConfig{Path: p, Perm: 0o640})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o640 {
		t.Fatalf("socket file %v %v", fi.Mode(), err)
	}
	// A live listener is not stolen.
	if _, err := Listen(ListenConfig{Path: p}); err == nil {
		t.Fatal("second Listen on a live socket succeeded")
	}
	_ = l.Close()
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket file left after Close: %v", err)
	}
	// A regular file is never removed.
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(ListenConfig{Path: p}); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("listen over a file: %v", err)
	}
	// Default permission.
	_ = os.Remove(p)
	l2 := listen(t, ListenConfig{Path: p})
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("default perm %v %v", fi.Mode(), err)
	}
	_ = l2.Close()
}

func TestDialTimeouts(t *testing.T) {
	checkLeaks(t)
	// A "master" that accepts and never says HELLO.
	p := sockPath(t)
	ul, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: p, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	start := time.Now()
	_, err = Dial(t.Context(), Config{SocketPath: p, HandshakeTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("handshake timeout: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = Dial(ctx, Config{SocketPath: p})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled dial: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
	// Close what the fake master accepted.
	for {
		_ = ul.SetDeadline(time.Now().Add(10 * time.Millisecond))
		c, err := ul.Accept()
		if err != nil {
			break
		}
		_ = c.Close()
	}
}

// TestBadDescriptor: a slave that publishes a descriptor outside its
// regions is disconnected with a reason; the master never slices it.
func TestBadDescriptor(t *testing.T) {
	checkLeaks(t)
	for _, c := range []struct {
		name   string
		break_ func(s *Conn)
		reason string
	}{
		{"region", func(s *Conn) {
			r0 := s.Regions()[0].Data
			r0[2*64+descRegionOffset] = 9 // S2M desc[0].region
			s.tx[0].next++
			s.tx[0].r.setHead(s.tx[0].next)
		}, "outside the regions"},
		{"length", func(s *Conn) {
			s.tx[0].r.putDesc(0, Desc{Region: 1, Offset: 0, Length: 1 << 30})
			s.tx[0].next++
			s.tx[0].r.setHead(s.tx[0].next)
		}, "outside the regions"},
		{"head beyond N", func(s *Conn) { s.tx[0].r.setHead(100) }, "ahead"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, s := pair(t, Config{}, Config{SocketPath: sockPath(t), Log2RingSize: 4})
			c.break_(s)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			_ = m.Rx(0).Wait(ctx)
			_, _, err := m.Rx(0).Next()
			var de *DisconnectError
			if !errors.As(err, &de) || de.Remote || !strings.Contains(de.Reason, c.reason) || !errors.Is(err, ErrProtocol) {
				t.Fatalf("master: %v", err)
			}
			<-s.Done()
			if !errors.As(s.Err(), &de) || !de.Remote || !strings.Contains(de.Reason, c.reason) {
				t.Fatalf("slave heard %v", s.Err())
			}
		})
	}
}

// TestQueueBounds: slot indexes and lengths are checked.
func TestQueueBounds(t *testing.T) {
	checkLeaks(t)
	m, s := pair(t, Config{}, Config{SocketPath: sockPath(t), Log2RingSize: 2, BufferSize: 64})
	q := s.Tx(0)
	if q.Size() != 4 || q.Room() != 4 {
		t.Fatalf("size %d room %d", q.Size(), q.Room())
	}
	if _, err := q.Buffer(4); !errors.Is(err, ErrSlot) {
		t.Errorf("Buffer(4): %v", err)
	}
	if err := q.SetLength(0, 65, false); !errors.Is(err, ErrLength) {
		t.Errorf("SetLength 65: %v", err)
	}
	if err := q.Publish(5); !errors.Is(err, ErrSlot) {
		t.Errorf("Publish(5): %v", err)
	}
	if err := q.Send(make([]byte, 64*5)); !errors.Is(err, ErrLength) {
		t.Errorf("Send of 5 buffers on a 4-slot ring: %v", err)
	}
	if err := q.WaitRoom(t.Context(), 5); !errors.Is(err, ErrSlot) {
		t.Errorf("WaitRoom(5): %v", err)
	}
	for range 4 {
		if err := q.Send([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Send([]byte("x")); !errors.Is(err, ErrRingFull) {
		t.Errorf("5th send: %v", err)
	}
	if _, err := m.Rx(0).NextDesc(); err != nil {
		t.Fatal(err)
	}
	if m.Rx(0).Held() != 1 || m.Rx(0).Available() != 3 {
		t.Fatalf("held %d available %d", m.Rx(0).Held(), m.Rx(0).Available())
	}
	m.Rx(0).Release(10) // clamped to what is held
	if !eventually(time.Second, func() bool { return q.Room() == 1 }) {
		t.Fatalf("room %d after release", q.Room())
	}
	// Master side: capacity is the slave's offer.
	mq := m.Tx(0)
	if mq.Room() != 4 {
		t.Fatalf("master room %d", mq.Room())
	}
	if b, err := mq.Buffer(0); err != nil || len(b) != 64 {
		t.Fatalf("master buffer %d %v", len(b), err)
	}
	if d := mq.Desc(0); d.Region != 1 || d.Length != 64 {
		t.Fatalf("master desc %+v", d)
	}
	if err := mq.SetLength(0, 65, false); !errors.Is(err, ErrLength) {
		t.Errorf("master SetLength 65: %v", err)
	}
	if _, err := s.Rx(0).NextDesc(); !errors.Is(err, ErrRingEmpty) {
		t.Errorf("empty NextDesc: %v", err)
	}
}

// TestZeroAllocs: the per-buffer paths allocate nothing.
func TestZeroAllocs(t *testing.T) {
	for _, poll := range []bool{false, true} {
		t.Run(fmt.Sprintf("poll=%v", poll), func(t *testing.T) {
			m, s := pair(t, Config{Poll: poll}, Config{SocketPath: sockPath(t), Poll: poll, BufferSize: 4096})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			p := make([]byte, 1500)
			cycle := func(tx *TxQueue, rx *RxQueue) func() {
				return func() {
					if err := tx.Send(p); err != nil {
						t.Fatal(err)
					}
					if err := rx.Wait(ctx); err != nil {
						t.Fatal(err)
					}
					if _, _, err := rx.Next(); err != nil {
						t.Fatal(err)
					}
					rx.Release(1)
					_ = rx.WaitTimeout(time.Microsecond)
				}
			}
			for name, f := range map[string]func(){
				"s2m": cycle(s.Tx(0), m.Rx(0)),
				"m2s": cycle(m.Tx(0), s.Rx(0)),
			} {
				f() // first Wait registers ctx once
				if a := testing.AllocsPerRun(1000, f); a != 0 {
					t.Errorf("%s: %v allocs per buffer", name, a)
				}
			}
		})
	}
}
