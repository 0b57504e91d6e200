package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"mediamesh/internal/mcm"
	"mediamesh/internal/mediaclock"
	"mediamesh/internal/netio"
	"mediamesh/internal/pacing"
	"mediamesh/internal/pixfmt"
	"mediamesh/internal/st2110"
	"mediamesh/internal/testutil"
)

// The stream every ST 2110 benchmark moves: 1080p59.94 4:2:2 10-bit.
const (
	hdWidth  = 1920
	hdHeight = 1080
	hdPT     = 96
)

// rate5994 is 59.94 frames/s.
func rate5994() mediaclock.Rate { return mediaclock.Rate{Num: 60000, Den: 1001} }

// framePeriod is one 59.94 frame: the CPU budget of one stream.
const framePeriod = time.Second * 1001 / 60000

// perCore is how many streams one core carries at cpu per frame.
func perCore(cpu time.Duration) float64 {
	if cpu <= 0 {
		return 0
	}
	return float64(framePeriod) / float64(cpu)
}

// micros is d in µs, fractional.
func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// hdConfig is the st2110.Config of the benchmark stream with the app
// holding frames in f; Net is left for the caller.
func hdConfig(tb testing.TB, f pixfmt.Format) st2110.Config {
	tb.Helper()
	n, err := pixfmt.FrameSize(f, hdWidth, hdHeight)
	if err != nil {
		tb.Fatal(err)
	}
	l, err := mcm.NewLayout(uint32(n), mcm.FrameInfoSize)
	if err != nil {
		tb.Fatal(err)
	}
	return st2110.Config{
		Essence:     st2110.Video,
		PayloadType: hdPT,
		Layout:      l,
		Video:       st2110.VideoConfig{Width: hdWidth, Height: hdHeight, Rate: rate5994(), Format: f},
	}
}

// wireFrameBytes is one frame as pgroups: what goes on the wire.
const wireFrameBytes = hdWidth * hdHeight / 2 * 5

// appBuffer is an app buffer (sysdata, payload, metadata) holding one
// frame of random samples in the config's layout, with no timestamp, so a
// paced Sender puts it in the next frame period.
func appBuffer(tb testing.TB, cfg st2110.Config) []byte {
	tb.Helper()
	f := cfg.Video.Format
	n, err := pixfmt.FrameSize(f, hdWidth, hdHeight)
	if err != nil {
		tb.Fatal(err)
	}
	wire := make([]byte, hdWidth*hdHeight/2*f.PGroupBytes())
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range wire {
		wire[i] = byte(rng.Uint32())
	}
	l := cfg.Layout
	buf := make([]byte, l.Total)
	if err := pixfmt.Unpack(f, buf[l.Payload.Offset:l.Payload.Offset+uint32(n)], wire, hdWidth*hdHeight, 0, hdWidth*hdHeight/2); err != nil {
		tb.Fatal(err)
	}
	sd := mcm.Sysdata{PayloadLen: uint32(n)}
	if _, err := sd.MarshalTo(buf); err != nil {
		tb.Fatal(err)
	}
	return buf
}

// memSource is an app's tx ring in memory holding one buffer that the
// app puts again and again: put queues it once more, waitReleased waits
// for the Sender to give puts back. Nothing allocates per frame.
type memSource struct {
	buf   []byte
	mu    sync.Mutex
	puts  int // buffers put
	taken int
	freed int
	wake  chan struct{} // a put happened
	rel   chan struct{} // a Release happened
	timer *time.Timer
}

var _ st2110.Source = (*memSource)(nil)

func newMemSource(buf []byte) *memSource {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &memSource{buf: buf, wake: make(chan struct{}, 1), rel: make(chan struct{}, 1), timer: t}
}

func (s *memSource) put() {
	s.mu.Lock()
	s.puts++
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// waitReleased blocks until n puts were released, failing after 10 s
// (a Sender that stopped).
func (s *memSource) waitReleased(tb testing.TB, n int) {
	for {
		s.mu.Lock()
		done := s.freed >= n
		s.mu.Unlock()
		if done {
			return
		}
		s.timer.Reset(10 * time.Second)
		select {
		case <-s.rel:
			s.timer.Stop()
		case <-s.timer.C:
			tb.Fatalf("the sender released %d of %d buffers within 10 s", s.released(), n)
		}
	}
}

func (s *memSource) released() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.freed
}

func (s *memSource) Wait(ctx context.Context) error {
	for s.Available() == 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		}
	}
	return nil
}

func (s *memSource) Available() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts - s.taken
}

func (s *memSource) Next() ([]byte, bool, error) {
	s.mu.Lock()
	s.taken++
	s.mu.Unlock()
	return s.buf, false, nil
}

func (s *memSource) Release(n int) {
	s.mu.Lock()
	s.freed += n
	s.mu.Unlock()
	select {
	case s.rel <- struct{}{}:
	default:
	}
}

// memSink is an app's rx ring in memory whose app gives each slot back
// the moment it is published. Only the Receiver's goroutine calls its
// methods; delivered may be read from anywhere.
type memSink struct {
	slots     [][]byte
	next      int
	delivered atomic.Int64
	note      chan struct{} // a Publish happened
	timer     *time.Timer   // wait's, reused
}

var _ st2110.Sink = (*memSink)(nil)

func newMemSink(n, size int) *memSink {
	t := time.NewTimer(time.Hour)
	t.Stop()
	s := &memSink{note: make(chan struct{}, 1), timer: t}
	for range n {
		s.slots = append(s.slots, make([]byte, size))
	}
	return s
}

// wait blocks until n buffers were published and reports true, or false
// once none was published for idle. One goroutine at a time.
func (s *memSink) wait(n int64, idle time.Duration) bool {
	for s.delivered.Load() < n {
		s.timer.Reset(idle)
		select {
		case <-s.note:
			s.timer.Stop()
		case <-s.timer.C:
			return s.delivered.Load() >= n
		}
	}
	return true
}

func (s *memSink) Room() int                      { return len(s.slots) }
func (s *memSink) Buffer(k int) ([]byte, error)   { return s.slots[(s.next+k)%len(s.slots)], nil }
func (s *memSink) SetLength(int, int, bool) error { return nil }
func (s *memSink) Publish(n int) error {
	s.next += n
	s.delivered.Add(int64(n))
	select {
	case s.note <- struct{}{}:
	default:
	}
	return nil
}

// locked runs fn on a goroutine locked to its own OS thread and returns
// the thread's id once fn has started, so that the thread's CPU can be
// read from outside (threadCPU). done is closed when fn returns.
func locked(fn func()) (tid int, done <-chan struct{}) {
	started := make(chan int)
	d := make(chan struct{})
	go func() {
		defer close(d)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		started <- unix.Gettid()
		fn()
	}()
	return <-started, d
}

// threadCPU is the CPU time a thread of this process has run, from the
// scheduler's exact account (/proc/self/task/TID/schedstat, ns on CPU):
// getrusage(RUSAGE_THREAD) only answers for the calling thread.
func threadCPU(tb testing.TB, tid int) time.Duration {
	tb.Helper()
	d, err := schedstat(fmt.Sprintf("/proc/self/task/%d/schedstat", tid))
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func schedstat(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("%s: empty", path)
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	return time.Duration(ns), err
}

// softirqd sums the CPU of the kernel's ksoftirqd threads: network
// receive work the kernel deferred out of the sending thread's system
// call (loopback delivers in the sender's context until softirq work
// piles up), charged to neither side's getrusage.
type softirqd []string

func findSoftirqd() softirqd {
	var s softirqd
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err == nil && bytes.HasPrefix(comm, []byte("ksoftirqd/")) {
			s = append(s, filepath.Join("/proc", e.Name(), "schedstat"))
		}
	}
	return s
}

func (s softirqd) cpu() time.Duration {
	var t time.Duration
	for _, p := range s {
		d, _ := schedstat(p)
		t += d
	}
	return t
}

// drain receives and discards a loopback stream on a locked thread, so
// that its CPU — the receiving process's share — is told apart from the
// sender's.
type drain struct {
	conn *netio.Conn
	tid  int
	done <-chan struct{}
	pkts atomic.Uint64
}

func newDrain(tb testing.TB) *drain {
	tb.Helper()
	c, err := netio.Listen(netio.Config{Local: loopback0(),
		GRO: true, RecvBuffer: st2110.DefaultRecvBuffer})
	if err != nil {
		tb.Fatal(err)
	}
	d := &drain{conn: c}
	d.tid, d.done = locked(func() {
		rb := netio.NewRecvBatch(64, 64<<10)
		for {
			msgs, err := c.Recv(rb)
			if err != nil {
				return
			}
			n := 0
			for i := range msgs {
				n += msgs[i].NumSegments()
			}
			d.pkts.Add(uint64(n))
		}
	})
	tb.Cleanup(d.stop)
	return d
}

func (d *drain) addr() netip.AddrPort { return d.conn.LocalAddr() }

func (d *drain) stop() {
	_ = d.conn.Close()
	<-d.done
}

// waitPkts waits until the drain has seen n packets, or 5 s.
func (d *drain) waitPkts(n uint64) {
	deadline := time.Now().Add(5 * time.Second)
	for d.pkts.Load() < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

// wire is a sender's network namespace whose only route leads out of a
// veth to a neighbour that does not exist: the peer end, in a namespace of
// its own, receives each frame with a foreign destination MAC and drops it
// at the first check of ip_rcv. A sender there pays the whole transmit
// path down to the device, GSO super-packets included, and nothing of a
// receiver — what it pays on a NIC that offloads UDP segmentation (the
// veth advertises it, like the dummy device Debian's kernel has but this
// VM's lacks). With gso_max_segs 1 on the veth the kernel segments in
// software instead, as for a NIC without USO.
type wire struct {
	ns  *testutil.NS
	dev string
	dst netip.AddrPort
}

// Addresses of the wire: the sender's end, the peer end, and the
// destination neighbour that is not the peer.
const (
	wireLocal = "10.99.0.1/24"
	wirePeer  = "10.99.0.3/24"
	wireMAC   = "02:00:5e:99:00:02"
)

func newWire(tb testing.TB) *wire {
	tb.Helper()
	tx := testutil.NetNS(tb, "tx")
	peer := testutil.NetNS(tb, "peer")
	dev, _ := testutil.Veth(tb, tx, wireLocal, peer, wirePeer)
	w := &wire{ns: tx, dev: dev, dst: netip.MustParseAddrPort("10.99.0.2:5004")}
	w.ip(tb, "neigh", "replace", w.dst.Addr().String(), "lladdr", wireMAC, "dev", dev, "nud", "permanent")
	return w
}

// ip runs ip -n NS args.
func (w *wire) ip(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := exec.Command("ip", append([]string{"-n", w.ns.Name}, args...)...).CombinedOutput()
	if err != nil {
		tb.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// softwareGSO makes the kernel segment GSO super-packets itself (on) or
// hand them to the device whole (off).
func (w *wire) softwareGSO(tb testing.TB, on bool) {
	tb.Helper()
	segs := "65535"
	if on {
		segs = "1"
	}
	w.ip(tb, "link", "set", "dev", w.dev, "gso_max_segs", segs)
}

// txPackets is the veth's transmit counter.
func (w *wire) txPackets(tb testing.TB) uint64 {
	tb.Helper()
	var links []struct {
		Stats64 struct {
			TX struct {
				Packets uint64 `json:"packets"`
			} `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal([]byte(w.ip(tb, "-j", "-s", "link", "show", "dev", w.dev)), &links); err != nil || len(links) != 1 {
		tb.Fatalf("ip -j -s link show %s: %v", w.dev, err)
	}
	return links[0].Stats64.TX.Packets
}

// gstLaunch finds gst-launch-1.0: a missing peer skips, or fails when
// CI=true.
func gstLaunch(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("gst-launch-1.0")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal("gst-launch-1.0 not found (scripts/deps.sh installs GStreamer)")
	}
	tb.Skip("gst-launch-1.0 not found")
	return ""
}

// child runs cmd to its end and returns the CPU it used (user + system,
// from wait4's rusage: all its threads).
func child(tb testing.TB, cmd *exec.Cmd) time.Duration {
	tb.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s: %v: %s", strings.Join(cmd.Args, " "), err, stderr.Bytes())
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// gstVideoCaps are the raw caps of the GStreamer sender: the benchmark
// stream as UYVP (= RFC 4175 pgroups).
const gstVideoCaps = "video/x-raw,format=UYVP,width=1920,height=1080,framerate=60000/1001"

// gstRTPCaps are the caps a GStreamer receiver needs for the stream
// (width, height and depth must be strings: interop README, quirks).
const gstRTPCaps = "application/x-rtp,media=video,clock-rate=90000,encoding-name=RAW,sampling=YCbCr-4:2:2," +
	"depth=(string)10,width=(string)1920,height=(string)1080,payload=(int)96"

// gstSendArgs is a GStreamer pipeline sending frames test frames to dst,
// or, with dst invalid, the same source into fakesink (the baseline).
func gstSendArgs(frames int, dst netip.AddrPort) []string {
	args := []string{"-q", "videotestsrc", "num-buffers=" + strconv.Itoa(frames), "pattern=black", "!", gstVideoCaps, "!"}
	if !dst.IsValid() {
		return append(args, "fakesink")
	}
	return append(args, "rtpvrawpay", "mtu=1400", "pt=96", "!",
		"udpsink", "host="+dst.Addr().String(), "port="+strconv.Itoa(int(dst.Port())), "sync=false")
}

// gstRecvArgs is a GStreamer pipeline that receives frames+1 frames on
// port and exits (identity eos-after=N lets N−1 through); frames < 0 is
// the baseline: the same pipeline ending before its first packet.
func gstRecvArgs(port uint16, frames int) []string {
	src := []string{"udpsrc", "address=127.0.0.1", "port=" + strconv.Itoa(int(port)), "buffer-size=67108864"}
	if frames < 0 {
		src = append(src, "num-buffers=0")
		frames = 0
	}
	return append(append([]string{"-q"}, src...), "caps="+gstRTPCaps, "!", "rtpvrawdepay", "!",
		"identity", "eos-after="+strconv.Itoa(frames+1), "!", "fakesink")
}

// freeUDPPort returns a loopback UDP port nothing is bound to right now.
func freeUDPPort(tb testing.TB) uint16 {
	tb.Helper()
	c, err := netio.Listen(netio.Config{Local: loopback0()})
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().Port()
}

// waitUDPBound polls /proc/net/udp until a socket is bound to port.
func waitUDPBound(tb testing.TB, port uint16, exited <-chan struct{}) {
	tb.Helper()
	want := fmt.Sprintf(":%04X ", port)
	testutil.Eventually(tb, 10*time.Second, func() error {
		select {
		case <-exited:
			return nil // the caller reports why it ended
		default:
		}
		b, err := os.ReadFile("/proc/net/udp")
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 2 && strings.HasSuffix(f[1]+" ", want) {
				return nil
			}
		}
		return fmt.Errorf("udp port %d not bound yet", port)
	})
}

// capture records the packets a mediamesh Sender makes of one frame, in
// order, to be replayed.
func capture(tb testing.TB, cfg st2110.Config) [][]byte {
	tb.Helper()
	c, err := netio.Listen(netio.Config{Local: loopback0(),
		GRO: true, RecvBuffer: st2110.DefaultRecvBuffer})
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	cfg.Video.Unpaced = true
	cfg.Net = netio.Config{Remote: c.LocalAddr(), Local: loopback0()}
	tx, err := st2110.NewSender(cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Close()
	src := newMemSource(appBuffer(tb, cfg))
	if err := tx.Start(context.Background(), src); err != nil {
		tb.Fatal(err)
	}
	src.put()
	src.waitReleased(tb, 1)
	want := int(tx.Stats().Packets.Load())
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	rb := netio.NewRecvBatch(64, 64<<10)
	var pkts [][]byte
	for len(pkts) < want {
		msgs, err := c.Recv(rb)
		if err != nil {
			tb.Fatalf("capture: %d of %d packets: %v", len(pkts), want, err)
		}
		for i := range msgs {
			for k := range msgs[i].NumSegments() {
				pkts = append(pkts, bytes.Clone(msgs[i].Segment(k)))
			}
		}
	}
	return pkts
}

// replayer sends captured frames to one or more destinations from a
// locked thread, renumbered per stream (RTP and extended sequence
// numbers, 59.94 timestamps), with GSO: a sender whose CPU is known
// exactly (its thread's), so that a receiver's in the same process is
// what is left.
type replayer struct {
	pkts  [][]byte
	conns []*netio.Conn
	seq   []uint32
	frame int64
	batch *netio.Batch
	req   chan struct{}
	ack   chan error
	tid   int
	done  <-chan struct{}

	// Paced (setPaced): each frame leaves in bursts on the ST 2110-21
	// Wide schedule of frame period r.frame, every stream's burst in one
	// wake-up, as a shared st2110.Pacer sends.
	paced  bool
	clock  *mediaclock.Clock
	model  pacing.Model
	waiter pacing.Waiter
}

// setPaced makes later frames paced (Wide, CMAX bursts) from the next
// frame period on; call before the first sendFrame that should be.
func (r *replayer) setPaced() {
	r.clock = mediaclock.System()
	r.model = pacing.Model{Rate: rate5994(), Packets: len(r.pkts), Height: hdHeight, Sender: pacing.Wide}
	r.waiter = pacing.Waiter{Clock: r.clock, Spin: -1} // sleep only, as st2110.Pacer does
	r.frame = mediaclock.FrameIndex(r.clock.Now(), rate5994()) + 1
	r.paced = true
}

func newReplayer(tb testing.TB, pkts [][]byte, dsts []netip.AddrPort) *replayer {
	tb.Helper()
	r := &replayer{pkts: pkts, seq: make([]uint32, len(dsts)), batch: netio.NewBatch(64, 2),
		req: make(chan struct{}), ack: make(chan error), frame: mediaclock.FrameIndex(time.Now().UnixNano(), rate5994())}
	for _, d := range dsts {
		c, err := netio.Dial(netio.Config{Remote: d, Local: loopback0(),
			SendBuffer: st2110.DefaultSendBuffer})
		if err != nil {
			tb.Fatal(err)
		}
		r.conns = append(r.conns, c)
	}
	r.tid, r.done = locked(func() {
		for range r.req {
			r.ack <- r.send()
		}
	})
	tb.Cleanup(r.stop)
	return r
}

// sendFrame sends the next frame on every stream (from the locked thread).
func (r *replayer) sendFrame() error {
	r.req <- struct{}{}
	return <-r.ack
}

func (r *replayer) send() error {
	if r.paced {
		return r.sendPaced()
	}
	ts := mediaclock.FrameRTP(r.frame, rate5994())
	r.frame++
	for s, c := range r.conns {
		r.batch.Reset()
		for _, p := range r.pkts {
			seq := r.seq[s]
			r.seq[s]++
			binary.BigEndian.PutUint16(p[2:], uint16(seq))
			binary.BigEndian.PutUint32(p[4:], ts)
			binary.BigEndian.PutUint16(p[12:], uint16(seq>>16)) // RFC 4175 extended sequence number
			r.batch.Add(nil, p)
			if r.batch.Len() == 64 {
				if _, err := c.Send(r.batch, netio.SendGSO, 0); err != nil {
					return err
				}
				r.batch.Reset()
			}
		}
		if _, err := c.Send(r.batch, netio.SendGSO, 0); err != nil {
			return err
		}
	}
	r.batch.Reset()
	return nil
}

func (r *replayer) sendPaced() error {
	n := r.frame
	r.frame++
	ts, base := mediaclock.FrameRTP(n, rate5994()), mediaclock.FrameStart(n, rate5994())
	burst := r.model.CMax()
	for first := 0; first < len(r.pkts); first += burst {
		if _, err := r.waiter.Until(context.Background(), r.model.PacketTime(base, first)); err != nil {
			return err
		}
		for s, c := range r.conns {
			r.batch.Reset()
			for i := first; i < min(first+burst, len(r.pkts)); i++ {
				p := r.pkts[i]
				seq := r.seq[s]
				r.seq[s]++
				binary.BigEndian.PutUint16(p[2:], uint16(seq))
				binary.BigEndian.PutUint32(p[4:], ts)
				binary.BigEndian.PutUint16(p[12:], uint16(seq>>16))
				r.batch.Add(nil, p)
			}
			if _, err := c.Send(r.batch, netio.SendGSO, 0); err != nil {
				return err
			}
		}
	}
	r.batch.Reset()
	return nil
}

func (r *replayer) stop() {
	if r.req == nil {
		return
	}
	close(r.req)
	<-r.done
	r.req = nil
	for _, c := range r.conns {
		_ = c.Close()
	}
	_ = r.waiter.Close()
}
