package conformance_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/dezky/platform/plugins/conformance"
	"github.com/dezky/platform/plugins/sdk"
)

// TestCheck_Passes: the kit run without go test's failure machinery
// reports a conforming plugin as passing, per capability, with the
// protocol versions it speaks.
func TestCheck_Passes(t *testing.T) {
	h := conformance.Launch(t, conformance.Plugin{
		Package:      "github.com/dezky/platform/plugins/internal/testprovider/cmd/dezky-provider-test",
		Capabilities: []sdk.Capability{sdk.CapabilityIdentity, sdk.CapabilityStorage},
	})
	rep := conformance.Check(t.Context(), h)
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if rep.Failed() {
		t.Fatalf("Check failed a conforming plugin:\n%s", text.String())
	}
	if !slices.Equal(rep.Protocols, []int{sdk.ProtocolVersion}) {
		t.Errorf("Protocols = %v, want [%d]", rep.Protocols, sdk.ProtocolVersion)
	}
	for _, want := range []string{"PASS  transport", "PASS  identity", "PASS  storage", "identity/ConcurrentEnsure", "transport/Cancellation"} {
		if !strings.Contains(text.String(), want) && !slices.ContainsFunc(rep.Results, func(r conformance.Result) bool { return r.Name == want }) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
}

// TestCheck_ReportsFailures: a protocol 1 plugin cannot create users with
// attributes; the report fails identity with the reason and keeps going
// with the other checks.
func TestCheck_ReportsFailures(t *testing.T) {
	h := conformance.Launch(t, conformance.Plugin{
		Package:      "github.com/dezky/platform/plugins/internal/v1fixture",
		Name:         "legacy",
		Capabilities: []sdk.Capability{sdk.CapabilityIdentity},
	})
	rep := conformance.Check(t.Context(), h)
	var text strings.Builder
	_ = rep.WriteText(&text)
	if !rep.Failed() {
		t.Fatalf("Check passed a protocol 1 identity plugin:\n%s", text.String())
	}
	if !slices.Equal(rep.Protocols, []int{1}) {
		t.Errorf("Protocols = %v, want [1]", rep.Protocols)
	}
	for _, want := range []string{"PASS  transport", "FAIL  identity", "FAIL identity/CreateUser", "UNSUPPORTED"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
}
