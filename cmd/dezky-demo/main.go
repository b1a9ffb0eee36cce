// Command dezky-demo is the dezky command with the demo upstreams linked
// in: `serve` on the embedded database starts the Authentik, oCIS and
// Stalwart simulators (and stripe-mock when installed) and binds the
// provider plugins to them. It is what `make run` starts; production uses
// cmd/dezky, which carries no simulator. See 'dezky-demo help'.
//
// One command is the demo binary's own: `dezky-demo upstreams` runs the
// simulators (and an authoritative DNS server) on their own, on fixed
// addresses, for dezky servers that reach them over the network, as the
// compose stack in deploy/compose does. See 'dezky-demo upstreams -h'.
package main

import (
	"context"
	"errors"
	"flag"
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
	var err error
	if len(os.Args) > 1 && os.Args[1] == "upstreams" {
		err = demoupstreams.RunStandalone(ctx, os.Args[2:], os.Stderr)
		if errors.Is(err, flag.ErrHelp) {
			err = nil
		}
	} else {
		err = app.Command{DemoUpstreams: demoupstreams.Start}.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dezky-demo:", err)
		os.Exit(1)
	}
}
