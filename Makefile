# kepubot developer commands. `make run` and `make test` are all a fresh
# machine needs (Go installed); see README.md.

GO ?= go
PKGS ?= ./...

.PHONY: run demo test vet race bench-smoke bench fuzz redis build clean

run:            ## run the service on embedded defaults (no Redis, no WeChat account)
	$(GO) run ./cmd/kepubot serve

build:          ## build bin/kepubot
	$(GO) build -o bin/kepubot ./cmd/kepubot

test: redis vet race bench-smoke   ## everything CI runs

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

fuzz:           ## a short fuzzing pass over the parsers that take outside input
	$(GO) test -run '^$$' -fuzz FuzzWebhook -fuzztime 30s ./bot/
	$(GO) test -run '^$$' -fuzz FuzzDecrypt -fuzztime 30s ./bot/

clean:
	rm -rf bin
