package memif

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func sockPath(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "memif-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return filepath.Join(dir, "m.sock")
}

// pair links a master and a slave over a real socket.
func pair(t testing.TB, master, slave Config) (*Conn, *Conn) {
	t.Helper()
	l, err := Listen(ListenConfig{Path: slave.SocketPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	iface, err := l.Register(master)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var (
		m    *Conn
		merr error
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() { defer wg.Done(); m, merr = iface.Accept(ctx) }()
	s, err := Dial(ctx, slave)
	wg.Wait()
	if err != nil || merr != nil {
		t.Fatalf("dial: %v, accept: %v", err, merr)
	}
	t.Cleanup(func() { _ = s.Close(); _ = m.Close() })
	return m, s
}

// leakCheck compares goroutines, fds and memif mappings before and after.
func leakCheck(t *testing.T) {
	t.Helper()
	g0, f0, m0 := runtime.NumGoroutine(), countFDs(), countMaps()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			g, f, m := runtime.NumGoroutine(), countFDs(), countMaps()
			if g <= g0 && f <= f0 && m <= m0 {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				n := runtime.Stack(buf, true)
				t.Fatalf("leak: goroutines %d→%d fds %d→%d maps %d→%d\n%s", g0, g, f0, f, m0, m, buf[:n])
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func countFDs() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	return len(ents)
}

func countMaps() int {
	b, _ := os.ReadFile("/proc/self/maps")
	return strings.Count(string(b), "memif region")
}

func TestSlaveToMasterAndBack(t *testing.T) {
	leakCheck(t)
	for _, poll := range []bool{false, true} {
		t.Run(fmt.Sprintf("poll=%v", poll), func(t *testing.T) {
			p := sockPath(t)
			m, s := pair(t, Config{Name: "m", BufferSize: 256, Log2RingSize: 3, Poll: poll},
				Config{SocketPath: p, Name: "s", BufferSize: 256, Log2RingSize: 3, Poll: poll})
			if m.PeerName() != "s" || s.PeerName() != "m" {
				t.Fatalf("names %q %q", m.PeerName(), s.PeerName())
			}
			if m.Cred().PID != int32(os.Getpid()) {
				t.Fatalf("cred %+v", m.Cred())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			const n = 70000 // beyond the u16 index wrap
			errc := make(chan error, 2)
			// slave → master, and master → slave, both at once; payloads of
			// up to 600 bytes chain over 256-byte buffers.
			send := func(q *TxQueue) {
				for k := range n {
					p := bytes.Repeat([]byte{byte(k)}, 1+k%600)
					for {
						err := q.Send(p)
						if err == nil {
							break
						}
						if !errors.Is(err, ErrRingFull) {
							errc <- err
							return
						}
						if err := q.WaitRoom(ctx, 3); err != nil {
							errc <- err
							return
						}
					}
				}
				errc <- nil
			}
			recv := func(q *RxQueue) error {
				var chain []byte
				for k := 0; k < n; {
					if q.Available() == 0 {
						if err := q.Wait(ctx); err != nil {
							return fmt.Errorf("buffer %d: %w", k, err)
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
					if want := bytes.Repeat([]byte{byte(k)}, 1+k%600); !bytes.Equal(chain, want) {
						return fmt.Errorf("buffer %d: %d bytes, want %d", k, len(chain), len(want))
					}
					chain = chain[:0]
					k++
				}
				return nil
			}
			go send(s.Tx(0))
			go send(m.Tx(0))
			if err := recv(m.Rx(0)); err != nil {
				t.Fatal("master rx:", err)
			}
			if err := recv(s.Rx(0)); err != nil {
				t.Fatal("slave rx:", err)
			}
			for range 2 {
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestPeerCloseWakesWaiter(t *testing.T) {
	leakCheck(t)
	p := sockPath(t)
	m, s := pair(t, Config{}, Config{SocketPath: p})
	errc := make(chan error)
	go func() { errc <- m.Rx(0).WaitTimeout(0) }()
	time.Sleep(20 * time.Millisecond)
	_ = s.CloseWithReason("bye")
	select {
	case err := <-errc:
		if !errors.Is(err, ErrDisconnected) {
			t.Fatalf("wait returned %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("waiter not woken")
	}
	<-m.Done()
	var de *DisconnectError
	if !errors.As(m.Err(), &de) || de.Reason != "bye" || !de.Remote {
		t.Fatalf("err %v", m.Err())
	}
}

func TestHandshakeRefusals(t *testing.T) {
	leakCheck(t)
	p := sockPath(t)
	l, err := Listen(ListenConfig{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	iface, err := l.Register(Config{ID: 7, Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range []struct {
		cfg    Config
		reason string
	}{
		{Config{SocketPath: p, ID: 7, Secret: "wrong"}, "incorrect secret"},
		{Config{SocketPath: p, ID: 7}, "incorrect secret"},
		{Config{SocketPath: p, ID: 8, Secret: "s3cret"}, "unmatched interface id 8"},
		{Config{SocketPath: p, ID: 7, Secret: "s3cret", Mode: ModeIP}, "mode mismatch"},
	} {
		_, err := Dial(ctx, c.cfg)
		var de *DisconnectError
		if !errors.As(err, &de) || de.Reason != c.reason {
			t.Errorf("%+v: got %v, want reason %q", c.cfg, err, c.reason)
		}
	}
	s, err := Dial(ctx, Config{SocketPath: p, ID: 7, Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := iface.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Dial(ctx, Config{SocketPath: p, ID: 7, Secret: "s3cret"}); err == nil || !strings.Contains(err.Error(), "already connected") {
		t.Errorf("second slave: %v", err)
	}
	_ = s.Close()
	<-m.Done()
	_ = m.Close()
	// After the link ended, a new slave may attach.
	s2, err := Dial(ctx, Config{SocketPath: p, ID: 7, Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := iface.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = s2.Close()
	_ = m2.Close()
}
