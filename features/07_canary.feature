@flow-7
Feature: Canary deployment analysed with Prometheus metrics (seed flow 7)
  q-sign runs as an Argo Rollouts canary with 10 replicas and no traffic
  router, so the weight is the ratio of ready pods: one canary pod takes a
  tenth of the users' requests. The AnalysisTemplate "canary-health" asks
  Prometheus for the canary's error rate and 95th percentile latency (the
  seed's error_rate and latency_p95) five times, a seed minute apart.
  Durations are the seed's, compressed 60 times by a visible commit.

  Background:
    Given the seed's GitLab "http://192.168.0.11:7780/" is served by the local Git server
    And the seed's Harbor "192.168.0.11:30800" is served by the local registry
    And the registry has the private project "qsign-prod"
    And the registry holds "qsign-prod/app:v1.0.0" built from the folder "../fixtures/repos/q-sign-app"
    And the Git server hosts "root/q-sign-rollouts" from the folder "../fixtures/repos/q-sign-rollouts"
    And Argo CD has repository credentials for "http://192.168.0.11:7780/"
    And the Git server sends push webhooks to Argo CD
    And Argo Rollouts runs in the cluster
    And the durations in "canary" of "root/q-sign-rollouts" follow the run's time scale
    And the seed's Prometheus "http://prometheus.monitoring.svc.cluster.local:9090" is served by the local Prometheus, scraping "q-sign" every 15s of seed time
    And the admin applies the Application "applications/q-sign-canary.yaml"
    And within 60s the application "q-sign" is "Synced" and "Healthy"
    And within 30s the rollout "q-sign" in "q-sign" runs only "v1.0.0" on 10 ready pods
    And users send 100 requests per second to the Service "q-sign" in "q-sign"

  Scenario: A good canary is analysed at 10%, expanded to 50%, then to every pod (seed steps 1-9, 10a-15a)
    Given the registry holds "qsign-prod/app:v2.0.0" built from the folder "../fixtures/repos/q-sign-app" with its "behaviour.json" reading:
      """
      {"errorRate": 0, "latency": "150ms"}
      """
    When the developer sets "spec.template.spec.containers.0.image" to "192.168.0.11:30800/qsign-prod/app:v2.0.0" in "canary/rollout.yaml" of "root/q-sign-rollouts" and pushes "Release v2.0.0"
    # asserts seed steps 1-2: one canary pod of ten, at the rollout's first step (weight 10)
    Then within 40s the rollout "q-sign" in "q-sign" is at step 1 with 1 ready pod of "v2.0.0" and 9 of "v1.0.0"
    # asserts seed steps 3-6: the users' own requests split 90 / 10
    And during 3s the users' requests to "q-sign" reach "v2.0.0" 10% of the time, within 3 points, and none fails
    # Five seed minutes of analysis, error rate and p95 within bounds.
    # asserts seed steps 7-9: the AnalysisRun's measurements, from Prometheus's scrapes
    And within 30s the latest analysis run of the rollout "q-sign" in "q-sign" is "Successful"
    # asserts seed step 10a: half and half
    And within 30s the rollout "q-sign" in "q-sign" is at step 3 with 5 ready pods of "v2.0.0" and 5 of "v1.0.0"
    # asserts seed steps 12a-14a
    And within 30s the rollout "q-sign" in "q-sign" runs only "v2.0.0" on 10 ready pods
    # asserts seed step 15a
    And within 30s the rollout "q-sign" in "q-sign" is "Healthy"
    And none of the users' requests to "q-sign" has failed

  Scenario: A canary with 5% errors fails its analysis and is aborted: all traffic back to stable (seed steps 1-9, 10b-12b)
    Given Argo CD sends e-mail notifications through the local mail server
    And the registry holds "qsign-prod/app:v2.0.1" built from the folder "../fixtures/repos/q-sign-app" with its "behaviour.json" reading:
      """
      {"errorRate": 0.05}
      """
    When the developer sets "spec.template.spec.containers.0.image" to "192.168.0.11:30800/qsign-prod/app:v2.0.1" in "canary/rollout.yaml" of "root/q-sign-rollouts" and pushes "Release v2.0.1"
    Then within 40s the rollout "q-sign" in "q-sign" is at step 1 with 1 ready pod of "v2.0.1" and 9 of "v1.0.0"
    And within 30s the latest analysis run of the rollout "q-sign" in "q-sign" is "Failed" with a message containing "error-rate"
    # asserts seed step 12b
    And within 30s the rollout "q-sign" in "q-sign" is "Degraded" with a message containing "RolloutAborted"
    # abortScaleDownDelaySeconds (30 s, 1 s compressed) later the canary pod is gone.
    # asserts seed step 10b
    And within 30s the rollout "q-sign" in "q-sign" runs only "v1.0.0" on 10 ready pods
    # asserts seed step 11b: the users' requests
    And within 10s the users' requests to "q-sign" reach only "v1.0.0"
    And within 30s the application "q-sign" is "Synced" and "Degraded"
    # Not "exactly 1": Argo CD's notifications controller was seen to send
    # this degraded e-mail twice, 90 ms apart, for one health change (most
    # likely two updates of the Application handled before its own
    # "notified" annotation reached its cache).
    And within 10s "developer@q-sign.local" has received at least 1 e-mail whose subject contains "q-sign has degraded"

  Scenario: The admin aborts a canary at 50%: the users go back to stable at once
    Given the registry holds "qsign-prod/app:v2.0.4" built from the folder "../fixtures/repos/q-sign-app"
    When the developer sets "spec.template.spec.containers.0.image" to "192.168.0.11:30800/qsign-prod/app:v2.0.4" in "canary/rollout.yaml" of "root/q-sign-rollouts" and pushes "Release v2.0.4"
    # Step 3 is the five-minute watch at 50% (5 s at 60x); the admin aborts during it.
    Then within 60s the rollout "q-sign" in "q-sign" is at step 3 with 5 ready pods of "v2.0.4" and 5 of "v1.0.0"
    # asserts seed step 11a: the users' requests split 50 / 50
    And during 2s the users' requests to "q-sign" reach "v2.0.4" 50% of the time, within 5 points, and none fails
    When the admin aborts the rollout "q-sign" in "q-sign"
    Then within 30s the rollout "q-sign" in "q-sign" is "Degraded" with a message containing "RolloutAborted"
    And within 30s the rollout "q-sign" in "q-sign" runs only "v1.0.0" on 10 ready pods
    And within 10s the users' requests to "q-sign" reach only "v1.0.0"
    And none of the users' requests to "q-sign" has failed

  Scenario: A canary 400 ms slow is inconclusive: the rollout pauses until the admin promotes it
    Given the registry holds "qsign-prod/app:v2.0.2" built from the folder "../fixtures/repos/q-sign-app" with its "behaviour.json" reading:
      """
      {"latency": "400ms"}
      """
    When the developer sets "spec.template.spec.containers.0.image" to "192.168.0.11:30800/qsign-prod/app:v2.0.2" in "canary/rollout.yaml" of "root/q-sign-rollouts" and pushes "Release v2.0.2"
    Then within 40s the latest analysis run of the rollout "q-sign" in "q-sign" is "Inconclusive" with a message containing "latency-p95"
    And within 10s the rollout "q-sign" in "q-sign" is "Paused" with a message containing "InconclusiveAnalysisRun"
    And the rollout "q-sign" in "q-sign" stays at step 1 with 1 ready pod of "v2.0.2" and 9 of "v1.0.0" for 3s
    When the admin promotes the rollout "q-sign" in "q-sign"
    Then within 30s the rollout "q-sign" in "q-sign" runs only "v2.0.2" on 10 ready pods
    And within 30s the rollout "q-sign" in "q-sign" is "Healthy"
    And none of the users' requests to "q-sign" has failed

  # argo-rollouts#1466: an empty result must be an error, not a crash. Argo
  # Rollouts retries an errored measurement after a fixed 10 s
  # (DefaultErrorRetryInterval, real time: the time scale cannot shorten it),
  # and gives up after more than 4 errors in a row (consecutiveErrorLimit).
  Scenario: Prometheus answers an empty result: the measurements are errors and the canary is aborted
    Given the registry holds "qsign-prod/app:v2.0.3" built from the folder "../fixtures/repos/q-sign-app"
    And Prometheus answers every query with an empty result
    When the developer sets "spec.template.spec.containers.0.image" to "192.168.0.11:30800/qsign-prod/app:v2.0.3" in "canary/rollout.yaml" of "root/q-sign-rollouts" and pushes "Release v2.0.3"
    Then within 90s the latest analysis run of the rollout "q-sign" in "q-sign" is "Error" with a message containing "consecutiveErrors (5) > consecutiveErrorLimit (4)"
    And the latest analysis run of the rollout "q-sign" in "q-sign" measured "no data returned from the metric provider"
    And within 30s the rollout "q-sign" in "q-sign" is "Degraded" with a message containing "RolloutAborted"
    And within 30s the rollout "q-sign" in "q-sign" runs only "v1.0.0" on 10 ready pods
    And none of the users' requests to "q-sign" has failed
