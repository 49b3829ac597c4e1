Feature: The storefront's prod overlay is rendered by kustomize and synced by Argo CD
  deploy/ is a kustomize base and a prod overlay (a name prefix, three
  replicas, the image tag pinned). Argo CD's repo-server runs the kustomize
  CLI on the overlay; nginx is a public image, stood in.

  Background:
    Given "https://git.example.com" is served by the local Git server
    And the Git server hosts "shop/storefront" from the folder "deploy"
    And Argo CD has repository credentials for "https://git.example.com/"
    And the Git server sends push webhooks to Argo CD
    And images matching "nginx*" are stood in
    And the admin applies the Application "applications/storefront-prod.yaml"

  Scenario: The overlay's name prefix, replicas and image tag are what runs
    Then within 60s the application "storefront-prod" is "Synced" and "Healthy"
    And within 30s the deployment "prod-storefront" in "storefront" has 3 ready replicas
    And within 30s the deployment "prod-storefront" in "storefront" runs only image tag "1.27"

  Scenario: A new tag set in the overlay reaches the users without failures
    Given within 60s the application "storefront-prod" is "Synced" and "Healthy"
    And users send 20 requests per second to the Service "prod-storefront" in "storefront"
    When the developer sets "images.0.newTag" to "1.28" in "overlays/prod/kustomization.yaml" of "shop/storefront" and pushes "storefront 1.28 in prod"
    Then within 60s the users' requests to "prod-storefront" reach only "1.28"
    And none of the users' requests to "prod-storefront" has failed
