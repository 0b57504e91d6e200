package memif

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

// TxQueue is this side's producer ring: S2M on a slave, M2S on a master.
// Not safe for concurrent use.
//
// Slots are addressed relative to the publish point: slot k is the k-th
// not yet published. A slave fills its own fixed buffers and publishes by
// advancing head (§7.2); a master fills buffers the slave offered and
// publishes by advancing tail (§7.3).
type TxQueue struct {
	queue
	next uint16 // slave: our head; master: our tail
}

// Room is how many slots can be filled now: on a slave N − (head − tail),
// on a master head − tail (the buffers the slave offered). A peer index
// that breaks the ring invariants ends the link and Room returns 0.
func (q *TxQueue) Room() int {
	if q.c.down.Load() {
		return 0
	}
	if q.c.role == RoleSlave {
		tail := q.r.tail()
		used := q.next - tail
		if used > q.r.size {
			_ = q.c.violation("%s ring %d: tail %d is beyond head %d", q.dir, q.index, tail, q.next)
			return 0
		}
		return int(q.r.size - used)
	}
	head := q.r.head()
	avail := head - q.next
	if avail > q.r.size {
		_ = q.c.violation("%s ring %d: head %d is more than %d ahead of tail %d", q.dir, q.index, head, q.r.size, q.next)
		return 0
	}
	return int(avail)
}

// check validates slot k against the link and Room.
func (q *TxQueue) check(k int) error {
	if q.c.down.Load() {
		return q.c.linkErr()
	}
	if room := q.Room(); k < 0 || k >= room {
		if q.c.down.Load() {
			return q.c.linkErr()
		}
		return fmt.Errorf("%w: slot %d, room %d", ErrSlot, k, room)
	}
	return nil
}

// Buffer returns the whole buffer of the k-th unpublished slot
// (0 ≤ k < Room()). On a master its capacity is the length the slave
// offered, after checking the descriptor lies inside a region.
func (q *TxQueue) Buffer(k int) ([]byte, error) {
	if err := q.check(k); err != nil {
		return nil, err
	}
	slot := q.next + uint16(k)
	if q.c.role == RoleSlave {
		return q.slotBuf(slot), nil
	}
	d := q.r.getDesc(slot)
	b, ok := q.c.bufAt(d.Region, d.Offset, d.Length)
	if !ok {
		return nil, q.c.violation("%s ring %d slot %d: region %d offset %d length %d outside the regions",
			q.dir, q.index, slot&q.r.mask, d.Region, d.Offset, d.Length)
	}
	return b, nil
}

// SetLength sets the data length of slot k and whether the packet
// continues in slot k+1 (the NEXT flag).
func (q *TxQueue) SetLength(k int, n int, next bool) error {
	if err := q.check(k); err != nil {
		return err
	}
	slot := q.next + uint16(k)
	var flags uint16
	if next {
		flags = DescFlagNext
	}
	if q.c.role == RoleSlave {
		if n < 0 || uint64(n) > uint64(q.bufSize) {
			return fmt.Errorf("%w: %d bytes, buffer holds %d", ErrLength, n, q.bufSize)
		}
		// The whole descriptor from our record: whatever the master may
		// have scribbled into region or offset is overwritten.
		d := q.slotDesc(slot)
		d.Length, d.Flags = uint32(n), flags
		q.r.putDesc(slot, d)
		return nil
	}
	if d := q.r.getDesc(slot); n < 0 || uint64(n) > uint64(d.Length) {
		return fmt.Errorf("%w: %d bytes, slot offers %d", ErrLength, n, d.Length)
	}
	q.r.putLength(slot, uint32(n), flags)
	return nil
}

// Publish hands the first n prepared slots to the peer (release-store of
// head on a slave, tail on a master) and signals the ring's eventfd unless
// the peer set MASK_INT.
func (q *TxQueue) Publish(n int) error {
	if n == 0 {
		return nil
	}
	if err := q.check(n - 1); err != nil {
		return err
	}
	q.next += uint16(n)
	if q.c.role == RoleSlave {
		q.r.setHead(q.next)
	} else {
		q.r.setTail(q.next)
	}
	// Read flags after the index store (both are sequentially consistent):
	// a consumer that clears MASK_INT and then re-checks the index cannot
	// miss this publish.
	if q.r.flags()&RingFlagMaskInt == 0 {
		_ = q.ev.signal() // fails only once the link is closed
	}
	return nil
}

// Send copies p into the next slot(s), chaining with NEXT when p exceeds
// one buffer, and publishes them. ErrRingFull when there is not room for
// the whole chain: then nothing is published.
func (q *TxQueue) Send(p []byte) error {
	if q.c.down.Load() {
		return q.c.linkErr()
	}
	room := q.Room()
	if q.c.role == RoleSlave {
		need := 1
		if len(p) > 0 {
			need = (len(p) + int(q.bufSize) - 1) / int(q.bufSize)
		}
		if need > q.Size() {
			return fmt.Errorf("%w: %d bytes need %d slots, ring has %d", ErrLength, len(p), need, q.Size())
		}
		if need > room {
			return q.full()
		}
	}
	k, off := 0, 0
	for k == 0 || off < len(p) {
		if k >= room {
			return q.full()
		}
		b, err := q.Buffer(k)
		if err != nil {
			return err
		}
		n := copy(b, p[off:])
		off += n
		if n == 0 && off < len(p) {
			return q.c.violation("%s ring %d: slave offered a 0-byte buffer", q.dir, q.index)
		}
		if err := q.SetLength(k, n, off < len(p)); err != nil {
			return err
		}
		k++
	}
	return q.Publish(k)
}

func (q *TxQueue) full() error {
	if q.c.down.Load() {
		return q.c.linkErr()
	}
	return ErrRingFull
}

// WaitRoom waits until Room() ≥ n, ctx is done or the link goes down.
// memif has no "space available" signal (memif.md §7.4): it polls,
// yielding a few times, then sleeping with backoff up to 1 ms.
func (q *TxQueue) WaitRoom(ctx context.Context, n int) error {
	if n > q.Size() {
		return fmt.Errorf("%w: room for %d slots asked, ring has %d", ErrSlot, n, q.Size())
	}
	sleep := 5 * time.Microsecond
	for i := 0; ; i++ {
		if q.Room() >= n {
			return nil
		}
		if q.c.down.Load() {
			return q.c.linkErr()
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if i < 64 {
			runtime.Gosched()
			continue
		}
		time.Sleep(sleep)
		sleep = min(sleep*2, time.Millisecond)
	}
}

// Desc returns the raw descriptor of the k-th unpublished slot, as the
// ring holds it. On a master it is the slave's offer (for zero-copy
// forwarding); on a slave it is this side's record of the slot's buffer.
func (q *TxQueue) Desc(k int) Desc {
	slot := q.next + uint16(k)
	if q.c.role == RoleSlave {
		return q.slotDesc(slot)
	}
	return q.r.getDesc(slot)
}

// SetDesc writes region, offset, length and flags of the k-th unpublished
// slot (master only: the slave's descriptors are always its own record;
// on a slave it does nothing). The slave validates what it receives.
func (q *TxQueue) SetDesc(k int, d Desc) {
	if q.c.role != RoleMaster || q.c.down.Load() {
		return
	}
	q.r.putDesc(q.next+uint16(k), d)
}

// Offered is the slave's free-running count of buffers offered on a
// master's M2S ring (its head). A slave offers a slot again only after it
// is done with it, in order, so the growth of Offered counts the receiver's
// releases: what zero-copy forwarding needs, as memif never signals them
// (memif.md §11.2).
func (q *TxQueue) Offered() uint16 { return q.r.head() }
