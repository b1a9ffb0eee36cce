package server

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/argcheck"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/viewer"
)

// exportBatch is how many rows the CSV export reads per query.
const exportBatch = 500

// exportHeader is the CSV export's column row.
var exportHeader = []string{"seq", "at", "action", "outcome", "actor_type", "actor_id", "actor_email", "actor_ip",
	"resource_type", "resource_id", "resource_name", "tenant_slug", "partner_slug", "source", "external_id", "metadata", "hash"}

// auditExport serves GET /audit/export.csv: the audit events visible to the
// caller (the same privacy rules as the auditEvents query), newest first,
// filtered by the query parameters actionPrefix, tenantSlug, partnerSlug,
// actorEmail, outcome, since, until (RFC 3339) and q. Rows are streamed in
// keyset-paginated batches, never buffered whole. Cells that a spreadsheet
// would take for a formula are prefixed with a quote. The trailers
// X-Export-Complete (true/false) and X-Export-Rows say whether the stream
// ended normally.
func auditExport(c Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if viewer.FromContext(ctx) == nil {
			writeError(w, http.StatusUnauthorized, apperr.Unauthenticated, "authentication required: send an OIDC bearer token")
			return
		}
		f, err := exportFilter(r)
		if err != nil {
			ae, _ := apperr.As(err)
			writeError(w, http.StatusBadRequest, ae.Code, ae.Message)
			return
		}
		q := c.Client.AuditEvent.Query().Where(f.Predicates()...)
		// Probe once so an authorization failure is a clean error, not a
		// truncated file.
		first, err := q.Clone().Order(ent.Desc(auditevent.FieldAt), ent.Desc(auditevent.FieldID)).Limit(exportBatch).All(ctx)
		if err != nil {
			if ae, ok := fromDB(apperr.About(err, "audit event")); ok && ae.Code == apperr.Forbidden {
				writeError(w, http.StatusForbidden, ae.Code, ae.Message)
				return
			}
			if code, msg := dbFailureCode(err); code == apperr.Unavailable {
				writeError(w, http.StatusServiceUnavailable, code, msg)
				return
			}
			c.Log.ErrorContext(ctx, "audit export", "err", err)
			writeError(w, http.StatusInternalServerError, apperr.Internal, "internal error")
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="audit-export.csv"`)
		// The trailer tells a client whether it got the whole export.
		w.Header().Set("Trailer", "X-Export-Complete, X-Export-Rows")
		rows, complete := 0, false
		defer func() {
			w.Header().Set("X-Export-Complete", strconv.FormatBool(complete))
			w.Header().Set("X-Export-Rows", strconv.Itoa(rows))
		}()
		cw := csv.NewWriter(w)
		cw.Write(exportHeader)
		flusher, _ := w.(http.Flusher)
		batch := first
		for len(batch) > 0 {
			for _, e := range batch {
				cw.Write(exportRow(e))
			}
			rows += len(batch)
			cw.Flush()
			if flusher != nil {
				flusher.Flush()
			}
			if cw.Error() != nil {
				return
			}
			if len(batch) < exportBatch {
				break
			}
			last := batch[len(batch)-1]
			batch, err = q.Clone().
				Where(auditevent.Or(auditevent.AtLT(last.At), auditevent.And(auditevent.AtEQ(last.At), auditevent.IDLT(last.ID)))).
				Order(ent.Desc(auditevent.FieldAt), ent.Desc(auditevent.FieldID)).Limit(exportBatch).All(ctx)
			if err != nil {
				c.Log.ErrorContext(ctx, "audit export: next batch", "err", err)
				return
			}
		}
		complete = true
	})
}

func exportFilter(r *http.Request) (audit.Filter, error) {
	q := r.URL.Query()
	for name, vs := range q {
		if err := argcheck.Value(name, vs); err != nil {
			return audit.Filter{}, err
		}
	}
	f := audit.Filter{
		ActionPrefix: q.Get("actionPrefix"),
		TenantSlug:   q.Get("tenantSlug"),
		PartnerSlug:  q.Get("partnerSlug"),
		ActorEmail:   q.Get("actorEmail"),
		Q:            q.Get("q"),
	}
	if o := q.Get("outcome"); o != "" {
		f.Outcome = auditevent.Outcome(strings.ToUpper(o))
		if auditevent.OutcomeValidator(f.Outcome) != nil {
			return f, apperr.Invalid("outcome", "unknown outcome %q", o)
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, apperr.Invalid(p.name, "%s must be an RFC 3339 time", p.name)
			}
			*p.dst = t
		}
	}
	return f, nil
}

func exportRow(e *ent.AuditEvent) []string {
	seq := ""
	if e.Seq != nil {
		seq = strconv.FormatInt(*e.Seq, 10)
	}
	ext := ""
	if e.ExternalID != nil {
		ext = *e.ExternalID
	}
	meta := ""
	if len(e.Metadata) > 0 {
		b, _ := json.Marshal(e.Metadata)
		meta = string(b)
	}
	row := []string{seq, e.At.UTC().Format(time.RFC3339Nano), e.Action, string(e.Outcome), e.ActorType, e.ActorID, e.ActorEmail, e.ActorIP,
		e.ResourceType, e.ResourceID, e.ResourceName, e.TenantSlug, e.PartnerSlug, e.Source, ext, meta, e.Hash}
	for i, v := range row {
		row[i] = defuse(v)
	}
	return row
}

// defuse keeps spreadsheets from evaluating a cell as a formula.
func defuse(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
