package st2110

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"mediamesh/internal/mcm"
	"mediamesh/internal/mediaclock"
	"mediamesh/internal/netio"
	"mediamesh/internal/pixfmt"
	"mediamesh/internal/rfc8331"
)

// A fuzz input is byte 0, which picks the stream (fuzzStream), byte 1, the
// fuzz* flags, then datagrams, each led by its length as a big-endian
// uint16 (cut short by the end of the input).
const (
	fuzzDropIncomplete = 1 << iota // Config.DropIncomplete
	fuzzNoMetadata                 // no metadata partition: no FrameInfo, incomplete frames dropped
	fuzzStingy                     // the app keeps every buffer it is given: the ring runs dry
	fuzzFlushEach                  // publish after every datagram, as if each came in a batch of its own
)

// Shape of the fuzzed receivers: frames small enough that an input holds
// several, packets small enough that a frame takes several.
const (
	fuzzKinds        = 6
	fuzzW, fuzzH     = 48, 8 // a multiple of 6 pixels, for v210
	fuzzMaxPacket    = 200   // Config's smallest: 6 packets per pgroup frame
	fuzzReorder      = 4
	fuzzJXSPayload   = 2048
	fuzzAncPayload   = 64 // small, so ANC data can run past it
	fuzzSlots        = 4
	fuzzGuard        = 64
	fuzzGuardByte    = 0xa5
	fuzzMaxDatagrams = 512
	fuzzSSRC         = 0x5eed5eed
	fuzzPT           = 96
	// fuzzNow is the TAI time every input runs at, so a crasher replays
	// exactly.
	fuzzNow = 1_700_000_037_000_000_000
	fuzzUTC = 37_000_000_000
)

// fuzzKind names stream kind k (byte 0 of an input mod fuzzKinds).
func fuzzKind(k int) string {
	return [fuzzKinds]string{"video-pgroup10", "video-yuv422p10le", "video-v210", "jpegxs", "audio", "anc"}[k]
}

// fuzzConfig is the config of stream kind k with flags.
func fuzzConfig(tb testing.TB, k int, flags byte) Config {
	tb.Helper()
	meta := uint32(mcm.FrameInfoSize)
	if flags&fuzzNoMetadata != 0 {
		meta = 0
	}
	addr := netip.AddrPortFrom(loopback, 5004)
	c := Config{
		PayloadType:    fuzzPT,
		SSRC:           fuzzSSRC,
		MaxPacket:      fuzzMaxPacket,
		ReorderWindow:  fuzzReorder,
		DropIncomplete: flags&fuzzDropIncomplete != 0,
		Net:            netio.Config{Local: addr, Remote: addr},
		Video:          VideoConfig{Width: fuzzW, Height: fuzzH, Rate: mediaclock.Rate{Num: 60000, Den: 1001}, Unpaced: true},
	}
	payload := 0
	switch k {
	case 0, 1, 2:
		c.Essence = Video
		c.Video.Format = [3]pixfmt.Format{pixfmt.PGroup10, pixfmt.YUV422P10LE, pixfmt.V210}[k]
		n, err := pixfmt.FrameSize(c.Video.Format, fuzzW, fuzzH)
		if err != nil {
			tb.Fatal(err)
		}
		payload = n
	case 3:
		c.Essence, c.Video.Format, payload = JPEGXS, pixfmt.YUV422P10LE, fuzzJXSPayload
	case 4:
		c.Essence = Audio
		c.Audio = AudioConfig{Channels: 2, SampleRate: 48000, SampleBytes: 3, Samples: 6}
		payload = c.Audio.PacketBytes()
	case 5:
		c.Essence, payload = Anc, fuzzAncPayload
	}
	l, err := mcm.NewLayout(uint32(payload), meta)
	if err != nil {
		tb.Fatal(err)
	}
	c.Layout = l
	return c
}

// guardSink is an app's rx ring for the fuzzer: each slot has guard bytes
// after Layout.Total, and every call is checked against the Sink contract
// and every published buffer against its layout.
type guardSink struct {
	tb     testing.TB
	layout mcm.Layout
	want   int // exact payload bytes of a delivered buffer; 0: any up to the partition
	slots  [][]byte
	next   int // publish point
	free   int // slots the app gave back: room = free - next
	stingy bool
	held   [][]byte // stingy: copies of the published slots, which must not change
	keep   bool
	got    [][]byte // payloads published, when keep
	seq    uint32
}

func newGuardSink(tb testing.TB, l mcm.Layout, want int, stingy bool) *guardSink {
	s := &guardSink{tb: tb, layout: l, want: want, free: fuzzSlots, stingy: stingy}
	for range fuzzSlots {
		b := make([]byte, int(l.Total)+fuzzGuard)
		for i := int(l.Total); i < len(b); i++ {
			b[i] = fuzzGuardByte
		}
		s.slots = append(s.slots, b)
	}
	return s
}

func (s *guardSink) Room() int { return s.free - s.next }

func (s *guardSink) slot(k int) []byte {
	// The full capacity, guard included: slicing past Total is legal Go,
	// so only the guard bytes show a write there.
	return s.slots[(s.next+k)%len(s.slots)][:s.layout.Total]
}

func (s *guardSink) Buffer(k int) ([]byte, error) {
	if k < 0 || k >= s.Room() {
		s.tb.Fatalf("Buffer(%d) with room %d: a slot the app holds", k, s.Room())
	}
	return s.slot(k), nil
}

func (s *guardSink) SetLength(k, n int, _ bool) error {
	if k < 0 || k >= s.Room() || n < 0 || n > int(s.layout.Total) {
		s.tb.Fatalf("SetLength(%d, %d) with room %d, buffers of %d bytes", k, n, s.Room(), s.layout.Total)
	}
	return nil
}

func (s *guardSink) Publish(n int) error {
	if n < 0 || n > s.Room() {
		s.tb.Fatalf("Publish(%d) with room %d", n, s.Room())
	}
	for range n {
		b := s.slot(0)
		s.checkBuffer(b)
		if s.keep {
			var sd mcm.Sysdata
			_, _ = sd.Unmarshal(b)
			p := b[s.layout.Payload.Offset : s.layout.Payload.Offset+sd.PayloadLen]
			s.got = append(s.got, bytes.Clone(p))
		}
		if s.stingy {
			s.held = append(s.held, bytes.Clone(b))
		} else {
			s.free++
		}
		s.next++
	}
	s.checkGuards()
	return nil
}

// checkBuffer checks a published buffer's sysdata and frame info.
func (s *guardSink) checkBuffer(b []byte) {
	l := s.layout
	var sd mcm.Sysdata
	if _, err := sd.Unmarshal(b); err != nil {
		s.tb.Fatal(err)
	}
	switch {
	case sd.PayloadLen > l.Payload.Size:
		s.tb.Fatalf("published payload_len %d, the partition holds %d", sd.PayloadLen, l.Payload.Size)
	case s.want != 0 && int(sd.PayloadLen) != s.want:
		s.tb.Fatalf("published payload_len %d, a frame is %d bytes", sd.PayloadLen, s.want)
	case sd.MetadataLen != 0 && sd.MetadataLen != mcm.FrameInfoSize:
		s.tb.Fatalf("published metadata_len %d", sd.MetadataLen)
	case sd.MetadataLen > l.Metadata.Size:
		s.tb.Fatalf("published metadata_len %d, the partition holds %d", sd.MetadataLen, l.Metadata.Size)
	case sd.Seq <= s.seq:
		s.tb.Fatalf("published seq %d after %d", sd.Seq, s.seq)
	}
	s.seq = sd.Seq
	if sd.MetadataLen == 0 {
		return
	}
	var fi mcm.FrameInfo
	if _, err := fi.Unmarshal(b[l.Metadata.Offset : l.Metadata.Offset+sd.MetadataLen]); err != nil {
		s.tb.Fatalf("published frame info: %v", err)
	}
	if fi.SSRC == 0 || fi.Packets == 0 || (fi.Flags&mcm.FlagIncomplete == 0 && fi.Missing != 0) {
		s.tb.Fatalf("published frame info %+v", fi)
	}
}

func (s *guardSink) checkGuards() {
	for i, b := range s.slots {
		for j, c := range b[s.layout.Total:] {
			if c != fuzzGuardByte {
				s.tb.Fatalf("slot %d: byte %d past the buffer's %d was written", i, j, s.layout.Total)
			}
		}
	}
}

// checkEnd checks what must hold once the input is done: the guards, and
// that buffers the app holds were not touched after their publish.
func (s *guardSink) checkEnd() {
	s.checkGuards()
	for i, h := range s.held {
		if !bytes.Equal(h, s.slots[i%len(s.slots)][:s.layout.Total]) {
			s.tb.Fatalf("published buffer %d changed after its publish", i)
		}
	}
}

// fuzzReceiver is a receiver of stream kind k whose per-packet path runs
// without a socket or a goroutine, on a fixed clock. With a cache, the
// receiver is a fresh copy of a cached NewReceiver's (NewReceiver's 4 MiB
// receive batch per input would slow the fuzzer tenfold).
func fuzzReceiver(tb testing.TB, k int, flags byte, cache map[int]*Receiver) (*Receiver, *guardSink) {
	tb.Helper()
	cfg := fuzzConfig(tb, k, flags)
	key := k<<8 | int(flags&(fuzzDropIncomplete|fuzzNoMetadata))
	t := cache[key]
	if t == nil {
		var err error
		if t, err = NewReceiver(cfg, nil); err != nil {
			tb.Fatal(err)
		}
		t.rb = nil // never used here: Recv is not called
		if cache != nil {
			cache[key] = t
		}
	}
	// What NewReceiver derives from the config; all else starts at zero.
	r := &Receiver{endpoint: endpoint{cfg: t.cfg, log: t.log}, metaOK: t.metaOK, appLen: t.appLen,
		geom: t.geom, wireBytes: t.wireBytes, pixels: t.pixels, reasm: t.reasm}
	if r.reasm != nil {
		r.reasm.Reset(nil)
	}
	want := 0
	if cfg.Essence == Video || cfg.Essence == Audio {
		want = r.appLen
	}
	sink := newGuardSink(tb, cfg.Layout, want, flags&fuzzStingy != 0)
	r.sink, r.now, r.utc = sink, fuzzNow, fuzzUTC
	return r, sink
}

// runFuzzInput feeds one input to a fresh receiver and checks the result.
func runFuzzInput(tb testing.TB, data []byte, keep bool, cache map[int]*Receiver) (*Receiver, *guardSink) {
	tb.Helper()
	if len(data) < 2 {
		return nil, nil
	}
	flags := data[1]
	r, sink := fuzzReceiver(tb, int(data[0])%fuzzKinds, flags, cache)
	sink.keep = keep
	rest := data[2:]
	for n := 0; len(rest) >= 2 && n < fuzzMaxDatagrams; n++ {
		l := min(int(binary.BigEndian.Uint16(rest)), len(rest)-2)
		pkt := bytes.Clone(rest[2 : 2+l]) // exactly its bytes: a read past the end panics
		orig := bytes.Clone(pkt)
		rest = rest[2+l:]
		r.packet(pkt)
		if !bytes.Equal(pkt, orig) {
			tb.Fatalf("datagram %d was written to", n)
		}
		if flags&fuzzFlushEach != 0 {
			r.flush()
		}
	}
	r.flush()
	r.idle() // the stream pauses: frames still open are finished
	sink.checkEnd()
	st := r.Stats()
	if st.NoBuffer.Load() > st.Dropped.Load() {
		tb.Fatalf("stats: no_buffer %d > dropped %d", st.NoBuffer.Load(), st.Dropped.Load())
	}
	if n := st.Frames.Load(); n != uint64(sink.next) {
		tb.Fatalf("stats count %d frames, %d were published", n, sink.next)
	}
	return r, sink
}

// fuzzInput encodes an input: stream kind k, flags, datagrams.
func fuzzInput(k int, flags byte, pkts ...[]byte) []byte {
	b := []byte{byte(k), flags}
	for _, p := range pkts {
		b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
		b = append(b, p...)
	}
	return b
}

// fuzzSeed is one seed input and, for well-formed streams, what must be
// delivered from it.
type fuzzSeed struct {
	name string
	in   []byte
	want [][]byte // payloads delivered, in order, all whole; nil: not checked
}

// fuzzSeeds are real streams made with a Sender's packet plans and
// headers, and hostile variants of them.
func fuzzSeeds(tb testing.TB) []fuzzSeed {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	var seeds []fuzzSeed
	add := func(name string, k int, flags byte, want [][]byte, pkts ...[]byte) {
		seeds = append(seeds, fuzzSeed{name: fuzzKind(k) + "/" + name, in: fuzzInput(k, flags, pkts...), want: want})
	}

	// -20: two frames per app layout, the sequence number crossing a
	// 16-bit wrap, so the extended sequence number steps too.
	for k := range 3 {
		s := fuzzSenderOf(tb, k)
		s.seq = 0xfffd
		g := s.plan.Geometry
		var pkts [][]byte
		var want [][]byte
		for fr := range 2 {
			wire := random(g.FrameBytes())
			app := make([]byte, s.appLen)
			if err := pixfmt.Unpack(s.cfg.Video.Format, app, wire, s.pixels, 0, g.FrameBytes()/g.PGroupBytes); err != nil {
				tb.Fatal(err)
			}
			want = append(want, app)
			pkts = append(pkts, fuzzVideoFrame(s, wire, uint32(3_000_000+fr*1501))...)
		}
		add("two-frames", k, 0, want, pkts...)
		add("two-frames-flush-each", k, fuzzFlushEach, want, pkts...)
		add("two-frames-stingy-drop", k, fuzzStingy|fuzzDropIncomplete, want, pkts...)
		if k != 0 {
			continue
		}
		last := len(pkts)/2 - 1
		add("lost-packet", k, 0, nil, slicesWithout(pkts, 2)...)
		add("lost-marker", k, 0, nil, slicesWithout(pkts, last)...)
		add("lost-packet-no-metadata", k, fuzzNoMetadata, nil, slicesWithout(pkts, 2)...)
		add("lost-packet-dropped", k, fuzzDropIncomplete, nil, slicesWithout(pkts, 2)...)
		add("reordered", k, 0, nil, append([][]byte{pkts[1], pkts[0]}, pkts[2:]...)...)
		add("duplicated", k, 0, nil, append([][]byte{pkts[0], pkts[0]}, pkts[1:]...)...)
		add("frames-interleaved", k, 0, nil, pkts[0], pkts[last+1], pkts[1], pkts[last+2], pkts[2])
		add("second-frame-first", k, 0, nil, append(bytes2(pkts[last+1:]), pkts[:last+1]...)...)
		add("stingy", k, fuzzStingy, nil, append(append(bytes2(pkts), pkts...), pkts...)...)
		p := pkts[0]
		hostile := [][]byte{
			{},
			{0x80},
			p[:12],
			p[:14],
			cat([]byte{0x40}, p[1:]),               // version 1
			cat([]byte{0x80, fuzzPT + 1}, p[2:]),   // wrong PT
			cat(p[:8], []byte{1, 2, 3, 4}, p[12:]), // another SSRC
			cat([]byte{0x8f}, p[1:20]),             // 15 CSRCs claimed, few bytes
			cat([]byte{0x90}, p[1:12], []byte{0, 0, 0xff, 0xff}, p[12:]), // X: a 256 KiB extension claimed
			cat([]byte{0xa0}, p[1:], []byte{0}),                          // P with a zero count
			cat([]byte{0xa0}, p[1:], []byte{0xff}),                       // P with a count past the packet
			cat(p[:14], srdBytes(0xffff, 0, 0, false), p[20:]),           // length past the packet
			cat(p[:14], srdBytes(7, 0, 0, false), p[20:]),                // not whole pgroups
			cat(p[:14], srdBytes(10, fuzzH, 0, false), p[20:]),           // row past the frame
			cat(p[:14], srdBytes(10, 0x7fff, 0x7fff, false), p[20:]),
			cat(p[:14], srdBytes(10, 0, fuzzW-1, false), p[20:]),  // odd offset
			cat(p[:14], srdBytes(10, 0, fuzzW-2, false), p[20:]),  // past the line end
			cat(p[:14], srdBytes(10, 0x8000, 0, false), p[20:]),   // second field of a progressive frame
			cat(p[:14], srdBytes(10, 0, 0, true)),                 // C on the last SRD
			cat(p[:14], bytes.Repeat(srdBytes(0, 0, 0, true), 9)), // too many SRDs
			cat(p[:14], srdBytes(5, 0, 0, true), srdBytes(5, 1, 0, false), make([]byte, 10)),
			cat(p[:14], srdBytes(0, 0, 0, false)), // an empty segment
			random(1400),
			random(9000),
		}
		for i, h := range hostile {
			add("hostile-"+string(rune('a'+i)), k, 0, nil, append([][]byte{h}, pkts...)...)
		}
		// A timestamp going backwards, then the old frame again: late.
		add("late", k, 0, nil, append(append(bytes2(pkts[last+1:]), pkts[:last+1]...), pkts[last+1:]...)...)
	}

	// -22: two codestreams, then hostile payload headers.
	{
		s := fuzzSenderOf(tb, 3)
		var pkts [][]byte
		var want [][]byte
		for fr, size := range []int{700, 1500} {
			cs := random(size)
			want = append(want, cs)
			pkts = append(pkts, fuzzJXSUnit(s, cs, uint32(9_000+fr*1501), uint8(fr))...)
		}
		add("two-units", 3, 0, want, pkts...)
		add("two-units-stingy", 3, fuzzStingy, want, pkts...)
		add("lost-packet", 3, 0, nil, slicesWithout(pkts, 1)...)
		add("reordered", 3, 0, nil, append([][]byte{pkts[2], pkts[0], pkts[1]}, pkts[3:]...)...)
		p := pkts[1]
		word := func(w uint32) []byte { return binary.BigEndian.AppendUint32(bytes.Clone(p[:12]), w) }
		hostile := [][]byte{
			p[:13],
			cat(word(1<<30), p[16:]),           // K=1: slice mode
			cat(word(1<<27), p[16:]),           // I=01: reserved
			cat(word(0x7ff<<11|0x7ff), p[16:]), // the last packet index there is
			cat(word(1<<29|5), p[16:]),         // L on a middle packet
			cat(word(1<<29|3), p[16:20]),       // a short L packet early
			cat(word(0x1f<<22), p[16:]),        // another frame counter
			word(1),                            // no codestream bytes
		}
		for i, h := range hostile {
			add("hostile-"+string(rune('a'+i)), 3, 0, nil, append(append([][]byte{pkts[0]}, h), pkts[1:]...)...)
		}
	}

	// -30: packet times with a gap, a repeat and a wrong size.
	{
		s := fuzzSenderOf(tb, 4)
		s.seq = 0xfffe
		var pkts, want [][]byte
		for i := range 5 {
			pcm := random(s.cfg.Audio.PacketBytes())
			want = append(want, pcm)
			pkts = append(pkts, fuzzPacket(s, uint32(1000+6*i), false, nil, pcm))
		}
		add("five-packets", 4, fuzzFlushEach, want, pkts...) // one batch would need 5 free slots
		add("five-packets-stingy", 4, fuzzStingy, nil, pkts...)
		add("gap-and-repeat", 4, 0, nil, pkts[0], pkts[2], pkts[2], pkts[1], pkts[4])
		add("wrong-size", 4, 0, nil, pkts[0], pkts[1][:len(pkts[1])-1], cat(pkts[2], []byte{0}), pkts[3])
	}

	// -40: two frames' ANC data, then lengths that lie.
	{
		s := fuzzSenderOf(tb, 5)
		var pkts, want [][]byte
		for fr := range 2 {
			payload, err := rfc8331.AppendPayload(nil, rfc8331.Header{}, []rfc8331.Packet{
				{Line: 9, DID: 0x61, SDID: 0x01, Data: random(8 + 4*fr)},
			})
			if err != nil {
				tb.Fatal(err)
			}
			section := payload[4:] // ANC_Count, F, reserved and the packets: what an app holds
			want = append(want, section)
			pkts = append(pkts, fuzzAncFrame(s, section, uint32(5_000+fr*1501)))
		}
		add("two-frames", 5, 0, want, pkts...)
		p := pkts[0]
		length := func(n uint16) []byte {
			b := bytes.Clone(p)
			binary.BigEndian.PutUint16(b[14:], n)
			return b
		}
		clearMarker := func(b []byte) []byte { b = bytes.Clone(b); b[1] &^= 0x80; return b }
		long := clearMarker(cat(p[:12], []byte{0, 0, 0, 40, 1, 0, 0, 0}, random(40)))
		hostile := [][]byte{
			p[:19],
			length(0xffff), // past the packet
			length(0),
			cat(p[:17], []byte{0x40}, p[18:]), // F=01
			// ANC data adding up past the buffer's payload partition.
			long, long, long, p,
		}
		for i, h := range hostile {
			add("hostile-"+string(rune('a'+i)), 5, 0, nil, append([][]byte{h}, pkts[1:]...)...)
		}
		add("overflow", 5, 0, nil, long, long, long, p)
	}
	return seeds
}

func bytes2(p [][]byte) [][]byte { return append([][]byte(nil), p...) }

// slicesWithout returns p without element i.
func slicesWithout(p [][]byte, i int) [][]byte {
	return append(bytes2(p[:i]), p[i+1:]...)
}

// srdBytes is one 6-byte SRD header.
func srdBytes(length, row, off uint16, cont bool) []byte {
	b := make([]byte, 6)
	binary.BigEndian.PutUint16(b, length)
	binary.BigEndian.PutUint16(b[2:], row)
	if cont {
		off |= 0x8000
	}
	binary.BigEndian.PutUint16(b[4:], off)
	return b
}

// fuzzSenderOf is a Sender of stream kind k, never bound: its packet plan
// and header code make the seeds.
func fuzzSenderOf(tb testing.TB, k int) *Sender {
	tb.Helper()
	s, err := NewSender(fuzzConfig(tb, k, 0), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// fuzzPacket is the Sender's next packet: its RTP header, then hdr, then data.
func fuzzPacket(s *Sender, ts uint32, marker bool, hdr, data []byte) []byte {
	h := make([]byte, maxHeader)
	n := s.rtpHeader(h, ts, marker)
	s.seq++
	return bytes.Join([][]byte{h[:n], hdr, data}, nil)
}

// fuzzVideoFrame packetises a wire frame as the Sender does.
func fuzzVideoFrame(s *Sender, wire []byte, ts uint32) [][]byte {
	var out [][]byte
	last := len(s.plan.Packets) - 1
	for i, p := range s.plan.Packets {
		h := make([]byte, maxHeader)
		n := s.plan.PutHeader(h, i, uint16(s.seq>>16))
		out = append(out, fuzzPacket(s, ts, i == last, h[:n], wire[p.Offset:p.Offset+p.Bytes]))
	}
	return out
}

// fuzzJXSUnit packetises a codestream as the Sender does.
func fuzzJXSUnit(s *Sender, cs []byte, ts uint32, frame uint8) [][]byte {
	var out [][]byte
	count := s.jxs.Count(len(cs))
	for i := range count {
		jh, from, to := s.jxs.Packet(i, len(cs), frame, 0)
		h := make([]byte, 4)
		_, _ = jh.MarshalTo(h)
		out = append(out, fuzzPacket(s, ts, i == count-1, h, cs[from:to]))
	}
	return out
}

// fuzzAncFrame is one frame's ANC data section in one packet, as the
// Sender sends it.
func fuzzAncFrame(s *Sender, section []byte, ts uint32) []byte {
	h := binary.BigEndian.AppendUint16(nil, uint16(s.seq>>16))
	h = binary.BigEndian.AppendUint16(h, uint16(len(section)-4))
	return fuzzPacket(s, ts, true, h, section)
}

// FuzzReceiverPacket feeds arbitrary datagrams to a Receiver's per-packet
// path, for every essence, app layout and receive option: it must never
// panic, never write outside the app's slots or into a buffer the app
// holds, never write into the datagram, and publish only buffers whose
// sysdata and frame info fit their layout.
func FuzzReceiverPacket(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s.in)
	}
	cache := map[int]*Receiver{} // per fuzz worker; inputs run one at a time
	f.Fuzz(func(t *testing.T, data []byte) {
		runFuzzInput(t, data, false, cache)
	})
}

// TestFuzzSeeds checks that the well-formed seeds are delivered whole and
// bit-exact, so the fuzzer starts from streams that reach every stage of
// the receiver, and runs the hostile ones.
func TestFuzzSeeds(t *testing.T) {
	t.Parallel()
	for _, s := range fuzzSeeds(t) {
		t.Run(s.name, func(t *testing.T) {
			r, sink := runFuzzInput(t, s.in, true, nil)
			if s.want == nil {
				return
			}
			st := r.Stats()
			if len(sink.got) != len(s.want) || st.Incomplete.Load() != 0 || st.Lost.Load() != 0 {
				t.Fatalf("%d buffers delivered, want %d; stats %v", len(sink.got), len(s.want), st.Snapshot())
			}
			for i := range s.want {
				if !bytes.Equal(sink.got[i], s.want[i]) {
					t.Fatalf("buffer %d: %d bytes differ from the %d sent", i, len(sink.got[i]), len(s.want[i]))
				}
			}
		})
	}
}

// TestRejectAllocs floods a receiver with malformed packets of each kind:
// the data path must not allocate per packet (STYLE §8). Kinds rejected
// through an error value of a parsing package may allocate that value;
// they are logged, not failed, and the count is the figure to report.
func TestRejectAllocs(t *testing.T) {
	video := fuzzSenderOf(t, 0)
	g := video.plan.Geometry
	frame := fuzzVideoFrame(video, make([]byte, g.FrameBytes()), 7000)
	p := frame[0]
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	jxs := fuzzSenderOf(t, 3)
	jp := fuzzJXSUnit(jxs, make([]byte, 500), 7000, 0)[0]
	anc := fuzzSenderOf(t, 5)
	ap := fuzzAncFrame(anc, make([]byte, 8), 7000)
	audio := fuzzSenderOf(t, 4)
	pcm := fuzzPacket(audio, 7000, false, nil, make([]byte, audio.cfg.Audio.PacketBytes()))
	cases := []struct {
		name  string
		kind  int
		prime [][]byte // sent first: locks the SSRC, finishes a frame
		pkt   []byte
		zero  bool // must not allocate
	}{
		{"rtp-truncated", 0, nil, p[:7], false},
		{"rtp-version", 0, nil, cat([]byte{0x40}, p[1:]), false},
		{"wrong-pt", 0, nil, cat([]byte{0x80, fuzzPT + 1}, p[2:]), true},
		{"wrong-ssrc", 0, frame[:1], cat(p[:8], []byte{9, 9, 9, 9}, p[12:]), true},
		{"late", 0, frame, p, true},
		{"rfc4175-no-srd", 0, nil, p[:14], false},
		{"rfc4175-srd-past-packet", 0, nil, cat(p[:14], srdBytes(0xffff, 0, 0, false), p[20:]), false},
		{"rfc4175-row-out-of-frame", 0, nil, cat(p[:14], srdBytes(10, fuzzH, 0, false), p[20:]), false},
		{"rfc9134-reserved-interlace", 3, nil, cat(jp[:12], []byte{0x08, 0, 0, 0}, jp[16:]), false},
		{"rfc8331-bad-field", 5, nil, cat(ap[:17], []byte{0x40}, ap[18:]), false},
		{"rfc8331-length-past-packet", 5, nil, cat(ap[:14], []byte{0xff, 0xff}, ap[16:]), true},
		{"audio-wrong-size", 4, nil, pcm[:len(pcm)-3], true},
	}
	for _, tc := range cases {
		r, _ := fuzzReceiver(t, tc.kind, 0, nil)
		for _, q := range tc.prime {
			r.packet(q)
		}
		r.flush()
		allocs := testing.AllocsPerRun(1000, func() { r.packet(tc.pkt) })
		st := r.Stats()
		if st.Frames.Load() != 0 && tc.prime == nil {
			t.Fatalf("%s: delivered a frame: %v", tc.name, st.Snapshot())
		}
		switch {
		case tc.zero && allocs != 0:
			t.Errorf("%s: %.1f allocations per packet, want 0", tc.name, allocs)
		case allocs != 0:
			t.Logf("%s: %.1f allocations per rejected packet (the parser's error value)", tc.name, allocs)
		}
	}
}
