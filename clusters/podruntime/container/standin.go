package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Behaviour is how a stand-in acts; the runtime passes the one declared
// for the image (or its tag) as JSON. The zero value is a healthy server.
type Behaviour struct {
	// NotReady makes every probe request fail with 503, so the pod never
	// becomes Ready.
	NotReady bool `json:"notReady,omitempty"`
	// ErrorRate is the share of ordinary requests answered 500, spread
	// evenly so that thresholds are met or missed deterministically.
	ErrorRate float64 `json:"errorRate,omitempty"`
	// Latency delays every ordinary answer.
	Latency Duration `json:"latency,omitempty"`
	// ExitAfter ends the program after this long with ExitCode: a crash
	// (ExitCode other than 0) or a Job that completes (ExitCode 0).
	ExitAfter Duration `json:"exitAfter,omitempty"`
	ExitCode  int      `json:"exitCode,omitempty"`
	// ShutdownDelay is the longest it keeps serving after SIGTERM, failing
	// its probes, until no request came for half a second: the time the
	// pod's endpoint takes to leave the Services. nil: 2 s; 0: it stops
	// listening at once, as a server without graceful shutdown does.
	ShutdownDelay *Duration `json:"shutdownDelay,omitempty"`
}

// Duration reads "1.5s" in JSON.
type Duration time.Duration

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"250ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// standInConfig is what the runtime tells the stand-in through its
// environment.
type standInConfig struct {
	Address   string // the pod's loopback address
	Image     string
	Pod       string
	Ports     []int
	Behaviour Behaviour
	Err       error // a malformed variable: the container fails with it
}

func standInConfigFromEnv() standInConfig {
	c := standInConfig{Address: os.Getenv("REHEARSE_POD_ADDRESS"), Image: os.Getenv("REHEARSE_STAND_IN_IMAGE"), Pod: os.Getenv("HOSTNAME")}
	for _, p := range strings.FieldsFunc(os.Getenv("REHEARSE_STAND_IN_PORTS"), func(r rune) bool { return r == ',' || r == ' ' }) {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			c.Err = fmt.Errorf("REHEARSE_STAND_IN_PORTS: %q is not a port", p)
			return c
		}
		c.Ports = append(c.Ports, n)
	}
	if b := os.Getenv("REHEARSE_STAND_IN_BEHAVIOUR"); b != "" {
		if err := json.Unmarshal([]byte(b), &c.Behaviour); err != nil {
			c.Err = fmt.Errorf("REHEARSE_STAND_IN_BEHAVIOUR: %w", err)
		}
	}
	return c
}

// tag is the image's tag, or "latest" when it names none; a digest counts
// as its own version.
func tag(image string) string {
	if i := strings.LastIndex(image, "@"); i >= 0 {
		return image[i+1:]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[i+1:]
	}
	return "latest"
}

// standIn answers HTTP on every port as the image would be expected to:
// 200 and a page naming itself, /metrics in Prometheus' format.
type standIn struct {
	cfg  standInConfig
	reg  *prometheus.Registry
	reqs *prometheus.CounterVec
	dur  *prometheus.HistogramVec

	mu             sync.Mutex
	served, failed int
	draining       bool
	last           time.Time // when the last ordinary request came
}

func newStandIn(cfg standInConfig) *standIn {
	s := &standIn{cfg: cfg, reg: prometheus.NewRegistry()}
	// Named and labelled like the q-sign example's, so the same PromQL
	// (analysis templates, "sees no errors") reads either.
	labels := prometheus.Labels{"version": tag(cfg.Image)}
	s.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total", Help: "Requests served, by status code.", ConstLabels: labels,
	}, []string{"code"})
	s.dur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_request_duration_seconds", Help: "Request latency.", ConstLabels: labels,
		Buckets: []float64{.005, .01, .025, .05, .1, .2, .3, .5, 1, 2.5},
	}, []string{"code"})
	s.reg.MustRegister(s.reqs, s.dur)
	return s
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
		s.serveGRPC(w, r)
		return
	}
	if r.URL.Path == "/metrics" {
		promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
		return
	}
	// The kubelet's probes say who they are; they are not users' traffic.
	if strings.HasPrefix(r.UserAgent(), "kube-probe/") {
		s.mu.Lock()
		draining := s.draining
		s.mu.Unlock()
		if draining {
			http.Error(w, "stand-in for "+s.cfg.Image+": shutting down", http.StatusServiceUnavailable)
			return
		}
		if s.cfg.Behaviour.NotReady {
			http.Error(w, "stand-in for "+s.cfg.Image+": declared not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = fmt.Fprintf(w, "ok: stand-in for %s\n", s.cfg.Image)
		return
	}
	start := time.Now()
	s.mu.Lock()
	s.last = start
	s.mu.Unlock()
	if d := time.Duration(s.cfg.Behaviour.Latency); d > 0 {
		time.Sleep(d)
	}
	code := http.StatusOK
	if s.fail() {
		code = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Rehearse-Stand-In", s.cfg.Image)
	// The header Rehearse's users read a version from, as q-sign's "version".
	w.Header().Set("X-Version", tag(s.cfg.Image))
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, "<!doctype html><title>%[1]s</title><p>stand-in for %[1]s, version %[2]s, pod %[3]s, answering %[4]s %[5]s</p>\n",
		html.EscapeString(s.cfg.Image), html.EscapeString(tag(s.cfg.Image)), html.EscapeString(s.cfg.Pod),
		html.EscapeString(r.Method), html.EscapeString(r.URL.Path))
	c := strconv.Itoa(code)
	s.reqs.WithLabelValues(c).Inc()
	s.dur.WithLabelValues(c).Observe(time.Since(start).Seconds())
}

// serveGRPC answers the standard gRPC health service (grpc.health.v1),
// which the kubelet's grpc probes ask: SERVING, or NOT_SERVING while the
// stand-in is declared not ready or drains. Any other method is
// UNIMPLEMENTED: a stand-in has no service of its own. The messages are
// written by hand (a length-prefixed frame holding one enum field) so the
// stand-in program needs no gRPC library.
func (s *standIn) serveGRPC(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
	_, _ = io.Copy(io.Discard, r.Body)
	if r.URL.Path != "/grpc.health.v1.Health/Check" {
		w.WriteHeader(http.StatusOK)
		w.Header().Set("Grpc-Status", "12") // UNIMPLEMENTED
		w.Header().Set("Grpc-Message", "stand-in for "+s.cfg.Image+" serves only grpc.health.v1.Health/Check, not "+r.URL.Path)
		return
	}
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	status := byte(1) // SERVING
	if draining || s.cfg.Behaviour.NotReady {
		status = 2 // NOT_SERVING
	}
	// HealthCheckResponse{status}: field 1, varint.
	msg := []byte{0x08, status}
	frame := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(frame, msg...))
	w.Header().Set("Grpc-Status", "0")
	w.Header().Set("Grpc-Message", "")
}

// fail decides whether this request is one of the declared errors.
func (s *standIn) fail() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.served++
	if float64(s.failed) < s.cfg.Behaviour.ErrorRate*float64(s.served)-1e-9 {
		s.failed++
		return true
	}
	return false
}

// runStandIn serves until stop delivers (SIGTERM) or the declared exit.
func runStandIn(cfg standInConfig, stop <-chan os.Signal) error {
	if cfg.Err != nil {
		return cfg.Err
	}
	s := newStandIn(cfg)
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	// gRPC probes speak HTTP/2 without TLS (prior knowledge) on the same
	// ports as the users' HTTP/1.
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	errs := make(chan error, len(cfg.Ports))
	for _, p := range cfg.Ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Address, strconv.Itoa(p)))
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "stand-in for %s listening on %s\n", cfg.Image, ln.Addr())
		go func() { errs <- srv.Serve(ln) }()
	}
	if len(cfg.Ports) == 0 {
		fmt.Fprintf(os.Stderr, "stand-in for %s: the container declares no port and no probe port, so it only runs\n", cfg.Image)
	}
	var exit <-chan time.Time
	if b := cfg.Behaviour; b.ExitAfter > 0 || b.ExitCode != 0 {
		exit = time.After(time.Duration(b.ExitAfter))
	}
	select {
	case <-stop:
	case err := <-errs:
		return err
	case <-exit:
		fmt.Fprintf(os.Stderr, "stand-in for %s: exiting with code %d after %s, as declared\n", cfg.Image, cfg.Behaviour.ExitCode, time.Duration(cfg.Behaviour.ExitAfter))
		os.Exit(cfg.Behaviour.ExitCode)
	}
	s.drain()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// drain keeps serving, probes failing, until no request came for half a
// second or the shutdown delay ran out.
func (s *standIn) drain() {
	limit := 2 * time.Second
	if d := s.cfg.Behaviour.ShutdownDelay; d != nil {
		limit = time.Duration(*d)
	}
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	const quiet = 500 * time.Millisecond
	start := time.Now()
	for time.Since(start) < limit {
		s.mu.Lock()
		idle := time.Since(s.last)
		s.mu.Unlock()
		if idle >= quiet && time.Since(start) >= quiet {
			return
		}
		time.Sleep(quiet / 10)
	}
}
