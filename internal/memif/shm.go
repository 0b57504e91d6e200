package memif

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// regionName is what libmemif names every region memfd (memif.md §6.1);
// it shows in /proc/<pid>/maps as "/memfd:memif region 0".
const regionName = "memif region 0"

// maxRegionSize bounds what a master maps: descriptors address u32 offsets
// (memif.md §9), so anything past 4 GiB is unreachable.
const maxRegionSize = 1 << 32

// region is one mapped shared-memory region and its memfd.
type region struct {
	data []byte
	fd   int
}

// release unmaps and closes; safe to call twice.
func (r *region) release() {
	if r.data != nil {
		_ = unix.Munmap(r.data)
		r.data = nil
	}
	if r.fd >= 0 {
		_ = unix.Close(r.fd)
		r.fd = -1
	}
}

// newRegion creates a memfd of size bytes sealed against shrinking and maps
// it read-write shared, as a libmemif slave does (memif.md §6.1).
func newRegion(size int) (region, error) {
	fd, err := unix.MemfdCreate(regionName, unix.MFD_ALLOW_SEALING|unix.MFD_CLOEXEC)
	if err != nil {
		return region{fd: -1}, fmt.Errorf("memfd_create: %w", err)
	}
	r := region{fd: fd}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		r.release()
		return region{fd: -1}, fmt.Errorf("ftruncate %d: %w", size, err)
	}
	// The seal is what lets a master map our memory without fearing a
	// SIGBUS from a later truncation (memif.md §7.5, §11.3 pitfall 4).
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK); err != nil {
		r.release()
		return region{fd: -1}, fmt.Errorf("seal: %w", err)
	}
	data, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		r.release()
		return region{fd: -1}, fmt.Errorf("mmap %d bytes: %w", size, err)
	}
	r.data = data
	return r, nil
}

// checkPeerRegion validates a region fd a slave announced (memif.md §5
// "advice for Go"): the announced size is positive, within the file, and
// the file cannot shrink under our mapping. It returns a reason for the
// peer, or "".
func checkPeerRegion(fd int, index uint16, size uint64) string {
	if size == 0 {
		return fmt.Sprintf("region %d: size 0", index)
	}
	if size > maxRegionSize {
		return fmt.Sprintf("region %d: size %d above 4 GiB", index, size)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Sprintf("region %d: fstat: %v", index, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Sprintf("region %d: fd is not a memory file", index)
	}
	if size > uint64(st.Size) {
		return fmt.Sprintf("region %d: size %d exceeds the file's %d bytes", index, size, st.Size)
	}
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil || seals&unix.F_SEAL_SHRINK == 0 {
		return fmt.Sprintf("region %d: not sealed against shrinking", index)
	}
	return ""
}

// mapRegion maps a checked peer region read-write shared; it takes
// ownership of fd only on success.
func mapRegion(fd int, size uint64) (region, error) {
	data, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return region{fd: -1}, fmt.Errorf("mmap region: %w", err)
	}
	return region{data: data, fd: fd}, nil
}

// eventfd is one ring's interrupt. It lives in an *os.File registered with
// the runtime poller: a wait parks the goroutine, not a thread (STYLE §8),
// a Close wakes a blocked reader, and a write after Close fails cleanly
// instead of hitting a reused fd number.
type eventfd struct {
	f  *os.File
	rc syscall.RawConn // for allocation-free reads

	one [8]byte // the u64 1 a signal writes

	// Consumer-only scratch, used by tryRead under rc.Read.
	buf    [8]byte
	readFn func(uintptr) bool // tryRead bound once: no closure per wait
}

func newEventfd() (*eventfd, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	return wrapEventfd(fd)
}

// isEventfd reports whether fd is an eventfd: a peer could hand over any
// fd in ADD_RING, and waiting on a socket or file would misbehave.
func isEventfd(fd int) bool {
	link, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	return err == nil && link == "anon_inode:[eventfd]"
}

// wrapEventfd takes ownership of fd, also on error.
func wrapEventfd(fd int) (*eventfd, error) {
	// Non-blocking before os.NewFile, which then registers the fd with the
	// poller. A slave's eventfd already is (EFD_NONBLOCK); the flag lives
	// in the shared file description, so setting it again is harmless.
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("eventfd nonblock: %w", err)
	}
	e := &eventfd{f: os.NewFile(uintptr(fd), "memif-eventfd")}
	rc, err := e.f.SyscallConn()
	if err != nil {
		_ = e.f.Close()
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	e.rc = rc
	binary.LittleEndian.PutUint64(e.one[:], 1)
	e.readFn = e.tryRead
	return e, nil
}

// signal adds 1 to the counter (memif.md §7.4). No allocation on success.
func (e *eventfd) signal() error {
	_, err := e.f.Write(e.one[:])
	return err
}

// tryRead reads (and so clears) the counter; false means "nothing yet,
// wait for readability".
func (e *eventfd) tryRead(fd uintptr) bool {
	for {
		_, err := unix.Read(int(fd), e.buf[:])
		switch err {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		return true
	}
}

// wait blocks until the counter is non-zero (and clears it), the read
// deadline set on f passes, or f is closed.
func (e *eventfd) wait() error { return e.rc.Read(e.readFn) }

func (e *eventfd) close() { _ = e.f.Close() }
