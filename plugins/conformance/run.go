package conformance

import (
	"testing"

	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
)

// RunProvider checks the base Provider calls.
func RunProvider(t *testing.T, p sdk.Provider) { providerSuite(Wrap(t), p) }

// RunIdentity checks p against the sdk.Identity contract.
func RunIdentity(t *testing.T, p sdk.Identity, opts ...Option) { identitySuite(Wrap(t), p, opts...) }

// RunMail checks p against the sdk.Mail contract.
func RunMail(t *testing.T, p sdk.Mail, opts ...Option) { mailSuite(Wrap(t), p, opts...) }

// RunStorage checks p against the sdk.Storage contract.
func RunStorage(t *testing.T, p sdk.Storage, opts ...Option) { storageSuite(Wrap(t), p, opts...) }

// RunDNS checks p against the sdk.DNS contract.
func RunDNS(t *testing.T, p sdk.DNS, opts ...Option) { dnsSuite(Wrap(t), p, opts...) }

// RunBilling checks p against the sdk.Billing contract.
func RunBilling(t *testing.T, p sdk.Billing, opts ...Option) { billingSuite(Wrap(t), p, opts...) }

// RunAll runs, for the plugin behind h, the transport checks (protocol
// versions, cancellation, deadlines, parallel calls) and then
// RunProvider and the suite of every bound capability.
func RunAll(t *testing.T, h *host.Host, opts ...Option) { runAll(Wrap(t), h, opts...) }

func providerSuite(t T, p sdk.Provider) {
	ctx := testContext(t)
	d, err := p.Describe(ctx)
	must(t, err, "Describe")
	if d.Name == "" || d.Version == "" || len(d.Capabilities) == 0 || d.ProtocolVersion < 1 {
		t.Errorf("Describe = %+v, want a name, a version, capabilities and a protocol version", d)
	}
	h, err := p.Health(ctx)
	must(t, err, "Health")
	if !h.Healthy && h.Message == "" {
		t.Errorf("Health = %+v, want a message explaining the unhealthy state", h)
	}
}

func runAll(t T, h *host.Host, opts ...Option) {
	bound := map[sdk.Capability]bool{}
	var first sdk.Capability
	for _, st := range h.Status() {
		for _, c := range st.Capabilities {
			bound[c] = true
		}
	}
	for _, c := range sdk.Capabilities {
		if bound[c] && first == "" {
			first = c
		}
	}
	if first == "" {
		t.Fatal("no capability bound")
	}
	t.Run("transport", func(t T) { transportSuite(t, h, first, apply(opts)) })
	for _, c := range sdk.Capabilities {
		if !bound[c] {
			continue
		}
		t.Run(string(c), func(t T) {
			base, err := h.Provider(c)
			must(t, err, "Provider")
			t.Run("provider", func(t T) { providerSuite(t, base) })
			switch c {
			case sdk.CapabilityIdentity:
				p, err := h.Identity()
				must(t, err, "Identity")
				identitySuite(t, p, opts...)
			case sdk.CapabilityMail:
				p, err := h.Mail()
				must(t, err, "Mail")
				mailSuite(t, p, opts...)
			case sdk.CapabilityStorage:
				p, err := h.Storage()
				must(t, err, "Storage")
				storageSuite(t, p, opts...)
			case sdk.CapabilityDNS:
				p, err := h.DNS()
				must(t, err, "DNS")
				dnsSuite(t, p, opts...)
			case sdk.CapabilityBilling:
				p, err := h.Billing()
				must(t, err, "Billing")
				billingSuite(t, p, opts...)
			}
		})
	}
}
