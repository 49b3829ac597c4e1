@flow-2
Feature: Creating the Argo CD Application (seed flow 2)
  An admin registers the q-sign Helm chart with Argo CD. Argo CD checks the
  Git connection, clones the repository, renders the chart, creates the
  missing namespace and applies the Deployment, Service and ConfigMap, until
  the application is Synced and Healthy. Bad input is reported by Argo CD's
  own conditions (or refused by Rehearse before anything is applied).

  Background:
    Given the seed's GitLab "http://192.168.0.11:7780/" is served by the local Git server
    And the seed's Harbor "192.168.0.11:30800" is served by the local registry
    And the registry has the private project "qsign-prod"
    And the registry holds "qsign-prod/app:v1.0.0" built from the folder "../fixtures/repos/q-sign-app"
    And the Git server hosts "root/q-sign" from the folder "../fixtures/repos/q-sign"
    And Argo CD has repository credentials for "http://192.168.0.11:7780/"

  Scenario: The admin creates the q-sign Application and it becomes Synced and Healthy
    # Seed steps 10-11: the namespace is not there yet.
    Given the namespace "q-sign" does not exist
    # Seed step 1: kubectl apply -f application.yaml (the seed's repoURL, as written).
    When the admin applies the Application:
      """
      apiVersion: argoproj.io/v1alpha1
      kind: Application
      metadata:
        name: q-sign
        namespace: argocd
      spec:
        project: default
        source:
          repoURL: http://192.168.0.11:7780/root/q-sign.git
          targetRevision: main
          path: helm/keycloak-pqc
          helm:
            valueFiles:
              - values.yaml
        destination:
          server: https://kubernetes.default.svc
          namespace: q-sign
        syncPolicy:
          automated:
            prune: true
            selfHeal: true
          syncOptions:
            - CreateNamespace=true
      """
    # asserts seed steps 1-3: the Application as applied, compared by Argo CD against exactly its spec, no error condition
    Then within 30s Argo CD has parsed and validated the Application "q-sign"
    # asserts seed steps 4-7: the Git server's log of Argo CD's ref advertisement and upload-pack fetch
    And within 30s Argo CD has cloned "root/q-sign" from the Git server
    # asserts seed step 19
    And within 30s the application "q-sign" is "Synced" and "Healthy"
    And the application "q-sign" is synced to the head of "main" of "root/q-sign"
    # asserts seed steps 10-13: it did not exist (checked before), and Argo CD's controller created it (its only writer)
    And the namespace "q-sign" was created by Argo CD
    # asserts seed steps 9, 14-16: the rendered objects, each written by Argo CD's controller
    And the last sync of "q-sign" applied:
      | kind       | name            |
      | Deployment | keycloak        |
      | Service    | keycloak        |
      | ConfigMap  | keycloak-config |
    # asserts seed steps 17-18
    And within 30s the deployment "keycloak" in "q-sign" has 1 ready replica
    # asserts seed step 8: a value only values.yaml sets reached the cluster
    And the ConfigMap "keycloak-config" in "q-sign" has "KC_REALM" set to "q-sign"
    # asserts seed step 20: what the admin sees
    And the argocd CLI shows "q-sign" as "Synced" and "Healthy"

  Scenario: A repository that does not exist fails the Git connection test
    When the admin applies the Application:
      """
      apiVersion: argoproj.io/v1alpha1
      kind: Application
      metadata:
        name: q-sign-missing-repo
      spec:
        project: default
        source:
          repoURL: http://192.168.0.11:7780/root/no-such-repo.git
          targetRevision: main
          path: helm/keycloak-pqc
        destination:
          server: https://kubernetes.default.svc
          namespace: q-sign-missing-repo
        syncPolicy:
          automated: {}
          syncOptions:
            - CreateNamespace=true
      """
    Then within 30s the application "q-sign-missing-repo" has a "ComparisonError" condition containing "repository not found"
    And the application "q-sign-missing-repo" has deployed nothing
    And the namespace "q-sign-missing-repo" was not created

  Scenario: An unreachable Git server is reported, not retried into a half-applied state
    Given the Git server is down
    When the admin applies the Application:
      """
      apiVersion: argoproj.io/v1alpha1
      kind: Application
      metadata:
        name: q-sign-git-down
      spec:
        project: default
        source:
          repoURL: http://192.168.0.11:7780/root/q-sign.git
          targetRevision: main
          path: helm/keycloak-pqc
        destination:
          server: https://kubernetes.default.svc
          namespace: q-sign-git-down
        syncPolicy:
          automated: {}
          syncOptions:
            - CreateNamespace=true
      """
    Then within 30s the application "q-sign-git-down" has a "ComparisonError" condition containing "connection refused"
    And the application "q-sign-git-down" has deployed nothing
    And the namespace "q-sign-git-down" was not created

  Scenario: A revision that does not exist cannot be resolved
    When the admin applies the Application:
      """
      apiVersion: argoproj.io/v1alpha1
      kind: Application
      metadata:
        name: q-sign-bad-revision
      spec:
        project: default
        source:
          repoURL: http://192.168.0.11:7780/root/q-sign.git
          targetRevision: v9.9.9
          path: helm/keycloak-pqc
        destination:
          server: https://kubernetes.default.svc
          namespace: q-sign-bad-revision
        syncPolicy:
          automated: {}
          syncOptions:
            - CreateNamespace=true
      """
    Then within 30s the application "q-sign-bad-revision" has a "ComparisonError" condition containing "v9.9.9"
    And the application "q-sign-bad-revision" has deployed nothing
    And the namespace "q-sign-bad-revision" was not created

  Scenario: A chart that fails to render is reported with Helm's error and nothing is applied
    Given the developer pushes a commit to branch "broken-chart" of "root/q-sign" that replaces "helm/keycloak-pqc/templates/configmap.yaml" with:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: keycloak-config
      data:
        KC_REALM: {{ .Values.config.realm | quote
      """
    When the admin applies the Application:
      """
      apiVersion: argoproj.io/v1alpha1
      kind: Application
      metadata:
        name: q-sign-broken-chart
      spec:
        project: default
        source:
          repoURL: http://192.168.0.11:7780/root/q-sign.git
          targetRevision: broken-chart
          path: helm/keycloak-pqc
        destination:
          server: https://kubernetes.default.svc
          namespace: q-sign-broken-chart
        syncPolicy:
          automated: {}
          syncOptions:
            - CreateNamespace=true
      """
    Then within 30s the application "q-sign-broken-chart" has a "ComparisonError" condition containing "configmap.yaml"
    And the application "q-sign-broken-chart" has deployed nothing
    And the namespace "q-sign-broken-chart" was not created

  Scenario: A malformed Rollout manifest is reported with its file and line, and nothing is applied
    Given the Git server hosts "root/q-sign-rollouts" from the folder "../fixtures/repos/q-sign-rollouts"
    And the developer pushes a commit to branch "malformed" of "root/q-sign-rollouts" that replaces "canary/rollout.yaml" with:
      """
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata:
        name: q-sign
      spec:
        replicas: 10
        selector:
          matchLabels: {app: q-sign
      """
    When the admin applies the Application:
      """
      apiVersion: argoproj.io/v1alpha1
      kind: Application
      metadata:
        name: q-sign-malformed-rollout
      spec:
        project: default
        source:
          repoURL: http://192.168.0.11:7780/root/q-sign-rollouts.git
          targetRevision: malformed
          path: canary
        destination:
          server: https://kubernetes.default.svc
          namespace: q-sign-malformed-rollout
        syncPolicy:
          automated: {}
          syncOptions:
            - CreateNamespace=true
      """
    Then within 30s the application "q-sign-malformed-rollout" has a "ComparisonError" condition containing "rollout.yaml"
    And the application "q-sign-malformed-rollout" has deployed nothing
    And the namespace "q-sign-malformed-rollout" was not created

  Scenario: A value of the wrong type: the Deployment is refused with its field, after its Service and ConfigMap were applied
    # The chart renders (replicas: three is valid YAML). Argo CD's dry run
    # before applying is client-side by default and does not decode the
    # object as the API server will, so the refusal comes at the apply
    # itself: the sync stops half-way, as it would in production. (The same
    # happened here with ServerSideApply=true.)
    When the admin applies the Application:
      """
      apiVersion: argoproj.io/v1alpha1
      kind: Application
      metadata:
        name: q-sign-wrong-type
      spec:
        project: default
        source:
          repoURL: http://192.168.0.11:7780/root/q-sign.git
          targetRevision: main
          path: helm/keycloak-pqc
          helm:
            valuesObject:
              replicaCount: three
        destination:
          server: https://kubernetes.default.svc
          namespace: q-sign-wrong-type
        syncPolicy:
          automated: {}
          syncOptions:
            - CreateNamespace=true
          # Auto-sync retries 5 times by default; one quick retry is enough
          # to show that the refusal does not go away by itself.
          retry:
            limit: 1
            backoff: {duration: 1s, factor: 1}
      """
    Then within 30s the last sync of "q-sign-wrong-type" has failed after 1 retries with a message containing "spec.replicas"
    And of the objects of "q-sign-wrong-type", the cluster has only:
      | kind      | name            |
      | ConfigMap | keycloak-config |
      | Service   | keycloak        |

  Scenario: An Application naming a project that does not exist is an invalid spec
    When the admin applies the Application:
      """
      apiVersion: argoproj.io/v1alpha1
      kind: Application
      metadata:
        name: q-sign-bad-project
      spec:
        project: no-such-project
        source:
          repoURL: http://192.168.0.11:7780/root/q-sign.git
          targetRevision: main
          path: helm/keycloak-pqc
        destination:
          server: https://kubernetes.default.svc
          namespace: q-sign-bad-project
      """
    Then within 30s the application "q-sign-bad-project" has a "InvalidSpecError" condition containing "no-such-project"
    And the application "q-sign-bad-project" has deployed nothing

  Scenario: A repository URL that no rewrite rule maps is refused before Argo CD sees it
    When the admin tries to apply the Application:
      """
      apiVersion: argoproj.io/v1alpha1
      kind: Application
      metadata:
        name: q-sign-unmapped
      spec:
        project: default
        source:
          repoURL: http://192.168.0.12:7780/root/q-sign.git
          path: helm/keycloak-pqc
        destination:
          server: https://kubernetes.default.svc
          namespace: q-sign-unmapped
      """
    Then applying it fails with an error containing "no rewrite rule maps it"
    And no Application named "q-sign-unmapped" exists

  Scenario: A malformed Application document is refused with its line, and nothing is applied
    When the admin tries to apply the Application:
      """
      apiVersion: argoproj.io/v1alpha1
      kind: Application
      metadata:
        name: q-sign-malformed
      spec:
        source: [this is not
      """
    Then applying it fails with an error containing ":6: document 1 is not valid YAML"
    And no Application named "q-sign-malformed" exists
