package sdp

import (
	"strconv"
	"strings"
)

// oneOf is an enumerated fmtp value. Parse accepts what interoperable
// senders write (RFC 4175 names as well as ST 2110 ones); Validate, which
// vets what mediamesh itself sends, accepts only the ST 2110 names.
type oneOf []string

func (o oneOf) has(v string) bool {
	for _, s := range o {
		if s == v {
			return true
		}
	}
	return false
}

// want renders the set for an error: "a, b or c".
func (o oneOf) want() string {
	if len(o) == 1 {
		return o[0]
	}
	return strings.Join(o[:len(o)-1], ", ") + " or " + o[len(o)-1]
}

// check returns nil when v is in o, else the message `key "v": want ...`.
func (o oneOf) check(key, v string) string {
	if o.has(v) {
		return ""
	}
	return key + " " + strconv.Quote(v) + ": want " + o.want()
}

// The value sets, from shared/spec/st2110.md §7-§10 and the standards it
// cites (ST 2110-20:2022 §7, ST 2110-21 §8, ST 2110-22:2022 §7, ST 2110-40:2023
// §7, RFC 4175, RFC 9134 §7, RFC 8331).
var (
	// ST 2110-20 §7.4.1.
	samplings2110 = oneOf{
		"YCbCr-4:4:4", "YCbCr-4:2:2", "YCbCr-4:2:0",
		"CLYCbCr-4:4:4", "CLYCbCr-4:2:2", "CLYCbCr-4:2:0",
		"ICtCp-4:4:4", "ICtCp-4:2:2", "ICtCp-4:2:0",
		"RGB", "XYZ", "KEY",
	}
	// Plus RFC 4175's (FFmpeg writes BGR for bgr24) and RFC 9134's
	// UNSPECIFIED (sampling carried in the JPEG XS codestream).
	samplingsAny = append(append(oneOf{}, samplings2110...),
		"RGBA", "BGR", "BGRA", "YCbCr-4:1:1", "UNSPECIFIED")
	samplingsJXS = append(append(oneOf{}, samplings2110...), "UNSPECIFIED")

	// ST 2110-20 §7.5.
	colorimetries2110 = oneOf{"BT601", "BT709", "BT2020", "BT2100", "ST2065-1", "ST2065-3", "UNSPECIFIED", "XYZ", "ALPHA"}
	// Plus RFC 4175's names, which GStreamer's rtpvrawpay writes.
	colorimetriesAny = append(append(oneOf{}, colorimetries2110...), "BT601-5", "BT709-2", "SMPTE240M")

	// ST 2110-20 §7.6 (ST2115LOGS3 from the 2022 edition).
	tcsValues = oneOf{"SDR", "PQ", "HLG", "LINEAR", "BT2100LINPQ", "BT2100LINHLG", "ST2065-1", "ST428-1", "DENSITY", "UNSPECIFIED", "ST2115LOGS3"}
	pmValues  = oneOf{"2110GPM", "2110BPM"}
	tpValues  = oneOf{"2110TPN", "2110TPNL", "2110TPW"}
	ranges    = oneOf{"NARROW", "FULLPROTECT", "FULL"}
	tmValues  = oneOf{"CTM", "LLTM"}

	ssnRaw  = oneOf{"ST2110-20:2017", "ST2110-20:2022"}
	ssnJXSV = oneOf{"ST2110-22:2019", "ST2110-22:2022"}
	// ST 2110-40:2023 was published with the SSN value ST2110-40:2021;
	// receivers treat both as the same.
	ssnAnc = oneOf{"ST2110-40:2018", "ST2110-40:2021", "ST2110-40:2023"}

	depths = "8, 10, 12, 16 or 16f"
)

// ssnFor returns the SSN values of an encoding.
func ssnFor(encoding string) oneOf {
	switch encoding {
	case EncodingJXSV:
		return ssnJXSV
	case EncodingSMPTE291:
		return ssnAnc
	}
	return ssnRaw
}

// Numeric limits.
const (
	maxDimension  = 32767   // width and height, ST 2110-20 §7.2
	maxUDPPayload = 8960    // MAXUDP: ST 2110-10's extended UDP size limit
	maxMicros     = 1000000 // TROFF: one second is longer than any frame period
	maxPackets    = 1000000 // CMAX
	maxChannels   = 64      // ST 2110-30 level C
	maxPacketTime = 1000.0  // a=ptime / a=maxptime in ms
	maxFrameCount = 65535   // a=framecount
	maxRatePart   = 1 << 30 // numerator and denominator of exactframerate
	maxBandwidth  = 1 << 30 // b=AS in kbit/s: 1 Tbit/s
)

// checkDepth validates a depth as Validate sees it.
func checkDepth(depth int, float bool) string {
	switch {
	case float && depth == 16:
		return ""
	case float:
		return "depth " + strconv.Itoa(depth) + " with FloatDepth: want 16"
	case depth == 8 || depth == 10 || depth == 12 || depth == 16:
		return ""
	}
	return "depth " + strconv.Itoa(depth) + ": want " + depths
}

// inRange returns "" when lo <= v <= hi, else `key v: want lo-hi`.
func inRange(key string, v, lo, hi int) string {
	if v >= lo && v <= hi {
		return ""
	}
	return key + " " + strconv.Itoa(v) + ": want " + strconv.Itoa(lo) + "-" + strconv.Itoa(hi)
}

// parseUint parses a run of decimal digits (no sign, no spaces) no larger
// than max. ok is false for anything else, including overflow.
func parseUint(s string, max uint64) (uint64, bool) {
	if s == "" || len(s) > 20 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if d > max || v > (max-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// parseInt is parseUint into an int within [lo, hi], with the message
// `key "s": want lo-hi` on failure.
func parseInt(key, s string, lo, hi int) (int, string) {
	v, ok := parseUint(s, uint64(hi))
	if !ok || int(v) < lo {
		return 0, key + " " + strconv.Quote(s) + ": want an integer " + strconv.Itoa(lo) + "-" + strconv.Itoa(hi)
	}
	return int(v), ""
}

// parseDecimal parses digits with at most one '.', as a=ptime and
// a=framerate carry them: strconv.ParseFloat alone would also take signs,
// exponents, hex, "inf" and "NaN".
func parseDecimal(s string) (float64, bool) {
	intPart, frac, dot := strings.Cut(s, ".")
	if intPart == "" && frac == "" || len(s) > 32 {
		return 0, false
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, false
			}
		}
	}
	if dot && frac == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// parseRate parses an exactframerate: "50" or "60000/1001".
func parseRate(key, s string) (Rate, string) {
	num, den, ratio := strings.Cut(s, "/")
	n, okN := parseUint(num, maxRatePart)
	d, okD := uint64(1), true
	if ratio {
		d, okD = parseUint(den, maxRatePart)
	}
	if !okN || !okD || n == 0 || d == 0 {
		return Rate{}, key + " " + strconv.Quote(s) + ": want an integer like 50 or a ratio like 60000/1001"
	}
	return Rate{Num: int(n), Den: int(d)}, ""
}

// checkRate validates a Rate as Validate sees it.
func checkRate(key string, r Rate) string {
	if r.Num < 1 || r.Den < 1 || r.Num > maxRatePart || r.Den > maxRatePart {
		return key + " " + strconv.Itoa(r.Num) + "/" + strconv.Itoa(r.Den) + ": want positive numerator and denominator"
	}
	return ""
}

// rateFromDecimal maps GStreamer's decimal frame rate ("25",
// "29.970029970029969") onto an exact rate: an integer, or a multiple of
// 1000/1001 (the NTSC family). Other values give a zero Rate, so the frame
// rate counts as missing rather than guessed.
func rateFromDecimal(f float64) Rate {
	const tolerance = 1e-6
	if f < 1 || f > 1000 {
		return Rate{}
	}
	if n := int(f + 0.5); abs(f-float64(n)) < tolerance*f {
		return Rate{Num: n, Den: 1}
	}
	if n := int(f*1.001 + 0.5); abs(f-float64(n)/1.001) < tolerance*f {
		return Rate{Num: n * 1000, Den: 1001}
	}
	return Rate{}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// checkPAR validates a pixel aspect ratio "w:h" with positive integers.
func checkPAR(s string) string {
	w, h, ok := strings.Cut(s, ":")
	wv, okW := parseUint(w, maxDimension)
	hv, okH := parseUint(h, maxDimension)
	if !ok || !okW || !okH || wv == 0 || hv == 0 {
		return "PAR " + strconv.Quote(s) + ": want w:h with positive integers, e.g. 12:11"
	}
	return ""
}

// isToken reports whether s is a non-empty run of printable ASCII without
// spaces or ';' (RFC 4566 token-ish: profile, level, mid values).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == ';' {
			return false
		}
	}
	return true
}

// channelGroups parses a channel-order value (ST 2110-30, after RFC
// 3190): "SMPTE2110.(ST,ST)". It returns the groups and their channel total.
func channelGroups(v string) ([]string, int, string) {
	const bad = ": want SMPTE2110.(<groups>) with groups M, DM, ST, LtRt, 51, 71, 222, SGRP or U01-U64"
	conv, list, ok := strings.Cut(v, ".")
	if !ok || conv != "SMPTE2110" || len(list) < 3 || list[0] != '(' || list[len(list)-1] != ')' {
		return nil, 0, "channel-order " + strconv.Quote(v) + bad
	}
	list = list[1 : len(list)-1]
	groups := make([]string, 0, strings.Count(list, ",")+1)
	total := 0
	for g := range strings.SplitSeq(list, ",") {
		n := groupChannels(g)
		if n == 0 {
			return nil, 0, "channel-order " + strconv.Quote(v) + ": group " + strconv.Quote(g) + bad
		}
		groups = append(groups, g)
		total += n
	}
	return groups, total, ""
}

// groupChannels returns the channel count of a channel-order group symbol,
// 0 for an unknown one.
func groupChannels(g string) int {
	switch g {
	case "M":
		return 1
	case "DM", "ST", "LtRt":
		return 2
	case "SGRP":
		return 4
	case "51":
		return 6
	case "71":
		return 8
	case "222":
		return 24
	}
	if len(g) == 3 && g[0] == 'U' {
		if n, ok := parseUint(g[1:], maxChannels); ok && n >= 1 {
			return int(n)
		}
	}
	return 0
}

// checkRefClock validates the forms of a=ts-refclk (RFC 7273 §4) that
// ST 2110-10 uses; other clock sources (ntp=, gps, local, ...) pass as
// given, since mediamesh only reports them.
func checkRefClock(v string) string {
	switch {
	case v == "":
		return "ts-refclk: want a clock source, e.g. ptp=IEEE1588-2008:<grandmaster EUI-64>:<domain>"
	case strings.HasPrefix(v, "ptp="):
		return checkPTP(v)
	case strings.HasPrefix(v, "localmac="):
		if !isHexGroups(v[len("localmac="):], 6) {
			return "ts-refclk " + strconv.Quote(v) + ": want localmac=<MAC like 00-11-22-33-44-55>"
		}
	}
	return ""
}

func checkPTP(v string) string {
	version, rest, _ := strings.Cut(v[len("ptp="):], ":")
	maxDomain := uint64(255)
	switch version {
	case "IEEE1588-2008":
		maxDomain = 127
	case "IEEE1588-2002", "IEEE1588-2019", "IEEE802.1AS-2011":
	default:
		return "ts-refclk " + strconv.Quote(v) + ": PTP version " + strconv.Quote(version) +
			": want IEEE1588-2008, IEEE1588-2019, IEEE1588-2002 or IEEE802.1AS-2011"
	}
	if rest == "traceable" {
		return ""
	}
	gmid, domain, hasDomain := strings.Cut(rest, ":")
	ok := isHexGroups(gmid, 8)
	if ok && hasDomain {
		if version == "IEEE1588-2002" {
			ok = isToken(domain) // 2002 names domains (_DFLT, _ALT1, ...)
		} else {
			_, ok = parseUint(domain, maxDomain)
		}
	}
	if !ok {
		return "ts-refclk " + strconv.Quote(v) + ": want ptp=" + version +
			":<grandmaster EUI-64 like 08-00-11-FF-FE-21-E1-B0>[:<domain 0-" + strconv.FormatUint(maxDomain, 10) + ">] or ptp=" + version + ":traceable"
	}
	return ""
}

// isHexGroups reports whether s is n two-digit hex groups joined by '-'.
func isHexGroups(s string, n int) bool {
	if len(s) != 3*n-1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i%3 == 2 {
			if s[i] != '-' {
				return false
			}
		} else if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// checkMediaClock validates a=mediaclk (RFC 7273 §5): the direct form
// ST 2110-10 requires is "direct=<offset>" with an optional " rate=<n>/<d>".
// Other forms (sender, IEEE2022-...) pass as given.
func checkMediaClock(v string) string {
	if v == "" {
		return "mediaclk: want a media clock, e.g. direct=0"
	}
	rest, ok := strings.CutPrefix(v, "direct=")
	if !ok {
		return ""
	}
	offset, rate, hasRate := strings.Cut(rest, " ")
	_, ok = parseUint(offset, 1<<32-1)
	if ok && hasRate {
		r, isRate := strings.CutPrefix(rate, "rate=")
		_, msg := parseRate("rate", r)
		ok = isRate && msg == ""
	}
	if !ok {
		return "mediaclk " + strconv.Quote(v) + ": want direct=<RTP offset 0-4294967295>[ rate=<n>/<d>]"
	}
	return ""
}
