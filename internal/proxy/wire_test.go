package proxy

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	sdkpb "mediamesh/api/mcm/sdk"
	proxyv1 "mediamesh/api/proxy/v1"
	"mediamesh/internal/mcm"
	"mediamesh/internal/sdp"
	"mediamesh/internal/testutil"
	"mediamesh/sdk"
)

// wireProxy starts an in-process proxy whose ST 2110 interface is ip.
func wireProxy(t *testing.T, ip string) *Proxy {
	t.Helper()
	p, err := New(Config{RunDir: testutil.TempRunDir(t), ST2110IP: ip}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// wireClient is an SDK client of p over its unix socket.
func wireClient(t *testing.T, p *Proxy) *sdk.Client {
	t.Helper()
	c, err := sdk.NewClientJSON(fmt.Appendf(nil, `{"apiConnectionString":"Server=unix:%s; Port="}`, p.SDKSocket()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// wireGRPC is a raw gRPC connection to p, for requests our SDK would
// refuse to send.
func wireGRPC(t *testing.T, p *Proxy) (sdkpb.SDKAPIClient, proxyv1.ProxyAdminClient) {
	t.Helper()
	cc, err := grpc.NewClient("unix:"+p.SDKSocket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return sdkpb.NewSDKAPIClient(cc), proxyv1.NewProxyAdminClient(cc)
}

// freeUDPPort returns a UDP port free on every address, from below the
// kernel's ephemeral range so that no socket bound to port 0 (the
// proxy's senders) takes it before the test binds it.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	for range 200 {
		port := 32000 + rand.IntN(700)
		c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: port})
		if err != nil {
			continue
		}
		_ = c.Close()
		return port
	}
	t.Fatal("no free UDP port in [32000, 32700)")
	return 0
}

// wireJSON is an MCM connection config on st2110 with the given
// connection.st2110 fields and payload.
func wireJSON(st2110, payload string) []byte {
	return []byte(`{"connection":{"st2110":{` + st2110 + `}},"payload":{` + payload + `}}`)
}

const wireVideo = `"video":{"width":64,"height":32,"fps":60,"pixelFormat":"yuv422p10le"}`

// wireVideoAt is wireVideo at another frame rate.
func wireVideoAt(fps string) string { return strings.Replace(wireVideo, `"fps":60`, `"fps":`+fps, 1) }

// TestWireErrors: st2110 connections the proxy cannot serve fail at
// create, with a gRPC code and a message that names the setting, and leave
// nothing behind.
func TestWireErrors(t *testing.T) {
	testutil.CheckLeaks(t)
	busy, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.LocalAddr().(*net.UDPAddr).Port
	port := freeUDPPort(t)
	cases := []struct {
		name, ip string
		tx       bool
		cfg      []byte
		code     codes.Code
		want     []string // in the message
	}{
		{"-i not local", "192.0.2.77", false,
			wireJSON(fmt.Sprintf(`"transport":"st2110-20","port":%d`, port), wireVideo),
			codes.InvalidArgument, []string{"media-proxy --ip", "192.0.2.77", "not an address of this host", "127.0.0.1"}},
		{"-i not an address", "eth0", true,
			wireJSON(fmt.Sprintf(`"transport":"st2110-20","ipAddr":"127.0.0.1","port":%d`, port), wireVideo),
			codes.InvalidArgument, []string{`--ip "eth0" is not an IPv4 address`}},
		{"rx port in use", "127.0.0.1", false,
			wireJSON(fmt.Sprintf(`"transport":"st2110-20","ipAddr":"127.0.0.1","port":%d`, busyPort), wireVideo),
			codes.FailedPrecondition, []string{fmt.Sprintf("bind 127.0.0.1:%d", busyPort), "address already in use"}},
		{"bad multicastSourceIpAddr", "127.0.0.1", false,
			wireJSON(fmt.Sprintf(`"transport":"st2110-20","ipAddr":"239.10.1.1","port":%d,"multicastSourceIpAddr":"10.0.0.300"`, port), wireVideo),
			codes.InvalidArgument, []string{`st2110.multicastSourceIpAddr "10.0.0.300"`, "IPv4"}},
		{"IPv6 multicastSourceIpAddr", "127.0.0.1", false,
			wireJSON(fmt.Sprintf(`"transport":"st2110-20","ipAddr":"239.10.1.1","port":%d,"multicastSourceIpAddr":"::1"`, port), wireVideo),
			codes.InvalidArgument, []string{"st2110.multicastSourceIpAddr", "IPv4"}},
		{"bad ipAddr", "127.0.0.1", true,
			wireJSON(fmt.Sprintf(`"transport":"st2110-20","ipAddr":"camera-1","port":%d`, port), wireVideo),
			codes.InvalidArgument, []string{`st2110.ipAddr "camera-1"`}},
		{"tx without destination", "127.0.0.1", true,
			wireJSON(fmt.Sprintf(`"transport":"st2110-20","port":%d`, port), wireVideo),
			codes.InvalidArgument, []string{"st2110.ipAddr", "destination"}},
		{"pcm_s8 on st2110-30", "127.0.0.1", false,
			wireJSON(fmt.Sprintf(`"transport":"st2110-30","ipAddr":"127.0.0.1","port":%d`, port),
				`"audio":{"channels":2,"sampleRate":48000,"format":"pcm_s8","packetTime":"1ms"}`),
			codes.InvalidArgument, []string{"payload.audio.format pcm_s8", "pcm_s24be", "pcm_s16be"}},
		{"video on st2110-30", "127.0.0.1", false,
			wireJSON(fmt.Sprintf(`"transport":"st2110-30","ipAddr":"127.0.0.1","port":%d`, port), wireVideo),
			codes.InvalidArgument, []string{"payload.audio", "st2110-30"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := wireProxy(t, tc.ip)
			c := wireClient(t, p)
			create := c.CreateRxConnectionJSON
			if tc.tx {
				create = c.CreateTxConnectionJSON
			}
			conn, err := create(t.Context(), tc.cfg)
			if err == nil {
				_ = conn.Close()
				t.Fatal("created")
			}
			if !errors.Is(err, sdk.ErrConnFailed) || status.Code(err) != tc.code {
				t.Errorf("error %v: want code %v through sdk.ErrConnFailed", err, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			t.Logf("%s: %v", tc.name, err)
			assertNoConnections(t, p)
		})
	}
}

// TestWireRawRequestErrors sends what our SDK refuses to send, as another
// SDK could: the proxy checks it again.
func TestWireRawRequestErrors(t *testing.T) {
	testutil.CheckLeaks(t)
	p := wireProxy(t, "127.0.0.1")
	api, _ := wireGRPC(t, p)
	port := uint32(freeUDPPort(t))
	video := func(kind sdkpb.ConnectionKind, transport sdkpb.ST2110Transport) *sdkpb.ConnectionConfig {
		const size = 64 * 32 * 4
		l, _ := mcm.NewLayout(size, mcm.FrameInfoSize)
		return &sdkpb.ConnectionConfig{
			Kind: kind, BufQueueCapacity: 16, CalculatedPayloadSize: size, MaxMetadataSize: mcm.FrameInfoSize,
			BufParts: l.Parts(),
			Conn: &sdkpb.ConnectionConfig_St2110{St2110: &sdkpb.ConfigST2110{
				IpAddr: "127.0.0.1", Port: port, Transport: transport, PayloadType: 96}},
			Payload: &sdkpb.ConnectionConfig_Video{Video: &sdkpb.ConfigVideo{Width: 64, Height: 32, Fps: 60}},
		}
	}
	blob := video(sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER, sdkpb.ST2110Transport_CONN_TRANSPORT_ST2110_20)
	l, _ := mcm.NewLayout(1024, mcm.FrameInfoSize)
	blob.Payload = &sdkpb.ConnectionConfig_Blob{Blob: &sdkpb.ConfigBlob{}}
	blob.MaxPayloadSize, blob.CalculatedPayloadSize, blob.BufParts = 1024, 1024, l.Parts()

	audioSDP := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=a\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 97\r\na=rtpmap:97 L24/48000/2\r\na=ptime:1\r\n", port)
	withSDP := func(text string) context.Context {
		return metadata.AppendToOutgoingContext(t.Context(), mcm.MetadataWireOptions, string(mcm.WireOptions{SDP: text}.Marshal()))
	}
	cases := []struct {
		name string
		ctx  context.Context
		cfg  *sdkpb.ConnectionConfig
		want []string
	}{
		{"blob on st2110-20", t.Context(), blob, []string{"blob payloads need a multipoint group, not st2110"}},
		{"sdp encoding contradicts the transport", withSDP(audioSDP),
			video(sdkpb.ConnectionKind_CONN_KIND_RECEIVER, sdkpb.ST2110Transport_CONN_TRANSPORT_ST2110_20),
			[]string{`sdp: encoding "L24" does not match transport st2110-20`}},
		{"garbage sdp", withSDP("this is not an SDP"),
			video(sdkpb.ConnectionKind_CONN_KIND_RECEIVER, sdkpb.ST2110Transport_CONN_TRANSPORT_ST2110_20),
			[]string{"sdp"}},
		{"payload type above 127", t.Context(), func() *sdkpb.ConnectionConfig {
			c := video(sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER, sdkpb.ST2110Transport_CONN_TRANSPORT_ST2110_20)
			c.GetSt2110().PayloadType = 200
			return c
		}(), []string{"payload_type 200"}},
	}
	for _, tc := range cases {
		_, err := api.CreateConnection(tc.ctx, &sdkpb.CreateConnectionRequest{Config: tc.cfg})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v, want InvalidArgument", tc.name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(status.Convert(err).Message(), w) {
				t.Errorf("%s: message %q does not say %q", tc.name, status.Convert(err).Message(), w)
			}
		}
	}
	// Our SDK refuses the blob itself, before asking the proxy.
	_, err := wireClient(t, p).CreateTxConnectionJSON(t.Context(),
		[]byte(fmt.Sprintf(`{"maxPayloadSize":1024,"connection":{"st2110":{"transport":"st2110-20","ipAddr":"127.0.0.1","port":%d}},"payload":{"blob":{}}}`, port)))
	if !errors.Is(err, sdk.ErrConnConfigIncompat) || !strings.Contains(err.Error(), "payload.blob") {
		t.Errorf("SDK, blob on st2110-20: %v", err)
	}
	assertNoConnections(t, p)
}

// assertNoConnections checks the proxy holds no connection.
func assertNoConnections(t *testing.T, p *Proxy) {
	t.Helper()
	p.mu.Lock()
	n := len(p.mu.conns)
	p.mu.Unlock()
	if n != 0 {
		t.Errorf("%d connections left after failed creates", n)
	}
}

// TestWireSDP: a tx connection's SDP is served by GetSDP and written to the
// run dir, and goes when the connection does; a group connection has none.
func TestWireSDP(t *testing.T) {
	testutil.CheckLeaks(t)
	p := wireProxy(t, "127.0.0.1")
	c := wireClient(t, p)
	_, admin := wireGRPC(t, p)
	// Something listens at the destination, so the stream is not refused.
	dst, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	port := dst.LocalAddr().(*net.UDPAddr).Port
	tx, err := c.CreateTxConnectionJSON(t.Context(), wireJSON(
		fmt.Sprintf(`"transport":"st2110-20","ipAddr":"127.0.0.1","port":%d,"payloadType":98`, port), wireVideoAt("59.94")))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := admin.GetSDP(t.Context(), &proxyv1.GetSDPRequest{ConnId: tx.ID()})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(p.cfg.RunDir, tx.ID()+".sdp"); resp.GetPath() != want {
		t.Errorf("SDP path %q, want %q", resp.GetPath(), want)
	}
	file, err := os.ReadFile(resp.GetPath())
	if err != nil || string(file) != resp.GetSdp() {
		t.Fatalf("SDP file: %v; equal to GetSDP's: %v", err, string(file) == resp.GetSdp())
	}
	sess, err := sdp.Parse(file)
	if err != nil {
		t.Fatalf("%v\n%s", err, file)
	}
	m := sess.Media[0]
	if m.Encoding != sdp.EncodingRaw || m.Port != uint16(port) || m.PayloadType != 98 || m.Dest.String() != "127.0.0.1" ||
		m.Video == nil || m.Video.Width != 64 || m.Video.Height != 32 || m.Video.Depth != 10 || m.Video.ExactFrameRate != (sdp.Rate{Num: 60000, Den: 1001}) {
		t.Errorf("SDP media %+v video %+v\n%s", m, m.Video, file)
	}

	// An rx connection made from an SDP serves that SDP, with no file.
	rxPort := freeUDPPort(t)
	text := strings.ReplaceAll(string(file), fmt.Sprintf("m=video %d ", port), fmt.Sprintf("m=video %d ", rxPort))
	rx, err := c.CreateRxConnectionJSON(t.Context(), []byte(fmt.Sprintf(
		`{"connection":{"st2110":{"sdp":%q}},"payload":{%s}}`, text, wireVideoAt("59.94"))))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := admin.GetSDP(t.Context(), &proxyv1.GetSDPRequest{ConnId: rx.ID()}); err != nil || r.GetSdp() != text || r.GetPath() != "" {
		t.Errorf("rx SDP: %v %q path %q", err, r.GetSdp(), r.GetPath())
	}
	// A plain rx connection has none.
	plain, err := c.CreateRxConnectionJSON(t.Context(), wireJSON(
		fmt.Sprintf(`"transport":"st2110-20","ipAddr":"127.0.0.1","port":%d`, freeUDPPort(t)), wireVideo))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.GetSDP(t.Context(), &proxyv1.GetSDPRequest{ConnId: plain.ID()}); status.Code(err) != codes.NotFound {
		t.Errorf("rx without SDP: %v, want NotFound", err)
	}
	group, err := c.CreateRxConnectionJSON(t.Context(), []byte(`{"connection":{"multipointGroup":{"urn":"urn:sdp"}},"payload":{`+wireVideo+`}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.GetSDP(t.Context(), &proxyv1.GetSDPRequest{ConnId: group.ID()}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("group connection: %v, want FailedPrecondition", err)
	}
	if _, err := admin.GetSDP(t.Context(), &proxyv1.GetSDPRequest{ConnId: "no-such-id"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown id: %v, want NotFound", err)
	}

	if err := tx.Close(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, func() error {
		if _, err := os.Stat(resp.GetPath()); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("SDP file still there after delete: %v", err)
		}
		return nil
	})
	if _, err := admin.GetSDP(t.Context(), &proxyv1.GetSDPRequest{ConnId: tx.ID()}); status.Code(err) != codes.NotFound {
		t.Errorf("deleted connection: %v, want NotFound", err)
	}
	for _, k := range []*sdk.Connection{rx, plain, group} {
		_ = k.Close()
	}
}

// TestWireSDPIntegerRate: the SDP of a stream at a whole frame rate says
// exactframerate=50, a value receivers (ours too) parse.
func TestWireSDPIntegerRate(t *testing.T) {
	p := wireProxy(t, "127.0.0.1")
	c := wireClient(t, p)
	_, admin := wireGRPC(t, p)
	for _, fps := range []string{"25", "50", "60"} {
		tx, err := c.CreateTxConnectionJSON(t.Context(), wireJSON(
			fmt.Sprintf(`"transport":"st2110-20","ipAddr":"127.0.0.1","port":%d`, freeUDPPort(t)), wireVideoAt(fps)))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := admin.GetSDP(t.Context(), &proxyv1.GetSDPRequest{ConnId: tx.ID()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sdp.Parse([]byte(resp.GetSdp())); err != nil || !strings.Contains(resp.GetSdp(), "exactframerate="+fps+";") {
			t.Errorf("fps %s: %v\n%s", fps, err, resp.GetSdp())
		}
		_ = tx.Close()
	}
}

// wireFrame is yuv422p10le frame k of w×h: every sample 10-bit clean (the
// wire carries 10 bits) and different from frame to frame.
func wireFrame(w, h, k int) []byte {
	b := make([]byte, w*h*4)
	for i := range len(b) / 2 {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(i*7+k*131)&0x3ff)
	}
	return b
}

// TestWireRoundTrip sends frames from one SDK connection over loopback RTP
// to another through one proxy: bit-exact, whole, in order, and nothing
// left once both close.
func TestWireRoundTrip(t *testing.T) {
	testutil.CheckLeaks(t)
	p := wireProxy(t, "127.0.0.1")
	c := wireClient(t, p)
	port := freeUDPPort(t)
	st := fmt.Sprintf(`"transport":"st2110-20","ipAddr":"127.0.0.1","port":%d,"payloadType":96`, port)
	rx, err := c.CreateRxConnectionJSON(t.Context(), wireJSON(st, wireVideo))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := c.CreateTxConnectionJSON(t.Context(), wireJSON(st, wireVideo))
	if err != nil {
		t.Fatal(err)
	}
	const frames = 8
	var prev uint32
	for k := range frames {
		want := wireFrame(64, 32, k)
		b, err := tx.GetBufferTimeout(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		copy(b.PayloadCap(), want)
		if err := b.SetPayloadLen(len(want)); err != nil {
			t.Fatal(err)
		}
		if err := tx.PutBuffer(b); err != nil {
			t.Fatal(err)
		}
		r, err := rx.GetBufferTimeout(5 * time.Second)
		if err != nil {
			t.Fatalf("frame %d: %v", k, err)
		}
		fi, ok := r.FrameInfo()
		if !ok || fi.Incomplete || fi.Missing != 0 || fi.Packets == 0 {
			t.Fatalf("frame %d: frame info %+v ok=%v", k, fi, ok)
		}
		if !bytes.Equal(r.Payload(), want) {
			t.Fatalf("frame %d: %d bytes, not the %d sent", k, len(r.Payload()), len(want))
		}
		if k > 0 && r.Seq() != prev+1 {
			t.Fatalf("frame %d: seq %d after %d", k, r.Seq(), prev)
		}
		prev = r.Seq()
		if err := rx.PutBuffer(r); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []*sdk.Connection{tx, rx} {
		if err := k.Close(); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 5*time.Second, func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		if n := len(p.mu.conns); n != 0 {
			return fmt.Errorf("%d connections left", n)
		}
		return nil
	})
}
