package memif

import "golang.org/x/sys/unix"

// Prefault makes every buffer this queue can fill now resident and mapped
// writable, so the first frames do not pay a page fault per 4 KiB (an
// 8 MiB frame is 2048 faults: enough, at link-up, to fall behind a 60 fps
// stream). Only the slots this side will write are touched: MCM's SDK
// creates rings of both directions, and populating the unused half would
// waste memory. Falls back to touching one byte per page on kernels
// without MADV_POPULATE_WRITE (before 5.14).
func (q *TxQueue) Prefault() {
	for k := range q.Room() {
		b, err := q.Buffer(k)
		if err != nil || len(b) == 0 {
			return
		}
		populate(b)
	}
}

func populate(b []byte) {
	const page = 4096
	// madvise wants a page-aligned start: widen to the page boundary is not
	// possible from a slice, so advise the aligned interior and touch the
	// edges by hand.
	if err := unix.Madvise(alignedInterior(b, page), unix.MADV_POPULATE_WRITE); err == nil {
		touch(b[:min(len(b), page)], page)
		touch(b[max(0, len(b)-page):], page)
		return
	}
	touch(b, page)
}

// touch writes each page's first byte back to itself: a write fault that
// allocates the page without changing the data.
func touch(b []byte, page int) {
	for i := 0; i < len(b); i += page {
		storeByte(&b[i], b[i])
	}
}

// storeByte is not inlined so the compiler cannot fold "b[i] = b[i]" into
// nothing: the store, and so the write fault, must happen.
//
//go:noinline
func storeByte(p *byte, v byte) { *p = v }
