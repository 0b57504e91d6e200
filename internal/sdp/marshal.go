package sdp

import (
	"strconv"
)

// Marshal returns s as canonical ST 2110 SDP text: CRLF line ends, every
// media section self-contained (its own c=, a=ts-refclk, a=mediaclk), lines
// and fmtp keys in the order of shared/spec/st2110.md §10's worked examples.
// Marshal writes what s holds; call Validate first to make sure that is a
// conforming ST 2110 description. Parse(s.Marshal()) equals s for any s
// that Parse returned.
func (s *Session) Marshal() []byte { return s.Append(make([]byte, 0, 512*max(1, len(s.Media)))) }

// Append appends s.Marshal's text to b and returns the extended slice; with
// enough capacity in b it allocates nothing.
func (s *Session) Append(b []byte) []byte {
	b = append(b, "v=0\r\no=- "...)
	b = strconv.AppendUint(b, s.SessionID, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, s.SessionVersion, 10)
	b = append(b, " IN IP4 "...)
	b = s.Origin.AppendTo(b)
	b = append(b, "\r\ns="...)
	if s.Name == "" {
		b = append(b, ' ') // RFC 4566 §5.3: "s= " when there is no name
	}
	b = append(b, s.Name...)
	b = append(b, "\r\nt=0 0\r\n"...)
	if s.Group != "" {
		b = appendAttr(b, "group:", s.Group)
	}
	for i := range s.Media {
		b = s.Media[i].append(b)
	}
	return b
}

func (m *Media) append(b []byte) []byte {
	b = append(b, "m="...)
	b = append(b, m.Type...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(m.Port), 10)
	b = append(b, " RTP/AVP "...)
	b = strconv.AppendUint(b, uint64(m.PayloadType), 10)
	b = append(b, "\r\nc=IN IP4 "...)
	b = m.Dest.AppendTo(b)
	if m.TTL > 0 && m.Dest.IsMulticast() {
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(m.TTL), 10)
	}
	b = append(b, "\r\n"...)
	if m.BandwidthAS > 0 {
		b = append(b, "b=AS:"...)
		b = strconv.AppendInt(b, int64(m.BandwidthAS), 10)
		b = append(b, "\r\n"...)
	}
	if m.Source.IsValid() {
		b = append(b, "a=source-filter: incl IN IP4 "...)
		b = m.Dest.AppendTo(b)
		b = append(b, ' ')
		b = m.Source.AppendTo(b)
		b = append(b, "\r\n"...)
	}
	b = append(b, "a=rtpmap:"...)
	b = strconv.AppendUint(b, uint64(m.PayloadType), 10)
	b = append(b, ' ')
	b = append(b, m.Encoding...)
	b = append(b, '/')
	b = strconv.AppendUint(b, uint64(m.ClockRate), 10)
	if m.Channels > 0 {
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(m.Channels), 10)
	}
	b = append(b, "\r\n"...)
	head := len(b)
	b = append(b, "a=fmtp:"...)
	b = strconv.AppendUint(b, uint64(m.PayloadType), 10)
	b = append(b, ' ')
	params := len(b)
	if b = m.appendFmtp(b); len(b) == params {
		b = b[:head] // no parameters, no a=fmtp line
	} else {
		b = append(b, "\r\n"...)
	}
	if m.PacketTime > 0 {
		b = appendMillis(append(b, "a=ptime:"...), m.PacketTime)
	}
	if m.MaxPacketTime > 0 {
		b = appendMillis(append(b, "a=maxptime:"...), m.MaxPacketTime)
	}
	if m.FrameCount > 0 {
		b = append(b, "a=framecount:"...)
		b = strconv.AppendInt(b, int64(m.FrameCount), 10)
		b = append(b, "\r\n"...)
	}
	if m.RefClock != "" {
		b = appendAttr(b, "ts-refclk:", m.RefClock)
	}
	if m.MediaClock != "" {
		b = appendAttr(b, "mediaclk:", m.MediaClock)
	}
	if m.Mid != "" {
		b = appendAttr(b, "mid:", m.Mid)
	}
	return b
}

func appendAttr(b []byte, name, value string) []byte {
	b = append(b, "a="...)
	b = append(b, name...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

// appendMillis writes a packet time in its shortest exact decimal form
// ("1", "0.125") and ends the line.
func appendMillis(b []byte, ms float64) []byte {
	return append(strconv.AppendFloat(b, ms, 'f', -1, 64), "\r\n"...)
}
