package reports_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/provisioningstate"
	"github.com/dezky/platform/ent/savedreport"
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/reports"
	"github.com/dezky/platform/internal/testing/moneyfixture"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

var sys = viewer.SystemContext(context.Background())

func eur(a int64) schematype.Money { return schematype.Money{Amount: a, Currency: "EUR"} }
func usd(a int64) schematype.Money { return schematype.Money{Amount: a, Currency: "USD"} }

func as(v *viewer.Viewer) context.Context { return viewer.NewContext(context.Background(), v) }

func setup(t *testing.T, d *db.DB) (*moneyfixture.Fixture, *reports.Service) {
	t.Helper()
	f := moneyfixture.Build(t, d)
	// Provisioning now: alpha done, bravo failing, charlie pending,
	// foxtrot never provisioned.
	for slug, states := range map[string][]provisioningstate.Status{
		"alpha":   {provisioningstate.StatusOk, provisioningstate.StatusSkipped},
		"bravo":   {provisioningstate.StatusOk, provisioningstate.StatusError},
		"charlie": {provisioningstate.StatusPending, provisioningstate.StatusOk},
	} {
		for i, st := range states {
			d.Client.ProvisioningState.Create().SetTenantID(f.Tenants[slug].ID).
				SetIntegration([]provisioningstate.Integration{provisioningstate.IntegrationIdentity, provisioningstate.IntegrationBilling}[i]).
				SetStatus(st).ExecX(sys)
		}
	}
	s := reports.New(d.Client)
	s.SetClock(func() time.Time { return moneyfixture.Clock })
	return f, s
}

// TestReportsMatchHandComputedFigures: every figure of the platform report
// and of P1's report over January to March 2026, computed by hand from
// package moneyfixture's data.
//
// Month closes: January 2026-02-01, February 2026-03-01, March (current)
// the clock, 2026-03-15 12:00.
//
//	MRR (EUR)      Jan: alpha 120 + bravo 50 + delta 24 + echo 10 = 204.00
//	               Feb: alpha 180 + delta 24 + echo 10 = 214.00 (bravo canceled)
//	               Mar: alpha 180 + echo 10 = 190.00 (delta paused)
//	MRR (USD)      Feb, Mar: charlie 45.00 (past due still counts)
//	by plan        BUSINESS EUR 204 + 214 + 190 - 3 × 10 = 578.00; STARTER EUR 30.00; BUSINESS USD 90.00
//	top tenants    EUR alpha 120+180+180 = 480.00, bravo 50.00, delta 48.00, echo 30.00; USD charlie 90.00
//	signups        Jan 4 (alpha bravo delta echo), Feb 1 (charlie), Mar 1 (foxtrot)
//	churn          Jan 0, Feb 1 (bravo), Mar 1 (delta)
//
// P1 (alpha, bravo, charlie, foxtrot): MRR EUR 170 / 180 / 180, USD – /
// 45 / 45; BUSINESS EUR 530.00, USD 90.00; top EUR alpha 480.00, bravo
// 50.00, USD charlie 90.00; signups 2 / 1 / 1; churn 0 / 1 / 0; health
// one tenant each HEALTHY, PROVISIONING, FAILING, UNPROVISIONED.
func TestReportsMatchHandComputedFigures(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		f, s := setup(t, d)
		operator := as(&viewer.Viewer{Subject: "op", Operator: true})
		rep, err := s.Platform(operator, "2026-01", "2026-03")
		if err != nil {
			t.Fatal(err)
		}
		want := []reports.MonthMoney{
			{Month: "2026-01", Amounts: []schematype.Money{eur(20400)}},
			{Month: "2026-02", Amounts: []schematype.Money{eur(21400), usd(4500)}},
			{Month: "2026-03", Amounts: []schematype.Money{eur(19000), usd(4500)}},
		}
		check(t, "platform MRR", rep.MRRByMonth, want)
		check(t, "platform revenue by plan", rep.RevenueByPlan, []reports.PlanRevenue{
			{Plan: tenant.PlanStarter, Amount: eur(3000)},
			{Plan: tenant.PlanBusiness, Amount: eur(57800)},
			{Plan: tenant.PlanBusiness, Amount: usd(9000)},
		})
		check(t, "platform top tenants", slugs(rep.TopTenants), []string{"alpha EUR 48000", "bravo EUR 5000", "delta EUR 4800", "echo EUR 3000", "charlie USD 9000"})
		check(t, "platform cohorts", rep.Cohorts, []reports.MonthCount{
			{Month: "2026-01", Signups: 4}, {Month: "2026-02", Signups: 1, Churned: 1}, {Month: "2026-03", Signups: 1, Churned: 1},
		})
		if rep.Health != nil {
			t.Fatalf("platform report with health cohorts: %+v", rep.Health)
		}

		staff := as(&viewer.Viewer{Subject: "s1", PartnerID: f.P1.ID})
		p1, err := s.Partner(staff, "northwind", "2026-01", "2026-03")
		if err != nil {
			t.Fatal(err)
		}
		check(t, "P1 MRR", p1.MRRByMonth, []reports.MonthMoney{
			{Month: "2026-01", Amounts: []schematype.Money{eur(17000)}},
			{Month: "2026-02", Amounts: []schematype.Money{eur(18000), usd(4500)}},
			{Month: "2026-03", Amounts: []schematype.Money{eur(18000), usd(4500)}},
		})
		check(t, "P1 revenue by plan", p1.RevenueByPlan, []reports.PlanRevenue{{Plan: tenant.PlanBusiness, Amount: eur(53000)}, {Plan: tenant.PlanBusiness, Amount: usd(9000)}})
		check(t, "P1 top customers", slugs(p1.TopTenants), []string{"alpha EUR 48000", "bravo EUR 5000", "charlie USD 9000"})
		check(t, "P1 cohorts", p1.Cohorts, []reports.MonthCount{
			{Month: "2026-01", Signups: 2}, {Month: "2026-02", Signups: 1, Churned: 1}, {Month: "2026-03", Signups: 1},
		})
		check(t, "P1 health", p1.Health, []reports.HealthCohort{
			{State: reports.HealthHealthy, Tenants: 1}, {State: reports.HealthProvisioning, Tenants: 1},
			{State: reports.HealthFailing, Tenants: 1}, {State: reports.HealthUnprovisioned, Tenants: 1},
		})

		// Refusals; another partner does not exist for partner staff.
		p2staff := as(&viewer.Viewer{Subject: "s2", PartnerID: f.P2.ID})
		for _, c := range []struct {
			name string
			err  error
			code apperr.Code
		}{
			{"staff reading the platform", second(s.Platform(staff, "2026-01", "2026-03")), apperr.Forbidden},
			{"P2 reading P1", second(s.Partner(p2staff, "northwind", "2026-01", "2026-03")), apperr.NotFound},
			{"to before from", second(s.Platform(operator, "2026-03", "2026-01")), apperr.BadUserInput},
			{"a future month", second(s.Platform(operator, "2026-01", "2026-04")), apperr.BadUserInput},
			{"too long a range", second(s.Platform(operator, "2023-01", "2026-03")), apperr.BadUserInput},
			{"not a month", second(s.Platform(operator, "2026-1", "2026-03")), apperr.BadUserInput},
		} {
			if code(c.err) != c.code {
				t.Errorf("%s: %v, want %s", c.name, c.err, c.code)
			}
		}

		// The CSV carries the same figures.
		rec := httptest.NewRecorder()
		req := httptest.NewRequestWithContext(staff, http.MethodGet, "/reports/partner.csv?partnerSlug=northwind&from=2026-01&to=2026-03", nil)
		req.SetPathValue("file", "partner.csv")
		s.CSVHandler().ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		for _, line := range []string{
			"section,month,plan,tenant,state,currency,amount,signups,churned,tenants",
			"mrr,2026-01,,,,EUR,17000,,,", "mrr,2026-02,,,,USD,4500,,,",
			"revenue_by_plan,,BUSINESS,,,EUR,53000,,,", "top_tenants,,,alpha,,EUR,48000,,,",
			"cohorts,2026-02,,,,,,1,1,", "health,,,,FAILING,,,,,1",
		} {
			if !strings.Contains(string(body), line+"\n") {
				t.Errorf("CSV lacks %q:\n%s", line, body)
			}
		}
		rec = httptest.NewRecorder()
		req = httptest.NewRequestWithContext(p2staff, http.MethodGet, "/reports/partner.csv?partnerSlug=northwind&from=2026-01&to=2026-03", nil)
		req.SetPathValue("file", "partner.csv")
		s.CSVHandler().ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "NOT_FOUND") {
			t.Errorf("P2 staff downloading P1's CSV: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestSavedReports: saved reports belong to their user; names are
// unique per user; a report the user may not run cannot be saved.
func TestSavedReports(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		f, s := setup(t, d)
		opUser := d.Client.User.Create().SetSubject("op").SetEmail("op@dezky.example").SaveX(sys)
		staffUser := d.Client.User.Create().SetSubject("s1").SetEmail("s1@northwind.example").SetPartnerID(f.P1.ID).SaveX(sys)
		operator := as(&viewer.Viewer{Subject: "op", UserID: opUser.ID, Operator: true})
		staff := as(&viewer.Viewer{Subject: "s1", UserID: staffUser.ID, PartnerID: f.P1.ID})
		nw := "northwind"
		sw := "southwind"
		in := reports.SavedInput{Name: "Q1", Kind: savedreport.KindPartner, Params: reports.Params{From: "2026-01", To: "2026-03", PartnerSlug: &nw}}
		saved, err := s.CreateSaved(staff, in)
		if err != nil || saved.PartnerSlug != "northwind" || saved.UserID != staffUser.ID {
			t.Fatalf("save: %+v, %v", saved, err)
		}
		if _, err := s.CreateSaved(staff, in); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("the same name twice: %v", err)
		}
		// The operator may use the same name: names are per user.
		if _, err := s.CreateSaved(operator, reports.SavedInput{Name: "Q1", Kind: savedreport.KindPlatform, Params: reports.Params{From: "2026-01", To: "2026-03"}}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			in   reports.SavedInput
			code apperr.Code
		}{
			{reports.SavedInput{Name: "P", Kind: savedreport.KindPlatform, Params: reports.Params{From: "2026-01", To: "2026-03"}}, apperr.Forbidden},
			{reports.SavedInput{Name: "S", Kind: savedreport.KindPartner, Params: reports.Params{From: "2026-01", To: "2026-03", PartnerSlug: &sw}}, apperr.NotFound},
			{reports.SavedInput{Name: "N", Kind: savedreport.KindPartner, Params: reports.Params{From: "2026-01", To: "2026-03"}}, apperr.BadUserInput},
			{reports.SavedInput{Name: " ", Kind: savedreport.KindPartner, Params: reports.Params{From: "2026-01", To: "2026-03", PartnerSlug: &nw}}, apperr.BadUserInput},
			{reports.SavedInput{Name: "F", Kind: savedreport.KindPartner, Params: reports.Params{From: "2026-01", To: "2027-03", PartnerSlug: &nw}}, apperr.BadUserInput},
		} {
			if _, err := s.CreateSaved(staff, c.in); code(err) != c.code {
				t.Errorf("save %+v: %v, want %s", c.in, err, c.code)
			}
		}
		mine, err := s.Saved(staff)
		if err != nil || len(mine) != 1 || mine[0].ID != saved.ID {
			t.Fatalf("staff's saved reports: %+v, %v", mine, err)
		}
		theirs, _ := s.Saved(operator)
		if len(theirs) != 1 || theirs[0].Kind != savedreport.KindPlatform {
			t.Fatalf("operator's saved reports: %+v", theirs)
		}
		if _, err := s.DeleteSaved(operator, saved.ID); code(err) != apperr.NotFound {
			t.Fatalf("deleting another user's saved report: %v", err)
		}
		if _, err := s.DeleteSaved(staff, saved.ID); err != nil {
			t.Fatal(err)
		}
		if mine, _ := s.Saved(staff); len(mine) != 0 {
			t.Fatalf("after delete: %+v", mine)
		}
	})
}

// code is err's code as the API boundary reports it (a missing row is
// NOT_FOUND).
func code(err error) apperr.Code {
	if ent.IsNotFound(err) {
		return apperr.NotFound
	}
	return apperr.CodeOf(err)
}

func second[T any](_ T, err error) error { return err }

func slugs(ts []reports.TenantRevenue) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Slug + " " + t.Amount.Currency + " " + strconv.FormatInt(t.Amount.Amount, 10)
	}
	return out
}

func check[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}
