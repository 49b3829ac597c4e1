Feature: hello is deployed by Argo CD from Git
  The Helm chart in gitops/hello is what production runs. Argo CD syncs it
  from Git, and a change pushed to Git reaches the users.

  Background:
    # rehearse.yaml maps https://git.example.com to the local Git server and
    # stands in docker.io images for every scenario.
    Given the Git server hosts "platform/gitops" from the folder "gitops"
    And Argo CD has repository credentials for "https://git.example.com/"

  Scenario: hello is synced, healthy and serves its users
    When the admin applies the Application "applications/hello.yaml"
    Then within 60s the application "hello" is "Synced" and "Healthy"
    And within 30s all 2 pods labelled "app=hello" in "hello" are ready
    When users send 20 requests per second to the Service "hello" in "hello"
    Then within 10s the users' requests to "hello" reach only "1.27"

  Scenario: A new image tag pushed to Git reaches the users without failures
    Given the admin applies the Application "applications/hello.yaml"
    And within 60s the application "hello" is "Synced" and "Healthy"
    And users send 20 requests per second to the Service "hello" in "hello"
    When the developer sets "image.tag" to "1.28" in "hello/values.yaml" of "platform/gitops" and pushes "hello 1.28"
    Then within 90s the users' requests to "hello" reach only "1.28"
    And none of the users' requests to "hello" has failed
