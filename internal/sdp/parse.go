package sdp

import (
	"net/netip"
	"strconv"
	"strings"
)

// Parse reads an SDP (RFC 4566) describing ST 2110 streams.
//
// Parse is lenient about what receivers meet in practice: LF or CRLF line
// ends, blank lines, trailing spaces, lines in any order after v=, a
// missing s= or t=, unknown attributes and fmtp keys (ignored), spaces
// after ';' in a=fmtp, encoding names in any case, and fmtp keys that ST
// 2110 requires but FFmpeg and GStreamer leave out (see Media.Missing). It
// is strict about what is malformed: bad numbers and addresses, unknown
// enumerated values, payload types that do not match the m= line, a
// dynamic payload type without a=rtpmap, a clock rate wrong for the
// encoding. The error is a *ParseError naming the line, the key, what was
// wrong and what is allowed; it wraps ErrInvalid.
//
// The strings in the result alias one copy of b.
func Parse(b []byte) (*Session, error) {
	if len(b) > MaxSize {
		return nil, &ParseError{Msg: strconv.Itoa(len(b)) + " bytes: want at most " + strconv.Itoa(MaxSize)}
	}
	p := parser{text: string(b)}
	if err := p.scan(); err != nil {
		return nil, err
	}
	return p.finish()
}

// line is one SDP line and where it was.
type line struct {
	n    int    // 1-based; 0 = no such line
	text string // without line end
}

// parser holds the state of one Parse call.
type parser struct {
	text  string
	s     Session
	hasO  bool
	hasS  bool
	nattr int

	// Session-level values that media sections inherit.
	conn      connection
	refClock  string
	mediaClk  string
	filter    sourceFilter
	groupLine line

	media []section
	cur   *section // the last of media, re-pointed after each append; nil at session level
}

// connection is a parsed c= line.
type connection struct {
	line line
	addr netip.Addr
	ttl  int
}

// sourceFilter is a parsed a=source-filter line; an invalid dest means "*".
type sourceFilter struct {
	line line
	dest netip.Addr
	src  netip.Addr
}

// section is a media section while its lines are read: the Media, and the
// lines whose meaning depends on lines that may come after them.
type section struct {
	m         Media
	mline     line
	conn      connection
	rtpmap    line
	fmtp      line
	fmtpValue string
	framerate line   // a=framerate (GStreamer)
	rateValue string // its value
	filter    sourceFilter
	bandwidth line
}

// scan reads the description line by line.
func (p *parser) scan() error {
	rest := p.text
	first := true
	for n := 1; rest != ""; n++ {
		var text string
		text, rest, _ = strings.Cut(rest, "\n")
		text = strings.TrimSuffix(text, "\r")
		l := line{n: n, text: text}
		for i := 0; i < len(text); i++ {
			if c := text[i]; c < ' ' && c != '\t' || c == 0x7f {
				return l.fail("control character " + strconv.QuoteRune(rune(c)) + " in line")
			}
		}
		text = strings.TrimRight(text, " \t")
		if text == "" {
			continue
		}
		if len(text) < 2 || text[1] != '=' || text[0] < 'a' || text[0] > 'z' {
			return l.fail("want <type>=<value>, e.g. a=rtpmap:96 raw/90000")
		}
		value := text[2:]
		if first {
			if text != "v=0" {
				return l.fail("want v=0 as the first line")
			}
			first = false
			continue
		}
		if err := p.handle(l, text[0], value); err != nil {
			return err
		}
	}
	if first {
		return &ParseError{Msg: "empty description: want v=0, o=, s=, t= and m= lines"}
	}
	return nil
}

// handle interprets one line by its type letter.
func (p *parser) handle(l line, typ byte, value string) error {
	switch typ {
	case 'v':
		return l.fail("v= only allowed as the first line")
	case 'o':
		if p.cur != nil {
			return l.fail("o= inside a media section: want it at session level")
		}
		if p.hasO {
			return l.fail("duplicate o=")
		}
		p.hasO = true
		return p.origin(l, value)
	case 's':
		if p.cur != nil {
			return l.fail("s= inside a media section: want it at session level")
		}
		if p.hasS {
			return l.fail("duplicate s=")
		}
		p.hasS = true
		p.s.Name = value
	case 'c':
		c := &p.conn
		if p.cur != nil {
			c = &p.cur.conn
		}
		if c.line.n != 0 {
			return l.fail("duplicate c= (first on line " + strconv.Itoa(c.line.n) + ")")
		}
		return c.parse(l, value)
	case 'b':
		return p.bandwidth(l, value)
	case 'm':
		if len(p.media) == MaxMedia {
			return l.fail("more than " + strconv.Itoa(MaxMedia) + " media sections")
		}
		p.media = append(p.media, section{mline: l})
		p.cur = &p.media[len(p.media)-1]
		return p.cur.mediaLine(l, value)
	case 'a':
		p.nattr++
		if p.nattr > MaxAttributes {
			return l.fail("more than " + strconv.Itoa(MaxAttributes) + " attributes")
		}
		name, v, _ := strings.Cut(value, ":")
		v = strings.TrimSpace(v)
		if p.cur == nil {
			return p.sessionAttribute(l, name, v)
		}
		return p.cur.attribute(l, name, v)
	case 'i', 'u', 'e', 'p', 't', 'r', 'z', 'k':
		// Informational, timing and key lines: ST 2110 streams are
		// permanent (t=0 0) and unencrypted; nothing here changes reception.
	default:
		// RFC 4566 §5: a parser must not use a description whose type
		// letters it does not understand.
		return l.fail("unknown line type '" + string(typ) + "': want v, o, s, i, u, e, p, c, b, t, r, z, k, a or m")
	}
	return nil
}

// origin parses o=<username> <sess-id> <sess-version> IN IP4 <address>.
func (p *parser) origin(l line, value string) error {
	f := strings.Fields(value)
	if len(f) != 6 {
		return l.fail("want o=<username> <sess-id> <sess-version> IN IP4 <address>")
	}
	var ok bool
	if p.s.SessionID, ok = parseUint(f[1], 1<<64-1); !ok {
		return l.fail("sess-id " + strconv.Quote(f[1]) + ": want a decimal number")
	}
	if p.s.SessionVersion, ok = parseUint(f[2], 1<<64-1); !ok {
		return l.fail("sess-version " + strconv.Quote(f[2]) + ": want a decimal number")
	}
	if msg := checkNet(f[3], f[4]); msg != "" {
		return l.fail(msg)
	}
	addr, msg := parseIPv4("address", f[5])
	if msg != "" {
		return l.fail(msg)
	}
	p.s.Origin = addr
	return nil
}

// checkNet checks the <nettype> <addrtype> pair of o=, c= and source-filter.
func checkNet(nettype, addrtype string) string {
	switch {
	case nettype != "IN":
		return "network type " + strconv.Quote(nettype) + ": want IN"
	case addrtype == "IP6":
		return "IP6 is not supported: want IN IP4"
	case addrtype != "IP4":
		return "address type " + strconv.Quote(addrtype) + ": want IP4"
	}
	return ""
}

// parseIPv4 parses a dotted-quad IPv4 address.
func parseIPv4(what, s string) (netip.Addr, string) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, what + " " + strconv.Quote(s) + ": want an IPv4 address like 192.0.2.10"
	}
	return a, ""
}

// parse reads c=IN IP4 <address>[/<ttl>] (RFC 4566 §5.7). A TTL belongs
// only to multicast; address ranges (/<ttl>/<count>) are not supported.
func (c *connection) parse(l line, value string) error {
	f := strings.Fields(value)
	if len(f) != 3 {
		return l.fail("want c=IN IP4 <address>[/<ttl>]")
	}
	if msg := checkNet(f[0], f[1]); msg != "" {
		return l.fail(msg)
	}
	host, ttl, hasTTL := strings.Cut(f[2], "/")
	addr, msg := parseIPv4("address", host)
	if msg != "" {
		return l.fail(msg)
	}
	c.line, c.addr = l, addr
	if !hasTTL {
		return nil
	}
	if !addr.IsMulticast() {
		return l.fail("/ttl on unicast address " + addr.String() + ": a TTL is only allowed with multicast")
	}
	if strings.Contains(ttl, "/") {
		return l.fail("address range " + strconv.Quote(f[2]) + ": want one address <group>/<ttl>")
	}
	if c.ttl, msg = parseInt("ttl", ttl, 0, 255); msg != "" {
		return l.fail(msg)
	}
	return nil
}

// bandwidth reads b=<bwtype>:<kbit/s>. Only AS at media level is kept (ST
// 2110-22 signals the stream's rate with it); other types are ignored.
func (p *parser) bandwidth(l line, value string) error {
	typ, bw, ok := strings.Cut(value, ":")
	if !ok {
		return l.fail("want b=<bwtype>:<bandwidth>, e.g. b=AS:380000")
	}
	if typ != "AS" || p.cur == nil {
		return nil
	}
	if p.cur.bandwidth.n != 0 {
		return l.fail("duplicate b=AS (first on line " + strconv.Itoa(p.cur.bandwidth.n) + ")")
	}
	v, msg := parseInt("b=AS", bw, 1, maxBandwidth)
	if msg != "" {
		return l.fail(msg)
	}
	p.cur.bandwidth, p.cur.m.BandwidthAS = l, v
	return nil
}

// mediaLine reads m=<media> <port> RTP/AVP <pt>.
func (s *section) mediaLine(l line, value string) error {
	f := strings.Fields(value)
	if len(f) < 4 {
		return l.fail("want m=<video|audio> <port> RTP/AVP <payload type>")
	}
	if f[0] != TypeVideo && f[0] != TypeAudio {
		return l.fail("media " + strconv.Quote(f[0]) + ": want video or audio")
	}
	s.m.Type = f[0]
	port, count, hasCount := strings.Cut(f[1], "/")
	p, msg := parseInt("port", port, 1, 65535)
	if msg != "" {
		return l.fail(msg)
	}
	if hasCount && count != "1" {
		return l.fail("port count " + strconv.Quote(count) + ": want one port")
	}
	s.m.Port = uint16(p)
	if f[2] != "RTP/AVP" {
		return l.fail("protocol " + strconv.Quote(f[2]) + ": want RTP/AVP")
	}
	if len(f) > 4 {
		return l.fail("payload types " + strconv.Quote(strings.Join(f[3:], " ")) + ": want exactly one (ST 2110 sends one format per stream)")
	}
	pt, ok := parseUint(f[3], 127)
	if !ok {
		return l.fail("payload type " + strconv.Quote(f[3]) + ": want 96-127")
	}
	if pt < 96 {
		return l.fail("static payload type " + f[3] + ": want a dynamic one, 96-127 (ST 2110-10)")
	}
	s.m.PayloadType = uint8(pt)
	return nil
}

// sessionAttribute handles an a= line before the first m=.
func (p *parser) sessionAttribute(l line, name, v string) error {
	switch name {
	case "group":
		if !strings.HasPrefix(v, "DUP ") {
			return nil // LS, BUNDLE, ...: not ours to act on
		}
		if p.groupLine.n != 0 {
			return l.fail("duplicate a=group:DUP (first on line " + strconv.Itoa(p.groupLine.n) + ")")
		}
		mids := strings.Fields(v)[1:]
		for _, mid := range mids {
			if !isToken(mid) {
				return l.fail("mid " + strconv.Quote(mid) + ": want a token")
			}
		}
		if len(mids) < 2 {
			return l.fail("a=group:DUP with " + strconv.Itoa(len(mids)) + " mid: want two or more")
		}
		p.groupLine, p.s.Group = l, "DUP "+strings.Join(mids, " ")
	case "ts-refclk":
		if p.refClock == "" {
			if msg := checkRefClock(v); msg != "" {
				return l.fail(msg)
			}
			p.refClock = v
		}
	case "mediaclk":
		if p.mediaClk == "" {
			if msg := checkMediaClock(v); msg != "" {
				return l.fail(msg)
			}
			p.mediaClk = v
		}
	case "source-filter":
		return p.filter.parse(l, v)
	}
	return nil
}

// attribute handles an a= line inside a media section.
func (s *section) attribute(l line, name, v string) error {
	switch name {
	case "rtpmap":
		if s.rtpmap.n != 0 {
			return l.fail("duplicate a=rtpmap (first on line " + strconv.Itoa(s.rtpmap.n) + ")")
		}
		s.rtpmap = l
		return s.parseRtpmap(l, v)
	case "fmtp":
		if s.fmtp.n != 0 {
			return l.fail("duplicate a=fmtp (first on line " + strconv.Itoa(s.fmtp.n) + ")")
		}
		pt, params, _ := strings.Cut(v, " ")
		if msg := s.checkPT(pt); msg != "" {
			return l.fail(msg)
		}
		s.fmtp, s.fmtpValue = l, params
	case "source-filter":
		return s.filter.parse(l, v)
	case "ts-refclk":
		// RFC 7273 allows alternatives on several lines; the first is the
		// preferred one.
		if s.m.RefClock == "" {
			if msg := checkRefClock(v); msg != "" {
				return l.fail(msg)
			}
			s.m.RefClock = v
		}
	case "mediaclk":
		if s.m.MediaClock != "" {
			return l.fail("duplicate a=mediaclk")
		}
		if msg := checkMediaClock(v); msg != "" {
			return l.fail(msg)
		}
		s.m.MediaClock = v
	case "mid":
		if s.m.Mid != "" {
			return l.fail("duplicate a=mid")
		}
		if !isToken(v) {
			return l.fail("mid " + strconv.Quote(v) + ": want a token without spaces")
		}
		s.m.Mid = v
	case "ptime":
		return parsePacketTime(l, "ptime", v, &s.m.PacketTime)
	case "maxptime":
		return parsePacketTime(l, "maxptime", v, &s.m.MaxPacketTime)
	case "framecount":
		if s.m.FrameCount != 0 {
			return l.fail("duplicate a=framecount")
		}
		n, msg := parseInt("framecount", v, 1, maxFrameCount)
		if msg != "" {
			return l.fail(msg)
		}
		s.m.FrameCount = n
	case "framerate":
		if s.framerate.n != 0 {
			return l.fail("duplicate a=framerate")
		}
		s.framerate, s.rateValue = l, v
	}
	return nil
}

func parsePacketTime(l line, key, v string, dst *float64) error {
	if *dst != 0 {
		return l.fail("duplicate a=" + key)
	}
	f, ok := parseDecimal(v)
	if !ok || f <= 0 || f > maxPacketTime {
		return l.fail(key + " " + strconv.Quote(v) + ": want milliseconds like 1 or 0.125")
	}
	*dst = f
	return nil
}

// checkPT checks that an rtpmap or fmtp payload type is the m= line's.
func (s *section) checkPT(pt string) string {
	n, ok := parseUint(pt, 127)
	if !ok {
		return "payload type " + strconv.Quote(pt) + ": want 96-127"
	}
	if uint8(n) != s.m.PayloadType {
		return "payload type " + pt + " is not on the m= line: want " + strconv.Itoa(int(s.m.PayloadType))
	}
	return ""
}

// parseRtpmap reads a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>].
func (s *section) parseRtpmap(l line, v string) error {
	pt, enc, _ := strings.Cut(v, " ")
	if msg := s.checkPT(pt); msg != "" {
		return l.fail(msg)
	}
	enc = strings.TrimSpace(enc)
	name, rest, _ := strings.Cut(enc, "/")
	rate, params, hasParams := strings.Cut(rest, "/")
	m := &s.m
	switch strings.ToLower(name) {
	case "raw":
		m.Encoding = EncodingRaw
	case "jxsv":
		m.Encoding = EncodingJXSV
	case "smpte291":
		m.Encoding = EncodingSMPTE291
	case "l16":
		m.Encoding = EncodingL16
	case "l24":
		m.Encoding = EncodingL24
	default:
		return l.fail("encoding " + strconv.Quote(name) + ": want raw, jxsv, smpte291, L16 or L24")
	}
	audio := m.Encoding == EncodingL16 || m.Encoding == EncodingL24
	if want := wantType(m.Encoding); m.Type != want {
		return l.fail("encoding " + m.Encoding + " in m=" + m.Type + ": want m=" + want)
	}
	r, ok := parseUint(rate, 1<<32-1)
	switch {
	case !ok:
		return l.fail("clock rate " + strconv.Quote(rate) + ": want " + wantRates(audio))
	case audio && r != 44100 && r != 48000 && r != 96000, !audio && r != 90000:
		return l.fail("clock rate " + rate + " for " + m.Encoding + ": want " + wantRates(audio))
	}
	m.ClockRate = uint32(r)
	switch {
	case audio && !hasParams:
		m.Channels = 1 // RFC 4566 §6: encoding parameters default to one channel
	case audio:
		n, msg := parseInt("channels", params, 1, maxChannels)
		if msg != "" {
			return l.fail(msg)
		}
		m.Channels = n
	case hasParams:
		return l.fail("encoding parameters " + strconv.Quote(params) + " for " + m.Encoding + ": want none")
	}
	return nil
}

func wantType(encoding string) string {
	if encoding == EncodingL16 || encoding == EncodingL24 {
		return TypeAudio
	}
	return TypeVideo
}

func wantRates(audio bool) string {
	if audio {
		return "48000, 96000 or 44100"
	}
	return "90000"
}

// parse reads a=source-filter: incl IN IP4 <dest> <source> (RFC 4570 §3).
func (f *sourceFilter) parse(l line, v string) error {
	if f.line.n != 0 {
		return l.fail("duplicate a=source-filter (first on line " + strconv.Itoa(f.line.n) + ")")
	}
	fields := strings.Fields(v)
	if len(fields) < 5 {
		return l.fail("want a=source-filter: incl IN IP4 <dest> <source>")
	}
	if fields[0] != "incl" {
		return l.fail("filter mode " + strconv.Quote(fields[0]) + ": want incl")
	}
	if fields[2] != "*" { // RFC 4570 §3: "*" matches any address type
		if msg := checkNet(fields[1], fields[2]); msg != "" {
			return l.fail(msg)
		}
	} else if fields[1] != "IN" {
		return l.fail("network type " + strconv.Quote(fields[1]) + ": want IN")
	}
	if len(fields) > 5 {
		return l.fail(strconv.Itoa(len(fields)-4) + " source addresses: want one")
	}
	f.line = l
	if fields[3] != "*" {
		dest, msg := parseIPv4("dest", fields[3])
		if msg != "" {
			return l.fail(msg)
		}
		f.dest = dest
	}
	src, msg := parseIPv4("source", fields[4])
	if msg != "" {
		return l.fail(msg)
	}
	if src.IsMulticast() || src.IsUnspecified() {
		return l.fail("source " + src.String() + ": want the sender's unicast address")
	}
	f.src = src
	return nil
}

// finish checks what needs the whole description and builds the Session.
func (p *parser) finish() (*Session, error) {
	if !p.hasO {
		return nil, &ParseError{Msg: "no o= line: want o=- <sess-id> <sess-version> IN IP4 <address>"}
	}
	if len(p.media) == 0 {
		return nil, &ParseError{Msg: "no m= line: want one media section per stream"}
	}
	p.s.Media = make([]Media, len(p.media))
	for i := range p.media {
		if err := p.finishMedia(&p.media[i]); err != nil {
			return nil, err
		}
		p.s.Media[i] = p.media[i].m
	}
	if err := p.checkGroup(); err != nil {
		return nil, err
	}
	return &p.s, nil
}

func (p *parser) finishMedia(s *section) error {
	m := &s.m
	conn := s.conn
	if conn.line.n == 0 {
		conn = p.conn
	}
	if conn.line.n == 0 {
		return s.mline.fail("no c= line at session or media level")
	}
	m.Dest, m.TTL = conn.addr, conn.ttl
	if s.rtpmap.n == 0 {
		return s.mline.fail("no a=rtpmap:" + strconv.Itoa(int(m.PayloadType)) + ": a dynamic payload type needs one")
	}
	if err := s.parseFmtp(); err != nil {
		return err
	}
	filter := s.filter
	if filter.line.n == 0 && (!p.filter.dest.IsValid() || p.filter.dest == m.Dest) {
		filter = p.filter // a session-level filter applies to the sections it names
	}
	if filter.line.n != 0 {
		if filter.dest.IsValid() && filter.dest != m.Dest {
			return filter.line.fail("dest " + filter.dest.String() + " is not the c= address: want " + m.Dest.String())
		}
		m.Source = filter.src
	}
	if m.RefClock == "" {
		m.RefClock = p.refClock
	}
	if m.MediaClock == "" {
		m.MediaClock = p.mediaClk
	}
	return nil
}

// checkGroup checks that every mid a=group:DUP names is one section's.
func (p *parser) checkGroup() error {
	for i, a := range p.s.Media {
		for _, b := range p.s.Media[:i] {
			if a.Mid != "" && a.Mid == b.Mid {
				return p.media[i].mline.fail("mid " + strconv.Quote(a.Mid) + " used by two media sections")
			}
		}
	}
	if p.s.Group == "" {
		return nil
	}
	for _, mid := range strings.Fields(p.s.Group)[1:] {
		found := false
		for _, m := range p.s.Media {
			found = found || m.Mid == mid
		}
		if !found {
			return p.groupLine.fail("mid " + strconv.Quote(mid) + " has no media section with a=mid:" + mid)
		}
	}
	return nil
}

func (l line) fail(msg string) error {
	return &ParseError{Line: l.n, Text: l.text, Msg: msg}
}
