package argcheck_test

import (
	"strings"
	"testing"

	"github.com/dezky/platform/internal/argcheck"
	"github.com/dezky/platform/internal/inputcheck"
)

func TestValueNamesTheInnermostField(t *testing.T) {
	cases := []struct {
		v     any
		field string
	}{
		{map[string]any{"name": "a\x00"}, "name"},
		{map[string]any{"or": []any{map[string]any{"slugIn": []any{"ok", "b\u202e"}}}}, "slugIn"},
		{map[string]any{"domains": make([]any, inputcheck.MaxList+1)}, "domains"},
		{map[string]any{"q": strings.Repeat("x", inputcheck.MaxString+1)}, "q"},
		{map[string]any{"note": "a\x00"}, "note"},
		{map[string]any{"name": "a\nb"}, "name"},
	}
	for _, tc := range cases {
		err := argcheck.Value("input", tc.v)
		if err == nil || err.Field != tc.field || err.Code != "BAD_USER_INPUT" {
			t.Errorf("Value(%v) = %v, want BAD_USER_INPUT on %s", tc.v, err, tc.field)
		}
	}
	for _, ok := range []any{
		map[string]any{"description": "one\ntwo\tthree", "note": "x\r\ny"},
		map[string]any{"seats": 3, "on": true, "partner": nil, "name": "Acme"},
		make([]any, inputcheck.MaxList),
	} {
		if err := argcheck.Value("input", ok); err != nil {
			t.Errorf("Value(%v) = %v", ok, err)
		}
	}
}
