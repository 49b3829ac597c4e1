@flow-8
Feature: Multi-environment promotion across three clusters (seed flow 8)
  One Git repository, three branches, three clusters. A change lands on
  develop and Argo CD deploys it to the dev cluster (1 replica, low
  resources); merged into staging it reaches the staging cluster (2 replicas,
  medium); integration tests run against staging; a merge request from
  staging to main needs an approval; the prod Application has no automated
  sync, so it waits OutOfSync until someone runs argocd app sync, which rolls
  the prod cluster (3 replicas, high) over and notifies the developer.

  Background:
    Given the seed's GitLab "http://192.168.0.11:7780/" is served by the local Git server
    And the seed's Harbor "192.168.0.11:30800" is served by the local registry
    And the registry has the private project "qsign-prod"
    And the registry holds "qsign-prod/app:v1.0.0" built from the folder "../fixtures/repos/q-sign-app"
    And the registry holds "qsign-prod/app:v1.0.1" built from the folder "../fixtures/repos/q-sign-app"
    And the Git server hosts "root/q-sign" from the folder "../fixtures/repos/q-sign"
    And "root/q-sign" has the branches "develop" and "staging", made from "main"
    And the branch "main" of "root/q-sign" is protected: only "lead" pushes and merges, after 1 approval and a passing "integration-tests" status
    And Argo CD has repository credentials for "http://192.168.0.11:7780/"
    And the Git server sends push webhooks to Argo CD
    And the clusters "dev", "staging" and "prod" are registered with Argo CD
    And the admin applies the Application "applications/q-sign-dev.yaml"
    And the admin applies the Application "applications/q-sign-staging.yaml"
    And the admin applies the Application "applications/q-sign-prod.yaml"
    And the admin syncs "q-sign-prod" with the argocd CLI
    And within 30s the deployment "keycloak" in "q-sign" of cluster "dev" runs "v1.0.0" on 1 ready replica requesting "50m" CPU
    And within 30s the deployment "keycloak" in "q-sign" of cluster "staging" runs "v1.0.0" on 2 ready replicas requesting "100m" CPU
    And within 30s the deployment "keycloak" in "q-sign" of cluster "prod" runs "v1.0.0" on 3 ready replicas requesting "250m" CPU

  Scenario: A release goes develop -> dev, staging -> staging, approved merge request -> manual prod sync (seed steps 1-20)
    Given Argo CD sends e-mail notifications through the local mail server
    And Argo CD's "app-deployed" e-mail subject is "Deployed {{(call .repo.GetAppDetails).Helm.GetParameterValueByName `image.tag`}} to {{.app.spec.destination.name}}"
    # Seed steps 1-4.
    When the developer sets "image.tag" to "v1.0.1" in "helm/keycloak-pqc/values.yaml" on branch "develop" of "root/q-sign" and pushes "Release v1.0.1"
    # asserts seed steps 1-2: the develop branch's commit, found by Argo CD
    Then within 10s the application "q-sign-dev" is synced to the pushed commit
    # asserts seed steps 3-4
    And within 30s the deployment "keycloak" in "q-sign" of cluster "dev" runs "v1.0.1" on 1 ready replica requesting "50m" CPU
    And the Service "keycloak" in "q-sign" of cluster "staging" serves only "v1.0.0"
    # Seed steps 5-8.
    When the developer merges "develop" into "staging" of "root/q-sign" and pushes
    # asserts seed steps 5-6: the merge commit on staging, found by Argo CD
    Then within 10s the application "q-sign-staging" is synced to the pushed commit
    # asserts seed steps 7-8
    And within 30s the deployment "keycloak" in "q-sign" of cluster "staging" runs "v1.0.1" on 2 ready replicas requesting "100m" CPU
    # Seed steps 9-10.
    When the developer runs the integration tests of branch "staging" of "root/q-sign" against the Service "keycloak" in "q-sign" of cluster "staging", expecting "v1.0.1"
    # asserts seed steps 9-10
    Then the integration tests passed
    # Seed steps 11-12.
    When the developer opens a merge request from "staging" to "main" of "root/q-sign" titled "Promote v1.0.1 to production"
    # asserts seed steps 11-12: GitLab's record of the merge request
    Then the merge request is open, waiting for 1 approval
    # Seed step 13.
    When "lead" approves the merge request
    And "lead" merges the merge request
    # Detected, but prod waits for a person.
    # asserts seed steps 13-14: main moved (only the approved merge may move it) and Argo CD found it
    Then within 10s the application "q-sign-prod" is "OutOfSync"
    # asserts seed step 15
    And the application "q-sign-prod" stays "OutOfSync" for 1 poll
    And the Service "keycloak" in "q-sign" of cluster "prod" serves only "v1.0.0"
    # Seed steps 16-19.
    When the developer syncs "q-sign-prod" with the argocd CLI
    # asserts seed steps 16-17
    Then within 10s the application "q-sign-prod" is synced to the pushed commit
    # asserts seed step 18
    And within 60s the deployment "keycloak" in "q-sign" of cluster "prod" has rolled out "v1.0.1", each new pod Ready before an old pod terminated
    # asserts seed step 19
    And within 30s the deployment "keycloak" in "q-sign" of cluster "prod" runs "v1.0.1" on 3 ready replicas requesting "250m" CPU
    And the last sync of "q-sign-prod" was initiated by "admin"
    # asserts seed step 20: the e-mail in the mail sink
    And "developer@q-sign.local" has received exactly 1 e-mail whose subject contains "Deployed v1.0.1 to prod", still after 1 poll

  Scenario: A developer cannot push to main directly
    When the developer tries to push "image.tag" set to "v1.0.1" in "helm/keycloak-pqc/values.yaml" directly to "main" of "root/q-sign"
    Then it is refused with "branch main is protected: developer may not push to it"
    And "root/q-sign" has no commit after its initial import
    And the application "q-sign-prod" stays "Synced" for 1 poll

  Scenario: A merge request cannot be merged without an approval
    Given the developer sets "image.tag" to "v1.0.1" in "helm/keycloak-pqc/values.yaml" on branch "staging" of "root/q-sign" and pushes "Release v1.0.1"
    And the developer opens a merge request from "staging" to "main" of "root/q-sign" titled "Promote v1.0.1 to production"
    When "lead" tries to merge the merge request
    Then it is refused with "needs 1 approval(s), it has 0"
    When "developer" tries to approve the merge request
    Then it is refused with "may not approve it"
    And "root/q-sign" has no commit after its initial import
    And the Service "keycloak" in "q-sign" of cluster "prod" serves only "v1.0.0"

  Scenario: Prod stays on the old version until someone syncs it
    Given the developer sets "image.tag" to "v1.0.1" in "helm/keycloak-pqc/values.yaml" on branch "staging" of "root/q-sign" and pushes "Release v1.0.1"
    And within 30s the deployment "keycloak" in "q-sign" of cluster "staging" runs "v1.0.1" on 2 ready replicas requesting "100m" CPU
    And the developer runs the integration tests of branch "staging" of "root/q-sign" against the Service "keycloak" in "q-sign" of cluster "staging", expecting "v1.0.1"
    And the developer opens a merge request from "staging" to "main" of "root/q-sign" titled "Promote v1.0.1 to production"
    And "lead" approves the merge request
    When "lead" merges the merge request
    Then within 10s the application "q-sign-prod" is "OutOfSync"
    And the application "q-sign-prod" stays "OutOfSync" for 2 polls
    And the Service "keycloak" in "q-sign" of cluster "prod" serves only "v1.0.0" for 3s
    And the application "q-sign-prod" has 1 history entry

  Scenario: A failing integration test on staging blocks the promotion
    Given the registry holds "qsign-prod/app:v1.0.2" built from the folder "../fixtures/repos/q-sign-app" with its "behaviour.json" reading:
      """
      {"ready": true, "errorRate": 1, "latency": "0s"}
      """
    And the developer sets "image.tag" to "v1.0.2" in "helm/keycloak-pqc/values.yaml" on branch "staging" of "root/q-sign" and pushes "Release v1.0.2"
    And within 30s the deployment "keycloak" in "q-sign" of cluster "staging" runs "v1.0.2" on 2 ready replicas requesting "100m" CPU
    When the developer runs the integration tests of branch "staging" of "root/q-sign" against the Service "keycloak" in "q-sign" of cluster "staging", expecting "v1.0.2"
    Then the integration tests failed
    When the developer opens a merge request from "staging" to "main" of "root/q-sign" titled "Promote v1.0.2 to production"
    And "lead" tries to approve the merge request
    Then it is refused with "cannot be approved"
    And it is refused with "is failed (20 of 20 requests"
    When "lead" tries to merge the merge request
    Then it is refused with "needs 1 approval(s), it has 0"
    And the Service "keycloak" in "q-sign" of cluster "prod" serves only "v1.0.0"
