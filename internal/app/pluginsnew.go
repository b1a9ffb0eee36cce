package app

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/dezky/platform/internal/scaffold"
	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
)

// platformModule is the module third-party providers import.
const platformModule = "github.com/dezky/platform"

// runPluginsNew scaffolds a provider plugin.
func runPluginsNew(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plugins new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "plugin name; the binary becomes dezky-provider-<name> (required)")
	caps := fs.String("capability", "", fmt.Sprintf("comma-separated capabilities to serve (templates: %v; required)", scaffold.Supported))
	dir := fs.String("dir", "", "directory to write into; empty: ./dezky-provider-<name>")
	module := fs.String("module", "", "also write go.mod for this module path")
	version := fs.String("platform-version", "", "version of "+platformModule+" to require in go.mod; empty: this binary's, else a placeholder to pair with --replace")
	replace := fs.String("replace", "", "local checkout of "+platformModule+" to use in go.mod (a replace directive)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" || *caps == "" || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("plugins new: --name and --capability are required")
	}
	o := scaffold.Options{Name: *name, Dir: *dir, Module: *module, PlatformVersion: *version, GoVersion: goDirective()}
	if o.Dir == "" {
		o.Dir = host.BinaryPrefix + *name
	}
	for _, c := range splitList(*caps) {
		o.Capabilities = append(o.Capabilities, sdk.Capability(c))
	}
	if *replace != "" {
		abs, err := filepath.Abs(*replace)
		if err != nil {
			return fmt.Errorf("plugins new: %w", err)
		}
		o.Replace = abs
	}
	if o.PlatformVersion == "" {
		o.PlatformVersion = "v0.0.0-00010101000000-000000000000"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path == platformModule && strings.HasPrefix(bi.Main.Version, "v") {
			o.PlatformVersion = bi.Main.Version
		}
	}
	files, err := scaffold.Generate(o)
	if err != nil {
		return fmt.Errorf("plugins new: %w", err)
	}
	for _, f := range files {
		fmt.Fprintln(stdout, f)
	}
	fmt.Fprintf(stderr, "\nnext: cd %s && go mod tidy && go test ./...  (runs the conformance kit)\n", o.Dir)
	return nil
}

// goDirective is the go.mod go line for a new module: the version of the
// toolchain that built this binary.
func goDirective() string {
	v := strings.TrimPrefix(runtime.Version(), "go")
	if i := strings.IndexFunc(v, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }); i >= 0 {
		v = v[:i]
	}
	if v == "" {
		return "1.26"
	}
	return v
}
