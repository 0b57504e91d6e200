// Package rest is mesh-agent's Control API: REST and JSON for people and
// tools, MCM's (mcm-api.md §5.6) path for path and key for key, so that
// MCM's tools keep working, under /api/v1 and at MCM's unversioned paths.
// The OpenAPI document (api/openapi/agent.yaml) is served at
// /api/v1/openapi.yaml, and a test holds it and the route table equal.
//
// Reads take an agent.Snapshot per request and render it (view.go); writes
// go through the Agent's methods (UnregisterProxy, UnregisterConnection,
// Debug). Groups and bridges are derived by the agent from connections,
// so they are read-only here: MCM's debug PUTs and add-conn/add-bridge
// links are not served.
//
// Errors are always JSON, {"error": {"code": 404, "message": "…"}}, with
// the status statusOf gives: 400 bad input, 401 no or wrong token, 404
// unknown id or path, 405 wrong method, 409 conflicting state (a proxy
// without a command stream), 413 a body over 1 MiB, 503 shutting down,
// 504 a proxy too slow to answer, 500 anything else.
//
// Security, unlike MCM's (§8 #1, #2): a bearer token on every request but
// GET /api/v1/healthz, compared in constant time; CORS headers only for
// the configured origins, never a wildcard; Insecure (no token) is an
// explicit choice that logs a warning. Timeouts are the agent's
// http.Server's.
//
// The package owns no goroutines: the agent's HTTP server runs the
// handlers.
package rest
