package agent

import (
	"maps"
	"net"
	"slices"
	"strconv"
	"time"

	sdkpb "mediamesh/api/mcm/sdk"
)

// Connection kinds, in MCM's sense (seen from the proxy, mcm-api.md §5.1).
const (
	KindRx = "rx" // an SDK sender: the proxy receives from it; the group's source
	KindTx = "tx" // an SDK receiver
)

// BridgeTypeTCP is Bridge.type of mediamesh's TCP bridges.
const BridgeTypeTCP = "tcp"

// DefaultBridgePorts is MCM's default -p range, used for a proxy that
// registers without one.
const DefaultBridgePorts = "9100-9999"

// Proxy is one registered media-proxy.
type Proxy struct {
	ID      string `json:"id"`
	SDKPort uint32 `json:"sdkPort"`
	// ControlIP is the address the proxy's gRPC requests came from.
	ControlIP string `json:"controlIp"`
	// ST2110IP and ST2110Dev are the proxy's -i and -d.
	ST2110IP  string `json:"st2110Ip,omitempty"`
	ST2110Dev string `json:"st2110Dev,omitempty"`
	// BridgeIP and BridgePorts are the proxy's -r and -p (MCM's RDMA
	// settings): where its ingress bridges listen.
	BridgeIP     string    `json:"bridgeIp,omitempty"`
	BridgePorts  string    `json:"bridgePorts,omitempty"`
	RegisteredAt time.Time `json:"registeredAt"`
	LastSeen     time.Time `json:"lastSeen"`
	// Healthy is false once the proxy has had no command stream for the
	// agent's grace period; an unhealthy proxy gets no bridges.
	Healthy bool `json:"healthy"`
	// Identity is the common name of the client certificate the proxy
	// registered with ("" without TLS): every later call for this proxy
	// must present the same, so one proxy's certificate cannot act for
	// another.
	Identity string `json:"identity,omitempty"`
}

// bridgeHost is where peers reach the proxy's ingress bridges: its -r
// address, else the address it talks to the agent from.
func (p *Proxy) bridgeHost() string {
	if p.BridgeIP != "" {
		return p.BridgeIP
	}
	return p.ControlIP
}

// Conn is one SDK connection registered by a proxy.
type Conn struct {
	ID      string `json:"id"`
	ProxyID string `json:"proxyId"`
	Kind    string `json:"kind"` // KindRx or KindTx
	GroupID string `json:"groupId"`
	// Config is the SDK's config, validated. It is never modified once
	// stored: plans and snapshots share it.
	Config       *sdkpb.ConnectionConfig `json:"-"`
	RegisteredAt time.Time               `json:"registeredAt"`
}

// Bridge is one side of a proxy-to-proxy bridge pair, as planned.
type Bridge struct {
	ID      string `json:"id"`
	ProxyID string `json:"proxyId"`
	GroupID string `json:"groupId"`
	Kind    string `json:"kind"` // KindTx egress (source's proxy), KindRx ingress
	// Peer is the proxy id of the other side.
	Peer string `json:"peer"`
	// RemoteAddr is the peer's bridge address and the ingress port,
	// "host:port" (see BridgeTCP in mediaproxy.proto).
	RemoteAddr string `json:"remoteAddr"`
	// Port is the ingress side's listening port.
	Port uint32 `json:"port"`
	// Token is the pair's shared secret; never shown or logged.
	Token string `json:"token"`
}

// Group is a multipoint group as the registry sees it, derived from its
// connections: the URN, or "ip:port" for an ST 2110 connection.
type Group struct {
	ID string
	// Config is the config of the group's first connection, which every
	// later member must match (mcm-api.md §5.4).
	Config *sdkpb.ConnectionConfig
	// Source is the id of the group's SDK sender ("rx" conn), "" if none.
	Source string
	// ConnIDs and BridgeIDs are sorted.
	ConnIDs, BridgeIDs []string
}

// State is the registry: everything the agent knows and persists. Plan is
// a pure function of it.
type State struct {
	Proxies map[string]*Proxy
	Conns   map[string]*Conn
	Bridges map[string]*Bridge
	// Secret keys the bridge tokens (HMAC), so that replanning yields the
	// same token without storing a random one per bridge.
	Secret []byte
}

// NewState returns an empty registry.
func NewState() *State {
	return &State{Proxies: map[string]*Proxy{}, Conns: map[string]*Conn{}, Bridges: map[string]*Bridge{}}
}

// Clone returns a copy that shares only the immutable connection configs.
func (s *State) Clone() *State {
	c := &State{
		Proxies: make(map[string]*Proxy, len(s.Proxies)),
		Conns:   make(map[string]*Conn, len(s.Conns)),
		Bridges: make(map[string]*Bridge, len(s.Bridges)),
		Secret:  slices.Clone(s.Secret),
	}
	for id, p := range s.Proxies {
		v := *p
		c.Proxies[id] = &v
	}
	for id, x := range s.Conns {
		v := *x
		c.Conns[id] = &v
	}
	for id, b := range s.Bridges {
		v := *b
		c.Bridges[id] = &v
	}
	return c
}

// Groups derives the multipoint groups from the connections and bridges.
func (s *State) Groups() map[string]*Group {
	groups := map[string]*Group{}
	first := map[string]*Conn{}
	for _, c := range s.Conns {
		g := groups[c.GroupID]
		if g == nil {
			g = &Group{ID: c.GroupID}
			groups[c.GroupID] = g
		}
		g.ConnIDs = append(g.ConnIDs, c.ID)
		if c.Kind == KindRx && (g.Source == "" || earlier(c, s.Conns[g.Source])) {
			g.Source = c.ID
		}
		if f := first[c.GroupID]; f == nil || earlier(c, f) {
			first[c.GroupID] = c
		}
	}
	for _, b := range s.Bridges {
		if g := groups[b.GroupID]; g != nil {
			g.BridgeIDs = append(g.BridgeIDs, b.ID)
		}
	}
	for id, g := range groups {
		g.Config = first[id].Config
		slices.Sort(g.ConnIDs)
		slices.Sort(g.BridgeIDs)
	}
	return groups
}

// earlier orders connections by registration, then id, so a group's
// config is the same whichever map order found its members.
func earlier(a, b *Conn) bool {
	if c := a.RegisteredAt.Compare(b.RegisteredAt); c != 0 {
		return c < 0
	}
	return a.ID < b.ID
}

// groupID is MCM's agent group id of a config: the URN verbatim, or
// "ip:port" for ST 2110 (mcm-api.md §5.4); "" when it has neither.
func groupID(cfg *sdkpb.ConnectionConfig) string {
	if mg := cfg.GetMultipointGroup(); mg != nil {
		return mg.GetUrn()
	}
	if st := cfg.GetSt2110(); st != nil {
		return net.JoinHostPort(st.GetIpAddr(), strconv.FormatUint(uint64(st.GetPort()), 10))
	}
	return ""
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// GetConfig is c.Config, nil for a nil c.
func (c *Conn) GetConfig() *sdkpb.ConnectionConfig {
	if c == nil {
		return nil
	}
	return c.Config
}
