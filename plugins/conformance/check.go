package conformance

import (
	"context"
	"time"

	"github.com/dezky/platform/plugins/sdk"
)

func testContext(t T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// must fails the test when err is not nil.
func must(t T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// wantCode fails the test unless err carries code.
func wantCode(t T, err error, code sdk.Code, what string) {
	t.Helper()
	if got := sdk.ErrorCode(err); got != code {
		t.Errorf("%s: error code = %q (err %v), want %q", what, got, err, code)
	}
}

// stateful runs fn only when the upstream keeps state.
func (o options) stateful(fn func()) {
	if !o.stateless {
		fn()
	}
}
