package graph_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

func TestAuditChainAPI(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			s.Query("operator", `mutation { suspendTenant(slug: "acme") { id } }`, nil).Decode(t, &struct{}{})
			var cp struct {
				CreateAuditCheckpoint struct {
					HeadSeq         int
					HeadHash, KeyID string
					Algorithm       string
					Signature       string
					Reason          string
				}
			}
			s.Query("operator", `mutation { createAuditCheckpoint { headSeq headHash keyId algorithm signature reason } }`, nil).Decode(t, &cp)
			c := cp.CreateAuditCheckpoint
			if c.HeadSeq < 15 || len(c.HeadHash) != 64 || c.Algorithm != "ed25519" || c.Signature == "" {
				t.Fatalf("checkpoint = %+v", c)
			}
			var key struct {
				AuditSigningKey struct{ KeyID, Algorithm, PublicKey string }
			}
			s.Query("member:acme", `{ auditSigningKey { keyId algorithm publicKey } }`, nil).Decode(t, &key)
			if key.AuditSigningKey.KeyID != c.KeyID || !strings.Contains(key.AuditSigningKey.PublicKey, "PUBLIC KEY") {
				t.Fatalf("signing key = %+v, checkpoint key %s", key.AuditSigningKey, c.KeyID)
			}
			rsp, err := http.Get(s.URL + "/audit/signing-key.pub")
			if err != nil {
				t.Fatal(err)
			}
			pub, _ := io.ReadAll(rsp.Body)
			rsp.Body.Close()
			if string(pub) != key.AuditSigningKey.PublicKey {
				t.Fatalf("published key file differs from the API's")
			}

			verify := func() (ok bool, events int, brk map[string]any) {
				var v struct {
					VerifyAuditChain struct {
						OK             bool
						EventsVerified int
						Break          map[string]any
					}
				}
				s.Query("operator", `{ verifyAuditChain { ok eventsVerified checkpointsVerified break { kind seq expected actual } } }`, nil).Decode(t, &v)
				return v.VerifyAuditChain.OK, v.VerifyAuditChain.EventsVerified, v.VerifyAuditChain.Break
			}
			if ok, n, brk := verify(); !ok || n < c.HeadSeq {
				t.Fatalf("verify: ok %v, %d events, break %v", ok, n, brk)
			}
			for _, tc := range []struct{ as, query, code string }{
				{"admin:acme", `{ verifyAuditChain { ok } }`, "FORBIDDEN"},
				{"partner:northwind", `mutation { createAuditCheckpoint { headSeq } }`, "FORBIDDEN"},
				{"operator", `mutation { createAuditCheckpoint { headSeq } resumeTenant(slug: "acme") { id } }`, "BAD_USER_INPUT"},
			} {
				if rsp := s.Query(tc.as, tc.query, nil); rsp.Code() != tc.code {
					t.Fatalf("%s %s: %s", tc.as, tc.query, rsp.Body)
				}
			}
			// Tamper with a chained row behind the API's back.
			if _, err := s.DB.SQL.Exec(fmt.Sprintf(`UPDATE audit_events SET action = 'tenant.resumed' WHERE seq = %d`, c.HeadSeq-1)); err != nil {
				t.Fatal(err)
			}
			ok, _, brk := verify()
			if ok || brk["kind"] != "event-hash-mismatch" || brk["seq"] != float64(c.HeadSeq-1) {
				t.Fatalf("after tampering: ok %v, break %v", ok, brk)
			}
		})
	}
}
