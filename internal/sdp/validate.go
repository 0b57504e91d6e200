package sdp

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Missing lists what ST 2110 requires of m but m lacks, in the spec's
// order: fmtp keys by name ("exactframerate", "PM"), other lines by their
// prefix ("a=ts-refclk", "a=ptime", "b=AS"). Parse accepts SDPs with
// missing keys, since FFmpeg and GStreamer write them; a receiver logs the
// list as a warning and assumes the defaults.
//
// Required: -20 sampling, depth, width, height, exactframerate,
// colorimetry, PM, SSN, TP (ST 2110-20 §7.2, ST 2110-21 §8.1); -22
// packetmode, width, height, exactframerate, TP and b=AS (RFC 9134 §7, ST
// 2110-22 §7); -30 a=ptime (ST 2110-30); every essence a=ts-refclk and
// a=mediaclk (ST 2110-10).
func (m *Media) Missing() []string {
	var miss []string
	need := func(absent bool, what string) {
		if absent {
			miss = append(miss, what)
		}
	}
	switch m.Encoding {
	case EncodingRaw:
		v := m.Video
		if v == nil {
			v = &VideoFormat{}
		}
		need(v.Sampling == "", "sampling")
		need(v.Depth == 0, "depth")
		need(v.Width == 0, "width")
		need(v.Height == 0, "height")
		need(v.ExactFrameRate.IsZero(), "exactframerate")
		need(v.Colorimetry == "", "colorimetry")
		need(v.PM == "", "PM")
		need(v.SSN == "", "SSN")
		need(v.TP == "", "TP")
	case EncodingJXSV:
		v, j := m.Video, m.JXS
		if v == nil {
			v = &VideoFormat{}
		}
		need(j == nil || j.PacketMode == PacketModeAbsent, "packetmode")
		need(v.Width == 0, "width")
		need(v.Height == 0, "height")
		need(v.ExactFrameRate.IsZero(), "exactframerate")
		need(v.TP == "", "TP")
		need(m.BandwidthAS == 0, "b=AS")
	case EncodingL16, EncodingL24:
		need(m.PacketTime == 0, "a=ptime")
	}
	need(m.RefClock == "", "a=ts-refclk")
	need(m.MediaClock == "", "a=mediaclk")
	return miss
}

// Validate reports whether m is a conforming ST 2110 media description,
// as mediamesh must send it: everything Parse checks, plus the keys
// Missing lists, ST 2110 names only (no RFC 4175 legacy values), a TTL for
// multicast, audio packet times of whole samples and channel-order groups
// adding up to Channels. The error joins one error per problem, each
// wrapping ErrInvalid.
func (m *Media) Validate() error { return joinProblems("", m.problems()) }

// Validate reports whether s is a conforming ST 2110 description: a valid
// origin, one to MaxMedia valid media sections, unique mids, and for ST
// 2022-7 an a=group:DUP whose legs carry the same format.
func (s *Session) Validate() error {
	var errs []error
	var msgs []string
	if !s.Origin.Is4() {
		msgs = append(msgs, "origin "+strconv.Quote(s.Origin.String())+": want an IPv4 address")
	}
	msgs = checkText(msgs, "name", s.Name)
	if len(s.Media) == 0 || len(s.Media) > MaxMedia {
		msgs = append(msgs, strconv.Itoa(len(s.Media))+" media sections: want 1-"+strconv.Itoa(MaxMedia))
	}
	msgs = append(msgs, s.groupProblems()...)
	if err := joinProblems("", msgs); err != nil {
		errs = append(errs, err)
	}
	for i := range s.Media {
		if err := joinProblems("media "+strconv.Itoa(i)+": ", s.Media[i].problems()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func joinProblems(prefix string, msgs []string) error {
	errs := make([]error, len(msgs))
	for i, msg := range msgs {
		errs[i] = fmt.Errorf("%w: %s%s", ErrInvalid, prefix, msg)
	}
	return errors.Join(errs...)
}

func (s *Session) groupProblems() []string {
	var msgs []string
	for i, a := range s.Media {
		for _, b := range s.Media[:i] {
			if a.Mid != "" && a.Mid == b.Mid {
				msgs = append(msgs, "mid "+strconv.Quote(a.Mid)+" used by two media sections")
			}
		}
	}
	if s.Group == "" {
		return msgs
	}
	f := strings.Fields(s.Group)
	if len(f) < 3 || f[0] != "DUP" || strings.Join(f, " ") != s.Group {
		return append(msgs, "group "+strconv.Quote(s.Group)+": want DUP <mid> <mid>...")
	}
	var first *Media
	for _, mid := range f[1:] {
		var leg *Media
		for i := range s.Media {
			if s.Media[i].Mid == mid {
				leg = &s.Media[i]
			}
		}
		switch {
		case leg == nil:
			msgs = append(msgs, "group mid "+strconv.Quote(mid)+" has no media section")
		case first == nil:
			first = leg
		case leg.Type != first.Type || leg.Encoding != first.Encoding || leg.PayloadType != first.PayloadType ||
			leg.ClockRate != first.ClockRate || leg.Channels != first.Channels || leg.Fmtp() != first.Fmtp():
			// ST 2022-7: the legs are the same RTP stream on two paths.
			msgs = append(msgs, "ST 2022-7 leg "+strconv.Quote(mid)+" differs in format from leg "+strconv.Quote(first.Mid))
		}
	}
	return msgs
}

// problems lists what makes m non-conforming, one message per problem.
func (m *Media) problems() []string {
	var p []string
	audio := m.Encoding == EncodingL16 || m.Encoding == EncodingL24
	switch m.Encoding {
	case EncodingRaw, EncodingJXSV, EncodingL16, EncodingL24, EncodingSMPTE291:
		if m.Type != wantType(m.Encoding) {
			p = check(p, "encoding "+m.Encoding+" with type "+strconv.Quote(m.Type)+": want "+wantType(m.Encoding))
		}
		rateOK := m.ClockRate == 90000
		if audio {
			rateOK = m.ClockRate == 44100 || m.ClockRate == 48000 || m.ClockRate == 96000
		}
		if !rateOK {
			p = check(p, "clock rate "+strconv.FormatUint(uint64(m.ClockRate), 10)+" for "+m.Encoding+": want "+wantRates(audio))
		}
	default:
		p = check(p, "encoding "+strconv.Quote(m.Encoding)+": want raw, jxsv, smpte291, L16 or L24")
	}
	if m.Port == 0 {
		p = check(p, "port 0: want 1-65535")
	}
	if m.PayloadType < 96 || m.PayloadType > 127 {
		p = check(p, "payload type "+strconv.Itoa(int(m.PayloadType))+": want 96-127 (dynamic)")
	}
	if audio {
		p = check(p, inRange("channels", m.Channels, 1, maxChannels))
	} else if m.Channels != 0 {
		p = check(p, "channels "+strconv.Itoa(m.Channels)+" for "+m.Encoding+": want 0")
	}
	switch {
	case !m.Dest.Is4() || m.Dest.IsUnspecified():
		p = check(p, "dest "+strconv.Quote(m.Dest.String())+": want an IPv4 multicast or unicast address")
	case m.Dest.IsMulticast():
		p = check(p, inRange("multicast ttl", m.TTL, 1, 255))
	case m.TTL != 0:
		p = check(p, "ttl "+strconv.Itoa(m.TTL)+" with unicast dest "+m.Dest.String()+": want 0 (a TTL is only for multicast)")
	}
	if m.Source.IsValid() && (!m.Source.Is4() || m.Source.IsMulticast() || m.Source.IsUnspecified()) {
		p = check(p, "source "+m.Source.String()+": want the sender's IPv4 unicast address")
	}
	if m.Mid != "" && !isToken(m.Mid) {
		p = check(p, "mid "+strconv.Quote(m.Mid)+": want a token without spaces")
	}
	if m.RefClock != "" {
		p = check(p, checkRefClock(m.RefClock))
		p = checkText(p, "ts-refclk", m.RefClock)
	}
	if m.MediaClock != "" {
		p = check(p, checkMediaClock(m.MediaClock))
		p = checkText(p, "mediaclk", m.MediaClock)
	}
	p = check(p, checkPacketTime("ptime", m.PacketTime))
	p = check(p, checkPacketTime("maxptime", m.MaxPacketTime))
	if audio && m.PacketTime > 0 && m.ClockRate > 0 {
		// Every ST 2110-30 packet carries exactly one packet time of
		// samples (st2110.md §7): a whole number of them. 1 % slack admits
		// 0.333 for the 333 µs class (16 samples at 48 kHz).
		samples := m.PacketTime * float64(m.ClockRate) / 1000
		if n := math.Round(samples); n < 1 || math.Abs(samples-n) > 0.01*n {
			p = check(p, "ptime "+strconv.FormatFloat(m.PacketTime, 'f', -1, 64)+" ms at "+
				strconv.FormatUint(uint64(m.ClockRate), 10)+" Hz is "+strconv.FormatFloat(samples, 'f', 3, 64)+
				" samples: want a whole number, e.g. ptime 1 or 0.125")
		}
	}
	if m.MaxPacketTime > 0 && m.MaxPacketTime < m.PacketTime {
		p = check(p, "maxptime below ptime")
	}
	p = check(p, inRange("framecount", m.FrameCount, 0, maxFrameCount))
	p = check(p, inRange("b=AS", m.BandwidthAS, 0, maxBandwidth))

	switch m.Encoding {
	case EncodingRaw, EncodingJXSV:
		if m.Video == nil {
			p = check(p, "no VideoFormat for encoding "+m.Encoding)
		} else {
			p = m.Video.problems(p, m.Encoding)
		}
		if m.Encoding == EncodingJXSV {
			if m.JXS == nil {
				p = check(p, "no JXSFormat for encoding jxsv")
			} else {
				p = m.JXS.problems(p)
			}
		}
	case EncodingL16, EncodingL24:
		if m.Audio != nil {
			p = m.Audio.problems(p, m.Channels)
		}
	case EncodingSMPTE291:
		if m.Anc != nil {
			p = m.Anc.problems(p)
		}
	}
	if miss := m.Missing(); len(miss) > 0 {
		p = check(p, "missing "+strings.Join(miss, ", "))
	}
	return p
}

func checkPacketTime(key string, ms float64) string {
	if ms == 0 || ms > 0 && ms <= maxPacketTime {
		return ""
	}
	return key + " " + strconv.FormatFloat(ms, 'g', -1, 64) + ": want 0 (absent) or up to " + strconv.Itoa(maxPacketTime) + " ms"
}

// checkText appends a problem when a free-text field would break the SDP's
// line structure.
func checkText(p []string, key, v string) []string {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return append(p, key+" "+strconv.Quote(v)+": control characters are not allowed")
		}
	}
	return p
}

// check appends msg when it is not empty.
func check(p []string, msg string) []string {
	if msg != "" {
		p = append(p, msg)
	}
	return p
}

// checkSet checks an optional enumerated value.
func checkSet(p []string, set oneOf, key, v string) []string {
	if v == "" {
		return p
	}
	return check(p, set.check(key, v))
}

func (v *VideoFormat) problems(p []string, encoding string) []string {
	samplings := samplings2110
	if encoding == EncodingJXSV {
		samplings = samplingsJXS
	}
	p = checkSet(p, samplings, "sampling", v.Sampling)
	if v.Depth != 0 || v.FloatDepth {
		p = check(p, checkDepth(v.Depth, v.FloatDepth))
	}
	p = check(p, inRange("width", v.Width, 0, maxDimension))
	p = check(p, inRange("height", v.Height, 0, maxDimension))
	if !v.ExactFrameRate.IsZero() {
		p = check(p, checkRate("exactframerate", v.ExactFrameRate))
	}
	p = checkSet(p, colorimetries2110, "colorimetry", v.Colorimetry)
	p = checkSet(p, tcsValues, "TCS", v.TCS)
	p = checkSet(p, pmValues, "PM", v.PM)
	p = checkSet(p, ssnFor(encoding), "SSN", v.SSN)
	p = checkSet(p, tpValues, "TP", v.TP)
	p = checkSet(p, ranges, "RANGE", v.Range)
	if v.PAR != "" {
		p = check(p, checkPAR(v.PAR))
	}
	p = check(p, inRange("MAXUDP", v.MaxUDP, 0, maxUDPPayload))
	p = check(p, inRange("TROFF", v.TROFF, 0, maxMicros))
	p = check(p, inRange("CMAX", v.CMAX, 0, maxPackets))
	if v.Segmented && !v.Interlace {
		p = append(p, segmentedAlone)
	}
	return p
}

func (j *JXSFormat) problems(p []string) []string {
	if j.PacketMode != PacketModeAbsent {
		p = check(p, inRange("packetmode", j.PacketMode, 0, 1))
	}
	p = check(p, inRange("transmode", j.TransMode, 0, 1))
	for _, kv := range [...][2]string{{"profile", j.Profile}, {"level", j.Level}, {"sublevel", j.Sublevel}} {
		if kv[1] != "" && !isToken(kv[1]) {
			p = append(p, kv[0]+" "+strconv.Quote(kv[1])+": want a name without spaces")
		}
	}
	return p
}

func (a *AudioFormat) problems(p []string, channels int) []string {
	order := a.ChannelOrder
	if order == "" && len(a.Groups) > 0 {
		order = "SMPTE2110.(" + strings.Join(a.Groups, ",") + ")"
	}
	if order == "" {
		return p
	}
	groups, total, msg := channelGroups(order)
	if msg != "" {
		return append(p, msg)
	}
	if a.Groups != nil && strings.Join(groups, ",") != strings.Join(a.Groups, ",") {
		p = append(p, "channel-order "+strconv.Quote(order)+" and Groups "+strconv.Quote(strings.Join(a.Groups, ","))+" disagree")
	}
	if total != channels {
		p = append(p, "channel-order "+strconv.Quote(order)+" has "+strconv.Itoa(total)+" channels: want "+strconv.Itoa(channels)+" (rtpmap)")
	}
	return p
}

func (a *AncFormat) problems(p []string) []string {
	p = check(p, inRange("VPID_Code", a.VPIDCode, 0, 255))
	if !a.ExactFrameRate.IsZero() {
		p = check(p, checkRate("exactframerate", a.ExactFrameRate))
	}
	p = checkSet(p, tmValues, "TM", a.TM)
	p = checkSet(p, ssnAnc, "SSN", a.SSN)
	if a.TM != "" && a.SSN == "ST2110-40:2018" {
		// ST 2110-40:2023 §7: TM came with the 2021 SSN value.
		p = append(p, "TM with SSN ST2110-40:2018: want SSN ST2110-40:2021")
	}
	return check(p, inRange("TROFF", a.TROFF, 0, maxMicros))
}
