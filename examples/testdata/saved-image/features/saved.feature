Feature: an image saved elsewhere runs as production runs it
  The test writes images/hello-v1.tar (docker save) and
  images/hello-v2.tar.gz (an OCI archive, gzip-compressed) before it runs.

  Background:
    Given the Git server hosts "platform/gitops" from the folder "gitops"
    And Argo CD has repository credentials for "https://git.example.com/"
    And the registry holds "registry.example.com/team/hello:v1" from the image file "images/hello-v1.tar"
    And the registry holds "registry.example.com/team/hello:v2" from the image file "images/hello-v2.tar.gz"

  Scenario: the saved image serves, and its next version rolls out without failures
    When the admin applies the Application "applications/saved.yaml"
    Then within 60s the application "saved" is "Synced" and "Healthy"
    And the Service "saved" in "saved" serves only "v1"
    When users send 20 requests per second to the Service "saved" in "saved"
    And the developer sets "image.tag" to "v2" in "saved/values.yaml" of "platform/gitops" and pushes "saved v2"
    Then within 90s the users' requests to "saved" reach only "v2"
    And none of the users' requests to "saved" has failed
