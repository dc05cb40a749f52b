# kepubot developer commands. `make run` and `make test` are all a fresh
# machine needs (Go installed); see README.md.

GO ?= go
PKGS ?= ./...

ASSETS := bot/console/assets
VENDOR := bot/console/static/vendor

.PHONY: run demo test vet race bench-smoke bench fuzz redis build clean assets

run: assets     ## run the service on embedded defaults (no Redis, no WeChat account)
	$(GO) run ./cmd/kepubot serve

demo: assets    ## the simulated week; DEMO_ARGS=--keep-running leaves the console up
	$(GO) run ./cmd/kepubot demo $(DEMO_ARGS)

build: assets   ## build bin/kepubot
	$(GO) build -o bin/kepubot ./cmd/kepubot

test: assets redis vet race bench-smoke   ## everything CI runs

# The console's front-end libraries (Chart.js) come from the npm registry
# at the versions in package-lock.json and are embedded into the binary
# from bot/console/static/vendor (gitignored). Without them the console
# still works and shows tables instead of charts.
assets: $(VENDOR)/chart.umd.min.js   ## install the console's npm packages (npm ci) and copy them into static/vendor

$(VENDOR)/chart.umd.min.js: $(ASSETS)/package.json $(ASSETS)/package-lock.json
	cd $(ASSETS) && npm ci --ignore-scripts --no-audit --no-fund
	mkdir -p $(VENDOR)
	cp $(ASSETS)/node_modules/chart.js/dist/chart.umd.min.js $@

redis:          ## install redis-server (Debian package) when missing: tests start their own
	@.ci/ensure-redis

vet:
	$(GO) vet $(PKGS)

race:
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

bench-smoke:    ## every benchmark once, on small data, so they keep working
	$(GO) test -run '^$$' -bench . -benchtime=1x -short -timeout 15m $(PKGS)

bench:          ## full benchmarks (1.5 M subscribers); numbers go to BENCHMARKS.md
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m $(PKGS)

FUZZTIME ?= 30s

fuzz:           ## a short fuzzing pass over the parsers that take outside input (FUZZTIME each; CI: 10s)
	$(GO) test -run '^$$' -fuzz '^FuzzWebhook$$' -fuzztime $(FUZZTIME) ./bot/
	$(GO) test -run '^$$' -fuzz '^FuzzDecrypt$$' -fuzztime $(FUZZTIME) ./bot/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./content/segment/

clean:
	rm -rf bin $(ASSETS)/node_modules $(VENDOR)
