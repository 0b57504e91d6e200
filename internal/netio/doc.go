// Package netio is kernel UDP for ST 2110: batched, offloaded, allocation
// free. A 1080p59.94 stream is ~250 000 packets/s (st2110.md §5), so the
// cost is syscalls, not bytes; netio spends as few as the kernel allows.
//
// # Concept
//
// Listen opens a receiving socket, Dial a sending one connected to its
// destination; both are IPv4 only. The caller owns the scratch: a Batch
// (send) or RecvBatch (receive) preallocates every iovec, message header,
// name and control buffer once, and the data path then reuses it.
//
// Sending (Conn.Send) has three modes over one Batch:
//
//   - SendGSO: runs of equal-size packets become UDP_SEGMENT
//     super-datagrams (kernel ≥ 4.18), cut by the kernel, or the NIC,
//     into segments of that size, only the last of a run shorter; at most
//     64 segments and 65 507 bytes per run. All runs of a batch go out in
//     one sendmmsg.
//   - SendMmsg: one sendmmsg for the batch.
//   - SendEach: one sendmsg per packet, the baseline.
//
// Receiving (Conn.Recv) is one recvmmsg per call. With UDP_GRO (kernel
// ≥ 5.0) one Message may hold several datagrams of one flow, SegSize
// bytes each but the last; Message.Segment splits it without copying.
// SO_RXQ_OVFL counts the datagrams the kernel dropped on a full buffer,
// SO_TIMESTAMPNS gives arrival times for the ST 2110-21 check (§6), and
// SO_TXTIME carries launch times for an etf qdisc (§6).
//
// Multicast (§11): a receiver binds to the group itself, not 0.0.0.0, and
// sets IP_MULTICAST_ALL=0, so it sees only the group it joined; the join
// is any-source (IP_ADD_MEMBERSHIP) or source-specific
// (IP_ADD_SOURCE_MEMBERSHIP, IGMPv3). Senders set IP_MULTICAST_IF, TTL
// and LOOP. Config.Interface names the interface by address, as
// media-proxy's -i does; InterfaceByIP explains a wrong one.
//
// # Invariants
//
//   - Every syscall runs in a syscall.RawConn callback on a nonblocking
//     socket registered with the runtime poller: EAGAIN parks the
//     goroutine, not the thread; Close wakes it with net.ErrClosed;
//     deadlines work. Once Close returns, no call is inside the kernel on
//     the fd.
//   - Send and Recv allocate nothing: the callbacks are method values
//     bound in NewBatch/NewRecvBatch, the state they need lives in the
//     batch, and control messages are encoded and parsed in place. Both
//     are shown by benchmarks and AllocsPerRun tests.
//   - Nothing is copied on send: iovecs point at the caller's header and
//     payload, which may be shared memory, until Reset.
//   - The control-message and sockaddr parsers never read outside their
//     input, whatever it holds (fuzzed).
//   - GSO is probed at Dial; the first send that fails with EIO (the
//     route cannot segment: IPsec, UDP-Lite) turns it off for the socket,
//     re-sends with sendmmsg and reports ErrGSODisabled once, as
//     wireguard-go does (conn/errors_linux.go).
//   - unsafe is confined to syscall_linux.go (the pointers handed to the
//     batch syscalls), with the audit argument written there.
//
// # Kernel behaviour worth knowing
//
//   - A multicast receiver that shares its group and port (ReusePort)
//     gets SO_REUSEADDR but not SO_REUSEPORT: with SO_REUSEPORT, Linux
//     6.18 was seen delivering another source's datagrams into a
//     source-specific socket (a datagram that exactly one socket admits
//     is early-demuxed, then re-steered within the reuseport group,
//     skipping the source filter and join interface). This matters for
//     ST 2022-7 legs joined on two interfaces.
//   - Over loopback and veth a GSO super-datagram stays whole up to the
//     receiving socket: with GRO on it arrives as one Message, without
//     GRO the kernel segments it there.
//   - SO_RXQ_OVFL rides on datagrams queued after a drop, so the count
//     shows with the next datagram received.
//   - Caps buffer sizes are the kernel's figures: twice the request.
//
// # Goroutines and locks
//
// The package starts no goroutines. Conn is safe for concurrent Send,
// Recv, Stats and Close, each call with its own Batch or RecvBatch;
// counters are atomics. The one mutex, errQueue.mu, is a leaf held only
// by Stats while it drains the error queue of a TxTime socket.
//
// Linux only; elsewhere Listen and Dial return ErrUnsupported.
package netio
