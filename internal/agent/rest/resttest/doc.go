// Package resttest runs a real mesh-agent with its Control API on
// loopback, for tests of the API and of its clients (meshctl): proxies
// and connections are registered through the agent's gRPC Proxy API, as
// media-proxy does, with chosen ids and a fixed clock, so that what the
// API shows is the same on every run.
//
// Goroutines: Open's stream reader, one per call, ended and waited for
// when the test ends; the agent's own, ended by its Close at the test's end.
package resttest
