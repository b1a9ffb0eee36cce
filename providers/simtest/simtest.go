// Package simtest starts the provider simulators on httptest servers for tests.
//
// It lives apart from the simulator packages so that programs linking a simulator
// (such as the demo upstreams of the dezky binary) do not import "testing" or
// "net/http/httptest".
package simtest

import (
	"net/http/httptest"
	"testing"

	"github.com/dezky/platform/providers/authentik/authentiksim"
	"github.com/dezky/platform/providers/ocis/ocissim"
	"github.com/dezky/platform/providers/stalwart/stalwartsim"
)

// NewAuthentik starts an Authentik simulator on an httptest server closed at test
// cleanup and returns both. Its URL is the instance root (the API lives under
// /api/v3/). Token defaults to "test-admin-token".
func NewAuthentik(t testing.TB, opts authentiksim.Options) (*authentiksim.Sim, *httptest.Server) {
	t.Helper()
	if opts.Token == "" {
		opts.Token = "test-admin-token"
	}
	s := authentiksim.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

// NewOCIS starts an oCIS simulator on an httptest server closed (with the audit
// log) at test cleanup. Token defaults to "test-token".
func NewOCIS(t testing.TB, opts ocissim.Options) (*ocissim.Sim, *httptest.Server) {
	t.Helper()
	if opts.Token == "" {
		opts.Token = "test-token"
	}
	s, err := ocissim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		_ = s.Close()
	})
	return s, srv
}

// NewStalwart starts a Stalwart simulator on an httptest server closed at test
// cleanup. Token defaults to "test-admin-token" unless AdminUser is set.
func NewStalwart(t testing.TB, opts stalwartsim.Options) (*stalwartsim.Sim, *httptest.Server) {
	t.Helper()
	if opts.Token == "" && opts.AdminUser == "" {
		opts.Token = "test-admin-token"
	}
	s := stalwartsim.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}
