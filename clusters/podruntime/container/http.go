package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"mvdan.cc/sh/v3/interp"
)

// A pod here reaches what a pod in a cluster would, and nothing else:
// itself on localhost, other pods by IP, and Services by their cluster DNS
// names, which the pod runtime's resolver (REHEARSE_SERVICE_RESOLVER)
// turns into one of their ready endpoints, as cluster DNS and kube-proxy
// would. Every address dialled is on the loopback network.

// exitError is a utility's failure with its own exit status (curl's and
// wget's codes), said on stderr unless silenced.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// podTarget is the loopback address to dial for host:port.
func podTarget(ctx context.Context, hc interp.HandlerContext, host, port string) (string, error) {
	if host == "localhost" {
		local := hc.Env.Get("REHEARSE_POD_ADDRESS").String()
		if local == "" {
			local = "127.0.0.1"
		}
		return net.JoinHostPort(local, port), nil
	}
	if ip := net.ParseIP(host); ip != nil {
		if v4 := ip.To4(); v4 != nil && v4[0] == 10 && v4[1] == 245 {
			return net.JoinHostPort(fmt.Sprintf("127.77.%d.%d", v4[2], v4[3]), port), nil // a pod IP
		}
		if ip.IsLoopback() {
			return net.JoinHostPort(host, port), nil
		}
		return "", &exitError{7, fmt.Sprintf("%s is outside the pod network: only pods and Services of this cluster are reachable", host)}
	}
	resolver := hc.Env.Get("REHEARSE_SERVICE_RESOLVER").String()
	if resolver == "" {
		return "", &exitError{6, fmt.Sprintf("could not resolve host %s: this container has no Service resolver", host)}
	}
	q := url.Values{"host": {host}, "port": {port}, "namespace": {hc.Env.Get("REHEARSE_POD_NAMESPACE").String()}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, resolver+"/resolve?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", &exitError{6, fmt.Sprintf("could not resolve host %s: %v", host, err)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	answer := strings.TrimSpace(string(b))
	if resp.StatusCode != http.StatusOK {
		code := 6
		if strings.Contains(answer, "no ready endpoint") {
			code = 7 // the name resolves; nothing answers on it
		}
		return "", &exitError{code, fmt.Sprintf("%s: %s", host, answer)}
	}
	h, _, err := net.SplitHostPort(answer)
	if ip := net.ParseIP(h); err != nil || ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("the resolver answered %q for %s, not a loopback address", answer, host)
	}
	return answer, nil
}

// podClient is an HTTP client dialling through podTarget.
func podClient(hc interp.HandlerContext, timeout time.Duration, follow bool) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true, Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			target, err := podTarget(ctx, hc, host, port)
			if err != nil {
				return nil, err
			}
			var d net.Dialer
			conn, err := d.DialContext(ctx, network, target)
			if err != nil {
				return nil, &exitError{7, fmt.Sprintf("failed to connect to %s port %s: %v", host, port, err)}
			}
			return conn, nil
		}}
	c := &http.Client{Transport: tr, Timeout: timeout}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

// transportExit maps a request's error to the utility's exit status.
func transportExit(err error, timeoutCode, otherCode int) *exitError {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return &exitError{timeoutCode, "operation timed out: " + err.Error()}
	}
	return &exitError{otherCode, err.Error()}
}

// curlFlagsWithValue are curl's options (short and long) that take a value.
var curlFlagsWithValue = map[string]string{"o": "output", "X": "request", "H": "header", "d": "data", "w": "write-out", "m": "max-time"}

// utilCurl is curl for what scripts of Jobs and job metrics do: -s -S -f
// -L -I -o -X -H -d (--data, --data-raw) -w (%{http_code}) -m, and -k
// (ignored: plain HTTP only). Another option fails with status 2, named.
func utilCurl(ctx context.Context, hc interp.HandlerContext, args []string) error {
	err := curl(ctx, hc, args)
	var ee *exitError
	if errors.As(err, &ee) {
		fmt.Fprintf(hc.Stderr, "curl: (%d) %s\n", ee.code, ee.msg)
		return interp.ExitStatus(uint8(ee.code))
	}
	return err
}

func curl(ctx context.Context, hc interp.HandlerContext, args []string) error {
	opts := map[string][]string{}
	var target string
	set := func(long, v string) { opts[long] = append(opts[long], v) }
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			if name == "data-raw" || name == "data-binary" {
				name = "data"
			}
			takes := false
			for _, l := range curlFlagsWithValue {
				takes = takes || l == name
			}
			switch {
			case takes && !hasVal:
				if i+1 >= len(args) {
					return &exitError{2, "option --" + name + ": requires a value"}
				}
				i++
				val = args[i]
				fallthrough
			case takes:
				set(name, val)
			case slices.Contains([]string{"silent", "show-error", "fail", "location", "head", "insecure", "verbose"}, name):
				set(name, "")
			default:
				return &exitError{2, "option --" + name + " is not one Rehearse's curl provides (-s -S -f -L -I -o -X -H -d -w -m -k)"}
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				c := string(a[j])
				if long, ok := curlFlagsWithValue[c]; ok {
					val := a[j+1:]
					if val == "" {
						if i+1 >= len(args) {
							return &exitError{2, "option -" + c + ": requires a value"}
						}
						i++
						val = args[i]
					}
					set(long, val)
					break
				}
				long, ok := map[string]string{"s": "silent", "S": "show-error", "f": "fail", "L": "location", "I": "head", "k": "insecure", "v": "verbose"}[c]
				if !ok {
					return &exitError{2, "option -" + c + " is not one Rehearse's curl provides (-s -S -f -L -I -o -X -H -d -w -m -k)"}
				}
				set(long, "")
			}
		default:
			target = a
		}
	}
	if target == "" {
		return &exitError{2, "no URL specified"}
	}
	if !strings.Contains(target, "://") {
		target = "http://" + target
	}
	method := http.MethodGet
	var body io.Reader
	if d := opts["data"]; len(d) > 0 {
		method, body = http.MethodPost, strings.NewReader(strings.Join(d, "&"))
	}
	if opts["head"] != nil {
		method = http.MethodHead
	}
	if m := opts["request"]; len(m) > 0 {
		method = m[len(m)-1]
	}
	var timeout time.Duration
	if m := opts["max-time"]; len(m) > 0 {
		secs, err := strconv.ParseFloat(m[len(m)-1], 64)
		if err != nil {
			return &exitError{2, "option --max-time: " + err.Error()}
		}
		timeout = time.Duration(secs * float64(time.Second))
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return &exitError{3, "malformed URL: " + err.Error()}
	}
	if req.URL.Scheme != "http" {
		return &exitError{1, "protocol " + req.URL.Scheme + " is not supported (plain HTTP only)"}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, h := range opts["header"] {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	req.Header.Set("User-Agent", "curl/8 (Rehearse)")
	silent := opts["silent"] != nil && opts["show-error"] == nil
	fail := func(e *exitError) error {
		if !silent {
			fmt.Fprintf(hc.Stderr, "curl: (%d) %s\n", e.code, e.msg)
		}
		return interp.ExitStatus(uint8(e.code))
	}
	resp, err := podClient(hc, timeout, opts["location"] != nil).Do(req)
	if err != nil {
		return fail(transportExit(err, 28, 7))
	}
	defer resp.Body.Close()
	if opts["fail"] != nil && resp.StatusCode >= 400 {
		return fail(&exitError{22, fmt.Sprintf("The requested URL returned error: %d", resp.StatusCode)})
	}
	out := hc.Stdout
	if o := opts["output"]; len(o) > 0 && o[len(o)-1] != "-" {
		f, err := os.Create(resolve(hc, o[len(o)-1]))
		if err != nil {
			return fail(&exitError{23, err.Error()})
		}
		defer f.Close()
		out = f
	}
	if opts["head"] != nil {
		fmt.Fprintf(out, "HTTP/1.1 %s\r\n", resp.Status)
		_ = resp.Header.Write(out)
		fmt.Fprint(out, "\r\n")
	} else if _, err := io.Copy(out, resp.Body); err != nil {
		return fail(transportExit(err, 28, 56))
	}
	if w := opts["write-out"]; len(w) > 0 {
		f := strings.NewReplacer(`%{http_code}`, strconv.Itoa(resp.StatusCode), `\n`, "\n", `\t`, "\t").Replace(w[len(w)-1])
		fmt.Fprint(hc.Stdout, f)
	}
	return nil
}

// utilWget is wget for scripts: -q, -O FILE (- for standard output),
// -T SECONDS (--timeout), --spider and --header; another option fails
// with status 2, named. Exit status 4 for a network failure, 8 for an
// error answer, as wget's.
func utilWget(ctx context.Context, hc interp.HandlerContext, args []string) error {
	quiet, spider := false, false
	output := ""
	timeout := 900 * time.Second
	var headers []string
	var target string
	// Short options may be combined (-qO-, -qO file).
	var expanded []string
	for _, a := range args {
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			for j := 1; j < len(a); j++ {
				if a[j] == 'O' || a[j] == 'T' {
					expanded = append(expanded, "-"+string(a[j]))
					if rest := a[j+1:]; rest != "" {
						expanded = append(expanded, rest)
					}
					break
				}
				expanded = append(expanded, "-"+string(a[j]))
			}
			continue
		}
		expanded = append(expanded, a)
	}
	args = expanded
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() (string, error) {
			if i+1 >= len(args) {
				return "", &exitError{2, "option " + a + " requires a value"}
			}
			i++
			return args[i], nil
		}
		var err error
		switch {
		case a == "-q" || a == "--quiet":
			quiet = true
		case a == "--spider":
			spider = true
		case a == "-O":
			output, err = next()
		case strings.HasPrefix(a, "--output-document="):
			output = strings.TrimPrefix(a, "--output-document=")
		case a == "-T" || strings.HasPrefix(a, "--timeout="):
			v := strings.TrimPrefix(a, "--timeout=")
			if a == "-T" {
				v, err = next()
			}
			if err == nil {
				var secs float64
				secs, err = strconv.ParseFloat(v, 64)
				timeout = time.Duration(secs * float64(time.Second))
			}
		case a == "--header":
			var h string
			h, err = next()
			headers = append(headers, h)
		case strings.HasPrefix(a, "--header="):
			headers = append(headers, strings.TrimPrefix(a, "--header="))
		case strings.HasPrefix(a, "-"):
			err = &exitError{2, "option " + a + " is not one Rehearse's wget provides (-q -O -T --spider --header)"}
		default:
			target = a
		}
		if err != nil {
			return reportWget(hc, false, err)
		}
	}
	if target == "" {
		return reportWget(hc, false, &exitError{1, "missing URL"})
	}
	if !strings.Contains(target, "://") {
		target = "http://" + target
	}
	method := http.MethodGet
	if spider {
		method = http.MethodHead
	}
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil || req.URL.Scheme != "http" {
		return reportWget(hc, quiet, &exitError{1, fmt.Sprintf("%s: unsupported URL (plain HTTP only)", target)})
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	req.Header.Set("User-Agent", "Wget (Rehearse)")
	resp, err := podClient(hc, timeout, true).Do(req)
	if err != nil {
		return reportWget(hc, quiet, transportExit(err, 4, 4))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return reportWget(hc, quiet, &exitError{8, "server returned error: HTTP/1.1 " + resp.Status})
	}
	if spider {
		return nil
	}
	out := hc.Stdout
	if output != "-" {
		if output == "" {
			output = path.Base(req.URL.Path)
			if output == "/" || output == "." {
				output = "index.html"
			}
		}
		f, err := os.Create(resolve(hc, output))
		if err != nil {
			return reportWget(hc, quiet, &exitError{3, err.Error()})
		}
		defer f.Close()
		out = f
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		return reportWget(hc, quiet, transportExit(err, 4, 4))
	}
	return nil
}

func reportWget(hc interp.HandlerContext, quiet bool, err error) error {
	e := transportExit(err, 4, 4)
	if e.code == 6 || e.code == 7 || e.code == 28 {
		e = &exitError{4, e.msg} // wget says 4 for any network failure
	}
	if !quiet {
		fmt.Fprintf(hc.Stderr, "wget: %s\n", e.msg)
	}
	return interp.ExitStatus(uint8(e.code))
}
