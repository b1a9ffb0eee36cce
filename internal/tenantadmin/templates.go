package tenantadmin

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/dezky/platform/ent/schema/schematype"
)

// Limits of an e-mail template override.
const (
	MaxSubjectBytes = 200
	MaxBodyBytes    = 2048
)

// EmailTemplateSpec is one fixed template key: its placeholders, sample
// values for previews and the platform's default text.
type EmailTemplateSpec struct {
	Key          string
	Description  string
	Placeholders []string
	Subject      string
	Body         string
	sample       map[string]string
}

// EmailTemplates are the fixed template keys, in display order.
var EmailTemplates = []*EmailTemplateSpec{
	{
		Key: "member_invite", Description: "Invitation of a new member to a tenant.",
		Placeholders: []string{"ProductName", "TenantName", "InviterName", "MemberName", "MemberEmail", "InviteURL"},
		Subject:      "{{.InviterName}} invited you to {{.TenantName}} on {{.ProductName}}",
		Body: "Hello {{.MemberName}},\n\n{{.InviterName}} invited you ({{.MemberEmail}}) to {{.TenantName}} on {{.ProductName}}.\n" +
			"Accept the invitation: {{.InviteURL}}\n",
		sample: map[string]string{"ProductName": "", "TenantName": "Acme Corp", "InviterName": "Ada Admin",
			"MemberName": "Sam Sample", "MemberEmail": "sam@acme.example", "InviteURL": "https://app.example/invite/sample-token"},
	},
	{
		Key: "password_reset", Description: "A password reset link.",
		Placeholders: []string{"ProductName", "MemberName", "ResetURL", "ExpiresIn"},
		Subject:      "Reset your {{.ProductName}} password",
		Body: "Hello {{.MemberName}},\n\nreset your password within {{.ExpiresIn}}: {{.ResetURL}}\n" +
			"If you did not ask for this, ignore this e-mail.\n",
		sample: map[string]string{"ProductName": "", "MemberName": "Sam Sample",
			"ResetURL": "https://app.example/reset/sample-token", "ExpiresIn": "24 hours"},
	},
	{
		Key: "mfa_required", Description: "Notice that the tenant now requires a second factor.",
		Placeholders: []string{"ProductName", "TenantName", "MemberName", "SettingsURL"},
		Subject:      "{{.TenantName}} now requires two-factor sign-in",
		Body: "Hello {{.MemberName}},\n\n{{.TenantName}} requires a second factor to sign in to {{.ProductName}}.\n" +
			"Set one up: {{.SettingsURL}}\n",
		sample: map[string]string{"ProductName": "", "TenantName": "Acme Corp", "MemberName": "Sam Sample",
			"SettingsURL": "https://app.example/settings/security"},
	},
	{
		Key: "storage_quota_warning", Description: "Warning that the tenant's storage is nearly full.",
		Placeholders: []string{"ProductName", "TenantName", "UsedPercent", "QuotaGiB"},
		Subject:      "{{.TenantName}} has used {{.UsedPercent}}% of its storage",
		Body: "{{.TenantName}} has used {{.UsedPercent}}% of its {{.QuotaGiB}} GiB on {{.ProductName}}.\n" +
			"Free up space or move to a larger plan.\n",
		sample: map[string]string{"ProductName": "", "TenantName": "Acme Corp", "UsedPercent": "91", "QuotaGiB": "100"},
	},
}

// templateSpec returns the spec of key, nil when the key is unknown.
func templateSpec(key string) *EmailTemplateSpec {
	i := slices.IndexFunc(EmailTemplates, func(s *EmailTemplateSpec) bool { return s.Key == key })
	if i < 0 {
		return nil
	}
	return EmailTemplates[i]
}

// templateKeys lists the known keys for error messages.
func templateKeys() string {
	keys := make([]string, len(EmailTemplates))
	for i, s := range EmailTemplates {
		keys[i] = s.Key
	}
	return strings.Join(keys, ", ")
}

// ParseTemplate parses one template source for key. Only text and
// placeholders of the key, written {{.Name}}, are allowed: no functions,
// conditionals, loops, variables or comments, so a template cannot do
// anything but substitute the values it is given.
func ParseTemplate(key, src string) (*template.Template, error) {
	spec := templateSpec(key)
	if spec == nil {
		return nil, fmt.Errorf("unknown template key %q (known: %s)", key, templateKeys())
	}
	t, err := template.New(key).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("not a valid template: %s", strings.TrimPrefix(err.Error(), "template: "))
	}
	if t.Tree == nil || t.Tree.Root == nil {
		return t, nil
	}
	if len(t.Templates()) > 1 {
		return nil, fmt.Errorf("template definitions are not allowed")
	}
	for _, n := range t.Tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
		case *parse.ActionNode:
			name, ok := placeholderName(n)
			if !ok {
				return nil, fmt.Errorf("only placeholders like {{.%s}} are allowed, not %s", spec.Placeholders[0], n)
			}
			if !slices.Contains(spec.Placeholders, name) {
				return nil, fmt.Errorf("unknown placeholder {{.%s}} for %s (allowed: %s)", name, key, strings.Join(spec.Placeholders, ", "))
			}
		default:
			return nil, fmt.Errorf("only placeholders like {{.%s}} are allowed, not %s", spec.Placeholders[0], n)
		}
	}
	return t, nil
}

// placeholderName returns Name of an action {{.Name}}.
func placeholderName(a *parse.ActionNode) (string, bool) {
	p := a.Pipe
	if p == nil || len(p.Decl) > 0 || p.IsAssign || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return "", false
	}
	f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok || len(f.Ident) != 1 {
		return "", false
	}
	return f.Ident[0], true
}

// checkTemplates validates a full set of overrides: known, unique keys,
// one-line subjects, sizes and placeholders. It returns them sorted by key.
func checkTemplates(in []schematype.EmailTemplate) ([]schematype.EmailTemplate, error) {
	seen := map[string]bool{}
	out := make([]schematype.EmailTemplate, 0, len(in))
	for _, t := range in {
		if seen[t.Key] {
			return nil, fmt.Errorf("template %q is given twice", t.Key)
		}
		seen[t.Key] = true
		if strings.TrimSpace(t.Subject) == "" || len(t.Subject) > MaxSubjectBytes || strings.ContainsAny(t.Subject, "\r\n") {
			return nil, fmt.Errorf("%s: the subject must be one line of 1-%d bytes", t.Key, MaxSubjectBytes)
		}
		if strings.TrimSpace(t.Body) == "" || len(t.Body) > MaxBodyBytes {
			return nil, fmt.Errorf("%s: the body must be 1-%d bytes", t.Key, MaxBodyBytes)
		}
		if _, err := ParseTemplate(t.Key, t.Subject); err != nil {
			return nil, fmt.Errorf("%s subject: %w", t.Key, err)
		}
		if _, err := ParseTemplate(t.Key, t.Body); err != nil {
			return nil, fmt.Errorf("%s body: %w", t.Key, err)
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b schematype.EmailTemplate) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// render renders a checked template source for key with the key's sample
// values (ProductName set to productName).
func render(key, src, productName string) (string, error) {
	t, err := ParseTemplate(key, src)
	if err != nil {
		return "", err
	}
	data := map[string]string{}
	for k, v := range templateSpec(key).sample {
		data[k] = v
	}
	data["ProductName"] = productName
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render %s: %w", key, err)
	}
	return b.String(), nil
}
