package graph_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/dezky/platform/ent/migrate"
	"github.com/dezky/platform/internal/testing/testserver"
)

// background lists what the server's own background work changes at any
// time (chain linking, checkpoints, archive batches, ingest cursors): a
// digest leaves it out.
var background = map[string]bool{
	"audit_events.seq": true, "audit_events.prev_hash": true, "audit_events.hash": true,
	"audit_checkpoints": true, "audit_archives": true, "ingest_cursors": true,
	"audit_tree_hashes": true, "audit_cosignatures": true, // appended with the chain and the checkpoints
	"audit_events.personal": true, "audit_settings": true, // sealed by the chainer
}

// countRows returns a digest of every row of every table (but what the
// background work maintains), so a test can assert that a rejected
// operation changed nothing at all. The digest is one "table=hash" entry
// per table, so a difference names the tables that changed.
func countRows(t *testing.T, s *testserver.Server) string {
	t.Helper()
	var out []string
	for _, tbl := range migrate.Tables {
		h := sha256.New()
		if background[tbl.Name] {
			continue
		}
		var cols []string
		for _, c := range tbl.Columns {
			if !background[tbl.Name+"."+c.Name] {
				cols = append(cols, fmt.Sprintf("%q", c.Name))
			}
		}
		rows, err := s.DB.SQL.Query(fmt.Sprintf(`SELECT %s FROM %q ORDER BY id`, strings.Join(cols, ", "), tbl.Name))
		if err != nil {
			t.Fatalf("snapshot %s: %v", tbl.Name, err)
		}
		cols, _ = rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("snapshot %s: %v", tbl.Name, err)
			}
			fmt.Fprintf(h, "%s:%v\n", tbl.Name, vals)
			n++
		}
		rows.Close()
		fmt.Fprintf(h, "%s=%d\n", tbl.Name, n)
		out = append(out, tbl.Name+"="+hex.EncodeToString(h.Sum(nil))[:16])
	}
	return strings.Join(out, " ")
}

// changedTables names the tables whose digests differ between two
// countRows results.
func changedTables(before, after string) string {
	was := map[string]string{}
	for _, e := range strings.Fields(before) {
		k, v, _ := strings.Cut(e, "=")
		was[k] = v
	}
	var changed []string
	for _, e := range strings.Fields(after) {
		k, v, _ := strings.Cut(e, "=")
		if was[k] != v {
			changed = append(changed, k)
		}
	}
	return strings.Join(changed, ", ")
}
