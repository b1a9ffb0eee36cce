// Command dezky is the Dezky platform API: the GraphQL control plane for
// tenants, partners, identity, mail, storage and billing. See 'dezky help'.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/dezky/platform/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "dezky:", err)
		os.Exit(1)
	}
}
