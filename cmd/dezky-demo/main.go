// Command dezky-demo is the dezky command with the demo upstreams linked
// in: `serve` on the embedded database starts the Authentik, oCIS and
// Stalwart simulators (and stripe-mock when installed) and binds the
// provider plugins to them. It is what `make run` starts; production uses
// cmd/dezky, which carries no simulator. See 'dezky-demo help'.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/app/demoupstreams"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := app.Command{DemoUpstreams: demoupstreams.Start}
	if err := cmd.Run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "dezky-demo:", err)
		os.Exit(1)
	}
}
