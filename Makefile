# The README's two commands are `make dev` and `make test`; both install what
# they lack first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
GO ?= go
export GOFLAGS := -buildvcs=false

.PHONY: help dev test bench deps deps-browser lint build

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

deps: ## Check and install what the stack and the tests need
	@command -v $(GO) >/dev/null || { echo "Go 1.26 is required: https://go.dev/dl/"; exit 1; }
	@command -v moto_server >/dev/null || { echo "installing moto (the AWS emulator)"; pip install 'moto[server]>=5,<6'; }
	@command -v cfn-lint >/dev/null || { echo "installing cfn-lint"; pip install cfn-lint; }
	@$(GO) mod download

deps-browser: ## Install Chromium for the browser tests when it is missing
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
		echo "installing chromium (browser tests)"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

test: deps deps-browser ## Run every test: unit, emulator, runtime emulator, browser
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

bench: deps ## Print the benchmark figures the issues ask for
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./shared/... 

lint: ## Validate template.yaml offline
	cfn-lint template.yaml
