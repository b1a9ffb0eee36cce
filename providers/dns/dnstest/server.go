package dnstest

import (
	"testing"

	"github.com/dezky/platform/providers/dns/dnsserver"
)

// Config describes a test server (see dnsserver.Config).
type Config = dnsserver.Config

// Server is a running test server.
type Server = dnsserver.Server

// QueryLog records one received message.
type QueryLog = dnsserver.QueryLog

// Start runs a server for cfg and stops it when the test ends.
func Start(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s, err := dnsserver.Start(cfg)
	if err != nil {
		tb.Fatalf("dnstest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}
