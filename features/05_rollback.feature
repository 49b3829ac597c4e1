@flow-5
Feature: Rolling back to a previous version (seed flow 5)
  Releases v1.0.1, v1.0.2 and v1.0.3 of q-sign were deployed by auto-sync and
  recorded in Argo CD's history as IDs 3, 4 and 5. v1.0.3 fails: its values
  request more CPU than any node has, so its new pod never schedules and the
  Deployment exceeds its progress deadline (Degraded), while the v1.0.2 pod
  keeps serving. The admin reads the history with the argocd CLI and rolls
  back to ID 4; Argo CD deploys v1.0.2 again and records it as ID 6.

  Background:
    Given the seed's GitLab "http://192.168.0.11:7780/" is served by the local Git server
    And the seed's Harbor "192.168.0.11:30800" is served by the local registry
    And the registry has the private project "qsign-prod"
    And the registry holds "qsign-prod/app:v1.0.0" built from the folder "../fixtures/repos/q-sign-app"
    And the registry holds "qsign-prod/app:v1.0.1" built from the folder "../fixtures/repos/q-sign-app"
    And the registry holds "qsign-prod/app:v1.0.2" built from the folder "../fixtures/repos/q-sign-app"
    And the registry holds "qsign-prod/app:v1.0.3" built from the folder "../fixtures/repos/q-sign-app"
    And the Git server hosts "root/q-sign" from the folder "../fixtures/repos/q-sign"
    And Argo CD has repository credentials for "http://192.168.0.11:7780/"
    And the Git server sends push webhooks to Argo CD
    And the namespace "q-sign" does not exist
    And Argo CD sends e-mail notifications through the local mail server
    And Argo CD posts notifications to the local webhook "team-hook"
    # History ID 0: the initial deployment.
    And the admin applies the Application "applications/q-sign-notify.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    # IDs 1 and 2: configuration changes (a 600 s progress deadline is 10 s at 60x).
    And the developer sets "progressDeadlineSeconds" to "10" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Shorter progress deadline"
    And within 15s the application "q-sign" is synced to the pushed commit
    And the developer sets "config.logLevel" to "debug" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Debug logging"
    And within 15s the application "q-sign" is synced to the pushed commit
    # IDs 3, 4, 5: the releases.
    And the developer sets "image.tag" to "v1.0.1" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Release v1.0.1"
    And within 15s the application "q-sign" is synced to the pushed commit
    And the developer sets "image.tag" to "v1.0.2" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Release v1.0.2"
    And within 15s the application "q-sign" is synced to the pushed commit
    And within 30s the deployment "keycloak" in "q-sign" runs only image tag "v1.0.2"
    And the developer pushes "Release v1.0.3" setting in "helm/keycloak-pqc/values.yaml" of "root/q-sign":
      | key                   | value  |
      | image.tag             | v1.0.3 |
      | resources.requests.cpu | 64     |
      | resources.limits.cpu   | 64     |
    And within 15s the application "q-sign" is synced to the pushed commit
    And within 40s the application "q-sign" is "Synced" and "Degraded"

  Scenario: The admin rolls back the failing v1.0.3 to history ID 4 (seed steps 1-15)
    # asserts seed steps 1-2: the CLI's own listing
    Then the argocd CLI history of "q-sign" lists:
      | id | commit                    |
      | 0  | initial                   |
      | 3  | Release v1.0.1            |
      | 4  | Release v1.0.2            |
      | 5  | Release v1.0.3            |
    # Argo CD refuses a rollback that auto-sync would undo at once.
    When the admin tries to roll back "q-sign" to history ID 4 with the argocd CLI
    Then the argocd CLI refuses with "rollback cannot be initiated when auto-sync is enabled"
    When the admin disables auto-sync of "q-sign" with the argocd CLI
    And the admin rolls back "q-sign" to history ID 4 with the argocd CLI
    # asserts seed steps 8-12: every pod runs v1.0.2 again, none of v1.0.3 is left
    Then within 30s the deployment "keycloak" in "q-sign" runs only image tag "v1.0.2"
    # asserts seed step 13: Argo CD's health of the Deployment (OutOfSync: Git still says v1.0.3)
    And within 30s the application "q-sign" is "OutOfSync" and "Healthy"
    # asserts seed steps 3, 6-7, 14-15: a new history entry, deployed from revision 4's commit
    And the newest history entry of "q-sign" is ID 6 at the commit "Release v1.0.2"
    And the last sync of "q-sign" was initiated by "admin"

  Scenario: The failing release is reported once as degraded
    # Only the degraded health is counted here: the background syncs six
    # revisions a second or two apart, and the notifications controller
    # reacts to the states it observes, so on-sync-succeeded for a revision
    # that was superseded that fast can be skipped (seen once on v3.6.1).
    # Once-per-revision delivery is checked with paced pushes in flow 3.
    Then "developer@q-sign.local" has received exactly 1 e-mail whose subject contains "q-sign has degraded", still after 2 polls
