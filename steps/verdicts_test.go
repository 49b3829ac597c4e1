package steps

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rehearse/rehearse/fixtures/gitserver"
	"github.com/rehearse/rehearse/internal/await"
)

// "has received 2 e-mails" is exactly two: a third fails at once, and only
// "at least" lets more through.
func TestCountReachedIsExactUnlessAtLeast(t *testing.T) {
	assert.Equal(t, await.Pending, countReached(1, 2, false, "").State)
	assert.Equal(t, await.Pass, countReached(2, 2, false, "").State)
	assert.Equal(t, await.Fail, countReached(3, 2, false, "").State, "three e-mails are not two")
	assert.Equal(t, await.Pass, countReached(3, 2, true, "").State)
	assert.Equal(t, await.Pending, countReached(1, 2, true, "").State)
}

// "Argo CD has cloned" needs a fetch: the ref advertisement alone (what
// git ls-remote asks for) is not a clone.
func TestClonedNeedsAFetchNotARefAdvertisement(t *testing.T) {
	refs := gitserver.Access{User: "argocd", Service: "git-upload-pack", Status: 200, Path: "/info/refs"}
	fetch := gitserver.Access{User: "argocd", Service: "git-upload-pack", Status: 200, Path: "/git-upload-pack"}
	assert.Equal(t, await.Pending, cloned([]gitserver.Access{refs}, "root/q-sign", "argocd").State)
	assert.Equal(t, await.Pending, cloned([]gitserver.Access{{User: "developer", Service: "git-upload-pack", Status: 200, Path: "/git-upload-pack"}}, "root/q-sign", "argocd").State)
	assert.Equal(t, await.Pending, cloned([]gitserver.Access{{User: "argocd", Service: "git-upload-pack", Status: 500, Path: "/git-upload-pack"}}, "root/q-sign", "argocd").State)
	assert.Equal(t, await.Pass, cloned([]gitserver.Access{refs, fetch}, "root/q-sign", "argocd").State)
}
