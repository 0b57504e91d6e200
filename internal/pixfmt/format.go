package pixfmt

import (
	"fmt"
	"math"
	"strconv"
)

// Format is a pixel layout of a whole frame in an app's buffer.
type Format uint8

// The layouts an app may hold. All are YCbCr 4:2:2; every pgroup on the
// wire carries 2 pixels.
const (
	PGroup10    Format = iota + 1 // RFC 4175 YCbCr-4:2:2 10-bit pgroups: 5 bytes per 2 pixels (MCM "yuv422p10rfc4175", GStreamer UYVP, FFmpeg bitpacked)
	PGroup8                       // RFC 4175 YCbCr-4:2:2 8-bit pgroups: 4 bytes per 2 pixels (UYVY)
	YUV422P10LE                   // planar: Y plane (w*h LE uint16), then Cb (w*h/2), then Cr (w*h/2); 10-bit values in bits 0-9
	V210                          // 6 pixels in 4 LE uint32 words (16 bytes), see st2110.md §4
)

// maxFrameBytes is the largest frame accepted: 2 GiB, as MCM's payload
// sizing (mcm.VideoPayloadSize), one byte less where an int has 32 bits,
// so that every size and offset stays an int.
const maxFrameBytes = min(1<<31, math.MaxInt)

// ParseFormat maps a pixel format name to its Format. It accepts the
// canonical MCM-style names and the aliases other tools use: "pgroup10" and
// "uyvp" (GStreamer) for PGroup10, "pgroup8" for PGroup8. Names are matched
// exactly, as MCM's JSON does.
func ParseFormat(name string) (Format, error) {
	switch name {
	case "yuv422p10rfc4175", "pgroup10", "uyvp":
		return PGroup10, nil
	case "uyvy", "pgroup8":
		return PGroup8, nil
	case "yuv422p10le":
		return YUV422P10LE, nil
	case "v210":
		return V210, nil
	}
	return 0, fmt.Errorf("%w %q: want yuv422p10rfc4175 (pgroup10, uyvp), uyvy (pgroup8), yuv422p10le or v210", ErrFormat, name)
}

// valid reports whether f is one of the declared formats.
func (f Format) valid() bool { return f >= PGroup10 && f <= V210 }

// String returns the canonical MCM-style name: yuv422p10rfc4175, uyvy,
// yuv422p10le or v210; "Format(N)" for an unknown value.
func (f Format) String() string {
	switch f {
	case PGroup10:
		return "yuv422p10rfc4175"
	case PGroup8:
		return "uyvy"
	case YUV422P10LE:
		return "yuv422p10le"
	case V210:
		return "v210"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// Depth returns the RFC 4175 sample depth on the wire: 8 for PGroup8, 10
// for the others, 0 for an unknown value.
func (f Format) Depth() int {
	switch f {
	case PGroup8:
		return 8
	case PGroup10, YUV422P10LE, V210:
		return 10
	}
	return 0
}

// PGroupBytes returns the size of one wire pgroup (2 pixels) at this
// format's depth: 5 at 10 bits, 4 at 8 bits, 0 for an unknown value.
func (f Format) PGroupBytes() int {
	switch f.Depth() {
	case 10:
		return pgroup10Bytes
	case 8:
		return pgroup8Bytes
	}
	return 0
}

// Passthrough reports whether the app's bytes are already the wire bytes
// (PGroup10, PGroup8), so Pack and Unpack are copies and a sender may
// point its packets straight at the app's buffer instead.
func (f Format) Passthrough() bool { return f == PGroup10 || f == PGroup8 }

// FrameSize returns the bytes of one width×height frame in layout f. It
// returns ErrGeometry if width or height is not positive, width is odd (a
// 4:2:2 pgroup never spans two rows), for V210 if width*height is not a
// multiple of 6 (MCM's v210 buffer has no row padding, see the package
// doc), or if the frame exceeds 2 GiB; ErrFormat for an unknown f.
func FrameSize(f Format, width, height int) (int, error) {
	if width <= 0 || height <= 0 || width%2 != 0 {
		return 0, fmt.Errorf("%w: %dx%d: width must be positive and even, height positive", ErrGeometry, width, height)
	}
	// Either side above 2 GiB already makes a frame above 2 GiB; the bound
	// keeps the product in an int64, and the next one in an int.
	pixels := int64(width) * int64(height)
	if width > maxFrameBytes || height > maxFrameBytes || pixels > maxFrameBytes/2 {
		return 0, fmt.Errorf("%w: %dx%d frame exceeds 2 GiB", ErrGeometry, width, height)
	}
	return frameBytes(f, int(pixels))
}

// frameBytes is FrameSize for a pixel count: the checks Pack and Unpack
// repeat on every call, so it must stay cheap and never overflow.
func frameBytes(f Format, pixels int) (int, error) {
	if !f.valid() {
		return 0, fmt.Errorf("%w: Format(%d)", ErrFormat, uint8(f))
	}
	if pixels <= 0 || pixels%2 != 0 {
		return 0, fmt.Errorf("%w: %d pixels: want a positive even count", ErrGeometry, pixels)
	}
	if f == V210 && pixels%v210Pixels != 0 {
		return 0, fmt.Errorf("%w: v210 frame of %d pixels: want a multiple of %d", ErrGeometry, pixels, v210Pixels)
	}
	// Every layout takes at least 2 bytes a pixel, so this bound comes
	// first; the size is then computed in int64, which cannot overflow.
	if pixels > maxFrameBytes/2 {
		return 0, fmt.Errorf("%w: %d pixels exceed a 2 GiB frame", ErrGeometry, pixels)
	}
	p := int64(pixels)
	var n int64
	switch f {
	case PGroup10:
		n = p / 2 * pgroup10Bytes
	case PGroup8:
		n = p / 2 * pgroup8Bytes
	case YUV422P10LE:
		n = p * 4
	case V210:
		n = p / v210Pixels * v210Bytes
	}
	if n > maxFrameBytes {
		return 0, fmt.Errorf("%w: %s frame of %d pixels is %d bytes, over 2 GiB", ErrGeometry, f, pixels, n)
	}
	return int(n), nil
}
