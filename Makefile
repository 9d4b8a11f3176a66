# The README's two commands are `make dev` and `make test`; both install what
# they lack first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
GO ?= go
export GOFLAGS := -buildvcs=false

.PHONY: help dev test bench deps deps-browser apt lint screenshots smoke

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

deps: ## Check and install what the stack and the tests need
	@command -v $(GO) >/dev/null || { echo "Go 1.26 is required: https://go.dev/dl/"; exit 1; }
	@command -v moto_server >/dev/null || { echo "installing moto (the AWS emulator)"; pip install 'moto[server]>=5,<6'; }
	@command -v cfn-lint >/dev/null || { echo "installing cfn-lint"; pip install cfn-lint; }
	@python3 -c 'import samtranslator' 2>/dev/null || { echo "installing the SAM translator"; pip install aws-sam-translator; }
	@$(GO) mod download
	@command -v jq >/dev/null || $(MAKE) -s apt PKG=jq
	@command -v npm >/dev/null || $(MAKE) -s apt PKG=npm
	@# The IAM policy evaluator in front of the emulator (infra/iam).
	@[ -f infra/iam/node/node_modules/@cloud-copilot/iam-simulate/package.json ] || npm ci --prefix infra/iam/node --no-audit --no-fund

deps-browser: ## Install Chromium and axe-core (npm) for the browser tests when missing
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || $(MAKE) -s apt PKG=chromium
	@[ -f infra/browsertest/node/node_modules/axe-core/axe.min.js ] || npm ci --prefix infra/browsertest/node --no-audit --no-fund

apt: # install the Debian package $(PKG)
	@echo "installing $(PKG)"
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $(PKG); \
	else sudo apt-get update -qq && sudo apt-get install -y -qq $(PKG); fi

# Built as the functions are (static, their tags, trimmed paths), so the
# packages they share with it compile once (with cgo, net and everything above
# it, net/http, the SDK and shared/, would compile twice); then run: `go run`
# would exit 1 on Ctrl-C whatever the command does.
dev: deps ## Run the whole portal on http://127.0.0.1:3000 (PORT, EMULATOR_PORT, AWS_ENDPOINT_URL)
	CGO_ENABLED=0 $(GO) build -trimpath -tags lambda.norpc -o .local/bin/dev ./infra/cmd/dev
	.local/bin/dev

test: deps deps-browser ## Run every test: unit, emulator, runtime emulator, browser
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

screenshots: deps deps-browser ## Refresh docs/screenshots from the browser journeys
	$(GO) test -count=1 -run TestPortal ./infra/browsertest/ -args -update-docs

# Each line prints the figures of one comparison, both sides from one run.
bench: deps ## Print the benchmark figures (about 10 minutes; the sweep's takes most)
	$(GO) test -run '^$$' -bench Verify ./shared/secret/
	$(GO) test -run '^$$' -bench TokenCPU ./shared/oauth/
	@out=$$($(GO) test -run '^$$' -bench 'TokenSDK$$' -count 5 ./shared/oauth/) || { echo "$$out"; exit 1; }; echo "$$out"; \
	med() { echo "$$out" | awk -v k="$$1" '/^BenchmarkTokenSDK/ { for (i = 2; i <= NF; i++) if ($$i == k) print $$(i-1) }' | sort -n | awk '{ v[NR] = $$1 } END { print v[int((NR + 1) / 2)] }'; }; \
	echo "successful token request with the SDK's work, median of 5 runs: $$(med cpu-µs/token) µs CPU, $$(med allocs/op) allocations, $$(med ddb-requests/token) DynamoDB requests (targets: ≤ 200 µs, ≤ 650 allocations)"
	$(GO) test -run '^$$' -bench . -benchtime 1x ./infra/footprint/
	$(GO) test -run '^$$' -bench Sweep -benchtime 1x -timeout 30m ./shared/reminder/

lint: ## Validate template.yaml offline
	cfn-lint template.yaml

smoke: ## Check a deployed portal from outside: make smoke URL=https://portal.example/ (CLIENT_ID, CLIENT_SECRET for a token)
	@test -n "$(URL)" || { echo "usage: make smoke URL=<the portal's URL> [CLIENT_ID=… CLIENT_SECRET=…]"; exit 2; }
	$(GO) run ./infra/cmd/smoke "$(URL)"

# `sam build` (BuildMethod: makefile) runs `make build-<LogicalId>` for each
# function, with ARTIFACTS_DIR in its environment, in a copy of the repository
# (or in it, with build_in_source). The function's package is the folder its
# CodeUri names in template.yaml; the flags are those `make bench` measures.
build-%:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set: sam build sets it"; exit 1; }
	$(GO) run -trimpath ./infra/cmd/build-function $* "$(ARTIFACTS_DIR)"
