package proxy

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdkpb "mediamesh/api/mcm/sdk"
	"mediamesh/internal/mcm"
	"mediamesh/internal/mediaclock"
	"mediamesh/internal/memif"
	"mediamesh/internal/netio"
	pacingpkg "mediamesh/internal/pacing"
	"mediamesh/internal/pixfmt"
	"mediamesh/internal/rfc4175"
	"mediamesh/internal/sdp"
	"mediamesh/internal/st2110"
)

// MCM's payload type defaults: 112 for every transport, which its proxy
// turns into 114 for -22 (mcm-api.md §3.4).
const (
	defaultPayloadType = 112
	jxsPayloadType     = 114
)

// wire is an st2110 connection's stream: a Sender for an app that
// transmits, a Receiver for one that receives. Its socket is bound when
// the connection is created, so address errors reach the app at once;
// it runs once the app's memif link is up.
type wire struct {
	essence st2110.Essence
	tx      *st2110.Sender
	rx      *st2110.Receiver
	sdp     []byte // tx: the SDP we wrote; rx: the SDP the app gave, if any
	sdpPath string // tx: RunDir/<conn id>.sdp
	desc    string
}

// newWire builds and binds the stream of an st2110 connection.
func (p *Proxy) newWire(id string, cfg *sdkpb.ConnectionConfig, opts mcm.WireOptions, layout mcm.Layout, sender bool) (*wire, error) {
	sc, w, err := p.wireConfig(cfg, opts, layout, sender)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	log := p.log.With("conn_id", id, "transport", w.essence.String())
	if sender {
		w.tx, err = st2110.NewSender(sc, log)
		if err == nil {
			err = w.tx.Bind()
		}
	} else {
		w.rx, err = st2110.NewReceiver(sc, log)
		if err == nil {
			err = w.rx.Bind()
		}
	}
	if err != nil {
		w.close()
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	if sender {
		w.desc = fmt.Sprintf("%s tx %s -> %s", w.essence, w.tx.LocalAddr(), sc.Net.Remote)
		w.sdp = w.tx.SDP("mediamesh " + id)
		w.sdpPath = filepath.Join(p.cfg.RunDir, id+".sdp")
		if err := os.WriteFile(w.sdpPath, w.sdp, 0o644); err != nil {
			w.close()
			return nil, status.Errorf(codes.Internal, "write sdp: %v", err)
		}
	} else {
		w.desc = fmt.Sprintf("%s rx %s", w.essence, w.rx.LocalAddr())
		if sc.Net.Source.IsValid() {
			w.desc += " from " + sc.Net.Source.String()
		}
	}
	return w, nil
}

// start runs the stream on the app's rings.
func (w *wire) start(link *memif.Conn) error {
	if w.tx != nil {
		return w.tx.Start(context.Background(), link.Rx(0))
	}
	link.Tx(0).Prefault() // fault the app's buffers in before the first frame
	return w.rx.Start(context.Background(), link.Tx(0))
}

func (w *wire) stats() *st2110.Stats {
	if w.tx != nil {
		return w.tx.Stats()
	}
	return w.rx.Stats()
}

// close stops the stream; the app's rings are no longer touched once it
// returns.
func (w *wire) close() {
	if w.tx != nil {
		_ = w.tx.Close()
	}
	if w.rx != nil {
		_ = w.rx.Close()
	}
	if w.sdpPath != "" {
		_ = os.Remove(w.sdpPath)
	}
}

// wireConfig turns MCM's st2110 connection config, mediamesh's options and
// the proxy's settings into a stream config. Errors name the key.
func (p *Proxy) wireConfig(cfg *sdkpb.ConnectionConfig, opts mcm.WireOptions, layout mcm.Layout, sender bool) (st2110.Config, *wire, error) {
	s := cfg.GetSt2110()
	w := &wire{}
	sc := st2110.Config{Clock: p.clock, Pacer: p.pacer, Poller: p.poller, Layout: layout, DropIncomplete: opts.DropIncomplete}
	var err error
	switch {
	case opts.Transport != "":
		sc.Essence, err = st2110.ParseEssence(opts.Transport)
	default:
		sc.Essence, err = st2110.ParseEssence(transportName(s.GetTransport()))
	}
	if err != nil {
		return sc, nil, err
	}
	w.essence = sc.Essence
	pt := s.GetPayloadType()
	switch {
	case pt == 0:
		pt = defaultPayloadType
	case pt > 127:
		return sc, nil, fmt.Errorf("st2110.payloadType %d: want 96-127", pt)
	}
	if sc.Essence == st2110.JPEGXS && pt == defaultPayloadType {
		pt = jxsPayloadType
	}
	sc.PayloadType = uint8(pt)

	local, err := p.wireAddr()
	if err != nil {
		return sc, nil, err
	}
	peer, err := optAddr("st2110.ipAddr", s.GetIpAddr())
	if err != nil {
		return sc, nil, err
	}
	src, err := optAddr("st2110.multicastSourceIpAddr", s.GetMcastSipAddr())
	if err != nil {
		return sc, nil, err
	}
	port := uint16(s.GetPort())

	var media *sdp.Media
	if opts.SDP != "" {
		sess, err := sdp.Parse([]byte(opts.SDP))
		if err != nil {
			return sc, nil, err
		}
		if len(sess.Media) == 0 {
			return sc, nil, fmt.Errorf("sdp: no media description")
		}
		media = &sess.Media[0]
		w.sdp = []byte(opts.SDP)
		if err := fromSDP(&sc, media, &peer, &src, &port); err != nil {
			return sc, nil, err
		}
	}

	sc.Net.Interface = local
	sc.Net.TTL = opts.TTL
	if sender {
		if !peer.IsValid() {
			return sc, nil, fmt.Errorf("st2110.ipAddr: a transmitter needs the destination address")
		}
		sc.Net.Remote = netip.AddrPortFrom(peer, port)
		sc.Net.Local = netip.AddrPortFrom(local, 0)
	} else {
		switch {
		case peer.IsMulticast():
			sc.Net.Local = netip.AddrPortFrom(peer, port)
			sc.Net.Source = src
			// Several local apps may receive one group: each socket gets
			// what its own join (and source filter) lets in.
			sc.Net.ReusePort = true
		default:
			sc.Net.Local = netip.AddrPortFrom(local, port)
			sc.From = peer // MCM: a unicast rx's ipAddr is its sender
		}
	}

	switch sc.Essence {
	case st2110.Video, st2110.JPEGXS:
		if err := videoConfig(&sc, cfg.GetVideo(), s.GetPacing(), opts, media); err != nil {
			return sc, nil, err
		}
	case st2110.Audio:
		if err := audioConfig(&sc, cfg.GetAudio()); err != nil {
			return sc, nil, err
		}
	case st2110.Anc:
		sc.Video.Rate = mediaclock.Rate{Num: 60000, Den: 1001}
		if v := cfg.GetVideo(); v != nil && v.GetFps() > 0 {
			if sc.Video.Rate, err = mediaclock.RateFromFPS(v.GetFps()); err != nil {
				return sc, nil, fmt.Errorf("payload.video.fps: %w", err)
			}
		}
	}
	return sc, w, nil
}

func transportName(t sdkpb.ST2110Transport) string {
	switch t {
	case sdkpb.ST2110Transport_CONN_TRANSPORT_ST2110_22:
		return "st2110-22"
	case sdkpb.ST2110Transport_CONN_TRANSPORT_ST2110_30:
		return "st2110-30"
	}
	return "st2110-20"
}

// wireAddr is the proxy's ST 2110 address (-i), checked to be this host's.
func (p *Proxy) wireAddr() (netip.Addr, error) {
	a, err := netip.ParseAddr(p.cfg.ST2110IP)
	if err != nil {
		return a, fmt.Errorf("media-proxy --ip %q is not an IPv4 address", p.cfg.ST2110IP)
	}
	if _, err := netio.InterfaceByIP(a); err != nil {
		return a, fmt.Errorf("media-proxy --ip: %w; start media-proxy with -i <an address of the ST 2110 interface>", err)
	}
	return a, nil
}

func optAddr(key, s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("%s %q: want an IPv4 address", key, s)
	}
	return a, nil
}

// fromSDP takes what the SDP says over MCM's config: addresses, port,
// payload type.
func fromSDP(sc *st2110.Config, m *sdp.Media, peer, src *netip.Addr, port *uint16) error {
	want := map[st2110.Essence]string{st2110.Video: "raw", st2110.JPEGXS: "jxsv", st2110.Anc: "smpte291"}
	enc := m.Encoding
	if enc == "L16" || enc == "L24" {
		enc = "L"
	}
	if w, ok := want[sc.Essence]; (ok && w != enc) || (sc.Essence == st2110.Audio && enc != "L") {
		return fmt.Errorf("sdp: encoding %q does not match transport %s", m.Encoding, sc.Essence)
	}
	if m.Dest.IsValid() {
		*peer = m.Dest
	}
	if m.Source.IsValid() {
		*src = m.Source
	}
	if m.Port != 0 {
		*port = m.Port
	}
	sc.PayloadType = m.PayloadType
	return nil
}

// videoConfig fills the video part: MCM's payload.video, then what an SDP
// or mediamesh's options add.
func videoConfig(sc *st2110.Config, v *sdkpb.ConfigVideo, pacing string, opts mcm.WireOptions, m *sdp.Media) error {
	if v == nil {
		return fmt.Errorf("payload.video: required for %s", sc.Essence)
	}
	var err error
	vc := &sc.Video
	vc.Width, vc.Height = int(v.GetWidth()), int(v.GetHeight())
	if vc.Rate, err = mediaclock.RateFromFPS(v.GetFps()); err != nil {
		return fmt.Errorf("payload.video.fps: %w", err)
	}
	name := opts.PixelFormat
	if name == "" {
		name = mcm.PixelFormats[v.GetPixelFormat()]
	}
	if vc.Format, err = pixfmt.ParseFormat(name); err != nil {
		return fmt.Errorf("payload.video.pixelFormat: %w", err)
	}
	vc.Pacing = pacing
	if _, err := pacingpkg.ParseSender(pacing); err != nil {
		return fmt.Errorf("st2110.pacing: %w", err)
	}
	if opts.Packing == "bpm" {
		vc.Packing = rfc4175.BPM
	}
	vc.Burst = opts.Burst
	if m != nil && m.Video != nil {
		if err := videoFromSDP(vc, m.Video); err != nil {
			return err
		}
	}
	return nil
}

// videoFromSDP checks that an SDP's video format is one the app's buffers
// can hold and takes its exact frame rate and sender type.
func videoFromSDP(vc *st2110.VideoConfig, f *sdp.VideoFormat) error {
	if f.Width != 0 && (f.Width != vc.Width || f.Height != vc.Height) {
		return fmt.Errorf("sdp: %dx%d, payload.video says %dx%d", f.Width, f.Height, vc.Width, vc.Height)
	}
	if f.Sampling != "" && f.Sampling != "YCbCr-4:2:2" {
		return fmt.Errorf("sdp: sampling %s: media-proxy carries YCbCr-4:2:2", f.Sampling)
	}
	if f.Interlace {
		return fmt.Errorf("sdp: interlaced video is not supported yet")
	}
	if f.Depth != 0 && f.Depth != vc.Format.Depth() {
		return fmt.Errorf("sdp: depth %d, but pixel format %s is %d-bit", f.Depth, vc.Format, vc.Format.Depth())
	}
	if f.ExactFrameRate.Num > 0 {
		vc.Rate = mediaclock.Rate{Num: int64(f.ExactFrameRate.Num), Den: int64(max(f.ExactFrameRate.Den, 1))}
	}
	if f.TP != "" {
		if _, err := pacingpkg.ParseSender(f.TP); err != nil {
			return fmt.Errorf("sdp: TP: %w", err)
		}
		vc.Pacing = f.TP
	}
	if f.Colorimetry != "" {
		vc.Colorimetry = f.Colorimetry
	}
	return nil
}

// audioConfig maps MCM's payload.audio: one buffer is one packet time.
func audioConfig(sc *st2110.Config, a *sdkpb.ConfigAudio) error {
	if a == nil {
		return fmt.Errorf("payload.audio: required for st2110-30")
	}
	rate := mcm.SampleRates[a.GetSampleRate()]
	format := mcm.AudioFormats[a.GetFormat()]
	ptime := mcm.PacketTimes[a.GetPacketTime()]
	bytes := map[string]int{"pcm_s16be": 2, "pcm_s24be": 3}[format]
	if bytes == 0 {
		return fmt.Errorf("payload.audio.format %s: ST 2110-30 carries pcm_s24be (L24) or pcm_s16be (L16)", format)
	}
	n, err := mcm.AudioSamples(rate, ptime)
	if err != nil {
		return err
	}
	sc.Audio = st2110.AudioConfig{Channels: int(a.GetChannels()), SampleRate: int(rate), SampleBytes: bytes, Samples: int(n)}
	return nil
}
