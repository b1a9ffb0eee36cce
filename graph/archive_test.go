package graph_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/audit/archive"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

// fakeS3 is an in-process S3-compatible server holding one bucket.
func fakeS3(t *testing.T) archive.Store {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("dezky-audit"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	store, err := archive.NewS3Store(archive.S3Config{Endpoint: srv.URL, Region: "us-east-1", Bucket: "dezky-audit",
		AccessKey: "test-access", SecretKey: "test-secret"})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

func TestAuditArchiveAPI(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.StartWith(t, d, func(c *app.ServeConfig) {
				c.Archive = fakeS3(t)
				c.AuditRetention = time.Nanosecond // everything but the head is due
			})
			var cp struct{ CreateAuditCheckpoint struct{ HeadSeq int } }
			s.Query("operator", `mutation { createAuditCheckpoint { headSeq } }`, nil).Decode(t, &cp)

			if rsp := s.Query("admin:acme", `mutation { runAuditArchive { events } }`, nil); rsp.Code() != "FORBIDDEN" {
				t.Fatalf("tenant admin runs the archive: %s", rsp.Body)
			}
			var run struct {
				RunAuditArchive struct {
					Events  int
					Batches []struct{ StartSeq, EndSeq int }
				}
			}
			s.Query("operator", `mutation { runAuditArchive { events batches { startSeq endSeq } } }`, nil).Decode(t, &run)
			if run.RunAuditArchive.Events < cp.CreateAuditCheckpoint.HeadSeq-1 || run.RunAuditArchive.Batches[0].StartSeq != 1 {
				t.Fatalf("archive run = %+v (head was %d)", run.RunAuditArchive, cp.CreateAuditCheckpoint.HeadSeq)
			}
			var list struct {
				AuditArchives []struct {
					StartSeq, EndSeq, EventCount int
					Status                       string
				}
			}
			s.Query("operator", `{ auditArchives { startSeq endSeq eventCount status } }`, nil).Decode(t, &list)
			if len(list.AuditArchives) == 0 || list.AuditArchives[0].Status != "archived" {
				t.Fatalf("auditArchives = %+v", list.AuditArchives)
			}
			// The chain verifies across archive and hot rows, up to the
			// archive run's own event, which is chained after its commit.
			deadline := time.Now().Add(10 * time.Second)
			for {
				var v struct {
					VerifyAuditChain struct {
						OK             bool
						EventsVerified int
						Break          map[string]any
					}
				}
				s.Query("operator", `{ verifyAuditChain { ok eventsVerified break { kind seq } } }`, nil).Decode(t, &v)
				if !v.VerifyAuditChain.OK {
					t.Fatalf("verify after archiving: %+v", v.VerifyAuditChain)
				}
				if v.VerifyAuditChain.EventsVerified > cp.CreateAuditCheckpoint.HeadSeq {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("verify after archiving: %+v, the archive run's event never chained", v.VerifyAuditChain)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func TestAuditArchiveNotConfigured(t *testing.T) {
	s := testserver.Start(t, testdb.Dialects[0])
	if rsp := s.Query("operator", `mutation { runAuditArchive { events } }`, nil); rsp.Code() != "UNAVAILABLE" {
		t.Fatalf("run without storage: %s", rsp.Body)
	}
}
