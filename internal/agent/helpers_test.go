package agent

import (
	"fmt"
	"slices"
	"strings"
	"time"

	agentv1 "mediamesh/api/agent/v1"
	sdkpb "mediamesh/api/mcm/sdk"
	"mediamesh/internal/mcm"
)

const (
	sender   = sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER
	receiver = sdkpb.ConnectionKind_CONN_KIND_RECEIVER
)

// videoCfg is a valid 640x360 yuv422p10le group config, as MCM's SDK
// sends it.
func videoCfg(kind sdkpb.ConnectionKind, urn string) *sdkpb.ConnectionConfig {
	const payload = 640 * 360 * 4
	l, _ := mcm.NewLayout(payload, 0)
	return &sdkpb.ConnectionConfig{
		Kind:                  kind,
		BufQueueCapacity:      16,
		CalculatedPayloadSize: payload,
		BufParts:              l.Parts(),
		Conn:                  &sdkpb.ConnectionConfig_MultipointGroup{MultipointGroup: &sdkpb.ConfigMultipointGroup{Urn: urn}},
		Payload:               &sdkpb.ConnectionConfig_Video{Video: &sdkpb.ConfigVideo{Width: 640, Height: 360, Fps: 60}},
	}
}

// blobCfg is a valid blob group config of size bytes.
func blobCfg(kind sdkpb.ConnectionKind, urn string, size uint32) *sdkpb.ConnectionConfig {
	l, _ := mcm.NewLayout(size, 0)
	return &sdkpb.ConnectionConfig{
		Kind: kind, BufQueueCapacity: 16, MaxPayloadSize: size, CalculatedPayloadSize: size, BufParts: l.Parts(),
		Conn:    &sdkpb.ConnectionConfig_MultipointGroup{MultipointGroup: &sdkpb.ConfigMultipointGroup{Urn: urn}},
		Payload: &sdkpb.ConnectionConfig_Blob{Blob: &sdkpb.ConfigBlob{}},
	}
}

// st2110Cfg is a valid ST 2110-20 config of the 640x360 video.
func st2110Cfg(kind sdkpb.ConnectionKind, ip string, port uint32) *sdkpb.ConnectionConfig {
	c := videoCfg(kind, "")
	c.Conn = &sdkpb.ConnectionConfig_St2110{St2110: &sdkpb.ConfigST2110{IpAddr: ip, Port: port, PayloadType: 96}}
	return c
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// topo builds states from a compact description.
type topo struct{ s *State }

func newTopo() *topo { return &topo{s: NewState()} }

// proxy adds a healthy proxy id at 10.0.0.n with bridge ports ports.
func (t *topo) proxy(id string, n int, ports string) *topo {
	t.s.Proxies[id] = &Proxy{ID: id, ControlIP: fmt.Sprintf("192.168.0.%d", n), BridgeIP: fmt.Sprintf("10.0.0.%d", n),
		BridgePorts: ports, Healthy: true, RegisteredAt: t0}
	return t
}

// conn adds a connection; its registration order is its insertion order.
func (t *topo) conn(id, proxy string, cfg *sdkpb.ConnectionConfig) *topo {
	kind := KindTx
	if cfg.GetKind() == sender {
		kind = KindRx
	}
	t.s.Conns[id] = &Conn{ID: id, ProxyID: proxy, Kind: kind, GroupID: groupID(cfg), Config: cfg,
		RegisteredAt: t0.Add(time.Duration(len(t.s.Conns)) * time.Second)}
	return t
}

// summary renders a plan readably: per proxy, one line per group,
// "<group>: <conn ids> | <bridge kind><peer addr>...", ids of bridges
// replaced by what they do.
func summary(plan map[string]*agentv1.ApplyConfigRequest) map[string][]string {
	out := map[string][]string{}
	for proxy, cfg := range plan {
		bridges := map[string]*agentv1.Bridge{}
		for _, b := range cfg.GetBridges() {
			bridges[b.GetBridgeId()] = b
		}
		lines := []string{}
		for _, g := range cfg.GetGroups() {
			id, _ := strings.CutSuffix(g.GetGroupId(), "/"+proxy)
			line := id + ": " + strings.Join(g.GetConnIds(), " ")
			var bs []string
			for _, bid := range g.GetBridgeIds() {
				b := bridges[bid]
				arrow := "->"
				if b.GetKind() == KindRx {
					arrow = "<-"
				}
				bs = append(bs, arrow+b.GetTcp().GetRemoteAddr())
			}
			slices.Sort(bs)
			if len(bs) > 0 {
				line += " | " + strings.Join(bs, " ")
			}
			lines = append(lines, line)
		}
		out[proxy] = lines
	}
	return out
}
