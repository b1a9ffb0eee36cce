// Command migrategen writes a new versioned PostgreSQL migration that brings
// the migration directory in line with the ent schema. It replays the
// existing files on a throwaway cluster, diffs against the schema and writes
// <timestamp>_<name>.sql when something changed. Run it through
// `make migration name=<what_changed>`.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql/schema"
	_ "github.com/lib/pq" // PostgreSQL driver

	entmigrate "github.com/dezky/platform/ent/migrate"
	"github.com/dezky/platform/internal/testing/pgcluster"
)

func main() {
	name := flag.String("name", "", "short snake_case description of the change")
	dir := flag.String("dir", "internal/db/migrations/postgres", "migration directory")
	flag.Parse()
	if *name == "" {
		log.Fatal("migrategen: -name is required")
	}
	if err := run(*dir, *name); err != nil {
		log.Fatal(err)
	}
}

func run(dir, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx)
	if err != nil {
		return err
	}
	defer c.Stop()
	// Replay the existing files in a scratch directory that atlas can read
	// (its format, with a sum file), then diff and copy the new file back.
	scratch, err := os.MkdirTemp("", "dezky-migrategen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	before := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.sql"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(scratch, filepath.Base(f)), b, 0o644); err != nil {
			return err
		}
		before[filepath.Base(f)] = true
	}
	adir, err := migrate.NewLocalDir(scratch)
	if err != nil {
		return err
	}
	sum, err := adir.Checksum()
	if err != nil {
		return err
	}
	if err := migrate.WriteSumFile(adir, sum); err != nil {
		return err
	}
	err = entmigrate.NamedDiff(ctx, c.URL("postgres"), name,
		schema.WithDir(adir),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDialect(dialect.Postgres),
		schema.WithFormatter(migrate.DefaultFormatter),
	)
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	out, _ := filepath.Glob(filepath.Join(scratch, "*.sql"))
	wrote := 0
	for _, f := range out {
		base := filepath.Base(f)
		if before[base] || !strings.HasSuffix(base, ".sql") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, base), b, 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", filepath.Join(dir, base))
		wrote++
	}
	if wrote == 0 {
		fmt.Println("schema unchanged: no migration written")
	}
	return nil
}
