package netio

// Kernel limits a GSO send must respect.
const (
	// maxGSOSegments is UDP_MAX_SEGMENTS (include/linux/udp.h): 64 on 6.1;
	// later kernels accept more, none fewer.
	maxGSOSegments = 64
	// maxGSOBytes is the largest UDP payload of one super-datagram: the
	// IPv4 total length is 16 bits, less 20 bytes of IP and 8 of UDP
	// header (__ip_append_data answers EMSGSIZE past it).
	maxGSOBytes = 0xFFFF - 20 - 8
	// maxIov is UIO_MAXIOV: the iovecs of one message, and the messages of
	// one sendmmsg/recvmmsg (the kernel silently caps vlen there).
	maxIov = 1024
)

// Batch is caller-owned send scratch: up to maxPackets packets of up to
// maxPartsPerPacket parts each. Everything (iovecs, message headers,
// control space) is allocated by NewBatch; Add, Reset and Conn.Send
// allocate nothing. Nothing is copied: a part's bytes must stay unchanged
// until Send returns. A Batch is used by one goroutine at a time.
type Batch struct {
	maxParts int
	n        int     // packets added
	nIov     int     // non-empty parts added, over all packets
	first    []int32 // packet i's parts are iovecs first[i]:first[i+1]
	size     []int   // bytes per packet
	at       []int64 // per-packet launch time (TAI ns), 0 = the Send's
	sys      batchSys
}

// NewBatch returns a Batch for maxPackets packets (at least 1, at most
// 1024, the kernel's sendmmsg limit) of up to maxPartsPerPacket parts
// (at least 2, so Add always fits).
func NewBatch(maxPackets, maxPartsPerPacket int) *Batch {
	maxPackets = min(max(maxPackets, 1), maxIov)
	maxPartsPerPacket = min(max(maxPartsPerPacket, 2), maxIov)
	b := &Batch{
		maxParts: maxPartsPerPacket,
		first:    make([]int32, maxPackets+1),
		size:     make([]int, maxPackets),
		at:       make([]int64, maxPackets),
	}
	b.sys.init(maxPackets, maxPackets*maxPartsPerPacket)
	return b
}

// Reset empties the batch and drops its references to the added bytes.
func (b *Batch) Reset() {
	b.sys.clear(b.nIov)
	b.n, b.nIov = 0, 0
}

// Len returns the number of packets added.
func (b *Batch) Len() int { return b.n }

// Add appends one packet made of hdr followed by payload (either may be
// empty; payload may alias shared memory). It reports false, adding
// nothing, when the batch is full.
func (b *Batch) Add(hdr, payload []byte) bool {
	return b.add(0, [][]byte{hdr, payload})
}

// AddAt is Add with the packet's own launch time (TAI ns), which overrides
// Send's txTime when the Conn has TxTime on. A GSO run only joins packets
// with equal launch times.
func (b *Batch) AddAt(hdr, payload []byte, at int64) bool {
	return b.add(at, [][]byte{hdr, payload})
}

// AddParts appends one packet made of the concatenated parts, with launch
// time at (0 = Send's). It reports false, adding nothing, when the batch is
// full or the packet has more non-empty parts than maxPartsPerPacket.
func (b *Batch) AddParts(at int64, parts ...[]byte) bool {
	return b.add(at, parts)
}

func (b *Batch) add(at int64, parts [][]byte) bool {
	if b.n == len(b.size) {
		return false
	}
	k, size := 0, 0
	for _, p := range parts {
		if len(p) > 0 {
			k++
			size += len(p)
		}
	}
	if k > b.maxParts {
		return false
	}
	for _, p := range parts {
		if len(p) > 0 {
			b.sys.setIov(b.nIov, p)
			b.nIov++
		}
	}
	b.size[b.n], b.at[b.n] = size, at
	b.n++
	b.first[b.n] = int32(b.nIov)
	return true
}

// gsoRun returns the end (exclusive) of the GSO run starting at packet i
// and its segment size. A run is packets of size seg, optionally closed by
// one shorter non-empty packet — the kernel cuts a super-datagram every
// seg bytes and only the last piece may be short (udp_send_skb) — with one
// launch time, within the segment, byte and iovec limits. A run of one
// is sent without UDP_SEGMENT.
func (b *Batch) gsoRun(i int) (end, seg int) {
	seg, end = b.size[i], i+1
	if seg == 0 || seg > maxGSOBytes {
		return end, seg
	}
	total := seg
	for end < b.n && end-i < maxGSOSegments && b.at[end] == b.at[i] {
		s := b.size[end]
		if s == 0 || s > seg || total+s > maxGSOBytes || int(b.first[end+1]-b.first[i]) > maxIov {
			break
		}
		total += s
		end++
		if s < seg {
			break
		}
	}
	return end, seg
}
