package sdp_test

import (
	"bytes"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"mediamesh/internal/sdp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from Marshal's output")

const ptpClock = "ptp=IEEE1588-2008:08-00-11-FF-FE-21-E1-B0:127"

// goldenCases are the inputs under testdata/. Canonical ones are already
// in Marshal's form, so the golden file must equal the input byte for byte.
var goldenCases = []struct {
	file      string
	canonical bool
	missing   []string // Media[0].Missing()
}{
	{file: "st2110-20.sdp", canonical: true},
	{file: "st2110-30.sdp", canonical: true},
	{file: "st2110-22.sdp", canonical: true},
	{file: "st2110-40.sdp", canonical: true},
	{file: "st2022-7.sdp", canonical: true},
	{file: "ffmpeg-video.sdp", missing: []string{"exactframerate", "colorimetry", "PM", "SSN", "TP", "a=ts-refclk", "a=mediaclk"}},
	{file: "ffmpeg-audio.sdp", missing: []string{"a=ptime", "a=ts-refclk", "a=mediaclk"}},
	{file: "gstreamer-video.sdp", missing: []string{"PM", "SSN", "TP", "a=ts-refclk", "a=mediaclk"}},
	{file: "gstreamer-audio.sdp", missing: []string{"a=ts-refclk", "a=mediaclk"}},
	{file: "interop-gst-video.sdp"},
	{file: "interop-gst-audio.sdp"},
	{file: "lenient.sdp"},
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.sdp")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(goldenCases) {
		t.Fatalf("testdata has %d .sdp files, goldenCases lists %d", len(files), len(goldenCases))
	}
	for _, tc := range goldenCases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			in := readFile(t, tc.file)
			s, err := sdp.Parse(in)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Marshal()
			golden := filepath.Join("testdata", strings.TrimSuffix(tc.file, ".sdp")+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Marshal differs from %s (run with -update to accept):\n%s", golden, got)
			}
			if tc.canonical && !bytes.Equal(got, in) {
				t.Errorf("canonical input does not round-trip:\n got %q\nwant %q", got, in)
			}
			again, err := sdp.Parse(got)
			if err != nil {
				t.Fatalf("Parse(Marshal): %v", err)
			}
			if !reflect.DeepEqual(again, s) {
				t.Errorf("Parse(Marshal) = %+v, want %+v", again, s)
			}
			if miss := s.Media[0].Missing(); !slices.Equal(miss, tc.missing) {
				t.Errorf("Missing() = %q, want %q", miss, tc.missing)
			}
			if len(tc.missing) == 0 {
				if err := s.Validate(); err != nil {
					t.Errorf("Validate: %v", err)
				}
			}
		})
	}
}

// built returns the Sessions media-proxy would build for the worked
// examples; TestParse expects Parse to return exactly these.
func built() map[string]*sdp.Session {
	origin := netip.MustParseAddr("192.0.2.10")
	media := func(typ string, port uint16, pt uint8, enc string, rate uint32, group string) sdp.Media {
		return sdp.Media{
			Type: typ, Port: port, PayloadType: pt, Encoding: enc, ClockRate: rate,
			Dest: netip.MustParseAddr(group), TTL: 64, Source: origin,
			RefClock: ptpClock, MediaClock: "direct=0",
		}
	}
	video := media(sdp.TypeVideo, 5004, 96, sdp.EncodingRaw, 90000, "239.10.1.1")
	video.Video = &sdp.VideoFormat{
		Sampling: "YCbCr-4:2:2", Width: 1920, Height: 1080, ExactFrameRate: sdp.Rate{Num: 60000, Den: 1001},
		Depth: 10, TCS: "SDR", Colorimetry: "BT709", PM: "2110GPM", SSN: "ST2110-20:2017", TP: "2110TPW",
	}
	audio := media(sdp.TypeAudio, 5004, 97, sdp.EncodingL24, 48000, "239.10.1.2")
	audio.Channels, audio.PacketTime = 2, 1
	audio.Audio = &sdp.AudioFormat{ChannelOrder: "SMPTE2110.(ST)", Groups: []string{"ST"}}
	jxs := media(sdp.TypeVideo, 5006, 98, sdp.EncodingJXSV, 90000, "239.10.1.3")
	jxs.BandwidthAS = 380000
	jxs.Video = &sdp.VideoFormat{
		Sampling: "YCbCr-4:2:2", Depth: 10, Width: 1920, Height: 1080, ExactFrameRate: sdp.Rate{Num: 60000, Den: 1001},
		Colorimetry: "BT709", TCS: "SDR", Range: "NARROW", SSN: "ST2110-22:2019", TP: "2110TPNL",
	}
	jxs.JXS = &sdp.JXSFormat{PacketMode: 0, TransMode: 1, Profile: "Main422.10", Level: "2k-1", Sublevel: "Sublev3bpp"}
	anc := media(sdp.TypeVideo, 5008, 100, sdp.EncodingSMPTE291, 90000, "239.10.1.4")
	anc.Anc = &sdp.AncFormat{
		DIDSDID: [][2]uint8{{0x61, 0x01}, {0x41, 0x07}}, VPIDCode: 133,
		ExactFrameRate: sdp.Rate{Num: 60000, Den: 1001}, TM: "CTM", SSN: "ST2110-40:2021",
	}
	session := func(id uint64, name string, m sdp.Media) *sdp.Session {
		return &sdp.Session{Origin: origin, SessionID: id, SessionVersion: id, Name: name, Media: []sdp.Media{m}}
	}
	return map[string]*sdp.Session{
		"st2110-20.sdp": session(1700000000, "Camera 1 video", video),
		"st2110-30.sdp": session(1700000001, "Camera 1 audio", audio),
		"st2110-22.sdp": session(1700000002, "Camera 1 JPEG XS", jxs),
		"st2110-40.sdp": session(1700000003, "Camera 1 ANC", anc),
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	loopback := netip.MustParseAddr("127.0.0.1")
	ffVideo := &sdp.Session{Origin: loopback, Name: "No Name", Media: []sdp.Media{{
		Type: sdp.TypeVideo, Port: 5004, PayloadType: 96, Encoding: sdp.EncodingRaw, ClockRate: 90000,
		Dest: loopback, BandwidthAS: 46080,
		Video: &sdp.VideoFormat{Sampling: "YCbCr-4:2:2", Width: 320, Height: 240, Depth: 10},
	}}}
	ffAudio := &sdp.Session{Origin: loopback, Name: "No Name", Media: []sdp.Media{{
		Type: sdp.TypeAudio, Port: 5006, PayloadType: 97, Encoding: sdp.EncodingL24, ClockRate: 48000, Channels: 2,
		Dest: loopback, BandwidthAS: 2304, Audio: &sdp.AudioFormat{},
	}}}
	gstVideo := &sdp.Session{Origin: loopback, SessionID: 1188340656180883, SessionVersion: 1,
		Name: "Session streamed with GStreamer", Media: []sdp.Media{{
			Type: sdp.TypeVideo, Port: 5004, PayloadType: 96, Encoding: sdp.EncodingRaw, ClockRate: 90000, Dest: loopback,
			Video: &sdp.VideoFormat{Sampling: "YCbCr-4:2:2", Depth: 10, Width: 1920, Height: 1080,
				Colorimetry: "BT709-2", ExactFrameRate: sdp.Rate{Num: 30000, Den: 1001}},
		}}}
	group, src := netip.MustParseAddr("239.1.2.3"), netip.MustParseAddr("10.0.0.5")
	lenient := &sdp.Session{Origin: src, SessionID: 42, SessionVersion: 7, Name: "Router output 12", Media: []sdp.Media{{
		Type: sdp.TypeVideo, Port: 20000, PayloadType: 112, Encoding: sdp.EncodingRaw, ClockRate: 90000,
		Dest: group, TTL: 32, Source: src, Mid: "v1", BandwidthAS: 2600000,
		RefClock: "ptp=IEEE1588-2019:AC-DE-48-FF-FE-00-11-22:0", MediaClock: "direct=0 rate=90000/1",
		Video: &sdp.VideoFormat{Sampling: "YCbCr-4:2:2", Width: 1920, Height: 1080, ExactFrameRate: sdp.Rate{Num: 25, Den: 1},
			Depth: 10, Colorimetry: "BT709", PM: "2110GPM", SSN: "ST2110-20:2022", TP: "2110TPN", Interlace: true, Segmented: true,
			PAR: "1:1", Range: "FULL", MaxUDP: 8960, TROFF: 37, CMAX: 4},
	}}}
	want := built()
	want["ffmpeg-video.sdp"], want["ffmpeg-audio.sdp"] = ffVideo, ffAudio
	want["gstreamer-video.sdp"], want["lenient.sdp"] = gstVideo, lenient
	for file, w := range want {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			got, err := sdp.Parse(readFile(t, file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got.Media[0], w.Media[0])
			}
		})
	}
}

func TestParse2022_7(t *testing.T) {
	t.Parallel()
	s, err := sdp.Parse(readFile(t, "st2022-7.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Group != "DUP primary secondary" || len(s.Media) != 2 {
		t.Fatalf("Group %q with %d media, want DUP primary secondary with 2", s.Group, len(s.Media))
	}
	for i, want := range []struct{ mid, dest, src string }{
		{"primary", "239.10.1.1", "192.0.2.10"},
		{"secondary", "239.20.1.1", "198.51.100.10"},
	} {
		m := s.Media[i]
		if m.Mid != want.mid || m.Dest.String() != want.dest || m.Source.String() != want.src {
			t.Errorf("leg %d: mid %q dest %v source %v, want %q %s %s", i, m.Mid, m.Dest, m.Source, want.mid, want.dest, want.src)
		}
	}
}

// TestMarshalBuilt checks that Sessions built field by field, as
// media-proxy builds its tx SDPs, validate and marshal to the worked
// examples.
func TestMarshalBuilt(t *testing.T) {
	t.Parallel()
	for file, s := range built() {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			if got, want := s.Marshal(), readFile(t, file); !bytes.Equal(got, want) {
				t.Errorf("Marshal:\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestFmtp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    sdp.Media
		want string
	}{
		{"video optional keys", sdp.Media{Encoding: sdp.EncodingRaw, Video: &sdp.VideoFormat{
			Sampling: "RGB", Width: 3840, Height: 2160, ExactFrameRate: sdp.Rate{Num: 50, Den: 1}, Depth: 16, FloatDepth: true,
			TCS: "LINEAR", Colorimetry: "BT2100", PM: "2110BPM", SSN: "ST2110-20:2022", TP: "2110TPNL", Range: "FULL",
			Interlace: true, Segmented: true, PAR: "12:11", MaxUDP: 8960, TROFF: 100, CMAX: 8,
		}}, "sampling=RGB; width=3840; height=2160; exactframerate=50; depth=16f; TCS=LINEAR; colorimetry=BT2100; PM=2110BPM; " +
			"SSN=ST2110-20:2022; TP=2110TPNL; RANGE=FULL; interlace; segmented; PAR=12:11; MAXUDP=8960; TROFF=100; CMAX=8"},
		{"video minimal", sdp.Media{Encoding: sdp.EncodingRaw, Video: &sdp.VideoFormat{Sampling: "YCbCr-4:2:2", Width: 320, Height: 240, Depth: 10}},
			"sampling=YCbCr-4:2:2; width=320; height=240; depth=10"},
		{"jxsv without packetmode", sdp.Media{Encoding: sdp.EncodingJXSV, Video: &sdp.VideoFormat{Width: 1280, Height: 720},
			JXS: &sdp.JXSFormat{PacketMode: sdp.PacketModeAbsent, TransMode: 0}}, "transmode=0; width=1280; height=720"},
		{"audio from groups", sdp.Media{Encoding: sdp.EncodingL24, Audio: &sdp.AudioFormat{Groups: []string{"51", "ST"}}},
			"channel-order=SMPTE2110.(51,ST)"},
		{"audio without order", sdp.Media{Encoding: sdp.EncodingL16, Audio: &sdp.AudioFormat{}}, ""},
		{"anc", sdp.Media{Encoding: sdp.EncodingSMPTE291, Anc: &sdp.AncFormat{DIDSDID: [][2]uint8{{0x60, 0x60}, {0xFF, 0x0A}}, TROFF: 500}},
			"DID_SDID={0x60,0x60};DID_SDID={0xFF,0x0A};TROFF=500"},
		{"anc empty", sdp.Media{Encoding: sdp.EncodingSMPTE291, Anc: &sdp.AncFormat{}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.m.Fmtp(); got != tc.want {
				t.Errorf("Fmtp() = %q\nwant     %q", got, tc.want)
			}
		})
	}
}

// base is a valid -20 description the error table edits line by line.
const base = `v=0
o=- 1 1 IN IP4 192.0.2.10
s=test
t=0 0
m=video 5004 RTP/AVP 96
c=IN IP4 239.10.1.1/64
a=source-filter: incl IN IP4 239.10.1.1 192.0.2.10
a=rtpmap:96 raw/90000
a=fmtp:96 sampling=YCbCr-4:2:2; width=1920; height=1080; exactframerate=50; depth=10; colorimetry=BT709; PM=2110GPM; SSN=ST2110-20:2017; TP=2110TPN
a=ts-refclk:ptp=IEEE1588-2008:08-00-11-FF-FE-21-E1-B0:127
a=mediaclk:direct=0
`

// edit returns base with the line starting with prefix replaced by repl
// ("" deletes it). A prefix not in base yields text that fails every case.
func edit(prefix, repl string) string {
	lines := strings.SplitAfter(base, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			if repl == "" {
				lines[i] = ""
			} else {
				lines[i] = repl + "\n"
			}
			return strings.Join(lines, "")
		}
	}
	return "edit: no line " + prefix
}

func fmtp(params string) string { return edit("a=fmtp:", "a=fmtp:96 "+params) }

var errorCases = []struct {
	name string
	in   string
	line int    // ParseError.Line
	want string // substring of the message
}{
	{"empty", "", 0, "empty description"},
	{"no v first", "o=- 1 1 IN IP4 192.0.2.10\nv=0\n", 1, "want v=0 as the first line"},
	{"v=1", strings.Replace(base, "v=0", "v=1", 1), 1, "want v=0"},
	{"garbage line", edit("s=", "hello"), 3, "want <type>=<value>"},
	{"unknown type", edit("s=", "x=1"), 3, "unknown line type 'x'"},
	{"control char", edit("s=", "s=a\x00b"), 3, `control character '\x00'`},
	{"no o", edit("o=", ""), 0, "no o= line"},
	{"duplicate o", edit("s=", "o=- 1 1 IN IP4 192.0.2.10"), 3, "duplicate o="},
	{"o fields", edit("o=", "o=- 1 1 IN IP4"), 2, "want o=<username>"},
	{"o sess-id", edit("o=", "o=- x1 1 IN IP4 192.0.2.10"), 2, `sess-id "x1"`},
	{"o sess-id overflow", edit("o=", "o=- 18446744073709551616 1 IN IP4 192.0.2.10"), 2, "sess-id"},
	{"o IP6", edit("o=", "o=- 1 1 IN IP6 ::1"), 2, "IP6 is not supported: want IN IP4"},
	{"o hostname", edit("o=", "o=- 1 1 IN IP4 camera.local"), 2, `address "camera.local": want an IPv4 address`},
	{"no m", strings.Split(base, "m=")[0], 0, "no m= line"},
	{"m media", edit("m=", "m=text 5004 RTP/AVP 96"), 5, `media "text": want video or audio`},
	{"m port 0", edit("m=", "m=video 0 RTP/AVP 96"), 5, `port "0": want an integer 1-65535`},
	{"m port big", edit("m=", "m=video 65536 RTP/AVP 96"), 5, `port "65536"`},
	{"m port count", edit("m=", "m=video 5004/2 RTP/AVP 96"), 5, "port count"},
	{"m proto", edit("m=", "m=video 5004 RTP/SAVP 96"), 5, `protocol "RTP/SAVP": want RTP/AVP`},
	{"m two pts", edit("m=", "m=video 5004 RTP/AVP 96 97"), 5, "want exactly one"},
	{"m static pt", edit("m=", "m=video 5004 RTP/AVP 33"), 5, "static payload type 33: want a dynamic one, 96-127"},
	{"m pt 128", edit("m=", "m=video 5004 RTP/AVP 128"), 5, `payload type "128": want 96-127`},
	{"too many media", base + strings.Repeat("m=video 5004 RTP/AVP 96\n", sdp.MaxMedia), 5 + sdp.MaxMedia*1 + 6, "more than 16 media sections"},
	{"too many attributes", base + strings.Repeat("a=recvonly\n", sdp.MaxAttributes), 12 + sdp.MaxAttributes - 5, "more than 256 attributes"},
	{"no c", edit("c=", ""), 5, "no c= line at session or media level"},
	{"c IP6", edit("c=", "c=IN IP6 ff0e::1"), 6, "IP6 is not supported"},
	{"c nettype", edit("c=", "c=ATM IP4 239.10.1.1/64"), 6, `network type "ATM": want IN`},
	{"c bad address", edit("c=", "c=IN IP4 239.10.1/64"), 6, `address "239.10.1"`},
	{"c ttl range", edit("c=", "c=IN IP4 239.10.1.1/256"), 6, `ttl "256": want an integer 0-255`},
	{"c unicast ttl", edit("c=", "c=IN IP4 192.0.2.1/64"), 6, "only allowed with multicast"},
	{"c address range", edit("c=", "c=IN IP4 239.10.1.1/64/2"), 6, "address range"},
	{"c duplicate", edit("a=source-filter", "c=IN IP4 239.10.1.1/64"), 7, "duplicate c="},
	{"b=AS bad", edit("c=", "c=IN IP4 239.10.1.1/64\nb=AS:fast"), 7, `b=AS "fast"`},
	{"b no colon", edit("c=", "c=IN IP4 239.10.1.1/64\nb=AS"), 7, "want b=<bwtype>:<bandwidth>"},
	{"no rtpmap", edit("a=rtpmap", ""), 5, "no a=rtpmap:96: a dynamic payload type needs one"},
	{"rtpmap pt", edit("a=rtpmap", "a=rtpmap:97 raw/90000"), 8, "payload type 97 is not on the m= line: want 96"},
	{"rtpmap encoding", edit("a=rtpmap", "a=rtpmap:96 H264/90000"), 8, `encoding "H264": want raw, jxsv, smpte291, L16 or L24`},
	{"rtpmap clock", edit("a=rtpmap", "a=rtpmap:96 raw/48000"), 8, "clock rate 48000 for raw: want 90000"},
	{"rtpmap clock syntax", edit("a=rtpmap", "a=rtpmap:96 raw/9e4"), 8, `clock rate "9e4"`},
	{"rtpmap video params", edit("a=rtpmap", "a=rtpmap:96 raw/90000/2"), 8, `encoding parameters "2" for raw: want none`},
	{"rtpmap type", edit("a=rtpmap", "a=rtpmap:96 L24/48000/2"), 8, "encoding L24 in m=video: want m=audio"},
	{"rtpmap duplicate", edit("a=fmtp", "a=rtpmap:96 raw/90000"), 9, "duplicate a=rtpmap"},
	{"fmtp pt", edit("a=fmtp", "a=fmtp:98 sampling=RGB"), 9, "payload type 98 is not on the m= line"},
	{"fmtp duplicate", edit("a=ts-refclk", "a=fmtp:96 depth=8"), 10, "duplicate a=fmtp"},
	{"depth", fmtp("sampling=YCbCr-4:2:2; depth=11"), 9, `depth "11": want 8, 10, 12, 16 or 16f`},
	{"sampling", fmtp("sampling=YUV"), 9, `sampling "YUV": want YCbCr-4:4:4`},
	{"width 0", fmtp("width=0"), 9, `width "0": want an integer 1-32767`},
	{"height big", fmtp("height=32768"), 9, `height "32768": want an integer 1-32767`},
	{"width sign", fmtp("width=+1920"), 9, `width "+1920"`},
	{"width empty", fmtp("width="), 9, "width: want width=<value>"},
	{"width flag", fmtp("width"), 9, "width: want width=<value>"},
	{"exactframerate", fmtp("exactframerate=29.97"), 9, `exactframerate "29.97": want an integer like 50 or a ratio like 60000/1001`},
	{"exactframerate den 0", fmtp("exactframerate=60000/0"), 9, `exactframerate "60000/0"`},
	{"colorimetry", fmtp("colorimetry=sRGB"), 9, `colorimetry "sRGB": want BT601`},
	{"TCS", fmtp("TCS=HDR"), 9, `TCS "HDR": want SDR`},
	{"PM", fmtp("PM=GPM"), 9, `PM "GPM": want 2110GPM or 2110BPM`},
	{"SSN", fmtp("SSN=ST2110-22:2019"), 9, `SSN "ST2110-22:2019": want ST2110-20:2017 or ST2110-20:2022`},
	{"TP", fmtp("TP=2110TPX"), 9, `TP "2110TPX": want 2110TPN, 2110TPNL or 2110TPW`},
	{"RANGE", fmtp("RANGE=LIMITED"), 9, `RANGE "LIMITED": want NARROW, FULLPROTECT or FULL`},
	{"PAR", fmtp("PAR=16/9"), 9, `PAR "16/9": want w:h`},
	{"MAXUDP", fmtp("MAXUDP=9000"), 9, `MAXUDP "9000": want an integer 1-8960`},
	{"TROFF", fmtp("TROFF=-5"), 9, `TROFF "-5"`},
	{"interlace value", fmtp("interlace=yes"), 9, `interlace "yes": want the bare flag interlace`},
	{"segmented alone", fmtp("segmented"), 9, "segmented without interlace"},
	{"duplicate key", fmtp("width=1920; width=1280"), 9, "duplicate key width"},
	{"gst framerate", fmtp("a-framerate=fast"), 9, `framerate "fast": want frames per second`},
	{"a=framerate", fmtp("depth=10") + "a=framerate:NaN\n", 12, `framerate "NaN"`},
	{"ts-refclk version", edit("a=ts-refclk", "a=ts-refclk:ptp=IEEE1588-2000:08-00-11-FF-FE-21-E1-B0:127"), 10, `PTP version "IEEE1588-2000"`},
	{"ts-refclk gmid", edit("a=ts-refclk", "a=ts-refclk:ptp=IEEE1588-2008:08-00-11-FF-FE-21-E1:127"), 10, "grandmaster EUI-64"},
	{"ts-refclk domain", edit("a=ts-refclk", "a=ts-refclk:ptp=IEEE1588-2008:08-00-11-FF-FE-21-E1-B0:128"), 10, "domain 0-127"},
	{"ts-refclk localmac", edit("a=ts-refclk", "a=ts-refclk:localmac=00-11-22"), 10, "want localmac=<MAC"},
	{"ts-refclk empty", edit("a=ts-refclk", "a=ts-refclk:"), 10, "ts-refclk: want a clock source"},
	{"mediaclk offset", edit("a=mediaclk", "a=mediaclk:direct=-1"), 11, `mediaclk "direct=-1": want direct=<RTP offset`},
	{"mediaclk rate", edit("a=mediaclk", "a=mediaclk:direct=0 rate=x"), 11, "mediaclk"},
	{"source-filter mode", edit("a=source-filter", "a=source-filter: excl IN IP4 239.10.1.1 192.0.2.10"), 7, `filter mode "excl": want incl`},
	{"source-filter dest", edit("a=source-filter", "a=source-filter: incl IN IP4 239.10.1.2 192.0.2.10"), 7, "dest 239.10.1.2 is not the c= address: want 239.10.1.1"},
	{"source-filter two sources", edit("a=source-filter", "a=source-filter: incl IN IP4 239.10.1.1 192.0.2.10 192.0.2.11"), 7, "2 source addresses: want one"},
	{"source-filter multicast source", edit("a=source-filter", "a=source-filter: incl IN IP4 239.10.1.1 239.0.0.1"), 7, "want the sender's unicast address"},
	{"source-filter short", edit("a=source-filter", "a=source-filter: incl IN IP4 239.10.1.1"), 7, "want a=source-filter: incl IN IP4 <dest> <source>"},
	{"source-filter IP6", edit("a=source-filter", "a=source-filter: incl IN IP6 ff0e::1 ::2"), 7, "IP6 is not supported"},
	{"mid spaces", edit("a=mediaclk", "a=mediaclk:direct=0\na=mid:"), 12, `mid "": want a token`},
	{"group unknown mid", strings.Replace(base, "t=0 0\n", "t=0 0\na=group:DUP a b\n", 1), 5, `mid "a" has no media section`},
	{"group one mid", strings.Replace(base, "t=0 0\n", "t=0 0\na=group:DUP a\n", 1), 5, "want two or more"},
	{"o in media", base + "o=- 1 1 IN IP4 192.0.2.10\n", 12, "o= inside a media section"},
	{"ptime", edit("a=mediaclk", "a=ptime:1ms"), 11, `ptime "1ms": want milliseconds`},
	{"ptime zero", edit("a=mediaclk", "a=ptime:0"), 11, `ptime "0"`},
	{"framecount", edit("a=mediaclk", "a=framecount:0"), 11, `framecount "0": want an integer 1-65535`},
	{"too large", strings.Repeat("x", sdp.MaxSize+1), 0, "65537 bytes: want at most 65536"},
}

// audioBase and the anc/jxsv edits below exercise the other essences.
func audio(rtpmap, fmtpLine string) string {
	return "v=0\no=- 1 1 IN IP4 192.0.2.10\ns=a\nt=0 0\nm=audio 5004 RTP/AVP 97\nc=IN IP4 192.0.2.20\n" +
		rtpmap + "\n" + fmtpLine + "\n"
}

func video(rtpmap, fmtpLine string) string {
	return "v=0\no=- 1 1 IN IP4 192.0.2.10\ns=a\nt=0 0\nm=video 5004 RTP/AVP 98\nc=IN IP4 192.0.2.20\n" +
		rtpmap + "\n" + fmtpLine + "\n"
}

var essenceErrorCases = []struct {
	name string
	in   string
	line int
	want string
}{
	{"L24 zero channels", audio("a=rtpmap:97 L24/48000/0", ""), 7, `channels "0": want an integer 1-64`},
	{"L24 65 channels", audio("a=rtpmap:97 L24/48000/65", ""), 7, `channels "65"`},
	{"L24 clock", audio("a=rtpmap:97 L24/90000/2", ""), 7, "clock rate 90000 for L24: want 48000, 96000 or 44100"},
	{"L16 in video", video("a=rtpmap:98 L16/48000/2", ""), 7, "encoding L16 in m=video: want m=audio"},
	{"raw in audio", audio("a=rtpmap:97 raw/90000", ""), 7, "encoding raw in m=audio: want m=video"},
	{"channel-order convention", audio("a=rtpmap:97 L24/48000/2", "a=fmtp:97 channel-order=AES67.(ST)"), 8, `channel-order "AES67.(ST)": want SMPTE2110.(<groups>)`},
	{"channel-order group", audio("a=rtpmap:97 L24/48000/2", "a=fmtp:97 channel-order=SMPTE2110.(ST,XX)"), 8, `group "XX"`},
	{"channel-order U65", audio("a=rtpmap:97 L24/48000/2", "a=fmtp:97 channel-order=SMPTE2110.(U65)"), 8, `group "U65"`},
	{"channel-order parens", audio("a=rtpmap:97 L24/48000/2", "a=fmtp:97 channel-order=SMPTE2110.ST"), 8, "channel-order"},
	{"channel-order empty", audio("a=rtpmap:97 L24/48000/2", "a=fmtp:97 channel-order=SMPTE2110.()"), 8, "want SMPTE2110.(<groups>)"},
	{"jxsv packetmode", video("a=rtpmap:98 jxsv/90000", "a=fmtp:98 packetmode=2"), 8, `packetmode "2": want an integer 0-1`},
	{"jxsv transmode", video("a=rtpmap:98 jxsv/90000", "a=fmtp:98 packetmode=0; transmode=x"), 8, `transmode "x"`},
	{"jxsv profile", video("a=rtpmap:98 jxsv/90000", "a=fmtp:98 profile=Main 422"), 8, `profile "Main 422": want a name without spaces`},
	{"jxsv SSN", video("a=rtpmap:98 jxsv/90000", "a=fmtp:98 SSN=ST2110-20:2017"), 8, `SSN "ST2110-20:2017": want ST2110-22:2019 or ST2110-22:2022`},
	{"jxsv clock", video("a=rtpmap:98 jxsv/48000", ""), 7, "clock rate 48000 for jxsv: want 90000"},
	{"anc DID_SDID", video("a=rtpmap:98 smpte291/90000", "a=fmtp:98 DID_SDID={0x61}"), 8, `DID_SDID "{0x61}": want {0x<DID>,0x<SDID>}`},
	{"anc DID_SDID hex", video("a=rtpmap:98 smpte291/90000", "a=fmtp:98 DID_SDID={0x61,0x100}"), 8, "DID_SDID"},
	{"anc DID_SDID braces", video("a=rtpmap:98 smpte291/90000", "a=fmtp:98 DID_SDID=0x61,0x01"), 8, "DID_SDID"},
	{"anc VPID", video("a=rtpmap:98 smpte291/90000", "a=fmtp:98 VPID_Code=256"), 8, `VPID_Code "256": want an integer 1-255`},
	{"anc TM", video("a=rtpmap:98 smpte291/90000", "a=fmtp:98 TM=RTM"), 8, `TM "RTM": want CTM or LLTM`},
	{"anc SSN", video("a=rtpmap:98 smpte291/90000", "a=fmtp:98 SSN=ST2110-40:2019"), 8, `SSN "ST2110-40:2019"`},
	{"anc duplicate VPID", video("a=rtpmap:98 smpte291/90000", "a=fmtp:98 VPID_Code=1;VPID_Code=2"), 8, "duplicate key VPID_Code"},
	{"anc clock", video("a=rtpmap:98 smpte291/48000", ""), 7, "clock rate 48000 for smpte291: want 90000"},
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	all := append(slices.Clone(errorCases), essenceErrorCases...)
	for _, tc := range all {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := sdp.Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", s)
			}
			if !errors.Is(err, sdp.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			var pe *sdp.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if pe.Line != tc.line {
				t.Errorf("Line = %d, want %d (%v)", pe.Line, tc.line, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	t.Parallel()
	_, err := sdp.Parse([]byte(fmtp("sampling=YCbCr-4:2:2; width=1920; height=1080; depth=11")))
	const want = `sdp: line 9 "a=fmtp:96 sampling=YCbCr-4:2:2; width=19...": depth "11": want 8, 10, 12, 16 or 16f`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
}

// TestParseLenient covers what Parse accepts that the golden files do not.
func TestParseLenient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		check func(*sdp.Session) bool
	}{
		{"lower-case L24 mono", audio("a=rtpmap:97 l24/48000", "a=ptime:0.125"),
			func(s *sdp.Session) bool {
				m := s.Media[0]
				return m.Encoding == "L24" && m.Channels == 1 && m.PacketTime == 0.125
			}},
		{"L16 96 kHz", audio("a=rtpmap:97 L16/96000/8", "a=maxptime:4\na=framecount:48"),
			func(s *sdp.Session) bool {
				m := s.Media[0]
				return m.ClockRate == 96000 && m.MaxPacketTime == 4 && m.FrameCount == 48
			}},
		{"unknown fmtp keys and flags ignored", fmtp("foo; bar=; x-gst=1; depth=8"),
			func(s *sdp.Session) bool { return s.Media[0].Video.Depth == 8 }},
		{"interlace=true", fmtp("interlace=true; segmented=1"),
			func(s *sdp.Session) bool { v := s.Media[0].Video; return v.Interlace && v.Segmented }},
		{"interlace=0", fmtp("interlace=0"), func(s *sdp.Session) bool { return !s.Media[0].Video.Interlace }},
		{"exactframerate 50/1", fmtp("exactframerate=50/1"),
			func(s *sdp.Session) bool { return s.Media[0].Video.ExactFrameRate == sdp.Rate{Num: 50, Den: 1} }},
		{"a=framerate 25", fmtp("depth=10") + "a=framerate:25\n",
			func(s *sdp.Session) bool { return s.Media[0].Video.ExactFrameRate == sdp.Rate{Num: 25, Den: 1} }},
		{"a=framerate 59.94", fmtp("depth=10") + "a=framerate:59.94005994005994\n",
			func(s *sdp.Session) bool { return s.Media[0].Video.ExactFrameRate == sdp.Rate{Num: 60000, Den: 1001} }},
		{"a=framerate odd is missing", fmtp("depth=10") + "a=framerate:23.5\n",
			func(s *sdp.Session) bool { return s.Media[0].Video.ExactFrameRate.IsZero() }},
		{"exactframerate beats a=framerate", base + "a=framerate:25\n",
			func(s *sdp.Session) bool { return s.Media[0].Video.ExactFrameRate == sdp.Rate{Num: 50, Den: 1} }},
		{"jxsv defaults", video("a=rtpmap:98 jxsv/90000", ""),
			func(s *sdp.Session) bool {
				j := s.Media[0].JXS
				return j.PacketMode == sdp.PacketModeAbsent && j.TransMode == 1 && s.Media[0].Video != nil
			}},
		{"anc without fmtp", video("a=rtpmap:98 SMPTE291/90000", ""),
			func(s *sdp.Session) bool { return s.Media[0].Anc != nil && s.Media[0].Anc.DIDSDID == nil }},
		{"source-filter dest *", edit("a=source-filter", "a=source-filter: incl IN * * 192.0.2.99"),
			func(s *sdp.Session) bool { return s.Media[0].Source.String() == "192.0.2.99" }},
		{"session source-filter for another group ignored",
			strings.Replace(edit("a=source-filter", ""), "t=0 0\n", "t=0 0\na=source-filter: incl IN IP4 239.9.9.9 192.0.2.10\n", 1),
			func(s *sdp.Session) bool { return !s.Media[0].Source.IsValid() }},
		{"s= empty", edit("s=", "s= "), func(s *sdp.Session) bool { return s.Name == "" }},
		{"no s= and t=", edit("t=", ""), func(s *sdp.Session) bool { return s.Name == "test" }},
		{"multicast without ttl", edit("c=", "c=IN IP4 239.10.1.1"), func(s *sdp.Session) bool { return s.Media[0].TTL == 0 }},
		{"ts-refclk alternatives keep the first", edit("a=mediaclk", "a=mediaclk:direct=0\na=ts-refclk:localmac=00-11-22-33-44-55"),
			func(s *sdp.Session) bool { return s.Media[0].RefClock == ptpClock }},
		{"ts-refclk traceable", edit("a=ts-refclk", "a=ts-refclk:ptp=IEEE1588-2008:traceable"),
			func(s *sdp.Session) bool { return s.Media[0].RefClock == "ptp=IEEE1588-2008:traceable" }},
		{"ts-refclk 2002 domain name", edit("a=ts-refclk", "a=ts-refclk:ptp=IEEE1588-2002:08-00-11-FF-FE-21-E1-B0:_DFLT"),
			func(s *sdp.Session) bool { return strings.HasSuffix(s.Media[0].RefClock, "_DFLT") }},
		{"other group semantics ignored", strings.Replace(base, "t=0 0\n", "t=0 0\na=group:LS a b\n", 1),
			func(s *sdp.Session) bool { return s.Group == "" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := sdp.Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(s) {
				t.Errorf("unexpected result %+v", s.Media[0])
			}
			again, err := sdp.Parse(s.Marshal())
			if err != nil || !reflect.DeepEqual(again, s) {
				t.Errorf("round trip: %v\n%s", err, s.Marshal())
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*sdp.Session)
		want   []string // substrings, one per expected problem; none = valid
	}{
		{"valid", func(*sdp.Session) {}, nil},
		{"unicast", func(s *sdp.Session) {
			s.Media[0].Dest, s.Media[0].TTL, s.Media[0].Source = netip.MustParseAddr("192.0.2.20"), 0, netip.Addr{}
		}, nil},
		{"everything missing", func(s *sdp.Session) {
			m := &s.Media[0]
			m.Video, m.RefClock, m.MediaClock = &sdp.VideoFormat{}, "", ""
		}, []string{"missing sampling, depth, width, height, exactframerate, colorimetry, PM, SSN, TP, a=ts-refclk, a=mediaclk"}},
		{"legacy names", func(s *sdp.Session) {
			s.Media[0].Video.Colorimetry, s.Media[0].Video.Sampling = "BT709-2", "BGR"
		}, []string{`sampling "BGR"`, `colorimetry "BT709-2"`}},
		{"addressing", func(s *sdp.Session) {
			m := &s.Media[0]
			m.TTL, m.Port, m.PayloadType, m.Source = 0, 0, 33, netip.MustParseAddr("239.0.0.1")
		}, []string{"port 0", "payload type 33", "multicast ttl 0: want 1-255", "source 239.0.0.1"}},
		{"unicast ttl", func(s *sdp.Session) { s.Media[0].Dest = netip.MustParseAddr("192.0.2.20") }, []string{"ttl 64 with unicast dest"}},
		{"no dest", func(s *sdp.Session) { s.Media[0].Dest = netip.Addr{} }, []string{"dest"}},
		{"origin", func(s *sdp.Session) { s.Origin = netip.MustParseAddr("::1") }, []string{"origin"}},
		{"name injection", func(s *sdp.Session) { s.Name = "x\r\nm=audio" }, []string{"control characters"}},
		{"clock", func(s *sdp.Session) { s.Media[0].ClockRate = 48000 }, []string{"clock rate 48000 for raw"}},
		{"encoding", func(s *sdp.Session) { s.Media[0].Encoding = "H264" }, []string{`encoding "H264"`}},
		{"type", func(s *sdp.Session) { s.Media[0].Type = sdp.TypeAudio }, []string{"with type \"audio\": want video"}},
		{"video ranges", func(s *sdp.Session) {
			v := s.Media[0].Video
			v.Width, v.Depth, v.FloatDepth, v.ExactFrameRate, v.MaxUDP = 40000, 10, true, sdp.Rate{Num: 25}, 9000
		}, []string{"width 40000", "depth 10 with FloatDepth: want 16", "exactframerate 25/0", "MAXUDP 9000"}},
		{"segmented alone", func(s *sdp.Session) { s.Media[0].Video.Segmented = true }, []string{"segmented without interlace"}},
		{"bad refclock", func(s *sdp.Session) { s.Media[0].RefClock = "ptp=IEEE1588-2008:xx" }, []string{"ts-refclk"}},
		{"mid", func(s *sdp.Session) { s.Media[0].Mid = "a b" }, []string{`mid "a b"`}},
		{"no media", func(s *sdp.Session) { s.Media = nil }, []string{"0 media sections"}},
		{"no video format", func(s *sdp.Session) { s.Media[0].Video = nil }, []string{"no VideoFormat", "missing sampling"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := built()["st2110-20.sdp"]
			tc.mutate(s)
			checkProblems(t, s.Validate(), tc.want)
		})
	}
}

func TestValidateEssences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		file   string
		mutate func(*sdp.Media)
		want   []string
	}{
		{"audio valid 125us", "st2110-30.sdp", func(m *sdp.Media) { m.PacketTime = 0.125 }, nil},
		{"audio valid 333us", "st2110-30.sdp", func(m *sdp.Media) { m.PacketTime = 0.333 }, nil},
		{"audio groups only", "st2110-30.sdp", func(m *sdp.Media) {
			m.Channels, m.Audio = 8, &sdp.AudioFormat{Groups: []string{"ST", "ST", "SGRP"}}
		}, nil},
		{"audio ptime fraction", "st2110-30.sdp", func(m *sdp.Media) { m.PacketTime = 0.1 }, []string{"4.800 samples: want a whole number"}},
		{"audio missing ptime", "st2110-30.sdp", func(m *sdp.Media) { m.PacketTime = 0 }, []string{"missing a=ptime"}},
		{"audio channel count", "st2110-30.sdp", func(m *sdp.Media) { m.Channels = 4 }, []string{"has 2 channels: want 4"}},
		{"audio groups disagree", "st2110-30.sdp", func(m *sdp.Media) { m.Audio.Groups = []string{"M", "M"} }, []string{"disagree"}},
		{"audio bad order", "st2110-30.sdp", func(m *sdp.Media) { m.Audio.ChannelOrder = "SMPTE2110.(ST" }, []string{"channel-order"}},
		{"audio channels", "st2110-30.sdp", func(m *sdp.Media) {
			m.Channels, m.Audio = 0, nil
		}, []string{"channels 0: want 1-64"}},
		{"audio maxptime", "st2110-30.sdp", func(m *sdp.Media) { m.MaxPacketTime = 0.5 }, []string{"maxptime below ptime"}},
		{"jxsv missing", "st2110-22.sdp", func(m *sdp.Media) {
			m.JXS.PacketMode, m.BandwidthAS, m.Video.TP = sdp.PacketModeAbsent, 0, ""
		}, []string{"missing packetmode, TP, b=AS"}},
		{"jxsv values", "st2110-22.sdp", func(m *sdp.Media) {
			m.JXS.TransMode, m.JXS.Profile, m.Video.SSN = 2, "a b", "ST2110-20:2017"
		}, []string{"transmode 2", `profile "a b"`, `SSN "ST2110-20:2017"`}},
		{"jxsv unspecified sampling", "st2110-22.sdp", func(m *sdp.Media) { m.Video.Sampling = "UNSPECIFIED" }, nil},
		{"jxsv no JXS", "st2110-22.sdp", func(m *sdp.Media) { m.JXS = nil }, []string{"no JXSFormat", "missing packetmode"}},
		{"anc values", "st2110-40.sdp", func(m *sdp.Media) {
			m.Anc.VPIDCode, m.Anc.TM, m.Anc.ExactFrameRate = 300, "RTM", sdp.Rate{Den: 1}
		}, []string{"VPID_Code 300", `TM "RTM"`, "exactframerate 0/1"}},
		{"anc TM with 2018", "st2110-40.sdp", func(m *sdp.Media) { m.Anc.SSN = "ST2110-40:2018" }, []string{"want SSN ST2110-40:2021"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := built()[tc.file].Media[0]
			tc.mutate(&m)
			checkProblems(t, m.Validate(), tc.want)
		})
	}
}

func TestValidate2022_7(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*sdp.Session)
		want   []string
	}{
		{"valid", func(*sdp.Session) {}, nil},
		{"legs differ", func(s *sdp.Session) { s.Media[1].Video.Width = 1280 }, []string{`leg "secondary" differs in format from leg "primary"`}},
		{"unknown mid", func(s *sdp.Session) { s.Media[1].Mid = "blue" }, []string{`group mid "secondary" has no media section`}},
		{"duplicate mid", func(s *sdp.Session) { s.Media[1].Mid = "primary" }, []string{`mid "primary" used by two`, `"secondary" has no media`}},
		{"bad group", func(s *sdp.Session) { s.Group = "DUP  primary" }, []string{"want DUP <mid> <mid>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := sdp.Parse(readFile(t, "st2022-7.sdp"))
			if err != nil {
				t.Fatal(err)
			}
			tc.mutate(s)
			checkProblems(t, s.Validate(), tc.want)
		})
	}
}

func TestParseDuplicateMid(t *testing.T) {
	t.Parallel()
	in := strings.Replace(string(readFile(t, "st2022-7.sdp")), "a=mid:secondary", "a=mid:primary", 1)
	_, err := sdp.Parse([]byte(in))
	var pe *sdp.ParseError
	if !errors.As(err, &pe) || pe.Line != 14 || !strings.Contains(pe.Msg, `mid "primary" used by two media sections`) {
		t.Errorf("error = %v, want line 14 mid used by two media sections", err)
	}
}

// checkProblems asserts that err holds exactly one problem per substring
// in want, each wrapping ErrInvalid.
func checkProblems(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("Validate: %v", err)
		}
		return
	}
	if !errors.Is(err, sdp.ErrInvalid) {
		t.Fatalf("Validate = %v, want ErrInvalid", err)
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("Validate error does not contain %q:\n%s", w, msg)
		}
	}
	if n := strings.Count(msg, "sdp: invalid"); n != len(want) {
		t.Errorf("Validate found %d problems, want %d:\n%s", n, len(want), msg)
	}
}

func TestAppendAllocs(t *testing.T) {
	s, err := sdp.Parse(readFile(t, "st2022-7.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { buf = s.Append(buf[:0]) }); n != 0 {
		t.Errorf("Append allocates %v times per run, want 0", n)
	}
}

func BenchmarkParse(b *testing.B) {
	for _, file := range []string{"st2110-20.sdp", "st2110-30.sdp", "st2022-7.sdp", "ffmpeg-video.sdp"} {
		in := readFile(b, file)
		b.Run(strings.TrimSuffix(file, ".sdp"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := sdp.Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, file := range []string{"st2110-20.sdp", "st2110-30.sdp", "st2022-7.sdp"} {
		s, err := sdp.Parse(readFile(b, file))
		if err != nil {
			b.Fatal(err)
		}
		buf := s.Marshal()
		b.Run(strings.TrimSuffix(file, ".sdp"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				buf = s.Append(buf[:0])
			}
		})
	}
}
