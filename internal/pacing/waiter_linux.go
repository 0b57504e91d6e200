package pacing

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// timerfdSleeper sleeps on a non-blocking timerfd registered with the
// runtime's netpoller: Read parks the goroutine, and the kernel's hrtimer
// makes the fd readable with microsecond precision, so no OS thread is
// blocked and no millisecond epoll timeout rounds the wait.
type timerfdSleeper struct {
	fd   int      // owned by file; used raw for timerfd_settime
	file *os.File // the poller registration; closing it closes fd
	buf  [8]byte  // expiration count read back

	mu     sync.Mutex // orders wake (another goroutine) against close
	closed bool
}

var _ sleeper = (*timerfdSleeper)(nil)

func newSleeper() (sleeper, error) {
	// CLOCK_MONOTONIC: relative waits, immune to clock steps.
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &timerfdSleeper{fd: fd, file: os.NewFile(uintptr(fd), "pacing-timerfd")}, nil
}

func (s *timerfdSleeper) sleep(d time.Duration, woken *atomic.Bool) error {
	// Arming resets the expiration count, so a wake that fired while no
	// sleep was pending does not end this one early.
	its := unix.ItimerSpec{Value: unix.NsecToTimespec(max(int64(d), 1))}
	if err := unix.TimerfdSettime(s.fd, 0, &its, nil); err != nil {
		return err
	}
	// A Wake that set woken before this arming had its 1 ns timer
	// overwritten: see it here. One after it re-arms the timer after ours.
	if woken.Load() {
		return nil
	}
	if _, err := s.file.Read(s.buf[:]); err != nil && !errors.Is(err, unix.EAGAIN) {
		return err
	}
	return nil
}

func (s *timerfdSleeper) wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return // the fd number may belong to someone else by now
	}
	its := unix.ItimerSpec{Value: unix.Timespec{Nsec: 1}}
	_ = unix.TimerfdSettime(s.fd, 0, &its, nil) // best effort: Until re-checks ctx
}

func (s *timerfdSleeper) close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.file.Close()
}
