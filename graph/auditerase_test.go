package graph_test

import (
	"strings"
	"testing"

	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

// TestAuditEraseAPI: only operators may erase a subject; afterwards the
// subject's events read "[erased]" with erasedFields naming the fields, in
// GraphQL and in the CSV export, the chain verifies, the event's inclusion
// proof in the tree signed before is unchanged, the erasure is audited
// without the address, and erasing again changes nothing.
func TestAuditEraseAPI(t *testing.T) {
	const subject = "admin@acme.example"
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			s := testserver.Start(t, d)
			s.Query("admin:acme", `mutation { updateTenant(slug: "acme", input: {brandColor: "#112233"}) { brandColor } }`, nil).Decode(t, &struct{}{})
			var cp struct{ CreateAuditCheckpoint struct{ HeadSeq int } }
			s.Query("operator", `mutation { createAuditCheckpoint { headSeq } }`, nil).Decode(t, &cp)

			type node struct {
				Seq          int
				Action       string
				ActorEmail   *string
				ActorIP      *string `json:"actorIP"`
				Metadata     map[string]any
				ErasedFields []string
			}
			events := func(action string) []node {
				var data struct {
					AuditEvents struct{ Edges []struct{ Node node } }
				}
				var a any
				if action != "" {
					a = action
				}
				s.Query("operator", `query($a: String) { auditEvents(first: 100, where: {action: $a}) { edges { node { seq action actorEmail actorIP metadata erasedFields } } } }`,
					map[string]any{"a": a}).Decode(t, &data)
				var out []node
				for _, e := range data.AuditEvents.Edges {
					out = append(out, e.Node)
				}
				return out
			}
			updated := events("tenant.updated")
			if len(updated) != 1 || updated[0].ActorEmail == nil || *updated[0].ActorEmail != subject || len(updated[0].ErasedFields) != 0 {
				t.Fatalf("before erasure: %+v", updated)
			}
			seq := updated[0].Seq
			const proofQ = `query($seq: Int!, $size: Int) { auditInclusionProof(seq: $seq, treeSize: $size) { leafHash rootHash hashes } }`
			var before struct {
				AuditInclusionProof struct{ LeafHash, RootHash string }
			}
			s.Query("operator", proofQ, map[string]any{"seq": seq, "size": cp.CreateAuditCheckpoint.HeadSeq}).Decode(t, &before)

			const eraseQ = `mutation($e: String!) { eraseAuditSubject(email: $e) { events fields archivedBatches archivedEvents archivedFields legacyEvents } }`
			for _, role := range []string{"admin:acme", "member:acme", "partner:northwind", "admin:globex"} {
				if rsp := s.Query(role, eraseQ, map[string]any{"e": subject}); rsp.Code() != "FORBIDDEN" {
					t.Fatalf("%s erasing: %s", role, rsp.Body)
				}
			}
			if rsp := s.Query("operator", eraseQ, map[string]any{"e": "nobody"}); rsp.Code() != "BAD_USER_INPUT" {
				t.Fatalf("bad address: %s", rsp.Body)
			}
			if rsp := s.Query("operator", `mutation { eraseAuditSubject(email: "x@example.com") { events } resumeTenant(slug: "acme") { id } }`, nil); rsp.Code() != "BAD_USER_INPUT" {
				t.Fatalf("erasure beside another field: %s", rsp.Body)
			}
			type erasure struct {
				Events, Fields, ArchivedBatches, ArchivedEvents, ArchivedFields, LegacyEvents int
			}
			var res struct{ EraseAuditSubject erasure }
			s.Query("operator", eraseQ, map[string]any{"e": strings.ToUpper(subject)}).Decode(t, &res)
			if res.EraseAuditSubject.Events < 1 || res.EraseAuditSubject.Fields < res.EraseAuditSubject.Events || res.EraseAuditSubject.LegacyEvents != 0 {
				t.Fatalf("erasure: %+v", res.EraseAuditSubject)
			}

			updated = events("tenant.updated")
			if len(updated) != 1 || updated[0].ActorEmail == nil || *updated[0].ActorEmail != "[erased]" ||
				strings.Join(updated[0].ErasedFields, ",") != "actorEmail,actorIp" || *updated[0].ActorIP != "[erased]" {
				t.Fatalf("after erasure: %+v", updated)
			}
			var after struct {
				AuditInclusionProof struct{ LeafHash, RootHash string }
			}
			s.Query("operator", proofQ, map[string]any{"seq": seq, "size": cp.CreateAuditCheckpoint.HeadSeq}).Decode(t, &after)
			if after.AuditInclusionProof != before.AuditInclusionProof {
				t.Fatalf("inclusion proof changed by erasure: %+v → %+v", before, after)
			}
			var v struct {
				VerifyAuditChain struct {
					OK             bool `json:"ok"`
					EventsVerified int
					Break          any
				}
			}
			s.Query("operator", `mutation { createAuditCheckpoint { headSeq } }`, nil).Decode(t, &struct{}{})
			s.Query("operator", `{ verifyAuditChain { ok eventsVerified break { kind seq expected actual } } }`, nil).Decode(t, &v)
			if !v.VerifyAuditChain.OK || v.VerifyAuditChain.EventsVerified < seq {
				t.Fatalf("verification after erasure: %+v", v.VerifyAuditChain)
			}

			// The erasure's own event: counts, no address.
			erased := events("audit.subject_erased")
			if len(erased) != 1 {
				t.Fatalf("erasure events: %+v", erased)
			}
			if row := strings.ToLower(strings.Join([]string{*erased[0].ActorEmail, *erased[0].ActorIP}, "|")) + mustJSON(erased[0].Metadata); strings.Contains(row, subject) {
				t.Fatalf("the erasure's audit event names the subject: %s", row)
			}

			// No audit event, and no exported row, still holds the address.
			for _, e := range events("") {
				if strings.Contains(strings.ToLower(mustJSON(e)), subject) {
					t.Fatalf("event %d still holds the subject: %+v", e.Seq, e)
				}
			}
			status, rows, _ := exportCSV(t, s, s.Token("operator"), nil)
			if status != 200 {
				t.Fatalf("export: HTTP %d", status)
			}
			sawErased := false
			for _, r := range rows {
				line := strings.Join(r, ",")
				if strings.Contains(strings.ToLower(line), subject) {
					t.Fatalf("exported row holds the subject: %v", r)
				}
				sawErased = sawErased || strings.Contains(line, "[erased]")
			}
			if !sawErased {
				t.Fatal("the export shows no erased field")
			}

			// Again: nothing left to erase.
			s.Query("operator", eraseQ, map[string]any{"e": subject}).Decode(t, &res)
			if res.EraseAuditSubject != (erasure{}) {
				t.Fatalf("second erasure: %+v", res.EraseAuditSubject)
			}
			s.Query("operator", `{ verifyAuditChain { ok eventsVerified break { kind seq expected actual } } }`, nil).Decode(t, &v)
			if !v.VerifyAuditChain.OK {
				t.Fatalf("verification after the second erasure: %+v", v.VerifyAuditChain)
			}
		})
	}
}
