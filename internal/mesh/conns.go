package mesh

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	agentv1 "mediamesh/api/agent/v1"
	"mediamesh/internal/mcm"
)

// Registration outcomes in registrations.done.
const (
	regOK      = "registered"
	regRefused = "refused" // the agent said no: kept local, not retried this session
)

// registrations is what one session told the agent about the proxy's
// app connections. The agent's connection id is the proxy's own, so a
// re-registration after an agent restart, or by a restarted proxy, names
// the same connection.
type registrations struct {
	m    *Mesh
	id   string            // proxy id
	done map[string]string // by connection id: regOK or regRefused
}

// sync registers the active app connections not yet registered and
// unregisters the ones gone. An error means the agent is unreachable;
// a connection it refuses is logged and left local.
func (r *registrations) sync(ctx context.Context) error {
	conns := r.m.node.AppConns()
	live := make(map[string]bool, len(conns))
	for _, c := range conns {
		live[c.ID] = true
		if r.done[c.ID] != "" {
			continue
		}
		kind := "tx" // MCM's kinds are the proxy's view: an SDK receiver is "tx"
		if c.Sender {
			kind = "rx"
		}
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		if !c.Wire.Empty() {
			cctx = metadata.AppendToOutgoingContext(cctx, mcm.MetadataWireOptions, string(c.Wire.Marshal()))
		}
		_, err := r.m.api.RegisterConnection(cctx, &agentv1.RegisterConnectionRequest{
			ProxyId: r.id, Kind: kind, Config: c.Config, ConnId: c.ID})
		cancel()
		switch status.Code(err) {
		case codes.OK:
			r.done[c.ID] = regOK
			r.m.setRefused(c.ID, false) // refused by an earlier session, taken now
		case codes.InvalidArgument, codes.FailedPrecondition, codes.AlreadyExists:
			r.done[c.ID] = regRefused
			r.m.setRefused(c.ID, true)
			r.m.log.Warn("the agent refused a connection: it works on this node only", "conn_id", c.ID, "err", err)
		default:
			return fmt.Errorf("register connection %s: %w", c.ID, err)
		}
	}
	for id, how := range r.done {
		if live[id] {
			continue
		}
		delete(r.done, id)
		r.m.setRefused(id, false)
		if how != regOK {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		_, err := r.m.api.UnregisterConnection(cctx, &agentv1.UnregisterConnectionRequest{ProxyId: r.id, ConnId: id})
		cancel()
		if err != nil && status.Code(err) != codes.NotFound {
			return fmt.Errorf("unregister connection %s: %w", id, err)
		}
	}
	return nil
}
