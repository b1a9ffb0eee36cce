package ocissim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/dezky/platform/providers/ocis/ocissim"
	"github.com/dezky/platform/providers/simtest"
)

func do(t *testing.T, method, url, body string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

func TestWireContract(t *testing.T) {
	_, srv := simtest.NewOCIS(t, ocissim.Options{Token: "tok"})
	g := srv.URL + "/graph/v1.0"
	if st, m := do(t, "POST", g+"/drives", `{"name":"Mars","quota":{"total":1000},"bogus":1}`, nil); st != 400 || m["error"].(map[string]any)["message"] != "invalid body schema definition" {
		t.Fatalf("strict decode: %d %v", st, m)
	}
	st, m := do(t, "POST", g+"/drives/", `{"name":"Mars","quota":{"total":1000}}`, nil)
	if st != 201 || m["driveType"] != "project" {
		t.Fatalf("create: %d %v", st, m)
	}
	id := m["id"].(string)
	if st, _ := do(t, "DELETE", g+"/drives/"+id, "", map[string]string{"Purge": "true"}); st != 400 {
		t.Fatalf("purge enabled: %d", st)
	}
	if st, _ := do(t, "DELETE", g+"/drives/"+id, "", nil); st != 204 {
		t.Fatalf("disable: %d", st)
	}
	if st, m := do(t, "GET", g+"/drives/"+id, "", nil); st != 200 || m["root"].(map[string]any)["deleted"].(map[string]any)["state"] != "trashed" || len(m["quota"].(map[string]any)) != 1 {
		t.Fatalf("disabled: %d %v", st, m)
	}
	if st, m := do(t, "PATCH", g+"/drives/"+id, `{}`, map[string]string{"Restore": "T"}); st != 200 || m["root"].(map[string]any)["deleted"] != nil {
		t.Fatalf("restore: %d %v", st, m)
	}
	if st, m := do(t, "GET", g+"/drives?$filter=driveType+eq+'project'+and+name+eq+'x'", "", nil); st != 501 || m["error"].(map[string]any)["code"] != "notSupported" {
		t.Fatalf("filter: %d %v", st, m)
	}
	if st, _ := do(t, "GET", g+"/drives?$orderby=size", "", nil); st != 400 {
		t.Fatalf("orderby: %d", st)
	}
	if st, m := do(t, "POST", g+"/users", `{"onPremisesSamAccountName":"jane","displayName":"Jane"}`, nil); st != 200 || m["id"] == "" {
		t.Fatalf("user create must answer 200: %d %v", st, m)
	}
	if st, m := do(t, "POST", g+"/users", `{"onPremisesSamAccountName":"jane","displayName":"Jane"}`, nil); st != 409 || m["error"].(map[string]any)["code"] != "nameAlreadyExists" {
		t.Fatalf("dup: %d %v", st, m)
	}
	if st, m := do(t, "POST", g+"/users", `{"onPremisesSamAccountName":"x"}`, nil); st != 400 || m["error"].(map[string]any)["message"] != "missing required Attribute: 'displayName'" {
		t.Fatalf("missing displayName: %d %v", st, m)
	}
	req, _ := http.NewRequest("GET", g+"/drives", nil)
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("unauthenticated: %d", resp.StatusCode)
	}
}
