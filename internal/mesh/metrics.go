package mesh

import (
	"context"
	"fmt"
	"math"
	"time"

	agentv1 "mediamesh/api/agent/v1"
)

// metricsState keeps each provider's previous sample, for the rates and
// deltas of MCM's metrics (mcm-api.md §5.7). Owned by the session loop.
type metricsState struct {
	total uint64 // metrics sent so far (provider "collector")
	prev  map[string]sample
}

// sample is one provider's cumulative counters at a time.
type sample struct {
	at               time.Time
	in, out          uint64 // bytes
	ok, failed, errs uint64
}

func (s *metricsState) reset() { s.total, s.prev = 0, nil }

// metric turns a sample into MCM's fields, with rates against the
// previous sample of the same provider.
func (s *metricsState) metric(id, state string, linked bool, cur sample, extra ...*agentv1.MetricField) *agentv1.Metric {
	if s.prev == nil {
		s.prev = map[string]sample{}
	}
	f := []*agentv1.MetricField{
		str("state", state), boolean("link", linked),
		unsigned("in", cur.in), unsigned("out", cur.out), unsigned("strn", cur.ok), unsigned("ftrn", cur.failed), unsigned("err", cur.errs),
	}
	if p, ok := s.prev[id]; ok && cur.at.After(p.at) {
		dt := cur.at.Sub(p.at).Seconds()
		f = append(f,
			unsigned("errd", cur.errs-min(p.errs, cur.errs)),
			double("inbw", float64(cur.in-min(p.in, cur.in))*8/1e6/dt),
			double("outbw", float64(cur.out-min(p.out, cur.out))*8/1e6/dt),
			double("tps", math.Round(float64(cur.ok-min(p.ok, cur.ok))/dt*10)/10))
	}
	s.prev[id] = cur
	s.total++
	return &agentv1.Metric{TimestampMs: cur.at.UnixMilli(), ProviderId: id, Fields: append(f, extra...)}
}

// sendMetrics reports every registered connection and every bridge.
func (m *Mesh) sendMetrics(ctx context.Context, id string, reg *registrations) error {
	now := time.Now()
	var out []*agentv1.Metric
	seen := map[string]bool{}
	for _, c := range m.node.AppConns() {
		if reg.done[c.ID] != regOK {
			continue
		}
		seen[c.ID] = true
		cur := sample{at: now, ok: c.Buffers, failed: c.Dropped, errs: c.Errors}
		if c.Sender {
			cur.in = c.Bytes
		} else {
			cur.out = c.Bytes
		}
		out = append(out, m.stats.metric(c.ID, c.State, c.State == "active", cur))
	}
	for _, bid := range sortedIDs(m.set.running) {
		r := m.set.running[bid]
		st := r.stats()
		seen[bid] = true
		cur := sample{at: now, ok: st.Frames, failed: st.Dropped, errs: st.Errors}
		state := "establishing"
		if st.Connected {
			state = "active"
		}
		if r.sender != nil {
			cur.out = st.Bytes
		} else {
			cur.in = st.Bytes
		}
		out = append(out, m.stats.metric(bid, state, st.Connected, cur,
			unsigned("gaps", st.Gaps), unsigned("reconnects", st.Reconnects)))
	}
	for pid := range m.stats.prev {
		if !seen[pid] {
			delete(m.stats.prev, pid)
		}
	}
	out = append(out, &agentv1.Metric{TimestampMs: now.UnixMilli(), ProviderId: "collector",
		Fields: []*agentv1.MetricField{unsigned("total", m.stats.total)}})
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := m.api.SendMetrics(cctx, &agentv1.SendMetricsRequest{ProxyId: id, Metrics: out}); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

func str(name, v string) *agentv1.MetricField {
	return &agentv1.MetricField{Name: name, Value: &agentv1.MetricField_StrValue{StrValue: v}}
}

func boolean(name string, v bool) *agentv1.MetricField {
	return &agentv1.MetricField{Name: name, Value: &agentv1.MetricField_BoolValue{BoolValue: v}}
}

func unsigned(name string, v uint64) *agentv1.MetricField {
	return &agentv1.MetricField{Name: name, Value: &agentv1.MetricField_UintValue{UintValue: v}}
}

func double(name string, v float64) *agentv1.MetricField {
	return &agentv1.MetricField{Name: name, Value: &agentv1.MetricField_DoubleValue{DoubleValue: v}}
}
