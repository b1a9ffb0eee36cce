package demoupstreams

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dezky/platform/providers/stripe/stripeclient"
)

// stripeEvents stands in front of stripe-mock and sends the signed events
// Stripe would send to the platform's billing webhook. stripe-mock answers
// API calls statelessly and sends no events, so without it the demo's
// webhook path would never run. It watches the plugin's calls: a price
// creation tells it the amount of each price id, and a new subscription
// is answered as Stripe does for send_invoice subscriptions: the
// subscription with its real period (customer.subscription.created; the
// mock's own answers carry a fixed period from 2009), then its first
// invoice, finalized and open (invoice.finalized).
// The invoice ids and numbers are the demo's own (in_demo_..., DEMO-...).
type stripeEvents struct {
	proxy   *httputil.ReverseProxy
	webhook string // the platform's /webhooks/billing URL
	secret  string // the endpoint signing secret (whsec_...)
	log     *slog.Logger
	ctx     context.Context
	client  *http.Client

	mu     sync.Mutex
	prices map[string]demoPrice // price id -> amount
}

type demoPrice struct {
	currency string
	amount   int64
	interval string
}

func newStripeEvents(ctx context.Context, mockURL, webhook, secret string, log *slog.Logger) (*stripeEvents, error) {
	target, err := url.Parse(mockURL)
	if err != nil {
		return nil, err
	}
	return &stripeEvents{
		proxy: httputil.NewSingleHostReverseProxy(target), webhook: webhook, secret: secret, log: log, ctx: ctx,
		client: &http.Client{Timeout: 10 * time.Second}, prices: map[string]demoPrice{},
	}, nil
}

// ServeHTTP forwards to stripe-mock and observes price and subscription
// creations.
func (e *stripeEvents) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	watch := r.Method == http.MethodPost && (r.URL.Path == "/v1/prices" || r.URL.Path == "/v1/subscriptions")
	if !watch {
		e.proxy.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	rec := &capture{ResponseWriter: w}
	e.proxy.ServeHTTP(rec, r)
	if rec.status >= 300 {
		return
	}
	var created struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(rec.body.Bytes(), &created) != nil || created.ID == "" {
		return
	}
	switch r.URL.Path {
	case "/v1/prices":
		amount, _ := strconv.ParseInt(form.Get("unit_amount"), 10, 64)
		e.mu.Lock()
		e.prices[created.ID] = demoPrice{currency: form.Get("currency"), amount: amount, interval: form.Get("recurring[interval]")}
		e.mu.Unlock()
	case "/v1/subscriptions":
		qty, _ := strconv.ParseInt(form.Get("items[0][quantity]"), 10, 64)
		go e.firstInvoice(form.Get("customer"), created.ID, form.Get("items[0][price]"), max(qty, 1))
	}
}

// firstInvoice sends the events of a new subscription, each once the
// platform has recorded the subscription (it answers that an event is
// unattributed until then; a later attempt is a new event).
func (e *stripeEvents) firstInvoice(customer, subscription, price string, qty int64) {
	e.mu.Lock()
	p, ok := e.prices[price]
	e.mu.Unlock()
	if !ok || customer == "" {
		return
	}
	now := time.Now().UTC()
	end := now.AddDate(0, 1, 0)
	if p.interval == "year" {
		end = now.AddDate(1, 0, 0)
	}
	id := randomHex(8)
	inv := map[string]any{
		"id": "in_demo_" + id, "object": "invoice", "customer": customer, "subscription": subscription,
		"status": "open", "currency": p.currency, "total": p.amount * qty, "amount_due": p.amount * qty, "amount_paid": 0,
		"number": "DEMO-" + strings.ToUpper(id[:8]), "created": now.Unix(), "period_start": now.Unix(), "period_end": end.Unix(),
		"collection_method": "send_invoice",
	}
	sub := map[string]any{
		"id": subscription, "object": "subscription", "customer": customer, "status": "active",
		"current_period_start": now.Unix(), "current_period_end": end.Unix(), "collection_method": "send_invoice",
	}
	e.send("customer.subscription.created", sub)
	e.send("invoice.finalized", inv)
}

// send delivers one event about object, again (as a new event) until the
// platform attributes it or 20 attempts failed.
func (e *stripeEvents) send(typ string, object map[string]any) {
	for attempt := range 20 {
		select {
		case <-e.ctx.Done():
			return
		case <-time.After(time.Duration(attempt+1) * 500 * time.Millisecond):
		}
		ev, _ := json.Marshal(map[string]any{
			"id": "evt_demo_" + randomHex(12), "object": "event", "api_version": "2023-10-16", "created": time.Now().Unix(),
			"livemode": false, "type": typ, "data": map[string]any{"object": object},
		})
		attributed, err := e.deliver(ev)
		if err != nil {
			e.log.Warn("demo: billing event not delivered", "type", typ, "err", err)
			continue
		}
		if attributed {
			e.log.Info("demo: billing event delivered", "type", typ, "object", object["id"])
			return
		}
	}
}

// deliver posts one signed event and reports whether the platform
// attributed it to a tenant.
func (e *stripeEvents) deliver(body []byte) (bool, error) {
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, e.webhook, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(stripeclient.SignatureHeader, stripeclient.SignPayload(e.secret, time.Now(), body))
	rsp, err := e.client.Do(req)
	if err != nil {
		return false, err
	}
	defer rsp.Body.Close()
	var out struct {
		Applied, Unattributed int
	}
	if rsp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("billing webhook answered %s", rsp.Status)
	}
	if err := json.NewDecoder(rsp.Body).Decode(&out); err != nil {
		return false, err
	}
	return out.Applied > 0 && out.Unattributed == 0, nil
}

// capture records a response while passing it on.
type capture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *capture) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *capture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	c.body.Write(b)
	return c.ResponseWriter.Write(b)
}
