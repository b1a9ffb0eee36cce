package authentikapi_test

import (
	"testing"

	authentikapi "github.com/dezky/platform/providers/authentik/client"
)

func FuzzParsePage(f *testing.F) {
	f.Add([]byte(`{"pagination":{"next":2,"previous":0,"count":150,"current":1,"total_pages":2,"start_index":1,"end_index":100},"results":[{"pk":1,"username":"a"}],"autocomplete":{}}`))
	f.Add([]byte(`{"pagination":{"next":0,"previous":0,"count":0,"current":1,"total_pages":1},"results":[]}`))
	f.Add([]byte(`{"results":null}`))
	f.Add([]byte(`{"pagination":{"next":"http://x/?page=2"},"results":[]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := authentikapi.ParsePage[authentikapi.User](b)
		if err != nil {
			return
		}
		if p.Pagination.Next < 0 || p.Pagination.Previous < 0 {
			t.Fatalf("negative page accepted: %+v", p.Pagination)
		}
		if p.Pagination.Next != 0 && p.Pagination.Current != 0 && p.Pagination.Next <= p.Pagination.Current {
			t.Fatalf("non-advancing next accepted: %+v", p.Pagination)
		}
	})
}

func FuzzValidationErrors(f *testing.F) {
	f.Add([]byte(`{"non_field_errors":"No recovery flow set."}`))
	f.Add([]byte(`{"username":["This field must be unique."]}`))
	f.Add([]byte(`{"redirect_uris":[{"url":["This field is required."]}]}`))
	f.Add([]byte(`{"detail":"Not found."}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := authentikapi.ValidationErrors(b)
		if err != nil {
			return
		}
		for k, v := range m {
			if v == nil {
				t.Fatalf("nil messages for %q", k)
			}
		}
	})
}

func FuzzMergeAttributes(f *testing.F) {
	f.Add("a", "b", "c", true)
	f.Fuzz(func(t *testing.T, k1, v1, k2 string, del bool) {
		k1, k2 = "k1:"+k1, "k2:"+k2
		cur := map[string]any{k1: v1, "nested": map[string]any{"x": 1}}
		patch := map[string]any{k2: "new", "nested": map[string]any{"y": 2}}
		if del {
			patch[k1] = nil
		}
		out := authentikapi.MergeAttributes(cur, patch)
		if out[k2] != "new" {
			t.Fatalf("patched key missing: %+v", out)
		}
		if _, ok := out[k1]; ok == del {
			t.Fatalf("key %q presence wrong (del=%v): %+v", k1, del, out)
		}
		n, ok := out["nested"].(map[string]any)
		if !ok || n["x"] != 1 || n["y"] != 2 {
			t.Fatalf("nested not merged: %+v", out)
		}
		if cur[k1] != v1 || len(cur["nested"].(map[string]any)) != 1 {
			t.Fatal("input mutated")
		}
	})
}
