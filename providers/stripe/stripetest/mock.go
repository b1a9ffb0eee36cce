package stripetest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
)

const (
	// MockModule is the Go package path of stripe-mock.
	MockModule = "github.com/stripe/stripe-mock"
	// MockVersion is the stripe-mock release whose bundled OpenAPI
	// specification is API version 2023-10-16, the version stripe-go v76
	// pins.
	MockVersion = "v0.183.0"
	// APIKey is a test-mode secret key stripe-mock accepts (three
	// underscore-separated parts).
	APIKey = "sk_test_dezky"

	// BinEnv names an explicit stripe-mock binary.
	BinEnv = "STRIPE_MOCK_BIN"
	// InstallEnv, set to 1, allows Start to install MockVersion.
	InstallEnv = "DEZKY_INSTALL_TOOLS"
)

// startupLimit bounds how long a starting stripe-mock may take to listen
// and answer before Start gives up on it.
const startupLimit = 90 * time.Second

// Mock is a running stripe-mock process.
type Mock struct {
	// URL is the plain HTTP base URL, e.g. http://127.0.0.1:40123.
	URL string
	// HTTPSURL is the HTTPS (self-signed, HTTP/2) base URL.
	HTTPSURL string
	// APIKey is a key the mock accepts.
	APIKey string
	// Binary is the stripe-mock executable in use.
	Binary string

	cmd  *exec.Cmd
	done chan struct{}
	out  *tailBuffer
}

type probeResult struct {
	compatible bool
	reason     string
}

var (
	probeMu sync.Mutex
	probed  = map[string]probeResult{}
)

// Start runs a stripe-mock compatible with stripe-go's API version and
// stops it when the test ends. See the package documentation for how the
// binary is found or installed.
func Start(tb testing.TB) *Mock {
	tb.Helper()
	var rejected []string
	for _, bin := range candidates() {
		probeMu.Lock()
		res, seen := probed[bin]
		probeMu.Unlock()
		if seen && !res.compatible {
			rejected = append(rejected, fmt.Sprintf("%s: %s", bin, res.reason))
			continue
		}
		m, err := launch(bin)
		if err != nil {
			reason := err.Error()
			var ie incompatibleError
			if errors.As(err, &ie) {
				reason = ie.reason
			}
			probeMu.Lock()
			probed[bin] = probeResult{reason: reason}
			probeMu.Unlock()
			rejected = append(rejected, fmt.Sprintf("%s: %s", bin, reason))
			continue
		}
		probeMu.Lock()
		probed[bin] = probeResult{compatible: true}
		probeMu.Unlock()
		tb.Cleanup(m.stop)
		return m
	}

	if os.Getenv(InstallEnv) == "1" {
		bin, err := install()
		if err != nil {
			tb.Fatalf("stripetest: installing %s@%s: %v", MockModule, MockVersion, err)
		}
		m, err := launch(bin)
		if err != nil {
			tb.Fatalf("stripetest: starting installed %s: %v", bin, err)
		}
		tb.Cleanup(m.stop)
		return m
	}

	msg := fmt.Sprintf("stripetest: no stripe-mock serving API version %s found", stripe.APIVersion)
	if len(rejected) > 0 {
		msg += " (rejected: " + strings.Join(rejected, "; ") + ")"
	}
	msg += fmt.Sprintf("; install it with `GOBIN=%s go install %s@%s` or set %s=1 (or %s to a binary)",
		ToolDir(), MockModule, MockVersion, InstallEnv, BinEnv)
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
	return nil
}

// ToolDir is the directory Start installs MockVersion into:
// <user cache dir>/dezky/tools/stripe-mock@<MockVersion>.
func ToolDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "dezky", "tools", "stripe-mock@"+MockVersion)
}

func candidates() []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if p == "" {
			return
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		if seen[p] {
			return
		}
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			return
		}
		seen[p] = true
		out = append(out, p)
	}
	add(os.Getenv(BinEnv))
	add(filepath.Join(ToolDir(), exeName()))
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		add(p)
	}
	gobin, gopath := goEnv()
	if gobin != "" {
		add(filepath.Join(gobin, exeName()))
	}
	for _, dir := range filepath.SplitList(gopath) {
		add(filepath.Join(dir, "bin", exeName()))
	}
	return out
}

func exeName() string {
	if filepath.Separator == '\\' {
		return "stripe-mock.exe"
	}
	return "stripe-mock"
}

// goEnv reports `go env GOBIN GOPATH`, run once per test process.
var goEnv = sync.OnceValues(func() (gobin, gopath string) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", os.Getenv("GOPATH")
	}
	out, err := exec.Command(goBin, "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return "", os.Getenv("GOPATH")
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != 2 {
		return "", os.Getenv("GOPATH")
	}
	return strings.TrimSpace(lines[0]), strings.TrimSpace(lines[1])
})

func install() (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go command not found: %w", err)
	}
	dir := ToolDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create tool directory: %w", err)
	}
	cmd := exec.Command(goBin, "install", MockModule+"@"+MockVersion)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOBIN="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return filepath.Join(dir, exeName()), nil
}

type incompatibleError struct{ reason string }

func (e incompatibleError) Error() string { return e.reason }

var listenLine = regexp.MustCompile(`Listening for (HTTPS?) at address: (\S+)`)

// launch starts bin and returns once it listens and has answered a probe
// request using stripe-go's API version.
func launch(bin string) (*Mock, error) {
	pr, pw := io.Pipe()
	cmd := exec.Command(bin,
		"-http-addr", "127.0.0.1:0",
		"-https-addr", "127.0.0.1:0",
		"-strict-version-check",
	)
	cmd.Stdout = pw
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	m := &Mock{APIKey: APIKey, Binary: bin, cmd: cmd, done: make(chan struct{}), out: &tailBuffer{max: 64}}
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(m.done)
	}()

	addrs := make(chan [2]string, 4)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			m.out.add(line)
			if mm := listenLine.FindStringSubmatch(line); mm != nil {
				addrs <- [2]string{mm[1], mm[2]}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()

	deadline := time.NewTimer(startupLimit)
	defer deadline.Stop()
	for m.URL == "" || m.HTTPSURL == "" {
		select {
		case a := <-addrs:
			if a[0] == "HTTP" {
				m.URL = "http://" + a[1]
			} else {
				m.HTTPSURL = "https://" + a[1]
			}
		case <-m.done:
			return nil, fmt.Errorf("exited before listening: %s", m.out.String())
		case <-deadline.C:
			m.stop()
			return nil, fmt.Errorf("did not listen within %s: %s", startupLimit, m.out.String())
		}
	}
	if err := m.probe(); err != nil {
		m.stop()
		return nil, err
	}
	return m, nil
}

var specVersion = regexp.MustCompile(`version in OpenAPI specification '([^']+)'`)

// probe sends one request carrying stripe-go's API version. Under
// -strict-version-check a mock bundling another version answers 400.
func (m *Mock) probe() error {
	ctx, cancel := context.WithTimeout(context.Background(), startupLimit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL+"/v1/customers?limit=1", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+m.APIKey)
	req.Header.Set("Stripe-Version", stripe.APIVersion)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe request: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode == http.StatusOK {
		return nil
	}
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	if mm := specVersion.FindStringSubmatch(e.Error.Message); mm != nil {
		return incompatibleError{reason: fmt.Sprintf("serves API version %s, stripe-go needs %s", mm[1], stripe.APIVersion)}
	}
	return fmt.Errorf("probe answered HTTP %d: %s", res.StatusCode, strings.TrimSpace(string(body)))
}

func (m *Mock) stop() {
	select {
	case <-m.done:
		return
	default:
	}
	_ = m.cmd.Process.Kill()
	<-m.done
}

// Output returns the last lines stripe-mock printed, for diagnostics.
func (m *Mock) Output() string { return m.out.String() }

type tailBuffer struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (b *tailBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, line)
	if len(b.lines) > b.max {
		b.lines = b.lines[len(b.lines)-b.max:]
	}
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}
