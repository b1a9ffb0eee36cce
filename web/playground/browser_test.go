package playground_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

// browserPath finds a Chromium-family browser, or "" when none is
// installed.
func browserPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// requireBrowser returns the browser's path; without one it skips the test,
// except under CI=true, where the browser is part of the toolchain and its
// absence fails.
func requireBrowser(t *testing.T) string {
	t.Helper()
	p := browserPath()
	if p == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium found in PATH under CI=true: .ci/run installs Debian's chromium")
		}
		t.Skip("no Chromium found in PATH (install Debian's chromium: apt-get install chromium); skipping the browser test")
	}
	return p
}

// pageLog collects what the page did that the test checks afterwards:
// every request it made, console errors, exceptions and policy violations.
type pageLog struct {
	mu       sync.Mutex
	requests []string
	problems []string
	// bearer is the Authorization header of each GraphQL request over
	// HTTP, in order.
	bearer []string
}

func (l *pageLog) add(list *[]string, s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*list = append(*list, s)
}

func (l *pageLog) snapshot() (requests, problems []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.requests...), append([]string(nil), l.problems...)
}

func (l *pageLog) listen(ev any) {
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		if !strings.HasPrefix(e.Request.URL, "data:") { // inline fonts and images: no request leaves the page
			l.add(&l.requests, e.Request.URL)
		}
		if strings.HasSuffix(e.Request.URL, "/query") && e.Request.Method == "POST" {
			auth := ""
			for k, v := range e.Request.Headers {
				if strings.EqualFold(k, "Authorization") {
					auth, _ = v.(string)
				}
			}
			l.add(&l.bearer, auth)
		}
	case *network.EventWebSocketCreated:
		l.add(&l.requests, e.URL)
	case *runtime.EventExceptionThrown:
		msg := e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
		l.add(&l.problems, "exception: "+msg)
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			l.add(&l.problems, "console.error: "+strings.Join(parts, " "))
		}
	case *cdplog.EventEntryAdded:
		if e.Entry.Level == cdplog.EntryLevelError || strings.Contains(e.Entry.Text, "Content Security Policy") {
			l.add(&l.problems, fmt.Sprintf("%s: %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL))
		}
	}
}

// Editor access: GraphiQL's editors are CodeMirror 5 instances.
const (
	queryEditor    = `document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror`
	responseEditor = `document.querySelector('.graphiql-response .CodeMirror').CodeMirror`
)

// run types an operation into the query editor and presses the execute
// button.
func run(ctx context.Context, op string) error {
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](fmt.Sprintf(`%s.setValue(%q)`, queryEditor, op))); err != nil {
		return fmt.Errorf("type %s: %w", op, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.graphiql-execute-button`))); err != nil {
		return fmt.Errorf("run %s: %w", op, err)
	}
	return nil
}

// responseContaining waits until the response editor shows text containing
// want, and returns the response.
func responseContaining(ctx context.Context, want string) (string, error) {
	return chromedp.Run(ctx, chromedp.Poll[string](fmt.Sprintf(`(() => { const v = %s.getValue(); return v.includes(%q) ? v : false; })()`, responseEditor, want),
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(time.Minute)))
}

// bearers returns the Authorization headers the page sent with GraphQL
// requests so far.
func (l *pageLog) bearers() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.bearer...)
}

// startBrowser starts headless Chromium (a fresh profile) and returns a
// tab whose events feed log, with the network, log and runtime domains on.
func startBrowser(t *testing.T, browser string, log *pageLog) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1440, 900),
		chromedp.Flag("no-proxy-server", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf), chromedp.WithListener(log.listen))
	t.Cleanup(cancelCtx)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel)
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("start browser: %v", err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// checkPage fails the test for every request outside the allowed origins
// (host:port, http or ws) and every problem the page had.
func checkPage(t *testing.T, log *pageLog, origins ...string) {
	t.Helper()
	requests, problems := log.snapshot()
	if len(requests) == 0 {
		t.Fatal("no requests recorded")
	}
	for _, r := range requests {
		u, err := url.Parse(r)
		if err != nil {
			t.Errorf("request to unparsable URL %q", r)
			continue
		}
		if !slices.Contains(origins, u.Host) || (u.Scheme != "http" && u.Scheme != "ws") {
			t.Errorf("the page requested %s, outside %v", r, origins)
		}
	}
	for _, p := range problems {
		t.Errorf("page problem: %s", p)
	}
}

// TestPlaygroundInBrowser drives headless Chromium against the real server:
// the playground loads from the binary, the demo operator signs in through
// the persona picker, `{ me { email } }` answers with the operator's email
// read from the page, and a subscription (operators only, so its WebSocket
// was authenticated by connection_init) delivers an event. The page makes
// no request outside the server's origin, raises no exception and violates
// none of its Content-Security-Policy. With DEZKY_PLAYGROUND_SCREENSHOT set
// to a file name, a PNG screenshot of the page is written there.
func TestPlaygroundInBrowser(t *testing.T) {
	browser := requireBrowser(t)
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := testserver.Start(t, dialect)
			base, err := url.Parse(s.URL)
			if err != nil {
				t.Fatal(err)
			}

			var log pageLog
			ctx := startBrowser(t, browser, &log)

			var email, me, event string
			err = func() error {
				if err := chromedp.Do(ctx,
					chromedp.Navigate(s.URL+"/"),
					// The picker lists the demo users once the page has
					// asked the development sign-in endpoint.
					chromedp.WaitReady(chromedp.CSS(`#dz-persona option[value="operator"]`)),
					chromedp.SetValue(chromedp.CSS(`#dz-persona`), "operator"),
					chromedp.Click(chromedp.CSS(`#dz-signin`)),
					chromedp.WaitVisible(chromedp.CSS(`#dz-email`)),
				); err != nil {
					return err
				}
				var err error
				if email, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#dz-email`))); err != nil {
					return err
				}
				if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`.graphiql-query-editor .CodeMirror`))); err != nil {
					return err
				}
				if err := run(ctx, `{ me { email } }`); err != nil {
					return err
				}
				if me, err = responseContaining(ctx, `"email": "operator@dezky.local"`); err != nil {
					return fmt.Errorf("waiting for the me query's answer: %w", err)
				}
				if err := run(ctx, `subscription { healthChanged { checkedAt services { name status } } }`); err != nil {
					return err
				}
				if event, err = responseContaining(ctx, `"healthChanged"`); err != nil {
					return fmt.Errorf("waiting for a subscription event: %w", err)
				}
				if path := os.Getenv("DEZKY_PLAYGROUND_SCREENSHOT"); path != "" {
					png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
					if err != nil {
						return fmt.Errorf("screenshot: %w", err)
					}
					if err := os.WriteFile(strings.Replace(path, ".png", "-"+dialect+".png", 1), png, 0o644); err != nil {
						return err
					}
				}
				// The examples plugin loads a persona's operations, the
				// explorer and the settings dialog open, all within the
				// policy (checked below).
				if err := chromedp.Do(ctx,
					chromedp.Click(chromedp.CSS(`[aria-label="Show Examples"]`)),
					chromedp.Click(chromedp.CSS(`button[data-persona="member"]`)),
				); err != nil {
					return fmt.Errorf("examples plugin: %w", err)
				}
				if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`%s.getValue().includes("query MyFlags")`, queryEditor),
					chromedp.WithPollingTimeout(30*time.Second))); err != nil {
					return fmt.Errorf("the member examples did not load into the editor: %w", err)
				}
				if err := chromedp.Do(ctx,
					chromedp.Click(chromedp.CSS(`[aria-label="Show GraphiQL Explorer"]`)),
					chromedp.WaitVisible(chromedp.CSS(`.graphiql-explorer-root`)),
					chromedp.Click(chromedp.CSS(`[aria-label="Open settings dialog"]`)),
					chromedp.WaitVisible(chromedp.CSS(`[role="dialog"]`)),
				); err != nil {
					return fmt.Errorf("explorer and settings: %w", err)
				}
				return nil
			}()
			if err != nil {
				requests, problems := log.snapshot()
				t.Fatalf("browser: %v\nrequests: %v\nproblems: %v", err, requests, problems)
			}
			if email != "operator@dezky.local" {
				t.Errorf("signed in as %q, want operator@dezky.local", email)
			}
			t.Logf("me: %s", strings.Join(strings.Fields(me), " "))
			t.Logf("subscription event: %.200s", strings.Join(strings.Fields(event), " "))

			checkPage(t, &log, base.Host)
			requests, _ := log.snapshot()
			if !slices.ContainsFunc(requests, func(r string) bool { return strings.HasPrefix(r, "ws://"+base.Host+"/query") }) {
				t.Errorf("the subscription opened no WebSocket to /query; requests: %v", requests)
			}
		})
	}
}
