package ocissim_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/dezky/platform/providers/ocis/ocissim"
)

// FuzzRequests sends arbitrary bodies and filters: the simulator must answer
// with a documented status, never panic.
func FuzzRequests(f *testing.F) {
	f.Add(`{"name":"Mars","quota":{"total":-1}}`, "driveType eq 'project'")
	f.Add(`{"onPremisesSamAccountName":"a","displayName":"b","mail":"x"}`, "id ne 'x'")
	f.Fuzz(func(t *testing.T, body, filter string) {
		sim, err := ocissim.New(ocissim.Options{Token: "t"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []*http.Request{
			httptest.NewRequest(http.MethodPost, "/graph/v1.0/drives", strings.NewReader(body)),
			httptest.NewRequest(http.MethodPost, "/graph/v1.0/users", strings.NewReader(body)),
			httptest.NewRequest(http.MethodGet, "/graph/v1.0/drives?$filter="+url.QueryEscape(filter)+"&$orderby="+url.QueryEscape(filter), nil),
		} {
			r.Header.Set("Authorization", "Bearer t")
			rec := httptest.NewRecorder()
			sim.ServeHTTP(rec, r)
			if rec.Code >= 500 && rec.Code != http.StatusNotImplemented {
				t.Fatalf("%s %s: status %d", r.Method, r.URL, rec.Code)
			}
		}
	})
}
