package loopback

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Proxy is an HTTP forward proxy for programs Rehearse starts but cannot
// point at local servers URL by URL (Argo Rollouts' metric providers read
// the address from a user's AnalysisTemplate). Given to them as HTTP_PROXY,
// it sends each request through the Rewriter and refuses, before dialing,
// any destination the table does not map to 127.0.0.0/8.
type Proxy struct {
	rw  *Rewriter
	ln  net.Listener
	srv *http.Server
	tr  *http.Transport

	mu      sync.Mutex
	refused []string
}

// StartProxy listens on a free port of 127.0.0.1.
func StartProxy(rw *Rewriter) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d := &Dialer{}
	p := &Proxy{rw: rw, ln: ln, tr: &http.Transport{DialContext: d.DialContext, Proxy: nil, MaxIdleConnsPerHost: 8}}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL is the value for HTTP_PROXY.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Refused lists the URLs refused so far.
func (p *Proxy) Refused() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.refused...)
}

// Close stops the proxy.
func (p *Proxy) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p.tr.CloseIdleConnections()
	return p.srv.Shutdown(ctx)
}

func (p *Proxy) refuse(w http.ResponseWriter, url string, err error) {
	p.mu.Lock()
	p.refused = append(p.refused, url)
	p.mu.Unlock()
	http.Error(w, "rehearse proxy: "+err.Error(), http.StatusBadGateway)
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	if !r.URL.IsAbs() {
		http.Error(w, "rehearse proxy: only absolute URLs are proxied", http.StatusBadRequest)
		return
	}
	target, err := p.rw.Rewrite(r.URL.String())
	if err != nil {
		p.refuse(w, r.URL.String(), err)
		return
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, target, r.Body)
	if err != nil {
		p.refuse(w, r.URL.String(), err)
		return
	}
	for k, vs := range r.Header {
		if k == "Proxy-Connection" || k == "Proxy-Authorization" {
			continue
		}
		out.Header[k] = vs
	}
	out.ContentLength = r.ContentLength
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		http.Error(w, fmt.Sprintf("rehearse proxy: %s (rewritten to %s): %v", r.URL, target, err), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// tunnel serves CONNECT for https URLs the table maps (by their
// "https://host:port/" prefix) and refuses the rest.
func (p *Proxy) tunnel(w http.ResponseWriter, r *http.Request) {
	from := "https://" + r.Host + "/"
	target, err := p.rw.Rewrite(from)
	if err != nil {
		p.refuse(w, from, err)
		return
	}
	// Rewrite returns only well-formed URLs.
	u, _ := url.Parse(target)
	var d Dialer
	upstream, err := d.DialContext(r.Context(), "tcp", u.Host)
	if err != nil {
		p.refuse(w, from, err)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "rehearse proxy: cannot tunnel", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
	client, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	go func() {
		_, _ = io.Copy(upstream, buf)
		upstream.Close()
	}()
	_, _ = io.Copy(client, upstream)
	client.Close()
}
