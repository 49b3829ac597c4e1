package steps

import (
	"testing"
	"time"

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

// "detects the push by polling": a push webhook that reached Argo CD
// between the push and the detection may have caused it.
func TestNoWebhookSinceThePush(t *testing.T) {
	push := time.Unix(1000, 0)
	argo := "http://127.0.0.1:8080/api/webhook"
	hook := func(url string, at time.Duration) gitserver.WebhookDelivery {
		return gitserver.WebhookDelivery{Time: push.Add(at), URL: url, Ref: "refs/heads/main", Status: 200}
	}
	detected := push.Add(3 * time.Second)
	assert.NoError(t, noWebhookSince(nil, argo, push, detected))
	assert.NoError(t, noWebhookSince([]gitserver.WebhookDelivery{hook("http://127.0.0.1:9/jenkins", time.Second)}, argo, push, detected), "the CI's webhook is not Argo CD's")
	assert.NoError(t, noWebhookSince([]gitserver.WebhookDelivery{hook(argo, -time.Second)}, argo, push, detected), "an earlier push's webhook")
	assert.ErrorContains(t, noWebhookSince([]gitserver.WebhookDelivery{hook(argo, 50*time.Millisecond)}, argo, push, detected), "may be the webhook's")
}
