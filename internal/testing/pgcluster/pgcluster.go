// Package pgcluster starts and stops a throwaway PostgreSQL cluster from the
// local server binaries (initdb, pg_ctl) in a temporary directory, for tests
// and for generating migrations. It runs as the current user, or as the
// "postgres" system user when the current user is root (initdb refuses to
// run as root). The cluster listens on 127.0.0.1 only, with trust auth, and
// keeps its files in RAM (/dev/shm) when there is room for them. initdb runs
// once per server version: its result is kept next to the clusters
// (dezky-pg-initdb-<hash>) and copied by each cluster.
package pgcluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Cluster is a running throwaway cluster.
type Cluster struct {
	dir      string
	bin      string
	runAs    string // "" = current user
	uid, gid int    // of runAs; -1 for the current user
	port     int
	opts     string // server options, to start it again after StopServer
	cancel   context.CancelFunc
}

// initdbArgs are the arguments of initdb besides the data directory.
var initdbArgs = []string{"-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"}

// initialised returns a data directory initdb made for this server version
// and user, made once in base and copied by every later cluster: initdb
// takes most of a cluster's start, and its result depends on nothing else.
// Concurrent first calls each run initdb; one result is published, by an
// atomic rename, and never changed afterwards.
func (c *Cluster) initialised(ctx context.Context, base string) (string, error) {
	ver, err := c.runIn(ctx, base, "initdb", "--version")
	if err != nil {
		return "", fmt.Errorf("pgcluster: initdb --version: %w: %s", err, ver)
	}
	sum := sha256.Sum256([]byte(strings.Join(append([]string{c.bin, ver, c.runAs}, initdbArgs...), "\x00")))
	dir := filepath.Join(base, "dezky-pg-initdb-"+hex.EncodeToString(sum[:8]))
	data := filepath.Join(dir, "data")
	if _, err := os.Stat(data); err == nil {
		return data, nil
	}
	tmp, err := c.mkdirTemp(base, "dezky-pg-initdb-tmp-")
	if err != nil {
		return "", err
	}
	if out, err := c.runIn(ctx, tmp, "initdb", append([]string{"-D", filepath.Join(tmp, "data")}, initdbArgs...)...); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("pgcluster: initdb: %w: %s", err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(data); serr != nil { // not published by another process either
			return "", fmt.Errorf("pgcluster: %w", err)
		}
	}
	return data, nil
}

// mkdirTemp makes a new directory in base owned by the server's user.
func (c *Cluster) mkdirTemp(base, pattern string) (string, error) {
	dir, err := os.MkdirTemp(base, pattern)
	if err != nil {
		return "", fmt.Errorf("pgcluster: temp dir: %w", err)
	}
	if c.uid >= 0 {
		if err := os.Chown(dir, c.uid, c.gid); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("pgcluster: chown: %w", err)
		}
	}
	return dir, nil
}

// ErrNoBinaries is returned when no PostgreSQL server binaries are found.
var ErrNoBinaries = errors.New("pgcluster: PostgreSQL server binaries (initdb, pg_ctl) not found; set PG_BIN or install postgresql")

// BinDir locates the directory holding initdb and pg_ctl: $PG_BIN, then
// PATH, then the newest /usr/lib/postgresql/<version>/bin.
func BinDir() (string, error) {
	if d := os.Getenv("PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	best, bestV := "", -1
	for _, m := range matches {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(m))))
		if err == nil && v > bestV {
			best, bestV = filepath.Dir(m), v
		}
	}
	if best == "" {
		return "", ErrNoBinaries
	}
	return best, nil
}

// Start initialises and starts a cluster. Stop must be called to remove it.
func Start(ctx context.Context) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	base := baseDir()
	c := &Cluster{bin: bin, uid: -1, gid: -1}
	if os.Geteuid() == 0 {
		c.runAs = "postgres"
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgcluster: running as root needs a 'postgres' system user: %w", err)
		}
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
	}
	initialised, err := c.initialised(ctx, base)
	if err != nil {
		return nil, err
	}
	c.dir, err = c.mkdirTemp(base, "dezky-pg-")
	if err != nil {
		return nil, err
	}
	data := filepath.Join(c.dir, "data")
	// cp -a keeps the owner (the postgres user when running as root) and
	// the 0700 mode the server insists on.
	if out, err := exec.CommandContext(ctx, "cp", "-a", initialised, data).CombinedOutput(); err != nil {
		c.Stop()
		return nil, fmt.Errorf("pgcluster: copy initialised data dir: %w: %s", err, out)
	}
	dir := c.dir
	port, err := freePort()
	if err != nil {
		c.Stop()
		return nil, err
	}
	c.port = port
	c.opts = fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", port, dir)
	if err := c.StartServer(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// StopServer shuts the server down (fast mode: open sessions are
// terminated with admin_shutdown) and keeps the data, so that StartServer
// brings the same cluster back on the same port: an outage.
func (c *Cluster) StopServer(ctx context.Context) error {
	if out, err := c.run(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pgcluster: stop server: %w: %s", err, out)
	}
	return nil
}

// StartServer starts the (stopped) server and waits until it accepts
// connections.
func (c *Cluster) StartServer(ctx context.Context) error {
	data := filepath.Join(c.dir, "data")
	if out, err := c.run(ctx, "pg_ctl", "-D", data, "-w", "-t", "60", "-l", filepath.Join(c.dir, "server.log"), "start", "-o", c.opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		return fmt.Errorf("pgcluster: start: %w: %s %s", err, out, log)
	}
	return nil
}

// URL returns the connection URL of database name on the cluster.
func (c *Cluster) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

// Stop stops the cluster and removes its directory.
func (c *Cluster) Stop() error {
	var err error
	if c.port != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if out, e := c.run(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop"); e != nil {
			err = fmt.Errorf("pgcluster: stop: %w: %s", e, out)
		}
	}
	if e := os.RemoveAll(c.dir); e != nil && err == nil {
		err = e
	}
	return err
}

func (c *Cluster) run(ctx context.Context, name string, args ...string) (string, error) {
	return c.runIn(ctx, c.dir, name, args...)
}

// runIn runs a server binary as the server's user in dir (which that user
// must be able to enter).
func (c *Cluster) runIn(ctx context.Context, dir, name string, args ...string) (string, error) {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.runAs != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// baseDir returns where clusters live: RAM (see ramDir) when the system
// has room there, else the OS temp dir. A throwaway cluster needs no
// durability, and on a disk every CREATE DATABASE (one per test) costs
// hundreds of milliseconds of file creation even with fsync off.
func baseDir() string {
	if d := ramDir(); d != "" {
		return d
	}
	return os.TempDir()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
