package ocisapi_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dezky/platform/providers/ocis/ocisapi"
)

func FuzzParseAuditLine(f *testing.F) {
	f.Add([]byte(`{"RemoteAddr":"","User":"","URL":"","Method":"","UserAgent":"","Time":"2025-01-02T03:04:05Z","App":"admin_audit","Message":"user 'admin-id' created a space 'sid' with name 'Mars'","Action":"space_created","CLI":false,"Level":1,"SpaceID":"sid","Owner":"","RootItem":"r","Name":"Mars","Type":"project"}`))
	f.Add([]byte(`{"Action":"user_feature_changed","Features":[{"Name":"x","Value":"y"}],"Level":1e300}`))
	f.Add([]byte(`{"Action":1}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := ocisapi.ParseAuditLine(line)
		if err != nil {
			return
		}
		if ev.Action == "" || ev.Raw == nil {
			t.Fatalf("accepted event without action: %+v", ev)
		}
		if ev.User != "" && ev.Actor != ev.User {
			t.Fatalf("actor %q must be the user %q", ev.Actor, ev.User)
		}
	})
}

func FuzzReadAuditLog(f *testing.F) {
	f.Add([]byte("{\"Action\":\"a\"}\n{\"Action\":\"b\"}\npartial"), int64(0), 0)
	f.Add([]byte("\n\n{}\n"), int64(3), 1)
	f.Fuzz(func(t *testing.T, content []byte, offset int64, max int) {
		if offset < 0 || max < 0 || max > 1000 {
			return
		}
		path := filepath.Join(t.TempDir(), "audit.log")
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		recs, cur, err := ocisapi.ReadAuditLog(path, ocisapi.AuditCursor{Offset: offset}, max)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if cur.Offset > int64(len(content)) || cur.Offset < 0 {
			t.Fatalf("cursor %d beyond file of %d bytes", cur.Offset, len(content))
		}
		if max > 0 && len(recs) > max {
			t.Fatalf("%d records > max %d", len(recs), max)
		}
		start := offset
		if start > int64(len(content)) {
			start = 0
		}
		if cur.Offset > start && content[cur.Offset-1] != '\n' {
			t.Fatal("cursor not at a line boundary")
		}
	})
}

func FuzzParseODataError(f *testing.F) {
	f.Add([]byte(`{"error":{"code":"itemNotFound","message":"drive not found","innererror":{"date":"2025-01-01T00:00:00Z","request-id":"x"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		oe, err := ocisapi.ParseODataError(b)
		if err == nil && oe.Code == "" {
			t.Fatal("accepted error without code")
		}
	})
}

func FuzzParseAuditCursor(f *testing.F) {
	f.Add("123:456")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ocisapi.ParseAuditCursor(s)
		if err != nil || s == "" {
			return
		}
		c2, err := ocisapi.ParseAuditCursor(c.String())
		if err != nil || c2 != c {
			t.Fatalf("round trip %q -> %+v -> %+v", s, c, c2)
		}
	})
}
