package steps

import (
	"context"
	"fmt"
	"reflect"
	"regexp"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// UserStep is a step a user defines in Go, run beside the built-in ones.
// Fn is a function of the form
//
//	func(ctx context.Context, s *steps.Scenario, arg1 T1, ...) error
//
// whose further parameters take the pattern's groups in order, typed as
// godog converts them (string, int, float64, ..., or *godog.DocString and
// *godog.Table as the last one).
type UserStep struct {
	Pattern string
	Doc     string
	Fn      any
}

var (
	contextType  = reflect.TypeFor[context.Context]()
	scenarioType = reflect.TypeFor[*Scenario]()
	errorType    = reflect.TypeFor[error]()
)

// check says what is wrong with a user step, before anything starts.
func (u UserStep) check() error {
	if _, err := regexp.Compile(u.Pattern); err != nil {
		return fmt.Errorf("user step %q: pattern: %w", u.Pattern, err)
	}
	t := reflect.TypeOf(u.Fn)
	if t == nil || t.Kind() != reflect.Func || t.IsVariadic() || t.NumIn() < 2 || t.In(0) != contextType || t.In(1) != scenarioType ||
		t.NumOut() != 1 || t.Out(0) != errorType {
		return fmt.Errorf("user step %q: Fn is %v; it must be func(context.Context, *rehearse.Scenario, args...) error", u.Pattern, t)
	}
	return nil
}

// bind gives godog a function of the step's own arguments that calls Fn
// with the scenario's view.
func (u UserStep) bind(w *World) any {
	fn := reflect.ValueOf(u.Fn)
	t := fn.Type()
	in := []reflect.Type{contextType}
	for i := 2; i < t.NumIn(); i++ {
		in = append(in, t.In(i))
	}
	godogType := reflect.FuncOf(in, []reflect.Type{errorType}, false)
	return reflect.MakeFunc(godogType, func(args []reflect.Value) []reflect.Value {
		full := append([]reflect.Value{args[0], reflect.ValueOf(&Scenario{w: w})}, args[1:]...)
		return fn.Call(full)
	}).Interface()
}

// Scenario is what a user's Go step sees of the scenario it runs in: the
// cluster Argo CD runs in, Argo CD, the Git server and the registry.
// Each accessor starts what it needs on first use, as built-in steps do.
type Scenario struct{ w *World }

// Name is the scenario's name.
func (s *Scenario) Name() string { return s.w.scenario }

// Kube is a client of the cluster Argo CD runs in (starting the stack).
func (s *Scenario) Kube(ctx context.Context) (kubernetes.Interface, error) {
	e, err := s.w.engine(ctx)
	if err != nil {
		return nil, err
	}
	return e.Kube(), nil
}

// RESTConfig is that cluster's client configuration (starting the stack).
func (s *Scenario) RESTConfig(ctx context.Context) (*rest.Config, error) {
	e, err := s.w.engine(ctx)
	if err != nil {
		return nil, err
	}
	return e.RESTConfig(), nil
}

// ArgoCD runs the argocd CLI, logged in as the admin, and returns its output.
func (s *Scenario) ArgoCD(ctx context.Context, args ...string) (string, error) {
	e, err := s.w.engine(ctx)
	if err != nil {
		return "", err
	}
	return e.CLI(ctx, args...)
}

// GitServerURL is the scenario's Git server ("http://127.0.0.1:PORT"),
// started on first use.
func (s *Scenario) GitServerURL() (string, error) {
	g, err := s.w.gitServer()
	if err != nil {
		return "", err
	}
	return g.URL(), nil
}

// RegistryHost is the local registry's host:port, once a registry host is
// mapped in the scenario.
func (s *Scenario) RegistryHost() (string, error) {
	r, err := s.w.registry()
	if err != nil {
		return "", err
	}
	return r.Host(), nil
}

// Note adds a line to the scenario's report.
func (s *Scenario) Note(format string, args ...any) { s.w.note(format, args...) }
