package server

import (
	"encoding/json"
	"testing"
)

// shapeOf maps a value decoded by encoding/json to skimJSON's shape.
func shapeOf(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, el := range x {
			out[k] = shapeOf(el)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			out[i] = shapeOf(el)
		}
		return out
	}
	return leaf{}
}

func sameShape(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, el := range x {
			other, ok := y[k]
			if !ok || !sameShape(el, other) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameShape(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

var skimCases = []string{
	`{"data":{"tenants":{"totalCount":2,"edges":[{"node":{"slug":"a","seats":-1.5e3,"partner":null}},{"node":{"slug":"b\"\\u00e9","ok":true,"no":false}}]}}}`,
	`[]`, `{}`, `null`, `0`, ` [1 , {"a" : [ ] } ] `, `{"a":1,"a":{"b":2}}`, `{"\u0061":[null]}`,
	`{"a":}`, `[1,]`, `01`, `{"a":1}x`, `"`, `-`, `1.`, `1e`, "{\"a\":\"\x01\"}",
}

func TestSkimJSONMatchesEncodingJSON(t *testing.T) {
	for _, c := range skimCases {
		checkSkim(t, []byte(c))
	}
}

func checkSkim(t *testing.T, data []byte) {
	t.Helper()
	var v any
	err := json.Unmarshal(data, &v)
	got, ok := skimJSON(data)
	if err == nil {
		if !ok || !sameShape(got, shapeOf(v)) {
			t.Fatalf("%q: skimJSON %#v %v, encoding/json %#v", data, got, ok, shapeOf(v))
		}
	}
}

// FuzzSkimJSON checks that skimJSON reads the shape encoding/json reads
// from any text it decodes.
func FuzzSkimJSON(f *testing.F) {
	for _, c := range skimCases {
		f.Add([]byte(c))
	}
	f.Fuzz(checkSkim)
}
