// Command api is the team's own service: it answers every request with its
// build's version and the pod that served it, as JSON.
package main

import (
	"encoding/json"
	"log"
	"net"
	"net/http"
	"os"
)

func main() {
	version := os.Getenv("VERSION")
	pod, _ := os.Hostname()
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"service": "api", "pod": pod, "build": map[string]string{"version": version}})
	})
	// On Rehearse's pod runtime each pod has its own loopback address.
	addr := net.JoinHostPort(os.Getenv("REHEARSE_POD_ADDRESS"), "8080")
	log.Printf("api %s listening on %s", version, addr)
	log.Fatal(http.ListenAndServe(addr, nil))
}
