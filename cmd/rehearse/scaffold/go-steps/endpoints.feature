Feature: hello's Service routes to every pod (a step written in Go)
  "has N ready endpoints" is defined in rehearse_test.go: it runs under
  go test, not under rehearse run.

  Scenario: Both pods of hello are ready endpoints of its Service
    Given the Git server hosts "platform/gitops" from the folder "gitops"
    And Argo CD has repository credentials for "https://git.example.com/"
    When the admin applies the Application "applications/hello.yaml"
    Then within 60s the application "hello" is "Synced" and "Healthy"
    And within 30s all 2 pods labelled "app=hello" in "hello" are ready
    And within 10s the Service "hello" in "hello" has 2 ready endpoints
