package sdk

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	sdkpb "mediamesh/api/mcm/sdk"
	"mediamesh/internal/mcm"
)

// EnvToken names the environment variable holding the bearer token for a
// media-proxy TCP SDK port that requires one.
const EnvToken = "MEDIAMESH_TOKEN"

// Client is a connection to one media-proxy; MCM's MeshClient. It is safe
// for concurrent use.
type Client struct {
	cfg    ClientConfig
	target string
	token  string
	cc     *grpc.ClientConn
	api    sdkpb.SDKAPIClient

	mu struct {
		sync.Mutex
		conns  map[*Connection]struct{}
		closed bool
	}
}

// NewClient makes a client for the proxy named by cfg (MCM's
// apiConnectionString, then MCM_MEDIA_PROXY_IP / MCM_MEDIA_PROXY_PORT, then
// 127.0.0.1:8002). Like MCM it makes no call yet: a proxy that is not up is
// reported by the first CreateTxConnection or CreateRxConnection.
//
// Server may also name media-proxy's unix socket as "unix:/path/sdk.sock",
// which lets the proxy check the app's uid.
func NewClient(cfg ClientConfig) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	target := cfg.ProxyTarget(os.LookupEnv)
	c := &Client{cfg: cfg, target: target, token: os.Getenv(EnvToken)}
	// A "unix:/path" target is served by gRPC's built-in unix resolver.
	dial := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	cc, err := grpc.NewClient(target, dial...)
	if err != nil {
		return nil, &Error{Code: ErrCodeClientConfigInval, Op: "create client", Err: err}
	}
	c.cc = cc
	c.api = sdkpb.NewSDKAPIClient(cc)
	c.mu.conns = make(map[*Connection]struct{})
	return c, nil
}

// NewClientJSON makes a client from MCM's client JSON configuration.
func NewClientJSON(data []byte) (*Client, error) {
	cfg, err := ParseClientConfig(data)
	if err != nil {
		return nil, err
	}
	return NewClient(cfg)
}

// Target returns the gRPC target the client talks to.
func (c *Client) Target() string { return c.target }

// Close deletes the client's remaining connections and closes it. (MCM's
// mesh_delete_client refuses while connections exist; in Go, Close is the
// one cleanup call, so it cleans up.) Idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return nil
	}
	c.mu.closed = true
	conns := make([]*Connection, 0, len(c.mu.conns))
	for k := range c.mu.conns {
		conns = append(conns, k)
	}
	c.mu.Unlock()
	for _, k := range conns {
		_ = k.Close()
	}
	return c.cc.Close()
}

// CreateTxConnection creates a sending connection (mesh_create_tx_connection).
func (c *Client) CreateTxConnection(ctx context.Context, cfg ConnectionConfig) (*Connection, error) {
	return c.create(ctx, cfg, true)
}

// CreateRxConnection creates a receiving connection (mesh_create_rx_connection).
func (c *Client) CreateRxConnection(ctx context.Context, cfg ConnectionConfig) (*Connection, error) {
	return c.create(ctx, cfg, false)
}

// CreateTxConnectionJSON and CreateRxConnectionJSON take MCM's connection
// JSON unchanged.
func (c *Client) CreateTxConnectionJSON(ctx context.Context, data []byte) (*Connection, error) {
	cfg, err := ParseConnectionConfig(data)
	if err != nil {
		return nil, err
	}
	return c.create(ctx, cfg, true)
}

// CreateRxConnectionJSON: see CreateTxConnectionJSON.
func (c *Client) CreateRxConnectionJSON(ctx context.Context, data []byte) (*Connection, error) {
	cfg, err := ParseConnectionConfig(data)
	if err != nil {
		return nil, err
	}
	return c.create(ctx, cfg, false)
}

func (c *Client) create(ctx context.Context, cfg ConnectionConfig, tx bool) (*Connection, error) {
	op := "create rx connection"
	if tx {
		op = "create tx connection"
	}
	if err := cfg.resolveSDP(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return nil, &Error{Code: ErrCodeBadClientPtr, Op: op, Err: fmt.Errorf("client closed")}
	}
	if max := c.cfg.maxConnections(); len(c.mu.conns) >= max {
		c.mu.Unlock()
		return nil, &Error{Code: ErrCodeMaxConn, Op: op, Err: fmt.Errorf("%d connections open, maxMediaConnections is %d", max, max)}
	}
	c.mu.Unlock()

	conn, err := newConnection(ctx, c, cfg, tx)
	if err != nil {
		return nil, &Error{Code: ErrCodeConnFailed, Op: op, Err: err}
	}
	c.mu.Lock()
	c.mu.conns[conn] = struct{}{}
	c.mu.Unlock()
	if tx && cfg.ConnCreationDelayMilliseconds > 0 {
		time.Sleep(time.Duration(cfg.ConnCreationDelayMilliseconds) * time.Millisecond)
	}
	return conn, nil
}

func (c *Client) forget(k *Connection) {
	c.mu.Lock()
	delete(c.mu.conns, k)
	c.mu.Unlock()
}

// callCtx adds the bearer token and mediamesh metadata to an RPC context:
// the reliable and zero-copy offers, and an st2110 connection's wire
// options (JSON, nil for none).
func (c *Client) callCtx(ctx context.Context, reliable, zeroCopy bool, wire []byte) context.Context {
	kv := make([]string, 0, 8)
	if c.token != "" {
		kv = append(kv, "authorization", "Bearer "+c.token)
	}
	if reliable {
		kv = append(kv, "mediamesh-reliable", "true")
	}
	if zeroCopy {
		kv = append(kv, "mediamesh-zero-copy", "true")
	}
	if wire != nil {
		kv = append(kv, mcm.MetadataWireOptions, string(wire))
	}
	if len(kv) == 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, kv...)
}
