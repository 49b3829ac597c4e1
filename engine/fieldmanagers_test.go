package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// "was created by Argo CD": Argo CD wrote it and nobody else did.
func TestCreatedByArgoCDRefusesAnotherCreator(t *testing.T) {
	argo := metav1.ManagedFieldsEntry{Manager: "argocd-controller", Operation: metav1.ManagedFieldsOperationApply}
	status := metav1.ManagedFieldsEntry{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status"}
	kubectl := metav1.ManagedFieldsEntry{Manager: "kubectl-create", Operation: metav1.ManagedFieldsOperationUpdate}
	assert.True(t, CreatedByArgoCD([]metav1.ManagedFieldsEntry{argo}))
	assert.True(t, CreatedByArgoCD([]metav1.ManagedFieldsEntry{argo, status}))
	assert.False(t, CreatedByArgoCD([]metav1.ManagedFieldsEntry{kubectl, argo}), "created with kubectl, then taken over by Argo CD")
	assert.False(t, CreatedByArgoCD([]metav1.ManagedFieldsEntry{kubectl}))
	assert.False(t, CreatedByArgoCD(nil))

	assert.True(t, WrittenByArgoCD([]metav1.ManagedFieldsEntry{kubectl, argo}), "taken over: Argo CD wrote it too")
	assert.False(t, WrittenByArgoCD([]metav1.ManagedFieldsEntry{kubectl, {Manager: "rehearse"}}), "Rehearse's own writes are not Argo CD's")
	assert.Equal(t, "kubectl-create, argocd-controller", FieldManagers([]metav1.ManagedFieldsEntry{kubectl, argo}))
}
