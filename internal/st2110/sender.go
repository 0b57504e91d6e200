package st2110

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

	"mediamesh/internal/mcm"
	"mediamesh/internal/mediaclock"
	"mediamesh/internal/netio"
	"mediamesh/internal/pacing"
	"mediamesh/internal/pixfmt"
	"mediamesh/internal/rfc4175"
	"mediamesh/internal/rfc8331"
	"mediamesh/internal/rfc9134"
	"mediamesh/internal/rtp"
)

// Source is the app's ring as a Sender reads it (memif.RxQueue on the
// proxy's side of a tx connection).
type Source interface {
	Wait(ctx context.Context) error
	Available() int
	Next() ([]byte, bool, error)
	Release(n int)
}

// maxHeader is the largest RTP + payload header a sender writes: RTP (12)
// plus RFC 4175's extended sequence number and two SRDs (14).
const maxHeader = rtp.HeaderSize + 2 + 2*6

// lateSlack is how late a pacing step may leave before it counts as late.
const lateSlack = 50_000 // ns

// Sender sends an app's buffers as one RTP stream. Create with NewSender,
// then Start; Close stops it.
type Sender struct {
	endpoint
	src Source

	// Owned by the send goroutine.
	batch   *netio.Batch
	hdrs    []byte // burst × maxHeader: the packets' headers
	conv    []byte // burst × max sample bytes: pgroups converted from the app's layout
	seq     uint32 // extended sequence number of the next packet
	last    int64  // frame period of the last video frame sent
	hasLast bool
	bytes   int // RTP payload bytes in the batch
	cur     txFrame
	job     pacedJob
	worker  *pacerWorker
	ownPace *Pacer    // when the config named no Pacer
	videoFn func(int) // s.videoBurst and s.jxsBurst, bound once: a method
	jxsFn   func(int) // value made per frame would allocate

	// Video (-20).
	plan   *rfc4175.Plan
	model  pacing.Model
	burst  int
	appLen int // bytes of one frame in the app's layout
	pixels int

	// JPEG XS (-22).
	jxs      *rfc9134.Packetizer
	fcnt     uint8
	jxsModel pacing.Model

	// Audio (-30).
	audioTS   uint32
	audioNext int64 // TAI the next packet's first sample was expected at
	audioSync bool
}

// NewSender validates cfg and prepares the stream's packet plan; nothing is
// bound until Bind or Start.
func NewSender(cfg Config, log *slog.Logger) (*Sender, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if !cfg.Net.Remote.IsValid() {
		return nil, fmt.Errorf("%w: %s sender: no destination", ErrConfig, cfg.Essence)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.SSRC == 0 {
		var b [4]byte
		_, _ = rand.Read(b[:])
		cfg.SSRC = binary.BigEndian.Uint32(b[:]) | 1
	}
	s := &Sender{endpoint: endpoint{cfg: cfg, log: log, role: "sender", open: netio.Dial}}
	s.job.done = make(chan struct{}, 1)
	s.videoFn, s.jxsFn = s.videoBurst, s.jxsBurst
	var err error
	switch cfg.Essence {
	case Video:
		err = s.prepareVideo()
	case JPEGXS:
		err = s.prepareJXS()
	case Audio:
		s.burst = 1
	case Anc:
		s.burst = 1
	}
	if err != nil {
		return nil, err
	}
	s.batch = netio.NewBatch(s.burst, 2)
	s.hdrs = make([]byte, s.burst*maxHeader)
	return s, nil
}

func (s *Sender) prepareVideo() error {
	v := s.cfg.Video
	g, err := geometry(v)
	if err != nil {
		return err
	}
	s.plan, err = rfc4175.NewPlan(g, v.Packing, s.cfg.MaxPacket-rtp.HeaderSize)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	s.appLen, err = pixfmt.FrameSize(v.Format, v.Width, v.Height)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if int(s.cfg.Layout.Payload.Size) < s.appLen {
		return fmt.Errorf("%w: buffers hold %d payload bytes, a %dx%d %s frame needs %d",
			ErrConfig, s.cfg.Layout.Payload.Size, v.Width, v.Height, v.Format, s.appLen)
	}
	s.pixels = v.Width * v.Height
	s.model = pacing.Model{Rate: v.Rate, Packets: len(s.plan.Packets), Height: v.Height, Sender: v.sender()}
	s.burst = v.Burst
	if s.burst <= 0 {
		s.burst = s.model.CMax()
	}
	s.burst = min(s.burst, 64, len(s.plan.Packets)) // 64: UDP GSO's segment limit
	if !v.Format.Passthrough() {
		most := 0
		for _, p := range s.plan.Packets {
			most = max(most, p.Bytes)
		}
		s.conv = make([]byte, s.burst*most)
	}
	return nil
}

// geometry is the RFC 4175 geometry of a -20 stream.
func geometry(v VideoConfig) (rfc4175.Geometry, error) {
	g := rfc4175.Geometry{Width: v.Width, Height: v.Height, PGroupBytes: v.Format.PGroupBytes(), PGroupPixels: 2}
	if err := g.Validate(); err != nil {
		return g, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return g, nil
}

func (s *Sender) prepareJXS() error {
	var err error
	s.jxs, err = rfc9134.NewPacketizer(s.cfg.MaxPacket - rtp.HeaderSize)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	v := s.cfg.Video
	s.model = pacing.Model{Rate: v.Rate, Packets: 1, Height: v.Height, Sender: v.sender()}
	s.burst = v.Burst
	if s.burst <= 0 {
		s.burst = 16
	}
	s.burst = min(s.burst, 64)
	return nil
}

// Start sends the buffers of src until Close; src must stay valid until
// Close returns. ctx bounds startup only.
func (s *Sender) Start(ctx context.Context, src Source) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	s.src = src
	pacer := s.cfg.Pacer
	if pacer == nil && !s.cfg.Video.Unpaced {
		s.ownPace = NewPacer(s.cfg.Clock, 1)
		pacer = s.ownPace
	}
	if pacer != nil {
		s.worker = pacer.worker()
	}
	s.grp.Go("st2110-tx", s.loop)
	s.log.Debug("st2110 sender started", "essence", s.cfg.Essence, "to", s.cfg.Net.Remote,
		"from", s.conn.LocalAddr(), "caps", fmt.Sprintf("%+v", s.conn.Caps()), "burst", s.burst)
	return nil
}

// Close stops sending and releases the socket. Idempotent; safe before
// Start.
func (s *Sender) Close() error {
	s.stop(nil)
	if s.ownPace != nil {
		_ = s.ownPace.Close()
	}
	return nil
}

// SSRC is the stream's synchronisation source.
func (s *Sender) SSRC() uint32 { return s.cfg.SSRC }

func (s *Sender) loop(ctx context.Context) error {
	for {
		if err := s.src.Wait(ctx); err != nil {
			if ctx.Err() == nil {
				s.log.Debug("st2110 sender: app ring ended", "err", err)
			}
			return nil
		}
		for n := s.src.Available(); n > 0; n-- {
			buf, more, err := s.src.Next()
			if err != nil {
				return nil // the link is gone; the owner reclaims
			}
			taken := 1
			for more { // a chain: never produced for ST 2110 buffers by our SDK
				if _, more, err = s.src.Next(); err != nil {
					return nil
				}
				taken++
				n--
				buf = nil
			}
			if buf == nil {
				s.stats.BadBuffers.Add(1)
			} else if err := s.buffer(ctx, buf); err != nil {
				s.src.Release(taken)
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			s.src.Release(taken)
		}
	}
}

// buffer sends one app buffer.
func (s *Sender) buffer(ctx context.Context, buf []byte) error {
	var sd mcm.Sysdata
	l := s.cfg.Layout
	if _, err := sd.Unmarshal(buf); err != nil || len(buf) < int(l.Payload.Offset+l.Payload.Size) {
		s.stats.BadBuffers.Add(1)
		return nil
	}
	if sd.PayloadLen > l.Payload.Size {
		s.stats.BadBuffers.Add(1)
		return nil
	}
	payload := buf[l.Payload.Offset : l.Payload.Offset+sd.PayloadLen]
	tai := s.cfg.Clock.Now()
	if sd.Timestamp != 0 {
		tai = sd.Timestamp + s.cfg.Clock.UTCOffset()
	}
	var err error
	switch s.cfg.Essence {
	case Video:
		err = s.video(ctx, payload, tai)
	case JPEGXS:
		err = s.jpegxs(ctx, payload, tai)
	case Audio:
		err = s.audio(payload, tai)
	case Anc:
		err = s.anc(payload, tai)
	}
	if err != nil {
		return err
	}
	s.stats.Frames.Add(1)
	return nil
}

// slot picks the frame period a video buffer goes out in: the one after
// the period holding its timestamp, never one already used. A frame whose
// first packet time has passed by less than half a period still goes in
// it, its bursts catching up (txFrame.step): the previous frame ran late
// (a late wake-up near its end), and moving this one to the next period
// would make every following frame late too and halve the stream's rate.
// Later than that, it takes the next free period.
func (s *Sender) slot(tai int64) (n int64, base int64) {
	r := s.cfg.Video.Rate
	n = mediaclock.FrameIndex(tai, r) + 1
	if s.hasLast && (n <= s.last || s.cfg.Video.Unpaced) {
		n = s.last + 1 // unpaced: consecutive periods, however fast
	}
	now := s.cfg.Clock.Now()
	if first := s.model.PacketTime(mediaclock.FrameStart(n, r), 0); !s.cfg.Video.Unpaced && first < now {
		s.stats.LateFrames.Add(1)
		if period := mediaclock.FrameStart(n+1, r) - mediaclock.FrameStart(n, r); now-first > period/2 {
			n = max(n, mediaclock.FrameIndex(now, r)+1)
		}
	}
	s.last, s.hasLast = n, true
	return n, mediaclock.FrameStart(n, r)
}

// txFrame is the frame being sent: the burster a Pacer worker steps, or
// the sender itself when unpaced. It aliases the app's buffer until done.
type txFrame struct {
	s     *Sender
	data  []byte
	ts    uint32
	base  int64
	next  int // first packet of the next burst
	count int // packets in the frame
	model *pacing.Model
	burst func(first int) // sends the packets of one burst
	jfcnt uint8           // -22: frame counter
}

var _ burster = (*txFrame)(nil)

// catchUpBursts is how many bursts one wake-up may send while the frame
// is behind schedule.
const catchUpBursts = 2

func (f *txFrame) step(now int64) (int64, bool) {
	for k := 1; ; k++ {
		f.burst(f.next)
		f.next += f.s.burst
		if f.next >= f.count {
			return 0, true
		}
		due := f.model.PacketTime(f.base, f.next)
		if due >= now {
			return due, false
		}
		if k == catchUpBursts {
			// Still behind (late wake-ups): catch up at twice the rate
			// from here rather than sending every overdue burst back to
			// back, which would put hundreds of packets on the wire at
			// once.
			gap := due - f.model.PacketTime(f.base, f.next-f.s.burst)
			return now + gap/2, false
		}
		// Behind: the next burst goes now, without paying for another
		// wake-up (one costs more than a burst on a busy host), up to
		// catchUpBursts in a row.
	}
}

// run sends the frame: through the Pacer, bursts on the ST 2110-21
// schedule, or all at once when unpaced.
func (s *Sender) run(ctx context.Context, f *txFrame) error {
	if s.cfg.Video.Unpaced {
		for {
			if _, done := f.step(0); done {
				return nil
			}
		}
	}
	s.job.b, s.job.due = f, f.model.PacketTime(f.base, 0)
	s.job.stats = &s.stats
	s.job.stop.Store(false)
	return s.worker.run(ctx, &s.job)
}

func (s *Sender) video(ctx context.Context, data []byte, tai int64) error {
	if len(data) != s.appLen {
		s.stats.BadBuffers.Add(1)
		return nil
	}
	n, base := s.slot(tai)
	f := &s.cur
	*f = txFrame{s: s, data: data, ts: mediaclock.FrameRTP(n, s.cfg.Video.Rate), base: base,
		count: len(s.plan.Packets), model: &s.model, burst: s.videoFn}
	return s.run(ctx, f)
}

// videoBurst sends packets first… of the current -20 frame, converting
// pgroups from the app's layout when it is not the wire's.
func (s *Sender) videoBurst(first int) {
	f := &s.cur
	pf := s.cfg.Video.Format
	pass := pf.Passthrough()
	pgb := pf.PGroupBytes()
	pkts := s.plan.Packets
	last := len(pkts) - 1
	s.batch.Reset()
	conv := s.conv
	for i := first; i < min(first+s.burst, last+1); i++ {
		p := &pkts[i]
		h := s.hdrs[(i-first)*maxHeader:]
		hl := s.rtpHeader(h, f.ts, i == last)
		hl += s.plan.PutHeader(h[hl:], i, uint16(s.seq>>16))
		var data []byte
		if pass {
			data = f.data[p.Offset : p.Offset+p.Bytes]
		} else {
			data = conv[:p.Bytes]
			conv = conv[p.Bytes:]
			if err := pixfmt.Pack(pf, data, f.data, s.pixels, p.PGroup, p.Bytes/pgb); err != nil {
				s.stats.BadBuffers.Add(1) // cannot happen: the plan and size were checked
				return
			}
		}
		s.add(h[:hl], data)
		s.seq++
	}
	s.send()
}

// rtpHeader writes the next packet's RTP header into h.
func (s *Sender) rtpHeader(h []byte, ts uint32, marker bool) int {
	rh := rtp.Header{Marker: marker, PayloadType: s.cfg.PayloadType, Seq: uint16(s.seq), Timestamp: ts, SSRC: s.cfg.SSRC}
	n, _ := rh.MarshalTo(h)
	return n
}

// send hands the batch to the kernel and counts it.
func (s *Sender) send() {
	n := s.batch.Len()
	bytes := s.bytes
	s.bytes = 0
	if _, err := s.conn.Send(s.batch, s.cfg.Mode, 0); err != nil {
		if errors.Is(err, netio.ErrGSODisabled) {
			s.stats.Downgrades.Add(1)
			s.log.Warn("st2110 sender: the kernel refused UDP GSO; using sendmmsg", "to", s.cfg.Net.Remote)
		} else {
			s.stats.SendErrors.Add(1)
			return
		}
	}
	s.stats.Packets.Add(uint64(n))
	s.stats.Bytes.Add(uint64(bytes))
}

func (s *Sender) jpegxs(ctx context.Context, cs []byte, tai int64) error {
	if len(cs) == 0 {
		s.stats.BadBuffers.Add(1)
		return nil
	}
	n, base := s.slot(tai)
	s.jxsModel = s.model
	s.jxsModel.Packets = s.jxs.Count(len(cs))
	f := &s.cur
	*f = txFrame{s: s, data: cs, ts: mediaclock.FrameRTP(n, s.cfg.Video.Rate), base: base,
		count: s.jxsModel.Packets, model: &s.jxsModel, burst: s.jxsFn, jfcnt: s.fcnt & 0x1f}
	s.fcnt++
	return s.run(ctx, f)
}

// jxsBurst sends packets first… of the current -22 codestream.
func (s *Sender) jxsBurst(first int) {
	f := &s.cur
	s.batch.Reset()
	for i := first; i < min(first+s.burst, f.count); i++ {
		jh, from, to := s.jxs.Packet(i, len(f.data), f.jfcnt, 0)
		h := s.hdrs[(i-first)*maxHeader:]
		hl := s.rtpHeader(h, f.ts, i == f.count-1)
		k, _ := jh.MarshalTo(h[hl:])
		s.add(h[:hl+k], f.data[from:to])
		s.seq++
	}
	s.send()
}

// audio sends one packet time. Its RTP timestamp counts samples: it
// follows on from the previous packet unless the app's timestamps jumped
// by more than audioResync (a pause, a new source), which restarts the
// count from the buffer's time.
func (s *Sender) audio(pcm []byte, tai int64) error {
	a := s.cfg.Audio
	if len(pcm) != a.PacketBytes() {
		s.stats.BadBuffers.Add(1)
		return nil
	}
	ptime := int64(a.PacketTime())
	if !s.audioSync || abs(tai-s.audioNext) > audioResync {
		s.audioTS = mediaclock.RTPTime(tai, uint32(a.SampleRate))
		s.audioNext = tai
		s.audioSync = true
	}
	s.batch.Reset()
	h := s.hdrs
	hl := s.rtpHeader(h, s.audioTS, false) // ST 2110-30 does not use the marker
	s.add(h[:hl], pcm)
	s.seq++
	s.audioTS += uint32(a.Samples)
	s.audioNext += ptime
	s.send()
	return nil
}

// audioResync is how far an audio buffer's time may stray from the sample
// count before the count restarts: wide enough for put-time jitter of a
// paced app, short enough to follow a real discontinuity.
const audioResync = 20_000_000 // 20 ms

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// anc sends one frame's ANC data section (RFC 8331 from ANC_Count on) in
// one packet with the marker set.
func (s *Sender) anc(section []byte, tai int64) error {
	if len(section) < 4 || rfc8331.HeaderSize+len(section)-4+rtp.HeaderSize > s.cfg.MaxPacket {
		s.stats.BadBuffers.Add(1)
		return nil
	}
	n, _ := s.slot(tai)
	ts := mediaclock.FrameRTP(n, s.cfg.Video.Rate)
	s.batch.Reset()
	h := s.hdrs
	hl := s.rtpHeader(h, ts, true)
	binary.BigEndian.PutUint16(h[hl:], uint16(s.seq>>16))
	binary.BigEndian.PutUint16(h[hl+2:], uint16(len(section)-4))
	s.add(h[:hl+4], section)
	s.seq++
	s.send()
	return nil
}

// add puts one packet into the batch.
func (s *Sender) add(hdr, data []byte) {
	s.batch.Add(hdr, data)
	s.bytes += len(hdr) - rtp.HeaderSize + len(data)
}
