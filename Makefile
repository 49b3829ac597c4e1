# Rehearse: the two commands are `make run` and `make test` (see README.md).
GO      ?= go
TAGS    ?=
ARGOCD  ?= v3.2.11
BACKEND ?= kwok
# Scenario-by-scenario output on a terminal, one character per step in CI.
FORMAT  ?= $(if $(CI),progress,pretty)
# The first run builds the control plane and Argo CD (40 to 50 minutes on
# 2 cores); go test's default 10-minute timeout is too short for that.
TEST_TIMEOUT ?= 80m

# Scenarios run at once, each in a lane with its own cluster, Argo CD and
# registry; empty: one per CPU as memory allows (2 on a 2-core machine).
PARALLEL ?=
export REHEARSE_PARALLEL = $(PARALLEL)

NIGHTLY_ARGOCD ?= v3.2.11,v3.6.1

FUZZTIME ?= 1m

# soak: how many back-to-back runs of the full suite
N ?= 20

.PHONY: run test prepare unit bench docs vet nightly fuzz soak

## run: every feature on the default backend, report under reports/latest/
run: prepare
	$(GO) run ./cmd/rehearse run --backend $(BACKEND) --argocd-version $(ARGOCD) --format $(FORMAT) $(if $(TAGS),--tags '$(TAGS)') features/

## test: go test ./... (features included), after building what it needs
test: prepare
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

## prepare: build and cache every binary (visible progress, no-op when cached)
prepare:
	$(GO) run ./cmd/rehearse prepare --argocd-versions $(ARGOCD)

## nightly: every feature on each Argo CD line; history, trend and matrix in reports/nightly.html
nightly:
	$(GO) run ./cmd/rehearse prepare --argocd-versions $(NIGHTLY_ARGOCD)
	$(GO) run ./cmd/rehearse nightly --argocd-versions $(NIGHTLY_ARGOCD) --format $(FORMAT) features/

## fuzz: each fuzz target of the parsers Rehearse owns, FUZZTIME each (default 1m)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzSet$$' -fuzztime $(FUZZTIME) ./fixtures/values/
	$(GO) test -run '^$$' -fuzz '^FuzzInsert$$' -fuzztime $(FUZZTIME) ./fixtures/values/
	$(GO) test -run '^$$' -fuzz '^FuzzRewrite$$' -fuzztime $(FUZZTIME) ./internal/loopback/
	$(GO) test -run '^$$' -fuzz '^FuzzRewriteText$$' -fuzztime $(FUZZTIME) ./internal/timescale/
	$(GO) test -run '^$$' -fuzz '^FuzzParseSeed$$' -fuzztime $(FUZZTIME) ./reports/sequence/
	$(GO) test -run '^$$' -fuzz '^FuzzCover$$' -fuzztime $(FUZZTIME) ./reports/sequence/
	$(GO) test -run '^$$' -fuzz '^FuzzParseLogLine$$' -fuzztime $(FUZZTIME) ./engine/

## unit: fast tests only (no cluster, no Argo CD)
unit:
	$(GO) test -short ./...

## bench: first build of each binary (as recorded by prepare), stack start-up, a stand-in pod's creation to Ready, push-to-synced, self-heal, CI stage timings, the strategy table, the full suite's wall time, 1,000-app capacity (go test -bench)
bench: prepare
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 120m ./clusters/kwok/ ./clusters/podruntime/ ./steps/ ./fixtures/ci/ ./fixtures/metrics/

## soak: the full suite N times back to back (default 20); each run's report stays under reports/, failures are listed at the end
soak: prepare
	$(GO) run ./cmd/rehearse soak --runs $(N) --format progress features/

## docs: regenerate docs/steps.md from the step registry
docs:
	$(GO) run ./cmd/rehearse steps --markdown > docs/steps.md

vet:
	$(GO) vet ./...
