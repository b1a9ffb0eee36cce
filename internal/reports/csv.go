package reports

import (
	"encoding/csv"
	"net/http"
	"strconv"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/argcheck"
	"github.com/dezky/platform/internal/viewer"
)

// csvHeader is the column row of a report's CSV.
var csvHeader = []string{"section", "month", "plan", "tenant", "state", "currency", "amount", "signups", "churned", "tenants"}

// CSVHandler serves GET /reports/{kind}.csv (platform.csv, partner.csv)
// for the authenticated viewer, with the report's parameters as query
// parameters (from, to, and partnerSlug for a partner report) and the
// same rules as the GraphQL queries. Rows are written and flushed section
// by section: mrr (per month and currency), revenue_by_plan,
// top_tenants, cohorts (signups and churn per month) and, for a partner,
// health. Errors before the first row answer JSON with the error code.
func (s *Service) CSVHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if viewer.FromContext(ctx) == nil {
			writeError(w, apperr.New(apperr.Unauthenticated, "authentication required: send an OIDC bearer token"))
			return
		}
		q := r.URL.Query()
		for name, vs := range q {
			if err := argcheck.Value(name, vs); err != nil {
				writeError(w, err)
				return
			}
		}
		var rep *Report
		var err error
		switch r.PathValue("file") {
		case "platform.csv":
			rep, err = s.Platform(ctx, q.Get("from"), q.Get("to"))
		case "partner.csv":
			rep, err = s.Partner(ctx, q.Get("partnerSlug"), q.Get("from"), q.Get("to"))
		default:
			writeError(w, apperr.NotFoundf("no report %q: platform.csv or partner.csv", r.PathValue("file")))
			return
		}
		if err != nil {
			writeError(w, err)
			return
		}
		name := "platform"
		if rep.Partner != nil {
			name = "partner-" + rep.Partner.Slug
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+"-"+rep.From+"-"+rep.To+`.csv"`)
		cw := csv.NewWriter(w)
		flusher, _ := w.(http.Flusher)
		flush := func() {
			cw.Flush()
			if flusher != nil {
				flusher.Flush()
			}
		}
		amount := func(a int64) string { return strconv.FormatInt(a, 10) }
		cw.Write(csvHeader)
		for _, m := range rep.MRRByMonth {
			for _, a := range m.Amounts {
				cw.Write([]string{"mrr", m.Month, "", "", "", a.Currency, amount(a.Amount), "", "", ""})
			}
		}
		flush()
		for _, p := range rep.RevenueByPlan {
			cw.Write([]string{"revenue_by_plan", "", string(p.Plan), "", "", p.Amount.Currency, amount(p.Amount.Amount), "", "", ""})
		}
		flush()
		for _, t := range rep.TopTenants {
			cw.Write([]string{"top_tenants", "", "", t.Slug, "", t.Amount.Currency, amount(t.Amount.Amount), "", "", ""})
		}
		flush()
		for _, c := range rep.Cohorts {
			cw.Write([]string{"cohorts", c.Month, "", "", "", "", "", strconv.Itoa(c.Signups), strconv.Itoa(c.Churned), ""})
		}
		flush()
		for _, h := range rep.Health {
			cw.Write([]string{"health", "", "", "", h.State, "", "", "", "", strconv.Itoa(h.Tenants)})
		}
		flush()
	})
}

// writeError answers err as JSON (apperr.WriteJSON); a row that does not
// exist is NOT_FOUND.
func writeError(w http.ResponseWriter, err error) {
	if ent.IsNotFound(err) {
		err = apperr.NotFoundf("not found")
	}
	apperr.WriteJSON(w, err)
}
