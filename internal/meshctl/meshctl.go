// Package meshctl implements the meshctl command line: one file per
// subcommand, each a func(ctx, env, args) error. cmd/meshctl only wires
// the process (signals, streams, exit code) to Run.
package meshctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Env is what a subcommand may touch of the process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// ErrUsage marks a command line error: exit code 2.
var ErrUsage = errors.New("usage")

type command struct {
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"send":  {"send a test stream (or raw frames from a file) into a group", runSend},
		"recv":  {"receive a group's stream, verify it, write raw frames", runRecv},
		"ls":    {"list a media-proxy's connections", runLs},
		"sdp":   {"print the SDP of an ST 2110 connection", runSdp},
		"certs": {"make a lab CA and mTLS certificates for mesh-agent, proxies and meshctl", runCerts},
		"memif": {"talk memif directly (send|recv), for wire checks against libmemif", runMemif},
		"get":   {"list mesh-agent's proxies, connections, groups or bridges", runGet}, "describe": {"show one multipoint group across the mesh", runDescribe},
	}
}

// Run executes one meshctl command line and returns the process exit code:
// 0 success, 1 failure, 2 usage.
func Run(ctx context.Context, env Env, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stdout, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "meshctl: unknown command %q\n", args[0])
		usage(env.Stderr, cmds)
		return 2
	}
	err := c.run(ctx, env, args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		fmt.Fprintf(env.Stderr, "meshctl %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(env.Stderr, "meshctl %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage: meshctl <command> [flags]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-8s %s\n", n, cmds[n].summary)
	}
	b.WriteString("\nRun 'meshctl <command> -h' for a command's flags.\n")
	_, _ = io.WriteString(w, b.String())
}

// newFlags makes a subcommand's flag set that reports errors instead of
// exiting.
func newFlags(env Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("meshctl "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// parse parses args and wraps a parse error as a usage error.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	return nil
}
