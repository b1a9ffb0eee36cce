package webhooks_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/dezky/platform/internal/testing/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// received is one message a receiver accepted.
type received struct {
	ID   string
	Type string
	Seq  int64
	// Signatures is the webhook-signature header.
	Signatures string
	Body       []byte
	Header     http.Header
}

// receiver is a webhook receiver verifying every request with the
// Standard Webhooks reference library (an implementation independent of
// the server's). Requests that fail verification are answered 401 and
// recorded as bad.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	secrets []string
	// fail answers 500 while > 0 (counting down) or always when < 0.
	fail int
	// block, when set, holds every request until it is closed.
	block    chan struct{}
	got      []received
	bad      []string
	requests int
	arrived  chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{arrived: make(chan struct{}, 1)}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

// setSecrets replaces the secrets a request may verify with (any one).
func (r *receiver) setSecrets(s ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = s
}

func (r *receiver) setFail(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = n
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	block := r.block
	r.mu.Unlock()
	if block != nil {
		select {
		case r.arrived <- struct{}{}:
		default:
		}
		<-block
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	verified := false
	for _, s := range r.secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err == nil && wh.Verify(body, req.Header) == nil {
			verified = true
			break
		}
	}
	if !verified {
		r.bad = append(r.bad, req.Header.Get("webhook-id"))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.fail != 0 {
		if r.fail > 0 {
			r.fail--
		}
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	var env struct {
		Type string `json:"type"`
		Data struct {
			Seq int64 `json:"seq"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &env)
	r.got = append(r.got, received{ID: req.Header.Get("webhook-id"), Type: env.Type, Seq: env.Data.Seq,
		Signatures: req.Header.Get("webhook-signature"), Body: body, Header: req.Header.Clone()})
	w.WriteHeader(http.StatusNoContent)
}

// messages returns a copy of what was accepted.
func (r *receiver) messages() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (r *receiver) rejected() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bad...)
}

// waitFor polls cond until it holds or a minute passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
