package sdp

import (
	"strconv"
	"strings"
)

// parseFmtp interprets the section's a=fmtp by its encoding (known only
// once the whole section is read, since a=fmtp may precede a=rtpmap) and
// allocates the essence's format even when there is no a=fmtp.
func (s *section) parseFmtp() error {
	m := &s.m
	var handle func(key, val string, hasVal bool) (known bool, msg string)
	var gstRate string // GStreamer's a-framerate fmtp key
	switch m.Encoding {
	case EncodingRaw, EncodingJXSV:
		m.Video = &VideoFormat{}
		if m.Encoding == EncodingJXSV {
			m.JXS = &JXSFormat{PacketMode: PacketModeAbsent, TransMode: 1}
		}
		handle = func(key, val string, hasVal bool) (bool, string) {
			if key == "a-framerate" {
				gstRate = val
				return true, needValue(key, val)
			}
			return videoParam(m, key, val, hasVal)
		}
	case EncodingL16, EncodingL24:
		m.Audio = &AudioFormat{}
		handle = func(key, val string, hasVal bool) (bool, string) { return audioParam(m.Audio, key, val) }
	case EncodingSMPTE291:
		m.Anc = &AncFormat{}
		handle = func(key, val string, hasVal bool) (bool, string) { return ancParam(m.Anc, key, val) }
	}
	if msg := eachParam(s.fmtpValue, handle); msg != "" {
		return s.fmtp.fail(msg)
	}
	if m.Video != nil && m.Video.Segmented && !m.Video.Interlace {
		return s.fmtp.fail(segmentedAlone)
	}
	if m.Video == nil || !m.Video.ExactFrameRate.IsZero() {
		return nil
	}
	// GStreamer signals the frame rate as a decimal (rtpvrawpay's
	// a-framerate caps field, which its SDP code turns into a=framerate).
	rate, l := gstRate, s.fmtp
	if rate == "" {
		rate, l = s.rateValue, s.framerate
	}
	if rate == "" {
		return nil
	}
	f, ok := parseDecimal(rate)
	if !ok {
		return l.fail("framerate " + strconv.Quote(rate) + ": want frames per second like 25 or 29.97")
	}
	m.Video.ExactFrameRate = rateFromDecimal(f)
	return nil
}

// segmentedAlone: ST 2110-20 §7.3 and RFC 9134 §7 signal PsF as interlace
// plus segmented, and forbid segmented on its own.
const segmentedAlone = "segmented without interlace: want both for PsF, or neither"

// eachParam splits an fmtp parameter list ("k=v; k=v; flag") and hands each
// parameter to handle. Spaces around ';' and '=' and empty parameters are
// tolerated; keys are case-sensitive; a known key may appear only once,
// except DID_SDID, which lists.
func eachParam(list string, handle func(key, val string, hasVal bool) (bool, string)) string {
	var seen []string
	for param := range strings.SplitSeq(list, ";") {
		param = strings.TrimSpace(param)
		if param == "" {
			continue
		}
		key, val, hasVal := strings.Cut(param, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		known, msg := handle(key, val, hasVal)
		if msg != "" {
			return msg
		}
		if !known || key == "DID_SDID" {
			continue
		}
		for _, k := range seen {
			if k == key {
				return "duplicate key " + key
			}
		}
		seen = append(seen, key)
	}
	return ""
}

func needValue(key, val string) string {
	if val == "" {
		return key + ": want " + key + "=<value>"
	}
	return ""
}

// videoParam applies one ST 2110-20 / -22 fmtp parameter.
func videoParam(m *Media, key, val string, hasVal bool) (bool, string) {
	v, j := m.Video, m.JXS
	if key == "interlace" || key == "segmented" {
		on, msg := flag(key, val, hasVal)
		if key == "interlace" {
			v.Interlace = on
		} else {
			v.Segmented = on
		}
		return true, msg
	}
	jxs := j != nil && isJXSKey(key)
	if !jxs && !isVideoKey(key) {
		return false, "" // unknown parameters are ignored, as receivers must
	}
	if msg := needValue(key, val); msg != "" {
		return true, msg
	}
	if jxs {
		return true, jxsParam(j, key, val)
	}
	var msg string
	switch key {
	case "sampling":
		v.Sampling, msg = val, samplingsAny.check(key, val)
	case "depth":
		v.Depth, v.FloatDepth, msg = parseDepth(val)
	case "width":
		v.Width, msg = parseInt(key, val, 1, maxDimension)
	case "height":
		v.Height, msg = parseInt(key, val, 1, maxDimension)
	case "exactframerate":
		v.ExactFrameRate, msg = parseRate(key, val)
	case "colorimetry":
		v.Colorimetry, msg = val, colorimetriesAny.check(key, val)
	case "TCS":
		v.TCS, msg = val, tcsValues.check(key, val)
	case "PM":
		v.PM, msg = val, pmValues.check(key, val)
	case "SSN":
		v.SSN, msg = val, ssnFor(m.Encoding).check(key, val)
	case "TP":
		v.TP, msg = val, tpValues.check(key, val)
	case "RANGE":
		v.Range, msg = val, ranges.check(key, val)
	case "PAR":
		v.PAR, msg = val, checkPAR(val)
	case "MAXUDP":
		v.MaxUDP, msg = parseInt(key, val, 1, maxUDPPayload)
	case "TROFF":
		v.TROFF, msg = parseInt(key, val, 0, maxMicros)
	case "CMAX":
		v.CMAX, msg = parseInt(key, val, 1, maxPackets)
	}
	return true, msg
}

func isVideoKey(key string) bool {
	switch key {
	case "sampling", "depth", "width", "height", "exactframerate", "colorimetry",
		"TCS", "PM", "SSN", "TP", "RANGE", "PAR", "MAXUDP", "TROFF", "CMAX":
		return true
	}
	return false
}

func isJXSKey(key string) bool {
	switch key {
	case "packetmode", "transmode", "profile", "level", "sublevel":
		return true
	}
	return false
}

// jxsParam applies one RFC 9134 fmtp parameter.
func jxsParam(j *JXSFormat, key, val string) string {
	var msg string
	switch key {
	case "packetmode":
		j.PacketMode, msg = parseInt(key, val, 0, 1)
	case "transmode":
		j.TransMode, msg = parseInt(key, val, 0, 1)
	case "profile", "level", "sublevel":
		if !isToken(val) {
			return key + " " + strconv.Quote(val) + ": want a name without spaces, e.g. Main422.10, 2k-1, Sublev3bpp"
		}
		switch key {
		case "profile":
			j.Profile = val
		case "level":
			j.Level = val
		default:
			j.Sublevel = val
		}
	}
	return msg
}

// flag reads a flag parameter: RFC 4175 writes it bare ("interlace");
// GStreamer's caps turn it into interlace=true, so 1/true and 0/false are
// accepted too.
func flag(key, val string, hasVal bool) (bool, string) {
	if !hasVal {
		return true, ""
	}
	switch val {
	case "1", "true":
		return true, ""
	case "0", "false":
		return false, ""
	}
	return false, key + " " + strconv.Quote(val) + ": want the bare flag " + key
}

func parseDepth(val string) (depth int, float bool, msg string) {
	if val == "16f" {
		return 16, true, ""
	}
	n, ok := parseUint(val, 16)
	if !ok || checkDepth(int(n), false) != "" {
		return 0, false, "depth " + strconv.Quote(val) + ": want " + depths
	}
	return int(n), false, ""
}

// audioParam applies one ST 2110-30 fmtp parameter.
func audioParam(a *AudioFormat, key, val string) (bool, string) {
	if key != "channel-order" {
		return false, ""
	}
	if msg := needValue(key, val); msg != "" {
		return true, msg
	}
	groups, _, msg := channelGroups(val)
	a.ChannelOrder, a.Groups = val, groups
	return true, msg
}

// ancParam applies one ST 2110-40 (RFC 8331) fmtp parameter.
func ancParam(a *AncFormat, key, val string) (bool, string) {
	switch key {
	case "DID_SDID", "VPID_Code", "exactframerate", "TM", "SSN", "TROFF":
	default:
		return false, ""
	}
	if msg := needValue(key, val); msg != "" {
		return true, msg
	}
	var msg string
	switch key {
	case "DID_SDID":
		var ids [2]uint8
		ids, msg = parseDIDSDID(val)
		a.DIDSDID = append(a.DIDSDID, ids)
	case "VPID_Code":
		a.VPIDCode, msg = parseInt(key, val, 1, 255)
	case "exactframerate":
		a.ExactFrameRate, msg = parseRate(key, val)
	case "TM":
		a.TM, msg = val, tmValues.check(key, val)
	case "SSN":
		a.SSN, msg = val, ssnAnc.check(key, val)
	case "TROFF":
		a.TROFF, msg = parseInt(key, val, 0, maxMicros)
	}
	return true, msg
}

// parseDIDSDID reads RFC 8331's "{0x61,0x01}": DID and SDID as "0x" and
// one or two hex digits.
func parseDIDSDID(val string) ([2]uint8, string) {
	var ids [2]uint8
	inner, ok := strings.CutPrefix(val, "{")
	inner, ok2 := strings.CutSuffix(inner, "}")
	did, sdid, ok3 := strings.Cut(inner, ",")
	for i, h := range []string{did, sdid} {
		digits, isHex := strings.CutPrefix(strings.TrimSpace(h), "0x")
		if !isHex {
			digits, isHex = strings.CutPrefix(strings.TrimSpace(h), "0X")
		}
		n, err := strconv.ParseUint(digits, 16, 8)
		if !isHex || len(digits) == 0 || len(digits) > 2 || err != nil {
			ok = false
			break
		}
		ids[i] = uint8(n)
	}
	if !ok || !ok2 || !ok3 {
		return ids, "DID_SDID " + strconv.Quote(val) + ": want {0x<DID>,0x<SDID>}, e.g. {0x61,0x01}"
	}
	return ids, ""
}

// Fmtp returns the a=fmtp value (after "a=fmtp:<pt> ") for m's encoding,
// with keys in the order of shared/spec/st2110.md's worked examples; "" when
// there is nothing to say.
func (m *Media) Fmtp() string { return string(m.appendFmtp(nil)) }

// paramWriter appends an fmtp parameter list.
type paramWriter struct {
	b   []byte
	sep string
	n   int
}

func (w *paramWriter) key(k string) {
	if w.n > 0 {
		w.b = append(w.b, w.sep...)
	}
	w.n++
	w.b = append(w.b, k...)
}

func (w *paramWriter) str(k, v string) {
	if v != "" {
		w.key(k)
		w.b = append(append(w.b, '='), v...)
	}
}

func (w *paramWriter) int(k string, v int) {
	if v != 0 {
		w.key(k)
		w.b = strconv.AppendInt(append(w.b, '='), int64(v), 10)
	}
}

func (w *paramWriter) flag(k string, on bool) {
	if on {
		w.key(k)
	}
}

func (w *paramWriter) rate(k string, r Rate) {
	if r.IsZero() {
		return
	}
	w.key(k)
	w.b = strconv.AppendInt(append(w.b, '='), int64(r.Num), 10)
	if r.Den != 1 {
		w.b = strconv.AppendInt(append(w.b, '/'), int64(r.Den), 10)
	}
}

func (w *paramWriter) depth(v *VideoFormat) {
	switch {
	case v.FloatDepth:
		w.str("depth", "16f")
	default:
		w.int("depth", v.Depth)
	}
}

func (m *Media) appendFmtp(b []byte) []byte {
	w := paramWriter{b: b, sep: "; "}
	switch {
	case m.Encoding == EncodingJXSV && m.Video != nil:
		v := m.Video
		if j := m.JXS; j != nil {
			if j.PacketMode != PacketModeAbsent {
				w.key("packetmode")
				w.b = strconv.AppendInt(append(w.b, '='), int64(j.PacketMode), 10)
			}
			w.key("transmode")
			w.b = strconv.AppendInt(append(w.b, '='), int64(j.TransMode), 10)
			w.str("profile", j.Profile)
			w.str("level", j.Level)
			w.str("sublevel", j.Sublevel)
		}
		w.str("sampling", v.Sampling)
		w.depth(v)
		w.int("width", v.Width)
		w.int("height", v.Height)
		w.rate("exactframerate", v.ExactFrameRate)
		w.str("colorimetry", v.Colorimetry)
		w.str("TCS", v.TCS)
		w.str("RANGE", v.Range)
		w.flag("interlace", v.Interlace)
		w.flag("segmented", v.Segmented)
		w.str("SSN", v.SSN)
		w.str("TP", v.TP)
		w.str("PM", v.PM)
		w.tail(v)
	case m.Video != nil:
		v := m.Video
		w.str("sampling", v.Sampling)
		w.int("width", v.Width)
		w.int("height", v.Height)
		w.rate("exactframerate", v.ExactFrameRate)
		w.depth(v)
		w.str("TCS", v.TCS)
		w.str("colorimetry", v.Colorimetry)
		w.str("PM", v.PM)
		w.str("SSN", v.SSN)
		w.str("TP", v.TP)
		w.str("RANGE", v.Range)
		w.flag("interlace", v.Interlace)
		w.flag("segmented", v.Segmented)
		w.tail(v)
	case m.Audio != nil:
		a := m.Audio
		switch {
		case a.ChannelOrder != "":
			w.str("channel-order", a.ChannelOrder)
		case len(a.Groups) > 0:
			w.key("channel-order")
			w.b = append(w.b, "=SMPTE2110.("...)
			for i, g := range a.Groups {
				if i > 0 {
					w.b = append(w.b, ',')
				}
				w.b = append(w.b, g...)
			}
			w.b = append(w.b, ')')
		}
	case m.Anc != nil:
		a := m.Anc
		w.sep = ";" // as RFC 8331's and the spec's examples write it
		for _, ids := range a.DIDSDID {
			w.key("DID_SDID")
			w.b = append(w.b, "={0x"...)
			w.b = appendHex(w.b, ids[0])
			w.b = append(w.b, ",0x"...)
			w.b = appendHex(w.b, ids[1])
			w.b = append(w.b, '}')
		}
		w.int("VPID_Code", a.VPIDCode)
		w.rate("exactframerate", a.ExactFrameRate)
		w.int("TROFF", a.TROFF)
		w.str("TM", a.TM)
		w.str("SSN", a.SSN)
	}
	return w.b
}

// tail writes the optional keys -20 and -22 share, after the required ones.
func (w *paramWriter) tail(v *VideoFormat) {
	w.str("PAR", v.PAR)
	w.int("MAXUDP", v.MaxUDP)
	w.int("TROFF", v.TROFF)
	w.int("CMAX", v.CMAX)
}

func appendHex(b []byte, v uint8) []byte {
	const digits = "0123456789ABCDEF"
	return append(b, digits[v>>4], digits[v&0xF])
}
