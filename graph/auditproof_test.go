package graph_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

func hashesOf(t *testing.T, in []string) []tlog.Hash {
	t.Helper()
	out := make([]tlog.Hash, len(in))
	for i, s := range in {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			t.Fatalf("hash %q: %v", s, err)
		}
		out[i] = tlog.Hash(b)
	}
	return out
}

// chainedSeqs returns the seqs of the chained audit events the role sees.
func chainedSeqs(t *testing.T, s *testserver.Server, as string) map[int]bool {
	t.Helper()
	var data struct {
		AuditEvents struct {
			Edges []struct{ Node struct{ Seq *int } }
		}
	}
	s.Query(as, `{ auditEvents(first: 100) { edges { node { seq } } } }`, nil).Decode(t, &data)
	out := map[int]bool{}
	for _, e := range data.AuditEvents.Edges {
		if e.Node.Seq != nil {
			out[*e.Node.Seq] = true
		}
	}
	return out
}

// TestAuditProofAPI: a tenant admin gets inclusion proofs of its own
// events (checked with tlog.CheckRecord against the signed checkpoint) and
// NOT_FOUND for every other event; consistency proofs check with
// tlog.CheckTree; bad sizes are BAD_USER_INPUT; the HTTP bundle verifies
// offline with `dezky audit verify-proof` and fails with another key or a
// changed event.
func TestAuditProofAPI(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			s.Query("operator", `mutation { createAuditCheckpoint { headSeq } }`, nil).Decode(t, &struct{}{})
			all := chainedSeqs(t, s, "operator")
			own := chainedSeqs(t, s, "admin:acme")
			if len(own) == 0 || len(own) == len(all) {
				t.Fatalf("admin:acme sees %d of %d events", len(own), len(all))
			}
			var key struct{ AuditSigningKey struct{ PublicKey string } }
			s.Query("member:acme", `{ auditSigningKey { publicKey } }`, nil).Decode(t, &key)
			pub, err := audit.ParsePublicKey([]byte(key.AuditSigningKey.PublicKey))
			if err != nil {
				t.Fatal(err)
			}
			const q = `query($seq: Int!, $size: Int) { auditInclusionProof(seq: $seq, treeSize: $size) { seq treeSize leafHash rootHash hashes checkpoint } }`
			type proof struct {
				Seq, TreeSize      int64
				LeafHash, RootHash string
				Hashes             []string
				Checkpoint         *string
			}
			for seq := range all {
				rsp := s.Query("admin:acme", q, map[string]any{"seq": seq})
				if !own[seq] {
					if rsp.Code() != "NOT_FOUND" {
						t.Fatalf("admin:acme proof of another tenant's seq %d: %s", seq, rsp.Body)
					}
					continue
				}
				var p struct{ AuditInclusionProof proof }
				rsp.Decode(t, &p)
				ip := p.AuditInclusionProof
				if ip.Checkpoint == nil {
					t.Fatalf("proof of seq %d has no checkpoint", seq)
				}
				th, _, err := audit.OpenTreeHead([]byte(*ip.Checkpoint), []ed25519.PublicKey{pub})
				if err != nil || th.Size != ip.TreeSize || th.Root.String() != ip.RootHash {
					t.Fatalf("checkpoint of seq %d: %+v, %v (proof %+v)", seq, th, err, ip)
				}
				leaf := hashesOf(t, []string{ip.LeafHash})[0]
				if err := tlog.CheckRecord(hashesOf(t, ip.Hashes), th.Size, th.Root, int64(seq)-1, leaf); err != nil {
					t.Fatalf("inclusion of seq %d: %v", seq, err)
				}
				// At every larger size too.
				for size := int64(seq); size <= th.Size; size++ {
					var p struct{ AuditInclusionProof proof }
					s.Query("admin:acme", q, map[string]any{"seq": seq, "size": size}).Decode(t, &p)
					root := hashesOf(t, []string{p.AuditInclusionProof.RootHash})[0]
					if err := tlog.CheckRecord(hashesOf(t, p.AuditInclusionProof.Hashes), size, root, int64(seq)-1, leaf); err != nil {
						t.Fatalf("inclusion of seq %d in %d: %v", seq, size, err)
					}
				}
			}
			n := int64(len(all))
			var c struct {
				AuditConsistencyProof struct {
					FromRoot, ToRoot string
					Hashes           []string
				}
			}
			for from := int64(1); from <= n; from++ {
				s.Query("member:acme", `query($f: Int!, $t: Int!) { auditConsistencyProof(fromSize: $f, toSize: $t) { fromSize toSize fromRoot toRoot hashes } }`,
					map[string]any{"f": from, "t": n}).Decode(t, &c)
				cp := c.AuditConsistencyProof
				if err := tlog.CheckTree(hashesOf(t, cp.Hashes), n, hashesOf(t, []string{cp.ToRoot})[0], from, hashesOf(t, []string{cp.FromRoot})[0]); err != nil {
					t.Fatalf("consistency %d→%d: %v", from, n, err)
				}
			}
			for _, bad := range []struct {
				q    string
				vars map[string]any
			}{
				{q, map[string]any{"seq": 1, "size": n + 1000}},
				{`{ auditConsistencyProof(fromSize: 3, toSize: 2) { hashes } }`, nil},
				{`{ auditConsistencyProof(fromSize: 1, toSize: 100000) { hashes } }`, nil},
			} {
				if rsp := s.Query("operator", bad.q, bad.vars); rsp.Code() != "BAD_USER_INPUT" {
					t.Fatalf("%s %v: %s", bad.q, bad.vars, rsp.Body)
				}
			}
			if rsp := s.Query("", q, map[string]any{"seq": 1}); rsp.Code() != "UNAUTHENTICATED" {
				t.Fatalf("anonymous proof: %s", rsp.Body)
			}

			// The HTTP bundle of an own event, verified offline.
			var seq int
			for k := range own {
				seq = max(seq, k)
			}
			get := func(as string, seq int) (int, []byte) {
				req, _ := http.NewRequest(http.MethodGet, s.URL+"/audit/events/"+strconv.Itoa(seq)+"/proof", nil)
				if as != "" {
					req.Header.Set("Authorization", "Bearer "+s.Token(as))
				}
				rsp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer rsp.Body.Close()
				b, _ := io.ReadAll(rsp.Body)
				return rsp.StatusCode, b
			}
			for other := range all {
				if !own[other] {
					if code, body := get("admin:acme", other); code != http.StatusNotFound {
						t.Fatalf("bundle of another tenant's seq %d: %d %s", other, code, body)
					}
					break
				}
			}
			if code, _ := get("", seq); code != http.StatusUnauthorized && code != http.StatusNotFound {
				t.Fatalf("anonymous bundle: %d", code)
			}
			code, bundle := get("admin:acme", seq)
			if code != http.StatusOK {
				t.Fatalf("bundle: %d %s", code, bundle)
			}
			dir := t.TempDir()
			bundleFile, pubFile := filepath.Join(dir, "bundle.json"), filepath.Join(dir, "log.pub")
			os.WriteFile(bundleFile, bundle, 0o600)
			os.WriteFile(pubFile, []byte(key.AuditSigningKey.PublicKey), 0o600)
			var out bytes.Buffer
			if err := app.Run(context.Background(), []string{"audit", "verify-proof", "--public-key", pubFile, bundleFile}, &out, io.Discard); err != nil {
				t.Fatalf("verify-proof: %v\n%s", err, out.String())
			}
			otherPub, _, _ := ed25519.GenerateKey(nil)
			otherFile := filepath.Join(dir, "other.pub")
			os.WriteFile(otherFile, []byte(base64.StdEncoding.EncodeToString(otherPub)), 0o600)
			if err := app.Run(context.Background(), []string{"audit", "verify-proof", "--public-key", otherFile, bundleFile}, io.Discard, io.Discard); err == nil {
				t.Fatal("bundle verified with another key")
			}
			// A changed event (hash recomputed by the forger) is not in the signed tree.
			e, _, err := audit.VerifyBundle(bundle, []ed25519.PublicKey{pub})
			if err != nil {
				t.Fatal(err)
			}
			e.ActorEmail = "someone-else@example.com"
			if e.Hash, err = audit.HashEntry(e); err != nil {
				t.Fatal(err)
			}
			line, _ := audit.MarshalLine(e)
			forged := bytes.Replace(bundle, bundleEvent(t, bundle), line, 1)
			if _, _, err := audit.VerifyBundle(forged, []ed25519.PublicKey{pub}); err == nil {
				t.Fatal("bundle with a changed event verified")
			}
		})
	}
}

func bundleEvent(t *testing.T, bundle []byte) []byte {
	t.Helper()
	var b audit.Bundle
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	return b.Event
}
