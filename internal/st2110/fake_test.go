package st2110

import (
	"context"
	"sync"
	"testing"
	"time"

	"mediamesh/internal/mcm"
)

// fakeSource is an app's tx ring in memory: buffers put with put, taken
// by the Sender in order.
type fakeSource struct {
	mu       sync.Mutex
	slots    [][]byte
	taken    int
	released int
	wake     chan struct{}
	freed    chan struct{} // a token per Release call
}

func newFakeSource() *fakeSource {
	return &fakeSource{wake: make(chan struct{}, 1), freed: make(chan struct{}, 1<<16)}
}

func (f *fakeSource) put(b []byte) {
	f.mu.Lock()
	f.slots = append(f.slots, b)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fakeSource) Wait(ctx context.Context) error {
	for {
		if f.Available() > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-f.wake:
		}
	}
}

func (f *fakeSource) Available() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.slots) - f.taken
}

func (f *fakeSource) Next() ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.slots[f.taken]
	f.taken++
	return b, false, nil
}

func (f *fakeSource) Release(n int) {
	f.mu.Lock()
	f.released += n
	f.mu.Unlock()
	select {
	case f.freed <- struct{}{}:
	default:
	}
}

// waitDone blocks until n buffers were released.
func (f *fakeSource) waitDone(n int) {
	for f.done() < n {
		<-f.freed
	}
}

func (f *fakeSource) done() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.released
}

// fakeSink is an app's rx ring in memory: slots slots of size bytes; what
// the Receiver publishes is copied out to got.
type fakeSink struct {
	mu    sync.Mutex
	slots [][]byte
	next  int // publish point
	free  int // slots the app has given back (room = free - next)
	got   chan []byte
}

func newFakeSink(slots, size int) *fakeSink {
	s := &fakeSink{free: slots, got: make(chan []byte, 1024)}
	for range slots {
		s.slots = append(s.slots, make([]byte, size))
	}
	return s
}

func (s *fakeSink) Room() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.free - s.next
}

func (s *fakeSink) Buffer(k int) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.slots[(s.next+k)%len(s.slots)], nil
}

func (s *fakeSink) SetLength(int, int, bool) error { return nil }

func (s *fakeSink) Publish(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		b := s.slots[s.next%len(s.slots)]
		s.got <- append([]byte(nil), b...)
		s.next++
		s.free++ // the app returns it at once
	}
	return nil
}

// slot builds an app buffer holding payload.
func slot(t testing.TB, l mcm.Layout, payload []byte, ts int64) []byte {
	t.Helper()
	b := make([]byte, l.Total)
	copy(b[l.Payload.Offset:], payload)
	sd := mcm.Sysdata{Timestamp: ts, PayloadLen: uint32(len(payload))}
	if _, err := sd.MarshalTo(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// delivered reads one delivered buffer: its sysdata, payload and frame
// info (ok false without one).
func delivered(t testing.TB, l mcm.Layout, b []byte) (mcm.Sysdata, []byte, mcm.FrameInfo, bool) {
	t.Helper()
	var sd mcm.Sysdata
	if _, err := sd.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	p := b[l.Payload.Offset : l.Payload.Offset+sd.PayloadLen]
	var fi mcm.FrameInfo
	_, err := fi.Unmarshal(b[l.Metadata.Offset : l.Metadata.Offset+sd.MetadataLen])
	return sd, p, fi, err == nil
}

func recvOne(t testing.TB, s *fakeSink, timeout time.Duration) []byte {
	t.Helper()
	select {
	case b := <-s.got:
		return b
	case <-time.After(timeout):
		t.Fatalf("no buffer delivered within %v", timeout)
		return nil
	}
}
