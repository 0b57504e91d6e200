// Command meshctl is mediamesh's command line: test streams, inspection and
// wire checks. See README.md beside this file.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"mediamesh/internal/meshctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := meshctl.Run(ctx, meshctl.Env{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
	}, os.Args[1:])
	stop()
	os.Exit(code)
}
