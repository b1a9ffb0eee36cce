package graph_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/invoice"
	"github.com/dezky/platform/ent/maildomain"
	"github.com/dezky/platform/ent/membership"
	"github.com/dezky/platform/ent/payout"
	"github.com/dezky/platform/ent/tenantsubscription"
	"github.com/dezky/platform/ent/webhookendpoint"
	"github.com/dezky/platform/graph"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/subscriptions"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
	"github.com/dezky/platform/internal/viewer"
)

// foreignWorld is a partner with a tenant and users that none of the
// roles under test may see or touch.
type foreignWorld struct {
	payout  *ent.Payout
	partner *ent.Partner
	tenant  *ent.Tenant
	user    *ent.User
	hook    *ent.WebhookEndpoint
	member  *ent.Membership
	domain  string
	markers []string
	// eventSeq is the seq of the foreign tenant's chained audit event.
	eventSeq int64
}

func buildForeignWorld(t *testing.T, s *testserver.Server) *foreignWorld {
	t.Helper()
	ctx := viewer.SystemContext(context.Background())
	c := s.DB.Client
	p := c.Partner.Create().SetSlug("contoso").SetName("Contoso Partners").SetContactEmail("boss@contoso.example").SaveX(ctx)
	tn := c.Tenant.Create().SetSlug("initech").SetName("Initech Corp").SetPartnerID(p.ID).SetDomains([]string{"initech.example"}).SaveX(ctx)
	u := c.User.Create().SetSubject("initech-admin").SetEmail("peter@initech.example").SetName("Peter Gibbons").SaveX(ctx)
	m := c.Membership.Create().SetUserID(u.ID).SetTenantID(tn.ID).SetRole(membership.RoleAdmin).SaveX(ctx)
	c.MailDomain.Create().SetTenantID(tn.ID).SetName("initech.example").SetOwnershipToken("initech0token").
		SetStatus(maildomain.StatusVerified).SetVerifiedAt(time.Now()).SetPrimary(true).SaveX(ctx)
	staff := c.User.Create().SetSubject("contoso-staff").SetEmail("staff@contoso.example").SetPartnerID(p.ID).SaveX(ctx)
	// Audit events of the foreign world, so the audit listing has
	// something to leak.
	tx, err := c.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ev := tx.AuditEvent.Create().SetAction("tenant.created").SetActorType("system").SetTenantID(tn.ID).SetTenantSlug("initech").
		SetPartnerID(p.ID).SetPartnerSlug("contoso").SetResourceName("initech").SaveX(ctx)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.NewChainer(s.DB, audit.ChainerOptions{}).ChainPending(ctx); err != nil {
		t.Fatal(err)
	}
	// A (disabled, so nothing delivers to it) webhook endpoint of the
	// foreign tenant.
	hook := c.WebhookEndpoint.Create().SetScope(webhookendpoint.ScopeTenant).SetTenantID(tn.ID).SetTenantSlug("initech").
		SetURL("https://hooks.initech.example/in").SetEventTypes([]string{"*"}).SetSecretSealed([]byte("sealed")).
		SetStatus(webhookendpoint.StatusDisabled).SaveX(ctx)
	// What the foreign tenant pays: a distinctive amount, so that a
	// leaked subscription or MRR shows up.
	if _, err := subscriptions.Create(ctx, c, tn.ID, subscriptions.State{Plan: tenantsubscription.PlanBusiness,
		Interval: tenantsubscription.IntervalMonth, Currency: "EUR", UnitAmount: 987653, PerSeat: true, Seats: 3,
		Status: tenantsubscription.StatusActive}, time.Now(), func(cr *ent.TenantSubscriptionCreate) {
		cr.SetProviderSubscriptionID("sub_initech")
	}); err != nil {
		t.Fatal(err)
	}
	// Its billing: details, a card and an invoice with distinctive values.
	c.BillingAccount.Create().SetTenantID(tn.ID).SetCompanyName("Initech Billing").SetVatID("DE999888777").SetCountry("DE").
		SetBillingEmail("ap@initech.example").SetProviderCustomerID("cus_initech").SetPaymentMethodID("pm_initech").
		SetCardBrand("amex").SetCardLast4("9191").SetCardExpMonth(7).SetCardExpYear(2033).SaveX(ctx)
	c.Invoice.Create().SetTenantID(tn.ID).SetProviderInvoiceID("in_initech").SetNumber("INITECH-77").SetStatus(invoice.StatusOpen).
		SetCurrency("EUR").SetTotal(4242421).SetAmountDue(4242421).SetAmountPaid(0).SetIssuedAt(time.Now()).SaveX(ctx)
	// Its partner's money: margins and a payout with a distinctive amount.
	c.PartnerMargin.Create().SetPartnerID(p.ID).SetPct(37).SetEffectiveFrom(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).SaveX(ctx)
	po := c.Payout.Create().SetPartnerID(p.ID).SetPeriod("2026-01").SetForPeriod("2026-01").SetKind(payout.KindRegular).
		SetCurrency("EUR").SetGrossMrr(7316081).SetMarginPct(37).SetAmount(2706950).SetTenants(1).SaveX(ctx)
	w := &foreignWorld{payout: po, partner: p, tenant: tn, user: u, member: m, hook: hook, domain: "initech.example", eventSeq: *c.AuditEvent.GetX(ctx, ev.ID).Seq}
	w.markers = []string{"contoso", "Contoso", "initech", "Initech", "Peter Gibbons", "987653", "2962959", "sub_initech",
		"DE999888777", "INITECH-77", "4242421", "pm_initech", "cus_initech",
		"7316081", "2706950"}
	for _, id := range []int{p.ID, tn.ID, u.ID, m.ID, staff.ID, hook.ID, po.ID} {
		w.markers = append(w.markers, strconv.Itoa(id))
	}
	return w
}

// argValue fills one argument of an operation so that it targets the
// foreign world. ok is false when the test does not know the argument:
// then the test fails, so a new operation cannot slip through unchecked.
func (w *foreignWorld) argValue(field string, arg *ast.ArgumentDefinition, schema *ast.Schema) (string, bool) {
	lower := strings.ToLower(field)
	switch arg.Name {
	case "slug":
		if strings.Contains(lower, "partner") {
			return strconv.Quote(w.partner.Slug), true
		}
		return strconv.Quote(w.tenant.Slug), true
	case "tenantSlug":
		return strconv.Quote(w.tenant.Slug), true
	case "partnerSlug":
		return strconv.Quote(w.partner.Slug), true
	case "email":
		return strconv.Quote(w.user.Email), true
	case "role":
		return "ADMIN", true
	case "name":
		return strconv.Quote(w.domain), true
	case "policy":
		return "REJECT", true
	case "key":
		return strconv.Quote("jmap_native_v2"), true
	case "id":
		if strings.Contains(lower, "webhook") {
			return strconv.Quote(strconv.Itoa(w.hook.ID)), true
		}
		if strings.Contains(lower, "payout") {
			return strconv.Quote(strconv.Itoa(w.payout.ID)), true
		}
		return strconv.Quote(strconv.Itoa(w.tenant.ID)), true
	case "period", "from", "to":
		return strconv.Quote("2026-01"), true
	case "reference":
		return strconv.Quote("SEPA-CONTOSO"), true
	case "paymentMethodId":
		return strconv.Quote("pm_initech"), true
	case "endpointId":
		return strconv.Quote(strconv.Itoa(w.hook.ID)), true
	case "ids":
		return fmt.Sprintf("[%q, %q, %q, %q]", strconv.Itoa(w.tenant.ID), strconv.Itoa(w.partner.ID), strconv.Itoa(w.user.ID), strconv.Itoa(w.member.ID)), true
	case "input":
		return w.inputValue(schema.Types[arg.Type.Name()])
	case "seq":
		return strconv.FormatInt(w.eventSeq, 10), true
	case "fromSize", "toSize":
		return strconv.FormatInt(w.eventSeq, 10), true
	}
	if !arg.Type.NonNull {
		return "", true // optional filters, ordering and paging: leave out
	}
	return "", false
}

// inputValue builds an input object: required fields get valid values,
// optional references point at the foreign world.
func (w *foreignWorld) inputValue(def *ast.Definition) (string, bool) {
	var parts []string
	for _, f := range def.Fields {
		var v string
		switch {
		case f.Name == "slug":
			v = `"iso-new"`
		case f.Name == "key":
			v = `"iso_flag"`
		case f.Name == "name":
			v = `"Isolation"`
		case f.Name == "tenantSlug":
			v = strconv.Quote(w.tenant.Slug)
		case f.Name == "kind" && f.Type.Name() == "ReportKind":
			v = "PARTNER"
		case f.Name == "kind":
			v = "HTTP"
		case f.Name == "url":
			v = `"https://hooks.example.com/in"`
		case f.Name == "eventTypes":
			v = `["*"]`
		case f.Name == "email":
			v = `"iso@initech.example"`
		case f.Name == "partnerSlug":
			v = strconv.Quote(w.partner.Slug)
		case f.Name == "seats":
			v = "7"
		case f.Name == "redirectUris":
			v = `["https://iso.example/cb"]`
		case f.Name == "plan":
			v = "BUSINESS"
		case f.Name == "interval":
			v = "MONTH"
		case f.Name == "params":
			v = fmt.Sprintf(`{from: "2026-01", to: "2026-01", partnerSlug: %q}`, w.partner.Slug)
		case f.Name == "amounts":
			v = `[{amount: 1500, currency: "EUR"}]`
		case !f.Type.NonNull:
			continue
		default:
			return "", false
		}
		parts = append(parts, f.Name+": "+v)
	}
	return "{" + strings.Join(parts, ", ") + "}", true
}

// selection selects every scalar field of the result type, and of
// connection nodes, so that any leaked row shows up in the response.
func selection(schema *ast.Schema, typ *ast.Type, depth int) string {
	def := schema.Types[typ.Name()]
	if def == nil || def.Kind == ast.Scalar || def.Kind == ast.Enum {
		return ""
	}
	if def.Kind == ast.Interface || def.Kind == ast.Union {
		var b strings.Builder
		b.WriteString("{ __typename")
		// Scalars only, aliased per type so the fragments never conflict.
		for _, impl := range schema.GetPossibleTypes(def) {
			fmt.Fprintf(&b, " ... on %s {", impl.Name)
			for _, f := range impl.Fields {
				if ft := schema.Types[f.Type.Name()]; (ft.Kind == ast.Scalar || ft.Kind == ast.Enum) && len(f.Arguments) == 0 {
					fmt.Fprintf(&b, " %s_%s: %s", impl.Name, f.Name, f.Name)
				}
			}
			b.WriteString(" }")
		}
		b.WriteString(" }")
		return b.String()
	}
	var fields []string
	for _, f := range def.Fields {
		if strings.HasPrefix(f.Name, "__") {
			continue
		}
		ft := schema.Types[f.Type.Name()]
		required := false
		for _, a := range f.Arguments {
			required = required || (a.Type.NonNull && a.DefaultValue == nil)
		}
		if required {
			continue
		}
		switch {
		case ft.Kind == ast.Scalar || ft.Kind == ast.Enum:
			fields = append(fields, f.Name)
		case depth < 3:
			if sub := selection(schema, f.Type, depth+1); sub != "" {
				fields = append(fields, f.Name+" "+sub)
			}
		}
	}
	if len(fields) == 0 {
		return "{ __typename }"
	}
	return "{ " + strings.Join(fields, " ") + " }"
}

// roles under test: everybody but the operator.
var isolationRoles = []string{"admin:acme", "member:acme", "partner:northwind", "admin:globex", "member:globex"}

// TestIsolation walks every query and mutation of the schema, for every
// non-operator role, against a partner and tenant the role has no part in.
// Queries must not return any trace of the foreign world; mutations must
// fail with NOT_FOUND or FORBIDDEN and change nothing.
func TestIsolation(t *testing.T) {
	schema := graph.NewSchema(graph.Services{}).Schema()
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			w := buildForeignWorld(t, s)
			tokens := map[string]string{}
			for _, r := range isolationRoles {
				tokens[r] = s.Token(r)
			}
			ops := []*ast.Definition{schema.Query, schema.Mutation}
			covered := 0
			for _, root := range ops {
				fields := append(ast.FieldList{}, root.Fields...)
				sort.Slice(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
				for _, f := range fields {
					if strings.HasPrefix(f.Name, "__") {
						continue
					}
					var args []string
					for _, a := range f.Arguments {
						v, ok := w.argValue(f.Name, a, schema)
						if !ok {
							t.Fatalf("isolation test cannot target %s.%s(%s: %s): teach argValue about it", root.Name, f.Name, a.Name, a.Type)
						}
						if v != "" {
							args = append(args, a.Name+": "+v)
						}
					}
					op := strings.ToLower(root.Name)
					call := f.Name
					if len(args) > 0 {
						call += "(" + strings.Join(args, ", ") + ")"
					}
					q := fmt.Sprintf("%s { %s %s }", op, call, selection(schema, f.Type, 0))
					covered++
					for _, role := range isolationRoles {
						t.Run(root.Name+"."+f.Name+"/"+role, func(t *testing.T) {
							before := countRows(t, s)
							rsp := s.Do(testserver.Request{Token: tokens[role], Query: q})
							body := string(rsp.Body)
							for _, m := range w.markers {
								// What the request itself names may be echoed back.
								if strings.Contains(body, m) && !strings.Contains(q, m) {
									t.Fatalf("response leaks %q of the foreign world:\n%s\n%s", m, q, body)
								}
							}
							if root == schema.Mutation {
								code := rsp.Code()
								if code != "NOT_FOUND" && code != "FORBIDDEN" {
									t.Fatalf("mutation against the foreign world: code %q, want NOT_FOUND or FORBIDDEN:\n%s\n%s", code, q, body)
								}
								if after := countRows(t, s); after != before {
									t.Fatalf("rejected mutation changed the database:\n%s", q)
								}
							}
							if code := rsp.Code(); code == "INTERNAL" || code == "GRAPHQL_VALIDATION_FAILED" || code == "GRAPHQL_PARSE_FAILED" {
								t.Fatalf("operation did not run cleanly (%s):\n%s\n%s", code, q, body)
							}
						})
					}
				}
			}
			if covered < len(schema.Query.Fields)+len(schema.Mutation.Fields)-2 {
				t.Fatalf("covered %d operations only", covered)
			}
		})
	}
}
