package proxy

import (
	"context"
	"os"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	sdkpb "mediamesh/api/mcm/sdk"
	"mediamesh/internal/mcm"
)

// MetadataZeroCopy is the gRPC metadata key by which a mediamesh SDK
// receiver says it reads imported regions in place ("true"): it accepts
// IMPORT_REGION on its memif link (memif.md §11.1 A).
const MetadataZeroCopy = "mediamesh-zero-copy"

// MetadataReliable is the gRPC metadata key by which a mediamesh SDK asks
// for reliable delivery in its group ("true"). MCM's protos stay untouched.
const MetadataReliable = "mediamesh-reliable"

// MetadataBridge is the gRPC metadata key by which the proxy's own mesh
// bridges mark the SDK connections they open in their groups ("true"):
// such a connection is plumbing, not an app, so it is not reported to the
// agent. Honoured only from this very process (SO_PEERCRED pid).
const MetadataBridge = "mediamesh-bridge"

// clientID is what MCM's proxy answers in every CreateConnectionResponse.
const clientID = "default-client"

// sdkAPI serves MCM's sdk.SDKAPI.
type sdkAPI struct {
	sdkpb.UnimplementedSDKAPIServer
	p *Proxy
}

func (s *sdkAPI) CreateConnection(ctx context.Context, req *sdkpb.CreateConnectionRequest) (*sdkpb.CreateConnectionResponse, error) {
	if req.GetConfig() == nil {
		if len(req.GetMcmConnParam()) > 0 {
			return nil, status.Error(codes.Unimplemented, "legacy mcm_conn_param requests are not supported; send a config")
		}
		return nil, status.Error(codes.InvalidArgument, "no config provided")
	}
	var o createOpts
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		o.reliable = slices.Contains(md.Get(MetadataReliable), "true")
		o.zeroCopy = slices.Contains(md.Get(MetadataZeroCopy), "true")
		if cred, local := callerCred(ctx); local && cred.PID == int32(os.Getpid()) {
			o.bridge = slices.Contains(md.Get(MetadataBridge), "true")
		}
		if v := md.Get(mcm.MetadataWireOptions); len(v) > 0 {
			var err error
			if o.wire, err = mcm.ParseWireOptions([]byte(v[0])); err != nil {
				return nil, status.Error(codes.InvalidArgument, err.Error())
			}
		}
	}
	c, err := s.p.createConn(ctx, req.GetConfig(), o)
	if err != nil {
		return nil, err
	}
	return &sdkpb.CreateConnectionResponse{ClientId: clientID, ConnId: c.id, MemifConnParam: c.param}, nil
}

func (s *sdkAPI) ActivateConnection(ctx context.Context, req *sdkpb.ActivateConnectionRequest) (*sdkpb.ActivateConnectionResponse, error) {
	c, err := s.p.lookup(ctx, req.GetConnId())
	if err != nil {
		return nil, err
	}
	if err := c.activate(ctx); err != nil {
		return nil, err
	}
	return &sdkpb.ActivateConnectionResponse{}, nil
}

func (s *sdkAPI) DeleteConnection(ctx context.Context, req *sdkpb.DeleteConnectionRequest) (*sdkpb.DeleteConnectionResponse, error) {
	c, err := s.p.lookup(ctx, req.GetConnId())
	if err != nil {
		return nil, err
	}
	c.delete()
	s.p.log.Debug("connection deleted", "conn_id", c.id)
	return &sdkpb.DeleteConnectionResponse{}, nil
}

// lookup finds a connection by id. Unlike MCM, unknown ids are an error
// (mcm-api.md §8 #13), and a local caller may only touch its own.
func (p *Proxy) lookup(ctx context.Context, id string) (*conn, error) {
	p.mu.Lock()
	c, ok := p.mu.conns[id]
	p.mu.Unlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "connection %q not found", id)
	}
	if cred, local := callerCred(ctx); local && c.local && cred.UID != 0 && cred.UID != c.creator.UID {
		return nil, status.Errorf(codes.PermissionDenied, "connection %q belongs to another user", id)
	}
	return c, nil
}
