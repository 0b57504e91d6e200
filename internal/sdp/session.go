package sdp

import "net/netip"

// Limits on what Parse accepts, so a hostile description cannot make it
// allocate without bound. Real ST 2110 SDPs are a few hundred bytes with one
// or two media sections and a dozen attributes.
const (
	MaxSize       = 64 << 10 // bytes of SDP text
	MaxMedia      = 16       // m= sections
	MaxAttributes = 256      // a= lines, session and media levels together
)

// Media types of the m= line.
const (
	TypeVideo = "video" // ST 2110-20, -22 and -40 (RFC 8331 registers video/smpte291)
	TypeAudio = "audio" // ST 2110-30
)

// Encoding names of the a=rtpmap line, spelled as Parse stores them (SDP
// encoding names are case-insensitive; GStreamer writes "RAW").
const (
	EncodingRaw      = "raw"      // ST 2110-20, RFC 4175
	EncodingJXSV     = "jxsv"     // ST 2110-22, RFC 9134
	EncodingL16      = "L16"      // ST 2110-30, 16-bit PCM
	EncodingL24      = "L24"      // ST 2110-30, 24-bit PCM
	EncodingSMPTE291 = "smpte291" // ST 2110-40, RFC 8331
)

// Session is what mediamesh needs of an SDP: the origin, the name and the
// media sections. An ST 2022-7 description has two media sections (one per
// leg) tied by Group; everything else has one.
type Session struct {
	Origin         netip.Addr // o= unicast address (IPv4)
	SessionID      uint64     // o= sess-id
	SessionVersion uint64     // o= sess-version
	Name           string     // s=; "" for "s= " (RFC 4566's "no name")
	Group          string     // a=group:DUP value, e.g. "DUP primary secondary"; "" when absent
	Media          []Media
}

// Media is one m= section with its connection data and attributes.
//
// Parse fills in what the session level gave when the section did not say
// (c=, a=ts-refclk, a=mediaclk, a=source-filter), so each Media stands
// alone; Marshal writes all of it at media level. Exactly one of Video
// (with JXS for jxsv), Audio and Anc is set by Parse, by Encoding, even when
// the section has no a=fmtp.
type Media struct {
	Type          string     // TypeVideo or TypeAudio
	Port          uint16     // m= port, 1-65535
	PayloadType   uint8      // the one m= format: 96-127 (dynamic), as ST 2110 requires
	Encoding      string     // EncodingRaw, EncodingJXSV, EncodingL16, EncodingL24 or EncodingSMPTE291
	ClockRate     uint32     // 90000 for video and ancillary data; 44100, 48000 or 96000 for audio
	Channels      int        // audio: rtpmap encoding parameters (1 when absent); 0 for video
	Dest          netip.Addr // c= address, multicast group or unicast; media-level c= overrides session-level
	TTL           int        // c= /ttl, multicast only; 0 when absent
	Source        netip.Addr // a=source-filter: incl IN IP4 <dest> <source>; invalid when absent
	Mid           string     // a=mid (RFC 5888), names the leg in a=group:DUP
	RefClock      string     // a=ts-refclk value, e.g. "ptp=IEEE1588-2008:08-00-11-FF-FE-21-E1-B0:127"
	MediaClock    string     // a=mediaclk value, e.g. "direct=0"
	PacketTime    float64    // a=ptime in ms (audio: 1 or 0.125); 0 when absent
	MaxPacketTime float64    // a=maxptime in ms; 0 when absent
	FrameCount    int        // legacy AES67 a=framecount (samples per packet); 0 when absent
	BandwidthAS   int        // b=AS in kbit/s; 0 when absent

	Video *VideoFormat // raw and jxsv
	JXS   *JXSFormat   // jxsv only: the RFC 9134 keys
	Audio *AudioFormat // L16 and L24
	Anc   *AncFormat   // smpte291
}

// Rate is an exact frame rate: "50" is {50, 1}, "60000/1001" is {60000, 1001}.
type Rate struct{ Num, Den int }

// IsZero reports whether r is unset.
func (r Rate) IsZero() bool { return r == Rate{} }

// VideoFormat holds the a=fmtp keys of ST 2110-20 (and those ST 2110-22
// shares with it). A zero value means the key was absent; the defaults the
// standards assign to absent optional keys (TCS=SDR, RANGE=NARROW, PAR=1:1)
// are not filled in, so Marshal writes back what was given.
type VideoFormat struct {
	Sampling       string // e.g. "YCbCr-4:2:2"
	Depth          int    // bits per sample: 8, 10, 12 or 16
	FloatDepth     bool   // depth=16f: half-float samples (Depth is 16)
	Width, Height  int    // 1-32767; Height is per frame even when interlaced
	ExactFrameRate Rate   // exactframerate (or GStreamer's a-framerate / a=framerate when that is absent)
	Colorimetry    string // e.g. "BT709"
	TCS            string // transfer characteristic system, e.g. "SDR"
	PM             string // packing mode: "2110GPM" or "2110BPM"
	SSN            string // SMPTE standard number, e.g. "ST2110-20:2017"
	TP             string // ST 2110-21 sender type: "2110TPN", "2110TPNL" or "2110TPW"
	Range          string // RANGE: "NARROW", "FULLPROTECT" or "FULL"
	Interlace      bool   // interlace flag: the frame is two fields (interlaced, or PsF with Segmented)
	Segmented      bool   // segmented flag, only with Interlace: progressive segmented frame (PsF)
	PAR            string // pixel aspect ratio "w:h", e.g. "12:11"
	MaxUDP         int    // MAXUDP: largest UDP payload in bytes, e.g. 8960
	TROFF          int    // ST 2110-21 TROFF override in µs; 0 = absent
	CMAX           int    // ST 2110-21 CMAX override in packets; 0 = absent
}

// PacketModeAbsent is JXSFormat.PacketMode when Parse found no packetmode.
const PacketModeAbsent = -1

// JXSFormat holds the RFC 9134 a=fmtp keys of ST 2110-22.
type JXSFormat struct {
	PacketMode int    // packetmode (the K bit): 0 codestream, 1 slice; PacketModeAbsent when absent
	TransMode  int    // transmode (the T bit): 1 sequential, 0 out of order; Parse sets 1 (RFC 9134's default) when absent
	Profile    string // e.g. "Main422.10"
	Level      string // e.g. "2k-1"
	Sublevel   string // e.g. "Sublev3bpp"
}

// AudioFormat holds the a=fmtp keys of ST 2110-30.
type AudioFormat struct {
	// ChannelOrder is the channel-order value verbatim, e.g.
	// "SMPTE2110.(ST,ST)"; "" when absent (the channels are then undefined).
	// When a builder leaves it empty but sets Groups, Marshal writes the
	// value made from Groups.
	ChannelOrder string
	// Groups is ChannelOrder's list, e.g. ["ST", "ST"]: M, DM, ST, LtRt,
	// 51, 71, 222, SGRP or U01-U64.
	Groups []string
}

// AncFormat holds the a=fmtp keys of ST 2110-40 (RFC 8331).
type AncFormat struct {
	DIDSDID        [][2]uint8 // DID_SDID={0x61,0x01} list: the ANC packet types carried; nil = any
	VPIDCode       int        // VPID_Code: SMPTE ST 352 byte 1 of the source interface, 1-255; 0 = absent
	ExactFrameRate Rate       // exactframerate of the associated video; zero = absent
	TM             string     // transmission model: "CTM" (the default) or "LLTM"; "" = absent
	SSN            string     // e.g. "ST2110-40:2021"; "" = absent
	TROFF          int        // TROFF override in µs; 0 = absent
}
