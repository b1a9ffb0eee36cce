package graph_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

// TestPayoutsAPI drives partner payouts through GraphQL on the demo data:
// the daily job has generated the current month at start (northwind earns
// its margin of acme's MRR), an operator's run changes nothing, partner staff see their own
// payouts and margins, other roles are refused, and a payout is paid once.
func TestPayoutsAPI(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			s.WaitProvisioned() // the daily payout job runs at start
			period := time.Now().UTC().Format("2006-01")
			var facts struct {
				Tenant  struct{ Mrr struct{ Amount int64 } }
				Partner struct {
					MarginPct int
					Margins   []struct {
						Pct           int
						EffectiveFrom string
					}
				}
			}
			s.Query("operator", `{ tenant(slug: "acme") { mrr { amount } } partner(slug: "northwind") { marginPct margins { pct effectiveFrom } } }`, nil).Decode(t, &facts)
			mrr, pct := facts.Tenant.Mrr.Amount, facts.Partner.MarginPct
			if mrr <= 0 || len(facts.Partner.Margins) != 1 || facts.Partner.Margins[0].Pct != pct {
				t.Fatalf("demo facts: %+v", facts)
			}
			want := (mrr*int64(pct)*100 + 5000) / 10000 // half up

			const gen = `mutation($p: String!) { generatePayouts(period: $p) { period created updated adjustments payouts { id partner { slug } period forPeriod kind grossMrr { amount currency } marginPct amount { amount currency } tenants status } } }`
			type payoutRow struct {
				ID                string
				Partner           struct{ Slug string }
				Period, ForPeriod string
				Kind, Status      string
				GrossMrr, Amount  struct {
					Amount   int64
					Currency string
				}
				MarginPct, Tenants int
			}
			var run struct {
				GeneratePayouts struct {
					Period                        string
					Created, Updated, Adjustments int
					Payouts                       []payoutRow
				}
			}
			s.Query("operator", gen, map[string]any{"p": period}).Decode(t, &run)
			g := run.GeneratePayouts
			if g.Created+g.Updated+g.Adjustments != 0 || len(g.Payouts) != 1 {
				t.Fatalf("generate: %+v", g)
			}
			p := g.Payouts[0]
			if p.Partner.Slug != "northwind" || p.Period != period || p.ForPeriod != period || p.Kind != "REGULAR" || p.Status != "PENDING" ||
				p.GrossMrr.Amount != mrr || p.GrossMrr.Currency != "EUR" || p.MarginPct != pct || p.Amount.Amount != want || p.Tenants != 1 {
				t.Fatalf("payout %+v, want %d × %d%% = %d", p, mrr, pct, want)
			}
			s.Query("operator", gen, map[string]any{"p": period}).Decode(t, &run)
			if g := run.GeneratePayouts; g.Created+g.Updated+g.Adjustments != 0 || len(g.Payouts) != 1 || g.Payouts[0].ID != p.ID {
				t.Fatalf("second run: %+v", g)
			}

			// Refusals.
			for as, code := range map[string]string{"partner:northwind": "FORBIDDEN", "admin:acme": "FORBIDDEN"} {
				if rsp := s.Query(as, gen, map[string]any{"p": period}); rsp.Code() != code {
					t.Errorf("%s generating: %s", as, rsp.Body)
				}
			}
			next := time.Now().UTC().AddDate(0, 1, 0).Format("2006-01")
			if rsp := s.Query("operator", gen, map[string]any{"p": next}); rsp.Code() != "BAD_USER_INPUT" {
				t.Errorf("generating next month: %s", rsp.Body)
			}
			if rsp := s.Query("admin:acme", `{ payouts { id } }`, nil); rsp.Code() != "FORBIDDEN" {
				t.Errorf("a tenant admin listing payouts: %s", rsp.Body)
			}
			if rsp := s.Query("admin:acme", `{ partner(slug: "northwind") { margins { pct } } }`, nil); len(rsp.Errors) == 0 {
				t.Errorf("a tenant admin reading margins: %s", rsp.Body)
			}

			// Partner staff see their own payouts and margins.
			var mine struct {
				Payouts []payoutRow
				Partner struct{ Margins []struct{ Pct int } }
			}
			s.Query("partner:northwind", fmt.Sprintf(`{ payouts(where: {period: %q, status: PENDING}) { id amount { amount } } partner(slug: "northwind") { margins { pct } } }`, period), nil).Decode(t, &mine)
			if len(mine.Payouts) != 1 || mine.Payouts[0].ID != p.ID || len(mine.Partner.Margins) != 1 {
				t.Fatalf("partner staff see %+v", mine)
			}

			const pay = `mutation($id: ID!) { markPayoutPaid(id: $id, reference: "SEPA-0001") { status reference paidAt } }`
			if rsp := s.Query("partner:northwind", pay, map[string]any{"id": p.ID}); rsp.Code() != "FORBIDDEN" {
				t.Errorf("partner staff marking paid: %s", rsp.Body)
			}
			var paid struct {
				MarkPayoutPaid struct {
					Status, Reference string
					PaidAt            *string
				}
			}
			s.Query("operator", pay, map[string]any{"id": p.ID}).Decode(t, &paid)
			if paid.MarkPayoutPaid.Status != "PAID" || paid.MarkPayoutPaid.Reference != "SEPA-0001" || paid.MarkPayoutPaid.PaidAt == nil {
				t.Fatalf("paid: %+v", paid)
			}
			if rsp := s.Query("operator", pay, map[string]any{"id": p.ID}); rsp.Code() != "CONFLICT" {
				t.Errorf("paying twice: %s", rsp.Body)
			}
			if rsp := s.Do(testserver.Request{Token: s.Token("operator"), Query: `{ payouts(where: {period: "2026-1"}) { id } }`}); rsp.Code() != "BAD_USER_INPUT" {
				t.Errorf("a malformed period filter: %s", rsp.Body)
			}
		})
	}
}

// TestReportsAPI: the reports through GraphQL and CSV on the demo data:
// the platform's MRR this month is acme's plus globex's, northwind's is
// acme's; partner staff read their own report only; the CSV needs a
// token; saved reports are the viewer's.
func TestReportsAPI(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			month := time.Now().UTC().Format("2006-01")
			var mrr struct {
				Acme   struct{ Mrr struct{ Amount int64 } }
				Globex struct{ Mrr struct{ Amount int64 } }
			}
			s.Query("operator", `{ acme: tenant(slug: "acme") { mrr { amount } } globex: tenant(slug: "globex") { mrr { amount } } }`, nil).Decode(t, &mrr)
			total := mrr.Acme.Mrr.Amount + mrr.Globex.Mrr.Amount
			const platformQ = `query($m: String!) { platformReport(from: $m, to: $m) { mrrByMonth { month amounts { amount currency } } revenueByPlan { plan amount { amount } } topTenants { slug amount { amount } } signupsAndChurn { month signups churned } } }`
			var pr struct {
				PlatformReport struct {
					MrrByMonth []struct {
						Month   string
						Amounts []struct {
							Amount   int64
							Currency string
						}
					}
					TopTenants []struct{ Slug string }
				}
			}
			s.Query("operator", platformQ, map[string]any{"m": month}).Decode(t, &pr)
			if m := pr.PlatformReport.MrrByMonth; len(m) != 1 || len(m[0].Amounts) != 1 || m[0].Amounts[0].Amount != total || m[0].Amounts[0].Currency != "EUR" {
				t.Fatalf("platform MRR %+v, want %d EUR", m, total)
			}
			if rsp := s.Query("partner:northwind", platformQ, map[string]any{"m": month}); rsp.Code() != "FORBIDDEN" {
				t.Fatalf("partner staff reading the platform report: %s", rsp.Body)
			}
			const partnerQ = `query($m: String!) { partnerReport(partnerSlug: "northwind", from: $m, to: $m) { partner { slug } mrrByMonth { amounts { amount } } topCustomers { slug } healthCohorts { state tenants } } }`
			var pp struct {
				PartnerReport struct {
					MrrByMonth   []struct{ Amounts []struct{ Amount int64 } }
					TopCustomers []struct{ Slug string }
				}
			}
			s.Query("partner:northwind", partnerQ, map[string]any{"m": month}).Decode(t, &pp)
			if m := pp.PartnerReport.MrrByMonth; len(m) != 1 || len(m[0].Amounts) != 1 || m[0].Amounts[0].Amount != mrr.Acme.Mrr.Amount ||
				len(pp.PartnerReport.TopCustomers) != 1 || pp.PartnerReport.TopCustomers[0].Slug != "acme" {
				t.Fatalf("northwind's report %+v", pp)
			}
			if rsp := s.Query("admin:acme", partnerQ, map[string]any{"m": month}); len(rsp.Errors) == 0 {
				t.Fatalf("a tenant admin read the partner report: %s", rsp.Body)
			}

			get := func(token, path string) (int, string) {
				req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				rsp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer rsp.Body.Close()
				b, _ := io.ReadAll(rsp.Body)
				return rsp.StatusCode, string(b)
			}
			path := "/reports/platform.csv?from=" + month + "&to=" + month
			code, body := get(s.Token("operator"), path)
			if code != http.StatusOK || !strings.Contains(body, fmt.Sprintf("mrr,%s,,,,EUR,%d,,,\n", month, total)) {
				t.Fatalf("platform CSV: %d\n%s", code, body)
			}
			if code, _ := get("", path); code != http.StatusUnauthorized {
				t.Fatalf("CSV without a token: %d", code)
			}
			if code, _ := get(s.Token("partner:northwind"), path); code != http.StatusForbidden {
				t.Fatalf("platform CSV for partner staff: %d", code)
			}
			if code, _ := get(s.Token("operator"), "/reports/platform.csv?from=2026-13&to="+month); code != http.StatusBadRequest {
				t.Fatalf("CSV with a bad month: %d", code)
			}

			const save = `mutation($m: String!) { createSavedReport(input: {name: "This month", kind: PARTNER, params: {from: $m, to: $m, partnerSlug: "northwind"}}) { id name kind params { from to partnerSlug } } }`
			var saved struct {
				CreateSavedReport struct {
					ID, Name, Kind string
					Params         struct{ From, To, PartnerSlug string }
				}
			}
			s.Query("partner:northwind", save, map[string]any{"m": month}).Decode(t, &saved)
			if saved.CreateSavedReport.Params.PartnerSlug != "northwind" || saved.CreateSavedReport.Kind != "PARTNER" {
				t.Fatalf("saved %+v", saved)
			}
			var list struct{ SavedReports []struct{ ID string } }
			s.Query("operator", `{ savedReports { id } }`, nil).Decode(t, &list)
			if len(list.SavedReports) != 0 {
				t.Fatalf("the operator sees another user's saved reports: %+v", list)
			}
			s.Query("partner:northwind", `{ savedReports { id } }`, nil).Decode(t, &list)
			if len(list.SavedReports) != 1 {
				t.Fatalf("saved reports: %+v", list)
			}
			if rsp := s.Query("operator", `mutation($id: ID!) { deleteSavedReport(id: $id) { id } }`, map[string]any{"id": saved.CreateSavedReport.ID}); rsp.Code() != "NOT_FOUND" {
				t.Fatalf("deleting another user's saved report: %s", rsp.Body)
			}
		})
	}
}
