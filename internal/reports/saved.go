package reports

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/savedreport"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/inputcheck"
	"github.com/dezky/platform/internal/viewer"
)

// maxSavedName bounds a saved report's name.
const maxSavedName = 120

// Params are a report's parameters.
type Params struct {
	From        string
	To          string
	PartnerSlug *string
}

// SavedInput is a report to save.
type SavedInput struct {
	Name   string
	Kind   savedreport.Kind
	Params Params
}

// Saved returns the viewer's saved reports, by name.
func (s *Service) Saved(ctx context.Context) ([]*ent.SavedReport, error) {
	if _, err := user(ctx); err != nil {
		return nil, err
	}
	out, err := s.client.SavedReport.Query().Order(ent.Asc(savedreport.FieldName)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reports: saved: %w", err)
	}
	return out, nil
}

// user is the viewer's user id, UNAUTHENTICATED without one.
func user(ctx context.Context) (int, error) {
	v := viewer.FromContext(ctx)
	if v == nil || v.UserID == 0 {
		return 0, apperr.New(apperr.Unauthenticated, "sign in as a known user to keep saved reports")
	}
	return v.UserID, nil
}

// CreateSaved validates in (the viewer must be allowed to run the report)
// and saves it for the viewer, audited. A name the viewer already uses is
// CONFLICT.
func (s *Service) CreateSaved(ctx context.Context, in SavedInput) (*ent.SavedReport, error) {
	uid, err := user(ctx)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || len(name) > maxSavedName || inputcheck.Line(name) != nil {
		return nil, apperr.Invalid("name", "must be 1-%d bytes on one line", maxSavedName)
	}
	if _, err := s.Range(in.Params.From, in.Params.To); err != nil {
		if e, ok := apperr.As(err); ok && e.Field != "" {
			e.Field = "params." + e.Field
		}
		return nil, err
	}
	slug := ""
	switch in.Kind {
	case savedreport.KindPlatform:
		if err := viewer.RequireOperator(ctx); err != nil {
			return nil, err
		}
		if in.Params.PartnerSlug != nil && *in.Params.PartnerSlug != "" {
			return nil, apperr.Invalid("params.partnerSlug", "a platform report has no partner")
		}
	case savedreport.KindPartner:
		if in.Params.PartnerSlug == nil || strings.TrimSpace(*in.Params.PartnerSlug) == "" {
			return nil, apperr.Invalid("params.partnerSlug", "a partner report needs the partner's slug")
		}
		p, err := s.partnerFor(ctx, strings.TrimSpace(*in.Params.PartnerSlug))
		if err != nil {
			return nil, err
		}
		slug = p.Slug
	default:
		return nil, apperr.Invalid("kind", "unknown report kind %q", in.Kind)
	}
	var out *ent.SavedReport
	err = db.WithTx(ctx, s.client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		if n, err := c.SavedReport.Query().Where(savedreport.Name(name)).Count(ctx); err != nil {
			return err
		} else if n > 0 {
			return apperr.Conflictf("you already have a saved report named %q", name)
		}
		out, err = c.SavedReport.Create().SetUserID(uid).SetName(name).SetKind(in.Kind).
			SetFrom(in.Params.From).SetTo(in.Params.To).SetPartnerSlug(slug).Save(ctx)
		if err != nil {
			return apperr.About(err, "saved report")
		}
		return audit.Record(ctx, audit.Event{
			Action: "report.saved", ResourceType: "saved_report", ResourceID: strconv.Itoa(out.ID), ResourceName: name,
			Metadata: map[string]any{"kind": string(in.Kind), "from": in.Params.From, "to": in.Params.To, "partnerSlug": slug},
		})
	})
	if err != nil {
		return nil, apperr.About(err, "saved report")
	}
	return out, nil
}

// DeleteSaved deletes one of the viewer's saved reports (NOT_FOUND for
// another's), audited, and returns it.
func (s *Service) DeleteSaved(ctx context.Context, id int) (*ent.SavedReport, error) {
	if _, err := user(ctx); err != nil {
		return nil, err
	}
	var out *ent.SavedReport
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		r, err := c.SavedReport.Get(ctx, id)
		if err != nil {
			return apperr.About(err, "saved report")
		}
		if err := c.SavedReport.DeleteOne(r).Exec(ctx); err != nil {
			return apperr.About(err, "saved report")
		}
		out = r
		return audit.Record(ctx, audit.Event{
			Action: "report.deleted", ResourceType: "saved_report", ResourceID: strconv.Itoa(r.ID), ResourceName: r.Name,
		})
	})
	if err != nil {
		return nil, apperr.About(err, "saved report")
	}
	return out, nil
}
