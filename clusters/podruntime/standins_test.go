package podruntime

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStandInsMatchOnlyWhatWasDeclared(t *testing.T) {
	var s StandIns
	_, _, ok := s.Match("nginx:1.27")
	assert.False(t, ok, "nothing is stood in by default")
	require.NoError(t, s.Declare("docker.io/*"))
	require.NoError(t, s.Declare("ghcr.io/acme/web:2.*"))
	for image, want := range map[string]bool{
		"nginx":                                true, // docker.io/library/nginx
		"nginx:1.27":                           true,
		"docker.io/bitnami/redis:7.2":          true,
		"index.docker.io/library/busybox":      true,
		"ghcr.io/acme/web:2.1":                 true,
		"ghcr.io/acme/web:1.9":                 false,
		"ghcr.io/acme/api:2.1":                 false,
		"gcr.io/google-samples/gb-frontend:v5": false,
		"192.168.0.11:30800/qsign-prod/app:v5": false,
	} {
		_, _, ok := s.Match(image)
		assert.Equal(t, want, ok, image)
	}
	s.Reset()
	_, _, ok = s.Match("nginx")
	assert.False(t, ok, "reset forgets")
}

func TestStandInBehaviourByImageThenTag(t *testing.T) {
	var s StandIns
	require.NoError(t, s.Declare("ghcr.io/acme/*"))
	require.NoError(t, s.SetBehaviour("ghcr.io/acme/web", StandInBehaviour{Latency: 20 * time.Millisecond}))
	require.NoError(t, s.SetBehaviour("ghcr.io/acme/web:v2", StandInBehaviour{ErrorRate: 0.5}))
	p, b, ok := s.Match("ghcr.io/acme/web:v2")
	require.True(t, ok)
	assert.Equal(t, "ghcr.io/acme/*", p)
	assert.Equal(t, 0.5, b.ErrorRate)
	_, b, _ = s.Match("ghcr.io/acme/web:v1")
	assert.Equal(t, 20*time.Millisecond, b.Latency)
	assert.JSONEq(t, `{"latency":"20ms"}`, b.encode())
	_, _, ok = (&StandIns{}).Match("ghcr.io/acme/web:v2")
	assert.False(t, ok)
	assert.Error(t, s.Declare(""))
	assert.Error(t, s.Declare("a b"))
}

func TestParseStandInBehaviour(t *testing.T) {
	b, err := ParseStandInBehaviour([]byte(`{"errorRate": 0.1, "latency": "50ms", "exitAfter": "2s", "exitCode": 1}`))
	require.NoError(t, err)
	assert.Equal(t, StandInBehaviour{ErrorRate: 0.1, Latency: 50 * time.Millisecond, ExitAfter: 2 * time.Second, ExitCode: 1}, b)
	b, err = ParseStandInBehaviour([]byte("notReady: true\n"))
	require.NoError(t, err)
	assert.True(t, b.NotReady)
	for text, want := range map[string]string{
		`{"errorRatio": 0.1}`: `unknown field "errorRatio"`,
		`{"errorRate": 2}`:    "not between 0 and 1",
		`{"latency": "fast"}`: `latency "fast"`,
		`{"latency": 5}`:      `latency "5" is not a duration`,
		`not json`:            "stand-in behaviour",
	} {
		_, err := ParseStandInBehaviour([]byte(text))
		assert.ErrorContains(t, err, want, text)
	}
}

func TestParseStandInShutdownDelay(t *testing.T) {
	b, err := ParseStandInBehaviour([]byte(`shutdownDelay: 0s`))
	require.NoError(t, err)
	require.NotNil(t, b.ShutdownDelay)
	assert.Equal(t, time.Duration(0), *b.ShutdownDelay)
	assert.JSONEq(t, `{"shutdownDelay":"0s"}`, b.encode())
	b, err = ParseStandInBehaviour([]byte(`errorRate: 0`))
	require.NoError(t, err)
	assert.Nil(t, b.ShutdownDelay, "unset means the default")
	_, err = ParseStandInBehaviour([]byte(`shutdownDelay: soon`))
	assert.ErrorContains(t, err, `shutdownDelay "soon"`)
}

func TestUnservedImagesAreStoodInOnlyWhenTheProjectSaysSo(t *testing.T) {
	var s StandIns
	_, ok := s.Unserved("gcr.io/google-samples/gb-frontend:v5")
	assert.False(t, ok, "never silently")

	s.StandInUnserved()
	require.NoError(t, s.SetBehaviour("gcr.io/*", StandInBehaviour{ErrorRate: 0.1}))
	b, ok := s.Unserved("gcr.io/google-samples/gb-frontend:v5")
	assert.True(t, ok)
	assert.Equal(t, 0.1, b.ErrorRate, "behaviours apply to unserved images too")
	_, _, declared := s.Match("gcr.io/google-samples/gb-frontend:v5")
	assert.False(t, declared, "an unserved image is still pulled first: a registry that has it wins")

	s.Reset()
	_, ok = s.Unserved("gcr.io/google-samples/gb-frontend:v5")
	assert.False(t, ok, "the next scenario chooses again")
}

func TestNotServedIsAnUnmappedHostOrAMissingImageNeverALogin(t *testing.T) {
	assert.True(t, notServed(&PullError{"gcr.io/x:v1", &UnmappedRegistryError{Registry: "gcr.io", Err: errors.New("no rule")}}))
	assert.True(t, notServed(&PullError{"r.example.com/x:v1", &transport.Error{StatusCode: http.StatusNotFound}}))
	assert.False(t, notServed(&PullError{"r.example.com/x:v1", &transport.Error{StatusCode: http.StatusUnauthorized}}), "a login to fix")
	assert.False(t, notServed(&PullError{"r.example.com/x:v1", errors.New("connection refused")}), "a registry that is down")
}
