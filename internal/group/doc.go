// Package group moves buffers through a local multipoint group: one sending
// app, any number of receiving apps, all attached to media-proxy over memif.
//
// A Group owns one goroutine (the forwarder) that alone touches the rings of
// every member: it takes buffers from the sender's S2M ring, hands each to
// every receiver's M2S ring, and gives the sender's slots back strictly in
// order once every receiver is done with them (memif's tail is one counter,
// see shared/spec/memif.md §11.3). Membership changes are posted to the
// forwarder and acknowledged, so a removed connection is never touched
// again once Remove returns and its owner may unmap it.
//
// Copy budget (ARCHITECTURE.md): one copy per receiver for apps that speak
// stock memif (MCM's C SDK, libmemif). Buffers are counted, never copied
// into proxy memory: a receiver with no free slot keeps references to the
// sender's slots in a small pending FIFO.
//
// Slow receivers: a receiver whose ring is full and whose pending FIFO holds
// Budget buffers loses its oldest pending buffer (counted in Dropped), so it
// never stalls the sender or the other receivers. A Reliable group instead
// lets buffers wait for the slowest receiver: the sender's ring fills and
// the sending app waits for room, and nothing is dropped.
//
// Sequence numbers and timestamps: MCM apps leave both zero in the sysdata
// header; the forwarder stamps such buffers with the group's sequence number
// and the time it took them, so receivers can count losses and latency.
package group
