package ingest_test

import (
	"context"
	"testing"

	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/ent/ingestcursor"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/ingest"
	"github.com/dezky/platform/internal/provisioning"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/authentik/authentiksim"
	"github.com/dezky/platform/providers/simtest"
)

func identityHost(t *testing.T) (*authentiksim.Sim, *host.Host) {
	t.Helper()
	sim, srv := simtest.NewAuthentik(t, authentiksim.Options{Token: "ingest-token"})
	h := startHost(t, map[sdk.Capability]host.Binding{
		sdk.CapabilityIdentity: {Plugin: "authentik", Settings: map[string]string{"url": srv.URL},
			Secrets: host.Secrets(map[string]string{"token": "ingest-token"})},
	})
	return sim, h
}

// drainIdentity ticks until a tick reads nothing more and returns the
// ticks that wrote something.
func drainIdentity(t *testing.T, in *ingest.Ingestor) (written, ticks int) {
	t.Helper()
	for range 100 {
		r, err := in.IngestIdentity(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		written += r.Written
		ticks++
		if !r.More {
			return written, ticks
		}
	}
	t.Fatal("identity ingest did not drain")
	return 0, 0
}

// upstreamCount counts every event in the identity feed.
func upstreamCount(t *testing.T, idp sdk.Identity) int {
	t.Helper()
	p, err := idp.ListEvents(context.Background(), sdk.ListEventsRequest{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Events)
}

func TestIdentityIngest(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		sim, h := identityHost(t)
		idp, err := h.Identity()
		if err != nil {
			t.Fatal(err)
		}
		acme := newTenant(t, d, "acme", "Acme Corp")
		newTenant(t, d, "globex", "Globex")
		newMember(t, d, "sub-jane", "jane@acme.test", acme)
		if _, err := idp.CreateUser(ctx, sdk.CreateUserRequest{Username: "jane@acme.test", Name: "Jane", Email: "jane@acme.test", Active: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := sim.Login("jane@acme.test", "203.0.113.5", "test"); err != nil {
			t.Fatal(err)
		}
		sim.FailedLogin("ghost", "198.51.100.7")
		sim.Emit(authentiksim.EventInput{Action: "custom_quota_warning", Username: "jane@acme.test"})
		sim.Emit(authentiksim.EventInput{Action: "model_updated", Context: map[string]any{
			"model": map[string]any{"app": "authentik_core", "model_name": "group", "name": provisioning.GroupName("globex")}}})
		sim.Emit(authentiksim.EventInput{Action: "password_set", Username: "jane@acme.test"})
		want := upstreamCount(t, idp)
		if want < 5 {
			t.Fatalf("upstream has %d events, want at least 5", want)
		}

		// Two events per page, one page per tick: several ticks.
		in := ingest.New(ingest.Config{Client: d.Client, Providers: h, PageSize: 2, MaxPages: 1, Log: quiet})
		written, ticks := drainIdentity(t, in)
		if written != want || ticks < (want+1)/2 {
			t.Fatalf("ingested %d events in %d ticks, want %d in at least %d", written, ticks, want, (want+1)/2)
		}
		if got := len(events(t, d, ingest.SourceIdentity)); got != want {
			t.Fatalf("%d authentik events stored, want %d", got, want)
		}

		// Nothing new: a tick writes nothing.
		if r, err := in.IngestIdentity(ctx); err != nil || r.Written != 0 {
			t.Fatalf("second tick = %+v, %v; want nothing written", r, err)
		}

		got := byAction(events(t, d, ingest.SourceIdentity))
		login := got["authentik.login"]
		if login == nil || login.ActorEmail != "jane@acme.test" || login.ActorIP != "203.0.113.5" || login.TenantSlug != "acme" ||
			login.ExternalID == nil || *login.ExternalID == "" {
			t.Fatalf("login event = %+v", login)
		}
		failed := got["authentik.login_failed"]
		if failed == nil || failed.Outcome != auditevent.OutcomeFailure || failed.ActorID != "ghost" || failed.ActorIP != "198.51.100.7" || failed.TenantID != nil {
			t.Fatalf("login_failed event = %+v", failed)
		}
		if e := got["authentik.custom_quota_warning"]; e == nil || e.TenantSlug != "acme" {
			t.Fatalf("unknown action not mapped to authentik.<raw>: %+v", e)
		}
		if e := got["authentik.model_updated"]; tenantSlug(e) != "globex" {
			t.Fatalf("group event tenant = %q, want globex (from the tenant group name)", tenantSlug(e))
		}
		if e := got["authentik.password_changed"]; e == nil || e.ActorEmail != "jane@acme.test" {
			t.Fatalf("password_set event = %+v", e)
		}

		// A restarted ingestor resumes from the stored cursor.
		cur, err := d.Client.IngestCursor.Query().Where(ingestcursor.Source(ingest.SourceIdentity)).Only(sys)
		if err != nil || cur.Cursor == "" {
			t.Fatalf("stored cursor = %+v, %v", cur, err)
		}
		restarted := ingest.New(ingest.Config{Client: d.Client, Providers: h, Log: quiet})
		if r, err := restarted.IngestIdentity(ctx); err != nil || r.Read != 0 || r.Written != 0 {
			t.Fatalf("tick after restart = %+v, %v; want nothing read", r, err)
		}
		sim.Emit(authentiksim.EventInput{Action: "logout", Username: "jane@acme.test"})
		if r, err := restarted.IngestIdentity(ctx); err != nil || r.Read != 1 || r.Written != 1 {
			t.Fatalf("tick after a new event = %+v, %v; want exactly it", r, err)
		}

		// Re-reading the whole feed (cursor lost) writes nothing again.
		if err := d.Client.IngestCursor.Update().Where(ingestcursor.Source(ingest.SourceIdentity)).SetCursor("").Exec(sys); err != nil {
			t.Fatal(err)
		}
		if r, err := restarted.IngestIdentity(ctx); err != nil || r.Read != want+1 || r.Written != 0 {
			t.Fatalf("re-read = %+v, %v; want %d read and nothing written", r, err, want+1)
		}
		verifyChain(t, d)
		// Ingested events are sealed: jane can be erased, the chain holds.
		eraseAndVerify(t, d, ingest.SourceIdentity, "jane@acme.test")
	})
}
