package memif

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// importer runs a master's IMPORT_REGION handshakes, one at a time: the
// control reader hands it the slave's ACK.
type importer struct {
	mu      sync.Mutex // one import in flight
	waiting atomic.Bool
	ack     chan struct{}
	count   int // regions imported so far; guarded by mu
}

// acked delivers an ACK the control reader received; false if no import
// waited for one (then the ACK is a protocol violation).
func (i *importer) acked() bool {
	if !i.waiting.CompareAndSwap(true, false) {
		return false
	}
	i.ack <- struct{}{}
	return true
}

// ImportRegion hands the slave a region it did not create (mediamesh's
// zero-copy extension, memif.md §11.1 A): fd is sent with IMPORT_REGION,
// the slave maps size bytes of it read-only and answers ACK. It returns the
// region index descriptors use to name it. Only for slaves that agreed to
// it out of band (Config.AcceptImports); fd stays the caller's.
func (c *Conn) ImportRegion(fd int, size uint64, timeout time.Duration) (uint16, error) {
	if c.role != RoleMaster {
		return 0, fmt.Errorf("%w: only a master imports regions", ErrConfig)
	}
	c.imp.mu.Lock()
	defer c.imp.mu.Unlock()
	if c.imp.ack == nil {
		c.imp.ack = make(chan struct{}, 1)
	}
	idx := len(c.regions) + c.imp.count
	if idx > 255 {
		return 0, fmt.Errorf("%w: region index %d beyond %d", ErrConfig, idx, 255)
	}
	c.imp.waiting.Store(true)
	msg := &ImportRegion{Index: uint16(idx), Size: size, Flags: ImportReadOnly}
	if err := c.cc.send(msg, fd, time.Now().Add(timeout)); err != nil {
		c.imp.waiting.Store(false)
		return 0, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.imp.ack:
		c.imp.count++
		return uint16(idx), nil
	case <-c.done:
		c.imp.waiting.Store(false)
		return 0, c.linkErr()
	case <-t.C:
		if c.imp.waiting.CompareAndSwap(true, false) {
			return 0, fmt.Errorf("%w: no ACK for IMPORT_REGION %d", ErrTimeout, idx)
		}
		<-c.imp.ack // the ACK raced the timer
		c.imp.count++
		return uint16(idx), nil
	}
}

// acceptImport maps a region the master handed over, read-only, after the
// same checks as ADD_REGION (§5): the right index, a real size, and a seal
// against shrinking, so the region's owner cannot fault our readers.
func (c *Conn) acceptImport(b []byte, fd int) error {
	var m ImportRegion
	if _, err := m.Unmarshal(b); err != nil {
		closeFD(fd)
		return err
	}
	if fd < 0 {
		return fmt.Errorf("%w: IMPORT_REGION without a memory fd", ErrProtocol)
	}
	var cur []region
	if p := c.imports.Load(); p != nil {
		cur = *p
	}
	if want := len(c.regions) + len(cur); int(m.Index) != want {
		closeFD(fd)
		return fmt.Errorf("%w: imported region index %d, want %d", ErrProtocol, m.Index, want)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || m.Size == 0 || m.Size > uint64(st.Size) || m.Size >= 1<<32 {
		closeFD(fd)
		return fmt.Errorf("%w: imported region of %d bytes, file holds %d", ErrProtocol, m.Size, st.Size)
	}
	if seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0); err != nil || seals&unix.F_SEAL_SHRINK == 0 {
		closeFD(fd)
		return fmt.Errorf("%w: imported region is not sealed against shrinking", ErrProtocol)
	}
	data, err := unix.Mmap(fd, 0, int(m.Size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		closeFD(fd)
		return fmt.Errorf("map imported region: %w", err)
	}
	next := make([]region, len(cur), len(cur)+1)
	copy(next, cur)
	next = append(next, region{data: data, fd: fd})
	c.imports.Store(&next)
	return c.cc.send(&Ack{}, -1, time.Now().Add(time.Second))
}

// ReopenReadOnly opens a second, read-only descriptor of the file behind fd
// (memif.md §11.3 pitfall 3): a receiver mapping it cannot write the
// sender's frames, nor mprotect its mapping writable. The caller closes it.
func ReopenReadOnly(fd int) (int, error) {
	ro, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("reopen region read-only: %w", err)
	}
	return ro, nil
}

// Disconnect ends the link with a reason for the peer but, unlike Close,
// unmaps nothing: it is safe while another goroutine still owns the
// queues, which from now on refuse work. The owner calls Close later.
// Zero-copy forwarding uses it to cut off a receiver that pins a sender's
// buffers for too long (memif.md §11.3 pitfall 2).
func (c *Conn) Disconnect(reason string) {
	if !c.down.Load() {
		c.cc.sendDisconnect(reason)
	}
	c.fail(&DisconnectError{Reason: reason})
}

// Data returns the bytes a descriptor from NextDesc names (already
// validated by it; nil if not).
func (q *RxQueue) Data(d Desc) []byte {
	b, _ := q.c.bufAt(d.Region, d.Offset, d.Length)
	return b
}
