package ingest_test

import (
	"encoding/json"
	"testing"

	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/internal/ingest"
)

func TestParseOCISLine(t *testing.T) {
	l, err := ingest.ParseOCISLine([]byte(`{"RemoteAddr":"","User":"","URL":"","Method":"","UserAgent":"","Time":"2025-01-02T03:04:05Z","App":"admin_audit","Message":"user 'admin-id' created a space 'sid' with name 'Mars'","Action":"space_created","CLI":false,"Level":1,"SpaceID":"sid","Owner":"","RootItem":"sid!root","Name":"Mars","Type":"project"}`))
	if err != nil {
		t.Fatal(err)
	}
	if l.Action != "space_created" || l.User != "admin-id" || l.SpaceID != "sid" || l.Name != "Mars" ||
		l.Time.Format("2006-01-02T15:04:05Z") != "2025-01-02T03:04:05Z" || !l.Success {
		t.Fatalf("parsed = %+v", l)
	}
	for _, bad := range []string{``, `[]`, `null`, `{"Action":""}`, `{"Action":7}`, `{"Action":"x"} {}`, `{"Action":`} {
		if _, err := ingest.ParseOCISLine([]byte(bad)); err == nil {
			t.Errorf("ParseOCISLine(%q) succeeded", bad)
		}
	}
	if l, err := ingest.ParseOCISLine([]byte(`{"Action":"file_shared","User":"u1","Success":false,"Time":""}`)); err != nil || l.Success || !l.Time.IsZero() {
		t.Fatalf("failed share = %+v, %v", l, err)
	}
}

func TestActionMaps(t *testing.T) {
	for raw, want := range map[string]string{
		"login": "authentik.login", "login_failed": "authentik.login_failed", "password_set": "authentik.password_changed",
		"custom_x": "authentik.custom_x",
	} {
		if got, _ := ingest.IdentityAction(raw); got != want {
			t.Errorf("IdentityAction(%q) = %q, want %q", raw, got, want)
		}
	}
	for raw, want := range map[string]string{
		"auth.failed": "stalwart.auth_failed", "auth-failed": "stalwart.auth_failed", "AuthFailed": "stalwart.auth_failed",
		"security.authentication-ban": "stalwart.auth_banned", "delivery.delivered": "stalwart.mail_delivered",
		"queue.queued": "stalwart.queue.queued",
	} {
		if got, _ := ingest.MailAction(raw); got != want {
			t.Errorf("MailAction(%q) = %q, want %q", raw, got, want)
		}
	}
	if _, o := ingest.MailAction("auth.failed"); o != auditevent.OutcomeFailure {
		t.Errorf("auth.failed outcome = %s", o)
	}
	for _, read := range []string{"file_read", "public_link_accessed", "FileDownloaded", "UserSignedIn"} {
		if _, _, ok := ingest.StorageAction(read); ok {
			t.Errorf("StorageAction(%q) admitted read traffic", read)
		}
	}
	if a, _, ok := ingest.StorageAction("file_create"); !ok || a != "ocis.file_created" {
		t.Errorf("StorageAction(file_create) = %q, %v", a, ok)
	}
	if a, _, ok := ingest.StorageAction("space_quarantined"); !ok || a != "ocis.space_quarantined" {
		t.Errorf("StorageAction(unknown) = %q, %v", a, ok)
	}
}

// FuzzParseOCISLine checks that the line parser never panics, that every
// accepted line has an action, and that re-encoding the decoded members
// parses to the same line.
func FuzzParseOCISLine(f *testing.F) {
	for _, s := range []string{
		`{"RemoteAddr":"","User":"","URL":"","Method":"","UserAgent":"","Time":"2025-01-02T03:04:05Z","App":"admin_audit","Message":"user 'admin-id' created a space 'sid' with name 'Mars'","Action":"space_created","CLI":false,"Level":1,"SpaceID":"sid","Name":"Mars"}`,
		`{"Action":"file_create","User":"u1","Path":"/a","FileID":"s$p!i","Time":"2025-01-02T03:04:05Z"}`,
		`{"Action":"file_shared","Success":false,"Features":[{"Name":"x","Value":1e400}]}`,
		`{"Action":"user_created","Message":"user '' created"}`,
		`not json`, `{}`, `{"Action":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		l, err := ingest.ParseOCISLine(line)
		if err != nil {
			return
		}
		if l.Action == "" {
			t.Fatalf("accepted a line without action: %q", line)
		}
		b, err := json.Marshal(l.Fields)
		if err != nil {
			return // e.g. a number JSON cannot re-encode
		}
		again, err := ingest.ParseOCISLine(b)
		if err != nil {
			t.Fatalf("re-encoded line %s does not parse: %v", b, err)
		}
		if again.Action != l.Action || again.User != l.User || again.SpaceID != l.SpaceID || again.FileID != l.FileID || !again.Time.Equal(l.Time) {
			t.Fatalf("round trip changed the line: %+v vs %+v", again, l)
		}
	})
}
