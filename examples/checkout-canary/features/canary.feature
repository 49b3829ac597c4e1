Feature: checkout is released by an Argo Rollouts canary gated by a smoke-test Job
  The smoke test is an AnalysisTemplate job metric: a shell script that
  curls the checkout Service by its cluster name, and whose exit code
  decides. The images are public ones, stood in.

  Background:
    Given "https://git.example.com" is served by the local Git server
    And the Git server hosts "shop/deploy" from the folder "gitops"
    And Argo CD has repository credentials for "https://git.example.com/"
    And the Git server sends push webhooks to Argo CD
    And Argo Rollouts runs in the cluster
    And images matching "ghcr.io/acme/*" are stood in
    And images matching "docker.io/*" are stood in
    And the admin applies the Application "applications/checkout.yaml"
    And within 60s the application "checkout" is "Synced" and "Healthy"
    And within 30s the rollout "checkout" in "checkout" runs only "1.0" on 2 ready pods
    And users send 20 requests per second to the Service "checkout" in "checkout"

  Scenario: The smoke test exits 0 and the canary is promoted to every pod
    When the developer sets "spec.template.spec.containers.0.image" to "ghcr.io/acme/checkout:1.1" in "checkout/rollout.yaml" of "shop/deploy" and pushes "checkout 1.1"
    Then within 60s the latest analysis run of the rollout "checkout" in "checkout" is "Successful"
    And within 60s the rollout "checkout" in "checkout" runs only "1.1" on 2 ready pods
    And within 10s the users' requests to "checkout" reach only "1.1"
    And none of the users' requests to "checkout" has failed

  Scenario: The smoke test exits 1 and the canary is aborted
    When the developer pushes "checkout 1.1, expected to fail its smoke test" setting in "checkout/rollout.yaml" of "shop/deploy":
      | key                                          | value                     |
      | spec.template.spec.containers.0.image        | ghcr.io/acme/checkout:1.1 |
      | spec.strategy.canary.steps.1.analysis.args.0.value | fail                |
    Then within 60s the latest analysis run of the rollout "checkout" in "checkout" is "Failed"
    And within 30s the rollout "checkout" in "checkout" is "Degraded" with a message containing "RolloutAborted"
    And within 30s the rollout "checkout" in "checkout" runs only "1.0" on 2 ready pods
    And within 10s the users' requests to "checkout" reach only "1.0"
