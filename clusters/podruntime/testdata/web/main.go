// A container program for the pod runtime's tests: it answers / with its
// MESSAGE and /ready with 200 unless READY=false.
package main

import (
	"net"
	"net/http"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", net.JoinHostPort(os.Getenv("REHEARSE_POD_ADDRESS"), "8080"))
	if err != nil {
		panic(err)
	}
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(os.Getenv("MESSAGE") + " from " + os.Getenv("HOSTNAME")))
	})
	http.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) {
		if os.Getenv("READY") == "false" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	panic(http.Serve(ln, nil))
}
