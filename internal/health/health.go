// Package health probes the platform's dependencies and reports them.
//
// Check probes the database and every configured provider plugin in
// parallel, each bounded by Config.Timeout (default 1.5 s). A plugin probe
// is the plugin's Health call through the host: reaching the process is the
// ping, and its answer is the provider's own upstream check. A probe is OK
// when it succeeds within OKWithin (500 ms), WARN when it succeeds within
// the timeout, and BAD on error, timeout, an unhealthy upstream or a plugin
// that is not running. Planned services (not deployed) are listed apart and
// never probed.
//
// Run repeats the check every Config.Interval and keeps the last report;
// Subscribe delivers the current report at once and then every report
// whose set of statuses differs from the previous one, so a status change
// reaches subscribers within one interval. Ready is the readiness check for
// orchestrators: the database and the required plugins.
//
// Reports are for operators only (Report returns FORBIDDEN otherwise);
// Ready and the probe loop run without a viewer.
package health

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
)

// Status is a probe's verdict.
type Status string

// The verdicts.
const (
	StatusOK   Status = "OK"
	StatusWarn Status = "WARN"
	StatusBad  Status = "BAD"
)

// MarshalGQL implements graphql.Marshaler.
func (s Status) MarshalGQL(w io.Writer) { io.WriteString(w, strconv.Quote(string(s))) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (s *Status) UnmarshalGQL(v any) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("health status must be a string")
	}
	switch Status(str) {
	case StatusOK, StatusWarn, StatusBad:
		*s = Status(str)
		return nil
	}
	return fmt.Errorf("%q is not a health status", str)
}

// Service is one probed service.
type Service struct {
	Name      string
	Status    Status
	LatencyMs int
	Message   string
}

// Planned is a service that is planned but not deployed.
type Planned struct{ Name string }

// Report is the outcome of one check.
type Report struct {
	CheckedAt time.Time
	Services  []Service
	Planned   []Planned
}

// key summarises the statuses, for change detection.
func (r Report) key() string {
	var b strings.Builder
	for _, s := range r.Services {
		b.WriteString(s.Name + "=" + string(s.Status) + ";")
	}
	return b.String()
}

// Pinger is the database check (*sql.DB implements it).
type Pinger interface {
	PingContext(ctx context.Context) error
}

// Plugins is the plugin host's reporting and routing (*host.Host).
type Plugins interface {
	Status() []host.Status
	Provider(c sdk.Capability) (sdk.Provider, error)
}

// DefaultPlanned are the planned, not yet deployed services.
var DefaultPlanned = []string{"Jitsi", "Zulip", "simpledns.plus", "Hetzner Object Storage", "Postmark"}

// Config configures a Checker.
type Config struct {
	// DBName names the database service (e.g. "PostgreSQL").
	DBName string
	DB     Pinger
	// Plugins may be nil (no plugins configured).
	Plugins Plugins
	// Required lists the capabilities whose plugins Ready requires.
	Required []sdk.Capability
	Planned  []string
	Timeout  time.Duration // per probe, default 1.5s
	OKWithin time.Duration // default 500ms
	Interval time.Duration // probe loop period, default 15s
	Log      *slog.Logger
}

// Checker runs the probes.
type Checker struct {
	cfg  Config
	mu   sync.Mutex
	last *Report
	subs map[chan Report]struct{}
}

// New returns a Checker.
func New(cfg Config) *Checker {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 1500 * time.Millisecond
	}
	if cfg.OKWithin <= 0 {
		cfg.OKWithin = 500 * time.Millisecond
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 15 * time.Second
	}
	if cfg.Planned == nil {
		cfg.Planned = DefaultPlanned
	}
	if cfg.DBName == "" {
		cfg.DBName = "Database"
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Checker{cfg: cfg, subs: map[chan Report]struct{}{}}
}

// probe is one named check.
type probe struct {
	name string
	run  func(ctx context.Context) (msg string, err error)
}

func (c *Checker) probes() []probe {
	ps := []probe{{name: c.cfg.DBName, run: func(ctx context.Context) (string, error) {
		if err := c.cfg.DB.PingContext(ctx); err != nil {
			return "", err
		}
		return "ping ok", nil
	}}}
	if c.cfg.Plugins == nil {
		return ps
	}
	for _, st := range c.cfg.Plugins.Status() {
		caps := make([]string, len(st.Capabilities))
		for i, cp := range st.Capabilities {
			caps[i] = string(cp)
		}
		ps = append(ps, probe{name: st.Plugin + " (" + strings.Join(caps, ", ") + ")", run: func(ctx context.Context) (string, error) {
			return c.probePlugin(ctx, st)
		}})
	}
	return ps
}

func (c *Checker) probePlugin(ctx context.Context, st host.Status) (string, error) {
	if st.State != host.StateRunning {
		msg := "plugin " + string(st.State)
		if st.LastError != "" {
			msg += ": " + st.LastError
		}
		return "", fmt.Errorf("%s", msg)
	}
	if len(st.Capabilities) == 0 {
		return "", fmt.Errorf("plugin %s serves no capability", st.Plugin)
	}
	p, err := c.cfg.Plugins.Provider(st.Capabilities[0])
	if err != nil {
		return "", err
	}
	hs, err := p.Health(ctx)
	if err != nil {
		return "", err
	}
	if !hs.Healthy {
		return "", fmt.Errorf("upstream unhealthy: %s", hs.Message)
	}
	return hs.Message, nil
}

// Check runs every probe in parallel and returns the report.
func (c *Checker) Check(ctx context.Context) Report {
	ps := c.probes()
	out := make([]Service, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = c.run(ctx, p)
		}()
	}
	wg.Wait()
	r := Report{CheckedAt: time.Now().UTC(), Services: out}
	for _, n := range c.cfg.Planned {
		r.Planned = append(r.Planned, Planned{Name: n})
	}
	return r
}

// run executes one probe under the timeout and grades it.
func (c *Checker) run(ctx context.Context, p probe) Service {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	type result struct {
		msg string
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		msg, err := p.run(ctx)
		done <- result{msg, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		res = result{err: fmt.Errorf("no answer within %s", c.cfg.Timeout)}
	}
	lat := time.Since(start)
	s := Service{Name: p.name, LatencyMs: int(lat.Milliseconds()), Message: res.msg}
	switch {
	case res.err != nil:
		s.Status, s.Message = StatusBad, res.err.Error()
	case lat <= c.cfg.OKWithin:
		s.Status = StatusOK
	case lat <= c.cfg.Timeout:
		s.Status = StatusWarn
		s.Message = strings.TrimSpace(s.Message + " (slow)")
	default:
		s.Status, s.Message = StatusBad, fmt.Sprintf("answered after %s", lat.Round(time.Millisecond))
	}
	return s
}

// Report checks now and returns the report (operators only).
func (c *Checker) Report(ctx context.Context) (*Report, error) {
	// Not an entity: probes of plugins and upstreams, so no schema says it.
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	r := c.Check(ctx)
	c.publish(r)
	return &r, nil
}

// Ready checks the database and the required plugins.
func (c *Checker) Ready(ctx context.Context) error {
	if err := c.cfg.DB.PingContext(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if len(c.cfg.Required) == 0 {
		return nil
	}
	if c.cfg.Plugins == nil {
		return fmt.Errorf("required plugins %v are not configured", c.cfg.Required)
	}
	for _, st := range c.cfg.Plugins.Status() {
		required := false
		for _, cp := range st.Capabilities {
			required = required || slices.Contains(c.cfg.Required, cp)
		}
		if !required {
			continue
		}
		if st.State != host.StateRunning {
			return fmt.Errorf("plugin %s is %s", st.Plugin, st.State)
		}
		if st.Breaker == host.BreakerOpen {
			return fmt.Errorf("plugin %s: circuit breaker open", st.Plugin)
		}
	}
	for _, cp := range c.cfg.Required {
		if _, err := c.cfg.Plugins.Provider(cp); err != nil {
			return fmt.Errorf("required capability %s: %w", cp, err)
		}
	}
	return nil
}

// Run probes every Interval until ctx ends, publishing each report. It
// runs on every replica, not as a job: it probes this replica's own plugin
// processes and database connection, and feeds this replica's readiness
// and healthChanged subscribers.
func (c *Checker) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		c.publish(c.Check(ctx))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// publish stores r and sends it to the subscribers when a status changed.
func (c *Checker) publish(r Report) {
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := c.last == nil || c.last.key() != r.key()
	c.last = &r
	if !changed {
		return
	}
	for ch := range c.subs {
		select {
		case ch <- r:
		default:
			// A slow subscriber keeps only the newest report.
			select {
			case <-ch:
			default:
			}
			ch <- r
		}
	}
}

// Subscribe returns the reports for one subscriber until ctx ends (operators
// only): the latest report first (a fresh check when there is none yet),
// then every report whose statuses changed.
func (c *Checker) Subscribe(ctx context.Context) (<-chan *Report, error) {
	// Not an entity: a live feed of probe results, so no schema says it.
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	in := make(chan Report, 1)
	c.mu.Lock()
	checked := c.last != nil
	if checked {
		in <- *c.last
	}
	c.subs[in] = struct{}{}
	c.mu.Unlock()
	if !checked {
		// Published like a loop's probe, so it becomes the report the
		// next probe is compared with: the loop's first report, if the
		// same, is not sent again.
		c.publish(c.Check(ctx))
	}
	out := make(chan *Report, 1)
	go func() {
		defer close(out)
		defer func() {
			c.mu.Lock()
			delete(c.subs, in)
			c.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case r := <-in:
				select {
				case out <- &r:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}
