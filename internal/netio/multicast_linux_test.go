package netio

import (
	"fmt"
	"net/netip"
	"testing"

	"mediamesh/internal/testutil"
)

// mcastNet is two namespaces joined by a veth pair: the sender side has
// two addresses (two sources), the receiver side one.
type mcastNet struct {
	tx, rx          *testutil.NS
	src1, src2, rx1 netip.Addr
}

func newMcastNet(t *testing.T) *mcastNet {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	n := &mcastNet{
		tx:   testutil.NetNS(t, "tx"),
		rx:   testutil.NetNS(t, "rx"),
		src1: netip.MustParseAddr("10.9.0.1"),
		src2: netip.MustParseAddr("10.9.0.3"),
		rx1:  netip.MustParseAddr("10.9.0.2"),
	}
	txDev, _ := testutil.Veth(t, n.tx, n.src1.String(), n.rx, n.rx1.String())
	if b, err := n.tx.Exec(t.Context(), "ip", "addr", "add", n.src2.String()+"/24", "dev", txDev).CombinedOutput(); err != nil {
		t.Fatalf("second source address: %v: %s", err, b)
	}
	return n
}

// listenIn opens an rx socket inside ns.
func listenIn(t *testing.T, ns *testutil.NS, cfg Config) *Conn {
	t.Helper()
	var c *Conn
	if err := ns.Do(func() (err error) { c, err = Listen(cfg); return err }); err != nil {
		t.Fatalf("Listen(%+v) in %s: %v", cfg, ns.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dialIn opens a multicast sender from src inside ns.
func dialIn(t *testing.T, ns *testutil.NS, src netip.Addr, remote netip.AddrPort) *Conn {
	t.Helper()
	var c *Conn
	cfg := Config{Local: netip.AddrPortFrom(src, 0), Remote: remote, Interface: src}
	if err := ns.Do(func() (err error) { c, err = Dial(cfg); return err }); err != nil {
		t.Fatalf("Dial(%+v) in %s: %v", cfg, ns.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func sendText(t *testing.T, c *Conn, mode Mode, texts ...string) {
	t.Helper()
	b := NewBatch(len(texts), 2)
	for _, s := range texts {
		b.Add([]byte(s), nil)
	}
	if n, err := c.Send(b, mode, 0); err != nil || n != len(texts) {
		t.Fatalf("Send = %d, %v", n, err)
	}
}

// texts returns n strings "<prefix><i>", all of one length, so GSO
// sends them as one run.
func texts(prefix string, n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return s
}

// TestMulticastAnySource: an any-source receiver behind a veth gets both
// sources, in every send mode; GSO super-datagrams cross the link whole
// and arrive coalesced when GRO is on.
func TestMulticastAnySource(t *testing.T) {
	n := newMcastNet(t)
	group := netip.MustParseAddrPort("239.10.1.1:5004")
	rx := listenIn(t, n.rx, Config{Local: group, Interface: n.rx1, GRO: true})
	if rx.LocalAddr() != group {
		t.Fatalf("LocalAddr %v, want the group %v", rx.LocalAddr(), group)
	}
	tx1, tx2 := dialIn(t, n.tx, n.src1, group), dialIn(t, n.tx, n.src2, group)
	rb := NewRecvBatch(16, 1<<16)
	for _, mode := range []Mode{SendEach, SendMmsg, SendGSO} {
		sendText(t, tx1, mode, texts("one-", 20)...)
		sendText(t, tx2, mode, texts("two-", 20)...)
		from := map[netip.Addr]int{}
		got := recvN(t, rx, rb, 40)
		for _, r := range got {
			from[r.from.Addr()]++
		}
		msgs, want := got[len(got)-1].msg+1, 40
		if mode == SendGSO {
			want = 2 // one super-datagram per sender
		}
		if msgs != want {
			t.Errorf("%v: %d messages, want %d", mode, msgs, want)
		}
		if from[n.src1] != 20 || from[n.src2] != 20 {
			t.Fatalf("%v: datagrams by source %v, want 20 from each", mode, from)
		}
	}
}

// TestMulticastSourceSpecific: a source-specific receiver gets the allowed
// source only, while an any-source receiver sharing group and port
// (ReusePort) gets both. It is also the regression test for SO_REUSEPORT
// on multicast receivers (see Config.ReusePort): with it, the kernel
// steered the other source's datagrams into the source-specific socket.
func TestMulticastSourceSpecific(t *testing.T) {
	n := newMcastNet(t)
	group := netip.MustParseAddrPort("239.10.1.2:5004")
	ssm := listenIn(t, n.rx, Config{Local: group, Interface: n.rx1, Source: n.src1, ReusePort: true})
	asm := listenIn(t, n.rx, Config{Local: group, Interface: n.rx1, ReusePort: true})
	good, bad := dialIn(t, n.tx, n.src1, group), dialIn(t, n.tx, n.src2, group)

	sendText(t, bad, SendMmsg, "bad-0", "bad-1", "bad-2")
	sendText(t, good, SendMmsg, "good-0", "good-1", "good-2")
	// Once the any-source socket has all six, the kernel has made its
	// per-socket decision for every one of them (one delivery pass per
	// datagram), so the end marker below is queued after them.
	if got := recvN(t, asm, NewRecvBatch(8, 2048), 6); len(got) != 6 {
		t.Fatal("any-source receiver incomplete")
	}
	sendText(t, good, SendMmsg, "end")
	var seen []string
	for _, r := range recvN(t, ssm, NewRecvBatch(8, 2048), 4) {
		if r.from.Addr() != n.src1 {
			t.Fatalf("source-specific receiver got %q from %v", r.data, r.from)
		}
		seen = append(seen, string(r.data))
	}
	if fmt.Sprint(seen) != "[good-0 good-1 good-2 end]" {
		t.Fatalf("source-specific receiver got %v", seen)
	}
}

// TestMulticastGroupIsolation: sockets bound to two groups on one port
// each see their own group only (st2110.md §11: bind to the group).
func TestMulticastGroupIsolation(t *testing.T) {
	n := newMcastNet(t)
	ga, gb := netip.MustParseAddrPort("239.10.2.1:5004"), netip.MustParseAddrPort("239.10.2.2:5004")
	rxA := listenIn(t, n.rx, Config{Local: ga, Interface: n.rx1})
	rxB := listenIn(t, n.rx, Config{Local: gb, Interface: n.rx1})
	txA, txB := dialIn(t, n.tx, n.src1, ga), dialIn(t, n.tx, n.src1, gb)

	sendText(t, txB, SendMmsg, "b-0", "b-1")
	sendText(t, txA, SendMmsg, "a-0", "a-1")
	for _, r := range recvN(t, rxB, NewRecvBatch(8, 2048), 2) {
		if r.data[0] != 'b' {
			t.Fatalf("group B socket got %q", r.data)
		}
	}
	sendText(t, txA, SendMmsg, "a-end")
	var seen []string
	for _, r := range recvN(t, rxA, NewRecvBatch(8, 2048), 3) {
		seen = append(seen, string(r.data))
	}
	if fmt.Sprint(seen) != "[a-0 a-1 a-end]" {
		t.Fatalf("group A socket got %v", seen)
	}
}
