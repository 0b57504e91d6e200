// Package mesh is media-proxy's side of the mesh across nodes: it keeps
// the proxy registered with mesh-agent (MCM's Proxy API, mediaproxy.ProxyAPI
// over gRPC with mTLS), reports the apps' connections and their metrics,
// and runs the TCP bridges (internal/bridge) the agent's plan asks for.
//
// # Control plane
//
// One goroutine runs sessions against the agent: RegisterMediaProxy (with
// the id of the previous run, kept in the run dir, in the metadata
// "mediamesh-proxy-id", so a restarted proxy or agent keeps the proxy's
// identity), RegisterConnection for every active app connection under its
// proxy id, then the command stream (StartCommandQueue). While the stream
// is open it follows the proxy's connections (proxy.Changes), answers each
// ApplyConfig after applying it (with the errors, which MCM never filled),
// and sends metrics every second. Any failure ends the session and a new
// one starts after a backoff (MCM's 2 s at most); a NOT_FOUND from the
// agent (it lost the proxy) is one such failure, and the next session
// registers everything again.
//
// # Data plane
//
// The agent's ApplyConfig is the complete set of bridges the proxy must
// run; Apply converges to it whatever ran before: bridges not in it stop,
// new or changed ones start, the same config twice changes nothing. A
// bridge failing to start is retried every second. Bridges belong to the
// data plane and keep running while the agent is away: media never
// depends on the control plane being up.
//
// A bridge joins its local group through the proxy's own SDK API, as an
// app would (the SDK connection marked with proxy.MetadataBridge so it is
// not reported): an egress bridge is a receiver whose frames are written to
// the socket straight from shared memory — the sender's own in a reliable
// group (zero-copy), else a copy in the bridge's ring, since a bridge on a
// slow link must not pin the sender's buffers —, an ingress bridge the
// group's sender whose buffers the socket is read into, numbered as the
// upstream sender numbered them so receivers count upstream losses.
// So the group's rules (drop for the slow, wait in reliable groups) apply
// to a bridge as to any app, and the bridge code knows nothing of memif.
//
// # Goroutines and locks
//
// Mesh.run (the session loop, which alone touches the registration table
// and the bridge table), a session's stream reader, and the bridges'
// own goroutines (see internal/bridge). Close stops them all and then
// closes the bridges. No lock is held across a call to the agent.
package mesh
