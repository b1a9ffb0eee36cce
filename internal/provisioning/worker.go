package provisioning

import (
	"context"
	"errors"
	"fmt"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/predicate"
	"github.com/dezky/platform/ent/provisioningjob"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/sdk"
)

// unclaimed matches jobs nobody holds a live lease on.
func unclaimed(now time.Time) predicate.ProvisioningJob {
	return provisioningjob.Or(provisioningjob.LockedUntilIsNil(), provisioningjob.LockedUntilLT(now))
}

// Run works the queue until ctx ends: it runs due jobs one at a time,
// waking on local commits (Wake) and every Config.Poll.
func (s *Service) Run(ctx context.Context) {
	if !s.isPostgres() {
		// The embedded database serves one process: a lease still held
		// belongs to a previous run of it that died.
		n, err := s.cfg.Client.ProvisioningJob.Update().Where(provisioningjob.LockedUntilNotNil()).
			ClearLockedUntil().Save(viewer.SystemContext(ctx))
		if err != nil {
			s.cfg.Log.ErrorContext(ctx, "provisioning: release stale claims", "err", err)
		} else if n > 0 {
			s.cfg.Log.InfoContext(ctx, "provisioning: released claims of a previous run", "jobs", n)
		}
	}
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		for {
			ran, err := s.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				s.cfg.Log.ErrorContext(ctx, "provisioning: worker", "err", err)
			}
			if !ran || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// RunOnce claims and runs one due job. It reports whether there was one.
func (s *Service) RunOnce(ctx context.Context) (bool, error) {
	sys := viewer.SystemContext(ctx)
	job, err := s.claim(sys)
	if err != nil || job == nil {
		return false, err
	}
	t, err := s.cfg.Client.Tenant.Get(sys, job.TenantID)
	if ent.IsNotFound(err) {
		// The tenant row is gone (never happens through the API, which
		// soft-deletes): nothing left to converge.
		return true, s.cfg.Client.ProvisioningJob.DeleteOneID(job.ID).Exec(sys)
	}
	if err != nil {
		return true, s.release(context.WithoutCancel(sys), job, err)
	}
	// A step ends before its claim's lease does (with a tenth of the lease
	// left to record the outcome), so no other worker can take the job
	// while it still runs.
	stepCtx, cancel := context.WithDeadline(ctx, job.LockedUntil.Add(-s.cfg.Lease/10))
	defer cancel()
	stepCtx, end := s.traces.Resume(stepCtx, jobKey{t.ID, Integration(job.Integration)}, "provision "+job.Integration.String())
	defer end()
	result, ext, stepErr := s.step(stepCtx, t, Integration(job.Integration))
	// The outcome is recorded even when ctx ended during the step (a
	// shutdown), so the job is released rather than left claimed.
	return true, s.finish(context.WithoutCancel(sys), job, t, result, ext, stepErr)
}

// claim leases the oldest due job, or returns nil when none is due.
func (s *Service) claim(ctx context.Context) (*ent.ProvisioningJob, error) {
	var out *ent.ProvisioningJob
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		now := time.Now().UTC()
		q := ent.FromContext(ctx).ProvisioningJob.Query().
			Where(provisioningjob.RunAtLTE(now), unclaimed(now)).
			Order(ent.Asc(provisioningjob.FieldRunAt), ent.Asc(provisioningjob.FieldID))
		if s.isPostgres() {
			q = q.ForUpdate(entsql.WithLockAction(entsql.SkipLocked))
		}
		j, err := q.First(ctx)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		out, err = j.Update().SetLockedUntil(now.Add(s.cfg.Lease)).AddAttempts(1).Save(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("provisioning: claim job: %w", err)
	}
	return out, nil
}

// finish records a step's outcome (its result message or its error, with
// the upstream IDs in ext) and completes or reschedules its job.
func (s *Service) finish(ctx context.Context, job *ent.ProvisioningJob, t *ent.Tenant, result string, ext map[string]string, stepErr error) error {
	i := Integration(job.Integration)
	switch {
	case stepErr == nil:
		if err := s.setState(ctx, t, i, StatusOK, result, ext); err != nil {
			return err
		}
		return s.complete(ctx, job)
	case errors.Is(stepErr, errSkipped):
		if err := s.setState(ctx, t, i, StatusSkipped, "not configured", nil); err != nil {
			return err
		}
		return s.complete(ctx, job)
	case sdk.IsInvalid(stepErr):
		// The upstream rejected the request itself: retrying the same
		// request cannot succeed. The next change or reconcile re-drives.
		msg := fmt.Sprintf("rejected by the provider (not retried; fix and reconcile): %v", stepErr)
		if err := s.setState(ctx, t, i, StatusError, msg, ext); err != nil {
			return err
		}
		return s.complete(ctx, job)
	case job.Attempts >= s.cfg.MaxAttempts:
		msg := fmt.Sprintf("gave up after %d attempts: %v", job.Attempts, stepErr)
		if err := s.setState(ctx, t, i, StatusError, msg, ext); err != nil {
			return err
		}
		s.cfg.Log.WarnContext(ctx, "provisioning: giving up", "tenant", t.Slug, "integration", i, "err", stepErr)
		return s.complete(ctx, job)
	default:
		delay := s.cfg.Backoff.Delay(job.Attempts)
		msg := fmt.Sprintf("%v (attempt %d, retrying in %s)", stepErr, job.Attempts, delay.Round(time.Millisecond))
		if err := s.setState(ctx, t, i, StatusError, msg, ext); err != nil {
			return err
		}
		s.cfg.Log.InfoContext(ctx, "provisioning: step failed", "tenant", t.Slug, "integration", i, "attempt", job.Attempts, "err", stepErr)
		return s.reschedule(ctx, job, delay, stepErr)
	}
}

// complete deletes a finished job. A change that arrived while it ran
// inserted a job of its own (a claimed job is never reused), so nothing is
// lost.
func (s *Service) complete(ctx context.Context, job *ent.ProvisioningJob) error {
	if err := s.cfg.Client.ProvisioningJob.DeleteOneID(job.ID).Exec(ctx); err != nil && !ent.IsNotFound(err) {
		return fmt.Errorf("provisioning: complete job: %w", err)
	}
	return nil
}

// release gives a job back without counting it as a step failure.
func (s *Service) release(ctx context.Context, job *ent.ProvisioningJob, cause error) error {
	if err := s.reschedule(ctx, job, s.cfg.Backoff.Delay(job.Attempts), cause); err != nil {
		return err
	}
	return cause
}

func (s *Service) reschedule(ctx context.Context, job *ent.ProvisioningJob, delay time.Duration, cause error) error {
	err := s.cfg.Client.ProvisioningJob.UpdateOneID(job.ID).
		SetRunAt(time.Now().UTC().Add(delay)).ClearLockedUntil().SetLastError(cause.Error()).Exec(ctx)
	if err != nil {
		return fmt.Errorf("provisioning: reschedule job: %w", err)
	}
	return nil
}

// Queued counts every queued job.
func (s *Service) Queued(ctx context.Context) (int, error) {
	return s.cfg.Client.ProvisioningJob.Query().Count(viewer.SystemContext(ctx))
}

// Pending counts the queued jobs of a tenant (for tests and operators).
func (s *Service) Pending(ctx context.Context, tenantID int) (int, error) {
	return s.cfg.Client.ProvisioningJob.Query().Where(provisioningjob.TenantID(tenantID)).Count(viewer.SystemContext(ctx))
}
