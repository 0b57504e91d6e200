package bridge

import (
	"log/slog"
	"sync"
	"time"
)

// warnLimiter passes one warning per second and logs the rest at Debug,
// counted into the next warning, so a peer that keeps failing (a wrong
// token every 50 ms, a port scanner) cannot flood the log.
type warnLimiter struct {
	mu         sync.Mutex
	next       time.Time // guarded by mu
	suppressed int       // guarded by mu
}

func (w *warnLimiter) warn(log *slog.Logger, msg string, args ...any) {
	now := time.Now()
	w.mu.Lock()
	if now.Before(w.next) {
		w.suppressed++
		w.mu.Unlock()
		log.Debug(msg, args...)
		return
	}
	n := w.suppressed
	w.suppressed, w.next = 0, now.Add(time.Second)
	w.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	log.Warn(msg, args...)
}
