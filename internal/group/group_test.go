package group

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mediamesh/internal/mcm"
	"mediamesh/internal/memif"
	"mediamesh/internal/testutil"
)

const bufSize = 24 + 1000 // sysdata + payload

// link makes a real memif pair over a unix socket: the returned master is
// the proxy's side, the slave the app's.
func link(t *testing.T, log2 uint8) (master, slave *memif.Conn) {
	t.Helper()
	dir := testutil.TempRunDir(t)
	path := filepath.Join(dir, "m.sock")
	l, err := memif.Listen(memif.ListenConfig{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	cfg := memif.Config{SocketPath: path, Name: "test", Log2RingSize: log2, BufferSize: bufSize}
	iface, err := l.Register(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var (
		wg   sync.WaitGroup
		aerr error
	)
	wg.Go(func() { master, aerr = iface.Accept(ctx) })
	slave, err = memif.Dial(ctx, cfg)
	wg.Wait()
	if err != nil || aerr != nil {
		t.Fatalf("link: dial %v, accept %v", err, aerr)
	}
	t.Cleanup(func() { _ = slave.Close(); _ = master.Close() })
	return master, slave
}

func newGroup(t *testing.T, cfg Config) *Group {
	t.Helper()
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.Start()
	// Callers also defer g.Close(): cleanups run last-in first-out, so
	// links made after the group would be closed (their rings unmapped)
	// while its forwarder still reads them.
	t.Cleanup(func() { _ = g.Close() })
	return g
}

// send puts buffer k (sysdata with zero seq and timestamp, then k) on the
// app sender's ring, waiting for room.
func send(t *testing.T, q *memif.TxQueue, k int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.WaitRoom(ctx, 1); err != nil {
		t.Fatalf("buffer %d: %v", k, err)
	}
	b, err := q.Buffer(0)
	if err != nil {
		t.Fatal(err)
	}
	sd := mcm.Sysdata{PayloadLen: 8}
	if _, err := sd.MarshalTo(b); err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(b[24:], uint64(k))
	if err := q.SetLength(0, bufSize, false); err != nil {
		t.Fatal(err)
	}
	if err := q.Publish(1); err != nil {
		t.Fatal(err)
	}
}

type got struct {
	k   uint64
	seq uint32
	ts  int64
}

// receive reads buffers from an app receiver's ring until buffer n-1
// arrives (or timeout), holding each for hold.
func receive(q *memif.RxQueue, n int, hold time.Duration, timeout time.Duration) ([]got, error) {
	var out []got
	deadline := time.Now().Add(timeout)
	for len(out) == 0 || out[len(out)-1].k != uint64(n-1) {
		if q.Available() == 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return out, fmt.Errorf("timeout after %d buffers", len(out))
			}
			if err := q.WaitTimeout(left); err != nil {
				return out, err
			}
			continue
		}
		b, _, err := q.Next()
		if err != nil {
			return out, err
		}
		var sd mcm.Sysdata
		if _, err := sd.Unmarshal(b); err != nil {
			return out, err
		}
		out = append(out, got{k: binary.LittleEndian.Uint64(b[24:]), seq: sd.Seq, ts: sd.Timestamp})
		time.Sleep(hold)
		q.Release(1)
	}
	return out, nil
}

func TestFanOutInOrderAndStamped(t *testing.T) {
	testutil.CheckLeaks(t)
	g := newGroup(t, Config{URN: "urn:t"})
	defer func() { _ = g.Close() }() // stop the forwarder before the links' cleanups unmap their rings
	const n, receivers = 300, 3
	var results [receivers][]got
	var errs [receivers]error
	var wg sync.WaitGroup
	var counters [receivers]Counters
	for r := range receivers {
		m, s := link(t, 4)
		if err := g.AddReceiver(fmt.Sprint("rx", r), m.Tx(0), &counters[r]); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { results[r], errs[r] = receive(s.Rx(0), n, 0, 10*time.Second) })
	}
	m, s := link(t, 4)
	var sc Counters
	if err := g.SetSender("tx", m.Rx(0), &sc); err != nil {
		t.Fatal(err)
	}
	for k := range n {
		send(t, s.Tx(0), k)
		time.Sleep(20 * time.Microsecond) // a paced sender, as live media is
	}
	wg.Wait()
	for r := range receivers {
		if errs[r] != nil {
			t.Fatalf("receiver %d: %v", r, errs[r])
		}
		// In order, stamped with the group's sequence (k+1); whatever a
		// receiver lost while it lagged is counted as dropped.
		last := -1
		for _, gt := range results[r] {
			if int(gt.k) <= last || gt.seq != uint32(gt.k+1) || gt.ts == 0 {
				t.Fatalf("receiver %d after %d: got k=%d seq=%d ts=%d", r, last, gt.k, gt.seq, gt.ts)
			}
			last = int(gt.k)
		}
		c := &counters[r]
		if got := uint64(len(results[r])); c.Buffers.Load() != got || got+c.Dropped.Load() != n {
			t.Fatalf("receiver %d: read %d, delivered %d, dropped %d of %d", r, got, c.Buffers.Load(), c.Dropped.Load(), n)
		}
	}
	if sc.Buffers.Load() != n {
		t.Fatalf("sender counted %d buffers", sc.Buffers.Load())
	}
	_ = g.RemoveSender("tx")
	for r := range receivers {
		_ = g.RemoveReceiver(fmt.Sprint("rx", r))
	}
}

func TestStoppedReceiverNeverStallsOthers(t *testing.T) {
	testutil.CheckLeaks(t)
	g := newGroup(t, Config{URN: "urn:t"})
	defer func() { _ = g.Close() }() // stop the forwarder before the links' cleanups unmap their rings
	const n = 500
	fastM, fastS := link(t, 4)
	stuckM, _ := link(t, 4) // its app never reads
	var fc, sc Counters
	if err := g.AddReceiver("fast", fastM.Tx(0), &fc); err != nil {
		t.Fatal(err)
	}
	if err := g.AddReceiver("stuck", stuckM.Tx(0), &sc); err != nil {
		t.Fatal(err)
	}
	var res []got
	var rerr error
	var wg sync.WaitGroup
	wg.Go(func() { res, rerr = receive(fastS.Rx(0), n, 0, 10*time.Second) })
	tm, ts := link(t, 4)
	if err := g.SetSender("tx", tm.Rx(0), &Counters{}); err != nil {
		t.Fatal(err)
	}
	for k := range n {
		send(t, ts.Tx(0), k) // would time out if the stuck receiver held the sender
	}
	wg.Wait()
	if rerr != nil || uint64(len(res)) != fc.Buffers.Load() || fc.Buffers.Load()+fc.Dropped.Load() != n {
		t.Fatalf("fast receiver: read %d, %v; delivered %d dropped %d; stuck delivered %d dropped %d",
			len(res), rerr, fc.Buffers.Load(), fc.Dropped.Load(), sc.Buffers.Load(), sc.Dropped.Load())
	}
	// The stuck receiver got its ring's worth (16) and the rest was dropped,
	// apart from at most Budget still pending.
	testutil.Eventually(t, 2*time.Second, func() error {
		got := sc.Buffers.Load() + sc.Dropped.Load()
		if got < n-DefaultBudget || got > n {
			return fmt.Errorf("stuck receiver: delivered %d + dropped %d of %d", sc.Buffers.Load(), sc.Dropped.Load(), n)
		}
		return nil
	})
	if sc.Buffers.Load() != 16 {
		t.Fatalf("stuck receiver should hold a full ring (16), got %d", sc.Buffers.Load())
	}
}

func TestReliableWaitsForSlowest(t *testing.T) {
	testutil.CheckLeaks(t)
	g := newGroup(t, Config{URN: "urn:t"})
	defer func() { _ = g.Close() }() // stop the forwarder before the links' cleanups unmap their rings
	g.SetReliable()
	const n = 200
	var wg sync.WaitGroup
	var res [2][]got
	var errs [2]error
	holds := []time.Duration{0, 200 * time.Microsecond}
	for r := range 2 {
		m, s := link(t, 2)
		if err := g.AddReceiver(fmt.Sprint(r), m.Tx(0), &Counters{}); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { res[r], errs[r] = receive(s.Rx(0), n, holds[r], 20*time.Second) })
	}
	m, s := link(t, 2)
	if err := g.SetSender("tx", m.Rx(0), &Counters{}); err != nil {
		t.Fatal(err)
	}
	for k := range n {
		send(t, s.Tx(0), k)
	}
	wg.Wait()
	for r := range 2 {
		if errs[r] != nil || len(res[r]) != n {
			t.Fatalf("receiver %d: %d buffers, %v", r, len(res[r]), errs[r])
		}
		for i, gt := range res[r] {
			if gt.k != uint64(i) {
				t.Fatalf("receiver %d: buffer %d is %d", r, i, gt.k)
			}
		}
	}
}

func TestMembershipChangesMidStream(t *testing.T) {
	testutil.CheckLeaks(t)
	g := newGroup(t, Config{URN: "urn:t", Reliable: true})
	defer func() { _ = g.Close() }() // stop the forwarder before the links' cleanups unmap their rings
	am, as := link(t, 4)
	if err := g.AddReceiver("a", am.Tx(0), &Counters{}); err != nil {
		t.Fatal(err)
	}
	tm, ts := link(t, 4)
	if err := g.SetSender("tx", tm.Rx(0), &Counters{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var res []got
	var rerr error
	wg.Go(func() { res, rerr = receive(as.Rx(0), 100, 0, 10*time.Second) })
	for k := range 50 {
		send(t, ts.Tx(0), k)
	}
	bm, _ := link(t, 4)
	if err := g.AddReceiver("b", bm.Tx(0), &Counters{}); err != nil {
		t.Fatal(err)
	}
	if err := g.RemoveReceiver("b"); err != nil {
		t.Fatal(err)
	}
	_ = bm.Close() // safe: the group no longer touches it
	// The sender goes; a new one takes over the group.
	if err := g.RemoveSender("tx"); err != nil {
		t.Fatal(err)
	}
	tm2, ts2 := link(t, 4)
	if err := g.SetSender("tx2", tm2.Rx(0), &Counters{}); err != nil {
		t.Fatal(err)
	}
	for k := 50; k < 100; k++ {
		send(t, ts2.Tx(0), k)
	}
	wg.Wait()
	if rerr != nil || len(res) != 100 || res[99].k != 99 {
		t.Fatalf("receiver: %d buffers, %v", len(res), rerr)
	}
}

func TestForwardAllocatesNothing(t *testing.T) {
	if testutil.RaceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	g := newGroup(t, Config{URN: "urn:t"})
	defer func() { _ = g.Close() }() // stop the forwarder before the links' cleanups unmap their rings
	rm, rs := link(t, 4)
	if err := g.AddReceiver("a", rm.Tx(0), &Counters{}); err != nil {
		t.Fatal(err)
	}
	tm, ts := link(t, 4)
	if err := g.SetSender("tx", tm.Rx(0), &Counters{}); err != nil {
		t.Fatal(err)
	}
	q, rq := ts.Tx(0), rs.Rx(0)
	k := 0
	step := func() {
		for q.Room() == 0 {
			time.Sleep(10 * time.Microsecond)
		}
		b, _ := q.Buffer(0)
		binary.LittleEndian.PutUint64(b[24:], uint64(k))
		_ = q.SetLength(0, bufSize, false)
		_ = q.Publish(1)
		for rq.Available() == 0 {
			_ = rq.WaitTimeout(time.Second)
		}
		_, _, _ = rq.Next()
		rq.Release(1)
		k++
	}
	for range 100 {
		step()
	}
	var before, after runtimeMem
	before.read()
	for range 2000 {
		step()
	}
	after.read()
	// The forwarder runs in its own goroutine: count process-wide mallocs
	// across 2000 buffers; a per-buffer allocation would show as ≥ 2000.
	if d := after.mallocs - before.mallocs; d > 200 {
		t.Fatalf("%d allocations for 2000 buffers through the group", d)
	}
}

var _ = os.Getpid
