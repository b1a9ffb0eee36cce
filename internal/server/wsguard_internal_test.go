package server

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/dezky/platform/internal/authn"
)

// TestWSRejectionClassifies: connection_init closes 4401 only for a token
// the issuer rejected, 4403 for a deactivated account, and 1013 (retry)
// for outages, so clients never drop a valid token because of one.
func TestWSRejectionClassifies(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"rejected token", fmt.Errorf("verify: %w", authn.ErrUnauthenticated), CloseTokenExpired},
		{"disabled account", fmt.Errorf("viewer: %w", errDisabled), CloseForbidden},
		{"issuer unreachable", fmt.Errorf("verify: %w: %w", authn.ErrUnauthenticated, authn.ErrIssuerUnavailable), CloseTryAgain},
		{"database outage", fmt.Errorf("load user: %w", errors.New("dial tcp: connection refused")), CloseTryAgain},
		{"deadline", fmt.Errorf("load memberships: %w", context.DeadlineExceeded), CloseTryAgain},
	} {
		if code, reason := wsRejection(tc.err); code != tc.want || reason == "" || len(reason) > 123 {
			t.Errorf("%s: close %d %q, want %d with a reason of at most 123 bytes", tc.name, code, reason, tc.want)
		}
	}
}
