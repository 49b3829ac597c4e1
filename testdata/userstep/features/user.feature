Feature: A user's Go step beside the built-in ones
  Scenario: The user's step creates a Deployment that a built-in step then checks
    Given images matching "docker.io/*" are stood in
    When the team creates the Deployment "hello" of "nginx:1.27" in "default" from Go
    Then within 30s the deployment "hello" in "default" has 1 ready replica
