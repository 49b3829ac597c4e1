Feature: A web front end on a public image, deployed by Argo CD
  The team's GitOps repository (gitops/) holds plain manifests: a
  Deployment of nginx with an init container, a Service and a PreSync
  migration Job that runs a shell script kept in a ConfigMap (itself a
  PreSync hook). Public images cannot be pulled here, so the scenarios
  declare them stood in.

  Background:
    Given "https://git.example.com" is served by the local Git server
    And the Git server hosts "platform/gitops" from the folder "gitops"
    And Argo CD has repository credentials for "https://git.example.com/"

  Scenario: The stood-in web front end is synced, healthy and serves its users
    Given images matching "docker.io/*" are stood in
    When the admin applies the Application "applications/web.yaml"
    Then within 60s the application "web" is "Synced" and "Healthy"
    And within 30s all 2 pods labelled "app=web" in "web" are ready
    When users send 20 requests per second to the Service "web" in "web"
    Then within 10s the users' requests to "web" reach only "1.27"
    And none of the users' requests to "web" has failed

  Scenario: A manual scale is reverted by self-heal
    Given images matching "docker.io/*" are stood in
    And the admin applies the Application "applications/web.yaml"
    And within 60s the application "web" is "Synced" and "Healthy"
    When the operator scales deployment "web" in "web" to 4 replicas
    Then within 20s the deployment "web" in "web" is back to 2 replicas
    And within 20s the application "web" is "Synced" and "Healthy"

  Scenario: A migration script that fails stops the sync before anything is applied
    Given images matching "docker.io/*" are stood in
    And the admin applies the Application "applications/web.yaml"
    And within 60s the application "web" is "Synced" and "Healthy"
    # Argo CD leaves hooks out of its comparison: changing only the Job
    # does not make the application OutOfSync, so nothing syncs yet.
    When the developer pushes a commit to branch "main" of "platform/gitops" that replaces "web/migrate.yaml" with:
      """
      apiVersion: batch/v1
      kind: Job
      metadata:
        name: migrate
        annotations:
          argocd.argoproj.io/hook: PreSync
          argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
      spec:
        backoffLimit: 0
        template:
          spec:
            restartPolicy: Never
            containers:
              - name: migrate
                image: busybox:1.36
                command: ["sh", "-c", "echo 'schema 1 is older than the database'; exit 1"]
      """
    Then the application "web" stays "Synced" for 1 poll
    # The next change to the Deployment syncs, and its PreSync hook fails.
    When the developer sets "spec.replicas" to "3" in "web/deployment.yaml" of "platform/gitops" and pushes "Scale web to 3"
    Then within 60s the last sync of "web" has failed after 1 retries with a message containing "Job/migrate: Job has reached the specified backoff limit"
    And the deployment "web" in "web" stays at 2 replicas for 1 poll

  Scenario: An image that is neither in a registry nor declared is never stood in
    Given images matching "busybox*" are stood in
    When the admin applies the Application "applications/web.yaml"
    Then within 60s a pod of deployment "web" in "web" is waiting with "ErrImagePull" mentioning "declare it stood in"

  Scenario: The team's own API, built from its folder, is deployed and answers
    Given "registry.example.com" is served by the local registry
    And the registry holds "registry.example.com/team/api:v2" built from the folder "services/api"
    When the admin applies the Application "applications/api.yaml"
    Then within 60s the application "api" is "Synced" and "Healthy"
    And the users read the version from the JSON field "build.version"
    When users send 20 requests per second to the Service "api" in "api"
    Then within 10s the users' requests to "api" reach only "2.0.0"
    And none of the users' requests to "api" has failed
