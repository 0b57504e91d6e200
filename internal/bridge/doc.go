// Package bridge carries a multipoint group's buffers from one node's
// media-proxy to another's over TCP: the data plane of a group that spans
// nodes (ARCHITECTURE.md, "Data plane"; issue 5).
//
// On the node with the group's sender, a Sender is one more receiver of the
// local group (its Source) and writes every buffer to one remote node; on
// each node with receivers, a Listener reads them into a Sink, the group's
// local sender there. One connection per group and node pair, whatever the
// number of receivers behind it: one copy per node, not per receiver.
//
// # Copies
//
// Sending is one writev of header, payload and metadata straight from the
// Source's memory (with the SDK's zero-copy receive, the sending app's
// shared region): no copy in user space, no allocation per frame. Receiving
// reads the fixed header, then io.ReadFull of the payload and metadata
// straight into the Sink's buffer (the receiving group's shared memory):
// the kernel's copy only.
//
// # Framing
//
// Big-endian. Every message is a fixed 32-byte header, then a body whose
// length the header gives. The first 8 bytes are common:
//
//	 0       2       3       4               8
//	+-------+-------+-------+---------------+
//	| magic |version| type  |     group     |
//	| "mb"  |   1   | 1/2/3 | FNV-1a(URN)   |
//	+-------+-------+-------+---------------+
//
// Hello (1), the first message each way:
//
//	8  u32 max payload   12 u32 max metadata
//	16 u16 URN length    18 u16 token length   20..32 reserved (0)
//	32 URN (1..1024 bytes), token (0..1024 bytes)
//
// Data (2), one buffer, then its payload and metadata bytes:
//
//	8  u32 seq           12 u32 flags (reserved, 0)
//	16 i64 timestamp, Unix ns (0: unset)
//	24 u32 payload length   28 u32 metadata length
//
// Refusal (3), a side's last message, why it closes:
//
//	8  u16 code   10 u16 text length   12..32 reserved (0)
//	32 text (0..1024 bytes)
//
// A Listener may admit one peer address only (AllowFrom; a proxy's
// ingress bridge admits the sending proxy's bridge address, and its
// egress bridges dial from theirs, LocalAddr): anyone else is closed on
// before a byte is read. A connection carries one group. The sender's
// Hello names the URN, the
// shared token (compared in constant time) and the largest frame it will
// send; the listener's OpenFunc may refuse the group or sizes beyond its
// pool. The listener answers with a Hello of its own (the same URN and
// token, so the sender knows it reached the right peer, and the maxima it
// accepted) or a Refusal, which the other side reads as a *RemoteError
// matching ErrRefused and ErrUnauthorized, ErrTooLarge or ErrProtocol.
// After that, data frames only, sender to listener. The Reader checks a
// frame's lengths against the maxima before reading its body, so no input
// makes a receiver allocate, or wait for, more than it agreed to; a
// malformed, foreign-group or oversize frame ends the connection with a
// Refusal.
//
// # Faults and back-pressure
//
// A Sender never holds the local group longer than WriteTimeout: a remote
// that does not take a frame in time is a failed connection. After any
// failure it redials with exponential backoff (50 ms doubling to 2 s),
// taking buffers from the Source and dropping them meanwhile, so a dead
// remote costs the local group nothing; in a reliable group, nothing is
// lost while connected (TCP back-pressure reaches the group, which waits
// by design). The Listener counts the sequence numbers missing between the
// frames it received, across reconnects (Stats.Gaps). A new connection
// for a group closes the group's old one, which may be half-open after a
// network fault, and takes over once the old one has let go of the Sink.
//
// # Goroutines and locks
//
// A Sender owns one goroutine (dial, handshake, send loop); a Listener its
// accept loop and one goroutine per connection. All start through the
// owner's run.Group and are waited for by Close, which wakes any of them
// by closing their socket (context.AfterFunc) or cancelling the context
// Source.Next and Sink.Get get. Locks (Sender.mu, Listener.mu,
// counters.mu, warnLimiter.mu) are leaves, never held across I/O or a call
// into a Source, Sink or OpenFunc.
package bridge
