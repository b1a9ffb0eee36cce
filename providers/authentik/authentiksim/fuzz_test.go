package authentiksim_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dezky/platform/providers/authentik/authentiksim"
)

// FuzzRequests sends arbitrary bodies to the writable endpoints: the simulator
// must answer 2xx/4xx, never panic or 5xx.
func FuzzRequests(f *testing.F) {
	f.Add(0, `{"username":"a","name":"b","groups":["x"],"attributes":{"k":[1]}}`)
	f.Add(1, `{"name":"g","parents":["nope"],"users":[1,2]}`)
	f.Add(2, `{"name":"p","authorization_flow":"x","invalidation_flow":"y","redirect_uris":[{"matching_mode":"strict","url":"u"}]}`)
	f.Add(3, `{"target":"x","order":0,"group":"g","user":1}`)
	f.Add(4, `{"password":""}`)
	paths := []string{"/api/v3/core/users/", "/api/v3/core/groups/", "/api/v3/providers/oauth2/", "/api/v3/policies/bindings/",
		"/api/v3/core/users/1/set_password/", "/api/v3/core/users/1/recovery/", "/api/v3/flows/instances/", "/api/v3/flows/bindings/",
		"/api/v3/core/applications/"}
	f.Fuzz(func(t *testing.T, which int, body string) {
		sim := authentiksim.New(authentiksim.Options{Token: "t"})
		p := paths[(which%len(paths)+len(paths))%len(paths)]
		req := httptest.NewRequest(http.MethodPost, p, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer t")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %s %q", rec.Code, p, body)
		}
		patch := httptest.NewRequest(http.MethodPatch, "/api/v3/core/users/1/", strings.NewReader(body))
		patch.Header.Set("Authorization", "Bearer t")
		rec = httptest.NewRecorder()
		sim.ServeHTTP(rec, patch)
		if rec.Code >= 500 {
			t.Fatalf("patch status %d for %q", rec.Code, body)
		}
	})
}
