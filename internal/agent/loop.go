package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	agentv1 "mediamesh/api/agent/v1"
)

// request is one event for the loop: fn changes the registry, recording
// what to persist in the batch; after runs once the change is planned and
// pushed. fn must validate before it changes anything: an error means
// nothing changed.
type request struct {
	fn    func(b *batch) error
	after func()
	done  chan error // cap 1
}

// do runs fn on the loop goroutine and returns its outcome. Events are
// serialised there, so the registry needs no lock and every event is one
// store transaction and one replan.
func (a *Agent) do(ctx context.Context, fn func(b *batch) error) error {
	return a.doAfter(ctx, fn, nil)
}

func (a *Agent) doAfter(ctx context.Context, fn func(b *batch) error, after func()) error {
	if a.group == nil {
		return ErrClosed
	}
	r := request{fn: fn, after: after, done: make(chan error, 1)}
	select {
	case a.reqs <- r:
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-a.group.Context().Done():
		return ErrClosed
	}
	// Once taken, the event runs to its end (it is short); only shutdown
	// stops the wait.
	select {
	case err := <-r.done:
		return err
	case <-a.group.Context().Done():
		return ErrClosed
	}
}

// loop owns the registry. It plans the loaded state once, reports ready,
// then runs events and liveness checks until the agent closes.
func (a *Agent) loop(ctx context.Context, ready chan<- struct{}) error {
	if err := a.reconcile(&batch{}, true); err != nil {
		return err
	}
	close(ready)
	tick := time.NewTicker(max(a.cfg.Grace/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-a.reqs:
			r.done <- a.handle(r.fn, r.after)
		case <-tick.C:
			_ = a.handle(a.checkLiveness, nil)
		}
	}
}

// handle runs one event: change, persist, replan, push.
func (a *Agent) handle(fn func(b *batch) error, after func()) error {
	var b batch
	if err := fn(&b); err != nil {
		return err
	}
	if !b.empty() {
		// Only persisted fields feed the plan: no write, no replan.
		if err := a.reconcile(&b, false); err != nil {
			return err
		}
	}
	if after != nil {
		after()
	}
	return nil
}

// errStore reports a failed store write: the event is undone.
var errStore = errors.New("agent store")

// reconcile replans, writes the event's changes and the bridge changes in
// one transaction, and pushes every config that changed to its proxy's
// command stream. On a failed write the registry is reloaded from the
// store, which still holds the state before the event.
func (a *Agent) reconcile(b *batch, force bool) error {
	bridges, errs := PlanBridges(a.state)
	if p := joinErrs(errs); p != a.problems {
		a.problems = p
		if p != "" {
			a.log.Warn("bridges left out", "err", p)
		}
	}
	for id := range a.state.Bridges {
		if bridges[id] == nil {
			b.del(bucketBridges, id)
			if br := a.state.Bridges[id]; a.metrics[br.ProxyID] != nil {
				delete(a.metrics[br.ProxyID], id)
			}
		}
	}
	for id, br := range bridges {
		if old := a.state.Bridges[id]; old == nil || *old != *br {
			b.putBridge(br)
		}
	}
	if !b.empty() {
		if err := a.store.commit(b); err != nil {
			a.log.Error("store write failed, event undone", "err", err)
			if st, lerr := a.store.load(); lerr == nil {
				a.state = st
			} else {
				a.log.Error("store reload failed", "err", lerr)
			}
			return fmt.Errorf("%w: %v", errStore, err)
		}
	} else if !force {
		return nil
	}
	a.state.Bridges = bridges
	cfgs := Configs(a.state, bridges)
	for id, cfg := range cfgs {
		if old := a.want[id]; old != nil && sameConfig(old, cfg) {
			continue
		}
		a.want[id] = cfg
		if s := a.sessions[id]; s != nil {
			s.post(cfg)
		}
	}
	for id := range a.want {
		if cfgs[id] == nil {
			delete(a.want, id)
		}
	}
	return nil
}

// checkLiveness marks unhealthy every proxy that has no command stream
// and has not been seen for the grace period (counted from the agent's
// start for proxies loaded from the store).
func (a *Agent) checkLiveness(b *batch) error {
	now := a.now()
	for id, p := range a.state.Proxies {
		if !p.Healthy || a.sessions[id] != nil {
			continue
		}
		last := p.LastSeen
		if last.Before(a.started) {
			last = a.started
		}
		if now.Sub(last) > a.cfg.Grace {
			p.Healthy = false
			b.putProxy(p)
			a.log.Warn("proxy unhealthy: no command stream", "proxy_id", id, "last_seen", p.LastSeen, "grace", a.cfg.Grace)
		}
	}
	return nil
}

// seen notes that a proxy is alive (memory only: LastSeen is persisted
// with the proxy's next write).
func (a *Agent) seen(proxyID string) {
	if p := a.state.Proxies[proxyID]; p != nil {
		p.LastSeen = a.now()
	}
}

// session is one proxy's open command stream. The loop posts the latest
// config (older unsent ones are superseded: each is the full state) and
// queues other commands; the stream handler sends them. The mutex guards
// the outbox only and is never held across a send.
type session struct {
	proxyID string
	wake    chan struct{} // cap 1: something to send
	done    chan struct{} // closed by end
	endErr  error         // why done closed; written before the close

	mu struct {
		sync.Mutex
		cfg  *agentv1.ApplyConfigRequest
		cmds []*agentv1.CommandRequest
	}
}

func newSession(proxyID string) *session {
	return &session{proxyID: proxyID, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (s *session) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *session) post(cfg *agentv1.ApplyConfigRequest) {
	s.mu.Lock()
	s.mu.cfg = cfg
	s.mu.Unlock()
	s.signal()
}

// maxQueued bounds a session's queued commands, as MCM's queue of 1000.
const maxQueued = 1000

func (s *session) enqueue(c *agentv1.CommandRequest) {
	s.mu.Lock()
	if len(s.mu.cmds) < maxQueued {
		s.mu.cmds = append(s.mu.cmds, c)
	}
	s.mu.Unlock()
	s.signal()
}

func (s *session) take() (*agentv1.ApplyConfigRequest, []*agentv1.CommandRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, cmds := s.mu.cfg, s.mu.cmds
	s.mu.cfg, s.mu.cmds = nil, nil
	return cfg, cmds
}

// end closes the session (loop only, once: the loop drops it from
// sessions at the same time).
func (s *session) end(err error) {
	s.endErr = err
	close(s.done)
}

// openSession makes s the proxy's command stream, superseding an older
// one, marks the proxy healthy, and posts its current plan (MCM's
// on-activate-proxy).
func (a *Agent) openSession(ctx context.Context, proxyID string) (*session, error) {
	s := newSession(proxyID)
	err := a.doAfter(ctx, func(b *batch) error {
		p := a.state.Proxies[proxyID]
		if p == nil {
			return fmt.Errorf("%w: proxy %q", ErrNotFound, proxyID)
		}
		if old := a.sessions[proxyID]; old != nil {
			old.end(fmt.Errorf("%w: a newer command stream of proxy %s replaced this one", ErrConflict, proxyID))
		}
		a.sessions[proxyID] = s
		a.pruneStale(b, proxyID)
		p.LastSeen = a.now()
		if !p.Healthy {
			p.Healthy = true
			b.putProxy(p)
		}
		a.log.Info("proxy active", "proxy_id", proxyID)
		return nil
	}, func() {
		if cfg := a.want[proxyID]; cfg != nil {
			s.post(cfg)
		}
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// pruneStale deletes the connections of proxyID that it did not
// register again since its latest registration: a proxy opens its
// command stream once it has re-registered every connection it holds, so
// the others died with a previous run of it. Once per epoch, so a stream
// that merely reopens prunes nothing.
func (a *Agent) pruneStale(b *batch, proxyID string) {
	epoch := a.epochs[proxyID]
	if epoch == 0 || a.pruned[proxyID] == epoch {
		return
	}
	a.pruned[proxyID] = epoch
	for _, id := range sortedKeys(a.state.Conns) {
		c := a.state.Conns[id]
		if c.ProxyID != proxyID || a.connEpoch[id] == epoch {
			continue
		}
		delete(a.state.Conns, id)
		delete(a.connEpoch, id)
		b.del(bucketConns, id)
		delete(a.metrics[proxyID], id)
		a.log.Info("connection pruned: its proxy came back without it", "conn_id", id, "proxy_id", proxyID, "group", c.GroupID)
	}
}

// closeSession forgets s when its stream ends; the proxy's grace period
// starts now.
func (a *Agent) closeSession(s *session) {
	_ = a.do(context.Background(), func(*batch) error {
		if a.sessions[s.proxyID] == s {
			delete(a.sessions, s.proxyID)
			a.seen(s.proxyID)
			a.log.Info("proxy command stream closed", "proxy_id", s.proxyID)
		}
		return nil
	})
}
