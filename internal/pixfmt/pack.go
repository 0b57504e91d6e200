package pixfmt

import "fmt"

// Sizes of the units each layout is made of (st2110.md §4).
const (
	pgroup10Bytes = 5  // 4:2:2 10-bit pgroup: Cb Y0 Cr Y1, 40 bits
	pgroup8Bytes  = 4  // 4:2:2 8-bit pgroup (UYVY)
	v210Pixels    = 6  // pixels of one v210 group
	v210Bytes     = 16 // bytes of one v210 group: 4 LE uint32 words
	v210PGroups   = v210Pixels / 2
)

// Pack writes pgroups [first, first+n) of the frame src (layout f,
// `pixels` = width*height pixels) to dst in wire order (n*PGroupBytes
// bytes). For PGroup10/PGroup8 it is a copy. It returns ErrShort (wrapped
// with got/need) when src or dst is too small or the range lies outside the
// frame, ErrGeometry for a pixel count f cannot hold, ErrFormat for an
// unknown f; it never panics and writes nothing on error. Samples are
// masked to 10 bits, so stray high bits in an app's planar buffer cannot
// corrupt their neighbours on the wire.
func Pack(f Format, dst, src []byte, pixels, first, n int) error {
	wire, frame, err := span(f, dst, src, pixels, first, n, "dst", "src")
	if err != nil {
		return err
	}
	pgb := f.PGroupBytes()
	wire = wire[:n*pgb]
	switch f {
	case PGroup10, PGroup8:
		copy(wire, frame[first*pgb:(first+n)*pgb])
	case YUV422P10LE:
		y, u, v := planes(frame, pixels, first, n)
		packPlanar(wire, y, u, v)
	case V210:
		packV210(wire, frame, first)
	}
	return nil
}

// Unpack is the inverse of Pack: it writes n wire pgroups from src into
// the frame dst (layout f, `pixels` pixels) starting at pgroup index
// first. Packets from real senders start and end at any pgroup, so for
// V210 a range may begin or end inside a 6-pixel group: only the samples of
// the pgroups in range are updated, the others keep their values. Errors
// are those of Pack; dst is untouched on error.
func Unpack(f Format, dst, src []byte, pixels, first, n int) error {
	wire, frame, err := span(f, src, dst, pixels, first, n, "src", "dst")
	if err != nil {
		return err
	}
	pgb := f.PGroupBytes()
	wire = wire[:n*pgb]
	switch f {
	case PGroup10, PGroup8:
		copy(frame[first*pgb:(first+n)*pgb], wire)
	case YUV422P10LE:
		y, u, v := planes(frame, pixels, first, n)
		unpackPlanar(y, u, v, wire)
	case V210:
		unpackV210(frame, wire, first)
	}
	return nil
}

// span validates a call of Pack or Unpack and returns the wire buffer and
// the frame buffer, the frame cut to its exact size. wireName and
// frameName say which argument each is, for the error text.
func span(f Format, wire, frame []byte, pixels, first, n int, wireName, frameName string) ([]byte, []byte, error) {
	size, err := frameBytes(f, pixels)
	if err != nil {
		return nil, nil, err
	}
	if len(frame) < size {
		return nil, nil, fmt.Errorf("%w: %s holds %d bytes, a %s frame of %d pixels needs %d",
			ErrShort, frameName, len(frame), f, pixels, size)
	}
	// No sum or product below can overflow: the frame fits an int and
	// takes at least PGroupBytes a pgroup in every layout.
	pgroups := pixels / 2
	if first < 0 || n < 0 || first > pgroups || n > pgroups-first {
		return nil, nil, fmt.Errorf("%w: pgroups [%d, %d+%d) outside the frame's [0, %d)",
			ErrShort, first, first, n, pgroups)
	}
	if need := n * f.PGroupBytes(); len(wire) < need {
		return nil, nil, fmt.Errorf("%w: %s holds %d bytes, %d pgroups need %d",
			ErrShort, wireName, len(wire), n, need)
	}
	return wire, frame[:size], nil
}

// planes cuts the samples of pgroups [first, first+n) out of a
// YUV422P10LE frame: 4 bytes of Y and 2 each of Cb and Cr per pgroup.
func planes(frame []byte, pixels, first, n int) (y, u, v []byte) {
	yEnd := 2 * pixels // the Y plane: one LE uint16 per pixel
	uEnd := yEnd + pixels
	y = frame[4*first : 4*(first+n)]
	u = frame[yEnd+2*first : yEnd+2*(first+n)]
	v = frame[uEnd+2*first : uEnd+2*(first+n)]
	return y, u, v
}
