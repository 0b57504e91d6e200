package rfc9134

import (
	"encoding/binary"
	"fmt"
)

// JPEG XS marker codes (ISO/IEC 21122-1 Annex A). A codestream is SOC,
// header marker segments (CAP, PIH, CDT, WGT, ...; each a marker, a 16-bit
// length counting itself, and a body), the slices (SLH and entropy-coded
// data, which is not marker-delimited), and EOC.
const (
	markerSOC = 0xff10 // start of codestream, no length
	markerEOC = 0xff11 // end of codestream, no length
	markerPIH = 0xff12 // picture header
	markerCDT = 0xff13 // component table
	markerSLH = 0xff20 // slice header: the marker-segment headers end here
)

// Picture header body offsets, from the marker (ISO/IEC 21122-1 Table A.7):
//
//	0   u16 marker 0xff12
//	2   u16 Lpih = 26
//	4   u32 Lcod      codestream size in bytes
//	8   u16 Ppih      profile
//	10  u16 Plev      level (high byte) and sublevel (low byte)
//	12  u16 Wf        frame width in samples
//	14  u16 Hf        frame height in lines
//	16  u16 Cw, 18 u16 Hsl, 20 u8 Nc (components), then 7 coding bytes
const (
	pihLength   = 26
	pihLcod     = 4
	pihPpih     = 8
	pihPlev     = 10
	pihWf       = 12
	pihHf       = 14
	pihNc       = 20
	maxPicBoxes = 2 // jpvi and colr
)

// Info is what ProbeCodestream learnt from a picture segment.
type Info struct {
	Offset      int    // index of the SOC marker (after any jpvi/colr boxes)
	Length      int    // codestream bytes, SOC to EOC inclusive
	VideoInfo   bool   // a jpvi box precedes the codestream
	Colour      bool   // a colr box precedes the codestream
	Lcod        uint32 // PIH Lcod: the codestream size the encoder declared
	Profile     uint16 // PIH Ppih (ISO/IEC 21122-2 profile code)
	Level       uint8  // high byte of PIH Plev (level code)
	Sublevel    uint8  // low byte of PIH Plev (sublevel code)
	Width       uint16 // PIH Wf
	Height      uint16 // PIH Hf
	Components  uint8  // PIH Nc
	Depth       uint8  // CDT bit precision shared by all components; 0 if absent or mixed
	Subsampling string // from CDT: "4:4:4", "4:2:2", "4:2:0", "4:0:0", "4:4:4:4", "4:2:2:4"; "" if other
}

// ProbeCodestream checks the framing of one picture segment as an app hands
// it in (RFC 9134 §4.3): optional jpvi and colr boxes (ISO/IEC 21122-3),
// then a codestream that starts with SOC, carries a PIH among its header
// marker segments and ends with EOC. It reads the picture header (and the
// component table when present) for the SDP numbers. It walks only the
// header segments, reads nothing past b and allocates nothing.
func ProbeCodestream(b []byte) (Info, error) {
	var info Info
	off, err := skipBoxes(b, &info)
	if err != nil {
		return Info{}, err
	}
	cs := b[off:]
	if len(cs) < 4 || binary.BigEndian.Uint16(cs) != markerSOC {
		return Info{}, fmt.Errorf("%w: no SOC marker at offset %d", ErrMalformed, off)
	}
	if binary.BigEndian.Uint16(cs[len(cs)-2:]) != markerEOC {
		return Info{}, fmt.Errorf("%w: codestream does not end with EOC (got %#04x)", ErrMalformed, binary.BigEndian.Uint16(cs[len(cs)-2:]))
	}
	info.Offset, info.Length = off, len(cs)
	pih := false
	for p := 2; ; {
		if p+2 > len(cs)-2 {
			break // reached EOC
		}
		m := binary.BigEndian.Uint16(cs[p:])
		if m>>8 != 0xff {
			return Info{}, fmt.Errorf("%w: marker expected at codestream offset %d, got %#04x", ErrMalformed, p, m)
		}
		if m == markerSLH || m == markerEOC {
			break
		}
		if p+4 > len(cs) {
			return Info{}, fmt.Errorf("%w: marker %#04x at %d without length", ErrMalformed, m, p)
		}
		l := int(binary.BigEndian.Uint16(cs[p+2:]))
		if l < 2 || p+2+l > len(cs)-2 {
			return Info{}, fmt.Errorf("%w: marker %#04x at %d has length %d, %d bytes left", ErrMalformed, m, p, l, len(cs)-2-p-2)
		}
		seg := cs[p : p+2+l]
		switch m {
		case markerPIH:
			if err := readPIH(seg, &info); err != nil {
				return Info{}, err
			}
			pih = true
		case markerCDT:
			if !pih {
				return Info{}, fmt.Errorf("%w: CDT before PIH", ErrMalformed)
			}
			if err := readCDT(seg, &info); err != nil {
				return Info{}, err
			}
		}
		p += 2 + l
	}
	if !pih {
		return Info{}, fmt.Errorf("%w: no PIH marker before the first slice", ErrMalformed)
	}
	return info, nil
}

// skipBoxes steps over the jpvi and colr boxes (ISO/IEC 21122-3: LBox u32,
// TBox u32, with LBox = 1 announcing a u64 XLBox) and returns where the
// codestream starts. LBox = 0 ("to the end") would swallow the codestream
// and is refused.
func skipBoxes(b []byte, info *Info) (int, error) {
	off := 0
	for range maxPicBoxes + 1 {
		if len(b)-off < 8 || binary.BigEndian.Uint16(b[off:]) == markerSOC {
			return off, nil
		}
		size := uint64(binary.BigEndian.Uint32(b[off:]))
		hdr := uint64(8)
		var seen *bool
		switch string(b[off+4 : off+8]) {
		case "jpvi":
			seen = &info.VideoInfo
		case "colr":
			seen = &info.Colour
		default:
			return 0, fmt.Errorf("%w: neither SOC nor a jpvi/colr box at offset %d", ErrMalformed, off)
		}
		if *seen {
			return 0, fmt.Errorf("%w: second %q box at offset %d", ErrMalformed, b[off+4:off+8], off)
		}
		*seen = true
		if size == 1 {
			if len(b)-off < 16 {
				return 0, fmt.Errorf("%w: box at %d truncated before XLBox", ErrMalformed, off)
			}
			size, hdr = binary.BigEndian.Uint64(b[off+8:]), 16
		}
		if size < hdr || size > uint64(len(b)-off) {
			return 0, fmt.Errorf("%w: box at %d has size %d, %d bytes left", ErrMalformed, off, size, len(b)-off)
		}
		off += int(size)
	}
	return off, nil
}

func readPIH(seg []byte, info *Info) error {
	if len(seg) != 2+pihLength {
		return fmt.Errorf("%w: PIH length %d, need %d", ErrMalformed, len(seg)-2, pihLength)
	}
	info.Lcod = binary.BigEndian.Uint32(seg[pihLcod:])
	info.Profile = binary.BigEndian.Uint16(seg[pihPpih:])
	info.Level, info.Sublevel = seg[pihPlev], seg[pihPlev+1]
	info.Width = binary.BigEndian.Uint16(seg[pihWf:])
	info.Height = binary.BigEndian.Uint16(seg[pihHf:])
	info.Components = seg[pihNc]
	if info.Width == 0 || info.Height == 0 || info.Components == 0 {
		return fmt.Errorf("%w: PIH %dx%d with %d components", ErrMalformed, info.Width, info.Height, info.Components)
	}
	return nil
}

// readCDT reads the component table: per component a byte of bit
// precision and a byte of horizontal (high nibble) and vertical (low
// nibble) subsampling factors.
func readCDT(seg []byte, info *Info) error {
	body := seg[4:]
	if len(body) != 2*int(info.Components) {
		return fmt.Errorf("%w: CDT has %d bytes for %d components, need %d", ErrMalformed, len(body), info.Components, 2*int(info.Components))
	}
	info.Depth = body[0]
	var s [4]uint8 // sx<<4|sy of up to four components
	for c := range int(info.Components) {
		if body[2*c] != info.Depth {
			info.Depth = 0
		}
		if c < len(s) {
			s[c] = body[2*c+1]
		}
	}
	info.Subsampling = subsampling(info.Components, s)
	return nil
}

func subsampling(nc uint8, s [4]uint8) string {
	const full, half, quarter = 0x11, 0x21, 0x22
	if s[0] != full {
		return ""
	}
	switch {
	case nc == 1:
		return "4:0:0"
	case nc == 3 && s[1] == s[2]:
		switch s[1] {
		case full:
			return "4:4:4"
		case half:
			return "4:2:2"
		case quarter:
			return "4:2:0"
		}
	case nc == 4 && s[1] == s[2] && s[3] == full:
		switch s[1] {
		case full:
			return "4:4:4:4"
		case half:
			return "4:2:2:4"
		}
	}
	return ""
}

// ProfileName returns the SDP name (RFC 9134 §7: the ISO/IEC 21122-2 name
// without white space) of a PIH Ppih code, or "" for codes this package
// does not name. Only the codes two independent references agree on are
// named; the numeric code is always in Info.Profile.
func ProfileName(ppih uint16) string {
	switch ppih {
	case 0x1a00:
		return "Light444.12"
	case 0x2500:
		return "Light-Subline422.10"
	case 0x3540:
		return "Main422.10"
	case 0x3a40:
		return "Main444.12"
	case 0x3e40:
		return "Main4444.12"
	case 0x4a40:
		return "High444.12"
	case 0x4e40:
		return "High4444.12"
	}
	return ""
}
