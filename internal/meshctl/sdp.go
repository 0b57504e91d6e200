package meshctl

import (
	"context"
	"fmt"
	"io"

	proxyv1 "mediamesh/api/proxy/v1"
)

// runSdp prints the SDP of an ST 2110 connection: the one media-proxy
// wrote for a tx connection (also in its run directory), or the one an rx
// connection was created from.
func runSdp(ctx context.Context, env Env, args []string) error {
	var proxy string
	fs := newFlags(env, "sdp")
	fs.StringVar(&proxy, "proxy", defaultProxy(env), "media-proxy SDK API: HOST:PORT, or unix:PATH")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: meshctl sdp [--proxy ADDR] CONN_ID")
		fs.PrintDefaults()
	}
	if len(args) > 0 && args[len(args)-1] != "" && args[len(args)-1][0] != '-' {
		args, id := args[:len(args)-1], args[len(args)-1]
		if err := parse(fs, args); err != nil {
			return err
		}
		return printSDP(ctx, env, proxy, id, env.Stdout)
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	return fmt.Errorf("%w: a connection id is required (meshctl ls lists them)", ErrUsage)
}

func printSDP(ctx context.Context, env Env, proxy, id string, w io.Writer) error {
	api, ctx, done, err := adminCall(ctx, env, proxy)
	if err != nil {
		return err
	}
	defer done()
	resp, err := api.GetSDP(ctx, &proxyv1.GetSDPRequest{ConnId: id})
	if err != nil {
		return fmt.Errorf("sdp of %s on %s: %w", id, proxy, err)
	}
	_, err = io.WriteString(w, resp.GetSdp())
	return err
}
