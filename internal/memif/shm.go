package memif

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// region is one mapped shared-memory region.
type region struct {
	data []byte
	fd   int
}

func (r *region) unmap() {
	if r.data != nil {
		_ = unix.Munmap(r.data)
		r.data = nil
	}
	if r.fd >= 0 {
		_ = unix.Close(r.fd)
		r.fd = -1
	}
}

// newRegion creates a sealed memfd of size bytes and maps it, as a libmemif
// slave does (memif.md §6.1).
func newRegion(size int) (region, error) {
	fd, err := unix.MemfdCreate("memif region 0", unix.MFD_ALLOW_SEALING|unix.MFD_CLOEXEC)
	if err != nil {
		return region{fd: -1}, fmt.Errorf("memfd_create: %w", err)
	}
	r := region{fd: fd}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		r.unmap()
		return region{fd: -1}, fmt.Errorf("ftruncate %d: %w", size, err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK); err != nil {
		r.unmap()
		return region{fd: -1}, fmt.Errorf("seal: %w", err)
	}
	data, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		r.unmap()
		return region{fd: -1}, fmt.Errorf("mmap %d: %w", size, err)
	}
	r.data = data
	return r, nil
}

// mapPeerRegion maps a region a slave announced, after checking that it
// cannot shrink under us (a truncated mapping faults every reader) and is
// as large as announced (memif.md §5, §11.3 pitfall 4).
func mapPeerRegion(fd int, size uint64) (region, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return region{fd: -1}, fmt.Errorf("fstat region: %w", err)
	}
	if size == 0 || size > uint64(st.Size) || size > 1<<40 {
		return region{fd: -1}, fmt.Errorf("%w: region size %d, file holds %d", ErrProtocol, size, st.Size)
	}
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil || seals&unix.F_SEAL_SHRINK == 0 {
		return region{fd: -1}, fmt.Errorf("%w: region is not sealed against shrinking", ErrProtocol)
	}
	data, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return region{fd: -1}, fmt.Errorf("mmap region: %w", err)
	}
	return region{data: data, fd: fd}, nil
}

// eventfd is one ring's interrupt. The *os.File is registered with the Go
// runtime poller, so waits park the goroutine instead of a thread, and a
// write after Close fails cleanly instead of hitting a reused fd.
type eventfd struct {
	f   *os.File
	one [8]byte // the u64 1 a signal writes
	buf [8]byte // read scratch (the consumer only)
}

func newEventfd() (*eventfd, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	return wrapEventfd(fd), nil
}

// wrapEventfd takes ownership of fd (it is set non-blocking if needed).
func wrapEventfd(fd int) *eventfd {
	_ = unix.SetNonblock(fd, true)
	e := &eventfd{f: os.NewFile(uintptr(fd), "memif-eventfd")}
	binary.LittleEndian.PutUint64(e.one[:], 1)
	return e
}

func (e *eventfd) signal() error {
	_, err := e.f.Write(e.one[:])
	return err
}

func (e *eventfd) fd() int { return int(e.f.Fd()) }

// ring is an accessor over a ring header and its descriptors in shared
// memory (memif.md §6.2). Layout, C = cache line:
//
//	0      u32 cookie
//	4      u16 flags   (written by the ring's consumer)
//	6      u16 head    (written by the slave)
//	C      u16 tail    (written by the master)
//	2C+16i desc[i]: u16 flags, u16 region, u32 length, u32 offset, u32 metadata
//
// Go has no 16-bit atomics. flags and head share the aligned 32-bit word at
// offset 4 (flags low half, head high half) and belong to different sides
// on S2M rings, so each is updated with a 32-bit compare-and-swap that keeps
// the other half. tail is alone in its cache line: a 32-bit store with a
// zero upper half only touches padding. Go's atomics are sequentially
// consistent, which gives the release (publish) and acquire (consume)
// ordering the protocol needs: descriptors are written before the index is
// stored, and read after it is loaded.
type ring struct {
	mem   []byte // the whole ring
	word4 *uint32
	tailw *uint32
	desc  []byte
	size  uint16 // N
	mask  uint16
	log2  uint8
}

func newRing(mem []byte, cacheLine int, log2 uint8) *ring {
	n := 1 << log2
	return &ring{
		mem:   mem,
		word4: (*uint32)(unsafe.Pointer(&mem[4])),
		tailw: (*uint32)(unsafe.Pointer(&mem[cacheLine])),
		desc:  mem[2*cacheLine : 2*cacheLine+DescSize*n],
		size:  uint16(n),
		mask:  uint16(n - 1),
		log2:  log2,
	}
}

func (r *ring) cookie() uint32 { return binary.LittleEndian.Uint32(r.mem) }

func (r *ring) head() uint16  { return uint16(atomic.LoadUint32(r.word4) >> 16) }
func (r *ring) flags() uint16 { return uint16(atomic.LoadUint32(r.word4)) }
func (r *ring) tail() uint16  { return uint16(atomic.LoadUint32(r.tailw)) }

func (r *ring) setHead(h uint16) {
	for {
		old := atomic.LoadUint32(r.word4)
		if atomic.CompareAndSwapUint32(r.word4, old, old&0xffff|uint32(h)<<16) {
			return
		}
	}
}

func (r *ring) setFlags(f uint16) {
	for {
		old := atomic.LoadUint32(r.word4)
		if atomic.CompareAndSwapUint32(r.word4, old, old&0xffff0000|uint32(f)) {
			return
		}
	}
}

func (r *ring) setTail(t uint16) { atomic.StoreUint32(r.tailw, uint32(t)) }

// init writes a fresh ring header (slave, at creation).
func (r *ring) init() {
	binary.LittleEndian.PutUint32(r.mem, Cookie)
	atomic.StoreUint32(r.word4, 0)
	r.setTail(0)
}

// reset zeroes head and tail at link-up (both sides, §7.4). flags belong
// to the ring's consumer and are left alone.
func (r *ring) reset() {
	r.setHead(0)
	r.setTail(0)
}

// Desc is a ring descriptor (memif.md §6.3).
type Desc struct {
	Flags  uint16
	Region uint16
	Length uint32
	Offset uint32
}

func (r *ring) getDesc(slot uint16) Desc {
	d := r.desc[int(slot&r.mask)*DescSize:]
	return Desc{
		Flags:  binary.LittleEndian.Uint16(d[0:]),
		Region: binary.LittleEndian.Uint16(d[2:]),
		Length: binary.LittleEndian.Uint32(d[4:]),
		Offset: binary.LittleEndian.Uint32(d[8:]),
	}
}

func (r *ring) putDesc(slot uint16, v Desc) {
	d := r.desc[int(slot&r.mask)*DescSize:]
	binary.LittleEndian.PutUint16(d[0:], v.Flags)
	binary.LittleEndian.PutUint16(d[2:], v.Region)
	binary.LittleEndian.PutUint32(d[4:], v.Length)
	binary.LittleEndian.PutUint32(d[8:], v.Offset)
	binary.LittleEndian.PutUint32(d[12:], 0)
}

func (r *ring) putLength(slot uint16, n uint32, flags uint16) {
	d := r.desc[int(slot&r.mask)*DescSize:]
	binary.LittleEndian.PutUint16(d[0:], flags)
	binary.LittleEndian.PutUint32(d[4:], n)
}
