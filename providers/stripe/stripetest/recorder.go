package stripetest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Request is one request seen by a Recorder.
type Request struct {
	Method string
	// Path is the URL path, e.g. /v1/customers/search.
	Path string
	// Query holds the URL query parameters.
	Query url.Values
	// Form holds the form-encoded body parameters.
	Form   url.Values
	Header http.Header
}

// Param returns the first value of a body or query parameter.
func (r Request) Param(name string) string {
	if v, ok := r.Form[name]; ok && len(v) > 0 {
		return v[0]
	}
	return r.Query.Get(name)
}

// Has reports whether a body or query parameter is present.
func (r Request) Has(name string) bool {
	_, inForm := r.Form[name]
	_, inQuery := r.Query[name]
	return inForm || inQuery
}

// Reply is a canned response produced by an Interceptor.
type Reply struct {
	Status int
	// Body is sent as application/json.
	Body string
}

// Interceptor may answer a request instead of forwarding it to the mock.
// It returns ok=false to forward.
type Interceptor func(Request) (reply Reply, ok bool)

// Recorder is a reverse proxy in front of a stripe-mock that records
// requests and can answer selected ones itself.
type Recorder struct {
	// URL is the proxy's base URL; point the client under test at it.
	URL string

	mu          sync.Mutex
	requests    []Request
	interceptor Interceptor
}

// NewRecorder starts a recording proxy to target (a stripe-mock base URL)
// and closes it when the test ends.
func NewRecorder(tb testing.TB, target string) *Recorder {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatalf("stripetest: parse target %q: %v", target, err)
	}
	rec := &Recorder{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req := Request{
			Method: r.Method,
			Path:   r.URL.Path,
			Query:  r.URL.Query(),
			Header: r.Header.Clone(),
			Form:   url.Values{},
		}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			if f, err := url.ParseQuery(string(body)); err == nil {
				req.Form = f
			}
		}
		rec.mu.Lock()
		rec.requests = append(rec.requests, req)
		icpt := rec.interceptor
		rec.mu.Unlock()
		if icpt != nil {
			if reply, ok := icpt(req); ok {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Request-Id", "req_recorder")
				w.WriteHeader(reply.Status)
				_, _ = io.WriteString(w, reply.Body)
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		proxy.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

// Intercept installs fn (nil removes it).
func (r *Recorder) Intercept(fn Interceptor) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.interceptor = fn
}

// Requests returns the requests recorded so far, oldest first.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Reset forgets the recorded requests.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = nil
}

// Find returns the recorded requests with the given method whose path
// matches path exactly.
func (r *Recorder) Find(method, path string) []Request {
	var out []Request
	for _, req := range r.Requests() {
		if req.Method == method && req.Path == path {
			out = append(out, req)
		}
	}
	return out
}
