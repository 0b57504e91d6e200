package meshctl

import (
	"context"
	"fmt"
	"sort"
	"strings"
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
	api, ctx, done, err := adminCall(ctx, env, proxy)
	if err != nil {
		return err
	}
	defer done()
	resp, err := api.ListConnections(ctx, &proxyv1.ListConnectionsRequest{})
	if err != nil {
		return fmt.Errorf("list connections on %s: %w", proxy, err)
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tGROUP\tPAYLOAD\tSLOTS\tBUFFERS\tBYTES\tDROPPED\tPID")
	for _, c := range resp.GetConnections() {
		where := c.GetGroup()
		if c.GetWire() != "" {
			where = c.GetWire()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", c.GetId(), c.GetKind(), c.GetState(),
			where, c.GetPayload(), c.GetQueueCapacity(), c.GetBuffers(), c.GetBytes(), c.GetDropped(), c.GetPeerPid())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range resp.GetConnections() {
		if st := c.GetWireStats(); len(st) > 0 {
			fmt.Fprintf(env.Stdout, "%s wire: %s\n", c.GetId(), formatStats(st))
		}
	}
	return nil
}

// formatStats prints counters as sorted key=value pairs.
func formatStats(st map[string]uint64) string {
	keys := make([]string, 0, len(st))
	for k := range st {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, st[k])
	}
	return b.String()
}

// adminCall dials the proxy's admin API with the token from the
// environment and a bounded context.
func adminCall(ctx context.Context, env Env, proxy string) (proxyv1.ProxyAdminClient, context.Context, func(), error) {
	cc, err := dialProxy(proxy)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if tok := env.Getenv("MEDIAMESH_TOKEN"); tok != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	return proxyv1.NewProxyAdminClient(cc), ctx, func() { cancel(); _ = cc.Close() }, nil
}

// dialProxy opens a gRPC client to media-proxy at HOST:PORT or unix:PATH
// (gRPC resolves unix targets itself).
func dialProxy(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
}
