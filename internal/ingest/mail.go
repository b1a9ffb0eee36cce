package ingest

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/webhookin"
	"github.com/dezky/platform/plugins/sdk"
)

// MailWebhookPath is where MailHandler is mounted.
const MailWebhookPath = "/webhooks/mail"

// MailHandler serves POST /webhooks/mail: the body (at most
// Config.MaxWebhookBody bytes, else 413) and the headers go to the mail
// plugin, which verifies the signature and parses the events; the new ones
// are written in one transaction. It answers
//
//   - 200 {"received": n, "written": k} on success (a replay: k = 0);
//   - 401 when the plugin rejects the request as INVALID (a missing or bad
//     signature, or a body that does not parse), with nothing written;
//   - 503 when no mail plugin is configured or it is unavailable, so the
//     mail server retries the batch;
//   - 500 when the events could not be written (also retried).
func (in *Ingestor) MailHandler() http.Handler {
	return webhookin.Handler("mail", in.cfg.MaxWebhookBody, in.cfg.Log, func(ctx context.Context, hook sdk.Webhook) (any, error) {
		received, written, err := in.IngestMail(ctx, hook)
		return map[string]any{"received": received, "written": written}, err
	})
}

// IngestMail verifies and parses one webhook through the mail plugin and
// writes the new events in one transaction. It returns how many events
// the webhook carried and how many were new. A signature failure is the
// plugin's UNAUTHENTICATED error, a malformed (signed) body its INVALID
// error; nothing is written then.
func (in *Ingestor) IngestMail(ctx context.Context, hook sdk.Webhook) (received, written int, err error) {
	if in.cfg.Providers == nil {
		return 0, 0, sdk.Unsupported("no mail provider configured")
	}
	m, err := in.cfg.Providers.Mail()
	if err != nil {
		return 0, 0, fmt.Errorf("ingest: mail plugin: %w", err)
	}
	evs, err := m.ParseMailWebhook(ctx, hook)
	if err != nil {
		return 0, 0, fmt.Errorf("ingest: mail webhook: %w", err)
	}
	r := newResolver(in.cfg.Client)
	out := make([]audit.ExternalEvent, 0, len(evs))
	for _, e := range evs {
		ev, err := mailEvent(ctx, r, e)
		if err != nil {
			return 0, 0, err
		}
		out = append(out, ev)
	}
	err = db.WithTx(system(ctx), in.cfg.Client, func(ctx context.Context) error {
		written, err = record(ctx, out)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	return len(evs), written, nil
}

// mailEvent converts one mail event.
func mailEvent(ctx context.Context, r *resolver, e sdk.MailEvent) (audit.ExternalEvent, error) {
	action, outcome := MailAction(e.Type)
	addr := strings.ToLower(e.Address)
	domain := strings.ToLower(e.Domain)
	if domain == "" {
		if _, d, ok := strings.Cut(addr, "@"); ok {
			domain = d
		}
	}
	actorName := addr
	if actorName == "" {
		actorName = e.Detail["account"]
	}
	a, err := r.user(ctx, actorName)
	if err != nil {
		return audit.ExternalEvent{}, err
	}
	t, err := r.byDomain(ctx, domain)
	if err != nil {
		return audit.ExternalEvent{}, err
	}
	ip := e.Detail["remoteIp"]
	if ip == "" {
		ip = e.Detail["ip"]
	}
	meta := map[string]any{"rawType": e.Type}
	if len(e.Detail) > 0 {
		meta["detail"] = anyMap(e.Detail)
	}
	resType := "mailbox"
	if addr == "" {
		resType = "mail_event"
	}
	return audit.ExternalEvent{
		Source:       SourceMail,
		ExternalID:   e.ID,
		At:           e.Time,
		Action:       action,
		Outcome:      outcome,
		ActorID:      actorName,
		ActorEmail:   emailOf(a, actorName),
		ActorIP:      ip,
		ResourceType: resType,
		ResourceID:   addr,
		ResourceName: addr,
		Tenant:       t,
		Metadata:     meta,
	}, nil
}
