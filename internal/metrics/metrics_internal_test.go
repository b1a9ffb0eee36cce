package metrics

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestOperationLabelsAreBounded: client-chosen operation names become
// labels only when they are GraphQL names of at most 64 characters, and
// past maxOperationNames distinct names new ones count as "other".
func TestOperationLabelsAreBounded(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "anonymous",
		"CreateTenant":          "CreateTenant",
		"bad name\n":            "invalid_name",
		strings.Repeat("a", 80): strings.Repeat("a", 64),
	} {
		if got := operationName(&graphql.OperationContext{OperationName: in}); got != want {
			t.Errorf("operationName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := operationName(&graphql.OperationContext{Operation: &ast.OperationDefinition{Name: "FromDoc"}}); got != "FromDoc" {
		t.Errorf("name from the document = %q", got)
	}
	m := New()
	for i := 0; i < maxOperationNames+50; i++ {
		m.observeOperation(fmt.Sprintf("Op%d", i), "query", "OK", 0)
	}
	if n := testutil.CollectAndCount(m.gqlOps); n != maxOperationNames+1 {
		t.Errorf("%d operation series, want %d (+ other)", n, maxOperationNames+1)
	}
	if v := testutil.ToFloat64(m.gqlOps.WithLabelValues("other", "query", "OK")); v != 50 {
		t.Errorf("other = %v, want 50", v)
	}
}

// TestWebhookCountsStatus: the webhook wrapper counts each answer by its
// status code, 200 when the handler wrote without a header.
func TestWebhookCountsStatus(t *testing.T) {
	m := New()
	h := m.Webhook("mail", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("bad") != "" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Write([]byte("ok"))
	}))
	for _, q := range []string{"", "?bad=1", "?bad=1"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/webhooks/mail"+q, nil))
	}
	if ok, bad := testutil.ToFloat64(m.webhooks.WithLabelValues("mail", "200")), testutil.ToFloat64(m.webhooks.WithLabelValues("mail", "401")); ok != 1 || bad != 2 {
		t.Errorf("counted 200=%v 401=%v, want 1 and 2", ok, bad)
	}
}

// TestMethodName shortens full gRPC method names.
func TestMethodName(t *testing.T) {
	if got := methodName("/dezky.plugin.v2.Identity/EnsureGroup"); got != "Identity/EnsureGroup" {
		t.Errorf("methodName = %q", got)
	}
}
