package tenancy

import (
	"context"
	"fmt"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/partnermargin"
)

// MonthStart is the first instant (UTC) of t's month.
func MonthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// Margin is one version of a partner's margin: Pct from the month
// starting at From until the next version.
type Margin struct {
	Pct  int
	From time.Time
}

// Margins returns p's margin history, oldest first. A partner whose
// margin never changed has one version, its margin since the month it was
// created.
func (s *Service) Margins(ctx context.Context, p *ent.Partner) ([]Margin, error) {
	rows, err := s.client.PartnerMargin.Query().Where(partnermargin.PartnerID(p.ID)).
		Order(ent.Asc(partnermargin.FieldEffectiveFrom)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("margins of %s: %w", p.Slug, err)
	}
	if len(rows) == 0 {
		return []Margin{{Pct: p.MarginPct, From: MonthStart(p.CreatedAt)}}, nil
	}
	out := make([]Margin, len(rows))
	for i, r := range rows {
		out[i] = Margin{Pct: r.Pct, From: r.EffectiveFrom.UTC()}
	}
	return out, nil
}

// MarginIn returns the margin in effect for the month starting at month:
// the newest version from that month or before (the oldest version for a
// month before it).
func MarginIn(ms []Margin, month time.Time) int {
	pct := ms[0].Pct
	for _, m := range ms {
		if m.From.After(month) {
			break
		}
		pct = m.Pct
	}
	return pct
}

// recordMarginChange versions a margin change of p from old to pct, in
// ctx's transaction: it applies from the next month (months up to the
// current one may already be paid out and are never rewritten). The
// first change also records the old margin from the partner's creation,
// so history before the change keeps its margin.
func recordMarginChange(ctx context.Context, c *ent.Client, p *ent.Partner, old, pct int, now time.Time) error {
	n, err := c.PartnerMargin.Query().Where(partnermargin.PartnerID(p.ID)).Count(ctx)
	if err != nil {
		return fmt.Errorf("margins of %s: %w", p.Slug, err)
	}
	next := MonthStart(now).AddDate(0, 1, 0)
	if n == 0 {
		if err := c.PartnerMargin.Create().SetPartnerID(p.ID).SetPct(old).SetEffectiveFrom(MonthStart(p.CreatedAt)).Exec(ctx); err != nil {
			return fmt.Errorf("record margin of %s: %w", p.Slug, err)
		}
	}
	err = c.PartnerMargin.Create().SetPartnerID(p.ID).SetPct(pct).SetEffectiveFrom(next).
		OnConflictColumns(partnermargin.FieldPartnerID, partnermargin.FieldEffectiveFrom).
		Update(func(u *ent.PartnerMarginUpsert) { u.SetPct(pct).UpdateUpdatedAt() }).Exec(ctx)
	if err != nil {
		return fmt.Errorf("record margin of %s: %w", p.Slug, err)
	}
	return nil
}
