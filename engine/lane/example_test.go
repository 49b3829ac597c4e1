package lane_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/rehearse/rehearse/engine/lane"
)

// A lane used from plain Go, without Gherkin: start a cluster with the
// real Argo CD on it, apply an Application and wait until it is Synced and
// Healthy, then tear everything down. (Not run by go test: it starts a
// cluster.)
func ExampleNew() {
	ctx := context.Background()
	l, err := lane.New(lane.Options{TimeScale: 60, Log: log.New(os.Stderr, "lane: ", log.Ltime)})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close(context.Background())
	if err := l.Start(ctx); err != nil {
		log.Fatal(err)
	}
	doc, err := os.ReadFile("applications/web.yaml")
	if err != nil {
		log.Fatal(err)
	}
	e := l.Engine()
	if _, err := e.ApplyApplication(ctx, "applications/web.yaml", doc, nil); err != nil {
		log.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		app, err := e.Application(ctx, "web")
		if err == nil && app.Status.Sync.Status == "Synced" && app.Status.Health.Status == "Healthy" {
			fmt.Println(app.Summary())
			return
		}
	}
	log.Fatal("web was not Synced and Healthy within a minute")
}
