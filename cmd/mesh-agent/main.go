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
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"

	"mediamesh/internal/agent"
	"mediamesh/internal/agent/rest"
	"mediamesh/internal/logging"
	"mediamesh/internal/mtls"
	"mediamesh/internal/version"
)

func main() { os.Exit(run(os.Args[1:], os.Getenv, os.Stderr)) }

// flags are mesh-agent's settings; each has the environment variable
// MEDIAMESH_AGENT_<NAME> (dashes as underscores) as its default: its own
// prefix, so media-proxy's MEDIAMESH_TOKEN or MEDIAMESH_INSECURE on the same
// host never reach the agent, and meshctl reads the same MEDIAMESH_AGENT_TOKEN.
type flags struct {
	grpcAddr, restAddr, dataDir string
	ca, cert, key               string
	token, tokenFile, cors      string
	insecure                    bool
	logLevel, logFormat         string
	help                        bool
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (*flags, error) {
	var f flags
	fs := flag.NewFlagSet("mesh-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.grpcAddr, "grpc-addr", agent.DefaultGRPCAddr, "Proxy API (gRPC mediaproxy.ProxyAPI) listen address")
	fs.StringVar(&f.restAddr, "rest-addr", "127.0.0.1:8100", "Control API (REST) listen address; empty: no Control API")
	fs.StringVar(&f.dataDir, "data-dir", "/var/lib/mediamesh", "directory of the state store ("+agent.DBFile+")")
	fs.StringVar(&f.ca, "ca", "", "CA certificate (PEM) that proxies' client certificates must chain to")
	fs.StringVar(&f.cert, "cert", "", "the agent's server certificate (PEM)")
	fs.StringVar(&f.key, "key", "", "the agent's private key (PEM)")
	fs.StringVar(&f.token, "token", "", "bearer token the Control API requires (at least 16 characters)")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the Control API's bearer token")
	fs.StringVar(&f.cors, "cors-origin", "", "comma-separated browser origins allowed to call the Control API (default: none, no CORS)")
	fs.BoolVar(&f.insecure, "insecure", false, "serve the Proxy API without TLS, and the Control API without a token if none is given, to anyone (a lab choice; logs a warning)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "", "text or json (default: text on a terminal, else json)")
	var errs []error
	fs.VisitAll(func(fl *flag.Flag) {
		env := "MEDIAMESH_AGENT_" + strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_"))
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
	switch {
	case f.token != "" && f.tokenFile != "":
		errs = append(errs, errors.New("--token and --token-file exclude each other"))
	case f.restAddr != "" && !f.insecure && f.token == "" && f.tokenFile == "":
		errs = append(errs, errors.New("the Control API needs --token or --token-file (or --rest-addr= to turn it off, or --insecure)"))
	}
	return &f, errors.Join(errs...)
}

// restAPI builds the Control API of f, nil without --rest-addr.
func restAPI(f *flags, log *slog.Logger) (func(*agent.Agent) http.Handler, error) {
	if f.restAddr == "" {
		return nil, nil
	}
	token := f.token
	if f.tokenFile != "" {
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return nil, err
		}
		token = strings.TrimSpace(string(b))
	}
	var origins []string
	for o := range strings.SplitSeq(f.cors, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	api, err := rest.New(rest.Config{Token: token, Insecure: f.insecure, CORSOrigins: origins}, log)
	if err != nil {
		return nil, err
	}
	return api.Handler, nil
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
	} else if tc, err = mtls.Server(f.ca, f.cert, f.key); err != nil {
		log.Error("configure", "err", err)
		return 2
	}
	handler, err := restAPI(f, log)
	if err != nil {
		log.Error("configure", "err", err)
		return 2
	}
	a, err := agent.New(agent.Config{
		GRPCAddr: f.grpcAddr,
		DataDir:  f.dataDir,
		TLS:      tc,
		Insecure: f.insecure,
		RESTAddr: f.restAddr,
		REST:     handler,
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
