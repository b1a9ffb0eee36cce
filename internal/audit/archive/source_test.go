package archive_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/audit/archive"
	"github.com/dezky/platform/internal/testing/testdb"
)

// archived returns a SQLite database with 20 events, 1-19 archived in
// batches of 10 to an in-process S3, and the store and key.
func archived(t *testing.T) (*archive.S3Store, *audit.SigningKey, func() audit.Report) {
	t.Helper()
	d := testdb.Open(t, "sqlite3")
	key := newKey(t)
	s3 := newS3Store(t)
	writeEvents(t, d, 20)
	if _, err := newArchiver(t, d, s3, key).RunOnce(context.Background(), archive.Options{BatchSize: 10, Now: later()}); err != nil {
		t.Fatal(err)
	}
	return s3, key, func() audit.Report { return verifyAll(t, d, s3, key) }
}

func rewriteObject(t *testing.T, s *archive.S3Store, key string, edit func(jsonl []byte) []byte) {
	t.Helper()
	ctx := context.Background()
	gz, err := s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	jsonl, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(edit(jsonl))
	zw.Close()
	if _, err := s.Put(ctx, key, buf.Bytes(), "application/gzip"); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyArchiveTampering: each kind of tampering with the archive is
// reported with its exact kind and seq.
func TestVerifyArchiveTampering(t *testing.T) {
	ctx := context.Background()
	jk1, mk1 := archive.Keys(archive.DefaultPrefix, 1, 10)
	_, mk2 := archive.Keys(archive.DefaultPrefix, 11, 19)
	cases := []struct {
		name   string
		tamper func(t *testing.T, s *archive.S3Store, key *audit.SigningKey)
		kind   string
		seq    int64
	}{
		{"altered event", func(t *testing.T, s *archive.S3Store, _ *audit.SigningKey) {
			rewriteObject(t, s, jk1, func(b []byte) []byte {
				return bytes.Replace(b, []byte(`"resourceId":"4"`), []byte(`"resourceId":"X"`), 1)
			})
		}, audit.BreakEventHash, 4},
		{"dropped event", func(t *testing.T, s *archive.S3Store, _ *audit.SigningKey) {
			rewriteObject(t, s, jk1, func(b []byte) []byte {
				lines := bytes.SplitAfter(b, []byte("\n"))
				return bytes.Join(append(lines[:5:5], lines[6:]...), nil)
			})
		}, audit.BreakSequenceGap, 6},
		{"forged manifest signature", func(t *testing.T, s *archive.S3Store, _ *audit.SigningKey) {
			b, err := s.Get(ctx, mk2)
			if err != nil {
				t.Fatal(err)
			}
			m, err := archive.ParseManifest(b)
			if err != nil {
				t.Fatal(err)
			}
			m.LastHash = m.FirstHash
			out, _ := archive.MarshalManifest(m)
			s.Put(ctx, mk2, out, "application/json")
		}, audit.BreakCheckpointSig, 19},
		{"manifest signed by another key", func(t *testing.T, s *archive.S3Store, _ *audit.SigningKey) {
			b, _ := s.Get(ctx, mk1)
			m, err := archive.ParseManifest(b)
			if err != nil {
				t.Fatal(err)
			}
			archive.SignManifest(&m, newKey(t))
			out, _ := archive.MarshalManifest(m)
			s.Put(ctx, mk1, out, "application/json")
		}, audit.BreakCheckpointSig, 10},
		{"recompressed object", func(t *testing.T, s *archive.S3Store, _ *audit.SigningKey) {
			rewriteObject(t, s, jk1, func(b []byte) []byte { return b })
		}, audit.BreakCheckpointSig, 10},
		{"lost batch", func(t *testing.T, s *archive.S3Store, _ *audit.SigningKey) {
			// The objects of 1-10 are replaced by nothing under their keys:
			// a manifest that names a missing object.
			b, _ := s.Get(ctx, mk1)
			m, _ := archive.ParseManifest(b)
			m.JSONLKey = "audit/elsewhere.jsonl.gz"
			out, _ := archive.MarshalManifest(m)
			s.Put(ctx, mk1, out, "application/json")
		}, audit.BreakSequenceGap, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, key, verify := archived(t)
			if r := verify(); !r.OK || r.EventsVerified != 20 {
				t.Fatalf("before tampering: %+v", r)
			}
			c.tamper(t, s, key)
			r := verify()
			if r.OK || r.Break == nil || r.Break.Kind != c.kind || r.Break.Seq != c.seq {
				t.Fatalf("report = %+v (break %+v), want %s at seq %d", r, r.Break, c.kind, c.seq)
			}
		})
	}
}

// TestS3Store: the minio-go store against an in-process S3 server,
// path-style: put, head, get, list in key order, not-found mapping; the
// config never prints its secret.
func TestS3Store(t *testing.T) {
	ctx := context.Background()
	cfg := fakeS3(t)
	s, err := archive.NewS3Store(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"p/b", "p/a", "q/c"} {
		info, err := s.Put(ctx, k, []byte("body "+k), "text/plain")
		if err != nil {
			t.Fatal(err)
		}
		h, err := s.Head(ctx, k)
		if err != nil || h.Size != int64(len("body "+k)) || h.ETag != info.ETag || h.ETag == "" {
			t.Fatalf("head %s = %+v, %v (put %+v)", k, h, err, info)
		}
	}
	if b, err := s.Get(ctx, "p/a"); err != nil || string(b) != "body p/a" {
		t.Fatalf("get = %q, %v", b, err)
	}
	list, err := s.List(ctx, "p/")
	if err != nil || len(list) != 2 || list[0].Key != "p/a" || list[1].Key != "p/b" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if _, err := s.Head(ctx, "p/missing"); !errors.Is(err, archive.ErrNotFound) {
		t.Fatalf("head missing = %v", err)
	}
	if _, err := s.Get(ctx, "p/missing"); !errors.Is(err, archive.ErrNotFound) {
		t.Fatalf("get missing = %v", err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("store", "s3", cfg)
	for _, out := range []string{logged.String(), cfg.String()} {
		if strings.Contains(out, cfg.SecretKey) || strings.Contains(out, cfg.AccessKey) || !strings.Contains(out, cfg.Bucket) {
			t.Fatalf("config rendered as %q", out)
		}
	}
	if _, err := archive.NewS3Store(archive.S3Config{Endpoint: "ftp://x", Bucket: "b"}); err == nil {
		t.Fatal("ftp endpoint accepted")
	}
}

// TestManifestRoundTrip: a signed manifest survives marshal/parse, verifies
// with its key only, and any change of a signed member breaks it.
func TestManifestRoundTrip(t *testing.T) {
	key := newKey(t)
	m := sampleManifest()
	archive.SignManifest(&m, key)
	b, err := archive.MarshalManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := archive.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.VerifySignature([]ed25519.PublicKey{key.Public}) || !bytes.Equal(got.Message(), m.Message()) {
		t.Fatalf("round trip lost the signature: %+v", got)
	}
	if got.VerifySignature([]ed25519.PublicKey{newKey(t).Public}) {
		t.Fatal("verified with another key")
	}
	got.GzipBytes++
	if got.VerifySignature([]ed25519.PublicKey{key.Public}) {
		t.Fatal("verified after a change")
	}
	for _, bad := range []string{
		`{}`,
		strings.Replace(string(b), `"version":1`, `"version":2`, 1),
		strings.Replace(string(b), `"count":10`, `"count":9`, 1),
		strings.Replace(string(b), `"jsonlKey":"audit/x.jsonl.gz"`, `"jsonlKey":"../x"`, 1),
		strings.Replace(string(b), `{`, `{"extra":1,`, 1),
		string(b) + `{}`,
	} {
		if _, err := archive.ParseManifest([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func sampleManifest() archive.Manifest {
	h := strings.Repeat("ab", 32)
	return archive.Manifest{Version: 1, StartSeq: 11, EndSeq: 20, Count: 10, JSONLKey: "audit/x.jsonl.gz",
		JSONLSha256: h, GzipSha256: h, GzipBytes: 123, FirstPrevHash: h, FirstHash: h, LastHash: h,
		CreatedAt: later()}
}

// FuzzParseManifest: the parser never panics, and what it accepts
// marshals back to a manifest it parses to the same signed message.
func FuzzParseManifest(f *testing.F) {
	key, err := audit.LoadOrCreateKey(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	m := sampleManifest()
	archive.SignManifest(&m, key)
	b, _ := archive.MarshalManifest(m)
	f.Add(b)
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := archive.ParseManifest(data)
		if err != nil {
			return
		}
		out, err := archive.MarshalManifest(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := archive.ParseManifest(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if !bytes.Equal(again.Message(), m.Message()) || again.Signature != m.Signature {
			t.Fatalf("round trip changed the manifest: %s", out)
		}
	})
}
