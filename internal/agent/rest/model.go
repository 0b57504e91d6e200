package rest

import (
	"encoding/json"
	"time"
)

// The JSON objects of the Control API: MCM's shapes (mcm-api.md §5.6,
// control-plane-agent/internal/model) key for key, so that MCM's tools
// read them unchanged. mediamesh's additions are marked; they are only
// added keys. meshctl decodes the same types.

// TimeLayout is MCM's time format: milliseconds, for its web UI's time
// series.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time is a time in TimeLayout; the zero time is null.
type Time time.Time

// MarshalJSON writes TimeLayout, or null for the zero time.
func (t Time) MarshalJSON() ([]byte, error) {
	if time.Time(t).IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(time.Time(t).Format(TimeLayout))
}

// UnmarshalJSON reads TimeLayout (any RFC 3339 time) or null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	*t = Time(v)
	return nil
}

// MediaProxyList is GET /media-proxy.
type MediaProxyList struct {
	MediaProxy []MediaProxy `json:"mediaProxy"`
}

// ConnectionList is GET /connection.
type ConnectionList struct {
	Connection []Connection `json:"connection"`
}

// MultipointGroupList is GET /multipoint-group.
type MultipointGroupList struct {
	MultipointGroup []MultipointGroup `json:"multipointGroup"`
}

// BridgeList is GET /bridge.
type BridgeList struct {
	Bridge []Bridge `json:"bridge"`
}

// MediaProxy is one registered media-proxy with its connections and
// bridges (each with status and config, without proxyId).
type MediaProxy struct {
	ID      string            `json:"id,omitempty"`
	Config  *MediaProxyConfig `json:"config,omitempty"`
	Status  *MediaProxyStatus `json:"status,omitempty"`
	Conns   []Connection      `json:"conns"`
	Bridges []Bridge          `json:"bridges"`
}

// MediaProxyConfig is what the proxy registered with (its -i, -d, -r, -p).
type MediaProxyConfig struct {
	SDKAPIPort         uint32            `json:"sdkApiPort"`
	ControlplaneIPAddr string            `json:"controlplaneIpAddr"`
	ST2110             ST2110ProxyConfig `json:"st2110"`
	RDMA               RDMAProxyConfig   `json:"rdma"`
}

// ST2110ProxyConfig is the proxy's ST 2110 interface.
type ST2110ProxyConfig struct {
	DataplaneIPAddr string `json:"dataplaneIpAddr"`
	DevPort         string `json:"devPort"`
}

// RDMAProxyConfig is MCM's RDMA data plane settings, which mediamesh's
// TCP bridges use: where the proxy's ingress bridges listen.
type RDMAProxyConfig struct {
	DataplaneIPAddr string `json:"dataplaneIpAddr"`
	DataplanePorts  string `json:"dataplanePorts"`
}

// MediaProxyStatus is the proxy's liveness.
type MediaProxyStatus struct {
	Healthy      bool `json:"healthy"`
	RegisteredAt Time `json:"registeredAt"`
	ConnsNum     int  `json:"connsNum"`
	BridgesNum   int  `json:"bridgesNum"`
	// mediamesh: Active is true while the proxy holds its command stream;
	// LastSeen is its last request; ApplyErrors is what it reported for
	// its last config.
	Active      bool     `json:"active"`
	LastSeen    Time     `json:"lastSeen"`
	ApplyErrors []string `json:"applyErrors,omitempty"`
}

// Connection is one SDK connection.
type Connection struct {
	ID      string            `json:"id,omitempty"`
	ProxyID string            `json:"proxyId,omitempty"`
	GroupID string            `json:"groupId,omitempty"`
	Config  *ConnectionConfig `json:"config,omitempty"`
	Status  *Status           `json:"status,omitempty"`
}

// ConnectionConfig is the SDK's config and MCM's kind: "rx" for an SDK
// sender, "tx" for a receiver (the proxy's point of view).
type ConnectionConfig struct {
	SDKConfig
	Kind string `json:"kind"`
}

// MultipointGroup is a group, derived from its connections.
type MultipointGroup struct {
	ID        string     `json:"id,omitempty"`
	Config    *SDKConfig `json:"config,omitempty"`
	Status    *Status    `json:"status,omitempty"`
	ConnIDs   []string   `json:"connIds,omitempty"`
	BridgeIDs []string   `json:"bridgeIds,omitempty"`
	// mediamesh: SourceID is the group's sender ("rx" connection).
	SourceID string `json:"sourceId,omitempty"`
}

// Bridge is one side of a proxy-to-proxy bridge pair.
type Bridge struct {
	ID      string        `json:"id,omitempty"`
	ProxyID string        `json:"proxyId,omitempty"`
	GroupID string        `json:"groupId,omitempty"`
	Config  *BridgeConfig `json:"config,omitempty"`
	Status  *Status       `json:"status,omitempty"`
}

// BridgeConfig is the group's config and the bridge's own: type "tcp"
// (mediamesh's; MCM's are "st2110" and "rdma"), kind "tx" egress or "rx"
// ingress.
type BridgeConfig struct {
	SDKConfig
	Type   string              `json:"type"`
	Kind   string              `json:"kind"`
	ST2110 *BridgeST2110Config `json:"st2110,omitempty"`
	RDMA   *BridgeRDMAConfig   `json:"rdma,omitempty"`
	// mediamesh: TCP is a "tcp" bridge's far side.
	TCP *BridgeTCPConfig `json:"tcp,omitempty"`
}

// BridgeST2110Config is MCM's ST 2110 bridge (mediamesh plans none: each
// proxy's ST 2110 connection is on the network itself).
type BridgeST2110Config struct {
	RemoteIP     string `json:"remoteIp"`
	Port         uint32 `json:"port"`
	McastSipAddr string `json:"mcastSipAddr,omitempty"`
	PayloadType  uint32 `json:"payloadType"`
}

// BridgeRDMAConfig is MCM's RDMA bridge.
type BridgeRDMAConfig struct {
	RemoteIP string `json:"remoteIp"`
	Port     uint32 `json:"port"`
}

// BridgeTCPConfig is a TCP bridge's far side: the ingress address
// ("host:port"), its port, and the proxy at the other end. The pair's
// token is never shown.
type BridgeTCPConfig struct {
	RemoteAddr  string `json:"remoteAddr"`
	Port        uint32 `json:"port"`
	PeerProxyID string `json:"peerProxyId"`
}

// Status is a connection's, bridge's or group's state and counters, from
// the proxy's latest metrics (mcm-api.md §5.7); updatedAt is their time.
type Status struct {
	RegisteredAt     Time    `json:"registeredAt"`
	UpdatedAt        Time    `json:"updatedAt"`
	State            string  `json:"state"`
	Linked           bool    `json:"linked"`
	Inbound          uint64  `json:"inbound"`
	Outbound         uint64  `json:"outbound"`
	TrnSucceeded     uint64  `json:"trnSucceeded"`
	TrnFailed        uint64  `json:"trnFailed"`
	TPS              float64 `json:"tps"`
	InBandwidthMbit  float64 `json:"inBandwidthMbit"`
	OutBandwidthMbit float64 `json:"outBandwidthMbit"`
	Errors           uint64  `json:"errors"`
	ErrorsDelta      uint64  `json:"errorsDelta"`
	// Gaps and Reconnects (mediamesh, bridges only): buffers the ingress
	// end found missing in the sequence, and reconnects after faults.
	Gaps       uint64 `json:"gaps,omitempty"`
	Reconnects uint64 `json:"reconnects,omitempty"`
}

// SDKConfig is an SDK connection config in MCM's agent JSON, whose enum
// strings derive from the proto names ("st2110-20", "yuv422planar10le",
// "pcm-s24be", "1.09ms"), unlike the SDK's own JSON.
type SDKConfig struct {
	BufQueueCapacity      uint32        `json:"bufQueueCapacity"`
	MaxPayloadSize        uint32        `json:"maxPayloadSize"`
	MaxMetadataSize       uint32        `json:"maxMetadataSize"`
	CalculatedPayloadSize uint32        `json:"calculatedPayloadSize"`
	BufPartitions         BufPartitions `json:"bufPartitions"`
	Conn                  SDKConn       `json:"conn"`
	Options               SDKOptions    `json:"options"`
	Payload               SDKPayload    `json:"payload"`
}

// BufPartitions is a buffer's layout.
type BufPartitions struct {
	Payload  BufPartition `json:"payload"`
	Metadata BufPartition `json:"metadata"`
	Sysdata  BufPartition `json:"sysdata"`
}

// BufPartition is one part of a buffer.
type BufPartition struct {
	Offset uint32 `json:"offset"`
	Size   uint32 `json:"size"`
}

// SDKConn is the connection's kind of transport: one field is set.
type SDKConn struct {
	MultipointGroup *SDKMultipointGroup `json:"multipointGroup,omitempty"`
	ST2110          *SDKST2110          `json:"st2110,omitempty"`
	RDMA            *SDKRDMA            `json:"rdma,omitempty"`
}

// SDKMultipointGroup names a group.
type SDKMultipointGroup struct {
	URN string `json:"urn"`
}

// SDKST2110 is an ST 2110 stream.
type SDKST2110 struct {
	RemoteIPAddr string `json:"remoteIpAddr"`
	Port         uint32 `json:"port"`
	McastSipAddr string `json:"mcastSipAddr,omitempty"`
	Transport    string `json:"transport"`
	Pacing       string `json:"pacing"`
	PayloadType  uint32 `json:"payloadType"`
}

// SDKRDMA is MCM's RDMA connection (refused by the agent).
type SDKRDMA struct {
	ConnectionMode string `json:"connectionMode"`
	MaxLatencyNs   uint32 `json:"maxLatencyNs"`
}

// SDKOptions are the connection's options.
type SDKOptions struct {
	RDMA SDKOptionsRDMA `json:"rdma"`
}

// SDKOptionsRDMA are MCM's RDMA options.
type SDKOptionsRDMA struct {
	Provider     string `json:"provider,omitempty"`
	NumEndpoints uint32 `json:"numEndpoints,omitempty"`
}

// SDKPayload is the payload: one field is set.
type SDKPayload struct {
	Video *SDKVideo `json:"video,omitempty"`
	Audio *SDKAudio `json:"audio,omitempty"`
	Blob  *SDKBlob  `json:"blob,omitempty"`
}

// SDKVideo is a video payload.
type SDKVideo struct {
	Width       uint32  `json:"width"`
	Height      uint32  `json:"height"`
	FPS         float64 `json:"fps"`
	PixelFormat string  `json:"pixelFormat"`
}

// SDKAudio is an audio payload.
type SDKAudio struct {
	Channels   uint32 `json:"channels"`
	SampleRate string `json:"sampleRate"`
	Format     string `json:"format"`
	PacketTime string `json:"packetTime"`
}

// SDKBlob is a blob payload; its size is maxPayloadSize.
type SDKBlob struct{}

// Command is the body of POST /media-proxy/{id}/command and its reply:
// MCM's free-text debug command (DebugRequest.in_text, DebugReply.out_text).
type Command struct {
	Text string `json:"text"`
}

// Health is GET /api/v1/healthz.
type Health struct {
	Status string `json:"status"`
}

// Error is every error response: {"error": {"code": 404, "message": "…"}}.
type Error struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody is an error's HTTP status and what went wrong.
type ErrorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}
