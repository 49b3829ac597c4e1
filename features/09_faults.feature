@faults
Feature: Faults during the flows
  The harness is only trustworthy if the flows survive, or fail clearly,
  when a part of the platform misbehaves. Each fault is a step; the outcome
  the platform documents is asserted.

  Background:
    Given the seed's GitLab "http://192.168.0.11:7780/" is served by the local Git server
    And the seed's Harbor "192.168.0.11:30800" is served by the local registry
    And the registry has the private project "qsign-prod"
    And the registry holds "qsign-prod/app:v1.0.0" built from the folder "../fixtures/repos/q-sign-app"
    And the Git server hosts "root/q-sign" from the folder "../fixtures/repos/q-sign"
    And Argo CD has repository credentials for "http://192.168.0.11:7780/"
    And the Git server sends push webhooks to Argo CD

  Scenario: The registry fails an upload during the push: the pipeline retries, then passes
    Given the Git server hosts "root/q-sign-app" from the folder "../fixtures/repos/q-sign-app"
    And Jenkins builds "root/q-sign-app" on every push to "main"
    And the registry answers 503 to the next 1 upload request
    When the developer pushes release "v1.0.1" of "root/q-sign-app"
    Then within 120s the Jenkins build of the push has passed
    And the log of the Jenkins build's "Push" stage contains "push failed (HTTP 503)"
    And the log of the Jenkins build's "Push" stage contains "attempt 2/3"
    And the registry scanned "qsign-prod/app:v1.0.1" and found 0 vulnerabilities

  Scenario: The registry keeps failing uploads: the pipeline fails clearly and nothing is deployed
    Given the Git server hosts "root/q-sign-app" from the folder "../fixtures/repos/q-sign-app"
    And Jenkins builds "root/q-sign-app" on every push to "main"
    And the admin applies the Application "applications/q-sign-auto.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    And the registry answers 503 to the next 10 upload requests
    When the developer pushes release "v1.0.1" of "root/q-sign-app"
    Then within 120s the Jenkins build of the push has failed
    And the log of the Jenkins build's "Push" stage contains "failed 3 times"
    And the log of the Jenkins build's "Push" stage contains "HTTP 503"
    And the registry has no image "qsign-prod/app:v1.0.1"
    And "root/q-sign" has no commit after its initial import
    And the Service "keycloak" in "q-sign" serves only "v1.0.0"

  Scenario: The repo-server crashes between two pushes: the next change is still synced
    Given the admin applies the Application "applications/q-sign-auto.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    When Argo CD's "argocd-repo-server" crashes and is restarted
    And the developer sets "replicaCount" to "2" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Two replicas"
    Then within 30s the application "q-sign" is synced to the pushed commit
    And within 30s the deployment "keycloak" in "q-sign" has 2 ready replicas

  Scenario: The application controller crashes right after a push: the flow still completes
    Given the admin applies the Application "applications/q-sign-auto.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    When the developer sets "replicaCount" to "3" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Three replicas"
    And Argo CD's "argocd-application-controller" crashes and is restarted
    Then within 30s the application "q-sign" is synced to the pushed commit
    And within 30s the deployment "keycloak" in "q-sign" has 3 ready replicas
    And within 30s the application "q-sign" is "Synced" and "Healthy"

  Scenario: The Git server is down during polls: Argo CD reports it, and catches up when it returns
    Given the admin applies the Application "applications/q-sign-auto.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    When the Git server goes down
    Then within 20s the application "q-sign" has a "ComparisonError" condition containing "connection refused"
    And the deployment "keycloak" in "q-sign" stays at 1 replicas for 1 poll
    When the Git server comes back
    And the developer sets "replicaCount" to "2" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Two replicas"
    Then within 20s the application "q-sign" is synced to the pushed commit
    And within 20s the application "q-sign" has no "ComparisonError" condition
    And within 30s the deployment "keycloak" in "q-sign" has 2 ready replicas

  Scenario: A slow Git server delays the sync but loses nothing
    Given the admin applies the Application "applications/q-sign-auto.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    And the Git server answers every request 1s late
    When the developer sets "replicaCount" to "2" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Two replicas"
    Then within 30s the application "q-sign" is synced to the pushed commit
    And within 30s the deployment "keycloak" in "q-sign" has 2 ready replicas

  Scenario: The API server crashes right after a push: the sync completes once it is back
    Given the admin applies the Application "applications/q-sign-auto.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    When the developer sets "replicaCount" to "2" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Two replicas"
    And the cluster's API server crashes and is back after 2s
    Then within 60s the application "q-sign" is synced to the pushed commit
    And within 60s the deployment "keycloak" in "q-sign" has 2 ready replicas
    And within 30s the application "q-sign" is "Synced" and "Healthy"

  # Argo CD tries to e-mail during the outage and logs the failure. Whether
  # it retries that e-mail later is not reliable: in 4 of 8 runs here the
  # controller later counted it as "already sent" and it was lost (the
  # behaviour of argo-cd#20879). What is asserted: the failure is logged, and
  # once the server is back the next deployment is e-mailed.
  Scenario: The mail server is down when a release is deployed: the failure is logged, and mail flows again after it
    Given Argo CD sends e-mail notifications through the local mail server
    And the admin applies the Application "applications/q-sign-mail.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    And "developer@q-sign.local" has received exactly 1 e-mail whose subject contains "is up and running", still after 1 poll
    And the mail server is down
    When the developer sets "replicaCount" to "2" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Two replicas"
    Then within 30s the application "q-sign" is synced to the pushed commit
    And within 30s the deployment "keycloak" in "q-sign" has 2 ready replicas
    When the mail server comes back
    Then Argo CD's notifications controller logged a failed delivery to "developer@q-sign.local"
    When the developer sets "replicaCount" to "3" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Three replicas"
    Then within 30s the application "q-sign" is synced to the pushed commit
    # At least: the notifications controller may or may not retry the
    # e-mail the mail server refused (argo-cd#20879; see the README).
    And within 60s "developer@q-sign.local" has received at least 2 e-mails whose subject contains "is up and running"
