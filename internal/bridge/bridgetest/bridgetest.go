// Package bridgetest holds in-memory fakes of bridge's Source and Sink for
// tests of the bridge and of what glues it to a proxy.
package bridgetest

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"sync"

	"mediamesh/internal/bridge"
)

// Content is a frame's deterministic content: sizes up to the maxima and
// bytes, both drawn from a generator seeded by seq, so a receiver can
// check any frame it gets knowing only its sequence number.
func Content(seq uint32, maxPayload, maxMetadata int) (payload, metadata []byte) {
	r := rand.New(rand.NewPCG(uint64(seq), 0x6d62))
	payload = make([]byte, r.IntN(maxPayload+1))
	metadata = make([]byte, r.IntN(maxMetadata+1))
	fill(r, payload)
	fill(r, metadata)
	return payload, metadata
}

// fill writes random bytes into b, eight at a time.
func fill(r *rand.Rand, b []byte) {
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, r.Uint64())
		b = b[8:]
	}
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

// Source is a bridge.Source giving frames 1, 2, 3, … as far as Allow
// permits, their bytes made by Gen; Next blocks when it may give no more.
type Source struct {
	gen  func(seq uint32) (payload, metadata []byte)
	wake chan struct{} // capacity 1: Allow → a blocked Next

	mu struct {
		sync.Mutex
		allowed  uint64 // frames Next may still give
		seq      uint32 // the last sequence number given
		out      int    // given and not released
		released uint64
	}
}

// NewSource returns a Source whose frame seq holds gen(seq); gen may
// return the same slices every time (allocation-free benchmarks).
func NewSource(gen func(seq uint32) (payload, metadata []byte)) *Source {
	return &Source{gen: gen, wake: make(chan struct{}, 1)}
}

// Allow lets Next give n more frames.
func (s *Source) Allow(n int) {
	s.mu.Lock()
	s.mu.allowed += uint64(n)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Next gives the next frame once one is allowed.
func (s *Source) Next(ctx context.Context) (bridge.Frame, error) {
	for {
		s.mu.Lock()
		if s.mu.allowed > 0 {
			s.mu.allowed--
			s.mu.seq++
			s.mu.out++
			seq := s.mu.seq
			s.mu.Unlock()
			p, m := s.gen(seq)
			return bridge.Frame{Seq: seq, Timestamp: int64(seq) * 1000, Payload: p, Metadata: m}, nil
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-ctx.Done():
			return bridge.Frame{}, ctx.Err()
		}
	}
}

// Release takes a frame back.
func (s *Source) Release(bridge.Frame) {
	s.mu.Lock()
	s.mu.out--
	s.mu.released++
	s.mu.Unlock()
}

// Given is the last sequence number handed out.
func (s *Source) Given() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.seq
}

// Outstanding is how many frames are given and not released.
func (s *Source) Outstanding() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.out
}

// ErrBusy is Sink.Get's answer while its one buffer is out: a Listener
// that used a Sink from two connections at once.
var ErrBusy = errors.New("bridgetest: sink buffer already out")

// Sink is a bridge.Sink with one reusable buffer: every frame put is
// passed to the check function (in the receiving goroutine) and counted.
type Sink struct {
	payload, metadata []byte
	check             func(bridge.Frame) error

	mu struct {
		sync.Mutex
		out      bool
		frames   uint64
		discards uint64
		target   uint64
		reached  chan struct{} // closed when frames reaches target
	}
}

// NewSink returns a Sink whose buffer holds maxPayload and maxMetadata
// bytes; check (may be nil) sees each frame put and may fail the Put.
func NewSink(maxPayload, maxMetadata int, check func(bridge.Frame) error) *Sink {
	return &Sink{payload: make([]byte, maxPayload), metadata: make([]byte, maxMetadata), check: check}
}

// Get hands out the buffer.
func (s *Sink) Get(context.Context) (bridge.Frame, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.out {
		return bridge.Frame{}, ErrBusy
	}
	s.mu.out = true
	return bridge.Frame{Payload: s.payload, Metadata: s.metadata}, nil
}

// Put checks and counts a frame.
func (s *Sink) Put(f bridge.Frame) error {
	var err error
	if s.check != nil {
		err = s.check(f)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.out = false
	s.mu.frames++
	if s.mu.reached != nil && s.mu.frames >= s.mu.target {
		close(s.mu.reached)
		s.mu.reached = nil
	}
	return err
}

// Discard takes the buffer back unfilled.
func (s *Sink) Discard(bridge.Frame) {
	s.mu.Lock()
	s.mu.out = false
	s.mu.discards++
	s.mu.Unlock()
}

// Frames is how many frames were put.
func (s *Sink) Frames() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.frames
}

// Out reports whether the buffer is handed out.
func (s *Sink) Out() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.out
}

// WaitFrames waits until n frames in all were put, or ctx ends. One
// waiter at a time.
func (s *Sink) WaitFrames(ctx context.Context, n uint64) error {
	s.mu.Lock()
	if s.mu.frames >= n {
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.mu.target, s.mu.reached = n, ch
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var (
	_ bridge.Source = (*Source)(nil)
	_ bridge.Sink   = (*Sink)(nil)
)
