package stalwartsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/dezky/platform/providers/simtest"
	"github.com/dezky/platform/providers/stalwart/stalwartsim"
)

func post(t *testing.T, url, auth, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, resp.Header, m
}

func TestWireContract(t *testing.T) {
	_, srv := simtest.NewStalwart(t, stalwartsim.Options{Token: "tok"})
	st, h, m := post(t, srv.URL+"/jmap/", "", `{}`)
	if st != 401 || len(h.Values("WWW-Authenticate")) != 2 || h.Get("Content-Type") != "application/problem+json" || m["status"].(float64) != 401 {
		t.Fatalf("unauth: %d %v %v", st, h, m)
	}
	if st, _, _ := post(t, srv.URL+"/api/principal", "Bearer tok", `{"type":"domain","name":"x.example"}`); st != 404 {
		t.Fatalf("REST management must be gone in 0.16: %d", st)
	}
	if st, _, m := post(t, srv.URL+"/jmap/", "Bearer tok", `nope`); st != 400 || m["type"] != "urn:ietf:params:jmap:error:notJSON" {
		t.Fatalf("notJSON: %d %v", st, m)
	}
	if st, _, m := post(t, srv.URL+"/jmap/", "Bearer tok", `{"using":["urn:x"],"methodCalls":[]}`); st != 400 || m["type"] != "urn:ietf:params:jmap:error:unknownCapability" {
		t.Fatalf("unknownCapability: %d %v", st, m)
	}
	body := `{"using":["urn:ietf:params:jmap:core","urn:stalwart:jmap"],"methodCalls":[
		["x:Domain/set",{"accountId":"b","create":{"d":{"name":"a.example"}}},"c0"],
		["x:Domain/query",{"accountId":"b","filter":{"name":"a.example"}},"c1"],
		["x:Domain/get",{"accountId":"b","#ids":{"resultOf":"c1","name":"x:Domain/query","path":"/ids"},"properties":["name"]},"c2"],
		["x:Account/set",{"accountId":"b","create":{"a":{"@type":"User","name":"x","domainId":"zz"}}},"c3"],
		["x:Nope/get",{"accountId":"b"},"c4"],
		["x:Domain/get",{"accountId":"other"},"c5"]]}`
	st, _, m = post(t, srv.URL+"/jmap", "Bearer tok", body)
	if st != 200 {
		t.Fatalf("status %d", st)
	}
	rs := m["methodResponses"].([]any)
	get := rs[2].([]any)[1].(map[string]any)["list"].([]any)
	if len(get) != 1 || get[0].(map[string]any)["name"] != "a.example" || get[0].(map[string]any)["dnsZoneFile"] != nil {
		t.Fatalf("back-reference get: %v", rs[2])
	}
	nc := rs[3].([]any)[1].(map[string]any)["notCreated"].(map[string]any)["a"].(map[string]any)
	if nc["type"] != "invalidForeignKey" {
		t.Fatalf("foreign key: %v", nc)
	}
	if rs[4].([]any)[0] != "error" || rs[4].([]any)[1].(map[string]any)["type"] != "unknownMethod" {
		t.Fatalf("unknown method: %v", rs[4])
	}
	if rs[5].([]any)[1].(map[string]any)["type"] != "accountNotFound" {
		t.Fatalf("account: %v", rs[5])
	}
}
