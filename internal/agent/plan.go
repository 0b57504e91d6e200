package agent

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"slices"
	"strconv"

	"google.golang.org/protobuf/proto"

	agentv1 "mediamesh/api/agent/v1"
	sdkpb "mediamesh/api/mcm/sdk"
)

// Plan returns the full desired configuration of every healthy proxy: each
// group it holds connections of, with its connections and bridges, and
// the bridges themselves. A healthy proxy with nothing to run gets an empty
// config, which tells it to tear everything down. Plan is pure and
// deterministic: equal states give equal plans, whatever the map order.
// The configs alias s's connection configs; do not modify them.
func Plan(s *State) map[string]*agentv1.ApplyConfigRequest {
	bridges, _ := PlanBridges(s)
	return Configs(s, bridges)
}

// PlanBridges computes the bridges s needs (the star interconnect of
// mcm-api.md §5.4, over TCP): for each group whose source — its SDK
// sender, the "rx" connection — is on a healthy proxy A, one pair per
// other healthy proxy B holding receivers of the group, one copy per node
// however many receivers it holds: egress "tx" on A dialling B, ingress
// "rx" on B listening on B's bridge address. The ingress port is the
// lowest free one of B's -p ranges, and a bridge already in s.Bridges
// keeps its port. Bridge ids are name-based UUIDs of the pair and of what
// it depends on (addresses, B's ranges, the source's config), so a
// changed pair gets a new id, never a changed config under an old one
// (proxies do not re-apply those, §5.3). ST 2110 groups get no bridges:
// each proxy's ST 2110 connection is on the network itself. Pairs that
// cannot be placed (B's ranges exhausted) are left out and reported.
func PlanBridges(s *State) (map[string]*Bridge, []error) {
	type pair struct {
		group      string
		src, dst   *Proxy
		ranges     []portRange
		key        string // what the ids and the token derive from
		egress, in string // bridge ids
		port       uint32
	}
	var pairs []*pair
	var errs []error
	groups := s.Groups()
	for _, gid := range sortedKeys(groups) {
		g := groups[gid]
		if g.Source == "" || g.Config.GetSt2110() != nil {
			continue
		}
		source := s.Conns[g.Source]
		src := s.Proxies[source.ProxyID]
		if src == nil || !src.Healthy {
			continue
		}
		cfgHash := configHash(source.Config)
		var dsts []string
		for _, cid := range g.ConnIDs {
			c := s.Conns[cid]
			if c.Kind != KindTx || c.ProxyID == src.ID || slices.Contains(dsts, c.ProxyID) {
				continue
			}
			if dst := s.Proxies[c.ProxyID]; dst != nil && dst.Healthy {
				dsts = append(dsts, c.ProxyID)
			}
		}
		slices.Sort(dsts)
		for _, id := range dsts {
			dst := s.Proxies[id]
			ports := dst.BridgePorts
			if ports == "" {
				ports = DefaultBridgePorts
			}
			ranges, err := parsePorts(ports)
			if err != nil {
				errs = append(errs, fmt.Errorf("group %q to proxy %s: %w", gid, id, err))
				continue
			}
			key := nameUUID("pair", gid, src.ID, dst.ID, src.bridgeHost(), dst.bridgeHost(), ports, cfgHash)
			pairs = append(pairs, &pair{
				group: gid, src: src, dst: dst, ranges: ranges, key: key,
				egress: nameUUID("egress", key), in: nameUUID("ingress", key),
			})
		}
	}
	// Ports: existing ingress bridges keep theirs first, then new ones
	// take the lowest free, in the pairs' sorted order.
	used := map[string]map[uint32]bool{}
	for _, p := range pairs {
		if used[p.dst.ID] == nil {
			used[p.dst.ID] = map[uint32]bool{}
		}
		if old := s.Bridges[p.in]; old != nil && old.Kind == KindRx && contains(p.ranges, old.Port) && !used[p.dst.ID][old.Port] {
			p.port = old.Port
			used[p.dst.ID][p.port] = true
		}
	}
	out := make(map[string]*Bridge, 2*len(pairs))
	for _, p := range pairs {
		if p.port == 0 {
			if p.port = lowestFree(p.ranges, used[p.dst.ID]); p.port == 0 {
				errs = append(errs, fmt.Errorf("group %q to proxy %s: no free port in %s", p.group, p.dst.ID, p.dst.BridgePorts))
				continue
			}
			used[p.dst.ID][p.port] = true
		}
		port := strconv.FormatUint(uint64(p.port), 10)
		token := bridgeToken(s.Secret, p.key)
		out[p.egress] = &Bridge{ID: p.egress, ProxyID: p.src.ID, GroupID: p.group, Kind: KindTx, Peer: p.dst.ID,
			RemoteAddr: net.JoinHostPort(p.dst.bridgeHost(), port), Port: p.port, Token: token}
		out[p.in] = &Bridge{ID: p.in, ProxyID: p.dst.ID, GroupID: p.group, Kind: KindRx, Peer: p.src.ID,
			RemoteAddr: net.JoinHostPort(p.src.bridgeHost(), port), Port: p.port, Token: token}
	}
	return out, errs
}

// Configs builds each healthy proxy's ApplyConfigRequest from s and the
// planned bridges: groups sorted by id, their connection and bridge ids
// sorted, bridges sorted by id. Each bridge carries its group's source
// config (sizes and payload of what it transports).
func Configs(s *State, bridges map[string]*Bridge) map[string]*agentv1.ApplyConfigRequest {
	out := map[string]*agentv1.ApplyConfigRequest{}
	for id, p := range s.Proxies {
		if p.Healthy {
			out[id] = &agentv1.ApplyConfigRequest{}
		}
	}
	type member struct{ proxy, group string }
	members := map[member]*agentv1.MultipointGroup{}
	at := func(proxy, group string) *agentv1.MultipointGroup {
		m := members[member{proxy, group}]
		if m == nil {
			m = &agentv1.MultipointGroup{GroupId: group + "/" + proxy}
			members[member{proxy, group}] = m
			out[proxy].Groups = append(out[proxy].Groups, m)
		}
		return m
	}
	sources := map[string]*Conn{}
	for _, c := range s.Conns {
		if out[c.ProxyID] == nil {
			continue
		}
		m := at(c.ProxyID, c.GroupID)
		m.ConnIds = append(m.ConnIds, c.ID)
		if src := sources[c.GroupID]; c.Kind == KindRx && (src == nil || earlier(c, src)) {
			sources[c.GroupID] = c
		}
	}
	for _, b := range bridges {
		cfg := out[b.ProxyID]
		if cfg == nil {
			continue
		}
		m := at(b.ProxyID, b.GroupID)
		m.BridgeIds = append(m.BridgeIds, b.ID)
		cfg.Bridges = append(cfg.Bridges, &agentv1.Bridge{
			BridgeId:   b.ID,
			Type:       BridgeTypeTCP,
			Kind:       b.Kind,
			ConnConfig: sources[b.GroupID].GetConfig(),
			Config:     &agentv1.Bridge_Tcp{Tcp: &agentv1.BridgeTCP{RemoteAddr: b.RemoteAddr, Token: b.Token}},
		})
	}
	for _, cfg := range out {
		slices.SortFunc(cfg.Groups, func(a, b *agentv1.MultipointGroup) int { return cmp.Compare(a.GroupId, b.GroupId) })
		for _, g := range cfg.Groups {
			slices.Sort(g.ConnIds)
			slices.Sort(g.BridgeIds)
		}
		slices.SortFunc(cfg.Bridges, func(a, b *agentv1.Bridge) int { return cmp.Compare(a.BridgeId, b.BridgeId) })
	}
	return out
}

// configHash identifies a config's content.
func configHash(c *sdkpb.ConnectionConfig) string {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// sameConfig is proto.Equal for plans, fast: a bridge's conn_config is
// usually the very message of the last plan (configs are shared, never
// modified), so it is compared by pointer before by content. Reflective
// comparison of every bridge's config was most of an event's cost.
func sameConfig(a, b *agentv1.ApplyConfigRequest) bool {
	if len(a.GetGroups()) != len(b.GetGroups()) || len(a.GetBridges()) != len(b.GetBridges()) {
		return false
	}
	for i, g := range a.GetGroups() {
		h := b.GetGroups()[i]
		if g.GetGroupId() != h.GetGroupId() || !slices.Equal(g.GetConnIds(), h.GetConnIds()) || !slices.Equal(g.GetBridgeIds(), h.GetBridgeIds()) {
			return false
		}
	}
	for i, x := range a.GetBridges() {
		y := b.GetBridges()[i]
		if x.GetBridgeId() != y.GetBridgeId() || x.GetType() != y.GetType() || x.GetKind() != y.GetKind() ||
			!proto.Equal(x.GetTcp(), y.GetTcp()) || !proto.Equal(x.GetSt2110(), y.GetSt2110()) || !proto.Equal(x.GetRdma(), y.GetRdma()) {
			return false
		}
		if x.GetConnConfig() != y.GetConnConfig() && !proto.Equal(x.GetConnConfig(), y.GetConnConfig()) {
			return false
		}
	}
	return true
}
