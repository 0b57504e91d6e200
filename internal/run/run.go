// Package run supervises goroutines: errgroup semantics on the standard
// library. Every long-lived goroutine of a component is started through its
// Group, named for logs and pprof, and waited for by the component's Close.
package run

import (
	"context"
	"runtime/pprof"
	"sync"
)

// Group runs named goroutines; the first error cancels the others.
type Group struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	stopped bool
	err     error
}

// NewGroup returns a group whose context derives from parent.
func NewGroup(parent context.Context) *Group {
	ctx, cancel := context.WithCancelCause(parent)
	return &Group{ctx: ctx, cancel: cancel}
}

// Context is cancelled when a goroutine fails or Cancel is called.
func (g *Group) Context() context.Context { return g.ctx }

// Go starts fn under name. It refuses (false) once the group is cancelled
// or waited for, so nothing starts after shutdown began.
func (g *Group) Go(name string, fn func(ctx context.Context) error) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped || g.ctx.Err() != nil {
		return false
	}
	g.wg.Go(func() {
		var err error
		pprof.Do(g.ctx, pprof.Labels("goroutine", name), func(ctx context.Context) { err = fn(ctx) })
		if err != nil {
			g.mu.Lock()
			if g.err == nil {
				g.err = err
			}
			g.mu.Unlock()
			g.cancel(err)
		}
	})
	return true
}

// Cancel stops the group with cause (nil: context.Canceled).
func (g *Group) Cancel(cause error) {
	g.mu.Lock()
	g.stopped = true
	g.mu.Unlock()
	g.cancel(cause)
}

// Wait waits for every goroutine and returns the first error.
func (g *Group) Wait() error {
	g.mu.Lock()
	g.stopped = true
	g.mu.Unlock()
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}
