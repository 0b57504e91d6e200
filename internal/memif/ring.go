package memif

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
)

// ring is the one accessor over a ring header and its descriptors in
// shared memory (memif.md §6.2, §6.3); all unsafe use of the package is
// here. Layout, C = cache line:
//
//	0       u32 cookie 0x03E31F20
//	4       u16 flags (bit 0 MASK_INT)   written by the ring's consumer
//	6       u16 head                     written by the slave
//	C       u16 tail                     written by the master
//	2C+16i  desc[i]: u16 flags, u16 region, u32 length, u32 offset, u32 metadata
//
// Go has no 16-bit atomics (memif.md §7.5). flags and head share the
// aligned 32-bit word at offset 4 (little-endian: flags the low half, head
// the high half) and belong to different sides on S2M rings, so each is
// written with a 32-bit compare-and-swap loop that keeps the other half.
// tail is alone in its cache line: a 32-bit store with a zero upper half
// only touches padding.
//
// Ordering. A producer writes the buffer and the descriptor with plain
// stores, then stores the index atomically; a consumer loads the index
// atomically, then reads descriptors and buffers. Go's sync/atomic
// operations are sequentially consistent: on amd64 CAS is LOCK CMPXCHG and
// the store XCHG (full barriers), loads are plain MOVs under TSO; on arm64
// stores are STLR (release) and loads LDAR (acquire). Either way the index
// store is a release and the load an acquire, which pairs with VPP's
// __atomic release/acquire and libmemif's full barrier. The peer is
// another process, so the Go memory model's scope is the hardware's here;
// the race detector does not track mmapped memory.
//
// The ring header offset is checked to be 4-aligned before a ring is built
// (region mappings are page-aligned), so the atomic words are aligned.
type ring struct {
	mem   []byte  // header and descriptors
	word4 *uint32 // flags | head<<16
	tailw *uint32 // tail in the low half
	desc  []byte  // N descriptors
	size  uint16  // N = 2^log2 ≤ 16384
	mask  uint16
	log2  uint8
}

// newRing addresses a ring at the start of mem, which must hold
// ringBytes(cacheLine, log2) bytes at a 4-aligned address.
func newRing(mem []byte, cacheLine int, log2 uint8) *ring {
	n := 1 << log2
	mem = mem[:ringBytes(cacheLine, log2):ringBytes(cacheLine, log2)]
	return &ring{
		mem:   mem,
		word4: (*uint32)(unsafe.Pointer(&mem[4])),
		tailw: (*uint32)(unsafe.Pointer(&mem[cacheLine])),
		desc:  mem[2*cacheLine:],
		size:  uint16(n),
		mask:  uint16(n - 1),
		log2:  log2,
	}
}

func (r *ring) cookie() uint32 { return binary.LittleEndian.Uint32(r.mem[0:]) }

// head is an acquire load of the slave's index.
func (r *ring) head() uint16 { return uint16(atomic.LoadUint32(r.word4) >> 16) }

// flags is an acquire load of the consumer's flags.
func (r *ring) flags() uint16 { return uint16(atomic.LoadUint32(r.word4)) }

// tail is an acquire load of the master's index.
func (r *ring) tail() uint16 { return uint16(atomic.LoadUint32(r.tailw)) }

// setHead release-stores head, keeping the flags half.
func (r *ring) setHead(h uint16) {
	for {
		old := atomic.LoadUint32(r.word4)
		if atomic.CompareAndSwapUint32(r.word4, old, old&0xffff|uint32(h)<<16) {
			return
		}
	}
}

// setFlags stores flags, keeping the head half.
func (r *ring) setFlags(f uint16) {
	for {
		old := atomic.LoadUint32(r.word4)
		if atomic.CompareAndSwapUint32(r.word4, old, old&0xffff0000|uint32(f)) {
			return
		}
	}
}

// setTail release-stores tail; the upper half is padding.
func (r *ring) setTail(t uint16) { atomic.StoreUint32(r.tailw, uint32(t)) }

// create writes a fresh header (slave, at creation, §6.4).
func (r *ring) create() {
	binary.LittleEndian.PutUint32(r.mem[0:], Cookie)
	atomic.StoreUint32(r.word4, 0)
	r.setTail(0)
}

// reset zeroes head and tail at link-up (both sides, §7.4); flags belong
// to the ring's consumer and are left alone.
func (r *ring) reset() {
	r.setHead(0)
	r.setTail(0)
}

// Desc is a ring descriptor (memif.md §6.3). The u32 metadata word is
// unused by both implementations and written as 0.
type Desc struct {
	Flags  uint16 // DescFlagNext
	Region uint16
	Length uint32 // data bytes, or capacity when offered empty (M2S)
	Offset uint32 // buffer offset inside the region
}

// Descriptor field offsets.
const (
	descFlagsOffset    = 0
	descRegionOffset   = 2
	descLengthOffset   = 4
	descOffsetOffset   = 8
	descMetadataOffset = 12
)

// getDesc copies slot's descriptor out of shared memory: validate the
// copy, never the live bytes the peer may still change.
func (r *ring) getDesc(slot uint16) Desc {
	d := r.desc[int(slot&r.mask)*DescSize:][:DescSize]
	return Desc{
		Flags:  binary.LittleEndian.Uint16(d[descFlagsOffset:]),
		Region: binary.LittleEndian.Uint16(d[descRegionOffset:]),
		Length: binary.LittleEndian.Uint32(d[descLengthOffset:]),
		Offset: binary.LittleEndian.Uint32(d[descOffsetOffset:]),
	}
}

func (r *ring) putDesc(slot uint16, v Desc) {
	d := r.desc[int(slot&r.mask)*DescSize:][:DescSize]
	binary.LittleEndian.PutUint16(d[descFlagsOffset:], v.Flags)
	binary.LittleEndian.PutUint16(d[descRegionOffset:], v.Region)
	binary.LittleEndian.PutUint32(d[descLengthOffset:], v.Length)
	binary.LittleEndian.PutUint32(d[descOffsetOffset:], v.Offset)
	binary.LittleEndian.PutUint32(d[descMetadataOffset:], 0)
}

// putLength writes what a master sets when filling an offered M2S slot
// (§7.3): length and flags; region and offset stay the slave's.
func (r *ring) putLength(slot uint16, n uint32, flags uint16) {
	d := r.desc[int(slot&r.mask)*DescSize:][:DescSize]
	binary.LittleEndian.PutUint16(d[descFlagsOffset:], flags)
	binary.LittleEndian.PutUint32(d[descLengthOffset:], n)
}
