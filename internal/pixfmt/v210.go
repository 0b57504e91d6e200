package pixfmt

import "encoding/binary"

// V210 ↔ 10-bit pgroups. A v210 group holds its 12 samples in the very
// order the wire carries them (Cb0 Y0 Cr0 | Y1 Cb1 Y2 | Cr1 Y3 Cb2 |
// Y4 Cr2 Y5 across the words w0..w3, st2110.md §4), three to a word from
// the least significant bits up, while the wire runs most significant bit
// first. So a whole group is: reverse the three 10-bit fields of each word,
// then concatenate the four 30-bit words into 120 bits = 15 bytes, which
// is exactly 3 pgroups. Pgroup j of a group is samples 4j..4j+3.

const (
	m30 = 1<<30 - 1 // one v210 word's three samples
	// Masks for reversing the fields of two words held in one uint64.
	rev3Ends = 0x000003FF_000003FF // fields 0 and (after >>20) field 2
	rev3Mid  = 0x000FFC00_000FFC00 // field 1 stays put
)

// rev3 swaps fields 0 and 2 (bits 0-9 and 20-29) of both 32-bit halves
// of x and clears bits 30-31; it is its own inverse on 30-bit halves.
func rev3(x uint64) uint64 {
	return (x&rev3Ends)<<20 | x&rev3Mid | x>>20&rev3Ends
}

// packV210Groups converts whole v210 groups, 16 bytes of src to 15 of
// dst each, for as many as both hold: two groups a step (measured ~10 %
// faster than one), an odd last group through a zero-padded copy.
func packV210Groups(dst, src []byte) {
	n := min(len(dst)/(v210PGroups*pgroup10Bytes), len(src)/v210Bytes)
	pairs := n / 2
	packV210Pairs(dst, src, pairs)
	if n%2 != 0 {
		var st [2 * v210Bytes]byte
		var dt [2 * v210PGroups * pgroup10Bytes]byte
		copy(st[:], src[pairs*2*v210Bytes:n*v210Bytes])
		packV210Pairs(dt[:], st[:], 1)
		copy(dst[pairs*len(dt):], dt[:len(dt)/2])
	}
}

// packV210Pairs converts n pairs of v210 groups (32 bytes to 30).
func packV210Pairs(dst, src []byte, n int) {
	for j := range n {
		s := src[32*j : 32*j+32 : 32*j+32]
		d := dst[30*j : 30*j+30 : 30*j+30]
		// The 120 bits r0 r1 r2 r3 of a group go out as two overlapping
		// 8-byte stores, bytes 0-7 and 7-14, which agree on byte 7.
		a := rev3(binary.LittleEndian.Uint64(s[0:8]))  // r0 | r1<<32
		b := rev3(binary.LittleEndian.Uint64(s[8:16])) // r2 | r3<<32
		r1, r2 := a>>32, b&m30
		binary.BigEndian.PutUint64(d[0:8], a<<34|r1<<4|r2>>26)
		binary.BigEndian.PutUint64(d[7:15], r1<<60|r2<<30|b>>32)
		a = rev3(binary.LittleEndian.Uint64(s[16:24]))
		b = rev3(binary.LittleEndian.Uint64(s[24:32]))
		r1, r2 = a>>32, b&m30
		binary.BigEndian.PutUint64(d[15:23], a<<34|r1<<4|r2>>26)
		binary.BigEndian.PutUint64(d[22:30], r1<<60|r2<<30|b>>32)
	}
}

// unpackV210Groups is the inverse of packV210Groups, one group a step: as
// in planar.go the index loop re-slices once per group (one bounds check
// per slice), which measured faster here than pairs or 16-group chunks.
func unpackV210Groups(dst, src []byte) {
	for j := range min(len(dst)/v210Bytes, len(src)/(v210PGroups*pgroup10Bytes)) {
		s := src[15*j : 15*j+15 : 15*j+15]
		d := dst[16*j : 16*j+16 : 16*j+16]
		hi := binary.BigEndian.Uint64(s[0:8])  // r0, r1, top 4 bits of r2
		lo := binary.BigEndian.Uint64(s[7:15]) // low 4 bits of r1, r2, r3
		binary.LittleEndian.PutUint64(d[0:8], rev3(hi>>34|(hi>>4&m30)<<32))
		binary.LittleEndian.PutUint64(d[8:16], rev3(lo>>30&m30|(lo&m30)<<32))
	}
}

// packV210 writes the len(dst)/5 pgroups of frame that start at pgroup
// first. Partial groups at either end are read sample by sample.
func packV210(dst, frame []byte, first int) {
	k, n := first, len(dst)/pgroup10Bytes
	for ; n > 0 && k%v210PGroups != 0; k, n = k+1, n-1 {
		put40(dst, v210PGroup(frame[k/v210PGroups*v210Bytes:], k%v210PGroups))
		dst = dst[pgroup10Bytes:]
	}
	groups := n / v210PGroups
	g0 := k / v210PGroups * v210Bytes
	src := frame[g0 : g0+groups*v210Bytes]
	wire := dst[:groups*v210PGroups*pgroup10Bytes]
	packV210Groups(wire, src)
	k, n = k+groups*v210PGroups, n-groups*v210PGroups
	dst = dst[groups*v210PGroups*pgroup10Bytes:]
	for ; n > 0; k, n = k+1, n-1 {
		put40(dst, v210PGroup(frame[k/v210PGroups*v210Bytes:], k%v210PGroups))
		dst = dst[pgroup10Bytes:]
	}
}

// unpackV210 writes the len(src)/5 pgroups of src into frame from pgroup
// first on. In a partial group at either end only the samples of the
// pgroups in range change (read-modify-write of the words).
func unpackV210(frame, src []byte, first int) {
	k, n := first, len(src)/pgroup10Bytes
	for ; n > 0 && k%v210PGroups != 0; k, n = k+1, n-1 {
		setV210PGroup(frame[k/v210PGroups*v210Bytes:], k%v210PGroups, get40(src))
		src = src[pgroup10Bytes:]
	}
	groups := n / v210PGroups
	g0 := k / v210PGroups * v210Bytes
	dst := frame[g0 : g0+groups*v210Bytes]
	wire := src[:groups*v210PGroups*pgroup10Bytes]
	unpackV210Groups(dst, wire)
	k, n = k+groups*v210PGroups, n-groups*v210PGroups
	src = src[groups*v210PGroups*pgroup10Bytes:]
	for ; n > 0; k, n = k+1, n-1 {
		setV210PGroup(frame[k/v210PGroups*v210Bytes:], k%v210PGroups, get40(src))
		src = src[pgroup10Bytes:]
	}
}

// v210Sample returns sample i (0-11, wire order) of the group g.
func v210Sample(g []byte, i int) uint64 {
	return uint64(binary.LittleEndian.Uint32(g[i/3*4:])) >> (i % 3 * 10) & m10
}

// v210PGroup returns pgroup j (0-2) of the group g as a 40-bit value.
func v210PGroup(g []byte, j int) uint64 {
	i := 4 * j
	return v210Sample(g, i)<<30 | v210Sample(g, i+1)<<20 | v210Sample(g, i+2)<<10 | v210Sample(g, i+3)
}

// setV210PGroup stores the 40-bit pgroup p as pgroup j (0-2) of the group
// g, leaving its other samples as they are.
func setV210PGroup(g []byte, j int, p uint64) {
	for s := range 4 {
		i := 4*j + s
		w, sh := g[i/3*4:], uint(i%3*10)
		v := uint32(p>>(30-10*s)) & m10
		binary.LittleEndian.PutUint32(w, binary.LittleEndian.Uint32(w)&^(m10<<sh)|v<<sh)
	}
}
