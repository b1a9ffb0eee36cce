package ocisapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dezky/platform/providers/ocis/ocisapi"
	"github.com/dezky/platform/providers/ocis/ocissim"
	"github.com/dezky/platform/providers/simtest"
)

const token = "sim-access-token"

func setup(t *testing.T, opts ocissim.Options) (*ocissim.Sim, *ocisapi.Client) {
	t.Helper()
	opts.Token = token
	sim, srv := simtest.NewOCIS(t, opts)
	c, err := ocisapi.New(srv.URL, ocisapi.StaticToken(token))
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

func TestUnauthorized(t *testing.T) {
	_, srv := simtest.NewOCIS(t, ocissim.Options{Token: token})
	c, _ := ocisapi.New(srv.URL, ocisapi.StaticToken("other-token-value"))
	_, err := c.ListProjectSpaces(context.Background())
	if !errors.Is(err, ocisapi.ErrUnauthorized) || strings.Contains(err.Error(), "other-token-value") {
		t.Fatalf("want unauthorized without token in message, got %v", err)
	}
	failing := ocisapi.TokenFunc(func(context.Context) (string, error) { return "", errors.New("refresh token expired") })
	c2, _ := ocisapi.New(srv.URL, failing)
	if _, err := c2.ListProjectSpaces(context.Background()); !errors.Is(err, ocisapi.ErrUnauthorized) {
		t.Fatalf("token source failure: %v", err)
	}
}

func TestEnsureSpaceQuotaUsageAndDelete(t *testing.T) {
	sim, c := setup(t, ocissim.Options{})
	ctx := context.Background()
	spec := ocisapi.SpaceSpec{Name: "acme", QuotaBytes: 1000, Description: "Acme"}
	d, created, err := c.EnsureProjectSpace(ctx, spec)
	if err != nil || !created {
		t.Fatalf("ensure: %v created=%v", err, created)
	}
	if !strings.HasPrefix(d.ID, "storage-users-1$") || d.DriveType != "project" || d.Quota == nil || d.Quota.Total != 1000 {
		t.Fatalf("drive %+v", d)
	}
	again, created, err := c.EnsureProjectSpace(ctx, spec)
	if err != nil || created || again.ID != d.ID {
		t.Fatalf("ensure must be idempotent: %v %v %s", err, created, again.ID)
	}
	// Personal spaces are not project spaces.
	spaces, err := c.ListProjectSpaces(ctx)
	if err != nil || len(spaces) != 1 {
		t.Fatalf("project spaces: %d %v", len(spaces), err)
	}

	if err := sim.SetUsage(d.ID, 800); err != nil {
		t.Fatal(err)
	}
	q, err := c.Usage(ctx, d.ID)
	if err != nil || q.Used != 800 || q.Remaining != 200 || q.State != "nearing" {
		t.Fatalf("usage %+v %v", q, err)
	}
	if _, err := c.SetQuota(ctx, d.ID, 4000); err != nil {
		t.Fatal(err)
	}
	if q, _ := c.Usage(ctx, d.ID); q.Total != 4000 || q.State != "normal" {
		t.Fatalf("after quota change %+v", q)
	}

	if err := c.DisableSpace(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	dis, err := c.GetDrive(ctx, d.ID)
	if err != nil || !dis.Disabled() || dis.Quota.Used != 0 || dis.Quota.Total != 4000 {
		t.Fatalf("disabled drive %+v %v", dis, err)
	}
	// Ensure re-enables a disabled space and fixes the quota.
	back, created, err := c.EnsureProjectSpace(ctx, ocisapi.SpaceSpec{Name: "acme", QuotaBytes: 2000})
	if err != nil || created || back.Disabled() || back.Quota.Total != 2000 {
		t.Fatalf("ensure after disable: %+v %v", back, err)
	}

	if err := c.DeleteSpace(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetDrive(ctx, d.ID); !errors.Is(err, ocisapi.ErrNotFound) {
		t.Fatalf("purged drive: %v", err)
	}
	if err := c.DeleteSpace(ctx, d.ID); !errors.Is(err, ocisapi.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestAmbiguousSpaceName(t *testing.T) {
	_, c := setup(t, ocissim.Options{})
	ctx := context.Background()
	for range 2 {
		if _, err := c.CreateProjectSpace(ctx, ocisapi.SpaceSpec{Name: "dup"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.EnsureProjectSpace(ctx, ocisapi.SpaceSpec{Name: "dup"}); !errors.Is(err, ocisapi.ErrConflict) {
		t.Fatalf("want conflict, got %v", err)
	}
}

func TestPurgeEnabledSpaceRejected(t *testing.T) {
	_, srv := simtest.NewOCIS(t, ocissim.Options{Token: token})
	c, _ := ocisapi.New(srv.URL, ocisapi.StaticToken(token))
	d, err := c.CreateProjectSpace(context.Background(), ocisapi.SpaceSpec{Name: "keep"})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/graph/v1.0/drives/"+d.ID, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Purge", "T")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := make([]byte, 2048)
	n, _ := resp.Body.Read(body)
	oe, err := ocisapi.ParseODataError(body[:n])
	if resp.StatusCode != 400 || err != nil || oe.Code != "invalidRequest" || oe.Message != "error: bad request: can't purge enabled space" {
		t.Fatalf("%d %+v %v", resp.StatusCode, oe, err)
	}
}

func TestCreateSpaceValidation(t *testing.T) {
	_, c := setup(t, ocissim.Options{})
	if _, err := c.CreateProjectSpace(context.Background(), ocisapi.SpaceSpec{Name: "a.b"}); !errors.Is(err, ocisapi.ErrInvalid) {
		t.Fatalf("dot in name: %v", err)
	}
	if ocisapi.ValidSpaceName("a.b") || !ocisapi.ValidSpaceName("Acme GmbH") {
		t.Fatal("ValidSpaceName")
	}
}

func TestFilterOperandNotSupported(t *testing.T) {
	_, c := setup(t, ocissim.Options{})
	_, err := c.ListDrives(context.Background(), "driveType ne 'project'")
	var oe *ocisapi.Error
	if !errors.As(err, &oe) || oe.Status != http.StatusNotImplemented || oe.Code != "notSupported" {
		t.Fatalf("want 501 notSupported, got %v", err)
	}
}

func TestNullDriveList(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("null"))
	}))
	defer srv.Close()
	c, _ := ocisapi.New(srv.URL, ocisapi.StaticToken("x"))
	spaces, err := c.ListProjectSpaces(context.Background())
	if err != nil || len(spaces) != 0 {
		t.Fatalf("%v %v", spaces, err)
	}
	if _, err := c.FindProjectSpace(context.Background(), "x"); !errors.Is(err, ocisapi.ErrNotFound) {
		t.Fatalf("%v", err)
	}
}

func TestUsers(t *testing.T) {
	sim, c := setup(t, ocissim.Options{})
	ctx := context.Background()
	u, err := c.CreateUser(ctx, ocisapi.NewUser{Username: "jane", DisplayName: "Jane", Mail: "jane@acme.test", Password: "pw-Jane-1"})
	if err != nil || u.ID == "" || u.OnPremisesSamAccountName != "jane" {
		t.Fatalf("create (200 accepted): %+v %v", u, err)
	}
	if pw, _ := sim.UserPassword("jane"); pw != "pw-Jane-1" {
		t.Fatal("password not passed")
	}
	_, err = c.CreateUser(ctx, ocisapi.NewUser{Username: "jane", DisplayName: "Jane 2", Password: "pw-secret-2"})
	if !errors.Is(err, ocisapi.ErrConflict) || strings.Contains(err.Error(), "pw-secret-2") {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := c.CreateUser(ctx, ocisapi.NewUser{Username: "9bad", DisplayName: "x"}); !errors.Is(err, ocisapi.ErrInvalid) {
		t.Fatalf("bad username: %v", err)
	}
	if got, err := c.GetUser(ctx, "jane"); err != nil || got.ID != u.ID {
		t.Fatalf("get by name: %+v %v", got, err)
	}
	if got, err := c.SetUserEnabled(ctx, u.ID, false); err != nil || got.AccountEnabled == nil || *got.AccountEnabled {
		t.Fatalf("disable: %+v %v", got, err)
	}
	if err := c.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUser(ctx, u.ID); !errors.Is(err, ocisapi.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := c.DeleteUser(ctx, "admin"); !errors.Is(err, ocisapi.ErrUnauthorized) {
		t.Fatalf("self deletion: %v", err)
	}
}

func TestFaultsAndCancellation(t *testing.T) {
	sim, c := setup(t, ocissim.Options{})
	sim.FailNext(http.MethodGet, "/graph/v1.0/drives", http.StatusServiceUnavailable)
	if _, err := c.ListProjectSpaces(context.Background()); !errors.Is(err, ocisapi.ErrUnavailable) {
		t.Fatalf("fault: %v", err)
	}
	sim.SetDelay(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.ListProjectSpaces(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: %v", err)
	}
}

func TestAuditLogFromSimulator(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	sim, c := setup(t, ocissim.Options{AuditLogPath: path, AdminID: "admin-uuid", Now: func() time.Time { return now }})
	ctx := context.Background()
	d, _, err := c.EnsureProjectSpace(ctx, ocisapi.SpaceSpec{Name: "acme", QuotaBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.CreateUser(ctx, ocisapi.NewUser{Username: "bob", DisplayName: "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	recs, cur, err := ocisapi.ReadAuditLog(path, ocisapi.AuditCursor{}, 0)
	if err != nil || len(recs) != 2 {
		t.Fatalf("records %d %v", len(recs), err)
	}
	e0, e1 := recs[0].Event, recs[1].Event
	if e0.Action != "space_created" || e0.SpaceID != d.ID || e0.Name != "acme" || e0.User != "" || e0.Actor != "admin-uuid" || !e0.Time.Equal(now) || e0.App != "admin_audit" {
		t.Fatalf("space event %+v", e0)
	}
	if e1.Action != "user_created" || e1.UserID != u.ID || e1.Actor != "admin-uuid" {
		t.Fatalf("user event %+v", e1)
	}
	if recs[0].ExternalID == recs[1].ExternalID {
		t.Fatal("external ids must differ")
	}

	// Nothing new → nothing returned, cursor unchanged.
	if more, cur2, err := ocisapi.ReadAuditLog(path, cur, 0); err != nil || len(more) != 0 || cur2 != cur {
		t.Fatalf("idle read: %d %v %v", len(more), cur2, err)
	}
	sim.WriteAudit(map[string]any{"Action": "file_create", "User": "bob-uid", "Path": "/a.txt", "FileID": "f1"})
	more, cur3, err := ocisapi.ReadAuditLog(path, cur, 0)
	if err != nil || len(more) != 1 || more[0].Event.Actor != "bob-uid" || more[0].Event.Path != "/a.txt" {
		t.Fatalf("incremental: %+v %v", more, err)
	}
	if cur3.Offset <= cur.Offset {
		t.Fatal("cursor must advance")
	}
}

func TestReadAuditLogPartialLinesTruncationRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	line := `{"Action":"space_deleted","Time":"2025-01-02T03:04:05Z","User":"","Message":"user 'x' deleted the space 's'","SpaceID":"s"}`
	if err := os.WriteFile(path, []byte(line+"\n"+`{"Action":"par`), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, cur, err := ocisapi.ReadAuditLog(path, ocisapi.AuditCursor{}, 0)
	if err != nil || len(recs) != 1 || cur.Offset != int64(len(line)+1) {
		t.Fatalf("partial line must wait: %d %+v %v", len(recs), cur, err)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString(`tial"}` + "\nnot json\n")
	f.Close()
	recs, cur, err = ocisapi.ReadAuditLog(path, cur, 0)
	if err != nil || len(recs) != 2 || recs[0].Event.Action != "partial" || recs[1].Err == nil {
		t.Fatalf("completed line + malformed line: %+v %v", recs, err)
	}
	// Truncation: file shorter than the cursor → start over.
	if err := os.WriteFile(path, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, _, err = ocisapi.ReadAuditLog(path, cur, 0)
	if err != nil || len(recs) != 1 {
		t.Fatalf("after truncation: %d %v", len(recs), err)
	}
	// Rotation: new inode → start over even if longer.
	cur2 := ocisapi.AuditCursor{Inode: cur.Inode, Offset: int64(len(line) + 1)}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(line+"\n"+line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, _, err = ocisapi.ReadAuditLog(path, cur2, 0)
	if err != nil || len(recs) != 2 {
		t.Fatalf("after rotation: %d %v", len(recs), err)
	}
	// Max lines.
	recs, c3, err := ocisapi.ReadAuditLog(path, ocisapi.AuditCursor{}, 1)
	if err != nil || len(recs) != 1 || c3.Offset != int64(len(line)+1) {
		t.Fatalf("max lines: %d %+v %v", len(recs), c3, err)
	}
	// Missing file.
	if recs, c4, err := ocisapi.ReadAuditLog(filepath.Join(dir, "none"), c3, 0); err != nil || recs != nil || c4 != c3 {
		t.Fatalf("missing file: %v", err)
	}
}

func TestAuditCursorString(t *testing.T) {
	c, err := ocisapi.ParseAuditCursor("123:456")
	if err != nil || c.Inode != 123 || c.Offset != 456 || c.String() != "123:456" {
		t.Fatalf("%+v %v", c, err)
	}
	for _, bad := range []string{"x", "1:-1", ":", "1:2:3"} {
		if _, err := ocisapi.ParseAuditCursor(bad); err == nil {
			t.Errorf("expected error for %q", bad)
		}
	}
}
