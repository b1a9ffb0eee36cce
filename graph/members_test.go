package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dezky/platform/ent/user"
	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/app/demoupstreams"
	"github.com/dezky/platform/internal/authn/devissuer"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/conformance"
	"github.com/dezky/platform/plugins/sdk"
)

// startWithUpstreams starts the demo server with the real authentik, ocis
// and stalwart plugins against the in-process simulators.
func startWithUpstreams(t *testing.T, d string) *testserver.Server {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{"authentik", "ocis", "stalwart"} {
		conformance.BuildProvider(t, "github.com/dezky/platform/providers/"+p, p, dir)
	}
	s := testserver.StartWith(t, d, func(cfg *app.ServeConfig) {
		cfg.DemoUpstreams, cfg.PluginsDir = demoupstreams.Start, dir
	})
	waitMembersSettled(t, s)
	return s
}

// waitMembersSettled waits until no member integration is PENDING.
func waitMembersSettled(t *testing.T, s *testserver.Server) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n, err := s.Members.Queued(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			rows, _ := s.DB.Client.MemberProvisioning.Query().All(viewer.SystemContext(context.Background()))
			for _, r := range rows {
				t.Logf("membership %d %s %s %q", r.MembershipID, r.Integration, r.Status, r.Message)
			}
			t.Fatalf("%d member integrations still pending", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type memberRow struct {
	ID           string
	Email        string
	Name         string
	Role         string
	Status       string
	Mailbox      *string
	MfaEnrolled  *bool
	Provisioning []provisioningRow
}

const memberFields = `id email name role status mailbox mfaEnrolled provisioning { integration status message updatedAt }`

func members(t *testing.T, s *testserver.Server, as, slug string) map[string]memberRow {
	t.Helper()
	var data struct {
		Tenant struct {
			Members struct{ Edges []struct{ Node memberRow } }
		}
	}
	s.Query(as, `query($s: String!) { tenant(slug: $s) { members(first: 100) { edges { node { `+memberFields+` } } } } }`,
		map[string]any{"s": slug}).Decode(t, &data)
	out := map[string]memberRow{}
	for _, e := range data.Tenant.Members.Edges {
		out[e.Node.Email] = e.Node
	}
	return out
}

// settled waits for the member's jobs and returns it (zero row when gone).
func settled(t *testing.T, s *testserver.Server, slug, email string) memberRow {
	t.Helper()
	waitMembersSettled(t, s)
	return members(t, s, "operator", slug)[email]
}

func integrationStatus(m memberRow) map[string]provisioningRow {
	out := map[string]provisioningRow{}
	for _, p := range m.Provisioning {
		out[p.Integration] = p
	}
	return out
}

type credentialPayload struct {
	Member     memberRow
	Credential *struct {
		Kind, Value string
		ExpiresAt   *string
	}
	CredentialWithheld bool
}

const createMember = `mutation($t: String!, $e: String!, $n: String!, $r: MembershipRole) {
  createMember(tenantSlug: $t, input: {email: $e, name: $n, role: $r}) {
    member { ` + memberFields + ` } credential { kind value expiresAt } credentialWithheld } }`

func memberOp(name string) string {
	return `mutation($t: String!, $e: String!) { ` + name + `(tenantSlug: $t, email: $e) { ` + memberFields + ` } }`
}

func vars(slug, email string) map[string]any { return map[string]any{"t": slug, "e": email} }

// tokenFor mints a portal token for the user with the given subject.
func tokenFor(t *testing.T, s *testserver.Server, subject string) string {
	t.Helper()
	tok, err := s.DevIssuer.Mint(devissuer.MintClaims{Subject: subject, Audience: []string{app.DefaultPortalAudience}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func identityUser(t *testing.T, s *testserver.Server, email string) (sdk.User, error) {
	t.Helper()
	u, err := s.DB.Client.User.Query().Where(user.Email(email)).Only(viewer.SystemContext(context.Background()))
	if err != nil {
		return sdk.User{}, err
	}
	if u.IdentityID == nil {
		t.Fatalf("%s has no SSO user recorded", email)
	}
	idp, err := s.Plugins.Identity()
	if err != nil {
		t.Fatal(err)
	}
	return idp.GetUser(context.Background(), *u.IdentityID)
}

// TestMemberLifecycle drives a member through create, suspend, resume,
// force logout, password reset, role changes and removal over GraphQL,
// through the real plugins against the simulators, on both databases.
func TestMemberLifecycle(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := startWithUpstreams(t, d)
			ctx := context.Background()
			// The demo members were provisioned at start.
			for email, m := range members(t, s, "operator", "acme") {
				for _, p := range m.Provisioning {
					if p.Status != "OK" {
						t.Fatalf("demo member %s: %s %s %q", email, p.Integration, p.Status, p.Message)
					}
				}
			}

			const email = "nina.new@acme.example"
			var created struct{ CreateMember credentialPayload }
			s.Query("admin:acme", createMember, map[string]any{"t": "acme", "e": "Nina.New@Acme.example", "n": "Nina New"}).Decode(t, &created)
			c := created.CreateMember
			if c.Member.Email != email || c.Member.Status != "PENDING" || c.Member.Role != "MEMBER" || c.CredentialWithheld {
				t.Fatalf("created: %+v", c)
			}
			if c.Credential == nil || c.Credential.Kind != "RECOVERY_LINK" || !strings.Contains(c.Credential.Value, "flow_token=") || c.Credential.ExpiresAt == nil {
				t.Fatalf("credential: %+v", c.Credential)
			}
			m := settled(t, s, "acme", email)
			st := integrationStatus(m)
			if m.Status != "ACTIVE" || m.Mailbox == nil || *m.Mailbox != email || st["IDENTITY"].Status != "OK" ||
				st["MAIL"].Status != "OK" || st["STORAGE"].Status != "OK" || m.MfaEnrolled == nil || *m.MfaEnrolled {
				t.Fatalf("after provisioning: %+v", m)
			}
			su, err := identityUser(t, s, email)
			if err != nil || !su.Active || su.Username != email {
				t.Fatalf("SSO user: %+v %v", su, err)
			}
			mail, _ := s.Plugins.Mail()
			if mb, err := mail.GetMailbox(ctx, email); err != nil || mb.Frozen {
				t.Fatalf("mailbox: %+v %v", mb, err)
			}

			// A member sees only themself; the tenant's partner sees everyone.
			if own := members(t, s, "member:acme", "acme"); len(own) != 1 || own["member@acme.example"].Email == "" {
				t.Fatalf("member:acme sees %v, want only themself", own)
			}
			if all := members(t, s, "partner:northwind", "acme"); len(all) != 3 {
				t.Fatalf("partner:northwind sees %d members of acme, want 3", len(all))
			}

			// Refusals.
			for _, c := range []struct {
				as, query string
				vars      map[string]any
				code      string
			}{
				{"admin:acme", createMember, map[string]any{"t": "acme", "e": "NINA.NEW@acme.example", "n": "Again"}, "CONFLICT"},
				{"member:acme", createMember, map[string]any{"t": "acme", "e": "x@acme.example", "n": "X"}, "FORBIDDEN"},
				{"member:acme", memberOp("suspendMember"), vars("acme", email), "FORBIDDEN"},
				{"member:acme", memberOp("reconcileMember"), vars("acme", email), "FORBIDDEN"},
				{"admin:acme", memberOp("suspendMember"), vars("acme", "admin@acme.example"), "FORBIDDEN"},
				{"admin:acme", memberOp("removeMember"), vars("acme", "admin@acme.example"), "FORBIDDEN"},
				{"admin:acme", `mutation($t: String!, $e: String!) { forceLogoutMember(tenantSlug: $t, email: $e) { sessionsEnded } }`, vars("acme", "admin@acme.example"), "FORBIDDEN"},
				{"operator", memberOp("removeMember"), vars("acme", "admin@acme.example"), "CONFLICT"},
				{"operator", `mutation($t: String!, $e: String!) { setMemberRole(tenantSlug: $t, email: $e, role: MEMBER) { role } }`, vars("acme", "admin@acme.example"), "CONFLICT"},
				{"admin:acme", memberOp("suspendMember"), vars("acme", "nobody@acme.example"), "NOT_FOUND"},
				{"admin:acme", createMember, map[string]any{"t": "acme", "e": "not-an-address", "n": "X"}, "BAD_USER_INPUT"},
				{"partner:northwind", memberOp("suspendMember"), vars("globex", "member@globex.example"), "NOT_FOUND"},
			} {
				before := memberState(t, s)
				if got := s.Query(c.as, c.query, c.vars).Code(); got != c.code {
					t.Fatalf("%s %s %v: %q, want %s", c.as, strings.Fields(c.query)[3], c.vars, got, c.code)
				}
				if memberState(t, s) != before {
					t.Fatalf("refused %s changed the database", c.query)
				}
			}

			// Suspend: SSO deactivated, mailbox frozen; resume undoes it.
			var sus struct{ SuspendMember memberRow }
			s.Query("partner:northwind", memberOp("suspendMember"), vars("acme", email)).Decode(t, &sus)
			if sus.SuspendMember.Status != "SUSPENDED" {
				t.Fatalf("suspend: %+v", sus)
			}
			settled(t, s, "acme", email)
			if su, _ := identityUser(t, s, email); su.Active {
				t.Fatal("SSO user still active after suspend")
			}
			if mb, _ := mail.GetMailbox(ctx, email); !mb.Frozen {
				t.Fatal("mailbox not frozen after suspend")
			}
			s.Query("admin:acme", memberOp("resumeMember"), vars("acme", email)).Decode(t, &struct{}{})
			if m := settled(t, s, "acme", email); m.Status != "ACTIVE" {
				t.Fatalf("resume: %+v", m)
			}
			if su, _ := identityUser(t, s, email); !su.Active {
				t.Fatal("SSO user inactive after resume")
			}
			if mb, _ := mail.GetMailbox(ctx, email); mb.Frozen {
				t.Fatal("mailbox frozen after resume")
			}

			var lo struct{ ForceLogoutMember struct{ SessionsEnded int } }
			s.Query("admin:acme", `mutation($t: String!, $e: String!) { forceLogoutMember(tenantSlug: $t, email: $e) { sessionsEnded } }`, vars("acme", email)).Decode(t, &lo)
			var reset struct{ ResetMemberPassword credentialPayload }
			s.Query("admin:acme", `mutation($t: String!, $e: String!) { resetMemberPassword(tenantSlug: $t, email: $e) { credential { kind value } credentialWithheld } }`,
				vars("acme", email)).Decode(t, &reset)
			if reset.ResetMemberPassword.Credential == nil || reset.ResetMemberPassword.Credential.Kind != "RECOVERY_LINK" {
				t.Fatalf("reset: %+v", reset)
			}
			var role struct{ SetMemberRole memberRow }
			s.Query("admin:acme", `mutation($t: String!, $e: String!) { setMemberRole(tenantSlug: $t, email: $e, role: ADMIN) { role } }`, vars("acme", email)).Decode(t, &role)
			if role.SetMemberRole.Role != "ADMIN" {
				t.Fatalf("role: %+v", role)
			}

			// The member signs in and sees the tenant; removal takes it away
			// at once, and the teardown deletes mailbox and SSO user.
			tok := tokenFor(t, s, email)
			meQuery := `{ me { memberships { role tenant { slug } } } }`
			var me struct {
				Me struct{ Memberships []struct{ Role string } }
			}
			s.Do(testserver.Request{Token: tok, Query: meQuery}).Decode(t, &me)
			if len(me.Me.Memberships) != 1 || me.Me.Memberships[0].Role != "ADMIN" {
				t.Fatalf("me before removal: %+v", me)
			}
			var rm struct{ RemoveMember memberRow }
			s.Query("admin:acme", memberOp("removeMember"), vars("acme", email)).Decode(t, &rm)
			if rm.RemoveMember.Status != "REMOVING" {
				t.Fatalf("remove: %+v", rm)
			}
			s.Do(testserver.Request{Token: tok, Query: meQuery}).Decode(t, &me)
			if len(me.Me.Memberships) != 0 {
				t.Fatalf("me right after removal: %+v", me)
			}
			if m := settled(t, s, "acme", email); m.Email != "" {
				t.Fatalf("member still listed after teardown: %+v", m)
			}
			idp, _ := s.Plugins.Identity()
			var gone int
			for _, id := range []string{su.ID} {
				if _, err := idp.GetUser(ctx, id); sdk.IsNotFound(err) {
					gone++
				}
			}
			if gone != 1 {
				t.Fatal("SSO user survived the removal")
			}
			if _, err := mail.GetMailbox(ctx, email); !sdk.IsNotFound(err) {
				t.Fatalf("mailbox after removal: %v", err)
			}
			for _, a := range []string{"member.created", "member.suspended", "member.resumed", "member.sessions_terminated",
				"member.password_reset", "member.role_changed", "member.removal_requested", "member.removed"} {
				if len(auditEvents(t, s, map[string]any{"action": a})) == 0 {
					t.Fatalf("no %s audit event", a)
				}
			}
		})
	}
}

// TestMemberOfTwoTenantsKeepsIdentity: removing a person from one tenant
// keeps the SSO user they need for the other and drops only this tenant's
// group and mailbox.
func TestMemberOfTwoTenantsKeepsIdentity(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := startWithUpstreams(t, d)
			ctx := context.Background()
			const email = "pat@shared.example"
			var a, g struct{ CreateMember credentialPayload }
			s.Query("admin:acme", createMember, map[string]any{"t": "acme", "e": email, "n": "Pat Shared"}).Decode(t, &a)
			s.Query("admin:globex", createMember, map[string]any{"t": "globex", "e": email, "n": "Pat Shared"}).Decode(t, &g)
			if a.CreateMember.Credential == nil || g.CreateMember.Credential != nil {
				t.Fatalf("credentials: first %+v, second %+v (an existing person keeps their password)", a.CreateMember.Credential, g.CreateMember.Credential)
			}
			settled(t, s, "acme", email)
			su, err := identityUser(t, s, email)
			if err != nil || len(su.GroupIDs) < 2 {
				t.Fatalf("SSO user in both groups: %+v %v", su, err)
			}
			mail, _ := s.Plugins.Mail()
			s.Query("admin:acme", memberOp("removeMember"), vars("acme", email)).Decode(t, &struct{}{})
			if m := settled(t, s, "acme", email); m.Email != "" {
				t.Fatalf("still an acme member: %+v", m)
			}
			after, err := identityUser(t, s, email)
			if err != nil || !after.Active || len(after.GroupIDs) != len(su.GroupIDs)-1 {
				t.Fatalf("SSO user after leaving acme: %+v %v", after, err)
			}
			if _, err := mail.GetMailbox(ctx, "pat@acme.example"); !sdk.IsNotFound(err) {
				t.Fatalf("acme mailbox: %v", err)
			}
			if _, err := mail.GetMailbox(ctx, "pat@globex.example"); err != nil {
				t.Fatalf("globex mailbox: %v", err)
			}
			if m := members(t, s, "operator", "globex")[email]; m.Status != "ACTIVE" {
				t.Fatalf("globex membership: %+v", m)
			}
		})
	}
}

// TestCredentialNeverReplayedOrStored: an idempotent replay of createMember
// returns the member without the credential and says so; neither the
// idempotency record nor any audit row holds the credential.
func TestCredentialNeverReplayedOrStored(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := startWithUpstreams(t, d)
			req := testserver.Request{Token: s.Token("admin:globex"), Query: createMember,
				Variables: map[string]any{"t": "globex", "e": "once@globex.example", "n": "Once Only"},
				Headers:   map[string]string{"Idempotency-Key": "create-once"}}
			var first, replay struct{ CreateMember credentialPayload }
			s.Do(req).Decode(t, &first)
			s.Do(req).Decode(t, &replay)
			cred := first.CreateMember.Credential
			if cred == nil || first.CreateMember.CredentialWithheld {
				t.Fatalf("first: %+v", first)
			}
			if replay.CreateMember.Credential != nil || !replay.CreateMember.CredentialWithheld || replay.CreateMember.Member.ID != first.CreateMember.Member.ID {
				t.Fatalf("replay: %+v", replay)
			}
			// Aliases and fragments select the credential too.
			aliased := testserver.Request{Token: req.Token, Headers: map[string]string{"Idempotency-Key": "create-aliased"},
				Query: `mutation { made: createMember(tenantSlug: "globex", input: {email: "alias@globex.example", name: "Alias"}) {
				  ...P secret: credential { v: value } } }
				fragment P on MemberCredentialPayload { withheld: credentialWithheld credential { kind } }`}
			var a1, a2 struct {
				Made struct {
					Withheld bool
					Secret   *struct{ V string }
				}
			}
			s.Do(aliased).Decode(t, &a1)
			s.Do(aliased).Decode(t, &a2)
			if a1.Made.Withheld || a1.Made.Secret == nil || !a2.Made.Withheld || a2.Made.Secret != nil {
				t.Fatalf("aliased: first %+v, replay %+v", a1, a2)
			}
			for _, table := range []string{"idempotency_keys", "audit_events", "member_provisionings", "river_job"} {
				rows, err := s.DB.SQL.Query(`SELECT * FROM ` + table)
				if err != nil {
					t.Fatal(err)
				}
				cols, _ := rows.Columns()
				for rows.Next() {
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := rows.Scan(ptrs...); err != nil {
						t.Fatal(err)
					}
					for _, v := range vals {
						raw := fmt.Sprint(v)
						if b, ok := v.([]byte); ok {
							raw = string(b)
						}
						for _, secret := range []string{cred.Value, a1.Made.Secret.V} {
							if strings.Contains(raw, secret) || strings.Contains(raw, jsonEscaped(secret)) {
								t.Fatalf("%s holds the credential", table)
							}
						}
					}
				}
				rows.Close()
			}
		})
	}
}

func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

// TestOperatorAndPartnerStaffInvites: operators invite operators; the
// partner's ADMIN staff (and operators) invite and remove partner staff;
// everybody else is refused.
func TestOperatorAndPartnerStaffInvites(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := startWithUpstreams(t, d)
			invite := `mutation($e: String!) { inviteOperator(input: {email: $e, name: "Otto Op"}) { user { email platformAdmin } credential { kind value } credentialWithheld } }`
			var op struct {
				InviteOperator struct {
					User struct {
						Email         string
						PlatformAdmin bool
					}
					Credential *struct{ Kind, Value string }
				}
			}
			s.Query("operator", invite, map[string]any{"e": "otto@dezky.example"}).Decode(t, &op)
			if !op.InviteOperator.User.PlatformAdmin || op.InviteOperator.Credential == nil || op.InviteOperator.Credential.Kind != "RECOVERY_LINK" {
				t.Fatalf("inviteOperator: %+v", op)
			}
			for _, as := range []string{"admin:acme", "partner:northwind"} {
				if code := s.Query(as, invite, map[string]any{"e": "x@dezky.example"}).Code(); code != "FORBIDDEN" {
					t.Fatalf("%s inviteOperator: %q", as, code)
				}
			}
			if code := s.Query("operator", invite, map[string]any{"e": "otto@dezky.example"}).Code(); code != "CONFLICT" {
				t.Fatalf("second inviteOperator: %q", code)
			}
			var ops struct{ Operators []struct{ Email string } }
			s.Query("operator", `{ operators { email } }`, nil).Decode(t, &ops)
			if len(ops.Operators) != 2 {
				t.Fatalf("operators: %+v", ops)
			}
			if ev := auditEvents(t, s, map[string]any{"action": "platform.user_invited"}); len(ev) != 1 {
				t.Fatalf("platform.user_invited events: %+v", ev)
			}

			staff := `mutation($p: String!, $e: String!, $l: UserAccessLevel) { invitePartnerStaff(partnerSlug: $p, input: {email: $e, name: "Sam Staff", accessLevel: $l}) { user { email accessLevel } credential { kind } } }`
			var inv struct {
				InvitePartnerStaff struct {
					User       struct{ Email, AccessLevel string }
					Credential *struct{ Kind string }
				}
			}
			s.Query("partner:northwind", staff, map[string]any{"p": "northwind", "e": "sam@northwind.example"}).Decode(t, &inv)
			if inv.InvitePartnerStaff.User.AccessLevel != "STAFF" || inv.InvitePartnerStaff.Credential == nil {
				t.Fatalf("invitePartnerStaff: %+v", inv)
			}
			sam := tokenFor(t, s, "sam@northwind.example")
			if code := s.Do(testserver.Request{Token: sam, Query: staff, Variables: map[string]any{"p": "northwind", "e": "eve@northwind.example"}}).Code(); code != "FORBIDDEN" {
				t.Fatalf("STAFF-level invite: %q", code)
			}
			if code := s.Query("admin:acme", staff, map[string]any{"p": "northwind", "e": "eve@northwind.example"}).Code(); code != "NOT_FOUND" {
				t.Fatalf("tenant admin invite: %q", code)
			}
			var p struct {
				Partner struct {
					Staff []struct {
						Email       string
						AccessLevel *string
					}
				}
			}
			s.Query("partner:northwind", `{ partner(slug: "northwind") { staff { email accessLevel mfaEnrolled } } }`, nil).Decode(t, &p)
			if len(p.Partner.Staff) != 2 {
				t.Fatalf("staff: %+v", p)
			}
			remove := `mutation($p: String!, $e: String!) { removePartnerStaff(partnerSlug: $p, email: $e) { email } }`
			if code := s.Query("partner:northwind", remove, map[string]any{"p": "northwind", "e": "staff@northwind.example"}).Code(); code != "FORBIDDEN" {
				t.Fatalf("removing yourself: %q", code)
			}
			s.Query("partner:northwind", remove, map[string]any{"p": "northwind", "e": "sam@northwind.example"}).Decode(t, &struct{}{})
			s.Query("partner:northwind", `{ partner(slug: "northwind") { staff { email } } }`, nil).Decode(t, &p)
			if len(p.Partner.Staff) != 1 {
				t.Fatalf("staff after removal: %+v", p)
			}
		})
	}
}

// memberState digests what a member mutation changes: users, memberships,
// member status rows, idempotency records and the audit events the
// platform itself writes. (countRows would also see the audit events the
// ingest of the demo upstreams adds at any time.)
func memberState(t *testing.T, s *testserver.Server) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT id, email, COALESCE(identity_id, ''), COALESCE(partner_id, 0), platform_admin FROM users ORDER BY id`,
		`SELECT id, role, status, revision, COALESCE(mailbox, '') FROM memberships ORDER BY id`,
		`SELECT id, status, message FROM member_provisionings ORDER BY id`,
		`SELECT id, key FROM idempotency_keys ORDER BY id`,
		`SELECT id, action FROM audit_events WHERE source = 'platform' ORDER BY id`,
	} {
		rows, err := s.DB.SQL.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if raw, ok := v.([]byte); ok {
					v = string(raw)
				}
				fmt.Fprintf(&b, "%v|", v)
			}
			b.WriteString("\n")
		}
		rows.Close()
	}
	return b.String()
}

// TestMfaStatus: the MFA overview counts the tenant's members and asks the
// identity provider (the real plugin against the Authentik simulator) for
// each one's authenticators; a member sees only themself, other tenants'
// admins see no tenant.
func TestMfaStatus(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := startWithUpstreams(t, d)
			const q = `{ tenant(slug: "acme") { mfaStatus { total enrolled members { email enrolled authenticators } } } }`
			var got struct {
				Tenant struct {
					MfaStatus struct {
						Total, Enrolled int
						Members         []struct {
							Email          string
							Enrolled       *bool
							Authenticators *int
						}
					}
				}
			}
			for _, as := range []string{"admin:acme", "partner:northwind", "operator"} {
				s.Query(as, q, nil).Decode(t, &got)
				st := got.Tenant.MfaStatus
				want := len(members(t, s, "operator", "acme"))
				if st.Total != want || len(st.Members) != want || st.Enrolled != 0 {
					t.Fatalf("%s: mfaStatus = %+v, want %d members, none enrolled", as, st, want)
				}
				for _, m := range st.Members {
					if m.Enrolled == nil || *m.Enrolled || m.Authenticators == nil || *m.Authenticators != 0 {
						t.Fatalf("%s: member %+v: want a known count of 0 from the identity provider", as, m)
					}
				}
			}
			// A member sees only themself, as in Tenant.members.
			s.Query("member:acme", q, nil).Decode(t, &got)
			if st := got.Tenant.MfaStatus; st.Total != 1 || len(st.Members) != 1 || st.Members[0].Email != "member@acme.example" {
				t.Fatalf("member's overview: %+v", st)
			}
			if rsp := s.Query("admin:globex", q, nil); rsp.Code() != "NOT_FOUND" {
				t.Fatalf("another tenant's admin: %s", rsp.Body)
			}
		})
	}
}
