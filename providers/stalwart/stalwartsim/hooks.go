package stalwartsim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Emit queues a telemetry event (e.g. "auth.success" with data {"accountName":…,
// "remoteIp":…}) for every enabled webhook subscribed to it, and returns its id.
func (s *Sim) Emit(eventType string, data map[string]any) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.emitLocked(eventType, data)
}

func (s *Sim) emitLocked(eventType string, data map[string]any) string {
	now := s.opts.Now().UTC()
	s.eventSeq++
	id := fmt.Sprintf("%d%06d", now.UnixMilli(), s.eventSeq)
	if data == nil {
		data = map[string]any{}
	}
	ev := map[string]any{"id": id, "createdAt": now.Format(time.RFC3339), "type": eventType, "data": data}
	for _, wid := range keys(s.webhooks) {
		h := s.webhooks[wid]
		if h.enable && (len(h.events) == 0 || h.events[eventType]) {
			h.queue = append(h.queue, ev)
		}
	}
	return id
}

// PendingWebhookEvents returns the number of queued, undelivered events.
func (s *Sim) PendingWebhookEvents() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, h := range s.webhooks {
		n += len(h.queue)
	}
	return n
}

// FlushWebhooks delivers every queued batch now, one POST per webhook. Batches whose
// delivery fails (transport error or non-2xx) stay queued; the first failure is
// returned. It reports how many events were delivered.
func (s *Sim) FlushWebhooks(ctx context.Context) (int, error) {
	type batch struct {
		id, url, key string
		headers      map[string]string
		events       []map[string]any
	}
	s.mu.Lock()
	var batches []batch
	for _, wid := range keys(s.webhooks) {
		h := s.webhooks[wid]
		if len(h.queue) == 0 {
			continue
		}
		batches = append(batches, batch{h.id, h.url, h.signatureKey, h.headers, h.queue})
		h.queue = nil
	}
	s.mu.Unlock()

	delivered := 0
	var firstErr error
	for _, b := range batches {
		err := s.deliver(ctx, b.url, b.key, b.headers, b.events)
		if err == nil {
			delivered += len(b.events)
			continue
		}
		if firstErr == nil {
			firstErr = err
		}
		s.mu.Lock()
		if h := s.webhooks[b.id]; h != nil {
			h.queue = append(b.events, h.queue...)
		}
		s.mu.Unlock()
	}
	return delivered, firstErr
}

func (s *Sim) deliver(ctx context.Context, url, key string, headers map[string]string, events []map[string]any) error {
	body, err := json.Marshal(map[string]any{"events": events})
	if err != nil {
		return fmt.Errorf("stalwartsim: encode webhook batch: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("stalwartsim: webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if key != "" {
		m := hmac.New(sha256.New, []byte(key))
		m.Write(body)
		req.Header.Set("X-Signature", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("stalwartsim: webhook delivery: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("stalwartsim: webhook delivery: status %d", resp.StatusCode)
	}
	return nil
}

// RunWebhookDelivery flushes queued webhook events every interval until ctx ends.
// Delivery failures are logged and retried on the next tick.
func (s *Sim) RunWebhookDelivery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.FlushWebhooks(ctx); err != nil && !ctxDone(ctx) {
				s.opts.Logger.Warn("stalwartsim webhook delivery failed", "error", err)
			}
		}
	}
}

// ErrAuthFailed is returned by Authenticate for rejected logins.
var ErrAuthFailed = errors.New("stalwartsim: authentication failed")

// Authenticate simulates a client login (IMAP/SMTP/JMAP) for address with password.
// It succeeds only for an existing account on an enabled domain whose password
// matches and whose "authenticate" permission is not disabled, and emits
// "auth.success" or "auth.failed" accordingly.
func (s *Sim) Authenticate(address, password, remoteIP string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountByAddress(address)
	data := map[string]any{"accountName": strings.ToLower(address), "remoteIp": remoteIP}
	ok := a != nil && s.domains[a.domainID] != nil && s.domains[a.domainID].isEnabled && !frozen(a)
	if ok {
		ok = false
		for _, sec := range a.secrets {
			if hmac.Equal([]byte(sec), []byte(password)) {
				ok = true
			}
		}
	}
	if !ok {
		s.emitLocked("auth.failed", data)
		return ErrAuthFailed
	}
	data["accountId"] = a.id
	s.emitLocked("auth.success", data)
	return nil
}

func frozen(a *account) bool {
	if a.permissions["@type"] != "Merge" && a.permissions["@type"] != "Replace" {
		return false
	}
	dis, _ := a.permissions["disabledPermissions"].(map[string]any)
	v, _ := dis["authenticate"].(bool)
	return v
}

func (s *Sim) accountByAddress(address string) *account {
	local, dom, ok := strings.Cut(strings.ToLower(strings.TrimSpace(address)), "@")
	if !ok {
		return nil
	}
	for _, a := range s.accounts {
		d := s.domains[a.domainID]
		if d == nil {
			continue
		}
		if a.name == local && d.name == dom {
			return a
		}
		for _, al := range a.aliases {
			if ad := s.domains[al.DomainID]; ad != nil && al.Name == local && ad.name == dom {
				return a
			}
		}
	}
	return nil
}

// Frozen reports whether the account at address has login disabled.
func (s *Sim) Frozen(address string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountByAddress(address)
	return a != nil && frozen(a)
}

// Counts reports object counts.
type Counts struct{ Domains, Accounts, DKIMSignatures, WebHooks int }

// Counts returns the current object counts.
func (s *Sim) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Counts{len(s.domains), len(s.accounts), len(s.dkims), len(s.webhooks)}
}
