package authentiksim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/dezky/platform/providers/authentik/authentiksim"
	"github.com/dezky/platform/providers/simtest"
)

func call(t *testing.T, method, url, tok, body string) (int, map[string]any, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", tok)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m, raw
}

func TestWireContract(t *testing.T) {
	_, srv := simtest.NewAuthentik(t, authentiksim.Options{Token: "tok"})
	api := srv.URL + "/api/v3/"
	if st, m, _ := call(t, "GET", api+"core/users/", "", ""); st != 403 || m["detail"] != "Authentication credentials were not provided." {
		t.Fatalf("no auth: %d %v", st, m)
	}
	if st, m, _ := call(t, "GET", api+"core/users/", "Basic abc", ""); st != 403 || m["detail"] != "Unsupported authentication type" {
		t.Fatalf("basic: %d %v", st, m)
	}
	auth := "Bearer tok"
	st, m, _ := call(t, "POST", api+"core/users/", auth, `{"username":"a","name":""}`)
	if st != 201 || m["pk"].(float64) != 2 {
		t.Fatalf("create: %d %v", st, m)
	}
	if st, m, _ := call(t, "POST", api+"core/users/", auth, `{"username":"a","name":"x"}`); st != 400 || m["username"].([]any)[0] != "This field must be unique." {
		t.Fatalf("dup: %d %v", st, m)
	}
	if st, _, raw := call(t, "POST", api+"core/users/2/set_password/", auth, `{"password":"pw"}`); st != 204 || len(raw) != 0 {
		t.Fatalf("set_password: %d %q", st, raw)
	}
	if st, m, _ := call(t, "POST", api+"core/users/2/recovery/", auth, ``); st != 400 || m["non_field_errors"] != "No recovery flow set." {
		t.Fatalf("recovery: %d %v", st, m)
	}
	if st, m, _ := call(t, "PATCH", api+"core/users/2/", auth, `{"attributes":{"a":1}}`); st != 200 || len(m["attributes"].(map[string]any)) != 1 {
		t.Fatalf("patch: %d %v", st, m)
	}
	if st, m, _ := call(t, "PATCH", api+"core/users/2/", auth, `{"attributes":{"b":2}}`); st != 200 || m["attributes"].(map[string]any)["a"] != nil {
		t.Fatalf("attributes must be replaced: %d %v", st, m)
	}
	st, m, _ = call(t, "GET", api+"core/users/?page_size=1&page=1", auth, "")
	pg := m["pagination"].(map[string]any)
	if st != 200 || pg["next"].(float64) != 2 || pg["previous"].(float64) != 0 || pg["total_pages"].(float64) != 2 {
		t.Fatalf("pagination: %d %v", st, pg)
	}
	if st, m, _ := call(t, "GET", api+"core/users/?page=9", auth, ""); st != 404 || m["detail"] != "Invalid page." {
		t.Fatalf("invalid page: %d %v", st, m)
	}
	if st, _, raw := call(t, "GET", api+"authenticators/admin/all/?user=2", auth, ""); st != 200 || strings.TrimSpace(string(raw)) != "[]" {
		t.Fatalf("devices: %d %s", st, raw)
	}
	if st, _, _ := call(t, "DELETE", api+"core/users/2/", auth, ""); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st, m, _ := call(t, "DELETE", api+"core/users/2/", auth, ""); st != 404 || m["detail"] != "Not found." {
		t.Fatalf("second delete: %d %v", st, m)
	}
	st, m, _ = call(t, "POST", api+"providers/oauth2/", auth, `{"name":"p","authorization_flow":"x","invalidation_flow":"y","redirect_uris":"https://a/cb"}`)
	if st != 400 {
		t.Fatalf("provider with bad flows: %d %v", st, m)
	}
}

func TestConcurrentCreatesAreSerialised(t *testing.T) {
	_, srv := simtest.NewAuthentik(t, authentiksim.Options{Token: "tok"})
	const n = 16
	codes := make(chan int, n)
	for range n {
		go func() {
			req, _ := http.NewRequest("POST", srv.URL+"/api/v3/core/users/", strings.NewReader(`{"username":"same","name":"x"}`))
			req.Header.Set("Authorization", "Bearer tok")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	created, rejected := 0, 0
	for range n {
		switch <-codes {
		case 201:
			created++
		case 400:
			rejected++
		}
	}
	if created != 1 || rejected != n-1 {
		t.Fatalf("created %d, rejected %d", created, rejected)
	}
}

// TestListFilters checks the list endpoints' ordering and query filters.
func TestListFilters(t *testing.T) {
	_, srv := simtest.NewAuthentik(t, authentiksim.Options{Token: "tok"})
	api, auth := srv.URL+"/api/v3/", "Bearer tok"
	for _, u := range []string{"carol", "alice", "bob"} {
		if st, m, _ := call(t, "POST", api+"core/users/", auth, `{"username":"`+u+`","name":"`+u+`"}`); st != 201 {
			t.Fatalf("create %s: %d %v", u, st, m)
		}
	}
	if st, m, _ := call(t, "POST", api+"core/groups/", auth, `{"name":"staff","users":[3]}`); st != 201 {
		t.Fatalf("create group: %d %v", st, m)
	}
	field := func(path, key string) string {
		t.Helper()
		st, m, _ := call(t, "GET", api+path, auth, "")
		if st != 200 {
			t.Fatalf("GET %s: %d %v", path, st, m)
		}
		var vals []string
		for _, r := range m["results"].([]any) {
			vals = append(vals, fmt.Sprint(r.(map[string]any)[key]))
		}
		return strings.Join(vals, ",")
	}
	for _, tc := range []struct{ path, key, want string }{
		{"core/users/", "username", "akadmin,carol,alice,bob"},
		{"core/users/?ordering=username", "username", "akadmin,alice,bob,carol"},
		{"core/users/?ordering=-pk", "username", "bob,alice,carol,akadmin"},
		{"core/users/?search=AL", "username", "alice"},
		{"core/users/?is_active=True&username=bob", "username", "bob"},
		{"core/users/?groups_by_name=staff", "username", "alice"},
		{"core/groups/", "name", "authentik Admins,staff"},
		{"core/groups/?is_superuser=FALSE", "name", "staff"},
		{"core/groups/?members_by_username=akadmin", "name", "authentik Admins"},
		{"core/groups/?members_by_username=nobody", "name", ""},
		{"core/brands/?default=true", "domain", "authentik-default"},
		{"core/brands/?default=false", "domain", ""},
		{"flows/instances/?slug=default-invalidation-flow", "slug", "default-invalidation-flow"},
	} {
		if got := field(tc.path, tc.key); got != tc.want {
			t.Errorf("GET %s: %s = %q, want %q", tc.path, tc.key, got, tc.want)
		}
	}
}
