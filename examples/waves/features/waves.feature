Feature: Sync waves, a directory's recursion and exclusion, Helm file parameters
  The team's repository (gitops/) keeps the shop as plain manifests in
  folders, ordered by sync waves, with drafts it does not deploy, and a
  banner chart whose text comes from a file.

  Background:
    Given "https://git.example.com" is served by the local Git server
    And the Git server hosts "platform/gitops" from the folder "gitops"
    And Argo CD has repository credentials for "https://git.example.com/"
    And images matching "docker.io/*" are stood in

  Scenario: The shop comes up one wave after another, drafts left out
    When the admin applies the Application "applications/shop.yaml"
    Then within 90s the application "shop" is "Synced" and "Healthy"
    And the application "shop" manages exactly:
      | kind       | name            |
      | Deployment | backend         |
      | Service    | backend         |
      | ConfigMap  | frontend-config |
      | Deployment | frontend        |
    And the first sync of "shop" applied "Deployment/backend, ConfigMap/frontend-config, Deployment/frontend" in this order
    And within 30s all 2 pods labelled "app=frontend" in "shop" are ready

  Scenario: The banner's text comes from a file of the chart, by Helm file parameter
    When the admin applies the Application "applications/banner.yaml"
    Then within 60s the application "banner" is "Synced" and "Healthy"
    And the ConfigMap "shop-banner" in "banner" has "banner" set to "Winter sale: everything must go"
