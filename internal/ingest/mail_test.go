package ingest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/ingest"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/simtest"
	"github.com/dezky/platform/providers/stalwart/stalwartapi"
	"github.com/dezky/platform/providers/stalwart/stalwartsim"
)

const webhookKey = "ingest-webhook-key"

func mailHost(t *testing.T) *host.Host {
	t.Helper()
	_, srv := simtest.NewStalwart(t, stalwartsim.Options{Token: "ingest-token"})
	return startHost(t, map[sdk.Capability]host.Binding{
		sdk.CapabilityMail: {Plugin: "stalwart", Settings: map[string]string{"url": srv.URL},
			Secrets: host.Secrets(map[string]string{"token": "ingest-token", "webhook_key": webhookKey})},
	})
}

// post sends body to the webhook signed with signature ("" signs it
// correctly) and returns the status and decoded answer.
func post(t *testing.T, url string, body []byte, signature string) (int, map[string]any) {
	t.Helper()
	if signature == "" {
		signature = stalwartapi.Sign([]byte(webhookKey), body)
	}
	req, err := http.NewRequest(http.MethodPost, url+ingest.MailWebhookPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(stalwartapi.SignatureHeader, signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func serveWebhook(t *testing.T, in *ingest.Ingestor) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("POST "+ingest.MailWebhookPath, in.MailHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestMailWebhook(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		h := mailHost(t)
		verifiedDomain(t, d, newTenant(t, d, "acme", "Acme Corp", "acme.test"), "acme.test")
		in := ingest.New(ingest.Config{Client: d.Client, Providers: h, MaxWebhookBody: 4096, Log: quiet})
		url := serveWebhook(t, in)

		body := []byte(`{"events":[` +
			`{"id":"1750517700000001","createdAt":"2025-06-21T14:55:00Z","type":"auth.failed","data":{"accountName":"Alice@Acme.test","remoteIp":"192.0.2.10"}},` +
			`{"id":"1750517700000002","createdAt":"2025-06-21T14:55:01Z","type":"queue.queued","data":{"accountName":"bob@elsewhere.test"}}]}`)
		status, out := post(t, url, body, "")
		if status != http.StatusOK || out["received"] != float64(2) || out["written"] != float64(2) {
			t.Fatalf("signed webhook = %d %v, want 200 with 2 received and written", status, out)
		}
		got := byAction(events(t, d, ingest.SourceMail))
		failed := got["stalwart.auth_failed"]
		if failed == nil || failed.Outcome != auditevent.OutcomeFailure || failed.ActorEmail != "alice@acme.test" ||
			failed.ActorIP != "192.0.2.10" || failed.TenantSlug != "acme" || *failed.ExternalID != "1750517700000001" {
			t.Fatalf("auth_failed event = %+v", failed)
		}
		if e := got["stalwart.queue.queued"]; e == nil || e.TenantID != nil {
			t.Fatalf("unknown type not mapped to stalwart.<raw> without a tenant: %+v", e)
		}

		// A replay is accepted and writes nothing.
		status, out = post(t, url, body, "")
		if status != http.StatusOK || out["received"] != float64(2) || out["written"] != float64(0) {
			t.Fatalf("replay = %d %v, want 200 with nothing written", status, out)
		}

		// A bad signature is refused and writes nothing.
		forged := []byte(strings.ReplaceAll(string(body), "17505177000000", "17505177999999"))
		if status, _ := post(t, url, forged, "ZGVhZGJlZWY="); status != http.StatusUnauthorized {
			t.Fatalf("bad signature = %d, want 401", status)
		}
		if status, _ := post(t, url, forged, "not base64!"); status != http.StatusUnauthorized {
			t.Fatalf("garbled signature = %d, want 401", status)
		}
		// A correctly signed body that is not a webhook is malformed, not forged.
		if status, _ := post(t, url, []byte("not json"), ""); status != http.StatusBadRequest {
			t.Fatalf("signed garbage = %d, want 400", status)
		}
		// An oversized body is refused before the plugin sees it.
		big := []byte(`{"events":[],"pad":"` + strings.Repeat("x", 5000) + `"}`)
		if status, _ := post(t, url, big, ""); status != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversized body = %d, want 413", status)
		}
		if n := len(events(t, d, ingest.SourceMail)); n != 2 {
			t.Fatalf("%d mail events stored, want 2", n)
		}

		// Without a mail plugin the webhook is unavailable (the mail
		// server retries).
		none := serveWebhook(t, ingest.New(ingest.Config{Client: d.Client, Log: quiet}))
		if status, _ := post(t, none, body, ""); status != http.StatusServiceUnavailable {
			t.Fatalf("no mail plugin = %d, want 503", status)
		}
		verifyChain(t, d)
	})
}
