package audit

import (
	"fmt"
	"strings"

	"github.com/dezky/platform/internal/db"
)

// Bind turns the $1..$9 placeholders of a hand-written test statement into
// SQLite's ?1..?9 (PostgreSQL statements are returned as they are).
func Bind(d *db.DB, q string) string {
	if d.IsPostgres() {
		return q
	}
	var pairs []string
	for i := 9; i >= 1; i-- {
		pairs = append(pairs, fmt.Sprintf("$%d", i), fmt.Sprintf("?%d", i))
	}
	return strings.NewReplacer(pairs...).Replace(q)
}
