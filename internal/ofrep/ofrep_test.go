package ofrep

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseContext(t *testing.T) {
	ec, err := parseContext(map[string]any{"targetingKey": "acme", "environment": "production", "plan": "BUSINESS", "region": "eu"})
	if err != nil || ec.targetingKey != "acme" || ec.environment != "production" || ec.plan == nil || *ec.plan != "BUSINESS" || ec.partner != nil {
		t.Fatalf("parseContext = %+v, %v", ec, err)
	}
	for name, c := range map[string]map[string]any{
		"missing": {}, "empty": {"targetingKey": ""}, "null": {"targetingKey": nil},
	} {
		if _, err := parseContext(c); !errors.Is(err, errNoTargetingKey) {
			t.Errorf("%s: %v, want the missing-key error", name, err)
		}
	}
	for name, c := range map[string]map[string]any{
		"number key":      {"targetingKey": 7},
		"control chars":   {"targetingKey": "ac\x00me"},
		"object env":      {"targetingKey": "acme", "environment": map[string]any{}},
		"long partner":    {"targetingKey": "acme", "partner": string(make([]byte, 300))},
		"newline in plan": {"targetingKey": "acme", "plan": "A\nB"},
	} {
		if _, err := parseContext(c); err == nil || errors.Is(err, errNoTargetingKey) {
			t.Errorf("%s: %v, want an invalid-context error", name, err)
		}
	}
}

func TestMatchesETag(t *testing.T) {
	const tag = `"abc"`
	for h, want := range map[string]bool{`"abc"`: true, `W/"abc"`: true, `"x", "abc"`: true, `*`: true, `"abd"`: false, ``: false, `abc`: false} {
		if got := matchesETag(h, tag); got != want {
			t.Errorf("matchesETag(%q) = %v, want %v", h, got, want)
		}
	}
}

func FuzzParseContext(f *testing.F) {
	f.Add(`{"targetingKey":"acme","environment":"production"}`)
	f.Add(`{"targetingKey":1}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, s string) {
		var c map[string]any
		if json.Unmarshal([]byte(s), &c) != nil {
			return
		}
		ec, err := parseContext(c)
		if err == nil && (ec.targetingKey == "" || len(ec.targetingKey) > 255) {
			t.Fatalf("%q accepted with targetingKey %q", s, ec.targetingKey)
		}
	})
}
