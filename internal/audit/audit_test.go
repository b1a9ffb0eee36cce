package audit_test

import (
	"testing"

	"github.com/dezky/platform/internal/audit"
)

func TestDiff(t *testing.T) {
	before := map[string]any{"name": "Acme", "seats": 5, "domains": []string{}, "industry": "", "plan": "STARTER"}
	after := map[string]any{"name": "Acme", "seats": 9, "domains": []string(nil), "industry": "", "plan": "BUSINESS", "extra": "x"}
	d := audit.Diff(before, after)
	if len(d) != 3 || d["seats"] == nil || d["plan"] == nil || d["extra"] == nil {
		t.Fatalf("Diff = %v, want seats, plan and extra only", d)
	}
	if ch := d["seats"].(map[string]any); ch["from"] != 5 || ch["to"] != 9 {
		t.Fatalf("seats change = %v", ch)
	}
	if len(audit.Diff(before, before)) != 0 {
		t.Fatal("no change must give an empty diff")
	}
}
