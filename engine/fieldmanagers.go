package engine

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// isArgoCDManager says whether a field manager is Argo CD's application
// controller: "argocd-controller" for server-side apply, the binary's name
// for client-side apply.
func isArgoCDManager(manager string) bool {
	return manager == "argocd-controller" || manager == "argocd-application-controller"
}

// WrittenByArgoCD says whether Argo CD's controller is among the field
// managers of an object: it applied the object at some point.
func WrittenByArgoCD(fields []metav1.ManagedFieldsEntry) bool {
	for _, m := range fields {
		if isArgoCDManager(m.Manager) {
			return true
		}
	}
	return false
}

// CreatedByArgoCD says whether Argo CD's controller wrote the object and
// nobody else did (its status, which the API server and controllers keep,
// aside). An object someone created before Argo CD took it over keeps its
// creator's entry ("kubectl-create", "kubectl-client-side-apply").
func CreatedByArgoCD(fields []metav1.ManagedFieldsEntry) bool {
	for _, m := range fields {
		if m.Subresource == "" && !isArgoCDManager(m.Manager) {
			return false
		}
	}
	return WrittenByArgoCD(fields)
}

// FieldManagers lists an object's field managers, for messages.
func FieldManagers(fields []metav1.ManagedFieldsEntry) string {
	var out []string
	for _, m := range fields {
		out = append(out, m.Manager)
	}
	return strings.Join(out, ", ")
}
