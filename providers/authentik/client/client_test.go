package authentikapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dezky/platform/providers/authentik/authentiksim"
	authentikapi "github.com/dezky/platform/providers/authentik/client"
	"github.com/dezky/platform/providers/simtest"
)

const token = "sim-admin-token"

func setup(t *testing.T) (*authentiksim.Sim, *authentikapi.Client) {
	t.Helper()
	sim, srv := simtest.NewAuthentik(t, authentiksim.Options{Token: token, PublicURL: "https://auth.dezky.test"})
	c, err := authentikapi.New(srv.URL, token)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

func TestAuthFailureIsUnauthorizedAndHidesToken(t *testing.T) {
	_, srv := simtest.NewAuthentik(t, authentiksim.Options{Token: token})
	c, err := authentikapi.New(srv.URL+"/api/v3", "wrong-secret-value")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetUser(context.Background(), 1)
	if !errors.Is(err, authentikapi.ErrUnauthorized) {
		t.Fatalf("want unauthorized, got %v", err)
	}
	var ae *authentikapi.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
		t.Fatalf("want 403 *Error, got %#v", err)
	}
	if strings.Contains(err.Error(), "wrong-secret-value") {
		t.Fatalf("token leaked in error: %v", err)
	}
	if !strings.Contains(err.Error(), "Token invalid/expired") {
		t.Fatalf("upstream detail missing: %v", err)
	}
}

func TestUserLifecycle(t *testing.T) {
	sim, c := setup(t)
	ctx := context.Background()
	g, created, err := c.EnsureGroup(ctx, "tenant-acme", map[string]any{"tenant": "acme"})
	if err != nil || !created {
		t.Fatalf("ensure group: %v created=%v", err, created)
	}
	g2, created, err := c.EnsureGroup(ctx, "tenant-acme", nil)
	if err != nil || created || g2.PK != g.PK {
		t.Fatalf("second ensure: %v created=%v pk=%s/%s", err, created, g2.PK, g.PK)
	}

	u, err := c.CreateUser(ctx, authentikapi.NewUser{Username: "jane@acme.test", Name: "Jane", Email: "jane@acme.test",
		IsActive: true, Groups: []string{g.PK}, Attributes: map[string]any{"tenant": "acme", "keep": "me"}})
	if err != nil {
		t.Fatal(err)
	}
	if u.PK == 0 || len(u.Groups) != 1 || u.Groups[0] != g.PK {
		t.Fatalf("unexpected user %+v", u)
	}
	_, err = c.CreateUser(ctx, authentikapi.NewUser{Username: "jane@acme.test", Name: "Jane 2"})
	if !errors.Is(err, authentikapi.ErrConflict) {
		t.Fatalf("duplicate username: want conflict, got %v", err)
	}

	found, err := c.FindUsersByEmail(ctx, "jane@acme.test")
	if err != nil || len(found) != 1 || found[0].PK != u.PK {
		t.Fatalf("find by email: %v %+v", err, found)
	}
	if none, err := c.FindUsersByEmail(ctx, "JANE@acme.test"); err != nil || len(none) != 0 {
		t.Fatalf("email filter must be exact: %v %+v", err, none)
	}

	// Attribute merge: authentik replaces the dict on PATCH, the client must merge.
	name := "Jane Doe"
	u, err = c.UpdateUser(ctx, u.PK, authentikapi.UserUpdate{Name: &name, Attributes: map[string]any{"locale": "de", "keep": nil}})
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != name || u.Attributes["tenant"] != "acme" || u.Attributes["locale"] != "de" {
		t.Fatalf("attributes not merged: %+v", u.Attributes)
	}
	if _, ok := u.Attributes["keep"]; ok {
		t.Fatalf("nil attribute should be removed: %+v", u.Attributes)
	}

	// Deactivation kills sessions.
	if _, err := sim.Login("jane@acme.test", "10.0.0.1", "test"); err != nil {
		t.Fatal(err)
	}
	if sim.SessionCount(u.PK) != 1 {
		t.Fatal("expected a session")
	}
	off := false
	if _, err := c.UpdateUser(ctx, u.PK, authentikapi.UserUpdate{IsActive: &off}); err != nil {
		t.Fatal(err)
	}
	if sim.SessionCount(u.PK) != 0 {
		t.Fatal("deactivation must delete sessions")
	}

	if err := c.RemoveGroupMember(ctx, g.PK, u.PK); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveGroupMember(ctx, g.PK, u.PK); err != nil {
		t.Fatalf("remove must be idempotent: %v", err)
	}
	if err := c.AddGroupMember(ctx, g.PK, 9999); !errors.Is(err, authentikapi.ErrNotFound) {
		t.Fatalf("unknown user pk: want not found, got %v", err)
	}
	if err := c.AddGroupMember(ctx, g.PK, u.PK); err != nil {
		t.Fatal(err)
	}
	got, _ := c.GetUser(ctx, u.PK)
	if len(got.Groups) != 1 {
		t.Fatalf("membership not restored: %+v", got.Groups)
	}

	if err := c.DeleteUser(ctx, u.PK); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUser(ctx, u.PK); !errors.Is(err, authentikapi.ErrNotFound) {
		t.Fatalf("second delete: want not found, got %v", err)
	}
}

func TestSetPasswordExpiryMerges(t *testing.T) {
	sim, c := setup(t)
	ctx := context.Background()
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	u, err := c.CreateUser(ctx, authentikapi.NewUser{Username: "op", Name: "Op", IsActive: true, Attributes: map[string]any{"a": 1.0}})
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := authentikapi.New(c.BaseURL(), token, authentikapi.WithClock(func() time.Time { return fixed }))
	if err := c2.SetPassword(ctx, u.PK, "Temp-Pass-123", true); err != nil {
		t.Fatal(err)
	}
	if !sim.CheckPassword("op", "Temp-Pass-123") {
		t.Fatal("password not set")
	}
	got, _ := c.GetUser(ctx, u.PK)
	if got.Attributes[authentikapi.AttrPasswordExpired] != true || got.Attributes[authentikapi.AttrPasswordExpiredAt] != "2026-01-02T03:04:05Z" || got.Attributes["a"] != 1.0 {
		t.Fatalf("expiry attributes wrong: %+v", got.Attributes)
	}
	if err := c.SetPassword(ctx, u.PK, "Final-Pass-456", false); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetUser(ctx, u.PK)
	if _, ok := got.Attributes[authentikapi.AttrPasswordExpired]; ok || got.Attributes["a"] != 1.0 {
		t.Fatalf("expiry not cleared or other attrs lost: %+v", got.Attributes)
	}
	err = c.SetPassword(ctx, 4242, "x", false)
	if !errors.Is(err, authentikapi.ErrNotFound) {
		t.Fatalf("want not found, got %v", err)
	}
	if strings.Contains(err.Error(), "\"x\"") {
		t.Fatalf("password leaked: %v", err)
	}
}

func TestRecoveryLinkSoftFailsThenWorksAfterBootstrap(t *testing.T) {
	sim, c := setup(t)
	ctx := context.Background()
	u, err := c.CreateUser(ctx, authentikapi.NewUser{Username: "inv", Name: "Invitee", IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	link, ok, err := c.RecoveryLink(ctx, u.PK, "")
	if err != nil || ok || link != "" {
		t.Fatalf("want soft failure, got link=%q ok=%v err=%v", link, ok, err)
	}

	res, err := c.EnsureRecoveryFlow(ctx, authentikapi.RecoveryFlowSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.CreatedFlow || res.BoundStages != 3 || !res.BrandUpdated || res.Flow.Slug != authentikapi.DefaultRecoveryFlowSlug {
		t.Fatalf("unexpected bootstrap result %+v", res)
	}
	again, err := c.EnsureRecoveryFlow(ctx, authentikapi.RecoveryFlowSpec{})
	if err != nil || again.CreatedFlow || again.BoundStages != 0 || again.BrandUpdated || again.Flow.PK != res.Flow.PK {
		t.Fatalf("bootstrap not idempotent: %+v %v", again, err)
	}
	if n := sim.Counts().FlowBindings; n != 3 {
		t.Fatalf("want 3 stage bindings, got %d", n)
	}

	link, ok, err = c.RecoveryLink(ctx, u.PK, "days=1")
	if err != nil || !ok {
		t.Fatalf("recovery link: ok=%v err=%v", ok, err)
	}
	tok, _ := sim.RecoveryToken(u.PK)
	want := "https://auth.dezky.test/if/flow/default-dezky-recovery/?flow_token=" + tok
	if link != want {
		t.Fatalf("link %q, want %q", link, want)
	}
	if _, _, err := c.RecoveryLink(ctx, 777, ""); !errors.Is(err, authentikapi.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestIsNoRecoveryFlowRecognisesStringBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"non_field_errors":"Recovery flow not applicable to user"}`))
	}))
	defer srv.Close()
	c, _ := authentikapi.New(srv.URL, token)
	_, ok, err := c.RecoveryLink(context.Background(), 1, "")
	if err != nil || ok {
		t.Fatalf("want soft failure, got ok=%v err=%v", ok, err)
	}
}

func TestTerminateSessionsOnlyThatUser(t *testing.T) {
	sim, c := setup(t)
	ctx := context.Background()
	a, _ := c.CreateUser(ctx, authentikapi.NewUser{Username: "alice", Name: "A", IsActive: true})
	b, _ := c.CreateUser(ctx, authentikapi.NewUser{Username: "bob", Name: "B", IsActive: true})
	for range 3 {
		if _, err := sim.Login("alice", "10.0.0.1", "ua"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sim.Login("bob", "10.0.0.2", "ua"); err != nil {
		t.Fatal(err)
	}
	n, err := c.TerminateSessions(ctx, a.PK)
	if err != nil || n != 3 {
		t.Fatalf("terminated %d, err %v", n, err)
	}
	if sim.SessionCount(a.PK) != 0 || sim.SessionCount(b.PK) != 1 {
		t.Fatal("wrong sessions ended")
	}
}

func TestTerminateSessionsIgnoresOtherUsersWhenFilterIgnored(t *testing.T) {
	// An upstream that ignores the username filter returns everyone's sessions;
	// the client must still only delete the target user's.
	var deleted []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/v3/core/users/5/":
			_, _ = w.Write([]byte(`{"pk":5,"username":"alice"}`))
		case r.Method == http.MethodGet && r.URL.Path == "/api/v3/core/authenticated_sessions/":
			_, _ = w.Write([]byte(`{"pagination":{"next":0,"previous":0,"count":2,"current":1,"total_pages":1},"results":[{"uuid":"s1","user":5},{"uuid":"s2","user":6}]}`))
		case r.Method == http.MethodDelete:
			deleted = append(deleted, r.URL.Path)
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	c, _ := authentikapi.New(srv.URL, token)
	n, err := c.TerminateSessions(context.Background(), 5)
	if err != nil || n != 1 || len(deleted) != 1 || deleted[0] != "/api/v3/core/authenticated_sessions/s1/" {
		t.Fatalf("n=%d err=%v deleted=%v", n, err, deleted)
	}
}

func TestCountAuthenticators(t *testing.T) {
	sim, c := setup(t)
	ctx := context.Background()
	u, _ := c.CreateUser(ctx, authentikapi.NewUser{Username: "mfa", Name: "M", IsActive: true})
	if total, conf, err := c.CountAuthenticators(ctx, u.PK); err != nil || total != 0 || conf != 0 {
		t.Fatalf("%d %d %v", total, conf, err)
	}
	_, _ = sim.AddAuthenticator(u.PK, "totp", "phone", true)
	_, _ = sim.AddAuthenticator(u.PK, "webauthn", "key", false)
	if total, conf, err := c.CountAuthenticators(ctx, u.PK); err != nil || total != 2 || conf != 1 {
		t.Fatalf("%d %d %v", total, conf, err)
	}
}

func TestOIDCAppCreateAndRollback(t *testing.T) {
	sim, c := setup(t)
	ctx := context.Background()
	g, _, err := c.EnsureGroup(ctx, "tenant-acme", nil)
	if err != nil {
		t.Fatal(err)
	}
	before := sim.Counts()
	sim.FailNext(http.MethodPost, "/api/v3/policies/bindings/", http.StatusServiceUnavailable)
	_, err = c.CreateOIDCApp(ctx, authentikapi.OIDCAppSpec{Name: "Acme Portal", Slug: "acme-portal", GroupPK: g.PK,
		RedirectURIs: []string{"https://acme.test/cb"}})
	if !errors.Is(err, authentikapi.ErrUnavailable) {
		t.Fatalf("want unavailable, got %v", err)
	}
	after := sim.Counts()
	if after.Providers != before.Providers || after.Applications != before.Applications || after.PolicyBindings != before.PolicyBindings {
		t.Fatalf("rollback incomplete: before %+v after %+v", before, after)
	}

	app, err := c.CreateOIDCApp(ctx, authentikapi.OIDCAppSpec{Name: "Acme Portal", Slug: "acme-portal", GroupPK: g.PK,
		RedirectURIs: []string{"https://acme.test/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	if app.ClientID == "" || app.ClientSecret == "" || app.Issuer != "https://auth.dezky.test/application/o/acme-portal/" {
		t.Fatalf("unexpected app %+v", app)
	}
	if _, err := c.CreateOIDCApp(ctx, authentikapi.OIDCAppSpec{Name: "Other", Slug: "acme-portal", GroupPK: g.PK,
		RedirectURIs: []string{"https://x.test/cb"}}); !errors.Is(err, authentikapi.ErrConflict) {
		t.Fatalf("duplicate slug: want conflict, got %v", err)
	}
	if c := sim.Counts(); c.Providers != 1 || c.Applications != 1 || c.PolicyBindings != 1 {
		t.Fatalf("duplicate-slug failure not rolled back: %+v", c)
	}
	if err := c.DeleteOIDCApp(ctx, "acme-portal"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteOIDCApp(ctx, "acme-portal"); err != nil {
		t.Fatalf("delete must be idempotent: %v", err)
	}
	if c := sim.Counts(); c.Providers != 0 || c.Applications != 0 || c.PolicyBindings != 0 {
		t.Fatalf("delete left objects: %+v", c)
	}
}

func TestListEventsSinceIgnoresMissingServerFilter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	sim, srv := simtest.NewAuthentik(t, authentiksim.Options{Token: token, Now: clock})
	c, _ := authentikapi.New(srv.URL, token)
	ctx := context.Background()

	evs, cur, err := c.ListEventsSince(ctx, authentikapi.EventCursor{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	base := len(evs)
	for i := range 250 {
		sim.Emit(authentiksim.EventInput{Action: "login", Username: "akadmin", ClientIP: "10.0.0.9", Context: map[string]any{"i": i}})
	}
	evs, cur2, err := c.ListEventsSince(ctx, cur, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 250 {
		t.Fatalf("want 250 new events (base %d), got %d", base, len(evs))
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Created.Before(evs[i-1].Created) {
			t.Fatal("events not chronological")
		}
	}
	if evs[0].ClientIP == nil || *evs[0].ClientIP != "10.0.0.9" || evs[0].User.Username != "akadmin" {
		t.Fatalf("event fields: %+v", evs[0])
	}
	if none, cur3, err := c.ListEventsSince(ctx, cur2, 0); err != nil || len(none) != 0 || cur3 != cur2 {
		t.Fatalf("no new events expected: %d %v", len(none), err)
	}

	// Capped reads advance the cursor only past what was returned.
	for range 5 {
		sim.Emit(authentiksim.EventInput{Action: "custom_test"})
	}
	first, c1, err := c.ListEventsSince(ctx, cur2, 3)
	if err != nil || len(first) != 3 {
		t.Fatalf("capped: %d %v", len(first), err)
	}
	rest, _, err := c.ListEventsSince(ctx, c1, 0)
	if err != nil || len(rest) != 2 {
		t.Fatalf("rest: %d %v", len(rest), err)
	}
}

func TestEventsActionIsSubstringAndCreatedGtIgnored(t *testing.T) {
	sim, srv := simtest.NewAuthentik(t, authentiksim.Options{Token: token})
	sim.FailedLogin("mallory", "10.1.1.1")
	sim.Emit(authentiksim.EventInput{Action: "login", Username: "akadmin"})
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v3/events/events/?action=login&created__gt=2999-01-01T00:00:00Z", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	p, err := authentikapi.ParsePage[authentikapi.Event](raw)
	if err != nil {
		t.Fatal(err)
	}
	if p.Pagination.Count != 2 {
		t.Fatalf("want login and login_failed despite created__gt, got %d", p.Pagination.Count)
	}
}

func TestFaultInjectionMapsToUnavailable(t *testing.T) {
	sim, c := setup(t)
	sim.FailNext("", "/api/v3/core/groups/", http.StatusBadGateway)
	_, _, err := c.EnsureGroup(context.Background(), "g", nil)
	if !errors.Is(err, authentikapi.ErrUnavailable) {
		t.Fatalf("want unavailable, got %v", err)
	}
	if _, _, err := c.EnsureGroup(context.Background(), "g", nil); err != nil {
		t.Fatalf("fault must fire once: %v", err)
	}
}

func TestContextCancellationWithDelay(t *testing.T) {
	sim, c := setup(t)
	sim.SetDelay(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.GetUser(ctx, 1)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, authentikapi.ErrUnavailable) {
		t.Fatalf("want canceled+unavailable, got %v", err)
	}
}

func TestPaginationAcrossPages(t *testing.T) {
	_, c := setup(t)
	ctx := context.Background()
	for i := range 230 {
		if _, err := c.CreateUser(ctx, authentikapi.NewUser{Username: "u" + itoa(i), Name: "x", Email: "same@x.test", IsActive: true}); err != nil {
			t.Fatal(err)
		}
	}
	users, err := c.FindUsersByEmail(ctx, "same@x.test")
	if err != nil || len(users) != 230 {
		t.Fatalf("got %d users, err %v", len(users), err)
	}
}

func itoa(i int) string {
	const d = "0123456789"
	if i < 10 {
		return d[i : i+1]
	}
	return itoa(i/10) + d[i%10:i%10+1]
}
