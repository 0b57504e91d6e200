package netio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"mediamesh/internal/testutil"
)

// sendCases are the batches TestSendRecv sends in every mode.
var sendCases = []struct {
	name  string
	n     int
	sizes []int
	runs  int // GSO runs
}{
	{"64 full plus short", 65, append(repeat(64, 1000), 300), 2},
	{"63 full plus short", 64, append(repeat(63, 1000), 300), 1},
	{"1220 x 64", 64, []int{1220}, 2},
	{"mixed", 11, []int{100, 100, 100, 50, 100, 100, 200, 200, 0, 30, 30}, 5},
	{"one", 1, []int{1220}, 1},
}

func TestSendRecv(t *testing.T) {
	for _, gro := range []bool{false, true} {
		for _, mode := range []Mode{SendEach, SendMmsg, SendGSO} {
			for _, tc := range sendCases {
				t.Run(fmt.Sprintf("gro=%v/mode=%v/%s", gro, mode, tc.name), func(t *testing.T) {
					t.Parallel()
					rx := listenT(t, Config{GRO: gro, RecvBuffer: 4 << 20})
					tx := dialT(t, Config{SendBuffer: 4 << 20}, rx.LocalAddr())
					if rx.Caps().GRO != gro || !tx.Caps().GSO {
						t.Fatalf("caps rx %+v tx %+v", rx.Caps(), tx.Caps())
					}
					hdrs, pays := testPackets(tc.n, tc.sizes...)
					b := NewBatch(tc.n, 2)
					fill(t, b, hdrs, pays)
					n, err := tx.Send(b, mode, 0)
					if err != nil || n != tc.n {
						t.Fatalf("Send = %d, %v; want %d", n, err, tc.n)
					}
					got := recvN(t, rx, NewRecvBatch(8, 1<<16), tc.n)
					checkSame(t, got, hdrs, pays)
					for _, r := range got {
						if r.from != tx.LocalAddr() {
							t.Fatalf("From = %v, want %v", r.from, tx.LocalAddr())
						}
					}
					// Syscalls: one per packet, one per batch, one per batch.
					if want := map[Mode]uint64{SendEach: uint64(tc.n), SendMmsg: 1, SendGSO: 1}[mode]; tx.Stats().Syscalls != want {
						t.Errorf("tx syscalls %d, want %d", tx.Stats().Syscalls, want)
					}
					// Messages: with GRO a GSO run arrives as one.
					msgs, wantMsgs := got[len(got)-1].msg+1, tc.n
					if gro && mode == SendGSO {
						wantMsgs = tc.runs
					}
					if msgs != wantMsgs {
						t.Errorf("%d messages, want %d", msgs, wantMsgs)
					}
					st, bytes := rx.Stats(), 0
					for _, s := range got {
						bytes += len(s.data)
					}
					if st.Packets != uint64(tc.n) || st.Bytes != uint64(bytes) || tx.Stats().Packets != uint64(tc.n) || tx.Stats().Bytes != uint64(bytes) {
						t.Errorf("rx %+v tx %+v, want %d packets %d bytes", st, tx.Stats(), tc.n, bytes)
					}
				})
			}
		}
	}
}

func TestSendParts(t *testing.T) {
	t.Parallel()
	rx := listenT(t, Config{GRO: true})
	tx := dialT(t, Config{}, rx.LocalAddr())
	// Four parts per packet, as a sender splitting RTP header, extended
	// sequence number, SRD and payload would; the kernel segments across
	// iovec boundaries.
	const n = 40
	b := NewBatch(n, 4)
	var want [][]byte
	for i := range n {
		p := []byte(fmt.Sprintf("%012d|ext|srd-%02d|payload-%04d", i, i%10, i*3))
		b.AddParts(0, p[:12], p[12:16], p[16:23], p[23:])
		want = append(want, p)
	}
	if n, err := tx.Send(b, SendGSO, 0); err != nil || n != 40 {
		t.Fatalf("Send = %d, %v", n, err)
	}
	checkSame(t, recvN(t, rx, NewRecvBatch(4, 1<<16), n), want, make([][]byte, n))
}

func TestConcurrentSend(t *testing.T) {
	t.Parallel()
	rx := listenT(t, Config{RecvBuffer: 4 << 20})
	tx := dialT(t, Config{}, rx.LocalAddr())
	const workers, rounds, per = 4, 10, 16
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			hdrs, pays := testPackets(per, 200+w)
			b := NewBatch(per, 2)
			fill(t, b, hdrs, pays)
			for r := range rounds {
				if n, err := tx.Send(b, Mode(r%3), 0); err != nil || n != per {
					errs <- fmt.Errorf("worker %d: Send = %d, %v", w, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	recvN(t, rx, NewRecvBatch(64, 2048), workers*rounds*per)
}

func TestCloseWakesRecv(t *testing.T) {
	testutil.CheckLeaks(t)
	rx, err := Listen(Config{Local: netip.AddrPortFrom(lo, 0)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { // exits when Recv returns; the test waits on done
		_, err := rx.Recv(NewRecvBatch(4, 2048))
		done <- err
	}()
	// Wait until the reader is parked in the poller, then close.
	testutil.Eventually(t, 5*time.Second, func() error {
		buf := make([]byte, 1<<16)
		s := string(buf[:runtime.Stack(buf, true)])
		if strings.Contains(s, "[IO wait") && strings.Contains(s, "netio.(*Conn).Recv") {
			return nil
		}
		return errors.New("reader not blocked yet")
	})
	if err := rx.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Recv after Close: %v, want net.ErrClosed", err)
	}
	if err := rx.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := rx.Recv(NewRecvBatch(1, 64)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Recv on closed: %v", err)
	}
	if _, err := rx.Send(batchOf(t, sized(10), 2), SendMmsg, 0); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Send on closed: %v", err)
	}
}

func TestReadDeadline(t *testing.T) {
	t.Parallel()
	rx := listenT(t, Config{})
	if err := rx.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := rx.Recv(NewRecvBatch(1, 64)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Recv = %v, want os.ErrDeadlineExceeded", err)
	}
}

func TestBufferForce(t *testing.T) {
	testutil.RequireRoot(t)
	t.Parallel()
	const want = 32 << 20 // above this host's rmem_max, so only FORCE grants it
	rx := listenT(t, Config{RecvBuffer: want, SendBuffer: want})
	if c := rx.Caps(); c.RecvBuffer < want || c.SendBuffer < want {
		t.Fatalf("caps %+v, want both buffers ≥ %d", c, want)
	}
	def := listenT(t, Config{})
	if c := def.Caps(); c.RecvBuffer <= 0 || c.RecvBuffer >= want {
		t.Fatalf("default caps %+v", c)
	}
}

func TestInterfaceByIP(t *testing.T) {
	t.Parallel()
	ifi, err := InterfaceByIP(lo)
	if err != nil || ifi.Flags&net.FlagLoopback == 0 {
		t.Fatalf("InterfaceByIP(127.0.0.1) = %+v, %v", ifi, err)
	}
	for _, ip := range []netip.Addr{netip.MustParseAddr("192.0.2.77"), {}} {
		_, err := InterfaceByIP(ip)
		if !errors.Is(err, ErrNotLocal) || !strings.Contains(err.Error(), "is not an address of this host (addresses: ") ||
			!strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("InterfaceByIP(%v) = %v", ip, err)
		}
	}
	_, err = Listen(Config{Local: netip.MustParseAddrPort("239.9.9.9:5004"), Interface: netip.MustParseAddr("192.0.2.77")})
	if !errors.Is(err, ErrNotLocal) || !strings.Contains(err.Error(), "192.0.2.77 is not an address of this host") {
		t.Fatalf("Listen with a foreign interface: %v", err)
	}
}

func taiNow(t testing.TB) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_TAI, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Nano()
}

func TestTxTime(t *testing.T) {
	t.Parallel()
	rx := listenT(t, Config{GRO: true})
	tx, err := Dial(Config{Remote: rx.LocalAddr(), TxTime: true})
	if err != nil {
		// Without CAP_NET_ADMIN the kernel refuses CLOCK_TAI.
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "SO_TXTIME") {
			t.Fatalf("Dial with TxTime: %v, want ErrUnsupported naming SO_TXTIME", err)
		}
		t.Skipf("SO_TXTIME refused: %v", err)
	}
	defer tx.Close()
	if !tx.Caps().TxTime {
		t.Fatalf("caps %+v", tx.Caps())
	}
	// No etf qdisc on lo: the launch time is carried and ignored, the
	// packets arrive. Per-packet times split GSO runs.
	now := taiNow(t)
	hdrs, pays := testPackets(6, 500)
	b := NewBatch(6, 2)
	for i := range hdrs {
		b.AddAt(hdrs[i], pays[i], now+int64(i/3)*1000) // two runs of three
	}
	for _, mode := range []Mode{SendGSO, SendMmsg, SendEach} {
		if n, err := tx.Send(b, mode, now); err != nil || n != 6 {
			t.Fatalf("%v: Send = %d, %v", mode, n, err)
		}
		checkSame(t, recvN(t, rx, NewRecvBatch(8, 1<<16), 6), hdrs, pays)
	}
	if st := tx.Stats(); st.TxTimeErrors != 0 {
		t.Fatalf("TxTimeErrors %d without an etf qdisc", st.TxTimeErrors)
	}
}

func TestTimestamps(t *testing.T) {
	t.Parallel()
	rx := listenT(t, Config{Timestamps: true})
	if !rx.Caps().Timestamps {
		t.Fatalf("caps %+v", rx.Caps())
	}
	tx := dialT(t, Config{}, rx.LocalAddr())
	before := time.Now().UnixNano()
	if _, err := tx.Send(batchOf(t, sized(100, 100), 2), SendMmsg, 0); err != nil {
		t.Fatal(err)
	}
	got := recvN(t, rx, NewRecvBatch(4, 2048), 2)
	after := time.Now().UnixNano()
	for _, r := range got {
		if r.at < before || r.at > after {
			t.Fatalf("At %d not within [%d, %d]", r.at, before, after)
		}
	}
}

func TestRxQueueDropsAndTruncation(t *testing.T) {
	t.Parallel()
	// A tiny receive buffer (the kernel's minimum) overflows at once.
	rx := listenT(t, Config{RecvBuffer: 1, GRO: true})
	tx := dialT(t, Config{}, rx.LocalAddr())
	b := batchOf(t, sized(repeat(64, 1000)...), 2)
	for range 4 {
		if _, err := tx.Send(b, SendMmsg, 0); err != nil {
			t.Fatal(err)
		}
	}
	// SO_RXQ_OVFL rides on datagrams queued after the drops: drain what
	// fitted, then send one more.
	rb := NewRecvBatch(64, 2048)
	ms, err := rx.Recv(rb)
	if err != nil || len(ms) == 0 {
		t.Fatalf("Recv = %d, %v", len(ms), err)
	}
	if _, err := tx.Send(batchOf(t, sized(10), 2), SendMmsg, 0); err != nil {
		t.Fatal(err)
	}
	if ms, err = rx.Recv(rb); err != nil {
		t.Fatal(err)
	}
	if st := rx.Stats(); st.RxQueueDrops == 0 || st.Truncated != 0 {
		t.Fatalf("stats %+v, want drops and no truncation", st)
	}
	// A GRO super-datagram into a small buffer is cut short and counted.
	rx2 := listenT(t, Config{GRO: true})
	tx2 := dialT(t, Config{}, rx2.LocalAddr())
	if _, err := tx2.Send(batchOf(t, sized(1000, 1000, 1000), 2), SendGSO, 0); err != nil {
		t.Fatal(err)
	}
	ms, err = rx2.Recv(NewRecvBatch(1, 1500))
	if err != nil || len(ms) != 1 || len(ms[0].Buf) != 1500 || rx2.Stats().Truncated != 1 {
		t.Fatalf("Recv = %d msgs, %v; stats %+v", len(ms), err, rx2.Stats())
	}
}

// TestGSOFallback provokes the EIO the kernel answers when a socket cannot
// use GSO (UDP-Lite: udp_send_skb refuses it), and checks the batch is
// still delivered and the downgrade reported once.
func TestGSOFallback(t *testing.T) {
	t.Parallel()
	rx, err := listen(Config{Local: netip.AddrPortFrom(lo, 0)}, unix.IPPROTO_UDPLITE)
	if errors.Is(err, unix.EPROTONOSUPPORT) {
		t.Skip("no UDP-Lite in this kernel")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := dial(Config{Remote: rx.LocalAddr()}, unix.IPPROTO_UDPLITE)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if !tx.Caps().GSO {
		t.Skip("no UDP_SEGMENT on UDP-Lite sockets")
	}
	hdrs, pays := testPackets(10, 300)
	b := NewBatch(10, 2)
	fill(t, b, hdrs, pays)
	n, err := tx.Send(b, SendGSO, 0)
	if n != 10 || !errors.Is(err, ErrGSODisabled) || !errors.Is(err, unix.EIO) {
		t.Fatalf("first Send = %d, %v; want 10, ErrGSODisabled", n, err)
	}
	if n, err := tx.Send(b, SendGSO, 0); n != 10 || err != nil {
		t.Fatalf("second Send = %d, %v; want 10, nil", n, err)
	}
	if st := tx.Stats(); st.GSOFallbacks != 1 || tx.Caps().GSO || st.Packets != 20 {
		t.Fatalf("stats %+v caps %+v", st, tx.Caps())
	}
	got := recvN(t, rx, NewRecvBatch(32, 2048), 20)
	checkSame(t, got[:10], hdrs, pays)
	checkSame(t, got[10:], hdrs, pays)
}

func TestSendRecvAllocs(t *testing.T) {
	for _, mode := range []Mode{SendEach, SendMmsg, SendGSO} {
		t.Run("mode="+mode.String(), func(t *testing.T) {
			rx := listenT(t, Config{GRO: true, Timestamps: true, RecvBuffer: 4 << 20})
			tx := dialT(t, Config{SendBuffer: 4 << 20}, rx.LocalAddr())
			hdrs, pays := testPackets(16, 1220)
			b := NewBatch(16, 2)
			fill(t, b, hdrs, pays)
			rb := NewRecvBatch(16, 1<<16)
			var failed error
			allocs := testing.AllocsPerRun(100, func() {
				if _, err := tx.Send(b, mode, 0); err != nil {
					failed = err
					return
				}
				for got := 0; got < 16; {
					ms, err := rx.Recv(rb)
					if err != nil {
						failed = err
						return
					}
					for _, m := range ms {
						got += m.NumSegments()
					}
				}
			})
			if failed != nil {
				t.Fatal(failed)
			}
			if allocs != 0 {
				t.Fatalf("Send+Recv allocate %v times per batch", allocs)
			}
		})
	}
}
