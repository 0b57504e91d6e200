// Package pattern makes and checks the test payloads meshctl sends: the
// payload of buffer k (k = 0, 1, 2, …) is size bytes whose bytes 0–7 hold k
// as a little-endian uint64 and whose byte i ≥ 8 is (k·31 + i) & 0xff.
//
// Because byte i is (c + i) mod 256 with c = k·31 mod 256, every payload is
// a window into one precomputed ramp, so Fill and Check are a memmove and a
// memcmp: fast enough for 2160p frames at full rate, and allocation-free.
package pattern

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// HeaderSize is the number of leading bytes holding the buffer index.
const HeaderSize = 8

// Pattern fills and verifies payloads of up to Size bytes.
type Pattern struct {
	ramp []byte // ramp[j] = j & 0xff, len = size + 256
	size int
}

// New prepares a pattern for payloads of at most size bytes.
func New(size int) *Pattern {
	if size < 0 {
		size = 0
	}
	ramp := make([]byte, size+256)
	for j := range ramp {
		ramp[j] = byte(j)
	}
	return &Pattern{ramp: ramp, size: size}
}

// Size is the largest payload the pattern covers.
func (p *Pattern) Size() int { return p.size }

func (p *Pattern) window(k uint64, n int) []byte {
	c := int((k * 31) & 0xff)
	return p.ramp[c : c+n]
}

// Fill writes payload k into b (all of it; len(b) ≤ Size).
func (p *Pattern) Fill(b []byte, k uint64) {
	n := min(len(b), p.size)
	if n <= HeaderSize {
		var hdr [HeaderSize]byte
		binary.LittleEndian.PutUint64(hdr[:], k)
		copy(b[:n], hdr[:])
		return
	}
	binary.LittleEndian.PutUint64(b, k)
	copy(b[HeaderSize:n], p.window(k, n)[HeaderSize:])
}

// Index returns the buffer index in b's first bytes (0 if b is shorter).
func Index(b []byte) uint64 {
	if len(b) < HeaderSize {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// Check verifies that b is payload k of exactly want bytes.
func (p *Pattern) Check(b []byte, k uint64, want int) error {
	if len(b) != want {
		return fmt.Errorf("buffer %d: %d bytes, want %d", k, len(b), want)
	}
	if want > p.size {
		return fmt.Errorf("buffer %d: %d bytes exceed the pattern size %d", k, want, p.size)
	}
	if want >= HeaderSize {
		if got := Index(b); got != k {
			return fmt.Errorf("buffer %d: index bytes say %d", k, got)
		}
		if !bytes.Equal(b[HeaderSize:], p.window(k, want)[HeaderSize:]) {
			return fmt.Errorf("buffer %d: payload differs at byte %d", k, p.firstDiff(b, k))
		}
		return nil
	}
	var hdr [HeaderSize]byte
	binary.LittleEndian.PutUint64(hdr[:], k)
	if !bytes.Equal(b, hdr[:want]) {
		return fmt.Errorf("buffer %d: payload differs", k)
	}
	return nil
}

func (p *Pattern) firstDiff(b []byte, k uint64) int {
	w := p.window(k, len(b))
	for i := HeaderSize; i < len(b); i++ {
		if b[i] != w[i] {
			return i
		}
	}
	return -1
}
