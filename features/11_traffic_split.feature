@flow-7 @gateway-api
Feature: The load balancer splits the users by HTTPRoute weights (seed flow 7, step 4)
  The seed's step "LB: 10% traffic to canary", done by the load balancer
  instead of by the ratio of pods: a Gateway API HTTPRoute names a stable
  and a canary Service with weights, and Argo CD syncs it like any other
  object. Rehearse plays the load balancer: it serves the GatewayClass "lb",
  writes the Gateway's and the route's status (which Argo CD's health checks
  read) and routes each of the users' requests by the route's rules and
  weights. Argo Rollouts cannot set the weights here (its Gateway API
  plugin is not on the module proxy), so the developer sets them in Git.

  Background:
    Given the seed's GitLab "http://192.168.0.11:7780/" is served by the local Git server
    And the seed's Harbor "192.168.0.11:30800" is served by the local registry
    And the registry has the private project "qsign-prod"
    And the registry holds "qsign-prod/app:v1.0.0" built from the folder "../fixtures/repos/q-sign-app"
    And the registry holds "qsign-prod/app:v2.0.0" built from the folder "../fixtures/repos/q-sign-app"
    And the Git server hosts "root/q-sign-rollouts" from the folder "../fixtures/repos/q-sign-rollouts"
    And Argo CD has repository credentials for "http://192.168.0.11:7780/"
    And the Git server sends push webhooks to Argo CD
    And the cluster's load balancer serves the GatewayClass "lb"
    And the admin applies the Application "applications/q-sign-route.yaml"
    # Healthy needs the Gateway Programmed and the route Accepted with its
    # references resolved: the load balancer's status, read by Argo CD.
    And within 60s the application "q-sign" is "Synced" and "Healthy"
    And within 10s the HTTPRoute "q-sign" in "q-sign" has the condition "Accepted" "True" with reason "Accepted"
    And users send 100 requests per second through the HTTPRoute "q-sign" in "q-sign"

  Scenario: The developer moves 10%, then all of the users to the canary by the route's weights
    # Three stable pods and one canary pod: by pod ratio the canary would
    # take a quarter; the route gives it what its weight says.
    Then during 2s the users' requests to "q-sign" reach "v2.0.0" 0% of the time, within 0 points, and none fails
    When the developer pushes "Canary at 10%" setting in "route/httproute.yaml" of "root/q-sign-rollouts":
      | key                               | value |
      | spec.rules.0.backendRefs.0.weight | 90    |
      | spec.rules.0.backendRefs.1.weight | 10    |
    And within 30s the application "q-sign" is synced to the pushed commit
    Then during 3s the users' requests to "q-sign" reach "v2.0.0" 10% of the time, within 2 points, and none fails
    When the developer pushes "Canary at 100%" setting in "route/httproute.yaml" of "root/q-sign-rollouts":
      | key                               | value |
      | spec.rules.0.backendRefs.0.weight | 0     |
      | spec.rules.0.backendRefs.1.weight | 1     |
    Then within 30s the users' requests to "q-sign" reach only "v2.0.0"
    And none of the users' requests to "q-sign" has failed

  Scenario: A route naming a Service that does not exist is Degraded, and its share of the users gets 500
    When the developer pushes "Half to the canary (typo)" setting in "route/httproute.yaml" of "root/q-sign-rollouts":
      | key                               | value         |
      | spec.rules.0.backendRefs.0.weight | 50            |
      | spec.rules.0.backendRefs.1.weight | 50            |
      | spec.rules.0.backendRefs.1.name   | q-sign-canray |
    Then within 30s the HTTPRoute "q-sign" in "q-sign" has the condition "ResolvedRefs" "False" with reason "BackendNotFound"
    And within 30s the application "q-sign" is "Synced" and "Degraded"
    And during 3s the load balancer answers 50% of the users' requests to "q-sign" itself with 500, within 5 points
    When the developer pushes "Half to the canary" setting in "route/httproute.yaml" of "root/q-sign-rollouts":
      | key                             | value         |
      | spec.rules.0.backendRefs.1.name | q-sign-canary |
    Then within 30s the application "q-sign" is "Synced" and "Healthy"
    And during 3s the users' requests to "q-sign" reach "v2.0.0" 50% of the time, within 2 points, and none fails
