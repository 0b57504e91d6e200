package st2110

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"mediamesh/internal/mcm"
	"mediamesh/internal/mediaclock"
	"mediamesh/internal/netio"
	"mediamesh/internal/pixfmt"
	"mediamesh/internal/rfc4175"
	"mediamesh/internal/rfc8331"
	"mediamesh/internal/rfc9134"
	"mediamesh/internal/rtp"
)

// Sink is the app's ring as a Receiver fills it (memif.TxQueue on the
// proxy's side of an rx connection): slots are addressed from the publish
// point, filled in place, then published in order.
type Sink interface {
	Room() int
	Buffer(k int) ([]byte, error)
	SetLength(k, n int, next bool) error
	Publish(n int) error
}

// recvBatch is how many datagrams one recvmmsg may return; with GRO each
// may hold many packets.
const recvBatch = 64

// recvBufSize fits a GRO-coalesced run of datagrams (the kernel's 64 KiB).
const recvBufSize = 64 << 10

// Receiver delivers one RTP stream as buffers. Create with NewReceiver,
// then Start; Close stops it.
type Receiver struct {
	endpoint
	sink Sink

	// Owned by the receive goroutine.
	rb      *netio.RecvBatch
	hdr     rtp.Header
	ssrc    uint32
	locked  bool
	now     int64 // TAI at the current batch
	utc     int64 // TAI − UTC
	bufSeq  uint32
	metaOK  bool   // the metadata partition holds a FrameInfo
	appLen  int    // payload bytes of a whole frame or packet time in the app's layout
	pending int    // slots written but not yet published
	pkts    uint64 // packets accepted since the last flush: Stats are updated per batch
	bytes   uint64
	pw      *pollWorker // with a Poller: the worker that drains this receiver
	last    int64       // with a Poller: TAI of the last datagram, for Idle

	// Video (-20) and the frame-based essences.
	geom      rfc4175.Geometry
	ph        rfc4175.PayloadHeader
	frames    [2]frame // [0] oldest; open ones first
	open      int
	lastSeq   uint32 // last packet of the last finished frame
	hasSeq    bool
	lastTS    uint32 // RTP timestamp of the last finished frame
	hasTS     bool
	wireBytes int // sample bytes of a whole -20 frame on the wire
	pixels    int

	reasm *rfc9134.Reassembler // -22
	seqx  rtp.SeqExtender      // -22, -30: no extended sequence field
}

// frame is a frame being assembled in an app slot.
type frame struct {
	ts       uint32
	slot     []byte // the whole app buffer; nil when the frame is being dropped
	packets  int
	bytes    int
	minSeq   uint32
	maxSeq   uint32
	marker   bool
	endSeq   uint32
	arrival  int64
	after    int    // packets of the next frame seen since this one stopped being newest
	ancCount int    // -40: ANC packets gathered
	seq      uint32 // buffer sequence number: frames dropped leave gaps
	broken   bool
}

// NewReceiver validates cfg; nothing is bound until Bind or Start.
func NewReceiver(cfg Config, log *slog.Logger) (*Receiver, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if !cfg.Net.Local.IsValid() {
		return nil, fmt.Errorf("%w: %s receiver: no local address", ErrConfig, cfg.Essence)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// GRO coalesces a flow's same-size datagrams: ideal for video; audio
	// packets are taken a ring's worth at a time instead (see Start).
	cfg.Net.GRO = cfg.Essence != Audio
	r := &Receiver{endpoint: endpoint{cfg: cfg, log: log, role: "receiver", open: netio.Listen}}
	r.metaOK = cfg.Layout.Metadata.Size >= mcm.FrameInfoSize
	pay := int(cfg.Layout.Payload.Size)
	switch cfg.Essence {
	case Video:
		v := cfg.Video
		g, err := geometry(v)
		if err != nil {
			return nil, err
		}
		r.geom, r.wireBytes, r.pixels = g, g.FrameBytes(), v.Width*v.Height
		if cfg.ReorderWindow == DefaultReorderWindow {
			r.cfg.ReorderWindow = max(DefaultReorderWindow, r.wireBytes/1200/2)
		}
		r.appLen, err = pixfmt.FrameSize(v.Format, v.Width, v.Height)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
	case JPEGXS:
		var err error
		if r.reasm, err = rfc9134.NewReassembler(pay, cfg.MaxPacket-rtp.HeaderSize); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
		r.appLen = pay
	case Audio:
		r.appLen = cfg.Audio.PacketBytes()
	case Anc:
		r.appLen = pay
	}
	if r.appLen > pay {
		return nil, fmt.Errorf("%w: buffers hold %d payload bytes, the stream needs %d", ErrConfig, pay, r.appLen)
	}
	r.rb = netio.NewRecvBatch(recvBatch, recvBufSize)
	return r, nil
}

// Start delivers the stream into sink until Close; sink must stay valid
// until Close returns. ctx bounds startup only.
func (r *Receiver) Start(ctx context.Context, sink Sink) error {
	if err := r.begin(ctx); err != nil {
		return err
	}
	r.sink = sink
	if r.cfg.Essence == Audio {
		// One buffer per packet: a recvmmsg must not take more packets than
		// the app's ring has room for, or the rest would be dropped while
		// still in the socket, where they could have waited for the app.
		r.rb = netio.NewRecvBatch(min(recvBatch, max(1, sink.Room()/2)), recvBufSize)
	}
	r.utc = r.cfg.Clock.UTCOffset()
	if r.cfg.Poller != nil {
		r.last = r.cfg.Clock.Now()
		r.pw = r.cfg.Poller.add(r)
	} else {
		r.grp.Go("st2110-rx", r.loop)
	}
	r.log.Debug("st2110 receiver started", "essence", r.cfg.Essence, "local", r.conn.LocalAddr(),
		"source", r.cfg.Net.Source, "caps", fmt.Sprintf("%+v", r.conn.Caps()))
	return nil
}

// Close stops receiving and releases the socket. Idempotent; safe before
// Start. Frames still open are not delivered.
func (r *Receiver) Close() error {
	r.stop(func() {
		if r.pw != nil {
			r.pw.remove(r) // the poller no longer touches r or its sink
		}
	})
	return nil
}

func (r *Receiver) loop(ctx context.Context) error {
	for ctx.Err() == nil {
		_ = r.conn.SetReadDeadline(time.Now().Add(r.cfg.Idle))
		msgs, err := r.conn.Recv(r.rb)
		r.now = r.cfg.Clock.Now()
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			r.idle()
			continue
		case errors.Is(err, net.ErrClosed):
			return nil
		case err != nil:
			r.log.Warn("st2110 receiver", "err", err)
			time.Sleep(time.Millisecond) // a transient socket error: do not spin
			continue
		}
		r.batch(msgs)
		r.flush()
	}
	return nil
}

// pollBatches bounds one tick's work on one receiver: 16 × 64 datagrams,
// each up to a GRO run, is far more than a tick of any stream brings, and
// one flooded socket cannot keep the worker from the others.
const pollBatches = 16

// poll drains the socket without waiting (a Poller's tick), then finishes
// frames left open by a pause.
func (r *Receiver) poll(now int64) {
	r.now = now
	got := false
	for range pollBatches {
		msgs, err := r.conn.TryRecv(r.rb)
		if err != nil || len(msgs) == 0 {
			break
		}
		got = true
		r.batch(msgs)
		if len(msgs) < recvBatch {
			break
		}
	}
	switch {
	case got:
		r.last = now
		r.flush()
	case r.open > 0 && now-r.last > int64(r.cfg.Idle):
		r.idle()
	}
}

// batch handles one recvmmsg's datagrams.
func (r *Receiver) batch(msgs []netio.Message) {
	for i := range msgs {
		m := &msgs[i]
		if r.cfg.From.IsValid() && m.From.Addr() != r.cfg.From {
			r.stats.WrongSSRC.Add(uint64(m.NumSegments()))
			continue
		}
		for k := range m.NumSegments() {
			r.packet(m.Segment(k))
		}
	}
}

// flushIfFull publishes what is pending once it fills the app's room, so
// the app can take it and hand the slots back before the batch ends (one
// recvmmsg may bring more packet times of audio than a ring holds).
func (r *Receiver) flushIfFull() {
	if r.pending > 0 && r.sink.Room() <= r.pending+r.open {
		r.flush()
	}
}

// flush publishes the slots written in this batch.
func (r *Receiver) flush() {
	if r.pkts > 0 {
		r.stats.Packets.Add(r.pkts)
		r.stats.Bytes.Add(r.bytes)
		r.pkts, r.bytes = 0, 0
	}
	if r.pending > 0 {
		_ = r.sink.Publish(r.pending)
		r.pending = 0
	}
}

// idle finishes frames still open when the stream paused.
func (r *Receiver) idle() {
	for r.open > 0 {
		r.finish()
	}
	r.flush()
}

// packet handles one datagram.
func (r *Receiver) packet(pkt []byte) {
	payload, err := rtp.Parse(&r.hdr, pkt)
	if err != nil {
		r.stats.Malformed.Add(1)
		return
	}
	if r.hdr.PayloadType != r.cfg.PayloadType {
		r.stats.WrongPT.Add(1)
		return
	}
	if !r.locked {
		r.ssrc, r.locked = r.hdr.SSRC, true
	} else if r.hdr.SSRC != r.ssrc {
		r.stats.WrongSSRC.Add(1)
		return
	}
	switch r.cfg.Essence {
	case Video:
		r.video(payload)
	case JPEGXS:
		r.jpegxs(payload)
	case Audio:
		r.audio(payload)
	case Anc:
		r.anc(payload)
	}
}

// frameFor finds or opens the frame of timestamp ts; nil for a packet of
// a frame already finished (or older).
func (r *Receiver) frameFor(ts uint32) *frame {
	if r.open > 0 && r.frames[r.open-1].ts == ts {
		return &r.frames[r.open-1]
	}
	if r.open == 2 && r.frames[0].ts == ts {
		return &r.frames[0]
	}
	if (r.hasTS && int32(ts-r.lastTS) <= 0) || (r.open > 0 && int32(ts-r.frames[r.open-1].ts) < 0) {
		r.stats.Late.Add(1)
		return nil
	}
	if r.open == 2 {
		r.finish()
	}
	r.flushIfFull()
	// Slots go to frames in order: this frame's is the one after those of
	// the open frames that hold one, and of the slots not yet published.
	k := r.pending
	for i := range r.open {
		if r.frames[i].slot != nil {
			k++
		}
	}
	f := &r.frames[r.open]
	r.bufSeq++
	*f = frame{ts: ts, arrival: r.now, seq: r.bufSeq}
	r.open++
	if r.sink.Room() > k {
		if b, err := r.sink.Buffer(k); err == nil && len(b) >= int(r.cfg.Layout.Total) {
			f.slot = b
		}
	}
	if f.slot == nil {
		r.stats.Dropped.Add(1)
		r.stats.NoBuffer.Add(1)
	}
	return f
}

// seen records a packet of f and ages the older open frame.
func (r *Receiver) seen(f *frame, seq uint32, n int) {
	if f.packets == 0 || int32(seq-f.minSeq) < 0 {
		f.minSeq = seq
	}
	if f.packets == 0 || int32(seq-f.maxSeq) > 0 {
		f.maxSeq = seq
	}
	f.packets++
	f.bytes += n
	if r.hdr.Marker {
		f.marker, f.endSeq = true, seq
	}
	r.pkts++
	r.bytes += uint64(n)
	if r.open == 2 && f == &r.frames[1] {
		if r.frames[0].after++; r.frames[0].after >= r.cfg.ReorderWindow {
			r.finish()
		}
	}
}

func (r *Receiver) video(payload []byte) {
	n, err := r.ph.Unmarshal(payload)
	if err != nil {
		r.stats.Malformed.Add(1)
		return
	}
	// Check every SRD before writing any, so a bad packet changes nothing.
	var offs [rfc4175.MaxSRDs][2]int
	for i := range r.ph.N {
		off, pg, err := r.geom.Locate(r.ph.SRDs[i])
		if err != nil {
			r.stats.OutOfFrame.Add(1)
			return
		}
		offs[i] = [2]int{off, pg}
	}
	f := r.frameFor(r.hdr.Timestamp)
	if f == nil {
		return
	}
	seq := uint32(r.ph.ExtSeq)<<16 | uint32(r.hdr.Seq)
	data := payload[n:]
	total := 0
	if f.slot != nil {
		l := r.cfg.Layout.Payload
		dst := f.slot[l.Offset : l.Offset+uint32(r.appLen)]
		fm := r.cfg.Video.Format
		for i := range r.ph.N {
			ln := int(r.ph.SRDs[i].Length)
			seg := data[total : total+ln]
			if fm.Passthrough() {
				copy(dst[offs[i][0]:], seg)
			} else {
				_ = pixfmt.Unpack(fm, dst, seg, r.pixels, offs[i][1], ln/r.geom.PGroupBytes)
			}
			total += ln
		}
	} else {
		for i := range r.ph.N {
			total += int(r.ph.SRDs[i].Length)
		}
	}
	r.seen(f, seq, total)
	if f.marker && r.complete(f) {
		r.finishThrough(f)
	}
}

// complete reports whether every packet of f arrived: sample bytes add up
// (-20) and the sequence numbers from the previous frame's last packet to
// f's marker are all there.
func (r *Receiver) complete(f *frame) bool {
	if !f.marker || f.broken {
		return false
	}
	if r.cfg.Essence == Video && f.bytes != r.wireBytes {
		return false
	}
	return f.packets == r.expected(f)
}

// expected is how many packets f should have had.
func (r *Receiver) expected(f *frame) int {
	start := f.minSeq
	if r.hasSeq && int32(r.lastSeq+1-f.minSeq) < 0 {
		start = r.lastSeq + 1 // packets at the frame's start were lost
	}
	end := f.maxSeq
	if f.marker {
		end = f.endSeq
	}
	return int(end-start) + 1
}

// finishThrough finishes the open frames up to and including f.
func (r *Receiver) finishThrough(f *frame) {
	ts := f.ts
	for r.open > 0 {
		done := r.frames[0].ts == ts
		r.finish()
		if done {
			return
		}
	}
}

// finish delivers or drops the oldest open frame.
func (r *Receiver) finish() {
	f := &r.frames[0]
	ok := r.complete(f)
	missing := max(r.expected(f)-f.packets, 0)
	if !ok && missing == 0 {
		missing = 1 // the marker or bytes are short: at least one packet is gone
	}
	if !ok {
		r.stats.Lost.Add(uint64(missing))
	}
	if f.marker {
		r.lastSeq = f.endSeq
	} else {
		r.lastSeq = f.maxSeq
	}
	r.hasSeq = true
	r.lastTS, r.hasTS = f.ts, true
	switch {
	case f.slot == nil: // counted when it was opened
	case ok || (r.metaOK && !r.cfg.DropIncomplete):
		r.deliver(f, ok, uint32(missing))
	default:
		r.stats.Dropped.Add(1)
		// Its slot is reused: a newer open frame writing into the slot
		// after it moves down (rare: only on loss).
		if r.open == 2 && r.frames[1].slot != nil {
			copy(f.slot, r.frames[1].slot)
			r.frames[1].slot = f.slot
		}
	}
	r.frames[0] = r.frames[1]
	r.frames[1] = frame{}
	r.open--
}

// deliver writes f's header and metadata and queues its slot for publish.
func (r *Receiver) deliver(f *frame, whole bool, missing uint32) {
	l := r.cfg.Layout
	n := r.appLen
	switch r.cfg.Essence {
	case JPEGXS:
		n = r.reasm.Len()
	case Anc:
		n = f.bytes
	}
	n = min(n, int(l.Payload.Size)) // never claim more than the partition
	sd := mcm.Sysdata{
		Timestamp:  mediaclock.Unwrap(f.ts, r.cfg.clockRate(), r.now) - r.utc,
		Seq:        f.seq,
		PayloadLen: uint32(n),
	}
	if r.metaOK {
		fi := mcm.FrameInfo{RTPTime: f.ts, SSRC: r.ssrc, Packets: uint32(f.packets), Missing: missing, ArrivalNS: f.arrival - r.utc}
		if !whole {
			fi.Flags |= mcm.FlagIncomplete
		}
		_, _ = fi.MarshalTo(f.slot[l.Metadata.Offset:])
		sd.MetadataLen = mcm.FrameInfoSize
	}
	_, _ = sd.MarshalTo(f.slot)
	if err := r.sink.SetLength(r.pending, int(l.Total), false); err != nil {
		return
	}
	r.pending++
	r.stats.Frames.Add(1)
	if !whole {
		r.stats.Incomplete.Add(1)
	}
}

func (r *Receiver) jpegxs(payload []byte) {
	var jh rfc9134.Header
	n, err := jh.Unmarshal(payload)
	if err != nil {
		r.stats.Malformed.Add(1)
		return
	}
	f := r.frameFor(r.hdr.Timestamp)
	if f == nil {
		return
	}
	// One unit at a time: the reassembler serves the newest frame, so a
	// frame superseded while incomplete is finished at once.
	if r.open == 2 {
		r.finish()
		f = &r.frames[0]
	}
	if f.packets == 0 && f.slot != nil {
		l := r.cfg.Layout.Payload
		r.reasm.Reset(f.slot[l.Offset : l.Offset+l.Size])
	}
	if f.slot != nil {
		if err := r.reasm.Add(jh, payload[n:]); err != nil {
			r.stats.OutOfFrame.Add(1)
			f.broken = true
		}
	}
	seq := r.seqx.Extend(r.hdr.Seq)
	r.hdr.Marker = r.hdr.Marker || jh.Last
	r.seen(f, seq, len(payload)-n)
	if f.marker && (f.slot == nil || r.reasm.Complete()) && r.complete(f) {
		r.finishThrough(f)
	}
}

func (r *Receiver) audio(pcm []byte) {
	seq := r.seqx.Extend(r.hdr.Seq)
	if r.hasSeq {
		switch d := int32(seq - r.lastSeq); {
		case d <= 0:
			r.stats.Late.Add(1)
			return
		case d > 1:
			r.stats.Lost.Add(uint64(d - 1))
		}
	}
	r.lastSeq, r.hasSeq = seq, true
	if len(pcm) != r.appLen {
		r.stats.Malformed.Add(1)
		return
	}
	r.pkts++
	r.bytes += uint64(len(pcm))
	r.bufSeq++
	r.flushIfFull()
	if r.sink.Room() <= r.pending {
		r.stats.Dropped.Add(1)
		r.stats.NoBuffer.Add(1)
		return
	}
	b, err := r.sink.Buffer(r.pending)
	if err != nil || len(b) < int(r.cfg.Layout.Total) {
		return
	}
	l := r.cfg.Layout
	copy(b[l.Payload.Offset:], pcm)
	f := frame{ts: r.hdr.Timestamp, slot: b, packets: 1, arrival: r.now, seq: r.bufSeq}
	r.deliver(&f, true, 0)
}

func (r *Receiver) anc(payload []byte) {
	var ah rfc8331.Header
	n, err := ah.Unmarshal(payload)
	if err != nil || int(ah.Length) > len(payload)-n {
		r.stats.Malformed.Add(1)
		return
	}
	f := r.frameFor(r.hdr.Timestamp)
	if f == nil {
		return
	}
	seq := uint32(ah.ExtSeq)<<16 | uint32(r.hdr.Seq)
	data := payload[n : n+int(ah.Length)]
	took := 0
	if f.slot != nil {
		l := r.cfg.Layout.Payload
		dst := f.slot[l.Offset : l.Offset+l.Size]
		if f.bytes == 0 && len(dst) >= 4 {
			f.bytes = 4 // ANC_Count, F and reserved lead the section
		}
		if f.bytes == 0 || f.bytes+len(data) > len(dst) {
			r.stats.OutOfFrame.Add(1)
			f.broken = true
		} else {
			copy(dst[f.bytes:], data)
			took = len(data)
			f.ancCount += int(ah.Count)
			dst[0] = byte(min(f.ancCount, 255))
			dst[1] = ah.Field << 6
			dst[2], dst[3] = 0, 0
		}
	}
	r.seen(f, seq, took)
	if f.marker && r.complete(f) {
		r.finishThrough(f)
	}
}
