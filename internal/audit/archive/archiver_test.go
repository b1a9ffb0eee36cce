package archive_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dezky/platform/ent/auditarchive"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/audit/archive"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// later is a clock far enough ahead that every event written now is past
// the default retention.
func later() time.Time { return time.Now().Add(archive.DefaultRetention + 24*time.Hour) }

func newArchiver(t testing.TB, d *db.DB, s archive.Store, key *audit.SigningKey) *archive.Archiver {
	t.Helper()
	a, err := archive.New(d, s, key, "", quiet)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestArchiveMovesOldEvents: old events go to the archive in batches, the
// head stays hot, batch rows record the objects, and archive + hot verify
// as one chain with the checkpoints taken before archiving.
func TestArchiveMovesOldEvents(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		key := newKey(t)
		store := newS3Store(t)
		cp := audit.NewCheckpointer(d, key, audit.CheckpointerOptions{Logger: quiet})
		writeEvents(t, d, 12)
		if _, _, err := cp.Checkpoint(ctx, audit.ReasonManual); err != nil {
			t.Fatal(err)
		}
		writeEvents(t, d, 13)
		if _, _, err := cp.Checkpoint(ctx, audit.ReasonManual); err != nil {
			t.Fatal(err)
		}

		// Nothing is old yet.
		res, err := newArchiver(t, d, store, key).RunOnce(ctx, archive.Options{BatchSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Batches) != 0 || len(hotSeqs(t, d)) != 25 {
			t.Fatalf("fresh events archived: %+v", res)
		}

		res, err = newArchiver(t, d, store, key).RunOnce(ctx, archive.Options{BatchSize: 10, Now: later()})
		if err != nil {
			t.Fatal(err)
		}
		want := [][2]int64{{1, 10}, {11, 20}, {21, 24}}
		if len(res.Batches) != len(want) || res.Events != 24 {
			t.Fatalf("result = %+v, want batches %v and 24 events", res, want)
		}
		for i, b := range res.Batches {
			if b.StartSeq != want[i][0] || b.EndSeq != want[i][1] || b.Events != int(b.EndSeq-b.StartSeq+1) {
				t.Fatalf("batch %d = %+v, want %v", i, b, want[i])
			}
			jk, mk := archive.Keys(archive.DefaultPrefix, b.StartSeq, b.EndSeq)
			if b.JSONLKey != jk || b.ManifestKey != mk || !strings.HasSuffix(jk, ".jsonl.gz") {
				t.Fatalf("batch %d keys = %s %s", i, b.JSONLKey, b.ManifestKey)
			}
			info, err := store.Head(ctx, jk)
			if err != nil || info.Size != b.Bytes {
				t.Fatalf("head %s = %+v, %v; want size %d", jk, info, err, b.Bytes)
			}
		}
		if got := hotSeqs(t, d); len(got) != 1 || got[0] != 25 {
			t.Fatalf("hot seqs = %v, want only the head 25", got)
		}
		rows, err := d.Client.AuditArchive.Query().All(viewer.SystemContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Status != auditarchive.StatusArchived || len(r.JsonlSha256) != 64 || len(r.ManifestSha256) != 64 || r.Bytes <= 0 {
				t.Fatalf("batch row = %+v", r)
			}
		}
		assertExactlyOnce(t, d, store, key, 25)
		r := verifyAll(t, d, store, key)
		if !r.OK || r.EventsVerified != 25 || r.CheckpointsVerified != 2 {
			t.Fatalf("verify archive then hot = %+v", r)
		}

		// New events keep chaining after the archived prefix.
		writeEvents(t, d, 3)
		if got := hotSeqs(t, d); len(got) != 4 || got[3] != 28 {
			t.Fatalf("hot seqs after more writes = %v", got)
		}
		res, err = newArchiver(t, d, store, key).RunOnce(ctx, archive.Options{BatchSize: 10, Now: later()})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Batches) != 1 || res.Batches[0].StartSeq != 25 || res.Batches[0].EndSeq != 27 {
			t.Fatalf("second run = %+v", res)
		}
		assertExactlyOnce(t, d, store, key, 28)
		if r := verifyAll(t, d, store, key); !r.OK || r.EventsVerified != 28 {
			t.Fatalf("verify after second run = %+v", r)
		}
	})
}

// TestArchiveRespectsRetention: only the prefix of the chain older than the
// retention is archived.
func TestArchiveRespectsRetention(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		key := newKey(t)
		store := newS3Store(t)
		writeEvents(t, d, 5)
		var mid time.Time
		if err := d.SQL.QueryRowContext(ctx, `SELECT at FROM audit_events WHERE seq = 3`).Scan(&mid); err != nil {
			t.Fatal(err)
		}
		// With a 1h retention and now = at(seq 3) + 1h, seqs 1-2 are
		// older than the cutoff, seq 3 is not.
		res, err := newArchiver(t, d, store, key).RunOnce(ctx, archive.Options{Retention: time.Hour, Now: mid.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Batches) != 1 || res.Batches[0].EndSeq > 2 {
			t.Fatalf("result = %+v, want one batch ending at or before seq 2", res)
		}
		for _, q := range hotSeqs(t, d) {
			if q <= res.Batches[0].EndSeq {
				t.Fatalf("archived seq %d is still hot", q)
			}
		}
		assertExactlyOnce(t, d, store, key, 5)
		if r := verifyAll(t, d, store, key); !r.OK || r.EventsVerified != 5 {
			t.Fatalf("verify = %+v", r)
		}
	})
}

// TestArchiveCrashRecovery: a run that fails before the upload, between the
// two uploads, after the upload (HEAD, or right after the batch is marked
// uploaded) and in the middle of deleting loses nothing; the next run (with
// another batch size) completes the interrupted batch on its recorded range
// and leaves every seq exactly once in hot ∪ archive, verifying as one
// chain.
func TestArchiveCrashRecovery(t *testing.T) {
	type fault struct {
		name  string
		store func() func(op, key string) error
		step  func() func(name string, startSeq int64) error
	}
	onceFor := func(match func(op, key string) bool) func() func(op, key string) error {
		return func() func(op, key string) error {
			done := false
			return func(op, key string) error {
				if !done && match(op, key) {
					done = true
					return errInjected
				}
				return nil
			}
		}
	}
	onceStep := func(want string, from int64) func() func(string, int64) error {
		return func() func(string, int64) error {
			done := false
			return func(name string, start int64) error {
				if !done && name == want && start == from {
					done = true
					return errInjected
				}
				return nil
			}
		}
	}
	faults := []fault{
		{name: "before-upload", store: onceFor(func(op, key string) bool {
			return op == "put" && strings.HasSuffix(key, "00000000000000000011-00000000000000000020.jsonl.gz")
		})},
		{name: "between-uploads", store: onceFor(func(op, key string) bool {
			return op == "put" && strings.HasSuffix(key, ".manifest.json") && strings.Contains(key, "00000000000000000011-")
		})},
		{name: "head-after-upload", store: onceFor(func(op, key string) bool {
			return op == "head" && strings.Contains(key, "00000000000000000011-")
		})},
		{name: "after-upload-before-delete", step: onceStep("uploaded", 11)},
		{name: "mid-delete", step: onceStep("deleted-chunk", 11)},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			testdb.ForEach(t, func(t *testing.T, d *db.DB) {
				ctx := context.Background()
				key := newKey(t)
				s3 := newS3Store(t)
				store := &faultStore{Store: s3}
				if f.store != nil {
					store.fail = f.store()
				}
				writeEvents(t, d, 30)
				if _, _, err := audit.NewCheckpointer(d, key, audit.CheckpointerOptions{Logger: quiet}).Checkpoint(ctx, audit.ReasonManual); err != nil {
					t.Fatal(err)
				}
				a := newArchiver(t, d, store, key)
				if f.step != nil {
					archive.SetStep(a, f.step())
				}
				res, err := a.RunOnce(ctx, archive.Options{BatchSize: 10, DeleteChunk: 3, Now: later()})
				if !errors.Is(err, errInjected) {
					t.Fatalf("first run error = %v, want the injected failure", err)
				}
				if len(res.Batches) != 1 || res.Batches[0].EndSeq != 10 {
					t.Fatalf("first run completed %+v, want only batch 1-10", res.Batches)
				}
				assertNoneLost(t, d, s3, key, 30)
				if r := verifyAll(t, d, s3, key); !r.OK || r.EventsVerified != 30 {
					t.Fatalf("verify after the crash = %+v", r)
				}

				store.fail = nil
				res, err = newArchiver(t, d, store, key).RunOnce(ctx, archive.Options{BatchSize: 7, DeleteChunk: 4, Now: later()})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Batches) == 0 || !res.Batches[0].Resumed || res.Batches[0].StartSeq != 11 || res.Batches[0].EndSeq != 20 {
					t.Fatalf("second run = %+v, want batch 11-20 resumed first", res.Batches)
				}
				if got := hotSeqs(t, d); len(got) != 1 || got[0] != 30 {
					t.Fatalf("hot seqs = %v, want only the head", got)
				}
				assertExactlyOnce(t, d, s3, key, 30)
				if r := verifyAll(t, d, s3, key); !r.OK || r.EventsVerified != 30 || r.CheckpointsVerified != 1 {
					t.Fatalf("verify after recovery = %+v", r)
				}
				pending, err := d.Client.AuditArchive.Query().Where(auditarchive.StatusNEQ(auditarchive.StatusArchived)).Count(viewer.SystemContext(ctx))
				if err != nil || pending != 0 {
					t.Fatalf("unfinished batches = %d, %v", pending, err)
				}
			})
		})
	}
}

// TestArchiveUploadedBatchWithLostObjects: an uploaded batch whose objects
// vanished is uploaded again from its hot rows before anything is deleted.
func TestArchiveUploadedBatchWithLostObjects(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		key := newKey(t)
		s3 := newS3Store(t)
		writeEvents(t, d, 6)
		a := newArchiver(t, d, s3, key)
		archive.SetStep(a, func(name string, _ int64) error {
			if name == "uploaded" {
				return errInjected
			}
			return nil
		})
		if _, err := a.RunOnce(ctx, archive.Options{Now: later()}); !errors.Is(err, errInjected) {
			t.Fatalf("first run = %v", err)
		}
		// The manifest is replaced by garbage: the recorded sha256 no longer
		// matches, but every hot row is still there.
		_, mk := archive.Keys(archive.DefaultPrefix, 1, 5)
		if _, err := s3.Put(ctx, mk, []byte("{}"), "application/json"); err != nil {
			t.Fatal(err)
		}
		res, err := newArchiver(t, d, s3, key).RunOnce(ctx, archive.Options{Now: later()})
		if err != nil || len(res.Batches) != 1 || res.Events != 5 {
			t.Fatalf("second run = %+v, %v", res, err)
		}
		assertExactlyOnce(t, d, s3, key, 6)
		if r := verifyAll(t, d, s3, key); !r.OK || r.EventsVerified != 6 {
			t.Fatalf("verify = %+v", r)
		}
	})
}

// TestArchiveOneRunnerAtATime: concurrent runs never archive a range twice;
// the loser of the lock gets ErrBusy.
func TestArchiveOneRunnerAtATime(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		key := newKey(t)
		s3 := newS3Store(t)
		writeEvents(t, d, 40)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = newArchiver(t, d, s3, key).RunOnce(ctx, archive.Options{BatchSize: 5, Now: later()})
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil && !errors.Is(err, archive.ErrBusy) {
				t.Fatalf("concurrent run: %v", err)
			}
		}
		// Whatever the interleaving, a final run completes the work.
		if _, err := newArchiver(t, d, s3, key).RunOnce(ctx, archive.Options{BatchSize: 5, Now: later()}); err != nil {
			t.Fatal(err)
		}
		assertExactlyOnce(t, d, s3, key, 40)
		if r := verifyAll(t, d, s3, key); !r.OK || r.EventsVerified != 40 {
			t.Fatalf("verify = %+v", r)
		}
	})
}

// TestArchiveBusyWhileLocked: a run while another holds the lock does
// nothing and returns ErrBusy.
func TestArchiveBusyWhileLocked(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		key := newKey(t)
		s3 := newS3Store(t)
		writeEvents(t, d, 3)
		holder := newArchiver(t, d, s3, key)
		entered, release := make(chan struct{}), make(chan struct{})
		archive.SetStep(holder, func(name string, _ int64) error {
			if name == "put" {
				close(entered)
				<-release
			}
			return nil
		})
		done := make(chan error, 1)
		go func() {
			_, err := holder.RunOnce(ctx, archive.Options{Now: later()})
			done <- err
		}()
		<-entered
		_, err := newArchiver(t, d, s3, key).RunOnce(ctx, archive.Options{Now: later()})
		close(release)
		if !errors.Is(err, archive.ErrBusy) {
			t.Fatalf("run while locked = %v, want ErrBusy", err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		assertExactlyOnce(t, d, s3, key, 3)
	})
}
