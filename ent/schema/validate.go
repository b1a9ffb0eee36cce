package schema

import (
	"fmt"

	"github.com/dezky/platform/internal/inputcheck"
)

// line is the validator of single-line text fields: at most max bytes
// (0: no limit of its own), no control or invisible characters.
func line(max int) func(string) error {
	return func(s string) error {
		if max > 0 && len(s) > max {
			return fmt.Errorf("at most %d bytes", max)
		}
		return inputcheck.Line(s)
	}
}

// text is the validator of multi-line text fields: like line, but tab,
// line feed and carriage return are allowed.
func text(max int) func(string) error {
	return func(s string) error {
		if max > 0 && len(s) > max {
			return fmt.Errorf("at most %d bytes", max)
		}
		return inputcheck.Text(s)
	}
}
