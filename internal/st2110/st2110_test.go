package st2110

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"mediamesh/internal/mcm"
	"mediamesh/internal/mediaclock"
	"mediamesh/internal/netio"
	"mediamesh/internal/pixfmt"
	"mediamesh/internal/rfc4175"
	"mediamesh/internal/sdp"
	"mediamesh/internal/testutil"
)

var loopback = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// videoFrame makes a frame of format f whose samples are 10-bit clean (the
// wire carries 10 bits; planar and v210 hold them in wider words).
func videoFrame(t testing.TB, f pixfmt.Format, w, h int, seed uint64) []byte {
	t.Helper()
	n, err := pixfmt.FrameSize(f, w, h)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	wire := make([]byte, w*h/2*f.PGroupBytes())
	for i := range wire {
		wire[i] = byte(rng.Uint32())
	}
	out := make([]byte, n)
	if err := pixfmt.Unpack(f, out, wire, w*h, 0, w*h/2); err != nil {
		t.Fatal(err)
	}
	return out
}

// pair starts a receiver on loopback and a sender aimed at it.
func pair(t *testing.T, cfg Config, slots int) (*Sender, *fakeSource, *Receiver, *fakeSink) {
	t.Helper()
	rc := cfg
	rc.Net = netio.Config{Local: netip.AddrPortFrom(loopback, 0)}
	rx, err := NewReceiver(rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	sink := newFakeSink(slots, int(cfg.Layout.Total))
	if err := rx.Start(t.Context(), sink); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rx.Close() })
	sc := cfg
	sc.Net = netio.Config{Remote: rx.LocalAddr(), Local: netip.AddrPortFrom(loopback, 0)}
	tx, err := NewSender(sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := newFakeSource()
	if err := tx.Start(t.Context(), src); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Close() })
	return tx, src, rx, sink
}

func videoConfig(t testing.TB, f pixfmt.Format, w, h int, unpaced bool) Config {
	t.Helper()
	n, err := pixfmt.FrameSize(f, w, h)
	if err != nil {
		t.Fatal(err)
	}
	l, err := mcm.NewLayout(uint32(n), mcm.FrameInfoSize)
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Essence:     Video,
		PayloadType: 96,
		Layout:      l,
		Video: VideoConfig{Width: w, Height: h, Rate: mediaclock.Rate{Num: 60000, Den: 1001},
			Format: f, Unpaced: unpaced},
	}
}

// TestVideoRoundTrip sends frames in every app layout through a real UDP
// socket and checks they arrive bit-exact, whole and in order.
func TestVideoRoundTrip(t *testing.T) {
	testutil.CheckLeaks(t)
	for _, tc := range []struct {
		name string
		f    pixfmt.Format
		w, h int
		mode rfc4175.Mode
	}{
		{"yuv422p10le", pixfmt.YUV422P10LE, 320, 240, rfc4175.GPM},
		{"v210", pixfmt.V210, 384, 216, rfc4175.GPM},
		{"pgroup10", pixfmt.PGroup10, 320, 240, rfc4175.GPM},
		{"pgroup10-bpm", pixfmt.PGroup10, 1280, 72, rfc4175.BPM},
		{"uyvy", pixfmt.PGroup8, 320, 240, rfc4175.GPM},
		{"1080p", pixfmt.YUV422P10LE, 1920, 1080, rfc4175.GPM},
		{"2160p-v210", pixfmt.V210, 3840, 2160, rfc4175.GPM},
		{"2160p-bpm", pixfmt.PGroup10, 3840, 2160, rfc4175.BPM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.w > 1920 && testing.Short() {
				t.Skip("2160p frames are slow for -short")
			}
			cfg := videoConfig(t, tc.f, tc.w, tc.h, true)
			cfg.Video.Packing = tc.mode
			_, src, rx, sink := pair(t, cfg, 8)
			frames := 5
			if tc.w > 1920 && testutil.RaceEnabled {
				frames = 2 // the race detector makes each 2160p frame ~2 s
			}
			var sent [][]byte
			for i := range frames {
				f := videoFrame(t, tc.f, tc.w, tc.h, uint64(i+1))
				sent = append(sent, f)
				src.put(slot(t, cfg.Layout, f, 0))
			}
			var prev uint32
			for i := range frames {
				sd, p, fi, ok := delivered(t, cfg.Layout, recvOne(t, sink, 5*time.Second))
				if !ok || fi.Flags&mcm.FlagIncomplete != 0 || fi.Missing != 0 {
					t.Fatalf("frame %d: frame info %+v ok=%v; stats %v", i, fi, ok, rx.Stats().Snapshot())
				}
				if !bytes.Equal(p, sent[i]) {
					t.Fatalf("frame %d differs (%d bytes, want %d)", i, len(p), len(sent[i]))
				}
				if i > 0 && fi.RTPTime-prev != 1501 && fi.RTPTime-prev != 1502 {
					t.Errorf("frame %d: RTP timestamp step %d, want 1501/1502 at 59.94", i, fi.RTPTime-prev)
				}
				if sd.Timestamp == 0 {
					t.Errorf("frame %d: no timestamp in the buffer header", i)
				}
				prev = fi.RTPTime
			}
			if st := rx.Stats(); st.Lost.Load() != 0 || st.Malformed.Load() != 0 {
				t.Errorf("receiver stats %v", st.Snapshot())
			}
		})
	}
}

// TestVideoPaced sends paced frames: they arrive whole, one frame period
// apart on the media clock, with the timestamps of their alignment points.
func TestVideoPaced(t *testing.T) {
	testutil.CheckLeaks(t)
	cfg := videoConfig(t, pixfmt.PGroup10, 640, 360, false)
	tx, src, _, sink := pair(t, cfg, 8)
	f := videoFrame(t, pixfmt.PGroup10, 640, 360, 7)
	for range 3 {
		src.put(slot(t, cfg.Layout, f, 0))
	}
	var last mcm.Sysdata
	for i := range 3 {
		sd, p, fi, _ := delivered(t, cfg.Layout, recvOne(t, sink, 5*time.Second))
		if !bytes.Equal(p, f) || fi.Flags != 0 {
			t.Fatalf("frame %d damaged: %+v", i, fi)
		}
		// Frames sit on alignment points: a whole number of periods apart
		// (a frame the pacer could not start in time takes the next one).
		if i > 0 {
			d := float64(sd.Timestamp-last.Timestamp) * 60000 / 1001 / 1e9
			if k := math.Round(d); k < 1 || math.Abs(d-k) > 0.01 {
				t.Errorf("frame %d: media time step %.3f periods, want a whole number", i, d)
			}
		}
		last = sd
	}
	if st := tx.Stats(); st.PacingSteps.Load() == 0 {
		t.Errorf("no pacing steps: %v", st.Snapshot())
	}
}

func TestAudioRoundTrip(t *testing.T) {
	testutil.CheckLeaks(t)
	for _, tc := range []struct {
		name                   string
		ch, bytes, rate, samps int
	}{
		{"L24-2ch-1ms", 2, 3, 48000, 48},
		{"L16-8ch-125us", 8, 2, 48000, 6},
		{"L24-4ch-96k-1ms", 4, 3, 96000, 96},
		{"L24-1ch-44.1k", 1, 3, 44100, 48},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := AudioConfig{Channels: tc.ch, SampleBytes: tc.bytes, SampleRate: tc.rate, Samples: tc.samps}
			l, _ := mcm.NewLayout(uint32(a.PacketBytes()), mcm.FrameInfoSize)
			cfg := Config{Essence: Audio, PayloadType: 97, Layout: l, Audio: a}
			_, src, rx, sink := pair(t, cfg, 64)
			const n = 50
			var sent [][]byte
			now := time.Now().UnixNano()
			for i := range n {
				p := make([]byte, a.PacketBytes())
				for k := range p {
					p[k] = byte(i*7 + k)
				}
				sent = append(sent, p)
				src.put(slot(t, l, p, now+int64(i)*int64(a.PacketTime())))
			}
			var prev uint32
			for i := range n {
				_, p, fi, _ := delivered(t, l, recvOne(t, sink, 5*time.Second))
				if !bytes.Equal(p, sent[i]) {
					t.Fatalf("packet %d differs", i)
				}
				if i > 0 && fi.RTPTime-prev != uint32(tc.samps) {
					t.Fatalf("packet %d: timestamp step %d, want %d", i, fi.RTPTime-prev, tc.samps)
				}
				prev = fi.RTPTime
			}
			if st := rx.Stats(); st.Lost.Load() != 0 {
				t.Errorf("stats %v", st.Snapshot())
			}
		})
	}
}

// TestJPEGXSRoundTrip carries opaque codestreams of varying size.
func TestJPEGXSRoundTrip(t *testing.T) {
	testutil.CheckLeaks(t)
	l, _ := mcm.NewLayout(1920*1080*4, mcm.FrameInfoSize)
	cfg := Config{Essence: JPEGXS, PayloadType: 114, Layout: l,
		Video: VideoConfig{Width: 1920, Height: 1080, Rate: mediaclock.Rate{Num: 50, Den: 1}, Format: pixfmt.YUV422P10LE, Unpaced: true}}
	_, src, _, sink := pair(t, cfg, 8)
	var sent [][]byte
	for i, size := range []int{777_777, 1400, 50, 300_001} {
		cs := make([]byte, size)
		for k := range cs {
			cs[k] = byte(k*3 + i)
		}
		sent = append(sent, cs)
		src.put(slot(t, l, cs, 0))
	}
	for i := range sent {
		_, p, fi, _ := delivered(t, l, recvOne(t, sink, 5*time.Second))
		if !bytes.Equal(p, sent[i]) || fi.Flags != 0 {
			t.Fatalf("codestream %d: %d bytes (want %d), info %+v", i, len(p), len(sent[i]), fi)
		}
	}
}

// TestAncRoundTrip carries one frame's ANC data section.
func TestAncRoundTrip(t *testing.T) {
	testutil.CheckLeaks(t)
	l, _ := mcm.NewLayout(1024, mcm.FrameInfoSize)
	cfg := Config{Essence: Anc, PayloadType: 100, Layout: l, Video: VideoConfig{Rate: mediaclock.Rate{Num: 50, Den: 1}, Unpaced: true}}
	_, src, _, sink := pair(t, cfg, 8)
	section := []byte{1, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}
	src.put(slot(t, l, section, 0))
	_, p, _, _ := delivered(t, l, recvOne(t, sink, 5*time.Second))
	if !bytes.Equal(p, section) {
		t.Fatalf("got % x, want % x", p, section)
	}
}

// TestSenderSDP checks the SDP a sender writes parses back to its stream.
func TestSenderSDP(t *testing.T) {
	cfg := videoConfig(t, pixfmt.YUV422P10LE, 1920, 1080, false)
	cfg.Net = netio.Config{Remote: netip.MustParseAddrPort("239.1.2.3:5004"), Local: netip.AddrPortFrom(loopback, 0)}
	tx, err := NewSender(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	sess, err := sdp.Parse(tx.SDP("test"))
	if err != nil {
		t.Fatalf("%v\n%s", err, tx.SDP("test"))
	}
	m := sess.Media[0]
	v := m.Video
	if m.Port != 5004 || m.Dest.String() != "239.1.2.3" || m.TTL != 64 || m.Encoding != "raw" || m.PayloadType != 96 ||
		v.Width != 1920 || v.Height != 1080 || v.Depth != 10 || v.ExactFrameRate != (sdp.Rate{Num: 60000, Den: 1001}) ||
		v.PM != "2110GPM" || v.TP != "2110TPW" || m.MediaClock != "direct=0" {
		t.Errorf("sdp: %+v %+v", m, v)
	}
	if err := sess.Validate(); err != nil {
		t.Errorf("our SDP is not valid ST 2110: %v\n%s", err, tx.SDP("test"))
	}
}

// TestHostilePackets aims garbage at a receiver: each kind is counted and
// dropped, nothing is delivered, and a real frame still gets through.
func TestHostilePackets(t *testing.T) {
	testutil.CheckLeaks(t)
	cfg := videoConfig(t, pixfmt.PGroup10, 64, 8, true)
	tx, src, rx, sink := pair(t, cfg, 4)
	conn, err := netio.Dial(netio.Config{Remote: rx.LocalAddr()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ssrc := tx.SSRC()
	rtpHdr := func(pt byte, ssrc uint32) []byte {
		h := []byte{0x80, pt, 0, 1, 0, 0, 0, 9, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(h[8:], ssrc)
		return h
	}
	srd := func(length, row, off uint16) []byte {
		b := make([]byte, 8)
		binary.BigEndian.PutUint16(b[2:], length)
		binary.BigEndian.PutUint16(b[4:], row)
		binary.BigEndian.PutUint16(b[6:], off)
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	bad := [][]byte{
		{0x80},                                  // truncated RTP
		cat([]byte{0x40, 96}, make([]byte, 10)), // version 1
		cat(rtpHdr(97, ssrc), srd(10, 0, 0), make([]byte, 10)),  // wrong PT
		cat(rtpHdr(96, ssrc), srd(10, 8, 0), make([]byte, 10)),  // row 8 of 8
		cat(rtpHdr(96, ssrc), srd(10, 0, 62), make([]byte, 10)), // past the line end
		cat(rtpHdr(96, ssrc), srd(7, 0, 0), make([]byte, 7)),    // not whole pgroups
		cat(rtpHdr(96, ssrc), srd(100, 0, 0), make([]byte, 10)), // longer than the packet
		cat(rtpHdr(96, ssrc), []byte{0, 0}),                     // no SRD
		make([]byte, 9000),                                      // oversize, not RTP
	}
	b := netio.NewBatch(1, 2)
	for _, p := range bad {
		b.Reset()
		b.Add(p, nil)
		if _, err := conn.Send(b, netio.SendEach, 0); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 5*time.Second, func() error {
		st := rx.Stats()
		if st.Malformed.Load()+st.WrongPT.Load()+st.OutOfFrame.Load() < uint64(len(bad)) {
			return fmt.Errorf("counted %v", st.Snapshot())
		}
		return nil
	})
	if n := len(sink.got); n != 0 {
		t.Fatalf("%d buffers delivered from garbage", n)
	}
	f := videoFrame(t, pixfmt.PGroup10, 64, 8, 3)
	src.put(slot(t, cfg.Layout, f, 0))
	_, p, fi, _ := delivered(t, cfg.Layout, recvOne(t, sink, 5*time.Second))
	if !bytes.Equal(p, f) || fi.Flags != 0 {
		t.Fatalf("the real frame after garbage: info %+v", fi)
	}
}

// TestLossFlaggedOrDropped drops packets between sender and receiver: the
// frame is delivered flagged incomplete, or dropped when asked, never
// passed as whole.
func TestLossFlaggedOrDropped(t *testing.T) {
	testutil.CheckLeaks(t)
	for _, drop := range []bool{false, true} {
		cfg := videoConfig(t, pixfmt.PGroup10, 64, 16, true)
		cfg.DropIncomplete = drop
		rc := cfg
		rc.Net = netio.Config{Local: netip.AddrPortFrom(loopback, 0)}
		rx, err := NewReceiver(rc, nil)
		if err != nil {
			t.Fatal(err)
		}
		sink := newFakeSink(4, int(cfg.Layout.Total))
		if err := rx.Start(context.Background(), sink); err != nil {
			t.Fatal(err)
		}
		// A sender of our own that skips packet 5 of frame 1.
		g, _ := geometry(cfg.Video)
		plan, _ := rfc4175.NewPlan(g, rfc4175.GPM, 1448)
		conn, _ := netio.Dial(netio.Config{Remote: rx.LocalAddr()})
		frame := videoFrame(t, pixfmt.PGroup10, 64, 16, 1)
		b := netio.NewBatch(1, 2)
		seq := uint16(100)
		for fr := range 3 {
			for i, p := range plan.Packets {
				h := make([]byte, 40)
				h[0], h[1] = 0x80, 96
				if i == len(plan.Packets)-1 {
					h[1] |= 0x80
				}
				binary.BigEndian.PutUint16(h[2:], seq)
				binary.BigEndian.PutUint32(h[4:], uint32(1000+fr*1800))
				binary.BigEndian.PutUint32(h[8:], 42)
				n := 12 + plan.PutHeader(h[12:], i, 0)
				seq++
				if fr == 1 && i == 5 {
					continue
				}
				b.Reset()
				b.Add(h[:n], frame[p.Offset:p.Offset+p.Bytes])
				if _, err := conn.Send(b, netio.SendEach, 0); err != nil {
					t.Fatal(err)
				}
			}
		}
		want := []bool{false, true, false} // incomplete
		if drop {
			want = []bool{false, false}
		}
		for i, inc := range want {
			_, p, fi, _ := delivered(t, cfg.Layout, recvOne(t, sink, 5*time.Second))
			if got := fi.Flags&mcm.FlagIncomplete != 0; got != inc {
				t.Errorf("drop=%v buffer %d: incomplete=%v, want %v (%+v)", drop, i, got, inc, fi)
			}
			if !inc && !bytes.Equal(p, frame) {
				t.Errorf("drop=%v buffer %d: whole frame differs", drop, i)
			}
		}
		st := rx.Stats()
		if st.Lost.Load() != 1 {
			t.Errorf("drop=%v: lost %d, want 1 (%v)", drop, st.Lost.Load(), st.Snapshot())
		}
		_ = conn.Close()
		_ = rx.Close()
	}
}

// A video frame whose period's first packet time has just passed (the
// previous frame ran late) keeps its period and catches up; only one more
// than half a period late moves on, else every later frame would be late
// too and the stream would run at half its rate.
func TestSlotKeepsSlightlyLateFrames(t *testing.T) {
	var now int64
	cfg := videoConfig(t, pixfmt.PGroup10, 1920, 1080, false)
	cfg.Clock = mediaclock.NewFixed(func() int64 { return now })
	cfg.Net.Remote = netip.AddrPortFrom(loopback, 5004)
	s, err := NewSender(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Video.Rate
	period := mediaclock.FrameStart(101, r) - mediaclock.FrameStart(100, r)
	put := mediaclock.FrameStart(100, r) + period/3 // the app's timestamp, in period 100
	first := func(n int64) int64 { return s.model.PacketTime(mediaclock.FrameStart(n, r), 0) }

	now = first(101) + period/10 // 101's first packet passed a little while ago
	if n, _ := s.slot(put); n != 101 {
		t.Fatalf("slightly late frame went to period %d, want 101", n)
	}
	now = first(103) + period*6/10 // 103's first packet passed more than half a period ago
	if n, _ := s.slot(put + 2*period); n != 104 {
		t.Fatalf("a frame far behind went to period %d, want 104", n)
	}
	if got := s.stats.LateFrames.Load(); got != 2 {
		t.Fatalf("late frames %d, want 2", got)
	}
}
