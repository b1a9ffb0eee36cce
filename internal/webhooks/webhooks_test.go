package webhooks_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/ent/idempotencykey"
	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/internal/webhooks"
)

// fastRetries makes the retry schedule short enough for a test: the
// behaviour (backoff, horizon, disabling) is the production one.
func fastRetries(cfg *app.ServeConfig) {
	cfg.WebhooksAllowPrivate = true
	cfg.Webhooks = webhooks.Config{BackoffBase: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		Horizon: 2 * time.Second, PollInterval: 100 * time.Millisecond}
}

const createMutation = `mutation($in: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $in) { signingSecret endpoint { id scope tenantSlug partnerSlug url eventTypes status cursorSeq } } }`

type endpoint struct {
	ID         string   `json:"id"`
	Scope      string   `json:"scope"`
	TenantSlug string   `json:"tenantSlug"`
	URL        string   `json:"url"`
	EventTypes []string `json:"eventTypes"`
	Status     string   `json:"status"`
	Disabled   string   `json:"disabledReason"`
}

type created struct {
	Secret   *string  `json:"signingSecret"`
	Endpoint endpoint `json:"endpoint"`
}

func create(t *testing.T, s *testserver.Server, as string, in map[string]any) created {
	t.Helper()
	var out struct {
		C created `json:"createWebhookEndpoint"`
	}
	s.Query(as, createMutation, map[string]any{"in": in}).Decode(t, &out)
	if out.C.Secret == nil || !strings.HasPrefix(*out.C.Secret, webhooks.SecretPrefix) {
		t.Fatalf("createWebhookEndpoint returned no signing secret: %+v", out.C)
	}
	return out.C
}

// touch records one audit event on a tenant (tenant.updated) and returns
// its seq once chained.
func touch(t testing.TB, s *testserver.Server, slug string, n int) int64 {
	t.Helper()
	s.Query("operator", fmt.Sprintf(`mutation { updateTenant(slug: %q, input: {industry: "industry %d"}) { id } }`, slug, n), nil).Decode(t, &struct{}{})
	ctx := viewer.SystemContext(context.Background())
	var seq int64
	waitFor(t, "the event to be chained", func() bool {
		ev, err := s.DB.Client.AuditEvent.Query().Where(auditevent.Action("tenant.updated"), auditevent.TenantSlug(slug)).
			Order(ent.Desc(auditevent.FieldID)).First(ctx)
		if err != nil || ev.Seq == nil {
			return false
		}
		seq = *ev.Seq
		return true
	})
	return seq
}

type delivery struct {
	ID         string `json:"id"`
	MessageID  string `json:"messageID"`
	EventSeq   *int64 `json:"eventSeq"`
	EventType  string `json:"eventType"`
	Kind       string `json:"kind"`
	Attempt    int    `json:"attempt"`
	StatusCode int    `json:"statusCode"`
	LatencyMs  int    `json:"latencyMs"`
	Error      string `json:"error"`
	Success    bool   `json:"success"`
}

func deliveries(t *testing.T, s *testserver.Server, as, id string) []delivery {
	t.Helper()
	var out struct {
		D struct {
			Edges []struct {
				Node delivery `json:"node"`
			} `json:"edges"`
		} `json:"webhookDeliveries"`
	}
	s.Query(as, `query($id: ID!) { webhookDeliveries(endpointId: $id) { edges { node {
	  id messageID eventSeq eventType kind attempt statusCode latencyMs error success } } } }`, map[string]any{"id": id}).Decode(t, &out)
	var ds []delivery
	for _, e := range out.D.Edges {
		ds = append(ds, e.Node)
	}
	return ds
}

func endpointStatus(t *testing.T, s *testserver.Server, as, id string) endpoint {
	t.Helper()
	var out struct {
		E struct {
			Edges []struct {
				Node endpoint `json:"node"`
			} `json:"edges"`
		} `json:"webhookEndpoints"`
	}
	s.Query(as, `{ webhookEndpoints { edges { node { id scope tenantSlug url eventTypes status disabledReason } } } }`, nil).Decode(t, &out)
	for _, e := range out.E.Edges {
		if e.Node.ID == id {
			return e.Node
		}
	}
	t.Fatalf("endpoint %s not listed for %s", id, as)
	return endpoint{}
}

// TestDelivery drives signed deliveries end to end: scope visibility,
// retries after receiver errors in seq order, test messages and
// redelivery, secret rotation with a grace period, one blocked endpoint
// not holding up another, and an endpoint disabled after the horizon.
func TestDelivery(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.StartWith(t, d, fastRetries)
			acme := newReceiver(t)
			acme.setFail(2) // the first two attempts fail: retried
			ep := create(t, s, "admin:acme", map[string]any{"url": acme.URL + "/hook?token=abc", "eventTypes": []string{"tenant.*"},
				"tenantSlug": "acme", "description": "acme's SIEM"})
			acme.setSecrets(*ep.Secret)
			if ep.Endpoint.Scope != "TENANT" || ep.Endpoint.TenantSlug != "acme" {
				t.Fatalf("endpoint scope = %s/%s, want TENANT/acme", ep.Endpoint.Scope, ep.Endpoint.TenantSlug)
			}

			var want []int64
			for i := 0; i < 3; i++ {
				want = append(want, touch(t, s, "acme", i))
				touch(t, s, "globex", i) // not acme's: never delivered to it
			}
			// Delivered: every event chained after the endpoint's creation
			// (events committed earlier but chained later included), in
			// seq order, only acme's.
			delivered := func() map[int64]bool {
				m := map[int64]bool{}
				for _, x := range acme.messages() {
					m[x.Seq] = true
				}
				return m
			}
			waitFor(t, "acme's events", func() bool {
				d := delivered()
				for _, w := range want {
					if !d[w] {
						return false
					}
				}
				return true
			})
			var last int64
			for i, m := range acme.messages() {
				if m.Seq <= last || m.ID != fmt.Sprintf("msg_%d", m.Seq) || !strings.HasPrefix(m.Type, "tenant.") {
					t.Fatalf("message %d = %s seq %d type %s after seq %d: want increasing seqs of tenant.* events", i, m.ID, m.Seq, m.Type, last)
				}
				last = m.Seq
				if !strings.Contains(string(m.Body), `"tenantSlug":"acme"`) {
					t.Fatalf("message %d is not acme's: %s", i, m.Body)
				}
			}
			if bad := acme.rejected(); len(bad) > 0 {
				t.Fatalf("receiver rejected signatures of %v", bad)
			}
			ds := deliveries(t, s, "admin:acme", ep.Endpoint.ID)
			var failed, ok int
			for _, d := range ds {
				if d.Success {
					ok++
				} else if d.StatusCode == 500 && d.Error == "HTTP 500" {
					failed++
				}
			}
			if failed != 2 || ok < 3 {
				t.Fatalf("deliveries: %d failed with 500, %d ok; want 2 and at least 3: %+v", failed, ok, ds)
			}

			// A member of acme and another tenant's admin see nothing of it.
			if rsp := s.Query("member:acme", `query($id: ID!) { webhookDeliveries(endpointId: $id) { totalCount } }`,
				map[string]any{"id": ep.Endpoint.ID}); rsp.Code() != "NOT_FOUND" {
				t.Fatalf("member reads deliveries: %s", rsp.Body)
			}
			if rsp := s.Query("admin:globex", `query($id: ID!) { webhookDeliveries(endpointId: $id) { totalCount } }`,
				map[string]any{"id": ep.Endpoint.ID}); rsp.Code() != "NOT_FOUND" {
				t.Fatalf("another tenant's admin reads deliveries: %s", rsp.Body)
			}

			// Test message and redelivery.
			var sent struct {
				S struct {
					MessageID string `json:"messageId"`
				} `json:"sendTestWebhook"`
			}
			s.Query("admin:acme", `mutation($id: ID!) { sendTestWebhook(id: $id) { messageId } }`, map[string]any{"id": ep.Endpoint.ID}).Decode(t, &sent)
			waitFor(t, "the test message", func() bool {
				for _, m := range acme.messages() {
					if m.ID == sent.S.MessageID && m.Type == webhooks.TestEventType {
						return true
					}
				}
				return false
			})
			first := ds[len(ds)-1] // oldest attempt: the first event's
			var re struct {
				R struct {
					MessageID string `json:"messageId"`
				} `json:"redeliverWebhook"`
			}
			s.Query("admin:acme", `mutation($id: ID!) { redeliverWebhook(id: $id) { messageId } }`, map[string]any{"id": first.ID}).Decode(t, &re)
			if re.R.MessageID != first.MessageID {
				t.Fatalf("redelivery message id %s, want %s", re.R.MessageID, first.MessageID)
			}
			waitFor(t, "the redelivery", func() bool {
				for _, d := range deliveries(t, s, "admin:acme", ep.Endpoint.ID) {
					if d.Kind == "REDELIVERY" && d.MessageID == first.MessageID && d.Success {
						return true
					}
				}
				return false
			})

			// Rotation: during the grace period both secrets sign; the
			// receiver holding only the old one still verifies.
			old := *ep.Secret
			var rot struct {
				R struct {
					Secret *string `json:"signingSecret"`
				} `json:"rotateWebhookSecret"`
			}
			s.Query("admin:acme", `mutation($id: ID!) { rotateWebhookSecret(id: $id, gracePeriodHours: 1) { signingSecret } }`,
				map[string]any{"id": ep.Endpoint.ID}).Decode(t, &rot)
			if rot.R.Secret == nil || *rot.R.Secret == old {
				t.Fatalf("rotation returned no new secret")
			}
			acme.setSecrets(old)
			seq := touch(t, s, "acme", 10)
			var m received
			waitFor(t, "a message signed during the grace period", func() bool {
				for _, x := range acme.messages() {
					if x.Seq == seq {
						m = x
						return true
					}
				}
				return false
			})
			if n := len(strings.Fields(m.Signatures)); n != 2 {
				t.Fatalf("signatures during the grace period: %q, want two", m.Signatures)
			}
			for _, sec := range []string{old, *rot.R.Secret} {
				wh, _ := standardwebhooks.NewWebhook(sec)
				if err := wh.Verify(m.Body, m.Header); err != nil {
					t.Fatalf("a secret valid during the grace period does not verify: %v", err)
				}
			}
			// Without grace, the old secret stops at once.
			s.Query("admin:acme", `mutation($id: ID!) { rotateWebhookSecret(id: $id, gracePeriodHours: 0) { signingSecret } }`,
				map[string]any{"id": ep.Endpoint.ID}).Decode(t, &rot)
			acme.setSecrets(*rot.R.Secret)
			seq = touch(t, s, "acme", 11)
			waitFor(t, "a message after the rotation", func() bool {
				for _, x := range acme.messages() {
					if x.Seq == seq {
						m = x
						return true
					}
				}
				return false
			})
			if wh, _ := standardwebhooks.NewWebhook(old); wh.Verify(m.Body, m.Header) == nil {
				t.Fatal("the old secret still verifies after a rotation without grace")
			}

			// A blocked endpoint does not hold up another one.
			slow := newReceiver(t)
			slow.block = make(chan struct{})
			sl := create(t, s, "operator", map[string]any{"url": slow.URL, "eventTypes": []string{"*"}})
			slow.setSecrets(*sl.Secret)
			seq = touch(t, s, "acme", 12)
			<-slow.arrived // the slow endpoint holds its request open
			waitFor(t, "acme's message while the other endpoint is blocked", func() bool {
				for _, x := range acme.messages() {
					if x.Seq == seq {
						return true
					}
				}
				return false
			})
			close(slow.block)
			waitFor(t, "the slow endpoint's message", func() bool {
				for _, x := range slow.messages() {
					if x.Seq == seq {
						return true
					}
				}
				return false
			})

			// An endpoint failing past the horizon is disabled, with an
			// audit event.
			down := newReceiver(t)
			down.setFail(-1)
			dn := create(t, s, "partner:northwind", map[string]any{"url": down.URL, "eventTypes": []string{"*"}})
			down.setSecrets(*dn.Secret)
			touch(t, s, "acme", 13)
			waitFor(t, "the failing endpoint to be disabled", func() bool {
				return endpointStatus(t, s, "partner:northwind", dn.Endpoint.ID).Status == "DISABLED"
			})
			if e := endpointStatus(t, s, "partner:northwind", dn.Endpoint.ID); !strings.Contains(e.Disabled, "HTTP 500") {
				t.Fatalf("disabled reason %q", e.Disabled)
			}
			ctx := viewer.SystemContext(context.Background())
			waitFor(t, "the webhook.endpoint_disabled event", func() bool {
				n, _ := s.DB.Client.AuditEvent.Query().Where(auditevent.Action("webhook.endpoint_disabled"),
					auditevent.ResourceID(dn.Endpoint.ID), auditevent.PartnerSlug("northwind")).Count(ctx)
				return n == 1
			})
			// Re-enabled, it resumes where it stopped.
			down.setFail(0)
			s.Query("partner:northwind", `mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {enabled: true}) { status } }`,
				map[string]any{"id": dn.Endpoint.ID}).Decode(t, &struct{}{})
			waitFor(t, "the re-enabled endpoint's backlog", func() bool { return len(down.messages()) > 0 })

			// No secret in audit rows.
			evs, err := s.DB.Client.AuditEvent.Query().Where(auditevent.ActionHasPrefix("webhook.")).All(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if strings.Contains(fmt.Sprint(e.Metadata), "whsec_") || strings.Contains(fmt.Sprint(e.Metadata), "token=abc") {
					t.Fatalf("audit row %s carries a secret: %v", e.Action, e.Metadata)
				}
			}
		})
	}
}

// TestIdempotentCreateKeepsNoSecret: a replayed createWebhookEndpoint
// answers the same endpoint without its secret, and the stored response
// holds none.
func TestIdempotentCreateKeepsNoSecret(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			tok := s.Token("admin:acme")
			req := testserver.Request{Token: tok, Headers: map[string]string{"Idempotency-Key": "create-hook-1"},
				Query:     `mutation($in: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $in) { s: signingSecret endpoint { id } } }`,
				Variables: map[string]any{"in": map[string]any{"url": "https://hooks.example.com/in", "eventTypes": []string{"*"}}}}
			var first, again struct {
				C struct {
					S        *string `json:"s"`
					Endpoint struct{ ID string }
				} `json:"createWebhookEndpoint"`
			}
			s.Do(req).Decode(t, &first)
			s.Do(req).Decode(t, &again)
			if first.C.S == nil || again.C.S != nil || again.C.Endpoint.ID != first.C.Endpoint.ID {
				t.Fatalf("first %+v, replay %+v: want the same endpoint, the secret only the first time", first.C, again.C)
			}
			ctx := viewer.SystemContext(context.Background())
			keys, err := s.DB.Client.IdempotencyKey.Query().Where(idempotencykey.Key("create-hook-1")).All(ctx)
			if err != nil || len(keys) != 1 {
				t.Fatalf("idempotency records: %v %v", keys, err)
			}
			if strings.Contains(string(keys[0].Response), "whsec_") {
				t.Fatalf("stored response keeps the secret: %s", keys[0].Response)
			}
		})
	}
}

// TestPrivateTargetsRefused: without --webhooks-allow-private, loopback,
// link-local and private targets are refused with BAD_USER_INPUT and
// nothing is created; a foreign tenant is NOT_FOUND, a member FORBIDDEN.
func TestPrivateTargetsRefused(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			for _, u := range []string{"http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]/x", "http://169.254.169.254/latest",
				"http://10.1.2.3/x", "http://192.168.0.10/x", "http://[fd00::1]/x", "ftp://hooks.example.com/x", "https://user:pw@hooks.example.com/"} {
				rsp := s.Query("operator", createMutation, map[string]any{"in": map[string]any{"url": u, "eventTypes": []string{"*"}}})
				if rsp.Code() != "BAD_USER_INPUT" {
					t.Errorf("create with %s: %s, want BAD_USER_INPUT", u, rsp.Body)
				}
			}
			if rsp := s.Query("admin:globex", createMutation, map[string]any{"in": map[string]any{"url": "https://hooks.example.com/", "eventTypes": []string{"*"}, "tenantSlug": "acme"}}); rsp.Code() != "NOT_FOUND" {
				t.Errorf("globex admin creates for acme: %s, want NOT_FOUND", rsp.Body)
			}
			if rsp := s.Query("member:acme", createMutation, map[string]any{"in": map[string]any{"url": "https://hooks.example.com/", "eventTypes": []string{"*"}, "tenantSlug": "acme"}}); rsp.Code() != "FORBIDDEN" {
				t.Errorf("acme member creates: %s, want FORBIDDEN", rsp.Body)
			}
			if rsp := s.Query("admin:acme", createMutation, map[string]any{"in": map[string]any{"url": "https://hooks.example.com/", "eventTypes": []string{"Tenant Created"}}}); rsp.Code() != "BAD_USER_INPUT" {
				t.Errorf("bad event type: %s, want BAD_USER_INPUT", rsp.Body)
			}
			n, err := s.DB.Client.WebhookEndpoint.Query().Count(viewer.SystemContext(context.Background()))
			if err != nil || n != 0 {
				t.Fatalf("endpoints after refused creates: %d %v", n, err)
			}
		})
	}
}

// TestRestartLosesNothing stops the server while an endpoint's backlog is
// half delivered (the receiver fails), starts it again on the same
// database, and checks that every event arrives, in seq order.
func TestRestartLosesNothing(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			dir, url := t.TempDir(), testdb.URL(t, d)
			cfg := app.ServeConfig{Addr: "127.0.0.1:0", DataDir: dir, DatabaseURL: url, Demo: true, Log: testLog()}
			fastRetries(&cfg)
			cfg.Webhooks.Horizon = time.Hour
			srv, err := app.Start(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := testserver.Wrap(t, srv)
			s.WaitProvisioned()
			rcv := newReceiver(t)
			ep := create(t, s, "admin:acme", map[string]any{"url": rcv.URL, "eventTypes": []string{"tenant.updated"}, "tenantSlug": "acme"})
			rcv.setSecrets(*ep.Secret)
			var want []int64
			for i := 0; i < 3; i++ {
				want = append(want, touch(t, s, "acme", i))
			}
			waitFor(t, "the first events", func() bool { return len(rcv.messages()) >= 3 })
			rcv.setFail(-1) // the receiver goes down mid-backlog
			for i := 3; i < 6; i++ {
				want = append(want, touch(t, s, "acme", i))
			}
			waitFor(t, "a failed attempt", func() bool {
				for _, d := range deliveries(t, s, "admin:acme", ep.Endpoint.ID) {
					if !d.Success {
						return true
					}
				}
				return false
			})
			if err := srv.Close(); err != nil {
				t.Fatal(err)
			}
			rcv.setFail(0)
			srv2, err := app.Start(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv2.Close() })
			waitFor(t, "every event after the restart", func() bool { return len(rcv.messages()) >= len(want) })
			var seqs []int64
			seen := map[int64]bool{}
			for _, m := range rcv.messages() {
				if !seen[m.Seq] {
					seen[m.Seq] = true
					seqs = append(seqs, m.Seq)
				}
			}
			if fmt.Sprint(seqs) != fmt.Sprint(want) {
				t.Fatalf("delivered seqs %v, want %v", seqs, want)
			}
		})
	}
}

// testLog discards the server log unless DEZKY_TEST_LOG=1.
func testLog() *slog.Logger {
	if os.Getenv("DEZKY_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
