@flow-4
Feature: Self-heal reverts manual changes (seed flow 4)
  An operator scales the keycloak Deployment by hand. With selfHeal, Argo CD
  sees the drift through its watch on live resources, compares it with Git
  (replicas 3) and applies the desired state again; without selfHeal the
  drift stays and the application is OutOfSync.

  Background:
    Given the seed's GitLab "http://192.168.0.11:7780/" is served by the local Git server
    And the seed's Harbor "192.168.0.11:30800" is served by the local registry
    And the registry has the private project "qsign-prod"
    And the registry holds "qsign-prod/app:v1.0.0" built from the folder "../fixtures/repos/q-sign-app"
    And the Git server hosts "root/q-sign" from the folder "../fixtures/repos/q-sign"
    And Argo CD has repository credentials for "http://192.168.0.11:7780/"
    And the namespace "q-sign" does not exist
    And the developer sets "replicaCount" to "3" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Run 3 replicas"

  Scenario: kubectl scale --replicas=5 is reverted to 3 (seed steps 1-17)
    Given the admin applies the Application "applications/q-sign-auto.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    And within 30s the deployment "keycloak" in "q-sign" has 3 ready replicas
    # Seed steps 1-3.
    When the operator scales deployment "keycloak" in "q-sign" to 5 replicas
    # asserts seed steps 12-15: spec.replicas 3 again, and the two extra pods gone from the ReplicaSet
    Then within 10s the deployment "keycloak" in "q-sign" is back to 3 replicas
    # asserts seed step 16
    And within 10s the application "q-sign" is "Synced" and "Healthy"
    # Self-heal is an automated, partial sync: no new history entry.
    # asserts seed steps 10-11, 17: Argo CD re-synced by itself at the same revision, and says so
    And the last sync of "q-sign" was initiated by "automated"
    And the application "q-sign" has 1 history entry

  Scenario: Without selfHeal the manual change stays and the app is OutOfSync
    Given the admin applies the Application "applications/q-sign-no-selfheal.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    And within 30s the deployment "keycloak" in "q-sign" has 3 ready replicas
    When the operator scales deployment "keycloak" in "q-sign" to 5 replicas
    # asserts seed steps 1-3: five pods running
    Then within 10s the deployment "keycloak" in "q-sign" has 5 ready replicas
    # asserts seed steps 5, 8-9: Argo CD saw the live replicas differ from Git's
    And within 10s the application "q-sign" is "OutOfSync"
    And the deployment "keycloak" in "q-sign" stays at 5 replicas for 2 polls
    And the application "q-sign" stays "OutOfSync" for 1 poll

  Scenario: Back-to-back drifts are healed with Argo CD's exponential backoff
    Given the admin applies the Application "applications/q-sign-auto.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    And within 30s the deployment "keycloak" in "q-sign" has 3 ready replicas
    # 2 s x 3^(n-1) capped at 300 s in seed time; the controller takes whole
    # seconds, so at 60x the base is 1 s (see duration_rewrites in the report).
    Then the operator scales deployment "keycloak" in "q-sign" to 5 replicas 3 times back to back, each reverted after Argo CD's self-heal backoff
    And within 10s the application "q-sign" is "Synced" and "Healthy"
