package podruntime

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
)

func TestServiceNames(t *testing.T) {
	for host, want := range map[string][2]string{
		"web":                           {"web", "pods"},
		"web.shop":                      {"web", "shop"},
		"web.shop.svc":                  {"web", "shop"},
		"web.shop.svc.cluster.local":    {"web", "shop"},
		"web.shop.svc.cluster.local.":   {"web", "shop"},
		"api.example.com":               {"", ""},
		"deep.name.shop.svc.cluster.lo": {"", ""},
	} {
		name, ns, ok := serviceName(host, "pods")
		assert.Equal(t, want[0] != "", ok, host)
		assert.Equal(t, want, [2]string{name, ns}, host)
	}
}

// A Service resolves to a ready endpoint for the port's target, on the pod
// network's loopback addresses; not ready endpoints are left out.
func TestResolveServicePicksAReadyEndpointOfThePort(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
		{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}, {Name: "metrics", Port: 9090}}}}
	slice := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080))}, {Name: ptr("metrics"), Port: ptr(int32(9091))}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.245.0.7"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}},
			{Addresses: []string{"10.245.0.8"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(false)}},
		}}
	r := &Runtime{cs: fake.NewClientset(svc, slice)}
	for range 5 {
		addr, err := r.resolveService(t.Context(), "web.shop.svc.cluster.local", 80, "other")
		require.NoError(t, err)
		assert.Equal(t, "127.77.0.7:8080", addr, "only the ready endpoint, on the port's target")
	}
	addr, err := r.resolveService(t.Context(), "web", 9090, "shop")
	require.NoError(t, err)
	assert.Equal(t, "127.77.0.7:9091", addr)
	_, err = r.resolveService(t.Context(), "web.shop", 443, "shop")
	assert.ErrorContains(t, err, "has no port 443")
	_, err = r.resolveService(t.Context(), "db", 5432, "shop")
	assert.ErrorContains(t, err, "no Service db in namespace shop")
	_, err = r.resolveService(t.Context(), "api.example.com", 80, "shop")
	assert.ErrorContains(t, err, "not a Service of this cluster")
}
