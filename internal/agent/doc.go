// Package agent is mesh-agent's core: the registry of proxies,
// connections, groups and bridges; the planner that turns it into each
// proxy's desired configuration; its bbolt store; and MCM's Proxy API
// (gRPC mediaproxy.ProxyAPI, shared/spec/mcm-api.md §5.1–5.4) that proxies
// register, report and receive their configuration through.
//
// Model. A proxy registers (MCM assigns a new UUID; a mediamesh proxy
// re-presents its previous id in the metadata "mediamesh-proxy-id" and
// keeps it) and reports each SDK connection with MCM's kind: "rx" is an
// SDK sender, the group's source, "tx" a receiver. Groups are derived from
// connections: a URN, or "ip:port" for ST 2110. A group's first member
// sets its config; later members must match it (§5.4) and a group has one
// source.
//
// Planning. After every change, Plan (plan.go) recomputes the full desired
// state, pure and deterministic: for each group whose source is on proxy
// A, one TCP bridge pair per other proxy B holding receivers — egress on
// A, ingress on B at a port of B's -p ranges — whatever the number of
// receivers on B. Bridge ids and tokens derive from the pair, so
// replanning an unchanged registry yields identical configs, and an
// ingress bridge keeps its port. Each proxy whose config changed gets it
// over its command stream (StartCommandQueue) as an ApplyConfig, the
// complete set of its groups and bridges, which it reconciles to; a
// stream also gets the current config when it opens. Configs are
// coalesced: a proxy that is slow to read gets the latest, never a backlog.
//
// Persistence. Proxies, connections and bridges are written through to
// DataDir/agent.db, one transaction per event, and loaded on Start: an
// agent restart loses nothing, and proxies that re-register with their
// ids find their plans unchanged. A proxy with no command stream for the
// grace period (counted from the agent's start after a restart) is marked
// unhealthy, not deleted: it gets no bridges until it is back.
//
// Security: the Proxy API requires mutual TLS (internal/mtls) unless Insecure.
//
// Goroutines, all owned by the Agent and waited for by Close: the loop
// (loop.go), which alone touches the registry, running events in order —
// gRPC handlers and the Control API hand it closures through do —; the
// gRPC server and its handlers (one per command stream); the REST server
// when configured.
//
// Locks: Agent.pending.mu and session.mu, each alone, never held across a
// send or a call.
package agent
