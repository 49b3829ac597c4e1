package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/rehearse/rehearse/clusters/podruntime"
	"github.com/rehearse/rehearse/fixtures/gateway"
	"github.com/rehearse/rehearse/fixtures/traffic"
	"github.com/rehearse/rehearse/internal/await"
)

func (w *World) gatewaySteps() []StepDef {
	return []StepDef{
		{Pattern: `^the cluster's load balancer serves the GatewayClass "([^"]*)"$`,
			Doc: "Installs the Gateway API CRDs (standard channel, " + gateway.APIVersion + ", from the module proxy) and hands the GatewayClass " +
				"to Rehearse's load balancer (controllerName " + string(gateway.ControllerName) + "), which writes the status of its Gateways and " +
				"HTTPRoutes, as Argo CD's health checks expect, until the scenario ends.",
			Example: `Given the cluster's load balancer serves the GatewayClass "lb"`,
			Fn:      w.serveGatewayClass},
		{Pattern: `^users send (\d+) requests per second through the HTTPRoute "([^"]*)" in "([^"]*)"$`,
			Doc: "Starts the seed's Users behind the load balancer: each request is routed by the HTTPRoute's rules and backend weights " +
				"(read live), then sent to a ready endpoint of the chosen Service. A backend that does not resolve is answered 500, one " +
				"without ready endpoints 503. The users' requests are named by the route's name in later steps.",
			Example: `When users send 100 requests per second through the HTTPRoute "q-sign" in "q-sign"`,
			Fn:      w.startUsersThroughRoute},
		{Pattern: `^within (\d+)s the HTTPRoute "([^"]*)" in "([^"]*)" has the condition "([^"]*)" "(True|False)"(?: with reason "([^"]*)")?$`,
			Doc:     "Waits until the load balancer's status entry of the route (every parent it serves) has that condition, current for the route's generation.",
			Example: `Then within 10s the HTTPRoute "q-sign" in "q-sign" has the condition "ResolvedRefs" "False" with reason "BackendNotFound"`,
			Fn:      w.routeCondition},
		{Pattern: `^during (\d+)s the load balancer answers (\d+)% of the users' requests to "([^"]*)" itself with (\d+), within (\d+) points$`,
			Doc:     "Measures the users' traffic for that long (real seconds): the share of requests the load balancer answered itself with that status (no pod reached).",
			Example: `Then during 3s the load balancer answers 50% of the users' requests to "q-sign" itself with 500, within 5 points`,
			Fn:      w.loadBalancerAnswers},
	}
}

func (w *World) serveGatewayClass(ctx context.Context, class string) error {
	if err := w.env.GatewayAPI(ctx); err != nil {
		return err
	}
	e := w.env.Engine()
	gw, err := gwclient.NewForConfig(w.env.Cluster().RESTConfig())
	if err != nil {
		return err
	}
	gc, err := gw.GatewayV1().GatewayClasses().Get(ctx, class, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = gw.GatewayV1().GatewayClasses().Create(ctx, &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: class},
			Spec: gatewayv1.GatewayClassSpec{ControllerName: gateway.ControllerName,
				Description: ptr.To("The seed's load balancer, played by Rehearse")}}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
	case err != nil:
		return err
	case gc.Spec.ControllerName != gateway.ControllerName:
		return fmt.Errorf("GatewayClass %q exists with controllerName %q; Rehearse's load balancer serves only classes naming %q",
			class, gc.Spec.ControllerName, gateway.ControllerName)
	}
	if w.gateway == nil {
		if w.gateway, err = gateway.Start(ctx, e.Kube(), gw); err != nil {
			return err
		}
		w.gatewayClient = gw
	}
	return nil
}

// loadBalancer is the scenario's load balancer, once a GatewayClass was
// handed to it.
func (w *World) loadBalancer() (*gateway.Controller, gwclient.Interface, error) {
	if w.gateway == nil {
		return nil, nil, fmt.Errorf("no load balancer serves HTTPRoutes (add: the cluster's load balancer serves the GatewayClass \"...\")")
	}
	return w.gateway, w.gatewayClient, nil
}

func (w *World) startUsersThroughRoute(ctx context.Context, rate int, route, ns string) error {
	lb, _, err := w.loadBalancer()
	if err != nil {
		return err
	}
	if w.users[route] != nil {
		return fmt.Errorf("users already send requests to %q", route)
	}
	e := w.env.Engine()
	var g *traffic.Generator
	// Argo CD may have created the route a moment ago: wait until the
	// load balancer's cache has it attached.
	_, err = await.Eventually(ctx, fmt.Sprintf("HTTPRoute %s/%s to take requests", ns, route), 10*time.Second, func(ctx context.Context) await.Result {
		var err error
		g, err = traffic.StartThroughRoute(ctx, e.Kube(), lb, podruntime.Dial, ns, route, float64(rate), traffic.WithVersionReader(w.versionReader))
		if err != nil {
			return await.Waiting("%v", err)
		}
		return await.Passed("started")
	})
	if err != nil {
		return err
	}
	return w.usersStarted(ctx, route, g, fmt.Sprintf("Traffic (%d requests/s through HTTPRoute %s)", rate, route))
}

func (w *World) routeCondition(ctx context.Context, seconds int, route, ns, typ, status, reason string) error {
	_, gw, err := w.loadBalancer()
	if err != nil {
		return err
	}
	_, err = await.Eventually(ctx, fmt.Sprintf("HTTPRoute %s/%s to have %s=%s", ns, route, typ, status), time.Duration(seconds)*time.Second,
		gateway.RouteCondition(gw, ns, route, typ, status, reason))
	return err
}

func (w *World) loadBalancerAnswers(ctx context.Context, seconds, percent int, name string, status, tolerance int) error {
	rs, s, err := w.measureUsers(ctx, name, seconds)
	if err != nil {
		return err
	}
	var answered int
	var reasons []string
	for _, r := range rs {
		// The load balancer answered itself: no pod was reached.
		if r.Endpoint == "" && r.Status == status {
			answered++
			if len(reasons) < 3 && !slices.Contains(reasons, r.Err) {
				reasons = append(reasons, r.Err)
			}
		}
	}
	w.note("traffic to %s during %ds: %s; %d answered %d by the load balancer (%s)", name, seconds, s, answered, status, strings.Join(reasons, "; "))
	if len(rs) == 0 {
		return fmt.Errorf("no request to %s was sent in %ds", name, seconds)
	}
	share := float64(answered) / float64(len(rs)) * 100
	if share < float64(percent-tolerance) || share > float64(percent+tolerance) {
		return fmt.Errorf("the load balancer answered %d of %d requests (%.1f%%) with %d itself, want %d%% within %d points: %s",
			answered, len(rs), share, status, percent, tolerance, s)
	}
	return nil
}
