package stripetest_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"github.com/dezky/platform/providers/stripe/stripetest"
)

func post(t *testing.T, base, path, version string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+stripetest.APIKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Stripe-Version", version)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func TestStart(t *testing.T) {
	m := stripetest.Start(t)
	rec := stripetest.NewRecorder(t, m.URL)

	t.Run("ValidRequestPasses", func(t *testing.T) {
		code, body := post(t, rec.URL, "/v1/customers", stripe.APIVersion, url.Values{"email": {"a@b.test"}})
		if code != http.StatusOK {
			t.Fatalf("status = %d (%s), want 200", code, body)
		}
		reqs := rec.Find(http.MethodPost, "/v1/customers")
		if len(reqs) != 1 || reqs[0].Param("email") != "a@b.test" {
			t.Errorf("recorded = %+v, want one request with the email", reqs)
		}
	})

	t.Run("UnknownParameterRejected", func(t *testing.T) {
		code, body := post(t, m.URL, "/v1/customers", stripe.APIVersion, url.Values{"no_such_param": {"1"}})
		if code != http.StatusBadRequest || !strings.Contains(body, "invalid_request_error") {
			t.Errorf("status = %d (%s), want 400 invalid_request_error", code, body)
		}
	})

	t.Run("OtherAPIVersionRejected", func(t *testing.T) {
		code, body := post(t, m.URL, "/v1/customers", "2020-08-27", url.Values{})
		if code != http.StatusBadRequest || !strings.Contains(body, "Stripe-Version") {
			t.Errorf("status = %d (%s), want 400 about Stripe-Version", code, body)
		}
	})

	t.Run("InterceptorAnswers", func(t *testing.T) {
		rec.Intercept(func(r stripetest.Request) (stripetest.Reply, bool) {
			return stripetest.Reply{Status: http.StatusTeapot, Body: `{}`}, r.Path == "/v1/customers"
		})
		defer rec.Intercept(nil)
		if code, _ := post(t, rec.URL, "/v1/customers", stripe.APIVersion, url.Values{}); code != http.StatusTeapot {
			t.Errorf("status = %d, want the intercepted 418", code)
		}
	})
}
