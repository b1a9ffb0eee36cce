// Package conformance is the contract test kit for provider plugins.
//
// RunProvider, RunIdentity, RunMail, RunStorage, RunDNS and RunBilling each
// exercise one capability's full contract as documented on the sdk
// interfaces: create, get, idempotent re-create, update, delete,
// get-after-delete = NOT_FOUND, INVALID input, CONFLICT and IN_USE where
// the capability defines them. They take any implementation of the sdk
// interface, so the same suite runs in-process against a provider value or
// against a plugin binary through plugins/host.
//
// Launch builds a provider's main package with "go build" into
// t.TempDir() (through a binary cache shared by all test processes and
// keyed by the sources, see BuildProvider), starts it under a plugins/host
// Host bound to the given capabilities, and closes it when the test ends. RunAll runs the suite of
// every bound capability, so a provider's conformance test is:
//
//	func TestConformance(t *testing.T) {
//		h := conformance.Launch(t, conformance.Plugin{
//			Package:      "github.com/dezky/platform/providers/stalwart/cmd/dezky-provider-stalwart",
//			Capabilities: []sdk.Capability{sdk.CapabilityMail},
//			Settings:     map[string]string{"url": sim.URL},
//		})
//		conformance.RunAll(t, h)
//	}
//
// Objects are named with a random per-run prefix (WithPrefix overrides it)
// so suites can run against a shared upstream. Stateless relaxes the
// checks that need the upstream to remember objects (for example
// stripe-mock); webhook and DNS-update checks are enabled with
// WithMailWebhook, WithBillingWebhook and WithDNSZone.
//
// RunAll adds a transport suite (protocol versions probed by launching the
// binary once per version, cancellation, deadlines, parallel calls), and
// every capability suite checks parallel ensures of one key. Check runs
// the same suites without the testing package and returns a Report; the
// suites are written against T, which *testing.T (through Wrap) and
// Check's collector both satisfy. `dezky plugins conformance <binary>` is
// Check on the command line.
package conformance
