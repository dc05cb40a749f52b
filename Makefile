# kepubot developer commands. `make run` and `make test` are all a fresh
# machine needs: Go (the console's chart library is vendored); see README.md.

GO ?= go
PKGS ?= ./...

ASSETS := bot/console/assets
VENDOR := bot/console/static/vendor

.PHONY: run demo test test-cluster vet race bench-smoke bench fuzz redis build clean assets

# run and demo build bin/kepubot first (the first build compiles every
# dependency: minutes on a small machine) and then exec it, so Ctrl-C
# reaches kepubot itself, which stops cleanly (exit 0, no make error).
run: build      ## run the service on embedded defaults (no Redis, no WeChat account)
	@exec bin/kepubot serve

demo: build     ## the simulated week; DEMO_ARGS=--keep-running leaves the console up
	@exec bin/kepubot demo $(DEMO_ARGS)

build:          ## build bin/kepubot
	@test -x bin/kepubot || echo "building kepubot (the first time takes a few minutes)…"
	@$(GO) build -o bin/kepubot ./cmd/kepubot

test: redis vet race bench-smoke   ## everything CI runs
	@command -v $${KEPUBOT_CHROMIUM:-chromium} >/dev/null 2>&1 || \
		echo "SKIP: browser tests (no Chromium): install Debian's chromium or set KEPUBOT_CHROMIUM=/path/to/chrome; KEPUBOT_BROWSER_TESTS=1 makes a missing browser a failure"

# The console's chart library (Chart.js) is vendored in
# bot/console/static/vendor (MIT, licence beside it), so building needs
# only Go. `make assets` refreshes it from the npm registry at the version
# in package-lock.json (needs npm); commit the result.
assets:         ## refresh the vendored Chart.js from npm (npm ci), with its licence
	cd $(ASSETS) && npm ci --ignore-scripts --no-audit --no-fund
	mkdir -p $(VENDOR)
	cp $(ASSETS)/node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chart.umd.min.js
	cp $(ASSETS)/node_modules/chart.js/LICENSE.md $(VENDOR)/chart.js.LICENSE.md

redis:          ## install redis-server (Debian package) when missing: tests start their own
	@.ci/ensure-redis

# The suite on a real 6-node Redis Cluster (3 masters, 3 replicas, AOF on):
# redistest.Start hands each test an emptied Cluster from a per-package
# pool. PKGS narrows it, e.g. make test-cluster PKGS="./bot/quiz/";
# TESTFLAGS adds go test flags, e.g. TESTFLAGS="-skip TestDeliveryUnder".
test-cluster: redis  ## the tests on a Redis Cluster instead of one redis-server
	KEPUBOT_TEST_REDIS=cluster $(GO) test -race -count=1 -timeout 20m $(TESTFLAGS) $(PKGS)

vet:
	$(GO) vet $(PKGS)

# The fault tests that bound a recovery time (a campaign done within 15 s
# of a Cluster promotion, the webhook answering within WeChat's 5 s during
# one) run after the rest, one package at a time: beside every other
# package's tests on a 2-core machine they would time the machine's load.
TIMED := TestDeliveryUnderClusterFailover|TestWebhookDuringClusterFailover

race:
	$(GO) test -race -count=1 -timeout 15m -skip '$(TIMED)' $(PKGS)
	$(GO) test -race -count=1 -timeout 10m -p 1 -run '$(TIMED)' $(PKGS)

bench-smoke:    ## every benchmark once, on small data, so they keep working
	$(GO) test -run '^$$' -bench . -benchtime=1x -short -timeout 15m $(PKGS)

bench:          ## full benchmarks (1.5 M subscribers); numbers go to BENCHMARKS.md
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m $(PKGS)

# A count, not a duration: a duration's deadline races the fuzz workers on
# a loaded machine and fails with "context deadline exceeded" and no crasher
# (golang/go#75804, fixed in Go 1.27). -timeout still bounds a real hang.
FUZZTIME ?= 100000x

fuzz:           ## a short fuzzing pass over the parsers that take outside input (FUZZTIME executions each; CI: 20000x)
	$(GO) test -run '^$$' -fuzz '^FuzzWebhook$$' -fuzztime $(FUZZTIME) -timeout 5m ./bot/
	$(GO) test -run '^$$' -fuzz '^FuzzDecrypt$$' -fuzztime $(FUZZTIME) -timeout 5m ./bot/
	$(GO) test -run '^$$' -fuzz '^FuzzFlatXML$$' -fuzztime $(FUZZTIME) -timeout 5m ./bot/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) -timeout 5m ./content/segment/

clean:
	rm -rf bin $(ASSETS)/node_modules
