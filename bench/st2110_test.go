package bench

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"mediamesh/internal/mediaclock"
	"mediamesh/internal/netio"
	"mediamesh/internal/pixfmt"
	"mediamesh/internal/st2110"
	"mediamesh/internal/testutil"
)

// ST 2110 benchmarks: what one 1080p59.94 4:2:2 10-bit stream costs to send
// and to receive, as CPU per frame and so streams per core (a frame period,
// 16.68 ms, divided by the CPU of one frame), for mediamesh's
// st2110.Sender and Receiver and for GStreamer 1.22 on the same machine in
// the same run.
//
// Who pays what. On loopback the kernel delivers a datagram to the
// receiving socket inside the sender's system call (softirq work run when
// the sender's transmit re-enables bottom halves), so a loopback sender
// pays for the receiver's IP and UDP processing too, and a receiver pays
// only for recvmmsg's copy and its own work. The benchmarks therefore
// measure:
//
//   - sink=veth (root): the sender in a namespace of its own, sending out
//     of a veth to a neighbour that does not exist (see wire): the whole
//     transmit path and nothing of a receiver — the honest wire cost on a
//     NIC with UDP segmentation offload; mode=gso/nouso makes the kernel
//     segment GSO in software, as for a NIC without it; paced runs the
//     ST 2110-21 Wide schedule at real time as media-proxy does (own
//     st2110.Pacer, or 4 streams sharing one Pacer worker).
//   - sink=loopback: sender and a receiving drain in one process; the drain
//     runs on a locked OS thread whose CPU is read from the scheduler
//     (threadCPU), tx-cpu is the process's CPU minus the drain's, and
//     includes the kernel's receive work.
//   - Receive: a replayer on a locked thread sends frames a mediamesh
//     Sender made; rx-cpu is the process's CPU minus the replayer
//     thread's: the receiver goroutines (recvmmsg, parsing, the copy into
//     the app's buffer) and the runtime. The kernel's receive work is in
//     the replayer's tx-cpu, as above. Frames arrive as fast as the
//     receiver takes them, or at real time as one burst per frame (as
//     GStreamer and FFmpeg send) or Wide-paced (as mediamesh sends).
//   - GStreamer runs as a child; its CPU comes from wait4's rusage, less a
//     baseline run of the same pipeline without the payloader and sink
//     (send: videotestsrc into fakesink) or ending before its first packet
//     (receive), so that start-up and test-frame generation are not
//     charged to it.
//
// softirqd-µs/frame is what ksoftirqd ran meanwhile: receive work the
// kernel deferred out of the sending thread, charged to neither side.
//
// Metrics: tx-cpu-µs/frame, rx-cpu-µs/frame, streams/core (of the side the
// benchmark is about), pkts/s, pkts/frame, loss (fraction of packets not
// accepted), bad-frames (frames not delivered whole), allocs/pkt, and
// x-gstreamer: GStreamer's CPU per frame over mediamesh's, same sink.

// minPeerFrames is the fewest frames a GStreamer run must have for its
// cost to be used in a ratio; with fewer the start-up noise dominates.
const minPeerFrames = 30

// loopback0 is 127.0.0.1, any port.
func loopback0() netip.AddrPort { return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0) }

// sendCase is one way of running mediamesh Senders.
type sendCase struct {
	name     string
	format   pixfmt.Format
	mode     netio.Mode
	burst    int  // packets per send (0: the Sender's default, CMAX = 16 at 1080p)
	paced    bool // ST 2110-21 Wide pacing at real time, as media-proxy runs it
	streams  int  // paced: streams sharing one Pacer worker (0: one stream, own Pacer)
	noUSO    bool // veth only: software GSO
	vethOnly bool
}

func sendCases() []sendCase {
	pg := pixfmt.PGroup10
	return []sendCase{
		{name: "mode=gso/burst=16", format: pg, mode: netio.SendGSO},
		{name: "mode=gso/burst=64", format: pg, mode: netio.SendGSO, burst: 64},
		// On loopback these two cost ~20 ms a frame (internal/st2110
		// BenchmarkSend1080p): measured on the wire only.
		{name: "mode=mmsg", format: pg, mode: netio.SendMmsg, vethOnly: true},
		{name: "mode=each", format: pg, mode: netio.SendEach, vethOnly: true},
		{name: "mode=gso/nouso", format: pg, mode: netio.SendGSO, noUSO: true, vethOnly: true},
		{name: "mode=gso/format=yuv422p10le", format: pixfmt.YUV422P10LE, mode: netio.SendGSO, vethOnly: true},
		{name: "mode=gso/format=v210", format: pixfmt.V210, mode: netio.SendGSO, vethOnly: true},
		{name: "mode=gso/paced/streams=1", format: pg, mode: netio.SendGSO, paced: true, vethOnly: true},
		{name: "mode=gso/paced/streams=4", format: pg, mode: netio.SendGSO, paced: true, streams: 4, vethOnly: true},
	}
}

// sendEnv is shared by the sub-benchmarks of one BenchmarkST2110Send run.
type sendEnv struct {
	wire *wire // nil without root
	irq  softirqd
	gst  map[string]time.Duration // GStreamer's CPU per frame, by sink
	// gstWarm: GStreamer has run once, so its plugin registry exists.
	gstWarm bool
}

// BenchmarkST2110Send measures the sending side of one unpaced 1080p59.94
// stream (each frame sent as fast as the socket takes it, the next put
// when it is done) for each send mode, and GStreamer's rtpvrawpay ! udpsink.
func BenchmarkST2110Send(b *testing.B) {
	testutil.CheckLeaks(b)
	e := &sendEnv{irq: findSoftirqd(), gst: map[string]time.Duration{}}
	if canNetNS() {
		e.wire = newWire(b)
	}
	for _, sink := range []string{"veth", "loopback"} {
		b.Run("sink="+sink+"/peer=gstreamer", func(b *testing.B) { e.gstreamer(b, sink) })
		for _, c := range sendCases() {
			if c.vethOnly && sink != "veth" {
				continue
			}
			b.Run("sink="+sink+"/"+c.name, func(b *testing.B) { e.mediamesh(b, sink, c) })
		}
	}
}

// canNetNS reports whether namespaces can be made; the veth
// sub-benchmarks then say why not (testutil.RequireRoot).
func canNetNS() bool {
	_, err := exec.LookPath("ip")
	return os.Geteuid() == 0 && err == nil
}

func (e *sendEnv) needWire(b *testing.B) *wire {
	if e.wire == nil {
		testutil.RequireRoot(b)
		b.Skip("no network namespace")
	}
	return e.wire
}

func (e *sendEnv) mediamesh(b *testing.B, sink string, c sendCase) {
	cfg := hdConfig(b, c.format)
	cfg.Mode, cfg.Video.Burst, cfg.Video.Unpaced = c.mode, c.burst, !c.paced
	streams := max(c.streams, 1)
	if c.streams > 0 {
		p := st2110.NewPacer(mediaclock.System(), 1)
		defer p.Close() // after the Senders' Close, deferred below
		cfg.Pacer = p
	}
	var d *drain
	var w *wire
	if sink == "veth" {
		w = e.needWire(b)
		cfg.Net.Remote = w.dst
		if c.noUSO {
			w.softwareGSO(b, true)
			defer w.softwareGSO(b, false)
		}
	} else {
		d = newDrain(b)
		cfg.Net = netio.Config{Remote: d.addr(), Local: loopback0()}
	}
	buf := appBuffer(b, cfg)
	var txs []*st2110.Sender
	var srcs []*memSource
	for range streams {
		tx, err := st2110.NewSender(cfg, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer tx.Close()
		if w != nil {
			err = w.ns.Do(tx.Bind) // the socket stays in the namespace
		} else {
			err = tx.Bind()
		}
		if err != nil {
			b.Fatal(err)
		}
		src := newMemSource(buf)
		if err := tx.Start(context.Background(), src); err != nil {
			b.Fatal(err)
		}
		txs, srcs = append(txs, tx), append(srcs, src)
	}
	// Warm up: the first frames arm the pacing timer and fault the
	// socket's buffers in.
	const warm = 2
	for _, src := range srcs {
		for range warm {
			src.put()
		}
	}
	for _, src := range srcs {
		src.waitReleased(b, warm)
	}
	type counts struct{ pkts, late, steps, errs uint64 }
	snap := func() (n counts) {
		for _, tx := range txs {
			st := tx.Stats()
			n.pkts += st.Packets.Load()
			n.late += st.PacingLate.Load()
			n.steps += st.PacingSteps.Load()
			n.errs += st.SendErrors.Load()
		}
		return n
	}

	n0 := snap()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	var rx0 time.Duration
	if d != nil {
		rx0 = threadCPU(b, d.tid)
	}
	cpu0, irq0 := cpuTime(), e.irq.cpu()
	start := time.Now()
	b.SetBytes(int64(wireFrameBytes * streams))
	b.ReportAllocs()
	// Unpaced, one frame at a time: ns/op is a frame's send time. Paced,
	// one frame queued behind the one being sent, as an app keeps it: the
	// Sender then takes the next frame period without a gap.
	ahead := 0
	if c.paced {
		ahead = 1
	}
	n := 0
	for b.Loop() {
		for _, src := range srcs {
			src.put()
		}
		n++
		for _, src := range srcs {
			src.waitReleased(b, warm+n-ahead)
		}
	}
	for _, src := range srcs {
		src.waitReleased(b, warm+n)
	}
	el := time.Since(start)
	if d != nil {
		d.waitPkts(snap().pkts) // the drain's CPU is only complete once it has everything
	}
	cpu, irq := cpuTime()-cpu0, e.irq.cpu()-irq0
	runtime.ReadMemStats(&m1)
	var rx time.Duration
	if d != nil {
		rx = threadCPU(b, d.tid) - rx0
	}
	n1 := snap()
	pkts := n1.pkts - n0.pkts
	frames := n * streams
	perFrame := (cpu - rx) / time.Duration(frames)

	b.ReportMetric(micros(perFrame), "tx-cpu-µs/frame")
	b.ReportMetric(perCore(perFrame), "streams/core")
	b.ReportMetric(float64(pkts)/el.Seconds(), "pkts/s")
	b.ReportMetric(float64(pkts)/float64(frames), "pkts/frame")
	b.ReportMetric(micros(irq)/float64(frames), "softirqd-µs/frame")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(max(pkts, 1)), "allocs/pkt")
	if d != nil {
		b.ReportMetric(micros(rx)/float64(frames), "rx-cpu-µs/frame")
	}
	if c.paced {
		b.ReportMetric(float64(n1.late-n0.late)/float64(max(n1.steps-n0.steps, 1)), "late-bursts")
	}
	if g, ok := e.gstCost(b, sink); ok {
		b.ReportMetric(float64(g)/float64(perFrame), "x-gstreamer")
	}
	if f := n1.errs - n0.errs; f > 0 {
		b.Errorf("%d sends failed", f)
	}
}

// gstreamer measures GStreamer's rtpvrawpay ! udpsink on the same sink,
// b.N frames.
func (e *sendEnv) gstreamer(b *testing.B, sink string) {
	gst := gstLaunch(b)
	if sink == "veth" {
		e.needWire(b)
	}
	frames := b.N
	perFrame, base, pkts := e.measureGst(b, gst, sink, frames)
	if frames >= minPeerFrames {
		e.gst[sink] = perFrame
	}
	b.SetBytes(wireFrameBytes)
	b.ReportMetric(micros(perFrame), "tx-cpu-µs/frame")
	b.ReportMetric(perCore(perFrame), "streams/core")
	b.ReportMetric(micros(base)/float64(frames), "baseline-cpu-µs/frame")
	b.ReportMetric(pkts/float64(frames), "pkts/frame")
}

// gstCost is GStreamer's send CPU per frame on sink: the last measurement
// of its sub-benchmark, else a fresh one of minPeerFrames frames; false
// without GStreamer.
func (e *sendEnv) gstCost(b *testing.B, sink string) (time.Duration, bool) {
	if g, ok := e.gst[sink]; ok {
		return g, true
	}
	gst, err := exec.LookPath("gst-launch-1.0")
	if err != nil {
		return 0, false
	}
	g, _, _ := e.measureGst(b, gst, sink, minPeerFrames)
	e.gst[sink] = g
	return g, true
}

// measureGst runs GStreamer's sender for frames frames and returns its
// CPU per frame less the baseline's, the baseline's total, and how many
// packets it sent.
func (e *sendEnv) measureGst(b *testing.B, gst, sink string, frames int) (perFrame, base time.Duration, pkts float64) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second+time.Duration(frames)*100*time.Millisecond)
	defer cancel()
	cmd := func(dst netip.AddrPort) *exec.Cmd {
		if sink == "veth" {
			return e.wire.ns.Exec(ctx, gst, gstSendArgs(frames, dst)...)
		}
		return exec.CommandContext(ctx, gst, gstSendArgs(frames, dst)...)
	}
	if !e.gstWarm {
		_ = child(b, cmd(netip.AddrPort{})) // a first run may build GStreamer's plugin registry
		e.gstWarm = true
	}
	base = child(b, cmd(netip.AddrPort{}))
	var cpu time.Duration
	if sink == "veth" {
		tx0 := e.wire.txPackets(b)
		cpu = child(b, cmd(e.wire.dst))
		pkts = float64(e.wire.txPackets(b) - tx0)
	} else {
		d := newDrain(b)
		cpu = child(b, cmd(d.addr()))
		// Everything sent is queued by now: wait until the drain stops
		// counting.
		for last := uint64(1<<64 - 1); d.pkts.Load() != last; time.Sleep(20 * time.Millisecond) {
			last = d.pkts.Load()
		}
		pkts = float64(d.pkts.Load())
	}
	return (cpu - base) / time.Duration(frames), base, pkts
}

// recvEnv is shared by the sub-benchmarks of one BenchmarkST2110Recv run.
type recvEnv struct {
	pkts    [][]byte // one frame as a mediamesh Sender sends it
	irq     softirqd
	gst     time.Duration // GStreamer's receive CPU per frame
	gstOK   bool
	gstWarm bool // GStreamer has run once, so its plugin registry exists
}

// BenchmarkST2110Recv measures the receiving side: one stream as fast as
// the receiver takes it (the next frame is sent once all but one are
// delivered), the cost of unpacking into yuv422p10le, and two streams
// at real time (59.94 frames/s) with their loss, each frame arriving as
// one burst (as GStreamer and FFmpeg send) or Wide-paced (as mediamesh
// sends); and GStreamer's udpsrc ! rtpvrawdepay at real time.
func BenchmarkST2110Recv(b *testing.B) {
	testutil.CheckLeaks(b)
	e := &recvEnv{irq: findSoftirqd(), pkts: capture(b, hdConfig(b, pixfmt.PGroup10))}
	b.Run("peer=gstreamer/streams=1/rate=59.94", e.gstreamer)
	b.Run("streams=1/rate=max", func(b *testing.B) { e.mediamesh(b, pixfmt.PGroup10, 1, asFast) })
	b.Run("streams=1/rate=max/format=yuv422p10le", func(b *testing.B) { e.mediamesh(b, pixfmt.YUV422P10LE, 1, asFast) })
	b.Run("streams=2/rate=59.94", func(b *testing.B) { e.mediamesh(b, pixfmt.PGroup10, 2, burst) })
	b.Run("streams=2/rate=59.94/paced", func(b *testing.B) { e.mediamesh(b, pixfmt.PGroup10, 2, paced) })
	b.Run("streams=2/rate=59.94/paced/poller", func(b *testing.B) { e.mediamesh(b, pixfmt.PGroup10, 2, pacedPolled) })
	b.Run("streams=4/rate=59.94/paced", func(b *testing.B) { e.mediamesh(b, pixfmt.PGroup10, 4, paced) })
	b.Run("streams=4/rate=59.94/paced/poller", func(b *testing.B) { e.mediamesh(b, pixfmt.PGroup10, 4, pacedPolled) })
}

// arrival is how the replayer times the frames of a receive benchmark.
type arrival uint8

const (
	asFast      arrival = iota // the next frame once all but one are delivered
	burst                      // real time, each frame one burst (GStreamer, FFmpeg)
	paced                      // real time, ST 2110-21 Wide bursts (mediamesh, hardware senders)
	pacedPolled                // paced, received as media-proxy does: one Poller tick drains both
)

func (e *recvEnv) mediamesh(b *testing.B, f pixfmt.Format, streams int, how arrival) {
	cfg := hdConfig(b, f)
	var rxs []*st2110.Receiver
	var sinks []*memSink
	var dsts []netip.AddrPort
	if how == pacedPolled {
		poller := st2110.NewPoller(mediaclock.System(), 0, 1)
		defer poller.Close()
		cfg.Poller = poller
		how = paced
	}
	for range streams {
		rc := cfg
		rc.Net = netio.Config{Local: loopback0()}
		rx, err := st2110.NewReceiver(rc, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer rx.Close()
		sink := newMemSink(4, int(cfg.Layout.Total))
		if err := rx.Start(context.Background(), sink); err != nil {
			b.Fatal(err)
		}
		rxs, sinks, dsts = append(rxs, rx), append(sinks, sink), append(dsts, rx.LocalAddr())
	}
	rp := newReplayer(b, e.pkts, dsts)
	defer rp.stop()
	const warm = 2
	for range warm {
		if err := rp.sendFrame(); err != nil {
			b.Fatal(err)
		}
	}
	for _, s := range sinks {
		if !s.wait(warm, 5*time.Second) {
			b.Fatalf("warm-up: %d of %d frames delivered", s.delivered.Load(), warm)
		}
	}
	type counts struct{ pkts, frames, incomplete uint64 }
	snap := func() (c counts) {
		for _, rx := range rxs {
			st := rx.Stats()
			c.pkts += st.Packets.Load()
			c.frames += st.Frames.Load()
			c.incomplete += st.Incomplete.Load()
		}
		return c
	}
	if how == paced {
		rp.setPaced() // each sendFrame now takes a frame period
	}
	c0 := snap()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0, tx0, irq0 := cpuTime(), threadCPU(b, rp.tid), e.irq.cpu()
	b.SetBytes(int64(wireFrameBytes * streams))
	b.ReportAllocs()
	start := time.Now()
	i := 0
	for b.Loop() {
		if how == burst {
			time.Sleep(time.Until(start.Add(time.Duration(i) * framePeriod)))
		} else if how == asFast && !sinks[0].wait(int64(warm+i-1), 5*time.Second) {
			b.Fatalf("frame %d: not delivered within 5 s", warm+i-2)
		}
		if err := rp.sendFrame(); err != nil {
			b.Fatal(err)
		}
		i++
	}
	// Until every frame is in, or none came for a second (lost).
	for _, s := range sinks {
		s.wait(int64(warm+i), time.Second)
	}
	cpu, tx, irq := cpuTime()-cpu0, threadCPU(b, rp.tid)-tx0, e.irq.cpu()-irq0
	runtime.ReadMemStats(&m1)
	c := snap()
	frames := i * streams
	sent := uint64(frames * len(e.pkts))
	got := c.pkts - c0.pkts
	whole := (c.frames - c0.frames) - (c.incomplete - c0.incomplete)
	perFrame := (cpu - tx) / time.Duration(frames)

	b.ReportMetric(micros(perFrame), "rx-cpu-µs/frame")
	b.ReportMetric(perCore(perFrame), "streams/core")
	b.ReportMetric(micros(tx)/float64(frames), "tx-cpu-µs/frame")
	b.ReportMetric(micros(irq)/float64(frames), "softirqd-µs/frame")
	b.ReportMetric(float64(got)/time.Since(start).Seconds(), "pkts/s")
	b.ReportMetric(1-float64(got)/float64(sent), "loss")
	b.ReportMetric(float64(uint64(frames)-whole), "bad-frames")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(max(got, 1)), "allocs/pkt")
	if how == burst {
		if g, ok := e.gstCost(b); ok {
			b.ReportMetric(float64(g)/float64(perFrame), "x-gstreamer")
		}
	}
}

// gstreamer measures GStreamer's udpsrc ! rtpvrawdepay receiving b.N
// frames at real time.
func (e *recvEnv) gstreamer(b *testing.B) {
	gst := gstLaunch(b)
	frames := b.N
	perFrame, base := e.measureGst(b, gst, frames)
	if frames >= minPeerFrames {
		e.gst, e.gstOK = perFrame, true
	}
	b.SetBytes(wireFrameBytes)
	b.ReportMetric(micros(perFrame), "rx-cpu-µs/frame")
	b.ReportMetric(perCore(perFrame), "streams/core")
	b.ReportMetric(micros(base)/float64(frames), "baseline-cpu-µs/frame")
}

// gstCost is GStreamer's receive CPU per frame: the last measurement of
// its sub-benchmark, else a fresh one; false without GStreamer.
func (e *recvEnv) gstCost(b *testing.B) (time.Duration, bool) {
	if e.gstOK {
		return e.gst, true
	}
	gst, err := exec.LookPath("gst-launch-1.0")
	if err != nil {
		return 0, false
	}
	e.gst, _ = e.measureGst(b, gst, minPeerFrames)
	e.gstOK = true
	return e.gst, true
}

// measureGst runs GStreamer's receiver for frames frames sent at real
// time and returns its CPU per frame less the baseline's, and the
// baseline's total.
func (e *recvEnv) measureGst(b *testing.B, gst string, frames int) (perFrame, base time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second+time.Duration(frames)*framePeriod)
	defer cancel()
	port := freeUDPPort(b)
	if !e.gstWarm {
		_ = child(b, exec.CommandContext(ctx, gst, gstRecvArgs(port, -1)...)) // may build the plugin registry
		e.gstWarm = true
	}
	base = child(b, exec.CommandContext(ctx, gst, gstRecvArgs(port, -1)...))
	cmd := exec.CommandContext(ctx, gst, gstRecvArgs(port, frames)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	var werr error
	go func() { werr = cmd.Wait(); close(exited) }()
	defer func() { cancel(); <-exited }()
	waitUDPBound(b, port, exited)
	rp := newReplayer(b, e.pkts, []netip.AddrPort{netip.AddrPortFrom(loopback0().Addr(), port)})
	defer rp.stop()
	// frames+1 frames end it; a few more in case one lost its marker. A
	// send may fail once it has ended (ICMP port unreachable).
	start := time.Now()
	var serr error
	for k := 0; k < frames+1+30 && serr == nil; k++ {
		select {
		case <-exited:
			k = frames + 1 + 30
		case <-time.After(time.Until(start.Add(time.Duration(k) * framePeriod))):
			serr = rp.sendFrame()
		}
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		b.Fatalf("GStreamer did not end after %d frames (send: %v): %s", frames+1, serr, stderr.Bytes())
	}
	if werr != nil {
		b.Fatalf("%s: %v: %s", cmd.Args, werr, stderr.Bytes())
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return (cpu - base) / time.Duration(frames+1), base
}
