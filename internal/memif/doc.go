// Package memif implements both roles of memif 2.0, the shared-memory
// packet interface of VPP and libmemif, without cgo: media-proxy is the
// master, applications are slaves (shared/spec/memif.md; § numbers below
// refer to it).
//
// # Concept
//
// A master listens on a unix SEQPACKET socket (Listen) and hosts interfaces
// told apart by a u32 id (Listener.Register, Interface.Accept). A slave
// connects (Dial), creates all shared state — memfd regions sealed with
// F_SEAL_SHRINK and one EFD_NONBLOCK eventfd per ring — and announces it in
// the handshake INIT, ADD_REGION…, ADD_RING…, CONNECT (§5). The result on
// both sides is a linked Conn with producer rings (TxQueue: S2M on a
// slave, M2S on a master) and consumer rings (RxQueue: the reverse).
// Buffers are exchanged through descriptor rings laid out exactly as
// libmemif lays them out (§6): region 0 holds ring headers only, region 1
// every buffer; the cache line C is 64 on amd64 and 128 on arm64.
//
// The control codec has one type per message (Hello, Init, AddRegion,
// AddRing, Connect, Connected, Disconnect, Ack) with MarshalSize,
// MarshalTo, Marshal and Unmarshal (§4, STYLE.md §9); strings are parsed up
// to the first NUL and padding is never required to be zero (§3).
//
// # Invariants
//
//   - Everything a peer sends is validated before use (§5 "advice for
//     Go"): message size and type, fd presence (at most one per message;
//     unexpected fds are closed), indexes, sizes against fstat, seals, ring
//     placement, cookies. Every descriptor is copied out of shared memory
//     and checked (known region, offset + length inside it) before it is
//     sliced; a producer index more than N ahead ends the link. A slave
//     never follows a master's region/offset: its slot buffers come from
//     its own record. Any violation sends DISCONNECT with a reason and ends
//     the link; nothing panics, no fd leaks.
//   - head and tail are free-running u16 indexes (§7.1). Go has no 16-bit
//     atomics: head is updated with a 32-bit CAS on the word it shares with
//     flags, tail with a 32-bit store in its own cache line; ordering is
//     argued in ring.go.
//   - The data path (Send, Buffer, SetLength, Publish, Wait with the same
//     ctx, WaitTimeout, Next, NextDesc, Release) allocates nothing; waits
//     use the runtime poller on the nonblocking eventfd, never a thread-
//     pinning syscall.
//   - Link loss (peer DISCONNECT, EOF, malformed message, violation)
//     closes Done, sets Err and wakes every RxQueue.Wait, but regions stay
//     mapped until Conn.Close: a peer vanishing never faults a reader. The
//     owner calls Close after its data goroutines have stopped.
//   - A master interface links one slave at a time ("already connected");
//     once that link is down a new slave may link.
//
// # Goroutines
//
//   - Listener: one accept loop and one handshake goroutine per connecting
//     socket; Listener.Close waits for all of them.
//   - Conn: one control reader from link-up, which watches for DISCONNECT
//     or EOF and serves the IMPORT_REGION extension; Conn.Close waits for it.
//   - Queues start none. WaitRoom polls (memif has no "space available"
//     signal, §7.4).
//
// # Locks
//
// Listener.mu guards the interface table and handshakes in progress;
// Interface.mu guards the live/pending Conn. They are never held together,
// nor across socket I/O or Conn.Close. RxQueue.watchMu (leaf) guards the
// cached context registration of Wait. Queues are single-goroutine objects
// except RxQueue.Wake.
//
// # Zero-copy extension
//
// IMPORT_REGION (type 0x0100, import.go) lets a master hand a slave that
// agreed out of band (Config.AcceptImports) a read-only region after
// CONNECTED; M2S descriptors may then name it, so the slave reads another
// peer's buffers in place (memif.md §11.1 A). Stock libmemif peers never
// see it. The importer's mutex (leaf) serialises imports on one Conn;
// imported regions are published to the data path through an atomic
// pointer (copy on write).
//
// Linux only (memfd, eventfd, SO_PEERCRED).
package memif
