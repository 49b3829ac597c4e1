package loopback

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProxyRewritesMappedURLsAndRefusesOthersBeforeDialing(t *testing.T) {
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "local "+r.URL.Path+"?"+r.URL.RawQuery)
	}))
	defer local.Close()
	rw := NewRewriter()
	require.NoError(t, rw.Map("http://prometheus.monitoring.svc.cluster.local:9090/", local.URL+"/"))
	p, err := StartProxy(rw)
	require.NoError(t, err)
	defer p.Close()
	proxyURL, _ := url.Parse(p.URL())
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}

	resp, err := client.Get("http://prometheus.monitoring.svc.cluster.local:9090/api/v1/query?query=up")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "local /api/v1/query?query=up", string(body))

	for _, u := range []string{"http://192.168.0.11:9090/api/v1/query", "http://prometheus.example.com/"} {
		resp, err := client.Get(u)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusBadGateway, resp.StatusCode, u)
		require.Contains(t, string(body), "no rewrite rule", u)
	}
	_, err = client.Get("https://192.168.0.11:443/")
	require.Error(t, err, "CONNECT to an unmapped host is refused")
	require.Len(t, p.Refused(), 3)
}
