package loopback

import (
	"errors"
	"testing"
)

// Whatever URL comes in, Rewrite either refuses it or returns a URL on the
// loopback network: it never hands out an address outside 127.0.0.0/8.
func FuzzRewrite(f *testing.F) {
	for _, s := range []string{
		"http://192.168.0.11:7780/root/q-sign.git", "http://192.168.0.11:30800/v2/", "https://example.com/x",
		"http://127.0.0.1:8080/a", "http://localhost/", "http://[::1]:80/", "http://192.168.0.11:7780@evil.example/",
		"http://192.168.0.11:77800/", "git@192.168.0.11:root/q-sign.git", "", "http://0x7f.1/", "http://127.0.0.1.evil.example/",
	} {
		f.Add(s)
	}
	r := NewRewriter()
	if err := r.Map("http://192.168.0.11:7780/", "http://127.0.0.1:41234/"); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := r.Rewrite(raw)
		if err != nil {
			var unmapped *UnmappedError
			if errors.As(err, &unmapped) && !errors.Is(err, ErrNotLoopback) {
				t.Fatalf("UnmappedError for %q does not wrap ErrNotLoopback", raw)
			}
			return
		}
		if cerr := CheckURL(out); cerr != nil {
			t.Fatalf("Rewrite(%q) = %q, which is not local: %v", raw, out, cerr)
		}
	})
}
