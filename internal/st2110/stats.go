package st2110

import "sync/atomic"

// Stats are a stream's live counters, read lock-free.
type Stats struct {
	Frames  atomic.Uint64 // buffers sent or delivered
	Packets atomic.Uint64 // RTP packets sent or accepted
	Bytes   atomic.Uint64 // RTP payload bytes sent or accepted

	// Sender.
	BadBuffers  atomic.Uint64 // app buffers of the wrong size, skipped
	LateFrames  atomic.Uint64 // frames that started after their pacing slot
	SendErrors  atomic.Uint64 // failed sends (packets of the frame lost)
	Downgrades  atomic.Uint64 // GSO turned off by the kernel (EIO), sendmmsg used instead
	PacingLate  atomic.Uint64 // bursts sent more than 50 µs after their time
	PacingSteps atomic.Uint64 // bursts sent

	// Receiver.
	Incomplete atomic.Uint64 // frames delivered flagged incomplete
	Dropped    atomic.Uint64 // frames dropped: incomplete (by config or no metadata room) or no free buffer
	NoBuffer   atomic.Uint64 // of Dropped: the app had no free buffer (slow receiver)
	Lost       atomic.Uint64 // packets missing from finished frames (or sequence gaps, audio)
	Late       atomic.Uint64 // packets of a frame already finished
	Malformed  atomic.Uint64 // not RTP, wrong version, truncated, bad payload header
	WrongPT    atomic.Uint64 // payload type other than the stream's
	WrongSSRC  atomic.Uint64 // another source than the locked SSRC, or than Config.From
	OutOfFrame atomic.Uint64 // SRD rows/offsets/lengths outside the frame, or data past the buffer
}

// Snapshot returns the non-zero counters by name, for the proxy's
// connection listing.
func (s *Stats) Snapshot() map[string]uint64 {
	m := map[string]uint64{}
	put := func(k string, v *atomic.Uint64) {
		if n := v.Load(); n != 0 {
			m[k] = n
		}
	}
	put("frames", &s.Frames)
	put("packets", &s.Packets)
	put("bytes", &s.Bytes)
	put("bad_buffers", &s.BadBuffers)
	put("late_frames", &s.LateFrames)
	put("send_errors", &s.SendErrors)
	put("gso_downgrades", &s.Downgrades)
	put("pacing_late", &s.PacingLate)
	put("pacing_steps", &s.PacingSteps)
	put("incomplete", &s.Incomplete)
	put("dropped", &s.Dropped)
	put("no_buffer", &s.NoBuffer)
	put("lost", &s.Lost)
	put("late", &s.Late)
	put("malformed", &s.Malformed)
	put("wrong_pt", &s.WrongPT)
	put("wrong_ssrc", &s.WrongSSRC)
	put("out_of_frame", &s.OutOfFrame)
	return m
}
