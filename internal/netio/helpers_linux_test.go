package netio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

var lo = netip.MustParseAddr("127.0.0.1")

// listenT opens an rx socket on cfg (127.0.0.1:0 when Local is unset),
// closed when the test ends.
func listenT(t testing.TB, cfg Config) *Conn {
	t.Helper()
	if !cfg.Local.IsValid() {
		cfg.Local = netip.AddrPortFrom(lo, 0)
	}
	c, err := Listen(cfg)
	if err != nil {
		t.Fatalf("Listen(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dialT opens a tx socket to remote, closed when the test ends.
func dialT(t testing.TB, cfg Config, remote netip.AddrPort) *Conn {
	t.Helper()
	cfg.Remote = remote
	c, err := Dial(cfg)
	if err != nil {
		t.Fatalf("Dial(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// testPackets returns n packets of the given sizes (cycled), each a
// 20-byte header (its index in the first 4 bytes) plus a payload whose
// bytes depend on index and offset, so a shifted boundary shows.
func testPackets(n int, sizes ...int) (hdrs, pays [][]byte) {
	for i := range n {
		size := sizes[i%len(sizes)]
		p := make([]byte, size)
		for j := range p {
			p[j] = byte(i*7 + j)
		}
		if size >= 4 {
			binary.BigEndian.PutUint32(p, uint32(i))
		}
		h := min(20, size)
		hdrs, pays = append(hdrs, p[:h]), append(pays, p[h:])
	}
	return hdrs, pays
}

func fill(t testing.TB, b *Batch, hdrs, pays [][]byte) {
	t.Helper()
	b.Reset()
	for i := range hdrs {
		if !b.Add(hdrs[i], pays[i]) {
			t.Fatalf("Add %d refused", i)
		}
	}
}

// received is one datagram as Recv handed it over.
type received struct {
	data []byte
	msg  int // index of the Message (across Recv calls) it came in
	seg  int // that Message's SegSize
	from netip.AddrPort
	at   int64
}

// recvN receives until n datagrams have arrived, within a deadline, and
// returns copies.
func recvN(t testing.TB, c *Conn, rb *RecvBatch, n int) []received {
	t.Helper()
	var out []received
	msg := 0
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	defer c.SetReadDeadline(time.Time{})
	for len(out) < n {
		ms, err := c.Recv(rb)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("got %d datagrams of %d before the deadline: %s", len(out), n, summary(out))
			}
			t.Fatal(err)
		}
		for _, m := range ms {
			for i := range m.NumSegments() {
				out = append(out, received{append([]byte(nil), m.Segment(i)...), msg, m.SegSize, m.From, m.At})
			}
			msg++
		}
	}
	if len(out) > n {
		t.Fatalf("got %d datagrams, want %d", len(out), n)
	}
	return out
}

// checkSame fails unless got holds exactly the packets hdrs+pays, in order.
func checkSame(t testing.TB, got []received, hdrs, pays [][]byte) {
	t.Helper()
	if len(got) != len(hdrs) {
		t.Fatalf("got %d datagrams, want %d", len(got), len(hdrs))
	}
	for i := range hdrs {
		want := append(append([]byte(nil), hdrs[i]...), pays[i]...)
		if string(got[i].data) != string(want) {
			t.Fatalf("datagram %d: %d bytes %x…, want %d bytes %x…", i, len(got[i].data), head(got[i].data), len(want), head(want))
		}
	}
}

func head(b []byte) []byte { return b[:min(8, len(b))] }

// summary lists up to 8 datagrams for a failure message.
func summary(rs []received) string {
	var b strings.Builder
	for i, r := range rs {
		if i == 8 {
			fmt.Fprintf(&b, " …")
			break
		}
		fmt.Fprintf(&b, " %q from %v", head(r.data), r.from)
	}
	return b.String()
}
