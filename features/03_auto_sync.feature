@flow-3
Feature: Auto-sync of a Helm values change (seed flow 3)
  A developer changes replicaCount from 1 to 3 in values.yaml and pushes.
  Argo CD notices the new commit (by polling every 3 minutes, or at once
  through a push webhook), renders the chart, finds spec.replicas 1 -> 3 and,
  because syncPolicy.automated is set, applies it: two new pods start.
  Intervals are the seed's, compressed by the run's time scale.

  Background:
    Given the seed's GitLab "http://192.168.0.11:7780/" is served by the local Git server
    And the seed's Harbor "192.168.0.11:30800" is served by the local registry
    And the registry has the private project "qsign-prod"
    And the registry holds "qsign-prod/app:v1.0.0" built from the folder "../fixtures/repos/q-sign-app"
    And the Git server hosts "root/q-sign" from the folder "../fixtures/repos/q-sign"
    And Argo CD has repository credentials for "http://192.168.0.11:7780/"
    And the namespace "q-sign" does not exist

  Scenario: A pushed values change is detected by polling and synced automatically (seed steps 1-20)
    Given the admin applies the Application "applications/q-sign-auto.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    And within 30s the deployment "keycloak" in "q-sign" has 1 ready replica
    # Seed steps 1-2.
    When the developer sets "replicaCount" to "3" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Scale keycloak to 3"
    # asserts seed steps 1-2: the commit is on the Git server, changing only replicaCount
    Then the last commit of "root/q-sign" is "Scale keycloak to 3" by "developer", changing only "replicaCount" to "3" in "helm/keycloak-pqc/values.yaml"
    # No webhook, so only the next poll finds the commit.
    # asserts seed steps 3-6: Argo CD moved its comparison to the new commit at its poll
    And Argo CD detects the push by polling, not before its next poll
    # asserts seed steps 7-9, 15, 19: Synced at the commit that changes replicas: fetched, rendered and applied
    And within 10s the application "q-sign" is synced to the pushed commit
    # asserts seed steps 16, 18
    And within 30s the deployment "keycloak" in "q-sign" has 3 ready replicas
    # asserts seed step 17: two new pods
    And within 30s 2 pods of deployment "keycloak" in "q-sign" were created after the push
    # asserts seed steps 13-14: an automated sync
    And the last sync of "q-sign" was initiated by "automated"
    And the application "q-sign" has 2 history entries
    And within 10s the application "q-sign" is "Synced" and "Healthy"

  Scenario: A push webhook makes Argo CD sync without waiting for a poll
    Given the Git server sends push webhooks to Argo CD
    And the admin applies the Application "applications/q-sign-auto.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    When the developer sets "replicaCount" to "3" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Scale keycloak to 3"
    Then argocd-server logged a webhook refresh of "q-sign"
    And within 10s the application "q-sign" is synced to the pushed commit
    And within 30s the deployment "keycloak" in "q-sign" has 3 ready replicas

  Scenario: Without automated sync the change waits, shown by the CLI diff, until an operator syncs
    Given the admin applies the Application "applications/q-sign-manual.yaml"
    And the admin syncs "q-sign" with the argocd CLI
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    When the developer sets "replicaCount" to "3" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Scale keycloak to 3"
    Then within 15s the application "q-sign" is "OutOfSync"
    And the application "q-sign" stays "OutOfSync" for 2 polls
    # asserts seed steps 10-12: Argo CD's diff of the live Deployment against the rendered one
    And the argocd CLI diff of "q-sign" shows "replicas" changing from "1" to "3"
    And the deployment "keycloak" in "q-sign" stays at 1 replicas for 1 poll
    When the admin syncs "q-sign" with the argocd CLI
    Then within 10s the application "q-sign" is synced to the pushed commit
    And within 30s the deployment "keycloak" in "q-sign" has 3 ready replicas
    And the last sync of "q-sign" was initiated by "admin"

  Scenario: With prune, an object removed from Git is deleted from the cluster
    Given the Git server sends push webhooks to Argo CD
    And the admin applies the Application "applications/q-sign-auto.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    When the developer deletes "helm/keycloak-pqc/templates/service.yaml" of "root/q-sign" and pushes "Drop the Service"
    Then within 15s the Service "keycloak" in "q-sign" is deleted
    And within 10s the application "q-sign" is synced to the pushed commit

  Scenario: The seed's PruneLast and foreground propagation: removed objects go after the rest is applied, a Deployment after its pods
    Given the Git server sends push webhooks to Argo CD
    And the namespace "prune-demo" does not exist
    And the Git server hosts "root/prune-demo" from the folder "prune-demo"
    And the admin applies the Application "applications/prune-demo.yaml"
    And within 60s the application "prune-demo" is "Synced" and "Healthy"
    And within 30s the deployment "worker" in "prune-demo" has 2 ready replicas
    When the developer pushes "Retire the worker" setting in "values.yaml" of "root/prune-demo":
      | key            | value |
      | worker.enabled | false |
      | web.revision   | 2     |
    Then within 30s the Deployment "worker" in "prune-demo" is deleted
    And within 30s the sync of the push to "prune-demo" has pruned "Deployment/worker, ConfigMap/worker-config" after applying everything else
    And the deployment "worker" in "prune-demo" was deleted in the foreground, after its pods
    And within 10s the application "prune-demo" is "Synced" and "Healthy"

  Scenario: Without prune, an object removed from Git stays and the app is OutOfSync
    Given the Git server sends push webhooks to Argo CD
    And the admin applies the Application "applications/q-sign-no-prune.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    When the developer deletes "helm/keycloak-pqc/templates/service.yaml" of "root/q-sign" and pushes "Drop the Service"
    Then within 15s the application "q-sign" is "OutOfSync"
    And the Service "keycloak" in "q-sign" still exists after 2 polls
    And the application "q-sign" stays "OutOfSync" for 1 poll

  Scenario: allowEmpty false refuses to auto-sync a commit that renders nothing
    Given the Git server sends push webhooks to Argo CD
    And the admin applies the Application "applications/q-sign-auto.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    When the developer deletes "helm/keycloak-pqc/templates" of "root/q-sign" and pushes "Remove every template"
    Then within 15s the application "q-sign" has a "SyncError" condition containing "auto-sync will wipe out all resources"
    And the deployment "keycloak" in "q-sign" stays at 1 replicas for 2 polls
    And the application "q-sign" stays "OutOfSync" for 1 poll

  Scenario: A failing sync is retried on the seed's backoff, then not retried at the same revision, until a new commit
    Given the Git server sends push webhooks to Argo CD
    And Argo CD sends e-mail notifications through the local mail server
    And the admin applies the Application "applications/q-sign-notify.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    # The API server rejects this Deployment: requests above limits.
    When the developer sets "resources.requests.cpu" to "2" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Request more CPU than the limit"
    # retry: limit 5, backoff 5s x2 up to 3m: documented as waits of 5, 10, 20, 40 and 80 s (155 s of seed time).
    Then within 30s the last sync of "q-sign" has failed after 5 retries
    And the failed sync of "q-sign" lasted at least "155s" of seed time
    # Not the 5, 10, 20, 40 and 80 s the seed's settings are documented to
    # give: Argo CD v3.2.11 computes each wait with the retry count it has
    # already raised (processRequestedAppOperation passes the incremented
    # retryCount to NextRetryAt), so every wait is twice that.
    And Argo CD waited 10s, 20s, 40s, 80s and 160s of seed time between the attempts of the sync of "q-sign"
    And Argo CD does not retry the sync of "q-sign" at the same revision for 2 polls
    And "developer@q-sign.local" has received exactly 1 e-mail whose subject contains "Failed to sync application q-sign", still after 1 poll
    When the developer sets "resources.limits.cpu" to "4" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Raise the CPU limit"
    Then within 15s the application "q-sign" is synced to the pushed commit
    And within 15s the application "q-sign" is "Synced" and "Healthy"

  Scenario: The retry backoff doubles until the seed's 3-minute cap
    Given the Git server sends push webhooks to Argo CD
    And the admin applies the Application "applications/q-sign-retry-cap.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    When the developer sets "resources.requests.cpu" to "2" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Request more CPU than the limit"
    Then within 30s the last sync of "q-sign" has failed after 7 retries
    # Waits of 5 s x 2^n with n from 1 (see above): 320 and 640 s are capped.
    And Argo CD waited 10s, 20s, 40s, 80s, 160s, 180s and 180s of seed time between the attempts of the sync of "q-sign"

  Scenario: The developer is notified once per revision when the change is synced and deployed (seed step 20)
    Given the Git server sends push webhooks to Argo CD
    And Argo CD sends e-mail notifications through the local mail server
    And Argo CD posts notifications to the local webhook "team-hook"
    And the admin applies the Application "applications/q-sign-notify.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    And "developer@q-sign.local" has received exactly 1 e-mail whose subject contains "has been successfully synced", still after 1 poll
    When the developer sets "replicaCount" to "3" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Scale keycloak to 3"
    Then within 15s the application "q-sign" is synced to the pushed commit
    # asserts seed step 20: the e-mail in the mail sink, once per revision
    And "developer@q-sign.local" has received exactly 2 e-mails whose subject contains "has been successfully synced", still after 2 polls
    And "developer@q-sign.local" has received exactly 2 e-mails whose subject contains "is up and running", still after 1 poll
    And the webhook "team-hook" has received exactly 2 "on-deployed" notifications, still after 1 poll
    And the webhook "team-hook" has received exactly 2 "on-sync-succeeded" notifications, still after 1 poll
