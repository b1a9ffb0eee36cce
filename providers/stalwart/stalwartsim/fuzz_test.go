package stalwartsim_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dezky/platform/providers/stalwart/stalwartsim"
)

// FuzzJMAP feeds arbitrary request bodies to the JMAP endpoint: the simulator must
// answer with a JMAP response or a problem document, never panic or 5xx.
func FuzzJMAP(f *testing.F) {
	f.Add(`{"using":["urn:ietf:params:jmap:core","urn:stalwart:jmap"],"methodCalls":[["x:Domain/set",{"accountId":"b","create":{"d":{"name":"a.example"}}},"c0"],["x:Domain/get",{"accountId":"b","#ids":{"resultOf":"c0","name":"x:Domain/set","path":"/created/*/id"}},"c1"]]}`)
	f.Add(`{"using":["urn:stalwart:jmap"],"methodCalls":[["x:Account/set",{"accountId":"b","create":{"a":{"@type":"User","name":"x","domainId":"a","aliases":{"0":{"name":"y","domainId":"a"}}}}},"c0"]]}`)
	f.Add(`{"using":["urn:stalwart:jmap"],"methodCalls":[["x:Domain/query",{"accountId":"b","filter":{"name":1},"position":-5,"limit":-1},"c0"]]}`)
	f.Fuzz(func(t *testing.T, body string) {
		sim := stalwartsim.New(stalwartsim.Options{Token: "t"})
		req := httptest.NewRequest(http.MethodPost, "/jmap/", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer t")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.String())
		}
	})
}
