package audit

import "github.com/dezky/platform/internal/db"

// Bind is bind, for the external tests.
func Bind(d *db.DB, q string) string { return bind(d, q) }
