Feature: The same vendor chart from an OCI registry
  The vendor also publishes charts/webshop to an OCI registry, as `helm
  push` does. The Application names it oci://registry.example.com/charts/webshop;
  Argo CD's OCI source pulls it from the scenario's registry, as its own
  registry account.

  Background:
    Given "registry.example.com" is served by the local registry
    And the Helm charts in "charts" are pushed to "oci://registry.example.com/charts"
    And images matching "docker.io/acme/*" are stood in
    And images matching "quay.io/acme/*" are stood in

  Scenario: The chart from the OCI registry is synced and healthy, cache included
    When the admin applies the Application "applications/webshop-oci.yaml"
    Then within 60s the application "webshop" is "Synced" and "Healthy"
    And within 30s all 2 pods labelled "app.kubernetes.io/name=webshop" in "shop" are ready
    And within 30s all 1 pod labelled "app.kubernetes.io/name=cache" in "shop" is ready
    When users send 20 requests per second to the Service "shop-webshop" in "shop"
    Then within 10s the users' requests to "shop-webshop" reach only "1.27"
    And none of the users' requests to "shop-webshop" has failed

  Scenario: A chart version the registry does not hold is an error Argo CD names
    When the admin applies the Application "applications/webshop-oci-9.9.9.yaml"
    Then within 30s the application "webshop-next" has a "ComparisonError" condition containing "9.9.9"
