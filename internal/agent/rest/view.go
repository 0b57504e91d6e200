package rest

import (
	"math"
	"strconv"
	"strings"
	"time"

	agentv1 "mediamesh/api/agent/v1"
	sdkpb "mediamesh/api/mcm/sdk"
	"mediamesh/internal/agent"
)

// view renders a Snapshot as the API's objects. status and config say
// which optional parts to include (MCM's ?status and ?config).
type view struct {
	s              *agent.Snapshot
	status, config bool
	byProxy        *proxyIndex // for proxy; from indexed
}

// proxyIndex holds each proxy's connections and bridges, in id order.
type proxyIndex struct {
	conns   map[string][]*agent.Conn
	bridges map[string][]*agent.Bridge
}

// indexed returns v able to render proxies: it sorts the connections and
// bridges once, not once per proxy.
func (v view) indexed() view {
	x := &proxyIndex{conns: map[string][]*agent.Conn{}, bridges: map[string][]*agent.Bridge{}}
	for _, id := range sortedKeys(v.s.Conns) {
		c := v.s.Conns[id]
		x.conns[c.ProxyID] = append(x.conns[c.ProxyID], c)
	}
	for _, id := range sortedKeys(v.s.Bridges) {
		b := v.s.Bridges[id]
		x.bridges[b.ProxyID] = append(x.bridges[b.ProxyID], b)
	}
	v.byProxy = x
	return v
}

func (v view) proxy(p *agent.Proxy) MediaProxy {
	out := MediaProxy{ID: p.ID, Conns: []Connection{}, Bridges: []Bridge{}}
	// Embedded connections and bridges always carry status and config,
	// and hide the proxy id they share (as MCM).
	full := view{s: v.s, status: true, config: true}
	for _, c := range v.byProxy.conns[p.ID] {
		cv := full.conn(c)
		cv.ProxyID = ""
		out.Conns = append(out.Conns, cv)
	}
	for _, b := range v.byProxy.bridges[p.ID] {
		bv := full.bridge(b)
		bv.ProxyID = ""
		out.Bridges = append(out.Bridges, bv)
	}
	if v.config {
		out.Config = &MediaProxyConfig{
			SDKAPIPort:         p.SDKPort,
			ControlplaneIPAddr: p.ControlIP,
			ST2110:             ST2110ProxyConfig{DataplaneIPAddr: p.ST2110IP, DevPort: p.ST2110Dev},
			RDMA:               RDMAProxyConfig{DataplaneIPAddr: p.BridgeIP, DataplanePorts: p.BridgePorts},
		}
	}
	if v.status {
		out.Status = &MediaProxyStatus{
			Healthy:      p.Healthy,
			RegisteredAt: Time(p.RegisteredAt),
			ConnsNum:     len(out.Conns),
			BridgesNum:   len(out.Bridges),
			Active:       v.s.Active[p.ID],
			LastSeen:     Time(p.LastSeen),
			ApplyErrors:  v.s.ApplyErrors[p.ID],
		}
	}
	return out
}

func (v view) conn(c *agent.Conn) Connection {
	out := Connection{ID: c.ID, ProxyID: c.ProxyID, GroupID: c.GroupID}
	if v.config {
		out.Config = &ConnectionConfig{SDKConfig: sdkConfig(c.Config), Kind: c.Kind}
	}
	if v.status {
		out.Status = v.metrics(c.ProxyID, c.ID, c.RegisteredAt)
	}
	return out
}

func (v view) group(g *agent.Group) MultipointGroup {
	out := MultipointGroup{ID: g.ID, ConnIDs: g.ConnIDs, BridgeIDs: g.BridgeIDs, SourceID: g.Source}
	if v.config {
		c := sdkConfig(g.Config)
		out.Config = &c
	}
	if v.status {
		// A group has no metrics of its own (MCM's neither, §8 #21): it
		// exists since its first member.
		var first time.Time
		for _, id := range g.ConnIDs {
			if t := v.s.Conns[id].RegisteredAt; first.IsZero() || t.Before(first) {
				first = t
			}
		}
		out.Status = &Status{RegisteredAt: Time(first), State: "active"}
	}
	return out
}

func (v view) bridge(b *agent.Bridge) Bridge {
	out := Bridge{ID: b.ID, ProxyID: b.ProxyID, GroupID: b.GroupID}
	if v.config {
		var cfg *sdkpb.ConnectionConfig
		if g := v.s.Groups[b.GroupID]; g != nil {
			cfg = g.Config
		}
		out.Config = &BridgeConfig{
			SDKConfig: sdkConfig(cfg),
			Type:      agent.BridgeTypeTCP,
			Kind:      b.Kind,
			TCP:       &BridgeTCPConfig{RemoteAddr: b.RemoteAddr, Port: b.Port, PeerProxyID: b.Peer},
		}
	}
	if v.status {
		out.Status = v.metrics(b.ProxyID, b.ID, time.Time{})
	}
	return out
}

// metrics merges a provider's latest metric into a Status (mcm-api.md
// §5.7). The state is "active" until a metric says otherwise, as MCM.
func (v view) metrics(proxyID, id string, registered time.Time) *Status {
	st := &Status{RegisteredAt: Time(registered), State: "active"}
	m := v.s.Metrics[proxyID][id]
	if m == nil {
		return st
	}
	st.UpdatedAt = Time(time.UnixMilli(m.GetTimestampMs()).UTC())
	for _, f := range m.GetFields() {
		switch val := f.GetValue().(type) {
		case *agentv1.MetricField_StrValue:
			if f.GetName() == "state" {
				st.State = val.StrValue
			}
		case *agentv1.MetricField_BoolValue:
			if f.GetName() == "link" {
				st.Linked = val.BoolValue
			}
		case *agentv1.MetricField_UintValue:
			if p := uintField(st, f.GetName()); p != nil {
				*p = val.UintValue
			}
		case *agentv1.MetricField_DoubleValue:
			// JSON has no NaN or infinity: a proxy's bad sample must not
			// break the listing.
			if p := doubleField(st, f.GetName()); p != nil && !math.IsNaN(val.DoubleValue) && !math.IsInf(val.DoubleValue, 0) {
				*p = val.DoubleValue
			}
		}
	}
	return st
}

func uintField(st *Status, name string) *uint64 {
	switch name {
	case "in":
		return &st.Inbound
	case "out":
		return &st.Outbound
	case "strn":
		return &st.TrnSucceeded
	case "ftrn":
		return &st.TrnFailed
	case "err":
		return &st.Errors
	case "errd":
		return &st.ErrorsDelta
	case "gaps":
		return &st.Gaps
	case "reconnects":
		return &st.Reconnects
	}
	return nil
}

func doubleField(st *Status, name string) *float64 {
	switch name {
	case "tps":
		return &st.TPS
	case "inbw":
		return &st.InBandwidthMbit
	case "outbw":
		return &st.OutBandwidthMbit
	}
	return nil
}

// sdkConfig renders an SDK config as MCM's agent does; nil gives zeros.
func sdkConfig(c *sdkpb.ConnectionConfig) SDKConfig {
	parts := c.GetBufParts()
	out := SDKConfig{
		BufQueueCapacity:      c.GetBufQueueCapacity(),
		MaxPayloadSize:        c.GetMaxPayloadSize(),
		MaxMetadataSize:       c.GetMaxMetadataSize(),
		CalculatedPayloadSize: c.GetCalculatedPayloadSize(),
		BufPartitions: BufPartitions{
			Payload:  BufPartition{Offset: parts.GetPayload().GetOffset(), Size: parts.GetPayload().GetSize()},
			Metadata: BufPartition{Offset: parts.GetMetadata().GetOffset(), Size: parts.GetMetadata().GetSize()},
			Sysdata:  BufPartition{Offset: parts.GetSysdata().GetOffset(), Size: parts.GetSysdata().GetSize()},
		},
		Options: SDKOptions{RDMA: SDKOptionsRDMA{
			Provider:     c.GetOptions().GetRdma().GetProvider(),
			NumEndpoints: c.GetOptions().GetRdma().GetNumEndpoints(),
		}},
	}
	switch conn := c.GetConn().(type) {
	case *sdkpb.ConnectionConfig_MultipointGroup:
		out.Conn.MultipointGroup = &SDKMultipointGroup{URN: conn.MultipointGroup.GetUrn()}
	case *sdkpb.ConnectionConfig_St2110:
		s := conn.St2110
		out.Conn.ST2110 = &SDKST2110{
			RemoteIPAddr: s.GetIpAddr(),
			Port:         s.GetPort(),
			McastSipAddr: s.GetMcastSipAddr(),
			Transport:    enumString(sdkpb.ST2110Transport_name, int32(s.GetTransport()), "CONN_TRANSPORT_", "-"),
			Pacing:       s.GetPacing(),
			PayloadType:  s.GetPayloadType(),
		}
	case *sdkpb.ConnectionConfig_Rdma:
		out.Conn.RDMA = &SDKRDMA{ConnectionMode: conn.Rdma.GetConnectionMode(), MaxLatencyNs: conn.Rdma.GetMaxLatencyNs()}
	}
	switch p := c.GetPayload().(type) {
	case *sdkpb.ConnectionConfig_Video:
		out.Payload.Video = &SDKVideo{
			Width:       p.Video.GetWidth(),
			Height:      p.Video.GetHeight(),
			FPS:         p.Video.GetFps(),
			PixelFormat: enumString(sdkpb.VideoPixelFormat_name, int32(p.Video.GetPixelFormat()), "VIDEO_PIXEL_FORMAT_", ""),
		}
	case *sdkpb.ConnectionConfig_Audio:
		a := p.Audio
		out.Payload.Audio = &SDKAudio{
			Channels:   a.GetChannels(),
			SampleRate: enumString(sdkpb.AudioSampleRate_name, int32(a.GetSampleRate()), "AUDIO_SAMPLE_RATE_", ""),
			Format:     enumString(sdkpb.AudioFormat_name, int32(a.GetFormat()), "AUDIO_FORMAT_", "-"),
			PacketTime: enumString(sdkpb.AudioPacketTime_name, int32(a.GetPacketTime()), "AUDIO_PACKET_TIME_", "."),
		}
	case *sdkpb.ConnectionConfig_Blob:
		out.Payload.Blob = &SDKBlob{}
	}
	return out
}

// enumString derives MCM's agent JSON spelling of an enum value from its
// proto name, as MCM does (control-plane-agent/internal/model/sdk.go):
// strip the prefix, lower-case, and replace the first '_' by sep
// (CONN_TRANSPORT_ST2110_20 → st2110-20, AUDIO_PACKET_TIME_1_09MS →
// 1.09ms). An unknown value is its number.
func enumString(names map[int32]string, v int32, prefix, sep string) string {
	name, ok := names[v]
	if !ok {
		return strconv.Itoa(int(v))
	}
	s := strings.ToLower(strings.TrimPrefix(name, prefix))
	if sep != "" {
		s = strings.Replace(s, "_", sep, 1)
	}
	return s
}
