//go:build integration

package test

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"mediamesh/internal/sdp"
	"mediamesh/internal/testutil"
)

// ST 2110 interop with real peers on loopback: GStreamer 1.22
// (rtpvrawpay/rtpvrawdepay, rtpL24/L16pay/depay, sdpdemux) and FFmpeg 5.1
// (bitpacked over -f rtp, SDP input) against media-proxy driven by
// meshctl. Every case sends deterministic reference media and compares
// what arrived byte for byte. Peer quirks relied on are those measured in
// shared/interop/README.md.

// Peers of a case.
const (
	ixPeerMesh     = "mesh"     // meshctl through media-proxy
	ixPeerGst      = "gst"      // gst-launch-1.0 with explicit RTP caps
	ixPeerFFmpeg   = "ffmpeg"   // ffmpeg; it receives from the sender's SDP, sends with its own
	ixPeerSDPDemux = "sdpdemux" // gst-launch-1.0 filesrc ! sdpdemux on the sender's SDP
)

// ixFinishTimeout is how long a receiver may take to end once its sender
// is done (FFmpeg's own read timeout is 10 s).
const ixFinishTimeout = 8 * time.Second

// ixVideoCase is one ST 2110-20 pairing, 4:2:2 10-bit.
type ixVideoCase struct {
	name   string
	w, h   int
	frames int    // frames the receiver must deliver, bit-exact
	tx, rx string // peers
	pix    string // media-proxy app layout: "" (pgroups), yuv422p10le or v210
	decode bool   // FFmpeg rx: decode to yuv422p10le instead of copying the pgroups
	fps    string // mediamesh sender's --fps; default 59.94
}

func (vc ixVideoCase) hd() bool { return vc.w*vc.h >= 1920*1080 }

func TestST2110InteropVideo(t *testing.T) {
	testutil.CheckLeaks(t)
	cases := []ixVideoCase{
		{name: "gst-to-mesh", w: 320, h: 240, frames: 8, tx: ixPeerGst, rx: ixPeerMesh},
		{name: "gst-to-mesh-1080p", w: 1920, h: 1080, frames: 5, tx: ixPeerGst, rx: ixPeerMesh},
		{name: "mesh-to-gst", w: 320, h: 240, frames: 8, tx: ixPeerMesh, rx: ixPeerGst},
		{name: "mesh-to-gst-1080p", w: 1920, h: 1080, frames: 5, tx: ixPeerMesh, rx: ixPeerGst},
		{name: "ffmpeg-sdp-to-mesh", w: 320, h: 240, frames: 8, tx: ixPeerFFmpeg, rx: ixPeerMesh},
		{name: "ffmpeg-sdp-to-mesh-1080p", w: 1920, h: 1080, frames: 5, tx: ixPeerFFmpeg, rx: ixPeerMesh},
		{name: "mesh-sdp-to-ffmpeg", w: 320, h: 240, frames: 8, tx: ixPeerMesh, rx: ixPeerFFmpeg},
		{name: "mesh-sdp-to-ffmpeg-1080p", w: 1920, h: 1080, frames: 5, tx: ixPeerMesh, rx: ixPeerFFmpeg},
		// An integer frame rate: the SDP must say exactframerate=50 (it
		// said "50/0" before d321161, which our own parser rejected and
		// FFmpeg 5.1 could not open: "unknown codec").
		{name: "mesh-sdp-50fps-to-ffmpeg", w: 320, h: 240, frames: 8, tx: ixPeerMesh, rx: ixPeerFFmpeg, fps: "50"},
		// Other app layouts on the mediamesh side, against this file's own
		// conversion of the same samples and against FFmpeg's.
		{name: "gst-to-mesh-yuv422p10le", w: 320, h: 240, frames: 8, tx: ixPeerGst, rx: ixPeerMesh, pix: ixLayoutPlanar},
		{name: "gst-to-mesh-v210", w: 384, h: 216, frames: 8, tx: ixPeerGst, rx: ixPeerMesh, pix: ixLayoutV210},
		{name: "ffmpeg-sdp-to-mesh-yuv422p10le", w: 320, h: 240, frames: 8, tx: ixPeerFFmpeg, rx: ixPeerMesh, pix: ixLayoutPlanar},
		{name: "mesh-yuv422p10le-to-gst", w: 320, h: 240, frames: 8, tx: ixPeerMesh, rx: ixPeerGst, pix: ixLayoutPlanar},
		{name: "mesh-v210-sdp-to-ffmpeg-yuv422p10le", w: 384, h: 216, frames: 8, tx: ixPeerMesh, rx: ixPeerFFmpeg, pix: ixLayoutV210, decode: true},
		// Our SDP, unchanged, in GStreamer. sdpdemux's udpsrc has no
		// buffer-size and gets net.core.rmem_default (208 KiB): at 1080p it
		// lost most packets and delivered frames pieced from stale pool
		// buffers. With the default raised (ixNeedRcvBuf) it is exact.
		{name: "mesh-sdp-to-sdpdemux", w: 320, h: 240, frames: 8, tx: ixPeerMesh, rx: ixPeerSDPDemux},
		{name: "mesh-sdp-to-sdpdemux-1080p", w: 1920, h: 1080, frames: 5, tx: ixPeerMesh, rx: ixPeerSDPDemux},
	}
	p := ixStartST2110Proxy(t)
	for _, vc := range cases {
		t.Run(vc.name, func(t *testing.T) {
			if vc.hd() && testing.Short() {
				t.Skip("1080p: not with -short")
			}
			ixRunVideoCase(t, p, vc)
		})
	}
}

// ixRunVideoCase: the sender's SDP where the receiver needs it, the
// receiver ready before any packet, the sender, then the comparison.
func ixRunVideoCase(t *testing.T, p *ixProxy, vc ixVideoCase) {
	c := newIxCase(t, p)
	var gst, ffmpeg string
	for _, peer := range []string{vc.tx, vc.rx} {
		switch peer {
		case ixPeerGst:
			gst = ixNeedGst(t, "gstreamer1.0-plugins-good", "rawvideoparse", "rtpvrawpay", "rtpvrawdepay")
		case ixPeerSDPDemux:
			gst = ixNeedGst(t, "gstreamer1.0-plugins-bad", "sdpdemux", "rtpvrawdepay")
		case ixPeerFFmpeg:
			ffmpeg = needPeer(t, "ffmpeg", "ffmpeg")
		}
	}
	switch {
	case vc.rx == ixPeerFFmpeg && vc.hd():
		ixNeedRcvBuf(t, 64<<20, ixRmemMax) // FFmpeg asks for SO_RCVBUF 64 MiB, capped by rmem_max
	case vc.rx == ixPeerSDPDemux:
		ixNeedRcvBuf(t, 64<<20, ixRmemMax, ixRmemDefault) // sdpdemux's udpsrc takes the default
	}
	port := ixFreeUDPPort(t)
	dest := "127.0.0.1:" + strconv.Itoa(port)
	size := fmt.Sprintf("%dx%d", vc.w, vc.h)
	sent := vc.frames + 3 // FFmpeg and identity eos-after hold the last frame back; sdpdemux one more
	ref := ixNewRefVideo(vc.name, vc.w, vc.h, sent)
	meshLayout := ixLayoutPG
	if vc.pix != "" {
		meshLayout = vc.pix
	}
	fps := vc.fps
	if fps == "" {
		fps = "59.94"
	}

	// The sender's SDP.
	var sdpPath string
	var tx *ixProc
	var fifo *os.File
	switch vc.tx {
	case ixPeerFFmpeg:
		// FFmpeg writes its SDP as it starts sending: a first run of one
		// frame, with nobody listening yet, writes the SDP the real run
		// writes again (compared below).
		in := ixWriteFrames(t, c.path("in.yuv"), ref.frames(ixLayoutPlanar))
		sdpPath = c.path("ffmpeg.sdp")
		c.start("ffmpeg-sdp", ffmpeg, ixFFmpegVideoTx(in, size, port, sdpPath, 1)...).wait(t)
	case ixPeerMesh:
		pipe := c.fifo("tx.fifo")
		sdpPath = c.path("ours.sdp")
		args := []string{"--st2110", dest, "--video", size, "--fps", fps, "--frames", strconv.Itoa(sent),
			"--from", pipe, "--sdp", sdpPath, "--timeout", "20s"}
		if vc.pix != "" {
			args = append(args, "--pix", vc.pix)
		}
		tx = c.meshctlCmd("meshctl-send", "send", args...)
		fifo = c.fifoWriter(tx, pipe)
		ixCheckOurVideoSDP(t, c.waitSDP(tx, sdpPath), port, vc.w, vc.h)
	}

	// The receiver.
	out := c.path("rx.raw")
	want, maxOffset := ref.frames(ixLayoutPG), 0
	var rx *ixProc
	switch vc.rx {
	case ixPeerMesh:
		args := []string{"--frames", strconv.Itoa(vc.frames), "--to", out, "--timeout", "10s"}
		if vc.tx == ixPeerFFmpeg {
			args = append(args, "--sdp", sdpPath)
			if vc.pix != "" { // the SDP gives the geometry, the app its layout
				args = append(args, "--video", size, "--pix", vc.pix)
			}
		} else {
			args = append(args, "--st2110", dest, "--video", size, "--fps", "30")
			if vc.pix != "" {
				args = append(args, "--pix", vc.pix)
			}
		}
		rx = c.meshctlCmd("meshctl-recv", "recv", args...)
		c.waitWire(rx, "rx", port)
		want = ref.frames(meshLayout)
	case ixPeerGst:
		rx = c.start("gst-recv", gst, ixGstVideoRx(port, vc.w, vc.h, vc.frames, out)...)
		c.waitUDP(rx, port)
	case ixPeerSDPDemux:
		// No identity eos-after here: behind sdpdemux it does not end the
		// pipeline. The case interrupts it once the frames are in.
		rx = c.start("gst-sdpdemux", gst, "-e", "-v", "filesrc", "location="+sdpPath, "!", "sdpdemux", "!",
			"rtpvrawdepay", "!", "video/x-raw,format=UYVP", "!", "filesink", "buffer-mode=unbuffered", "location="+out)
		c.waitUDP(rx, port)
	case ixPeerFFmpeg:
		rx = c.start("ffmpeg-recv", ffmpeg, ixFFmpegVideoRx(sdpPath, vc.frames, vc.decode, out)...)
		c.waitUDP(rx, port)
		if vc.decode {
			want = ref.frames(ixLayoutPlanar)
		}
		maxOffset = 1 // FFmpeg drops a first frame stamped 0 (ours never are)
	}

	// The sender.
	switch vc.tx {
	case ixPeerGst:
		in := ixWriteFrames(t, c.path("in.pg"), ref.frames(ixLayoutPG))
		c.start("gst-send", gst, "filesrc", "location="+in, "!",
			"rawvideoparse", "format=uyvp", "width="+strconv.Itoa(vc.w), "height="+strconv.Itoa(vc.h), "framerate=30/1", "!",
			"rtpvrawpay", "mtu=1400", "pt=96", "!", "udpsink", "host=127.0.0.1", "port="+strconv.Itoa(port)).wait(t)
	case ixPeerFFmpeg:
		again := c.path("ffmpeg-run.sdp")
		c.start("ffmpeg-send", ffmpeg, ixFFmpegVideoTx(c.path("in.yuv"), size, port, again, sent)...).wait(t)
		a, _ := os.ReadFile(sdpPath)
		b, _ := os.ReadFile(again)
		if !bytes.Equal(a, b) {
			t.Fatalf("FFmpeg's SDP changed between its runs:\n%s\nvs\n%s", a, b)
		}
	case ixPeerMesh:
		c.feed(fifo, ref.frames(meshLayout))
		tx.wait(t)
		if l := tx.line("send ok"); !strings.HasPrefix(l, fmt.Sprintf("send ok frames=%d ", sent)) {
			t.Fatalf("meshctl send: %q, want send ok frames=%d", l, sent)
		}
	}

	// What arrived.
	ixFinish(t, rx, out, int64(vc.frames*len(want[0])), vc.rx != ixPeerSDPDemux, ixFinishTimeout)
	if vc.rx == ixPeerSDPDemux {
		caps := ixCheckCaps(t, rx, "video/x-raw", "UYVP", fmt.Sprintf("width=(int)%d", vc.w), fmt.Sprintf("height=(int)%d", vc.h))
		t.Logf("sdpdemux negotiated %s", caps)
	}
	if vc.rx == ixPeerMesh {
		ixCheckRecvOK(t, rx, vc.frames)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	off, n, err := ixMatchRun(got, want, vc.frames, maxOffset)
	if err != nil {
		t.Fatalf("%s -> %s %s: %v", vc.tx, vc.rx, size, err)
	}
	t.Logf("%d frames of %d bytes bit-exact, from reference frame %d", n, len(want[0]), off)
}

// TestST2110InteropAudio: ST 2110-30 L24 and L16, stereo at 48 kHz, both
// ways with GStreamer, and our SDP opened by FFmpeg and sdpdemux.
func TestST2110InteropAudio(t *testing.T) {
	testutil.CheckLeaks(t)
	cases := []ixAudioCase{
		{name: "gst-L24-1ms-to-mesh", enc: "L24", ptime: "1ms", packets: 300, tx: ixPeerGst, rx: ixPeerMesh},
		{name: "gst-L16-125us-to-mesh", enc: "L16", ptime: "125us", packets: 800, tx: ixPeerGst, rx: ixPeerMesh},
		{name: "mesh-L24-1ms-to-gst", enc: "L24", ptime: "1ms", packets: 300, tx: ixPeerMesh, rx: ixPeerGst},
		{name: "mesh-L16-125us-to-gst", enc: "L16", ptime: "125us", packets: 800, tx: ixPeerMesh, rx: ixPeerGst},
		{name: "mesh-sdp-L24-1ms-to-ffmpeg", enc: "L24", ptime: "1ms", packets: 300, tx: ixPeerMesh, rx: ixPeerFFmpeg},
		{name: "mesh-sdp-L16-1ms-to-ffmpeg", enc: "L16", ptime: "1ms", packets: 300, tx: ixPeerMesh, rx: ixPeerFFmpeg},
		{name: "mesh-sdp-L24-1ms-to-sdpdemux", enc: "L24", ptime: "1ms", packets: 300, tx: ixPeerMesh, rx: ixPeerSDPDemux},
	}
	p := ixStartST2110Proxy(t)
	for _, ac := range cases {
		t.Run(ac.name, func(t *testing.T) { ixRunAudioCase(t, p, ac) })
	}
}

// ixAudioCase is one ST 2110-30 pairing, 2 channels at 48 kHz.
type ixAudioCase struct {
	name    string
	enc     string // L24 or L16
	ptime   string // 1ms or 125us
	packets int    // packets the receiver must deliver, sample-exact
	tx, rx  string
}

func ixRunAudioCase(t *testing.T, p *ixProxy, ac ixAudioCase) {
	c := newIxCase(t, p)
	var gst, ffmpeg string
	for _, peer := range []string{ac.tx, ac.rx} {
		switch peer {
		case ixPeerGst:
			gst = ixNeedGst(t, "gstreamer1.0-plugins-good", "rawaudioparse", "rtp"+ac.enc+"pay", "rtp"+ac.enc+"depay")
		case ixPeerSDPDemux:
			gst = ixNeedGst(t, "gstreamer1.0-plugins-bad", "sdpdemux", "rtp"+ac.enc+"depay")
		case ixPeerFFmpeg:
			ffmpeg = needPeer(t, "ffmpeg", "ffmpeg")
		}
	}
	const channels, rate = 2, 48000
	bytesPer, format := 3, "pcm_s24be"
	if ac.enc == "L16" {
		bytesPer, format = 2, "pcm_s16be"
	}
	samples, ptimeNs := 48, 1000000
	if ac.ptime == "125us" {
		samples, ptimeNs = 6, 125000
	}
	pkt := samples * channels * bytesPer
	port := ixFreeUDPPort(t)
	dest := "127.0.0.1:" + strconv.Itoa(port)
	sent := ac.packets + 3
	ref := ixRefAudio(ac.name, pkt, sent)
	meshArgs := []string{"--transport", "st2110-30", "--pt", "97", "--audio", "--channels", strconv.Itoa(channels),
		"--sample-rate", strconv.Itoa(rate), "--format", format, "--ptime", ac.ptime}

	var sdpPath string
	var tx *ixProc
	var fifo *os.File
	if ac.tx == ixPeerMesh {
		pipe := c.fifo("tx.fifo")
		sdpPath = c.path("ours.sdp")
		tx = c.meshctlCmd("meshctl-send", "send", append([]string{"--st2110", dest, "--frames", strconv.Itoa(sent),
			"--from", pipe, "--sdp", sdpPath, "--timeout", "20s"}, meshArgs...)...)
		fifo = c.fifoWriter(tx, pipe)
		ixCheckOurAudioSDP(t, c.waitSDP(tx, sdpPath), port, ac.enc, channels, rate)
	}

	out := c.path("rx.pcm")
	maxOffset := 0
	var rx *ixProc
	caps := fmt.Sprintf("application/x-rtp,media=audio,clock-rate=%d,encoding-name=%s,channels=(int)%d,payload=(int)97", rate, ac.enc, channels)
	eos := "eos-after=" + strconv.Itoa(ac.packets+1)
	switch ac.rx {
	case ixPeerMesh:
		// 128 ring slots: at 125 µs the default 16 are 2 ms, less than
		// the scheduling hiccups of a busy 2-core machine.
		rx = c.meshctlCmd("meshctl-recv", "recv", append([]string{"--st2110", dest, "--frames", strconv.Itoa(ac.packets),
			"--to", out, "--timeout", "10s", "--queue", "128"}, meshArgs...)...)
		c.waitWire(rx, "rx", port)
	case ixPeerGst:
		rx = c.start("gst-recv", gst, "-e", "udpsrc", "address=127.0.0.1", "port="+strconv.Itoa(port), "buffer-size=67108864", "caps="+caps, "!",
			"rtp"+ac.enc+"depay", "!", "identity", eos, "!", "filesink", "buffer-mode=unbuffered", "location="+out)
		c.waitUDP(rx, port)
	case ixPeerSDPDemux:
		rx = c.start("gst-sdpdemux", gst, "-e", "-v", "filesrc", "location="+sdpPath, "!", "sdpdemux", "!",
			"rtp"+ac.enc+"depay", "!", "filesink", "buffer-mode=unbuffered", "location="+out)
		c.waitUDP(rx, port)
	case ixPeerFFmpeg:
		f := "s24be"
		if ac.enc == "L16" {
			f = "s16be"
		}
		rx = c.start("ffmpeg-recv", ffmpeg, "-nostdin", "-hide_banner", "-y", "-probesize", "32", "-analyzeduration", "0",
			"-protocol_whitelist", "file,udp,rtp", "-i", sdpPath, "-frames:a", strconv.Itoa(ac.packets),
			"-c:a", "copy", "-f", f, out)
		c.waitUDP(rx, port)
		maxOffset = 1
	}

	switch ac.tx {
	case ixPeerGst:
		in := ixWriteFrames(t, c.path("in.pcm"), ref)
		c.start("gst-send", gst, "filesrc", "location="+in, "blocksize="+strconv.Itoa(pkt), "!",
			"rawaudioparse", "format=pcm", "pcm-format=s"+strconv.Itoa(8*bytesPer)+"be",
			"sample-rate="+strconv.Itoa(rate), "num-channels="+strconv.Itoa(channels), "!",
			"rtp"+ac.enc+"pay", "pt=97", "min-ptime="+strconv.Itoa(ptimeNs), "max-ptime="+strconv.Itoa(ptimeNs), "!",
			"udpsink", "host=127.0.0.1", "port="+strconv.Itoa(port)).wait(t)
	case ixPeerMesh:
		c.feed(fifo, ref)
		tx.wait(t)
		if l := tx.line("send ok"); !strings.HasPrefix(l, fmt.Sprintf("send ok frames=%d ", sent)) {
			t.Fatalf("meshctl send: %q, want send ok frames=%d", l, sent)
		}
	}

	ixFinish(t, rx, out, int64(ac.packets*pkt), ac.rx != ixPeerSDPDemux, ixFinishTimeout)
	if ac.rx == ixPeerMesh {
		ixCheckRecvOK(t, rx, ac.packets)
	}
	if ac.rx == ixPeerSDPDemux {
		t.Logf("sdpdemux negotiated %s", ixCheckCaps(t, rx, "audio/x-raw", "rate=(int)48000", "channels=(int)2"))
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	off, n, err := ixMatchRun(got, ref, ac.packets, maxOffset)
	if err != nil {
		t.Fatalf("%s -> %s %s %s: %v", ac.tx, ac.rx, ac.enc, ac.ptime, err)
	}
	t.Logf("%d packets of %d bytes sample-exact, from reference packet %d", n, pkt, off)
}

// ixGstVideoRx receives RFC 4175 with explicit caps: width, height and
// depth must be strings for rtpvrawdepay (without depth it assumes 8
// bits). identity eos-after=N passes N-1 buffers.
func ixGstVideoRx(port, w, h, frames int, out string) []string {
	caps := fmt.Sprintf("application/x-rtp,media=video,clock-rate=90000,encoding-name=RAW,sampling=YCbCr-4:2:2,"+
		"depth=(string)10,width=(string)%d,height=(string)%d,payload=(int)96", w, h)
	return []string{"-e", "udpsrc", "address=127.0.0.1", "port=" + strconv.Itoa(port), "buffer-size=67108864", "caps=" + caps, "!",
		"rtpvrawdepay", "!", "video/x-raw,format=UYVP", "!",
		"identity", "eos-after=" + strconv.Itoa(frames+1), "!", "filesink", "location=" + out}
}

// ixFFmpegVideoTx sends yuv422p10le frames as RFC 4175 pgroups (the
// bitpacked encoder; rawvideo would send planar bytes as pgroups), paced
// at 30 fps, and writes its SDP.
func ixFFmpegVideoTx(in, size string, port int, sdpOut string, frames int) []string {
	return []string{"-nostdin", "-hide_banner", "-y", "-re", "-f", "rawvideo", "-pix_fmt", "yuv422p10le", "-video_size", size,
		"-framerate", "30", "-i", in, "-frames:v", strconv.Itoa(frames),
		"-c:v", "bitpacked", "-pix_fmt", "yuv422p10le", "-f", "rtp", "-payload_type", "96", "-sdp_file", sdpOut,
		fmt.Sprintf("rtp://127.0.0.1:%d?pkt_size=1400", port)}
}

// ixFFmpegVideoRx receives from an SDP: a tiny probe (the SDP says it all),
// frames passed through as they come, pgroups copied or decoded.
func ixFFmpegVideoRx(sdpPath string, frames int, decode bool, out string) []string {
	args := []string{"-nostdin", "-hide_banner", "-y", "-buffer_size", "67108864", "-probesize", "32", "-analyzeduration", "0",
		"-protocol_whitelist", "file,udp,rtp", "-i", sdpPath, "-fps_mode", "passthrough", "-frames:v", strconv.Itoa(frames)}
	if decode {
		return append(args, "-pix_fmt", "yuv422p10le", "-f", "rawvideo", out)
	}
	return append(args, "-c:v", "copy", "-f", "rawvideo", out)
}

// ixCheckRecvOK checks meshctl recv's verdict: all frames, none flagged
// incomplete.
func ixCheckRecvOK(t *testing.T, rx *ixProc, n int) {
	t.Helper()
	if l := rx.line("recv ok"); !strings.HasPrefix(l, fmt.Sprintf("recv ok frames=%d ", n)) {
		t.Fatalf("meshctl recv: %q, want recv ok frames=%d\n%s", l, n, rx.tail(2000))
	}
	// recv ok does not count buffers the proxy dropped because the app's
	// ring was full (proxy_gaps), nor frames delivered flagged incomplete.
	if l := rx.line("recv stats"); !strings.Contains(l, " proxy_gaps=0 ") || !strings.HasSuffix(l, " incomplete=0") {
		t.Fatalf("meshctl recv: buffers dropped by the proxy or frames incomplete: %q", l)
	}
}

// ixCheckOurVideoSDP parses the SDP media-proxy wrote with our own parser and
// checks what a receiver needs from it.
func ixCheckOurVideoSDP(t *testing.T, text string, port, w, h int) {
	t.Helper()
	m := ixParseOurSDP(t, text, port)
	if m == nil {
		return
	}
	if m.Encoding != sdp.EncodingRaw || m.Video == nil || m.Video.Width != w || m.Video.Height != h ||
		m.Video.Depth != 10 || m.Video.Sampling != "YCbCr-4:2:2" || m.PayloadType != 96 {
		t.Fatalf("SDP does not describe 96 raw %dx%d 10-bit 4:2:2:\n%s", w, h, text)
	}
}

func ixCheckOurAudioSDP(t *testing.T, text string, port int, enc string, channels, rate int) {
	t.Helper()
	m := ixParseOurSDP(t, text, port)
	if m == nil {
		return
	}
	if m.Encoding != enc || m.Channels != channels || m.ClockRate != uint32(rate) || m.PayloadType != 97 {
		t.Fatalf("SDP does not describe 97 %s/%d/%d:\n%s", enc, rate, channels, text)
	}
}

// ixParseOurSDP reports a parse error without stopping the case, so that
// the peer's verdict on the same SDP shows too; it then returns nil.
func ixParseOurSDP(t *testing.T, text string, port int) *sdp.Media {
	t.Helper()
	s, err := sdp.Parse([]byte(text))
	if err != nil {
		t.Errorf("media-proxy's SDP does not parse with internal/sdp: %v\n%s", err, text)
		return nil
	}
	if len(s.Media) != 1 || s.Media[0].Port != uint16(port) || s.Media[0].Dest.String() != "127.0.0.1" {
		t.Fatalf("SDP does not name 127.0.0.1:%d:\n%s", port, text)
	}
	return &s.Media[0]
}

// ixFinish waits, once the sender is done, for the receiver: until it
// exits by itself (selfEnding: it stops after its frame count), or, for
// one that never does (sdpdemux), until it has written want bytes to out.
// A receiver still running after d is stopped with SIGINT — gst-launch -e
// turns that into EOS, FFmpeg and meshctl finish their output — so that
// the comparison can say what arrived instead of the case timing out. A
// receiver that exits by itself with an error fails the test.
func ixFinish(t *testing.T, p *ixProc, out string, want int64, selfEnding bool, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		if p.exited() {
			if p.err != nil || !selfEnding {
				t.Fatalf("%s ended by itself: %v (its log follows)", p.name, p.err)
			}
			return
		}
		fi, err := os.Stat(out)
		if !selfEnding && err == nil && fi.Size() >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%s still running %v after the sender finished, %d of %d bytes written: stopping it", p.name, d, ixSizeOf(fi), want)
			break
		}
		time.Sleep(wait) // polling another process's exit and output file
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	<-p.done
}

func ixSizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return 0
	}
	return fi.Size()
}

// ixCheckCaps checks that gst-launch -v logged negotiated caps with all of
// want in one line.
func ixCheckCaps(t *testing.T, p *ixProc, want ...string) string {
	t.Helper()
	for _, l := range strings.Split(p.output(), "\n") {
		ok := strings.Contains(l, "caps = ")
		for _, w := range want {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			return l[strings.Index(l, "caps = ")+7:]
		}
	}
	t.Fatalf("%s negotiated no caps with %v:\n%s", p.name, want, p.tail(3000))
	return ""
}
