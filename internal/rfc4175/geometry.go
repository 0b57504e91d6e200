package rfc4175

import (
	"errors"
	"fmt"
	"math"
)

// Wire limits of the SRD fields (RFC 4175 §4.3): Row and Offset have 15
// bits, so no frame may be wider or taller than 32767.
const (
	maxDimension = 1<<15 - 1
	// maxPGroupBytes bounds a pgroup far above any real one (15 bytes for
	// 4:4:4 10-bit) so that size arithmetic cannot overflow.
	maxPGroupBytes = 255
)

// PGroup returns the pgroup size of an ST 2110-20 format (st2110.md §4):
// bytes and pixels of the smallest group of whole samples that fills whole
// bytes. sampling is the SDP fmtp value ("YCbCr-4:2:2", "YCbCr-4:4:4",
// "RGB", "YCbCr-4:2:0"), depth the bit depth. For YCbCr-4:2:0 the 4 pixels
// are 2x2 (two lines); NewGeometry accounts for that. Other formats wrap
// ErrUnsupported.
func PGroup(sampling string, depth int) (bytes, pixels int, err error) {
	switch sampling {
	case "YCbCr-4:2:2":
		switch depth {
		case 8:
			return 4, 2, nil
		case 10:
			return 5, 2, nil
		case 12:
			return 6, 2, nil
		case 16:
			return 8, 2, nil
		}
	case "YCbCr-4:4:4", "RGB":
		switch depth {
		case 8:
			return 3, 1, nil
		case 10:
			return 15, 4, nil
		case 12:
			return 9, 2, nil
		}
	case "YCbCr-4:2:0":
		if depth == 8 {
			return 6, 4, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: sampling %q depth %d", ErrUnsupported, sampling, depth)
}

// Geometry is what both ends know of a video stream from the config or the
// SDP: frame size, pgroup and scan. The packed frame buffer it describes
// holds pgroups row after row without padding; an interlaced frame holds
// both fields woven (buffer line = 2*row + F).
type Geometry struct {
	Width, Height int  // frame size in pixels; Height per frame, also when interlaced
	PGroupBytes   int  // 5 for 4:2:2 10-bit, 4 for 8-bit, ... (see PGroup)
	PGroupPixels  int  // 2 for 4:2:2 (see PGroup)
	PGroupLines   int  // lines one pgroup spans: 2 for YCbCr-4:2:0, else 1; 0 means 1
	Interlaced    bool // fields: rows are per field (0..Height/2-1), F picks the field
}

// NewGeometry returns the validated Geometry of an ST 2110-20 format, as
// the SDP fmtp gives it (sampling, depth, width, height, interlace).
func NewGeometry(sampling string, depth, width, height int, interlaced bool) (Geometry, error) {
	b, px, err := PGroup(sampling, depth)
	if err != nil {
		return Geometry{}, err
	}
	g := Geometry{Width: width, Height: height, PGroupBytes: b, PGroupPixels: px, PGroupLines: 1, Interlaced: interlaced}
	if sampling == "YCbCr-4:2:0" {
		// RFC 4175 §4.3: a 4:2:0 pgroup holds 2x2 pixels; Row names the
		// first of its two lines and rows advance by 2 (as GStreamer's
		// rtpvrawpay does).
		g.PGroupLines = 2
	}
	if err := g.Validate(); err != nil {
		return Geometry{}, err
	}
	return g, nil
}

// Validate checks that g can be carried by RFC 4175 and addressed in
// memory: all sizes positive, Width and Height at most 32767 (the 15-bit
// SRD fields), Width a whole number of pgroups, Height a whole number of
// pgroup rows per field (even when interlaced), and the frame below 2 GiB.
// Every problem is reported, each wrapping ErrGeometry.
func (g Geometry) Validate() error {
	var errs []error
	check := func(ok bool, what string, got int, rel string, need int) {
		if !ok {
			errs = append(errs, errDetail(ErrGeometry, what, got, rel, need))
		}
	}
	check(g.Width >= 1, "width", g.Width, ">=", 1)
	check(g.Width <= maxDimension, "width", g.Width, "<=", maxDimension)
	check(g.Height >= 1, "height", g.Height, ">=", 1)
	check(g.Height <= maxDimension, "height", g.Height, "<=", maxDimension)
	check(g.PGroupBytes >= 1, "pgroup bytes", g.PGroupBytes, ">=", 1)
	check(g.PGroupBytes <= maxPGroupBytes, "pgroup bytes", g.PGroupBytes, "<=", maxPGroupBytes)
	check(g.PGroupPixels >= 1, "pgroup pixels", g.PGroupPixels, ">=", 1)
	check(g.PGroupLines >= 0, "pgroup lines", g.PGroupLines, ">=", 0)
	if errs != nil {
		return errors.Join(errs...)
	}
	lines := g.lines()
	check(g.PGroupPixels%lines == 0, "pgroup pixels", g.PGroupPixels, "multiple of pgroup lines", lines)
	if errs != nil {
		return errors.Join(errs...)
	}
	check(g.Width%g.xStep() == 0, "width", g.Width, "multiple of", g.xStep())
	rowStep := lines
	if g.Interlaced {
		rowStep *= 2
	}
	check(g.Height%rowStep == 0, "height", g.Height, "multiple of", rowStep)
	if errs != nil {
		return errors.Join(errs...)
	}
	frame := int64(g.Width/g.xStep()) * int64(g.PGroupBytes) * int64(g.Height/lines)
	if frame > math.MaxInt32 {
		return errDetail(ErrGeometry, "frame bytes", int(min(frame, math.MaxInt)), "<=", math.MaxInt32)
	}
	return nil
}

// lines is PGroupLines with 0 read as 1.
func (g Geometry) lines() int { return max(g.PGroupLines, 1) }

// xStep is the horizontal pixels one pgroup spans: the unit of SRD Offset.
func (g Geometry) xStep() int { return g.PGroupPixels / g.lines() }

// FieldRows is the number of rows one field (or a progressive frame) has,
// the bound of SRD Row.
func (g Geometry) FieldRows() int {
	if g.Interlaced {
		return g.Height / 2
	}
	return g.Height
}

// LineBytes is the size of one row of pgroups in the packed frame: one
// line, or two for YCbCr-4:2:0 whose pgroups span two lines.
func (g Geometry) LineBytes() int { return g.Width / g.xStep() * g.PGroupBytes }

// FrameBytes is the size of the packed frame (both fields when interlaced).
func (g Geometry) FrameBytes() int { return g.LineBytes() * (g.Height / g.lines()) }

// Locate maps one SRD to where its samples go in the packed frame buffer
// (st2110.md §3): the byte offset and the index of the first pgroup
// (byteOff == pgroup*PGroupBytes; converters to planar or v210 need the
// index). It checks the SRD against g first, so that a hostile or broken
// packet cannot write outside the frame: Row inside the field (and on a
// pgroup row), F only when interlaced, Offset a multiple of the pgroup's
// width and inside the line, Length a multiple of PGroupBytes, the segment
// inside its line. Errors wrap ErrOutOfFrame with the values. g must be
// valid (Validate) for the result to mean anything; Locate never panics
// and allocates nothing for an accepted SRD.
func (g Geometry) Locate(s SRD) (byteOff, pgroup int, err error) {
	// Per packet: the arithmetic stays in uint32 (every SRD field is 16
	// bits, every Geometry bound 15 bits) with three divisions by a
	// variable, one more for 4:2:0; a valid g keeps all products below
	// 2^31 (Validate's frame bound).
	lines := uint32(max(g.PGroupLines, 1))
	step, pgb := uint32(g.PGroupPixels), uint32(g.PGroupBytes)
	if lines > 1 {
		step /= lines
	}
	if step == 0 || pgb == 0 {
		// Only a division by zero could panic: an unvalidated g gives
		// meaningless results, never a crash.
		return 0, 0, errDetail(ErrGeometry, "pgroup width in pixels", int(step), ">=", 1)
	}
	rows := uint32(g.Height)
	if g.Interlaced {
		rows /= 2
	}
	row, off, length := uint32(s.Row), uint32(s.Offset), uint32(s.Length)
	switch {
	case row >= rows:
		return 0, 0, errDetail(ErrOutOfFrame, "row", int(row), "<", int(rows))
	case lines > 1 && row%lines != 0:
		return 0, 0, errDetail(ErrOutOfFrame, "row", int(row), "multiple of", int(lines))
	case s.Field && !g.Interlaced:
		return 0, 0, errDetail(ErrOutOfFrame, "field of a progressive frame", 1, "==", 0)
	case off >= uint32(g.Width):
		return 0, 0, errDetail(ErrOutOfFrame, "offset", int(off), "<", g.Width)
	}
	first := off / step
	if off != first*step {
		return 0, 0, errDetail(ErrOutOfFrame, "offset", int(off), "multiple of", int(step))
	}
	if length%pgb != 0 {
		return 0, 0, errDetail(ErrOutOfFrame, "length", int(length), "multiple of", int(pgb))
	}
	perLine := uint32(g.Width) / step
	if end := first*pgb + length; end > perLine*pgb {
		return 0, 0, errDetail(ErrOutOfFrame, "segment end byte in line", int(end), "<=", int(perLine*pgb))
	}
	line := row
	if lines > 1 {
		line /= lines
	}
	if g.Interlaced {
		line *= 2
		if s.Field {
			line++
		}
	}
	pgroup = int(line)*int(perLine) + int(first)
	return pgroup * g.PGroupBytes, pgroup, nil
}
