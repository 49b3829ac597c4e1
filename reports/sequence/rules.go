package sequence

import "regexp"

// Roles observed events use.
const (
	Developer = "Developer"
	Admin     = "Admin"
	Operator  = "Operator"
	GitLab    = "GitLab"
	Jenkins   = "Jenkins"
	Harbor    = "Harbor"
	ArgoCD    = "ArgoCD"
	// ArgoRollouts drives a Rollout's steps and analysis: the seed gives
	// them to "ArgoCD", and flow 7 casts Argo Rollouts in that part.
	ArgoRollouts = "Argo Rollouts"
	Kubernetes   = "Kubernetes"
	Prometheus   = "Prometheus"
	Users        = "Users"
	LB           = "Load Balancer"
)

// ClusterRole is the role of a named destination cluster.
func ClusterRole(name string) string { return "cluster " + name }

// Play is how Rehearse's observations stand for one seed flow: who plays
// each participant, and which observed messages show each numbered step.
type Play struct {
	Cast  Cast
	Rules []Rule
	// NotReproduced says, by step label, why Rehearse does not reproduce
	// a seed step faithfully; such a step is reported missing with this
	// reason rather than inferred from something else.
	NotReproduced map[string]string
}

func rules(pairs ...string) []Rule {
	var out []Rule
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Rule{Step: pairs[i], Message: regexp.MustCompile("(?i)" + pairs[i+1])})
	}
	return out
}

// Plays are the seed's flows as Rehearse observes them, by flow number.
// A rule names a seed step and a pattern of the observed message between
// the step's two participants; several rules for one step are alternatives.
var Plays = map[int]Play{
	1: {
		Cast: Cast{"Dev": Developer, "GL": GitLab, "Jenkins": Jenkins, "Harbor": Harbor, "ArgoCD": ArgoCD, "K8s": Kubernetes},
		Rules: rules(
			"1", `^git (commit & )?push origin main`,
			"2", `^webhook trigger: push to refs/heads/main`,
			"3", `^webhook: Push Hook`,
			"4", `^git clone repository`,
			"5", `^← source code`,
			"6", `^build: go build`,
			"7", `^run unit tests`,
			"8", `^docker build`,
			"9", `^docker login`,
			"10", `^docker push`,
			"11", `^vulnerability scan`,
			"12", `^← image pushed successfully`,
			"13", `^git clone helm-repo`,
			"14", `^update values\.yaml \(.*image\.tag`,
			"15", `^git commit -m "Update image to`,
			"16", `^git push origin main`,
			"17", `^← helm chart updated`,
			"18", `^git ls-remote`,
			"19", `^← latest commit`,
			"20", `^git (fetch|checkout)`,
			"21", `^helm template`,
			"22", `^compare app state`,
			"23", `^kubectl apply: deployment`,
			"24", `^rolling update of deployment`,
			"25", `^docker pull`,
			"26", `^← image layers`,
			"27", `^create new pod`,
			"28", `^readiness probe passed`,
			"29", `^terminate old pod`,
			"30", `^← sync operation Succeeded`,
			"31", `^notification: Deployed`,
		),
	},
	2: {
		Cast: Cast{"Admin": Admin, "ArgoCD": ArgoCD, "GL": GitLab, "K8s": Kubernetes},
		Rules: rules(
			"1", `^kubectl apply -f .*Application`,
			"2", `^refresh app status`,
			"3", `^compare app state`,
			"4", `^git ls-remote`,
			"5", `^← latest commit`,
			"6", `^git fetch`,
			"7", `^← updated files`,
			"8", `^helm template`,
			"9", `^tasks: `,
			"10", `^(kubectl create namespace|namespace .* already exists)`,
			"11", `^← namespace .* (not found|created)`,
			"12", `^kubectl create namespace`,
			"13", `^← namespace .* created`,
			"14", `^kubectl apply: deployment`,
			"15", `^kubectl apply: service`,
			"16", `^kubectl apply: configmap`,
			"17", `^create new pod`,
			"18", `^← sync operation Succeeded`,
			"19", `^update (sync|health) status: .*(Synced|Healthy)`,
			"20", `^← application .* (created|Synced)`,
		),
	},
	3: {
		Cast: Cast{"Dev": Developer, "GL": GitLab, "ArgoCD": ArgoCD, "K8s": Kubernetes},
		Rules: rules(
			"1", `^update values\.yaml`,
			"2", `^git commit & push`,
			"3", `^git ls-remote`,
			"4", `^← latest commit`,
			"5", `^refresh app status`,
			"6", `^update sync status: Synced → OutOfSync`,
			"7", `^git fetch`,
			"8", `^← updated files`,
			"9", `^helm template`,
			"10", `^tasks \(dry-run\)`,
			"11", `^← dry run accepted`,
			"12", `^compare app state`,
			"13", `^(auto-sync enabled|skip auto-sync)`,
			"14", `^auto-sync enabled`,
			"15", `^kubectl apply: deployment`,
			"16", `^scale deployment: one more`,
			"17", `^create new pod`,
			"18", `^← sync operation Succeeded`,
			"19", `^update sync status: OutOfSync → Synced`,
			"20", `^notification: `,
		),
	},
	4: {
		Cast: Cast{"Ops": Operator, "K8s": Kubernetes, "ArgoCD": ArgoCD, "GL": GitLab},
		Rules: rules(
			"1", `^kubectl scale deployment`,
			"2", `^scale deployment: one more`,
			"3", `^← deployment scaled`,
			"5", `^← live state changed`,
			"8", `^compare app state`,
			"9", `^update sync status: Synced → OutOfSync`,
			"10", `^(auto-sync enabled|skip auto-sync)`,
			"11", `^auto-sync enabled`,
			"12", `^kubectl apply: deployment`,
			"13", `^scale deployment: one fewer`,
			"14", `^terminate old pod`,
			"15", `^← sync operation Succeeded`,
			"16", `^update sync status: OutOfSync → Synced`,
			"17", `^← (manual change reverted|replicas back to)`,
		),
		NotReproduced: map[string]string{
			"4": "the seed's periodic 3-minute resource check is Argo CD's watch on live resources here, which sees the change at once",
			// A live change makes the controller compare with the revision
			// of its most recent comparison (CompareWithRecent), rendered
			// from the repo-server's manifest cache; the Git server's log
			// shows no request between the drift and the revert.
			"6": "on a drift Argo CD compares with the revision of its last comparison, from its manifest cache: it does not pull from Git",
			"7": "on a drift Argo CD compares with the revision of its last comparison, from its manifest cache: Git is not asked",
		},
	},
	5: {
		Cast: Cast{"Admin": Admin, "ArgoCD": ArgoCD, "GL": GitLab, "K8s": Kubernetes},
		Rules: rules(
			"1", `^argocd app history`,
			"2", `^← revision history`,
			"3", `^argocd app rollback`,
			"6", `^helm template`,
			"7", `^tasks: `,
			"8", `^kubectl apply: deployment`,
			"9", `^rolling update of deployment`,
			"10", `^image pulled`,
			"11", `^create new pod`,
			"12", `^terminate old pod`,
			"13", `^← sync operation Succeeded`,
			"14", `^history entry`,
			"15", `^← rolled back`,
		),
		NotReproduced: map[string]string{
			// The Git server's log shows no fetch at the rollback.
			"4": "Argo CD deploys revision 4 from the manifests it cached when it rendered that commit before: it does not check the commit out again",
			"5": "Argo CD deploys revision 4 from the manifests it cached when it rendered that commit before: Git sends nothing",
		},
	},
	6: {
		Cast: Cast{"Admin": Admin, "ArgoCD": ArgoCD, "K8s": Kubernetes, "LB": LB},
		Rules: rules(
			"1", `^kubectl apply green-deployment`,
			"2", `^create new pod .*\(v2`,
			"3", `^pods running`,
			"4", `^(kubectl get pods|list pods) -l`,
			"5", `^all pods ready`,
			"6", `^smoke tests on`,
			"7", `^tests passed`,
			"8", `^kubectl patch service`,
			"9", `^update service endpoints`,
			"10", `^route traffic to`,
			"11", `^traffic switched`,
			"12", `^monitor metrics`,
			"13", `^no errors detected`,
			"14", `^kubectl delete deployment`,
			"15", `^terminate old pod`,
			"16", `^all pods labelled .* gone`,
		),
	},
	7: {
		// The canary's steps and analysis are Argo Rollouts' (Argo CD only
		// syncs the Rollout), so it plays the seed's "ArgoCD" here.
		Cast: Cast{"ArgoCD": ArgoRollouts, "K8s": Kubernetes, "Prometheus": Prometheus, "Users": Users},
		Rules: rules(
			"1", `^deploy canary`,
			"2", `^create new pod`,
			"3", `^update weights`,
			"4", `^traffic \(`,
			"5", `^route ([5-9]\d|100)% →`,
			"6", `^route (\d|[1-4]\d)% →`,
			"7", `^report metrics`,
			"8", `^canary metrics`,
			"9", `^analyze metrics`,
			"10a", `^scale canary of`,
			"11a", `^update weights \(50% stable, 50% canary`,
			"12a", `^full rollout`,
			"13a", `^scale canary to 100%`,
			"14a", `^terminate old pod`,
			"15a", `^canary successful`,
			"10b", `^delete canary`,
			"12b", `^canary failed, rolled back`,
		),
	},
	8: {
		Cast: Cast{"Dev": Developer, "GL": GitLab, "ArgoCD": ArgoCD, "DevEnv": ClusterRole("dev"),
			"StagingEnv": ClusterRole("staging"), "ProdEnv": ClusterRole("prod")},
		Rules: rules(
			"1", `^git (commit & )?push origin develop`,
			"2", `^git (ls-remote|fetch)`,
			"3", `^kubectl apply: deployment`,
			"4", `^← sync operation Succeeded`,
			"5", `^git merge develop → staging`,
			"6", `^git (ls-remote|fetch)`,
			"7", `^kubectl apply: deployment`,
			"8", `^← sync operation Succeeded`,
			"9", `^run integration tests`,
			"10", `^← all tests passed`,
			"11", `^create merge request staging → main`,
			"12", `^← waiting for approval`,
			"13", `^(approve|merge) merge request`,
			"14", `^git (ls-remote|fetch)`,
			"15", `^update sync status: Synced → OutOfSync`,
			"16", `^argocd app sync q-sign-prod`,
			"17", `^kubectl apply: deployment`,
			"18", `^rolling update of deployment`,
			"19", `^← sync operation Succeeded`,
			"20", `^notification: `,
		),
	},
}
