package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/gobuild"
	"github.com/dezky/platform/internal/testing/testdb"
)

// replica is one `dezky serve` process.
type replica struct {
	url, token string
	cmd        *exec.Cmd
}

// startReplica runs the dezky binary as a server on dbURL and waits until
// it is ready.
func startReplica(t *testing.T, bin, dbURL string, demo bool, extra ...string) (*replica, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	args := append([]string{"serve", "--addr", addr, "--data-dir", dir, "--database-url", dbURL,
		"--demo", fmt.Sprint(demo), "--demo-upstreams", "false", "--plugins-dir", dir, "--log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{url: "http://" + addr, cmd: cmd}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("replica %s log:\n%s", addr, logs.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if rsp, err := http.Get(r.url + "/readyz"); err == nil {
			rsp.Body.Close()
			if rsp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica on %s not ready:\n%s", addr, logs.String())
		}
	}
	out, err := exec.Command(bin, "token", "--data-dir", dir, "--database-url", dbURL, "--as", "operator").Output()
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	r.token = strings.TrimSpace(string(out))
	return r, dir
}

func (r *replica) do(t *testing.T, query string) (map[string]any, error) {
	body, _ := json.Marshal(map[string]any{"query": query})
	req, _ := http.NewRequest("POST", r.url+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.token)
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer rsp.Body.Close()
	var out struct {
		Data   map[string]any `json:"data"`
		Errors []any          `json:"errors"`
	}
	if err := json.NewDecoder(bufio.NewReader(rsp.Body)).Decode(&out); err != nil {
		return nil, err
	}
	if len(out.Errors) > 0 {
		return nil, fmt.Errorf("%v", out.Errors)
	}
	return out.Data, nil
}

// TestTwoReplicasOneChain runs two dezky server processes on one
// PostgreSQL database, sends concurrent mutations to both, then verifies
// the whole audit chain: no fork, no gap, and exactly one chained event per
// mutation made.
func TestTwoReplicasOneChain(t *testing.T) {
	dbURL := testdb.URL(t, dialect.Postgres)
	bin := filepath.Join(t.TempDir(), "dezky")
	if err := gobuild.Build(context.Background(), "github.com/dezky/platform/cmd/dezky", bin); err != nil {
		t.Fatalf("build dezky: %v", err)
	}
	// Replicas share the checkpoint signing key, as a deployment must.
	a, dirA := startReplica(t, bin, dbURL, true)
	b, _ := startReplica(t, bin, dbURL, false, "--audit-signing-key", filepath.Join(dirA, "audit-signing.key"))

	const writers, each = 8, 15
	var ok atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		for _, r := range []*replica{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				slug := []string{"acme", "globex"}[w%2]
				for i := 0; i < each; i++ {
					q := fmt.Sprintf(`mutation { updateTenant(slug: %q, input: {seats: %d}) { id } }`, slug, 1+w*each+i)
					if _, err := r.do(t, q); err != nil {
						t.Errorf("mutation: %v", err)
						return
					}
					ok.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	// Let both chainers link everything, then check the chain as stored.
	if _, err := a.do(t, `mutation { createAuditCheckpoint { headSeq } }`); err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	sqlDB := d.SQL
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var pending int
		if err := sqlDB.QueryRow(`SELECT count(*) FROM audit_events WHERE seq IS NULL`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still unchained", pending)
		}
	}
	var total, maxSeq, distinct, updates int64
	if err := sqlDB.QueryRow(`SELECT count(*), max(seq), count(DISTINCT seq), count(*) FILTER (WHERE action = 'tenant.updated') FROM audit_events`).
		Scan(&total, &maxSeq, &distinct, &updates); err != nil {
		t.Fatal(err)
	}
	if maxSeq != total || distinct != total {
		t.Fatalf("chain of %d events: max seq %d, %d distinct seqs (want no gap, no fork)", total, maxSeq, distinct)
	}
	if updates != ok.Load() {
		t.Fatalf("%d tenant.updated events for %d mutations", updates, ok.Load())
	}
	for _, r := range []*replica{a, b} {
		data, err := r.do(t, `{ verifyAuditChain { ok eventsVerified break { kind seq } } }`)
		if err != nil {
			t.Fatal(err)
		}
		v := data["verifyAuditChain"].(map[string]any)
		if v["ok"] != true || int64(v["eventsVerified"].(float64)) != total {
			t.Fatalf("verifyAuditChain on %s: %v (want ok over %d events)", r.url, v, total)
		}
	}
}
