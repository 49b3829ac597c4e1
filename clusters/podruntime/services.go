package podruntime

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ResolverEnv gives Rehearse's shell the address of the runtime's Service
// resolver ("http://127.0.0.1:PORT"), which plays cluster DNS and
// kube-proxy for its curl and wget: a Service name becomes one of the
// Service's ready endpoints, on the pod network's loopback addresses.
const ResolverEnv = "REHEARSE_SERVICE_RESOLVER"

// startResolver serves the resolver on 127.0.0.1 until ctx ends.
func (r *Runtime) startResolver(ctx context.Context) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(r.serveResolve)}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return "http://" + ln.Addr().String(), nil
}

// serveResolve answers GET /resolve?host=H&port=P&namespace=NS with the
// address to dial ("127.77.x.y:port"), or 404 and why.
func (r *Runtime) serveResolve(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	port, err := strconv.Atoi(q.Get("port"))
	if err != nil {
		http.Error(w, "port: "+err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
	defer cancel()
	addr, err := r.resolveService(ctx, q.Get("host"), port, q.Get("namespace"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	_, _ = fmt.Fprint(w, addr)
}

// serviceName splits a cluster DNS name of a Service: name (in the pod's
// namespace), name.ns, name.ns.svc or name.ns.svc.cluster.local.
func serviceName(host, podNamespace string) (name, ns string, ok bool) {
	host = strings.TrimSuffix(strings.TrimSuffix(host, "."), ".cluster.local")
	host = strings.TrimSuffix(host, ".svc")
	parts := strings.Split(host, ".")
	switch len(parts) {
	case 1:
		return parts[0], podNamespace, parts[0] != ""
	case 2:
		return parts[0], parts[1], parts[0] != "" && parts[1] != ""
	}
	return "", "", false
}

// resolveService picks a ready endpoint of the Service for its port, as
// kube-proxy would (at random among the ready ones).
func (r *Runtime) resolveService(ctx context.Context, host string, port int, podNamespace string) (string, error) {
	name, ns, ok := serviceName(host, podNamespace)
	if !ok {
		return "", fmt.Errorf("%s is not a Service of this cluster (name, name.namespace or name.namespace.svc.cluster.local); nothing else is reachable from a pod here", host)
	}
	svc, err := r.cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("no Service %s in namespace %s: %w", name, ns, err)
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if int(svc.Spec.Ports[i].Port) == port {
			sp = &svc.Spec.Ports[i]
		}
	}
	if sp == nil {
		return "", fmt.Errorf("Service %s/%s has no port %d", ns, name, port)
	}
	slices, err := r.cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + name})
	if err != nil {
		return "", err
	}
	var ready []string
	for _, s := range slices.Items {
		target := -1
		for _, p := range s.Ports {
			if p.Port != nil && (p.Name == nil && sp.Name == "" || p.Name != nil && *p.Name == sp.Name) {
				target = int(*p.Port)
			}
		}
		if target < 0 {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			for _, a := range e.Addresses {
				if local, ok := LocalAddress(a); ok {
					ready = append(ready, net.JoinHostPort(local, strconv.Itoa(target)))
				}
			}
		}
	}
	if len(ready) == 0 {
		return "", fmt.Errorf("Service %s/%s has no ready endpoint for port %d (connection refused)", ns, name, port)
	}
	return ready[rand.IntN(len(ready))], nil
}
