package netio

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The package's only unsafe code: the four batch syscalls x/sys/unix does
// not wrap without allocating. Audit notes, which hold for each:
//
//   - uintptr(unsafe.Pointer(p)) appears in the argument list of
//     unix.Syscall/Syscall6, which are assembly functions: the compiler
//     then keeps the pointed-to object alive and in place until the call
//     returns (unsafe.Pointer rule 4). Never convert earlier.
//   - The headers and everything they point to (iovecs, names, control
//     buffers, packet bytes) are reached from a Batch or RecvBatch the
//     caller holds across the call, through ordinary typed Go pointers, so
//     the GC sees them; packet bytes may also be non-Go memory (a mapped
//     memif region), which the GC ignores.
//   - The socket is nonblocking and the calls are made from a
//     syscall.RawConn callback, so they never park the thread: EAGAIN goes
//     back to the runtime poller.
//   - The kernel writes only inside the lengths the headers declare
//     (iov_len, msg_namelen, msg_controllen), all of which the caller set
//     from the lengths of the Go slices behind them.

// sendmsg sends one message (sendmsg(2)) and returns the bytes sent.
func sendmsg(fd uintptr, h *unix.Msghdr) (int, syscall.Errno) {
	r, _, e := unix.Syscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(h)), 0)
	return int(r), e
}

// sendmmsg sends the messages of m (sendmmsg(2)) and returns how many went.
func sendmmsg(fd uintptr, m []unix.Mmsghdr) (int, syscall.Errno) {
	r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), 0, 0, 0)
	return int(r), e
}

// recvmmsg receives into the messages of m (recvmmsg(2), no timeout) and
// returns how many were filled.
func recvmmsg(fd uintptr, m []unix.Mmsghdr) (int, syscall.Errno) {
	r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), 0, 0, 0)
	return int(r), e
}

// recvmsg receives one message (recvmsg(2)) with flags.
func recvmsg(fd uintptr, h *unix.Msghdr, flags int) (int, syscall.Errno) {
	r, _, e := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(h)), uintptr(flags))
	return int(r), e
}
