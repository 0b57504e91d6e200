package memif

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A sender's buffer region, imported read-only into a receiver's link,
// lets the master forward the sender's descriptor instead of the bytes.
func TestImportRegionZeroCopy(t *testing.T) {
	checkLeaks(t)
	sm, ss := pair(t, Config{Name: "tx", BufferSize: 4096, Log2RingSize: 3}, Config{SocketPath: sockPath(t), Name: "tx", BufferSize: 4096, Log2RingSize: 3})
	rm, rs := pair(t, Config{Name: "rx", BufferSize: 4096, Log2RingSize: 3}, Config{SocketPath: sockPath(t), Name: "rx", BufferSize: 4096, Log2RingSize: 3, AcceptImports: true})

	payload := bytes.Repeat([]byte("zero-copy "), 100)
	if err := ss.Tx(0).Send(payload); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sm.Rx(0).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := sm.Rx(0).NextDesc()
	if err != nil {
		t.Fatal(err)
	}
	src := sm.Regions()[d.Region]
	ro, err := ReopenReadOnly(src.FD)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ro)
	idx, err := rm.ImportRegion(ro, uint64(len(src.Data)), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if idx != 2 {
		t.Fatalf("imported as region %d, want 2 (after the slave's 0 and 1)", idx)
	}
	q := rm.Tx(0)
	q.SetDesc(0, Desc{Region: idx, Offset: d.Offset, Length: d.Length})
	if err := q.Publish(1); err != nil {
		t.Fatal(err)
	}
	if err := rs.Rx(0).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	got, _, err := rs.Rx(0).Next()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("receiver read %q", got[:min(len(got), 20)])
	}
	off0 := q.Offered()
	rs.Rx(0).Release(1)
	if q.Offered() != off0+1 {
		t.Fatalf("release not visible: offered %d → %d", off0, q.Offered())
	}
	sm.Rx(0).Release(1)
	// A descriptor naming a region the slave does not have ends the link.
	q.SetDesc(0, Desc{Region: 9, Offset: 0, Length: 10})
	_ = q.Publish(1)
	_ = rs.Rx(0).Wait(ctx)
	if _, _, err := rs.Rx(0).Next(); !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrDisconnected) {
		t.Fatalf("bad region: %v", err)
	}
}

// A slave that did not agree to imports drops the link on IMPORT_REGION,
// as libmemif would on an unknown message.
func TestImportRefusedWithoutAgreement(t *testing.T) {
	checkLeaks(t)
	m, s := pair(t, Config{Name: "m"}, Config{SocketPath: sockPath(t), Name: "s"})
	ro, err := ReopenReadOnly(m.Regions()[1].FD)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ro)
	if _, err := m.ImportRegion(ro, 4096, 500*time.Millisecond); err == nil {
		t.Fatal("import accepted by a slave that did not agree")
	}
	select {
	case <-s.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("slave kept the link")
	}
}
