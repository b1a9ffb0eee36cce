package conformance

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
)

// Report is the outcome of Check: every check the kit ran against one
// plugin, with the plugin's own description and the protocol versions it
// completed a handshake for.
type Report struct {
	Plugin      string
	Path        string
	Checksum    string
	Description sdk.Description
	Protocols   []int
	Results     []Result
	Duration    time.Duration
}

// Check runs the same suites as RunAll against the plugin behind h and
// collects the outcome instead of failing a test; it needs no `go test`.
// ctx bounds the whole run.
func Check(ctx context.Context, h *host.Host, opts ...Option) *Report {
	rep := &Report{}
	if st := h.Status(); len(st) > 0 {
		rep.Plugin, rep.Path, rep.Checksum, rep.Description = st[0].Plugin, st[0].Path, st[0].Checksum, st[0].Description
	}
	opts = append(slices.Clone(opts), func(o *options) { o.protocols = &rep.Protocols })
	rec := &recorder{}
	root := newCollector(ctx, rec, "")
	began := time.Now()
	root.exec(func(t T) { runAll(t, h, opts...) })
	rep.Duration = time.Since(began)
	rep.Results = rec.results
	if root.failed && !slices.ContainsFunc(rep.Results, func(r Result) bool { return r.Outcome == Fail }) {
		rep.Results = append(rep.Results, Result{Name: "kit", Outcome: Fail, Messages: root.msgs})
	}
	return rep
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool {
	return slices.ContainsFunc(r.Results, func(res Result) bool { return res.Outcome == Fail })
}

// area is the first element of a result name: "transport" or a
// capability.
func area(name string) string {
	a, _, _ := strings.Cut(name, "/")
	return a
}

// WriteText prints the report: a header, then per area (transport and
// each capability) a verdict with counts, followed by every failed or
// skipped check with its messages.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "plugin     %s %s (%s)\n", r.Description.Name, r.Description.Version, r.Path)
	if r.Checksum != "" {
		fmt.Fprintf(&b, "sha256     %s\n", r.Checksum)
	}
	fmt.Fprintf(&b, "protocols  %s (negotiated %d; host speaks %s)\n", ints(r.Protocols), r.Description.ProtocolVersion, ints(hostProtocols()))
	fmt.Fprintf(&b, "serves     %v\n\n", r.Description.Capabilities)
	var areas []string
	for _, res := range r.Results {
		if a := area(res.Name); !slices.Contains(areas, a) {
			areas = append(areas, a)
		}
	}
	for _, a := range areas {
		var pass, fail, skip int
		var notes []string
		for _, res := range r.Results {
			if area(res.Name) != a || res.Name == a {
				continue
			}
			if hasChildren(r.Results, res.Name) {
				continue // counted through its leaves
			}
			switch res.Outcome {
			case Pass:
				pass++
			case Fail:
				fail++
			case Skip:
				skip++
			}
			if res.Outcome != Pass {
				for _, m := range res.Messages {
					notes = append(notes, fmt.Sprintf("    %s %s: %s", res.Outcome, res.Name, m))
				}
			}
		}
		verdict := Pass
		if fail > 0 {
			verdict = Fail
		}
		// Failures of the area itself (for example a failed setup).
		for _, res := range r.Results {
			if res.Name == a && res.Outcome == Fail {
				verdict = Fail
				for _, m := range res.Messages {
					notes = append(notes, fmt.Sprintf("    FAIL %s: %s", res.Name, m))
				}
			}
		}
		fmt.Fprintf(&b, "%-4s  %-10s %3d passed, %d failed, %d skipped\n", verdict, a, pass, fail, skip)
		for _, n := range notes {
			b.WriteString(n + "\n")
		}
	}
	verdict := "PASS"
	if r.Failed() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "\n%s  %d checks in %s\n", verdict, len(r.Results), r.Duration.Round(time.Millisecond))
	_, err := io.WriteString(w, b.String())
	return err
}

func hasChildren(results []Result, name string) bool {
	return slices.ContainsFunc(results, func(r Result) bool { return strings.HasPrefix(r.Name, name+"/") })
}

func ints(v []int) string {
	if len(v) == 0 {
		return "none"
	}
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}
