// Package gobuild builds Go main packages for tests through a binary cache
// shared by every test process of a run and by later runs.
//
// A binary is cached under a key that hashes everything the linker reads:
// the content hashes of the compiled archives of the package and of all
// its dependencies (from "go list -deps -export", which the go command
// keeps up to date from the sources, embedded files and build flags), the
// module version of each, and the toolchain and GOFLAGS. Any change to a
// source file the binary is built from gives a new key, so a stale binary
// is never reused; an unchanged binary is linked once. A lock file per key
// makes parallel test processes wait for one build instead of each doing
// it.
package gobuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// unusedFor is how long a cached binary may go unused before Build
// removes it.
const unusedFor = 72 * time.Hour

// env is the environment of every go command: pure Go binaries, like the
// release builds.
func env() []string { return append(os.Environ(), "CGO_ENABLED=0") }

// Build builds the main package pkg (an import path or ./relative path,
// resolved in the current directory's module) into the executable out,
// reusing a cached binary when one was built from the same inputs.
func Build(ctx context.Context, pkg, out string) error {
	key, err := cacheKey(ctx, pkg)
	if err != nil {
		return err
	}
	dir, err := cacheDir()
	if err != nil {
		return err
	}
	trimOnce.Do(func() { trim(dir) })
	cached := filepath.Join(dir, key)
	for attempt := 0; ; attempt++ {
		if err := ensure(ctx, pkg, cached); err != nil {
			return err
		}
		now := time.Now()
		_ = os.Chtimes(cached, now, now) // marks it used for trim
		// A copy, not a link: a test may overwrite or corrupt its binary.
		err := copyFile(cached, out)
		if err == nil || !errors.Is(err, fs.ErrNotExist) || attempt > 0 {
			return err
		}
		// Another process's trim removed it in between: build it again.
	}
}

// ensure builds pkg into cached unless it exists, holding the key's lock
// so that concurrent callers build it once.
func ensure(ctx context.Context, pkg, cached string) error {
	if _, err := os.Stat(cached); err == nil {
		return nil
	}
	unlock, err := lock(cached + ".lock")
	if err != nil {
		return fmt.Errorf("gobuild: lock %s: %w", cached, err)
	}
	defer unlock()
	if _, err := os.Stat(cached); err == nil {
		return nil // built by another process while this one waited
	}
	tmp := fmt.Sprintf("%s.tmp%d", cached, os.Getpid())
	defer os.Remove(tmp)
	// No VCS stamp: it would record the work tree's state, which the key
	// does not cover.
	cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", tmp, pkg)
	cmd.Env = env()
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	// The rename publishes a complete binary: readers never see a partial one.
	if err := os.Rename(tmp, cached); err != nil {
		return fmt.Errorf("gobuild: %w", err)
	}
	return nil
}

// cacheKey hashes the inputs of linking pkg.
func cacheKey(ctx context.Context, pkg string) (string, error) {
	h := sha256.New()
	goEnv := exec.CommandContext(ctx, "go", "env", "GOVERSION", "GOOS", "GOARCH", "GOEXPERIMENT", "GOFLAGS", "GOROOT")
	goEnv.Env = env()
	b, err := goEnv.Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	h.Write(b)
	const format = `{{.ImportPath}} {{.Export}}{{with .Module}} {{.Path}} {{.Version}}{{with .Replace}} => {{.Path}} {{.Version}}{{end}}{{end}}`
	list := exec.CommandContext(ctx, "go", "list", "-deps", "-export", "-f", format, pkg)
	list.Env = env()
	var stderr bytes.Buffer
	list.Stderr = &stderr
	b, err = list.Output()
	if err != nil {
		return "", fmt.Errorf("go list %s: %w\n%s", pkg, err, stderr.Bytes())
	}
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// userCacheDir is os.UserCacheDir; tests swap it for a private one.
var userCacheDir = os.UserCacheDir

// cacheDir returns the shared cache directory, creating it.
func cacheDir() (string, error) {
	base, err := userCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "dezky", "test-binaries")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("gobuild: cache dir: %w", err)
	}
	return dir, nil
}

var trimOnce sync.Once

// trim removes cached binaries, leftovers of failed builds and lock files
// unused for a while. Racing another process costs at most a second build:
// a removed binary makes its next user build it again, and a removed lock
// file lets two processes build the same key, each publishing a complete
// binary by rename.
func trim(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > unusedFor {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("gobuild: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return fmt.Errorf("gobuild: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("gobuild: copy to %s: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("gobuild: %w", err)
	}
	return nil
}
