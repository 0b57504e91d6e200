// Package proxy is media-proxy's core: it serves MCM's SDK API (gRPC
// sdk.SDKAPI, shared/spec/mcm-api.md §4.1) and mediamesh's ProxyAdmin on a
// unix socket in the run directory and on TCP, creates one memif master per
// app connection, and joins connections to local multipoint groups.
//
// Lifecycle of a connection (conn.go):
//
//	CreateConnection ──▶ created ──memif link up──▶ linked ──Activate──▶ active
//	                        │                          │                   │
//	                        └──────── attach timeout, link down, Delete ───┴──▶ closed
//
// A connection joins its group only when it is both linked and activated,
// so no buffer reaches a receiver that is not ready (MCM PR #368). An app
// that dies loses its memif control socket; the kernel closes it at once,
// the link goes down and the connection is reclaimed (group membership,
// memif fds, mappings, socket file, goroutine) without touching others.
//
// Security: the unix sockets are 0660 and the SDK socket checks the peer's
// uid/gid against an allow-list; each memif socket carries a per-connection
// secret and, when the creator is known by its credentials, accepts only
// that uid (or root). TCP requires a bearer token when one is configured.
//
// Goroutines: one gRPC server per listener and one supervisor per
// connection, all owned by the Proxy and waited for by Close.
//
// Lock order: Proxy.mu -> conn.mu.
package proxy
