// Command mesh-agent is mediamesh's control plane: proxies register with
// it and get their groups and bridges. See README.md beside this file.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"

	"mediamesh/internal/agent"
	"mediamesh/internal/logging"
	"mediamesh/internal/version"
)

func main() { os.Exit(run(os.Args[1:], os.Getenv, os.Stderr)) }

// flags are mesh-agent's settings; each has the environment variable
// MEDIAMESH_<NAME> (dashes as underscores) as its default.
type flags struct {
	grpcAddr, restAddr, dataDir string
	ca, cert, key               string
	insecure                    bool
	logLevel, logFormat         string
	help                        bool
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (*flags, error) {
	var f flags
	fs := flag.NewFlagSet("mesh-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.grpcAddr, "grpc-addr", agent.DefaultGRPCAddr, "Proxy API (gRPC mediaproxy.ProxyAPI) listen address")
	fs.StringVar(&f.restAddr, "rest-addr", "127.0.0.1:8100", "Control API (REST) listen address")
	fs.StringVar(&f.dataDir, "data-dir", "/var/lib/mediamesh", "directory of the state store ("+agent.DBFile+")")
	fs.StringVar(&f.ca, "ca", "", "CA certificate (PEM) that proxies' client certificates must chain to")
	fs.StringVar(&f.cert, "cert", "", "the agent's server certificate (PEM)")
	fs.StringVar(&f.key, "key", "", "the agent's private key (PEM)")
	fs.BoolVar(&f.insecure, "insecure", false, "serve the Proxy API without TLS, to anyone (a lab choice; logs a warning)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "", "text or json (default: text on a terminal, else json)")
	var errs []error
	fs.VisitAll(func(fl *flag.Flag) {
		env := "MEDIAMESH_" + strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_"))
		if v := getenv(env); v != "" {
			if err := fl.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", env, v, err))
			}
		}
	})
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	tlsSet := f.ca != "" || f.cert != "" || f.key != ""
	switch {
	case f.insecure && tlsSet:
		errs = append(errs, errors.New("--insecure and --ca/--cert/--key exclude each other"))
	case !f.insecure && (f.ca == "" || f.cert == "" || f.key == ""):
		errs = append(errs, errors.New("mTLS needs --ca, --cert and --key (`meshctl certs` makes them), or choose --insecure"))
	}
	return &f, errors.Join(errs...)
}

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	f, err := parse(args, getenv, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp): // -h: usage printed
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "mesh-agent: %v\n", err)
		return 2
	}
	format := f.logFormat
	if format == "" {
		format = "json"
		if term.IsTerminal(int(os.Stderr.Fd())) {
			format = "text"
		}
	}
	log, err := logging.New(f.logLevel, format, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "mesh-agent: %v\n", err)
		return 2
	}
	var tc *tls.Config
	if f.insecure {
		log.Warn("running with --insecure: the Proxy API is plaintext and unauthenticated")
	} else if tc, err = agent.LoadTLS(f.ca, f.cert, f.key, true); err != nil {
		log.Error("configure", "err", err)
		return 2
	}
	a, err := agent.New(agent.Config{
		GRPCAddr: f.grpcAddr,
		DataDir:  f.dataDir,
		TLS:      tc,
		Insecure: f.insecure,
		// The Control API (internal/agent/rest) plugs in here:
		// RESTAddr: f.restAddr, REST: func(a *agent.Agent) http.Handler { … }.
	}, log)
	if err != nil {
		log.Error("configure", "err", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := a.Start(ctx); err != nil {
		log.Error("start", "err", err)
		_ = a.Close()
		return 1
	}
	log.Info("mesh-agent started", "version", version.String(), "data_dir", f.dataDir)
	code := 0
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case <-a.Done():
		log.Error("agent failed", "err", a.Err())
		code = 1
	}
	if err := a.Close(); err != nil {
		log.Error("close", "err", err)
		code = 1
	}
	return code
}
