package meshctl

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	proxyv1 "mediamesh/api/proxy/v1"
)

func runLs(ctx context.Context, env Env, args []string) error {
	var proxy string
	fs := newFlags(env, "ls")
	fs.StringVar(&proxy, "proxy", defaultProxy(env), "media-proxy SDK API: HOST:PORT, or unix:PATH")
	if err := parse(fs, args); err != nil {
		return err
	}
	cc, err := dialProxy(proxy)
	if err != nil {
		return err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if tok := env.Getenv("MEDIAMESH_TOKEN"); tok != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	resp, err := proxyv1.NewProxyAdminClient(cc).ListConnections(ctx, &proxyv1.ListConnectionsRequest{})
	if err != nil {
		return fmt.Errorf("list connections on %s: %w", proxy, err)
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tGROUP\tPAYLOAD\tSLOTS\tBUFFERS\tBYTES\tDROPPED\tPID")
	for _, c := range resp.GetConnections() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", c.GetId(), c.GetKind(), c.GetState(),
			c.GetGroup(), c.GetPayload(), c.GetQueueCapacity(), c.GetBuffers(), c.GetBytes(), c.GetDropped(), c.GetPeerPid())
	}
	return tw.Flush()
}

// dialProxy opens a gRPC client to media-proxy at HOST:PORT or unix:PATH
// (gRPC resolves unix targets itself).
func dialProxy(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
}
