package graph_test

import (
	"context"
	"encoding/csv"
	"strconv"
	"time"

	"fmt"
	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/internal/viewer"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

func exportCSV(t *testing.T, s *testserver.Server, token string, params url.Values) (int, [][]string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/audit/export.csv?"+params.Encode(), nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	if rsp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, rsp.Body)
		return rsp.StatusCode, nil, rsp.Trailer
	}
	rows, err := csv.NewReader(rsp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rsp.StatusCode, rows, rsp.Trailer
}

func TestAuditExportCSV(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			// The start-up work is done: the seed's 13 events and the
			// daily payout run's payouts.generated.
			s.WaitProvisioned()
			// Events across several pages of the stream.
			for i := 0; i < 30; i++ {
				s.Query("operator", fmt.Sprintf(`mutation { updateTenant(slug: "globex", input: {seats: %d}) { id } }`, i+1), nil).Decode(t, &struct{}{})
			}
			s.Query("operator", `mutation { createTenant(input: {slug: "formula", name: "Formula"}) { id } }`, nil).Decode(t, &struct{}{})

			status, rows, trailer := exportCSV(t, s, s.Token("operator"), nil)
			if status != 200 || len(rows) != 1+14+31 || trailer.Get("X-Export-Complete") != "true" || trailer.Get("X-Export-Rows") != "45" {
				t.Fatalf("operator export: HTTP %d, %d rows, trailer %v", status, len(rows), trailer)
			}
			if rows[0][0] != "seq" || rows[1][2] != "tenant.created" {
				t.Fatalf("header %v, newest row %v", rows[0], rows[1])
			}
			// Same filters as the GraphQL query.
			_, rows, _ = exportCSV(t, s, s.Token("operator"), url.Values{"tenantSlug": {"globex"}, "actionPrefix": {"tenant.updated"}})
			if len(rows) != 31 {
				t.Fatalf("filtered export: %d rows, want 30 + header", len(rows))
			}
			// Authorized like the query: an acme admin sees acme only.
			_, rows, _ = exportCSV(t, s, s.Token("admin:acme"), nil)
			for _, r := range rows[1:] {
				if r[11] != "acme" {
					t.Fatalf("acme admin exported an event of %q", r[11])
				}
			}
			if len(rows) < 2 {
				t.Fatal("acme admin exported nothing")
			}
			// A stream longer than one batch: every row once, newest first.
			ctx := viewer.SystemContext(context.Background())
			tx, err := s.DB.Client.Tx(ctx)
			if err != nil {
				t.Fatal(err)
			}
			base := time.Now().UTC().Add(-time.Hour)
			bulk := make([]*ent.AuditEventCreate, 1200)
			for i := range bulk {
				// Pairs of events share a timestamp to exercise the id tie-break.
				bulk[i] = tx.AuditEvent.Create().SetAction("bulk.event").SetActorType("system").
					SetResourceID(strconv.Itoa(i)).SetAt(base.Add(time.Duration(i/2) * time.Millisecond))
			}
			tx.AuditEvent.CreateBulk(bulk...).ExecX(ctx)
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			_, rows, trailer = exportCSV(t, s, s.Token("operator"), url.Values{"actionPrefix": {"bulk."}})
			if len(rows) != 1201 || trailer.Get("X-Export-Complete") != "true" {
				t.Fatalf("bulk export: %d rows, trailer %v", len(rows)-1, trailer)
			}
			seen := map[string]bool{}
			for i, r := range rows[1:] {
				if seen[r[9]] {
					t.Fatalf("row for event %s exported twice", r[9])
				}
				seen[r[9]] = true
				if i > 0 && r[1] > rows[i][1] {
					t.Fatalf("not newest first at row %d: %s after %s", i, r[1], rows[i][1])
				}
			}
			if status, _, _ := exportCSV(t, s, "", nil); status != 401 {
				t.Fatalf("anonymous export: HTTP %d, want 401", status)
			}
			if status, _, _ := exportCSV(t, s, s.Token("operator"), url.Values{"since": {"yesterday"}}); status != 400 {
				t.Fatalf("bad since: HTTP %d, want 400", status)
			}
		})
	}
}
