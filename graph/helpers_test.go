package graph_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/dezky/platform/ent/migrate"
	"github.com/dezky/platform/internal/testserver"
)

// countRows returns a digest of every row of every table, so a test can
// assert that a rejected operation changed nothing at all.
func countRows(t *testing.T, s *testserver.Server) string {
	t.Helper()
	h := sha256.New()
	for _, tbl := range migrate.Tables {
		rows, err := s.DB.SQL.Query(fmt.Sprintf(`SELECT * FROM %q ORDER BY id`, tbl.Name))
		if err != nil {
			t.Fatalf("snapshot %s: %v", tbl.Name, err)
		}
		cols, _ := rows.Columns()
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
	}
	return hex.EncodeToString(h.Sum(nil))
}
