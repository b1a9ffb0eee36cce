package deploy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/plugins/sdk"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// strict decodes JSON into v, rejecting unknown fields.
func strict(t *testing.T, name string, doc []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// manifests are the decoded Kubernetes objects.
type manifests struct {
	deployments []*appsv1.Deployment
	jobs        []*batchv1.Job
	services    []*corev1.Service
	secrets     []*corev1.Secret
	pdbs        []*policyv1.PodDisruptionBudget
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// loadManifests decodes every document of every kubernetes/*.yaml file
// strictly into its API type; an unknown kind or field fails.
func loadManifests(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	var m manifests
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, part := range docSep.Split(string(raw), -1) {
			if strings.TrimSpace(stripComments(part)) == "" {
				continue
			}
			name := f + "#" + string(rune('0'+i))
			doc, err := yaml.YAMLToJSON([]byte(part))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var head struct{ APIVersion, Kind string }
			if err := json.Unmarshal(doc, &head); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			switch head.APIVersion + " " + head.Kind {
			case "apps/v1 Deployment":
				v := &appsv1.Deployment{}
				strict(t, name, doc, v)
				m.deployments = append(m.deployments, v)
			case "batch/v1 Job":
				v := &batchv1.Job{}
				strict(t, name, doc, v)
				m.jobs = append(m.jobs, v)
			case "v1 Service":
				v := &corev1.Service{}
				strict(t, name, doc, v)
				m.services = append(m.services, v)
			case "v1 Secret":
				v := &corev1.Secret{}
				strict(t, name, doc, v)
				m.secrets = append(m.secrets, v)
			case "policy/v1 PodDisruptionBudget":
				v := &policyv1.PodDisruptionBudget{}
				strict(t, name, doc, v)
				m.pdbs = append(m.pdbs, v)
			default:
				t.Fatalf("%s: unexpected %s %s", name, head.APIVersion, head.Kind)
			}
		}
	}
	return m
}

func stripComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// checkPod asserts what every dezky pod needs: non-root, no privilege
// escalation, a read-only root with /tmp writable (plugin sockets),
// resources set, and no container running as root.
func checkPod(t *testing.T, name string, spec corev1.PodSpec) {
	t.Helper()
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("%s: pod must run as a non-root user", name)
	}
	if psc != nil && (psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault) {
		t.Errorf("%s: pod needs the RuntimeDefault seccomp profile", name)
	}
	for _, c := range spec.Containers {
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s/%s: needs allowPrivilegeEscalation false, readOnlyRootFilesystem true, capabilities drop ALL", name, c.Name)
		}
		if sc != nil && sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			t.Errorf("%s/%s: runs as root", name, c.Name)
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[r]; !ok {
				t.Errorf("%s/%s: no %s request", name, c.Name, r)
			}
			if _, ok := c.Resources.Limits[r]; !ok {
				t.Errorf("%s/%s: no %s limit", name, c.Name, r)
			}
		}
	}
}

func env(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// TestKubernetesManifests: the manifests decode strictly into the
// Kubernetes API types and hold the production invariants.
func TestKubernetesManifests(t *testing.T) {
	m := loadManifests(t)
	if len(m.deployments) != 1 || len(m.jobs) != 1 || len(m.services) != 1 || len(m.pdbs) != 1 || len(m.secrets) == 0 {
		t.Fatalf("want one Deployment, Job, Service, PodDisruptionBudget and the Secrets; have %d, %d, %d, %d, %d",
			len(m.deployments), len(m.jobs), len(m.services), len(m.pdbs), len(m.secrets))
	}
	d, job, svc, pdb := m.deployments[0], m.jobs[0], m.services[0], m.pdbs[0]
	secrets := map[string]*corev1.Secret{}
	for _, s := range m.secrets {
		secrets[s.Name] = s
	}
	secretKey := func(name, key string) bool {
		s := secrets[name]
		if s == nil {
			return false
		}
		_, ok := s.StringData[key]
		_, ok2 := s.Data[key]
		return ok || ok2
	}

	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("Deployment replicas = %v, want 2", d.Spec.Replicas)
	}
	checkPod(t, "Deployment", d.Spec.Template.Spec)
	checkPod(t, "Job", job.Spec.Template.Spec)
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("Deployment: want one container")
	}
	c := d.Spec.Template.Spec.Containers[0]
	if !slices.Equal(c.Args, []string{"serve"}) {
		t.Errorf("Deployment runs %v, want serve", c.Args)
	}
	probe := func(p *corev1.Probe, path string) bool {
		return p != nil && p.HTTPGet != nil && p.HTTPGet.Path == path
	}
	if !probe(c.LivenessProbe, "/healthz") || !probe(c.ReadinessProbe, "/readyz") {
		t.Errorf("Deployment probes: liveness %v, readiness %v; want /healthz and /readyz", c.LivenessProbe, c.ReadinessProbe)
	}
	jc := job.Spec.Template.Spec.Containers[0]
	if !slices.Equal(jc.Args, []string{"migrate"}) || jc.Image != c.Image {
		t.Errorf("migration Job runs %v of %s; want migrate of the Deployment's image %s", jc.Args, jc.Image, c.Image)
	}
	if dv := env(c, "DEZKY_DEMO"); dv == nil || dv.Value != "false" {
		t.Errorf("Deployment must not seed demo data")
	}
	if env(c, "DEZKY_OIDC_ISSUERS") == nil || env(c, "DEZKY_OIDC_ISSUERS").Value == "" {
		t.Errorf("Deployment must name external OIDC issuers (the embedded development issuer is per replica)")
	}
	// Secrets come from the Secret, never from literals.
	for _, name := range []string{"DEZKY_DATABASE_URL", "DEZKY_S3_ACCESS_KEY", "DEZKY_S3_SECRET_KEY"} {
		for _, ct := range []corev1.Container{c, jc} {
			e := env(ct, name)
			if e == nil {
				continue
			}
			if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
				!secretKey(e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key) {
				t.Errorf("%s of %s: want a reference to a key of the Secret", name, ct.Name)
			}
		}
	}
	if env(jc, "DEZKY_DATABASE_URL") == nil {
		t.Errorf("migration Job has no database URL")
	}
	// The provider configuration and signing key are mounted from the Secret.
	mounted := map[string]bool{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			for _, it := range v.Secret.Items {
				if !secretKey(v.Secret.SecretName, it.Key) {
					t.Errorf("volume %s mounts missing key %s of Secret %s", v.Name, it.Key, v.Secret.SecretName)
				}
				mounted[it.Path] = true
			}
		}
	}
	if !mounted["providers.json"] || !mounted["audit-signing-key.pem"] {
		t.Errorf("the provider configuration and the audit signing key must come from the Secret (mounted %v)", mounted)
	}
	var tmp bool
	for _, vm := range c.VolumeMounts {
		tmp = tmp || vm.MountPath == "/tmp"
	}
	if !tmp {
		t.Errorf("the read-only root needs a writable /tmp for the plugin sockets")
	}
	for _, ef := range c.EnvFrom {
		if ef.SecretRef != nil && secrets[ef.SecretRef.Name] == nil {
			t.Errorf("envFrom names a missing Secret %s", ef.SecretRef.Name)
		}
	}

	// The Service and the PodDisruptionBudget select the Deployment's pods.
	labels := d.Spec.Template.Labels
	selects := func(sel map[string]string) bool {
		for k, v := range sel {
			if labels[k] != v {
				return false
			}
		}
		return len(sel) > 0
	}
	if !selects(svc.Spec.Selector) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, labels)
	}
	if pdb.Spec.Selector == nil || !selects(pdb.Spec.Selector.MatchLabels) {
		t.Errorf("PodDisruptionBudget does not select the pods")
	}
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 || pdb.Spec.MinAvailable.IntValue() >= int(*d.Spec.Replicas) {
		t.Errorf("PodDisruptionBudget minAvailable %v: want at least 1 and below the replicas", pdb.Spec.MinAvailable)
	}
	if !selects(d.Spec.Selector.MatchLabels) {
		t.Errorf("Deployment selector does not select its own pods")
	}
}

// TestComposeFile: the compose file is valid against the Compose
// Specification's schema and wires the stack as documented.
func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile("compose/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	schemaFile, err := os.Open("schema/compose-spec.json")
	if err != nil {
		t.Fatal(err)
	}
	defer schemaFile.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("compose_spec.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("compose_spec.json")
	if err != nil {
		t.Fatalf("compile the compose schema: %v", err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("compose.yaml does not follow the Compose Specification:\n%v", err)
	}

	var f struct {
		Services map[string]struct {
			Image       string
			Command     []string
			Environment map[string]string
			DependsOn   map[string]struct{ Condition string } `json:"depends_on"`
			Volumes     []string
			Build       struct{ Target string }
		}
	}
	if err := json.Unmarshal(doc, &f); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"postgres", "minio", "minio-init", "keys", "migrate", "stripe-mock", "dezky-1", "dezky-2", "proxy"} {
		if _, ok := f.Services[name]; !ok {
			t.Errorf("no service %s", name)
		}
	}
	mig := f.Services["migrate"]
	if !slices.Equal(mig.Command, []string{"migrate"}) {
		t.Errorf("migrate runs %v", mig.Command)
	}
	for _, name := range []string{"dezky-1", "dezky-2"} {
		s := f.Services[name]
		if s.Image != mig.Image {
			t.Errorf("%s runs %s, the migration %s", name, s.Image, mig.Image)
		}
		if s.DependsOn["migrate"].Condition != "service_completed_successfully" {
			t.Errorf("%s must wait for the migration to complete", name)
		}
		if s.Environment["DEZKY_AUDIT_SIGNING_KEY"] == "" || s.Environment["DEZKY_DATABASE_URL"] != f.Services["dezky-1"].Environment["DEZKY_DATABASE_URL"] {
			t.Errorf("%s must share the database and the audit signing key with the other replica", name)
		}
		if !strings.HasPrefix(s.Environment["DEZKY_DATABASE_URL"], "postgres://") {
			t.Errorf("%s must use PostgreSQL", name)
		}
	}
	if f.Services["dezky-2"].Environment["DEZKY_DEMO"] == "true" {
		t.Errorf("only one replica may seed the demo data")
	}
	nginx, err := os.ReadFile("compose/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server dezky-1:8080", "server dezky-2:8080", "proxy_set_header X-Forwarded-For $remote_addr;", "proxy_set_header Upgrade $http_upgrade;"} {
		if !strings.Contains(string(nginx), want) {
			t.Errorf("nginx.conf lacks %q", want)
		}
	}
	// The providers file loads as the replicas would load it (every env:
	// secret set in their environment) and binds billing to stripe-mock
	// and identity, storage, mail and DNS to the simulated upstreams, at
	// the ports the upstreams image listens on, with the secrets the
	// upstreams service is given.
	ups, ok := f.Services["upstreams"]
	if !ok || ups.Build.Target != "upstreams" {
		t.Fatalf("no service upstreams built from the Dockerfile's target upstreams: %+v", ups)
	}
	if f.Services["dezky-1"].Build.Target != "" {
		t.Errorf("the replicas must run the default (production) target")
	}
	for _, name := range []string{"dezky-1", "dezky-2"} {
		if f.Services[name].DependsOn["upstreams"].Condition == "" {
			t.Errorf("%s must start after the upstreams (their volume holds the oCIS audit log)", name)
		}
	}
	replica := f.Services["dezky-1"].Environment
	for _, k := range []string{"DEZKY_SIM_TOKEN", "DEZKY_SIM_MAIL_WEBHOOK_KEY", "DEZKY_SIM_DNS_TSIG_SECRET"} {
		if ups.Environment[k] == "" || ups.Environment[k] != replica[k] {
			t.Errorf("%s: upstreams %q, replicas %q", k, ups.Environment[k], replica[k])
		}
	}
	if ups.Environment["DEZKY_SIM_MAIL_WEBHOOK_URL"] != "http://proxy:8080/webhooks/mail" {
		t.Errorf("the Stalwart simulator delivers webhooks to %q", ups.Environment["DEZKY_SIM_MAIL_WEBHOOK_URL"])
	}
	for k, v := range replica {
		t.Setenv(k, v)
	}
	providers, err := app.LoadProviders("compose/providers.json")
	if err != nil {
		t.Fatal(err)
	}
	dockerfile, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	port := func(envName string) string {
		m := regexp.MustCompile(envName + `=0\.0\.0\.0:(\d+)`).FindSubmatch(dockerfile)
		if m == nil {
			t.Fatalf("the upstreams image does not set %s", envName)
		}
		return string(m[1])
	}
	auditLog := regexp.MustCompile(`DEZKY_SIM_OCIS_AUDIT_LOG=(\S+)`).FindSubmatch(dockerfile)
	want := map[sdk.Capability]struct{ plugin, key, value string }{
		sdk.CapabilityIdentity: {"authentik", "url", "http://upstreams:" + port("DEZKY_SIM_AUTHENTIK_ADDR")},
		sdk.CapabilityStorage:  {"ocis", "url", "http://upstreams:" + port("DEZKY_SIM_OCIS_ADDR")},
		sdk.CapabilityMail:     {"stalwart", "url", "http://upstreams:" + port("DEZKY_SIM_STALWART_ADDR")},
		sdk.CapabilityDNS:      {"dns", "update_server", "upstreams:" + port("DEZKY_SIM_DNS_ADDR")},
		sdk.CapabilityBilling:  {"stripe", "api_base_url", "http://stripe-mock:12111"},
	}
	for c, w := range want {
		b := providers[c]
		if b.Plugin != w.plugin || b.Settings[w.key] != w.value {
			t.Errorf("providers.json %s: %+v, want plugin %s with %s %s", c, b, w.plugin, w.key, w.value)
		}
	}
	if auditLog == nil || providers[sdk.CapabilityStorage].Settings["audit_log_path"] != string(auditLog[1]) {
		t.Errorf("the ocis plugin reads %q, the simulator writes %q", providers[sdk.CapabilityStorage].Settings["audit_log_path"], auditLog)
	}
	if !slices.Contains(f.Services["dezky-1"].Volumes, "sims-data:/var/lib/dezky-sims:ro") || !slices.Contains(ups.Volumes, "sims-data:/var/lib/dezky-sims") {
		t.Errorf("the replicas must read the simulators' volume: %v / %v", f.Services["dezky-1"].Volumes, ups.Volumes)
	}
}
