package group

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"mediamesh/internal/memif"
	"mediamesh/internal/testutil"
)

// zcLink links a receiver whose slave side accepts imported regions.
func zcLink(t *testing.T, log2 uint8) (master, slave *memif.Conn) {
	t.Helper()
	path := filepath.Join(testutil.TempRunDir(t), "z.sock")
	l, err := memif.Listen(memif.ListenConfig{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	cfg := memif.Config{SocketPath: path, Name: "zc", Log2RingSize: log2, BufferSize: bufSize}
	iface, err := l.Register(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var aerr error
	wg.Go(func() { master, aerr = iface.Accept(ctx) })
	cfg.AcceptImports = true
	slave, err = memif.Dial(ctx, cfg)
	wg.Wait()
	if err != nil || aerr != nil {
		t.Fatalf("link: %v %v", err, aerr)
	}
	t.Cleanup(func() { _ = slave.Close(); _ = master.Close() })
	return master, slave
}

// importSender maps the sender's buffer region into the receiver's link.
func importSender(t *testing.T, g *Group, rid string, sender, recv *memif.Conn) {
	t.Helper()
	reg := sender.Regions()[1]
	ro, err := memif.ReopenReadOnly(reg.FD)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ro)
	idx, err := recv.ImportRegion(ro, uint64(len(reg.Data)), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.SetImport(rid, "tx", 1, idx); err != nil {
		t.Fatal(err)
	}
}

func TestZeroCopyReceiverReadsInPlace(t *testing.T) {
	testutil.CheckLeaks(t)
	g := newGroup(t, Config{URN: "urn:zc", ZeroCopyMin: 1})
	defer func() { _ = g.Close() }() // stop the forwarder before the links' cleanups unmap their rings
	rm, rs := zcLink(t, 4)
	var rc Counters
	if err := g.AddZeroCopyReceiver("rx", rm.Tx(0), &rc); err != nil {
		t.Fatal(err)
	}
	cm, cs := link(t, 4) // a copy-mode receiver beside it
	if err := g.AddReceiver("copy", cm.Tx(0), &Counters{}); err != nil {
		t.Fatal(err)
	}
	tm, ts := link(t, 4)
	if err := g.SetSender("tx", tm.Rx(0), &Counters{}); err != nil {
		t.Fatal(err)
	}
	importSender(t, g, "rx", tm, rm)

	own := rs.Regions()[1].Data
	const n = 200
	var wg sync.WaitGroup
	var inPlace atomic.Int64
	var res, cres []got
	var rerr, cerr error
	wg.Go(func() {
		q := rs.Rx(0)
		deadline := time.Now().Add(10 * time.Second)
		for len(res) < n && time.Now().Before(deadline) {
			if q.Available() == 0 {
				_ = q.WaitTimeout(100 * time.Millisecond)
				continue
			}
			b, _, err := q.Next()
			if err != nil {
				rerr = err
				return
			}
			// In place: the bytes are not in the receiver's own buffers.
			p := uintptr(unsafe.Pointer(&b[0]))
			if p < uintptr(unsafe.Pointer(&own[0])) || p >= uintptr(unsafe.Pointer(&own[0]))+uintptr(len(own)) {
				inPlace.Add(1)
			}
			res = append(res, got{k: binary.LittleEndian.Uint64(b[24:])})
			q.Release(1)
		}
	})
	wg.Go(func() { cres, cerr = receive(cs.Rx(0), n, 0, 10*time.Second) })
	for k := range n {
		send(t, ts.Tx(0), k)
		time.Sleep(50 * time.Microsecond)
	}
	wg.Wait()
	if rerr != nil || cerr != nil {
		t.Fatal(rerr, cerr)
	}
	last := -1
	for _, r := range res {
		if int(r.k) <= last {
			t.Fatalf("out of order: %d after %d", r.k, last)
		}
		last = int(r.k)
	}
	if inPlace.Load() == 0 || rc.Buffers.Load()+rc.Dropped.Load() != n {
		t.Fatalf("in place %d of %d; delivered %d dropped %d", inPlace.Load(), len(res), rc.Buffers.Load(), rc.Dropped.Load())
	}
	if len(cres) == 0 {
		t.Fatal("the copy receiver got nothing")
	}
	t.Logf("%d of %d buffers read in place", inPlace.Load(), len(res))
	_ = g.RemoveSender("tx")
	_ = g.RemoveReceiver("rx")
	_ = g.RemoveReceiver("copy")
}

// A zero-copy receiver that stops giving buffers back is disconnected
// before it can stall the sender; the sender carries on.
func TestStalledZeroCopyReceiverIsEvicted(t *testing.T) {
	testutil.CheckLeaks(t)
	var stalled atomic.Value
	var rm *memif.Conn
	g := newGroup(t, Config{URN: "urn:zc", ZeroCopyMin: 1, OnStall: func(id string) {
		stalled.Store(id)
		rm.Disconnect("too slow")
	}})
	defer func() { _ = g.Close() }() // stop the forwarder before the links' cleanups unmap their rings
	var rs *memif.Conn
	rm, rs = zcLink(t, 4)
	_ = rs // never reads
	if err := g.AddZeroCopyReceiver("stuck", rm.Tx(0), &Counters{}); err != nil {
		t.Fatal(err)
	}
	tm, ts := link(t, 2) // 4-slot sender ring
	if err := g.SetSender("tx", tm.Rx(0), &Counters{}); err != nil {
		t.Fatal(err)
	}
	importSender(t, g, "stuck", tm, rm)
	for k := range 50 {
		send(t, ts.Tx(0), k) // fails after 10 s if the sender stalls
	}
	if stalled.Load() != "stuck" {
		t.Fatalf("OnStall got %v", stalled.Load())
	}
	select {
	case <-rs.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("the stalled receiver was not disconnected")
	}
	_ = g.RemoveReceiver("stuck")
	_ = g.RemoveSender("tx")
}

// A buffer read in place never changes under its reader: the sender gets
// a slot back only after every receiver released it, even when releases
// and deliveries interleave within one forwarder pass (a reliable group
// with an unpaced sender and a slow reader forces that).
func TestZeroCopyBuffersStableWhileHeld(t *testing.T) {
	testutil.CheckLeaks(t)
	g := newGroup(t, Config{URN: "urn:zc", ZeroCopyMin: 1, Reliable: true})
	defer func() { _ = g.Close() }() // stop the forwarder before the links' cleanups unmap their rings
	rm, rs := zcLink(t, 2)           // a 4-slot receiver ring under a 16-slot sender ring
	if err := g.AddZeroCopyReceiver("rx", rm.Tx(0), &Counters{}); err != nil {
		t.Fatal(err)
	}
	tm, ts := link(t, 4)
	if err := g.SetSender("tx", tm.Rx(0), &Counters{}); err != nil {
		t.Fatal(err)
	}
	importSender(t, g, "rx", tm, rm)
	const n = 400
	errc := make(chan error, 1)
	go func() {
		q := rs.Rx(0)
		for k := 0; k < n; {
			if q.Available() == 0 {
				if err := q.WaitTimeout(5 * time.Second); err != nil {
					errc <- err
					return
				}
				continue
			}
			b, _, err := q.Next()
			if err != nil {
				errc <- err
				return
			}
			want := byte(k)
			time.Sleep(time.Millisecond) // hold it while the sender runs ahead
			for i := 24; i < len(b); i++ {
				if b[i] != want {
					errc <- fmt.Errorf("buffer %d changed under its reader at byte %d: %d", k, i, b[i])
					return
				}
			}
			q.Release(1)
			k++
		}
		errc <- nil
	}()
	q := ts.Tx(0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for k := range n {
		if err := q.WaitRoom(ctx, 1); err != nil {
			t.Fatal(err)
		}
		b, _ := q.Buffer(0)
		clear(b[:24])
		for i := 24; i < len(b); i++ {
			b[i] = byte(k)
		}
		_ = q.SetLength(0, len(b), false)
		_ = q.Publish(1)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	_ = g.RemoveSender("tx")
	_ = g.RemoveReceiver("rx")
}
