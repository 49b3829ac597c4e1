package engine

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The structs below are the parts of Argo CD's Application (argoproj.io/
// v1alpha1) that scenarios assert on. They are decoded from the live object;
// Argo CD's own Go types are not imported because their module graph does
// not resolve together with the harness's.

// Application is a live Application as Argo CD last wrote it.
type Application struct {
	Name      string
	Namespace string
	Spec      ApplicationSpec
	Status    ApplicationStatus
	// Operation is the requested operation, present until the controller takes it.
	Operation  map[string]any
	Generation int64
	Raw        *unstructured.Unstructured
}

type ApplicationSpec struct {
	Project     string              `json:"project"`
	Source      *ApplicationSource  `json:"source,omitempty"`
	Sources     []ApplicationSource `json:"sources,omitempty"`
	Destination Destination         `json:"destination"`
	SyncPolicy  *SyncPolicy         `json:"syncPolicy,omitempty"`
}

type ApplicationSource struct {
	RepoURL        string         `json:"repoURL"`
	Path           string         `json:"path,omitempty"`
	TargetRevision string         `json:"targetRevision,omitempty"`
	Chart          string         `json:"chart,omitempty"`
	Helm           map[string]any `json:"helm,omitempty"`
}

type Destination struct {
	Server    string `json:"server,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

type SyncPolicy struct {
	Automated   *AutomatedSync `json:"automated,omitempty"`
	SyncOptions []string       `json:"syncOptions,omitempty"`
	Retry       map[string]any `json:"retry,omitempty"`
}

type AutomatedSync struct {
	Prune      bool  `json:"prune,omitempty"`
	SelfHeal   bool  `json:"selfHeal,omitempty"`
	AllowEmpty bool  `json:"allowEmpty,omitempty"`
	Enabled    *bool `json:"enabled,omitempty"`
}

type ApplicationStatus struct {
	Sync           SyncStatus       `json:"sync"`
	Health         HealthStatus     `json:"health"`
	OperationState *OperationState  `json:"operationState,omitempty"`
	Conditions     []Condition      `json:"conditions,omitempty"`
	Resources      []ResourceStatus `json:"resources,omitempty"`
	History        []HistoryEntry   `json:"history,omitempty"`
	ReconciledAt   *time.Time       `json:"reconciledAt,omitempty"`
	Summary        struct {
		Images []string `json:"images,omitempty"`
	} `json:"summary"`
}

type SyncStatus struct {
	Status   string `json:"status"` // Synced, OutOfSync, Unknown
	Revision string `json:"revision,omitempty"`
	// ComparedTo is the source and destination the controller last
	// compared the live state against, as it read them from the spec.
	ComparedTo *ComparedTo `json:"comparedTo,omitempty"`
}

// ComparedTo is status.sync.comparedTo.
type ComparedTo struct {
	Source      *ApplicationSource `json:"source,omitempty"`
	Destination Destination        `json:"destination"`
}

type HealthStatus struct {
	Status  string `json:"status"` // Healthy, Progressing, Degraded, Suspended, Missing, Unknown
	Message string `json:"message,omitempty"`
}

type OperationState struct {
	Phase      string      `json:"phase"` // Running, Terminating, Failed, Error, Succeeded
	Message    string      `json:"message,omitempty"`
	SyncResult *SyncResult `json:"syncResult,omitempty"`
	StartedAt  *time.Time  `json:"startedAt,omitempty"`
	FinishedAt *time.Time  `json:"finishedAt,omitempty"`
	RetryCount int64       `json:"retryCount,omitempty"`
	Operation  struct {
		Sync struct {
			Revision string `json:"revision,omitempty"`
		} `json:"sync"`
		InitiatedBy struct {
			Username  string `json:"username,omitempty"`
			Automated bool   `json:"automated,omitempty"`
		} `json:"initiatedBy"`
	} `json:"operation"`
}

type SyncResult struct {
	Revision  string           `json:"revision"`
	Resources []ResourceResult `json:"resources,omitempty"`
}

// ResourceResult is what one sync did to one object.
type ResourceResult struct {
	Group     string `json:"group"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Status    string `json:"status"` // Synced, SyncFailed, Pruned, PruneSkipped
	Message   string `json:"message"`
	HookPhase string `json:"hookPhase,omitempty"`
	SyncPhase string `json:"syncPhase,omitempty"`
}

type Condition struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// ResourceStatus is one managed object in the app's resource tree.
type ResourceStatus struct {
	Group     string        `json:"group,omitempty"`
	Version   string        `json:"version"`
	Kind      string        `json:"kind"`
	Namespace string        `json:"namespace,omitempty"`
	Name      string        `json:"name"`
	Status    string        `json:"status,omitempty"`
	Health    *HealthStatus `json:"health,omitempty"`
}

// HistoryEntry is one deployment in status.history.
type HistoryEntry struct {
	ID         int64              `json:"id"`
	Revision   string             `json:"revision"`
	DeployedAt time.Time          `json:"deployedAt"`
	Source     *ApplicationSource `json:"source,omitempty"`
}

// Ref names the object of a resource entry, e.g. "apps/Deployment q-sign/keycloak".
func (r ResourceStatus) Ref() string { return ref(r.Group, r.Kind, r.Namespace, r.Name) }

// Ref names the object of a sync result entry.
func (r ResourceResult) Ref() string { return ref(r.Group, r.Kind, r.Namespace, r.Name) }

func ref(group, kind, ns, name string) string {
	gk := kind
	if group != "" {
		gk = group + "/" + kind
	}
	if ns != "" {
		return gk + " " + ns + "/" + name
	}
	return gk + " " + name
}

// Condition returns the first condition of the given type, if any.
func (a *Application) Condition(typ string) (Condition, bool) {
	for _, c := range a.Status.Conditions {
		if c.Type == typ {
			return c, true
		}
	}
	return Condition{}, false
}

// ErrorConditions are the conditions whose type ends in "Error".
func (a *Application) ErrorConditions() []Condition {
	var out []Condition
	for _, c := range a.Status.Conditions {
		if strings.HasSuffix(c.Type, "Error") {
			out = append(out, c)
		}
	}
	return out
}

// Accepted says whether Argo CD's controller has parsed and validated the
// spec: it compared the live state against exactly the spec's source and
// destination (status.sync.comparedTo), and set no error condition
// (InvalidSpecError, ComparisonError, ...). The error says what is missing.
func (a *Application) Accepted() error {
	if errs := a.ErrorConditions(); len(errs) > 0 {
		return fmt.Errorf("application %s has the condition %s: %s", a.Name, errs[0].Type, firstLine(errs[0].Message))
	}
	ct := a.Status.Sync.ComparedTo
	if ct == nil || ct.Source == nil || a.Status.ReconciledAt == nil {
		return fmt.Errorf("application %s was not compared yet (no status.sync.comparedTo)", a.Name)
	}
	src := a.Spec.Source
	if src == nil && len(a.Spec.Sources) == 1 {
		src = &a.Spec.Sources[0]
	}
	if src == nil {
		return fmt.Errorf("application %s has no single source to compare", a.Name)
	}
	if ct.Source.RepoURL != src.RepoURL || ct.Source.Path != src.Path || ct.Source.TargetRevision != src.TargetRevision || ct.Source.Chart != src.Chart {
		return fmt.Errorf("application %s was compared against %s %s@%s, not its spec's %s %s@%s", a.Name,
			ct.Source.RepoURL, ct.Source.Path, ct.Source.TargetRevision, src.RepoURL, src.Path, src.TargetRevision)
	}
	if ct.Destination != a.Spec.Destination {
		return fmt.Errorf("application %s was compared against the destination %+v, not its spec's %+v", a.Name, ct.Destination, a.Spec.Destination)
	}
	return nil
}

// Summary is a one-line status for progress output and error messages.
func (a *Application) Summary() string {
	s := fmt.Sprintf("%s: sync=%s health=%s", a.Name, orDash(a.Status.Sync.Status), orDash(a.Status.Health.Status))
	if a.Status.Sync.Revision != "" {
		s += " revision=" + short(a.Status.Sync.Revision)
	}
	if op := a.Status.OperationState; op != nil {
		s += fmt.Sprintf(" operation=%s", op.Phase)
		if op.Message != "" {
			s += fmt.Sprintf(" (%s)", firstLine(op.Message))
		}
	}
	for _, c := range a.Status.Conditions {
		s += fmt.Sprintf(" condition %s: %s;", c.Type, firstLine(c.Message))
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

func applicationFrom(u *unstructured.Unstructured) (*Application, error) {
	app := &Application{Name: u.GetName(), Namespace: u.GetNamespace(), Generation: u.GetGeneration(), Raw: u}
	decode := func(field string, into any) error {
		v, ok := u.Object[field]
		if !ok {
			return nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, into)
	}
	if err := decode("spec", &app.Spec); err != nil {
		return nil, fmt.Errorf("Application %s: decoding spec: %w", app.Name, err)
	}
	if err := decode("status", &app.Status); err != nil {
		return nil, fmt.Errorf("Application %s: decoding status: %w", app.Name, err)
	}
	if op, ok := u.Object["operation"].(map[string]any); ok {
		app.Operation = op
	}
	return app, nil
}
