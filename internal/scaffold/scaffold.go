// Package scaffold generates the source of a new provider plugin: a main
// package serving the chosen capabilities from an in-memory store (to be
// replaced with calls to the real upstream), a conformance test, and
// optionally its go.mod. The generated provider compiles and passes the
// conformance kit as it is.
package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/dezky/platform/plugins/sdk"
)

//go:embed templates/*.tmpl
var templates embed.FS

// Supported lists the capabilities the scaffold has templates for: all of
// them.
var Supported = []sdk.Capability{sdk.CapabilityIdentity, sdk.CapabilityMail, sdk.CapabilityStorage, sdk.CapabilityDNS, sdk.CapabilityBilling}

// Options describe the provider to generate.
type Options struct {
	// Name is the plugin name: the binary is dezky-provider-<Name>.
	// Lowercase letters, digits and dashes.
	Name string
	// Capabilities to serve; each must be in Supported.
	Capabilities []sdk.Capability
	// Dir receives the files; it must not hold any of them already.
	Dir string
	// Module, when set, also writes go.mod for this module path, requiring
	// the platform module at PlatformVersion (replaced by Replace when
	// set, for example a local checkout).
	Module          string
	PlatformVersion string
	Replace         string
	// GoVersion is the go directive of go.mod (for example "1.26").
	GoVersion string
}

type capability struct {
	Interface, Const, Lower string
}

var capabilityNames = map[sdk.Capability]capability{
	sdk.CapabilityIdentity: {"Identity", "CapabilityIdentity", "identity"},
	sdk.CapabilityMail:     {"Mail", "CapabilityMail", "mail"},
	sdk.CapabilityStorage:  {"Storage", "CapabilityStorage", "storage"},
	sdk.CapabilityDNS:      {"DNS", "CapabilityDNS", "dns"},
	sdk.CapabilityBilling:  {"Billing", "CapabilityBilling", "billing"},
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// Generate writes the provider's files into o.Dir and returns their
// paths. It refuses to overwrite an existing file.
func Generate(o Options) ([]string, error) {
	if !validName.MatchString(o.Name) {
		return nil, fmt.Errorf("scaffold: name %q: use lowercase letters, digits and dashes, starting with a letter", o.Name)
	}
	if len(o.Capabilities) == 0 {
		return nil, errors.New("scaffold: at least one capability is required")
	}
	for _, c := range o.Capabilities {
		if _, ok := capabilityNames[c]; !ok || !slices.Contains(Supported, c) {
			return nil, fmt.Errorf("scaffold: unknown capability %q (templates exist for %v)", c, Supported)
		}
	}
	data := struct {
		Options
		Capabilities   []capability
		CapabilityList string
		// Mail, DNS and Billing are set when those capabilities are
		// served; Webhooks when mail or billing is (their signed webhooks
		// need a secret).
		Mail, DNS, Billing, Webhooks bool
	}{Options: o}
	var names []string
	for _, c := range sdk.Capabilities { // stable order
		if !slices.Contains(o.Capabilities, c) {
			continue
		}
		data.Capabilities = append(data.Capabilities, capabilityNames[c])
		names = append(names, string(c))
	}
	data.CapabilityList = strings.Join(names, ", ")
	data.Mail = slices.Contains(o.Capabilities, sdk.CapabilityMail)
	data.DNS = slices.Contains(o.Capabilities, sdk.CapabilityDNS)
	data.Billing = slices.Contains(o.Capabilities, sdk.CapabilityBilling)
	data.Webhooks = data.Mail || data.Billing

	files := map[string]string{"main.go": "main.go.tmpl", "store.go": "store.go.tmpl", "provider_test.go": "provider_test.go.tmpl"}
	for _, c := range data.Capabilities {
		files[c.Lower+".go"] = c.Lower + ".go.tmpl"
	}
	if data.Webhooks {
		files["webhook.go"] = "webhook.go.tmpl"
	}
	if o.Module != "" {
		if o.PlatformVersion == "" || o.GoVersion == "" {
			return nil, errors.New("scaffold: go.mod needs PlatformVersion and GoVersion")
		}
		files["go.mod"] = "go.mod.tmpl"
	}
	for name := range files {
		if _, err := os.Stat(filepath.Join(o.Dir, name)); err == nil {
			return nil, fmt.Errorf("scaffold: %s already exists", filepath.Join(o.Dir, name))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("scaffold: %w", err)
		}
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("scaffold: %w", err)
	}
	var written []string
	out := slices.Sorted(func(yield func(string) bool) {
		for k := range files {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range out {
		tmpl, err := template.ParseFS(templates, "templates/"+files[name])
		if err != nil {
			return nil, fmt.Errorf("scaffold: %w", err)
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, data); err != nil {
			return nil, fmt.Errorf("scaffold: %s: %w", name, err)
		}
		src := buf.Bytes()
		if strings.HasSuffix(name, ".go") {
			if src, err = format.Source(src); err != nil {
				return nil, fmt.Errorf("scaffold: %s: %w", name, err)
			}
		}
		path := filepath.Join(o.Dir, name)
		if err := os.WriteFile(path, src, 0o644); err != nil {
			return nil, fmt.Errorf("scaffold: %w", err)
		}
		written = append(written, path)
	}
	return written, nil
}
