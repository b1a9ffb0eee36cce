package provisioning

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/provisioningstate"
	"github.com/dezky/platform/internal/jobs"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/sdk"
)

// JobKind is the river job kind converging one integration of one
// tenant.
const JobKind = "provision_integration"

// jobArgs is a provisioning job: converge Integration of TenantID to the
// tenant's state when the job runs. TenantID, Integration and Generation
// make it unique (see jobUniqueness).
type jobArgs struct {
	TenantID    int         `json:"tenant_id" river:"unique"`
	Integration Integration `json:"integration" river:"unique"`
	Generation  int         `json:"generation" river:"unique"`
	// Reason is the change that queued the job (for operators).
	Reason string `json:"reason"`
}

// Kind names the job kind.
func (jobArgs) Kind() string { return JobKind }

// jobUniqueness merges a change into the job of the same tenant,
// integration and generation while that job exists unfinished (completed
// jobs do not count: their generation is never queued again).
var jobUniqueness = river.UniqueOpts{
	ByArgs: true,
	ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	},
}

// worker works provisioning jobs.
type worker struct {
	river.WorkerDefaults[jobArgs]
	s *Service
}

// Timeout bounds one run of a step (Config.StepTimeout).
func (w *worker) Timeout(*river.Job[jobArgs]) time.Duration { return w.s.cfg.StepTimeout }

// NextRetry paces the retries of a failed step by Config.Backoff (river's
// rescuer uses it too, for a job whose replica died).
func (w *worker) NextRetry(j *river.Job[jobArgs]) time.Time {
	return time.Now().Add(w.s.cfg.Backoff.Delay(j.Attempt))
}

// Work runs one attempt of a job.
func (w *worker) Work(ctx context.Context, j *river.Job[jobArgs]) error { return w.s.work(ctx, j) }

// register adds the provisioning worker to the engine.
func (s *Service) register(e *jobs.Engine) { jobs.AddWorker(e, &worker{s: s}) }

// work runs one attempt of a job: it moves the integration's generation
// past the job's, loads the tenant, runs the step and records its outcome.
// The returned error makes river retry the job (Config.Backoff) until
// Config.MaxAttempts, or, for a request the provider rejected as invalid,
// cancels it.
func (s *Service) work(ctx context.Context, j *river.Job[jobArgs]) error {
	sys := viewer.SystemContext(ctx)
	a := j.Args
	superseded, err := s.begin(sys, a)
	if err != nil {
		return err
	}
	if superseded {
		// A job queued later has started since this one last ran: it read
		// a tenant at least as new as any change this one stands for.
		s.cfg.Log.DebugContext(ctx, "provisioning: job superseded", "tenant", a.TenantID, "integration", a.Integration, "generation", a.Generation)
		return nil
	}
	t, err := s.cfg.Client.Tenant.Get(sys, a.TenantID)
	if ent.IsNotFound(err) {
		// The tenant row is gone (never happens through the API, which
		// soft-deletes): nothing left to converge.
		return nil
	}
	if err != nil {
		return fmt.Errorf("provisioning: load tenant %d: %w", a.TenantID, err)
	}
	result, ext, stepErr := s.step(ctx, t, a.Integration)
	// The outcome is recorded even when ctx ended during the step (a
	// shutdown or the step's timeout); river then retries the job.
	return s.finish(context.WithoutCancel(sys), j, t, result, ext, stepErr)
}

// begin starts a run of job a: when the integration is still at the job's
// generation, it moves it to the next, so a change committed from now on
// queues a new job rather than merging into this one, which may already
// have read the tenant. It reports whether the job is superseded: a job of
// a later generation has started already.
func (s *Service) begin(ctx context.Context, a jobArgs) (bool, error) {
	n, err := s.cfg.Client.ProvisioningState.Update().
		Where(provisioningstate.TenantID(a.TenantID), provisioningstate.IntegrationEQ(a.Integration),
			provisioningstate.Generation(a.Generation)).
		AddGeneration(1).Save(ctx)
	if err != nil {
		return false, fmt.Errorf("provisioning: start %s job: %w", a.Integration, err)
	}
	if n > 0 {
		return false, nil
	}
	st, err := s.cfg.Client.ProvisioningState.Query().
		Where(provisioningstate.TenantID(a.TenantID), provisioningstate.IntegrationEQ(a.Integration)).Only(ctx)
	if ent.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("provisioning: load %s state: %w", a.Integration, err)
	}
	return st.Generation > a.Generation+1, nil
}

// finish records a step's outcome (its result message or its error, with
// the upstream IDs in ext) and tells river what to do with the job.
func (s *Service) finish(ctx context.Context, j *river.Job[jobArgs], t *ent.Tenant, result string, ext map[string]string, stepErr error) error {
	i := j.Args.Integration
	switch {
	case stepErr == nil:
		return s.setState(ctx, t, i, StatusOK, result, ext)
	case errors.Is(stepErr, errSkipped):
		return s.setState(ctx, t, i, StatusSkipped, "not configured", nil)
	case sdk.IsInvalid(stepErr):
		// The upstream rejected the request itself: retrying the same
		// request cannot succeed. The next change or reconcile re-drives.
		msg := fmt.Sprintf("rejected by the provider (not retried; fix and reconcile): %v", stepErr)
		if err := s.setState(ctx, t, i, StatusError, msg, ext); err != nil {
			return err
		}
		return river.JobCancel(stepErr)
	case j.Attempt >= j.MaxAttempts:
		// River discards the job after this attempt: ERROR until the next
		// change or reconcile.
		msg := fmt.Sprintf("gave up after %d attempts: %v", j.Attempt, stepErr)
		if err := s.setState(ctx, t, i, StatusError, msg, ext); err != nil {
			return err
		}
		s.cfg.Log.WarnContext(ctx, "provisioning: giving up", "tenant", t.Slug, "integration", i, "err", stepErr)
		return stepErr
	default:
		delay := s.cfg.Backoff.Delay(j.Attempt)
		msg := fmt.Sprintf("%v (attempt %d, retrying in %s)", stepErr, j.Attempt, delay.Round(time.Millisecond))
		if err := s.setState(ctx, t, i, StatusError, msg, ext); err != nil {
			return err
		}
		s.cfg.Log.InfoContext(ctx, "provisioning: step failed", "tenant", t.Slug, "integration", i, "attempt", j.Attempt, "err", stepErr)
		return stepErr
	}
}

// Queued counts the provisioning jobs not finished yet (queued, running or
// waiting for a retry), on every replica.
func (s *Service) Queued(ctx context.Context) (int, error) {
	return s.cfg.Jobs.Unfinished(ctx, JobKind)
}
