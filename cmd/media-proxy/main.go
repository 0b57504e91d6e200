// Command media-proxy is mediamesh's per-node data-plane daemon, a drop-in
// for MCM's media_proxy. See README.md beside this file.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"mediamesh/internal/conf"
	"mediamesh/internal/logging"
	"mediamesh/internal/mesh"
	"mediamesh/internal/proxy"
	"mediamesh/internal/version"
)

func main() { os.Exit(run()) }

func run() int {
	cfg, action, err := conf.LoadProxy(os.Args[1:], os.Getenv, os.Stdout)
	switch {
	case errors.Is(err, conf.ErrUsage):
		fmt.Fprintf(os.Stderr, "media-proxy: %v\n\n", err)
		conf.ProxyUsage(os.Stderr)
		return 2
	case err != nil:
		fmt.Fprintf(os.Stderr, "media-proxy: invalid configuration:\n%v\n", err)
		return 2
	case action == conf.ActionHelp:
		return 0
	case action == conf.ActionCheck:
		fmt.Println("config ok")
		return 0
	case action == conf.ActionPrint:
		b, _ := json.MarshalIndent(cfg.Redacted(), "", "  ")
		fmt.Println(string(b))
		return 0
	}
	format := cfg.LogFormat
	if format == "" {
		format = "json"
		if term.IsTerminal(int(os.Stderr.Fd())) {
			format = "text"
		}
	}
	log, err := logging.New(cfg.LogLevel, format, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "media-proxy: %v\n", err)
		return 2
	}
	if cfg.Insecure {
		log.Warn("running with --insecure: TCP clients are not authenticated")
	}
	p, err := proxy.New(proxy.Config{
		RunDir:      cfg.RunDir,
		SDKAddr:     cfg.SDKAddr(),
		Token:       cfg.Token,
		Insecure:    cfg.Insecure,
		SocketGroup: cfg.SocketGroup,
		AllowUIDs:   cfg.AllowUIDs,
		AllowGIDs:   cfg.AllowGIDs,
		ST2110IP:    cfg.ST2110IP,
		PTPClock:    cfg.PTPClock,
	}, log)
	if err != nil {
		log.Error("configure", "err", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := p.Start(ctx); err != nil {
		log.Error("start", "err", err)
		_ = p.Close()
		return 1
	}
	log.Info("media-proxy started", "version", version.String(), "run_dir", cfg.RunDir)
	m, err := mesh.Join(cfg, p, log)
	if err != nil {
		log.Error("mesh", "err", err)
		_ = p.Close()
		return 2
	}
	code := 0
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case <-p.Done():
		log.Error("proxy failed", "err", p.Err())
		code = 1
	}
	if m != nil {
		if err := m.Close(); err != nil {
			log.Error("close mesh", "err", err)
		}
	}
	if err := p.Close(); err != nil {
		log.Error("close", "err", err)
		code = 1
	}
	return code
}
