// The service of the saved-image test: answers every request with its
// version (APP_VERSION, set in the image) on the pod's own address. On
// SIGTERM it keeps serving for 2 s before it stops, as a service must
// while its endpoint is being taken out of the Service: one that stops at
// once refuses the requests still routed to it (Rehearse's users see
// them fail).
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Version", os.Getenv("APP_VERSION"))
		fmt.Fprintln(w, "hello from a saved image")
	})
	srv := &http.Server{Addr: os.Getenv("REHEARSE_POD_ADDRESS") + ":8080", Handler: mux}
	go func() {
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		<-term
		time.Sleep(2 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
