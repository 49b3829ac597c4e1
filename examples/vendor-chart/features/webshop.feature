Feature: A vendor's Helm chart from its chart repository, on public images
  charts/webshop is a chart as a vendor publishes it: helpers, a
  ServiceAccount, a ConfigMap whose checksum rolls the pods, probes, a
  disabled autoscaler and a cache subchart. The team installs it from the
  vendor's chart repository; both images are public, stood in.

  Background:
    Given the Helm repository "https://charts.example.com" serves the charts in "charts"
    And images matching "docker.io/acme/*" are stood in
    And images matching "quay.io/acme/*" are stood in

  Scenario: The chart from its repository is synced and healthy, cache included
    When the admin applies the Application "applications/webshop.yaml"
    Then within 60s the application "webshop" is "Synced" and "Healthy"
    And within 30s all 2 pods labelled "app.kubernetes.io/name=webshop" in "shop" are ready
    And within 30s all 1 pod labelled "app.kubernetes.io/name=cache" in "shop" is ready
    When users send 20 requests per second to the Service "shop-webshop" in "shop"
    Then within 10s the users' requests to "shop-webshop" reach only "1.27"
    And none of the users' requests to "shop-webshop" has failed

  Scenario: Helm parameters in the Application pin the image and turn the cache off
    Given the admin applies the Application "applications/webshop.yaml"
    And within 60s the application "webshop" is "Synced" and "Healthy"
    And users send 20 requests per second to the Service "shop-webshop" in "shop"
    When the admin applies the Application "applications/webshop-1.28.yaml"
    Then within 60s the users' requests to "shop-webshop" reach only "1.28"
    And within 30s no pod labelled "app.kubernetes.io/name=cache" is left in "shop"
    And within 30s the application "webshop" is "Synced" and "Healthy"
    And none of the users' requests to "shop-webshop" has failed
