@flow-6
Feature: Blue-green deployment (seed flow 6)
  The seed's admin switches q-sign from blue (v1.0.0) to green (v2.0.0) by
  hand with kubectl, under constant traffic from the users, and must not
  lose a request. The same switch is then done by Argo Rollouts' blueGreen
  strategy, gated by a smoke analysis of the new pods; a green version that
  fails it never receives the users' traffic.

  Background:
    Given the seed's GitLab "http://192.168.0.11:7780/" is served by the local Git server
    And the seed's Harbor "192.168.0.11:30800" is served by the local registry
    And the registry has the private project "qsign-prod"
    And the registry holds "qsign-prod/app:v1.0.0" built from the folder "../fixtures/repos/q-sign-app"
    And the registry holds "qsign-prod/app:v2.0.0" built from the folder "../fixtures/repos/q-sign-app"
    And the Git server hosts "root/q-sign-rollouts" from the folder "../fixtures/repos/q-sign-rollouts"
    And the seed's Prometheus "http://prometheus.monitoring.svc.cluster.local:9090" is served by the local Prometheus, scraping "q-sign" every 15s of seed time

  Scenario: The admin switches the Service from blue to green with kubectl, losing no request (seed steps 1-16)
    Given the namespace "q-sign" exists
    And the admin applies "manual/blue-deployment.yaml" of "root/q-sign-rollouts" to the namespace "q-sign" with kubectl
    And the admin applies "manual/service.yaml" of "root/q-sign-rollouts" to the namespace "q-sign" with kubectl
    And within 30s all 3 pods labelled "version=v1.0.0" in "q-sign" are ready
    And users send 100 requests per second to the Service "q-sign" in "q-sign"
    # Seed steps 1-3: the green environment.
    When the admin applies "manual/green-deployment.yaml" of "root/q-sign-rollouts" to the namespace "q-sign" with kubectl
    # asserts seed steps 1-5: the pods listed by the label, all three Ready
    Then within 30s all 3 pods labelled "version=v2.0.0" in "q-sign" are ready
    # asserts seed steps 6-7
    And the admin's smoke test of the pods labelled "version=v2.0.0" in "q-sign" passes
    When the admin patches the selector of the Service "q-sign" in "q-sign" to "version=v2.0.0" with kubectl
    # asserts seed steps 8-11: the users' requests, through the Service's endpoints, reach green only
    Then within 10s the users' requests to "q-sign" reach only "v2.0.0"
    # Five minutes of monitoring, compressed.
    # asserts seed steps 12-13: Prometheus's error and request rates
    And the admin monitors the error rate of "q-sign" in Prometheus for 5 minutes of seed time and sees no errors
    When the admin deletes the deployment "q-sign-blue" in "q-sign" with kubectl
    # asserts seed steps 14-16
    Then within 30s no pod labelled "version=v1.0.0" is left in "q-sign"
    And none of the users' requests to "q-sign" has failed, and no answer was missing for more than 500ms

  Scenario: Argo Rollouts' blueGreen strategy: smoke-analysed preview, promotion by the admin, analysed switch
    Given Argo CD has repository credentials for "http://192.168.0.11:7780/"
    And the Git server sends push webhooks to Argo CD
    And Argo Rollouts runs in the cluster
    And the durations in "bluegreen" of "root/q-sign-rollouts" follow the run's time scale
    And the developer sets "spec.strategy.blueGreen.autoPromotionEnabled" to "false" in "bluegreen/rollout.yaml" of "root/q-sign-rollouts" and pushes "Promote by hand"
    And the admin applies the Application "applications/q-sign-bluegreen.yaml"
    And within 60s the application "q-sign" is "Synced" and "Healthy"
    And within 30s the rollout "q-sign" in "q-sign" runs only "v1.0.0" on 3 ready pods
    And users send 100 requests per second to the Service "q-sign" in "q-sign"
    And users send 20 requests per second to the Service "q-sign-preview" in "q-sign"
    When the developer sets "spec.template.spec.containers.0.image" to "192.168.0.11:30800/qsign-prod/app:v2.0.0" in "bluegreen/rollout.yaml" of "root/q-sign-rollouts" and pushes "Release v2.0.0"
    # Green starts beside blue, behind the preview Service only, and is smoke-tested.
    Then within 30s the users' requests to "q-sign-preview" reach only "v2.0.0"
    And within 30s the latest pre-promotion analysis run of the rollout "q-sign" in "q-sign" is "Successful"
    And within 10s the rollout "q-sign" in "q-sign" is "Paused" with a message containing "BlueGreenPause"
    And within 10s the blue-green rollout "q-sign" in "q-sign" has 3 ready pods of "v1.0.0" active and 3 of "v2.0.0" in preview
    And during 2s the users' requests to "q-sign" reach "v1.0.0" 100% of the time, within 0 points, and none fails
    # The switch: the active Service's selector moves to green.
    When the admin promotes the rollout "q-sign" in "q-sign"
    Then within 30s the users' requests to "q-sign" reach only "v2.0.0"
    And within 60s the blue-green rollout "q-sign" in "q-sign" has 3 ready pods of "v2.0.0" active
    And within 30s the latest post-promotion analysis run of the rollout "q-sign" in "q-sign" is "Successful"
    # Blue is scaled down after scaleDownDelaySeconds (30 s, compressed).
    And within 60s the rollout "q-sign" in "q-sign" runs only "v2.0.0" on 3 ready pods
    And within 30s the rollout "q-sign" in "q-sign" is "Healthy"
    And none of the users' requests to "q-sign" has failed, and no answer was missing for more than 500ms

  Scenario: A green version failing the pre-promotion analysis never gets the users' traffic
    Given Argo CD has repository credentials for "http://192.168.0.11:7780/"
    And the Git server sends push webhooks to Argo CD
    And Argo Rollouts runs in the cluster
    And the durations in "bluegreen" of "root/q-sign-rollouts" follow the run's time scale
    And the registry holds "qsign-prod/app:v2.0.1" built from the folder "../fixtures/repos/q-sign-app" with its "behaviour.json" reading:
      """
      {"errorRate": 0.2}
      """
    And the admin applies the Application "applications/q-sign-bluegreen.yaml"
    And within 60s the application "q-sign" is "Synced" and "Healthy"
    And within 30s the rollout "q-sign" in "q-sign" runs only "v1.0.0" on 3 ready pods
    And users send 100 requests per second to the Service "q-sign" in "q-sign"
    And users send 20 requests per second to the Service "q-sign-preview" in "q-sign"
    When the developer sets "spec.template.spec.containers.0.image" to "192.168.0.11:30800/qsign-prod/app:v2.0.1" in "bluegreen/rollout.yaml" of "root/q-sign-rollouts" and pushes "Release v2.0.1"
    Then within 60s the latest pre-promotion analysis run of the rollout "q-sign" in "q-sign" is "Failed" with a message containing "error-rate"
    And within 30s the rollout "q-sign" in "q-sign" is "Degraded" with a message containing "RolloutAborted"
    # Green is scaled down after abortScaleDownDelaySeconds (Argo Rollouts' default 30 s, compressed).
    And within 10s the rollout "q-sign" in "q-sign" runs only "v1.0.0" on 3 ready pods
    And none of the users' requests to "q-sign" has failed
    And the users' requests to "q-sign" never reached "v2.0.1"
