@flow-1
Feature: The whole CI/CD pipeline (seed flow 1)
  A developer pushes a code change of the q-sign service. GitLab's push hook
  starts the Jenkins pipeline: clone, go build, unit tests, an image built
  without Docker, login and push to Harbor, which scans it; then Jenkins
  writes the new tag into the Helm chart and pushes. Argo CD notices the
  chart commit (by polling, here every 3 minutes compressed), renders and
  applies it; Kubernetes pulls the image from Harbor, starts the new pod,
  probes its readiness and only then terminates the old one. Argo CD then
  notifies the developer. Each release's behaviour is in its own source.

  Background:
    Given the seed's GitLab "http://192.168.0.11:7780/" is served by the local Git server
    And the seed's Harbor "192.168.0.11:30800" is served by the local registry
    And the registry has the private project "qsign-prod"
    And the registry refuses to serve images with "High" or worse vulnerabilities from "qsign-prod"
    And the registry holds "qsign-prod/app:v1.0.0" built from the folder "../fixtures/repos/q-sign-app"
    And the Git server hosts "root/q-sign" from the folder "../fixtures/repos/q-sign"
    And the Git server hosts "root/q-sign-app" from the folder "../fixtures/repos/q-sign-app"
    And Jenkins builds "root/q-sign-app" on every push to "main"
    And Argo CD has repository credentials for "http://192.168.0.11:7780/"

  Scenario: A code change goes from git push to a running, ready pod and a notification (seed steps 1-31)
    Given Argo CD sends e-mail notifications through the local mail server
    And Argo CD's "app-deployed" e-mail subject is "Deployed {{(call .repo.GetAppDetails).Helm.GetParameterValueByName `image.tag`}}"
    And the admin applies the Application "applications/q-sign-notify.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    And the Service "keycloak" in "q-sign" serves only "v1.0.0"
    # Seed steps 1-3: the push and GitLab's push hook to Jenkins.
    When the developer pushes release "v1.0.1" of "root/q-sign-app"
    # asserts seed steps 1-3: the CI runner builds only on GitLab's push hook, and this build is of the pushed commit
    Then within 120s the Jenkins build of the push has passed
    # asserts seed steps 4-10, 12-16: each stage's own status; "Push" passes only when the registry accepted the image
    And the Jenkins build ran these stages:
      | stage           | status |
      | Checkout        | passed |
      | Build           | passed |
      | Unit tests      | passed |
      | Image           | passed |
      | Registry login  | passed |
      | Push            | passed |
      | Scan verdict    | passed |
      | Clone Helm repo | passed |
      | Update values   | passed |
      | Commit          | passed |
      | Push chart      | passed |
    # asserts seed step 7: go test's own output
    And the log of the Jenkins build's "Unit tests" stage contains "ok"
    # asserts seed steps 10-11: the registry's record of the pushed image and its scan
    And the registry scanned "qsign-prod/app:v1.0.1" and found 0 vulnerabilities
    # asserts seed steps 14-17: the chart commit is on the Git server, changing only the tag
    And the last commit of "root/q-sign" is "Update image to v1.0.1" by "jenkins", changing only "image.tag" to "v1.0.1" in "helm/keycloak-pqc/values.yaml"
    # Found by the next poll, rendered, diffed and applied.
    # asserts seed steps 18-19: Argo CD moved to the commit at its poll, not before, and no webhook reached it
    And Argo CD detects the push by polling, not before its next poll
    # asserts seed steps 20-23: Synced at the commit whose only change is the image tag: fetched, rendered, diffed and applied
    And within 10s the application "q-sign" is synced to the pushed commit
    # asserts seed steps 24-29: the new pod runs the image (pulled from the registry) and was Ready before an old pod terminated
    And within 60s the deployment "keycloak" in "q-sign" has rolled out "v1.0.1", each new pod Ready before an old pod terminated
    And the Service "keycloak" in "q-sign" serves only "v1.0.1"
    # asserts seed step 30: Argo CD's health of the rolled-out Deployment
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    # asserts seed step 31: the e-mail in the mail sink
    And "developer@q-sign.local" has received exactly 1 e-mail whose subject contains "Deployed v1.0.1", still after 1 poll

  Scenario: A release whose readiness never passes stalls the rollout; the old pod serves on and the app turns Degraded
    Given the developer sets "progressDeadlineSeconds" to the seed's 600 seconds, compressed, in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Compress the progress deadline"
    And the Git server sends push webhooks to Argo CD
    And the admin applies the Application "applications/q-sign-auto.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    When the developer pushes release "v1.0.4" of "root/q-sign-app" with its "behaviour.json" reading:
      """
      {"ready": false, "errorRate": 0, "latency": "0s"}
      """
    Then within 120s the Jenkins build of the push has passed
    And within 10s the application "q-sign" is synced to the pushed commit
    And the Service "keycloak" in "q-sign" serves only "v1.0.0" for 3s
    And within 30s the application "q-sign" is "Synced" and "Degraded"
    And within 5s Argo CD shows "Deployment/keycloak" of "q-sign" as "Degraded" with a message containing "progress deadline"
    And the Service "keycloak" in "q-sign" serves only "v1.0.0"

  Scenario: A tag that is not in the registry leaves the pod in ImagePullBackOff and the app Degraded
    Given the developer sets "progressDeadlineSeconds" to the seed's 600 seconds, compressed, in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Compress the progress deadline"
    And the Git server sends push webhooks to Argo CD
    And the admin applies the Application "applications/q-sign-auto.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    When the developer sets "image.tag" to "v9.9.9" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Deploy a tag nobody built"
    Then within 15s a pod of deployment "keycloak" in "q-sign" is waiting with "ImagePullBackOff" mentioning "v9.9.9"
    And within 30s the application "q-sign" is "Synced" and "Degraded"
    And the Service "keycloak" in "q-sign" serves only "v1.0.0"

  Scenario: A failing unit test stops the pipeline and nothing is deployed
    Given the admin applies the Application "applications/q-sign-auto.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    When the developer pushes release "v1.0.2" of "root/q-sign-app" with a unit test that fails
    Then within 120s the Jenkins build of the push has failed
    And the Jenkins build ran these stages:
      | stage           | status  |
      | Checkout        | passed  |
      | Build           | passed  |
      | Unit tests      | failed  |
      | Image           | skipped |
      | Registry login  | skipped |
      | Push            | skipped |
      | Scan verdict    | skipped |
      | Clone Helm repo | skipped |
      | Update values   | skipped |
      | Commit          | skipped |
      | Push chart      | skipped |
    And the log of the Jenkins build's "Unit tests" stage contains "signature verification rejects a freshly signed token"
    And the registry has no image "qsign-prod/app:v1.0.2"
    And "root/q-sign" has no commit after its initial import
    And the Service "keycloak" in "q-sign" serves only "v1.0.0"

  Scenario: An image with a critical vulnerability is stopped by the scan and refused by the registry
    Given the admin applies the Application "applications/q-sign-auto.yaml"
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    And the Git server sends push webhooks to Argo CD
    When the developer pushes release "v1.0.3" of "root/q-sign-app" that uses "github.com/google/uuid@v1.6.0"
    Then within 120s the Jenkins build of the push has failed
    And the log of the Jenkins build's "Scan verdict" stage contains "REHEARSE-2026-0001 in github.com/google/uuid v1.6.0"
    And the registry scanned "qsign-prod/app:v1.0.3" and found 1 vulnerability
    And "root/q-sign" has no commit after its initial import
    # Deploying it by hand anyway: the registry's policy refuses the pull.
    When the developer sets "image.tag" to "v1.0.3" in "helm/keycloak-pqc/values.yaml" of "root/q-sign" and pushes "Deploy v1.0.3 by hand"
    Then within 15s a pod of deployment "keycloak" in "q-sign" is waiting with "ErrImagePull" mentioning "policy"
    And the Service "keycloak" in "q-sign" serves only "v1.0.0"
