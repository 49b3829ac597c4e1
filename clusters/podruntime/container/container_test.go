package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestMain lets the test binary stand for rehearse-container when the
// shell runs a script as a program (it runs itself as "sh FILE").
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "sh" {
		os.Exit(runShell(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func sh(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errOut bytes.Buffer
	code := runShell(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestShellExitStatusIsTheScripts(t *testing.T) {
	for _, tc := range []struct {
		script string
		code   int
		out    string
	}{
		{"echo migrating; exit 0", 0, "migrating\n"},
		{"echo failing >&2; exit 3", 3, ""},
		{"false", 1, ""},
		{`[ "$MODE" = ok ] && echo fine`, 0, "fine\n"},
		{`[ "$MODE" = bad ]`, 1, ""},
		{"for i in $(seq 3); do printf %s $i; done; echo", 0, "123\n"},
		{"sleep 0.01; sleep 0.01s && echo slept", 0, "slept\n"},
		{`test "$RANDOM" != "$RANDOM" && echo random`, 0, "random\n"},
		{`echo "$1-$2"`, 0, "a-b\n"},
	} {
		args := []string{"-c", tc.script}
		if strings.Contains(tc.script, "$1") {
			args = append(args, "name", "a", "b")
		}
		code, out, _ := sh(t, map[string]string{"MODE": "ok"}, args...)
		assert.Equal(t, tc.code, code, tc.script)
		assert.Equal(t, tc.out, out, tc.script)
	}
}

func TestShellNamesAMissingProgram(t *testing.T) {
	code, _, errOut := sh(t, map[string]string{"REHEARSE_IMAGE_ROOT": t.TempDir()}, "-c", "echo start\npsql -c 'select 1'")
	assert.Equal(t, 127, code)
	assert.Contains(t, errOut, "2: psql: not found")
	assert.Contains(t, errOut, "sleep")
}

func TestShellRunsTheImagesProgramsNotTheHosts(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "bin"), 0o755))
	// The image's "ls" is a script of the image's own sh: run through
	// the host's /bin/sh it still proves which file was chosen.
	require.NoError(t, os.WriteFile(filepath.Join(root, "bin", "ls"), []byte("#!/bin/sh\necho image-ls\n"), 0o755))
	code, out, _ := sh(t, map[string]string{"REHEARSE_IMAGE_ROOT": root, "PATH": "/bin"}, "-c", "ls")
	assert.Equal(t, 0, code)
	assert.Equal(t, "image-ls\n", out)
	// uname is on the host but not in the image: not found.
	code, _, errOut := sh(t, map[string]string{"REHEARSE_IMAGE_ROOT": root, "PATH": "/bin"}, "-c", "uname")
	assert.Equal(t, 127, code)
	assert.Contains(t, errOut, "uname: not found")
}

func TestShellWritesInsideTheImageRoot(t *testing.T) {
	root := t.TempDir()
	code, out, errOut := sh(t, map[string]string{"REHEARSE_IMAGE_ROOT": root}, "-c", "mkdir -p /data/x && touch /data/x/done && cat /data/x/done && echo ok")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "ok\n", out)
	assert.FileExists(t, filepath.Join(root, "data", "x", "done"))
}

func TestShellScriptFileAndSyntaxError(t *testing.T) {
	f := filepath.Join(t.TempDir(), "job.sh")
	require.NoError(t, os.WriteFile(f, []byte("echo \"from file $1\"\nexit 4\n"), 0o644))
	code, out, _ := sh(t, nil, f, "arg")
	assert.Equal(t, 4, code)
	assert.Equal(t, "from file arg\n", out)
	code, _, errOut := sh(t, nil, "-c", "if then fi")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "sh:")
}

func TestStandInAnswersLikeTheImage(t *testing.T) {
	s := newStandIn(standInConfig{Image: "ghcr.io/acme/web:1.4.2", Pod: "web-abc", Behaviour: Behaviour{ErrorRate: 0.25}})
	srv := httptest.NewServer(s)
	defer srv.Close()
	codes := map[int]int{}
	for range 8 {
		resp, err := http.Get(srv.URL + "/any/path")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		codes[resp.StatusCode]++
		assert.Contains(t, string(body), "stand-in for ghcr.io/acme/web:1.4.2, version 1.4.2, pod web-abc")
		assert.Equal(t, "1.4.2", resp.Header.Get("X-Version"))
	}
	assert.Equal(t, map[int]int{200: 6, 500: 2}, codes, "a 25%% error rate fails exactly 2 of 8")
	resp, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(metrics), `http_requests_total{code="200",version="1.4.2"} 6`)
	assert.Contains(t, string(metrics), `http_requests_total{code="500",version="1.4.2"} 2`)
	assert.Contains(t, string(metrics), `http_request_duration_seconds_bucket{code="200",version="1.4.2",le="0.005"}`)
}

func TestStandInProbesFollowReadiness(t *testing.T) {
	for _, notReady := range []bool{false, true} {
		s := newStandIn(standInConfig{Image: "nginx", Behaviour: Behaviour{NotReady: notReady}})
		srv := httptest.NewServer(s)
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/healthz", nil)
		req.Header.Set("User-Agent", "kube-probe/1.37")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		want := http.StatusOK
		if notReady {
			want = http.StatusServiceUnavailable
		}
		assert.Equal(t, want, resp.StatusCode, "notReady=%v", notReady)
		srv.Close()
	}
	assert.Equal(t, "latest", tag("nginx"))
	assert.Equal(t, "latest", tag("localhost:5000/app"), "a registry port is not a tag")
	assert.Equal(t, "2.1", tag("localhost:5000/app:2.1"))
}

func TestStandInConfigRejectsMalformedEnvironment(t *testing.T) {
	t.Setenv("REHEARSE_STAND_IN_PORTS", "80,http")
	assert.ErrorContains(t, standInConfigFromEnv().Err, `"http" is not a port`)
	t.Setenv("REHEARSE_STAND_IN_PORTS", "80, 8080")
	t.Setenv("REHEARSE_STAND_IN_BEHAVIOUR", `{"latency": 5}`)
	assert.ErrorContains(t, standInConfigFromEnv().Err, "REHEARSE_STAND_IN_BEHAVIOUR")
	t.Setenv("REHEARSE_STAND_IN_BEHAVIOUR", `{"latency": "5ms", "exitAfter": "1s", "exitCode": 3}`)
	c := standInConfigFromEnv()
	require.NoError(t, c.Err)
	assert.Equal(t, []int{80, 8080}, c.Ports)
	assert.Equal(t, 3, c.Behaviour.ExitCode)
}

func TestStandInListensOnEveryPort(t *testing.T) {
	ports := []int{}
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
	}
	stop := make(chan os.Signal)
	done := make(chan error)
	go func() { done <- runStandIn(standInConfig{Address: "127.0.0.1", Image: "redis:7", Ports: ports}, stop) }()
	for _, p := range ports {
		require.Eventually(t, func() bool {
			c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err == nil {
				c.Close()
			}
			return err == nil
		}, 5*time.Second, 10*time.Millisecond)
	}
	close(stop)
	require.NoError(t, <-done)
}

// After SIGTERM the stand-in keeps answering while its probes fail, until
// no request came for half a second: a rolling update loses no request.
// With a shutdown delay of 0 it stops listening at once.
func TestStandInDrainsOnSIGTERM(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	delay := Duration(3 * time.Second)
	stop := make(chan os.Signal)
	done := make(chan error, 1)
	go func() {
		done <- runStandIn(standInConfig{Address: "127.0.0.1", Image: "web:1", Ports: []int{port}, Behaviour: Behaviour{ShutdownDelay: &delay}}, stop)
	}()
	require.Eventually(t, func() bool { _, err := http.Get(url); return err == nil }, 5*time.Second, 10*time.Millisecond)
	close(stop)
	probe, _ := http.NewRequest(http.MethodGet, url+"healthz", nil)
	probe.Header.Set("User-Agent", "kube-probe/1.37")
	require.Eventually(t, func() bool {
		resp, err := http.DefaultClient.Do(probe)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	}, 2*time.Second, 10*time.Millisecond, "probes fail while draining")
	for range 5 {
		resp, err := http.Get(url)
		require.NoError(t, err, "users are still answered while draining")
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("did not stop after the requests ended")
	}

	zero := Duration(0)
	stop = make(chan os.Signal)
	go func() {
		done <- runStandIn(standInConfig{Address: "127.0.0.1", Image: "web:1", Ports: []int{port}, Behaviour: Behaviour{ShutdownDelay: &zero}}, stop)
	}()
	require.Eventually(t, func() bool { _, err := http.Get(url); return err == nil }, 5*time.Second, 10*time.Millisecond)
	start := time.Now()
	close(stop)
	require.NoError(t, <-done)
	assert.Less(t, time.Since(start), 400*time.Millisecond, "no drain with a delay of 0")
}

// Redirections, test -f, globs and the utilities see one filesystem, the
// container's: a file a script writes to /tmp is the one it reads back,
// inside the image's root, never the machine's /tmp. /dev stays the
// machine's.
func TestShellSeesTheContainersFiles(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "tmp"), 0o755))
	flag := "/tmp/rehearse-shell-test-" + strconv.Itoa(os.Getpid())
	code, out, errOut := sh(t, map[string]string{"REHEARSE_IMAGE_ROOT": root},
		"-c", `echo ready > `+flag+` && test -f `+flag+` && cat `+flag+` && echo quiet > /dev/null && for f in /tmp/rehearse-shell-test-*; do echo "$f"; done; touch /tmp/second; [ -e /tmp/second ] && echo touched`)
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, "ready\n"+flag+"\ntouched\n", out)
	b, err := os.ReadFile(filepath.Join(root, flag))
	require.NoError(t, err, "written inside the image's root")
	assert.Equal(t, "ready\n", string(b))
	_, err = os.Stat(flag)
	assert.True(t, os.IsNotExist(err), "the machine's /tmp is left alone")
}

// A volume mounted into the container (a ConfigMap's scripts, an emptyDir)
// is where the script's paths under the mount lead: sourcing, running and
// writing there, also after a cd, while other paths stay in the image.
func TestShellSeesTheContainersVolumes(t *testing.T) {
	root := t.TempDir()
	scripts := t.TempDir()
	scratch := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "tmp"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(scripts, "lib.sh"), []byte("greet() { echo \"hello $1\"; }\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(scripts, "tool.sh"), []byte("#!/bin/sh\necho tool ran\n"), 0o755))
	mounts := `{"/etc/scripts":"` + scripts + `","/var/scratch":"` + scratch + `"}`
	code, out, errOut := sh(t, map[string]string{"REHEARSE_IMAGE_ROOT": root, "REHEARSE_MOUNTS": mounts},
		"-c", `. /etc/scripts/lib.sh && greet volume && /etc/scripts/tool.sh && cd /var/scratch && echo kept > note && cat /var/scratch/note && touch /tmp/image-side`)
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, "hello volume\ntool ran\nkept\n", out)
	b, err := os.ReadFile(filepath.Join(scratch, "note"))
	require.NoError(t, err, "written into the emptyDir behind /var/scratch, relative to the cd")
	assert.Equal(t, "kept\n", string(b))
	_, err = os.Stat(filepath.Join(root, "tmp", "image-side"))
	assert.NoError(t, err, "a path outside the mounts stays in the image")

	code, _, errOut = sh(t, map[string]string{"REHEARSE_IMAGE_ROOT": root, "REHEARSE_MOUNTS": mounts}, "-c", `. /etc/scripts/missing.sh`)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "missing.sh")
}

// A stand-in answers the gRPC health service the kubelet's grpc probes ask
// (asked here by grpc-go's own client), on the same port as its HTTP, and
// says NOT_SERVING when declared not ready.
func TestStandInAnswersGRPCHealth(t *testing.T) {
	for _, c := range []struct {
		notReady bool
		want     healthpb.HealthCheckResponse_ServingStatus
	}{{false, healthpb.HealthCheckResponse_SERVING}, {true, healthpb.HealthCheckResponse_NOT_SERVING}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		ln.Close()
		stop := make(chan os.Signal)
		done := make(chan error, 1)
		go func() {
			done <- runStandIn(standInConfig{Address: "127.0.0.1", Image: "acme/api:2", Ports: []int{ln.Addr().(*net.TCPAddr).Port},
				Behaviour: Behaviour{NotReady: c.notReady}}, stop)
		}()
		conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		var resp *healthpb.HealthCheckResponse
		require.Eventually(t, func() bool {
			resp, err = healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{Service: "acme.Api"})
			return err == nil
		}, 5*time.Second, 20*time.Millisecond, "last error: %v", err)
		assert.Equal(t, c.want, resp.GetStatus())
		_, err = healthpb.NewHealthClient(conn).List(t.Context(), &healthpb.HealthListRequest{})
		assert.Equal(t, codes.Unimplemented, status.Code(err), "%v", err)
		conn.Close()

		res, err := http.Get("http://" + addr + "/")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, "2", res.Header.Get("X-Version"), "HTTP/1 on the same port")
		close(stop)
		require.NoError(t, <-done)
	}
}

// curl and wget reach Services by their cluster names through the pod
// runtime's resolver, say failures with curl's and wget's exit statuses,
// and never dial outside the pod network.
func TestCurlAndWgetReachServicesThroughTheResolver(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/broken":
			http.Error(w, "down", http.StatusInternalServerError)
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			_, _ = w.Write([]byte(r.Method + " " + r.Header.Get("X-Team") + " " + string(b)))
		default:
			_, _ = w.Write([]byte("healthy\n"))
		}
	}))
	defer web.Close()
	webAddr := strings.TrimPrefix(web.URL, "http://")
	var asked []string
	resolver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		asked = append(asked, q.Get("host")+":"+q.Get("port")+" from "+q.Get("namespace"))
		if strings.HasPrefix(q.Get("host"), "web") {
			_, _ = w.Write([]byte(webAddr))
			return
		}
		http.Error(w, "no Service db in namespace shop", http.StatusNotFound)
	}))
	defer resolver.Close()
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "tmp"), 0o755))
	env := map[string]string{"REHEARSE_IMAGE_ROOT": root, "REHEARSE_SERVICE_RESOLVER": resolver.URL, "REHEARSE_POD_NAMESPACE": "shop"}

	code, out, errOut := sh(t, env, "-c", `curl -sf http://web/healthz && curl -s -o /tmp/page -w '%{http_code}\n' web.shop.svc.cluster.local:8080/ && cat /tmp/page`)
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, "healthy\n200\nhealthy\n", out)
	assert.Equal(t, []string{"web:80 from shop", "web.shop.svc.cluster.local:8080 from shop"}, asked)

	code, out, _ = sh(t, env, "-c", `curl -X PUT -H 'X-Team: pay' -d v=2 http://web/echo`)
	assert.Equal(t, 0, code)
	assert.Equal(t, "PUT pay v=2", out)

	code, _, errOut = sh(t, env, "-c", `curl -sSf http://web/broken`)
	assert.Equal(t, 22, code, "-f on a 500")
	assert.Contains(t, errOut, "returned error: 500")
	code, _, errOut = sh(t, env, "-c", `curl http://db:5432/`)
	assert.Equal(t, 6, code)
	assert.Contains(t, errOut, "no Service db in namespace shop")
	code, _, errOut = sh(t, env, "-c", `curl http://192.168.0.11:7780/`)
	assert.Equal(t, 7, code)
	assert.Contains(t, errOut, "outside the pod network")
	code, _, errOut = sh(t, env, "-c", `curl --retry 3 http://web/`)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--retry")

	code, out, errOut = sh(t, env, "-c", `wget -qO- http://web/ && wget -q -O /tmp/saved http://web/ && cat /tmp/saved && wget -q --spider http://web/healthz && echo up`)
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, "healthy\nhealthy\nup\n", out)
	code, _, _ = sh(t, env, "-c", `wget -q http://web/broken`)
	assert.Equal(t, 8, code)
	code, _, errOut = sh(t, env, "-c", `wget http://db/`)
	assert.Equal(t, 4, code)
	assert.Contains(t, errOut, "no Service db")
}
