# erpflow: `make demo` runs the whole path, `make test` proves it.
# Everything a fresh machine needs (ClickHouse from Debian, Go modules) is
# installed from here, never by hand.

GO      ?= go
BIN     := bin/erpflow
# CH_DIR is the local server's home: config, logs and data. It is a scratch
# server for demo, tests and bench, so it lives in memory (/dev/shm) where
# there is one, a directory per checkout. On this machine's root file system
# (ext4 without a journal) every file ClickHouse creates costs a search past
# each inode deleted in the minutes before (the kernel's recently_deleted
# check), and tests and benches drop databases of thousands of part files: a
# bench run after such drops cost ClickHouse 5.1 CPU-seconds, 4.4 of them in
# the kernel, where the same run in memory cost 1.3 (docs/benchmarks.md).
# `make CH_DIR=.erpflow/clickhouse ...` keeps it on disk.
CH_DIR  ?= $(shell if [ -d /dev/shm ] && [ -w /dev/shm ]; then echo /dev/shm/erpflow-clickhouse-$$(printf %s '$(CURDIR)' | cksum | cut -d' ' -f1); else echo .erpflow/clickhouse; fi)
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Integration packages need ClickHouse and run without -race (it slows the
# real servers' clients tenfold); unit packages run with it.
INTEGRATION := ./connectors/clickhouse ./analytics/... ./pipeline/job/... ./cmd/...
UNIT = $(shell $(GO) list ./... | grep -v -e /connectors/clickhouse$$ -e /analytics -e /pipeline/job -e /cmd/)

.PHONY: all build demo test unit integration bench pgo fuzz clickhouse clickhouse-bin clickhouse-stop vet fmt clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/erpflow

# clickhouse-bin installs a server when none is on the machine and none is
# configured: a `clickhouse` binary on PATH wins, else Debian's package.
clickhouse-bin:
	@if [ -n "$$ERPFLOW_CLICKHOUSE_ADDR" ]; then exit 0; fi; \
	if command -v clickhouse >/dev/null 2>&1 || command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ]; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1; then \
		echo "==> installing Debian's clickhouse-server and clickhouse-client"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null; \
	else \
		echo "No ClickHouse server found and no apt-get to install one."; \
		echo "Install clickhouse-server and clickhouse-client from your distribution, put a 'clickhouse' binary on PATH,"; \
		echo "or point ERPFLOW_CLICKHOUSE_ADDR at a running server (native protocol host:port)."; \
		exit 1; \
	fi

# clickhouse starts the local server unless ERPFLOW_CLICKHOUSE_ADDR names one.
clickhouse: build clickhouse-bin
	@if [ -z "$$ERPFLOW_CLICKHOUSE_ADDR" ]; then $(BIN) clickhouse start --dir $(CH_DIR) >/dev/null && $(BIN) clickhouse status --dir $(CH_DIR); fi

clickhouse-stop: build
	$(BIN) clickhouse stop --dir $(CH_DIR)

# CH_ADDR is the configured server, or the local one.
CH_ADDR = $${ERPFLOW_CLICKHOUSE_ADDR:-$$($(BIN) clickhouse status --dir $(CH_DIR) --addr)}

demo: clickhouse
	ERPFLOW_CLICKHOUSE_ADDR=$(CH_ADDR) $(BIN) demo

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

unit:
	$(GO) test -race -count=1 $(UNIT)

integration: clickhouse
	ERPFLOW_CLICKHOUSE_ADDR=$(CH_ADDR) $(GO) test -count=1 -timeout 10m $(INTEGRATION)

test: vet unit integration

# bench prints end-to-end figures with their baselines measured in the same
# run (see docs/benchmarks.md), then per-stage Go benchmarks. The end-to-end
# runs go first: the sink benchmark fills and drops databases, and on ext4
# the files ClickHouse creates in the minutes after cost a search past every
# recently deleted inode.
# pgo refreshes cmd/erpflow/default.pgo, the CPU profile that `go build`
# optimises erpflow with (profile-guided optimisation: hot calls inlined,
# interface calls devirtualised): the bench's measured runs with matching,
# canonical and raw. With it erpflow took 4-5 % less CPU (alternating runs,
# docs/benchmarks.md); refresh it after changes to the hot path.
pgo: clickhouse
	mkdir -p .erpflow/pgo
	ERPFLOW_CLICKHOUSE_ADDR=$(CH_ADDR) $(BIN) bench --kafka-engine=false --minimal-loop=false --cpuprofile .erpflow/pgo/canonical.prof
	ERPFLOW_CLICKHOUSE_ADDR=$(CH_ADDR) $(BIN) bench --raw --kafka-engine=false --cpuprofile .erpflow/pgo/raw.prof
	$(GO) tool pprof -proto .erpflow/pgo/canonical.prof .erpflow/pgo/raw.prof > cmd/erpflow/default.pgo

bench: clickhouse
	ERPFLOW_CLICKHOUSE_ADDR=$(CH_ADDR) $(BIN) bench --runs 3
	ERPFLOW_CLICKHOUSE_ADDR=$(CH_ADDR) $(BIN) bench --raw --kafka-engine=false --runs 3
	$(GO) test -run=NONE -bench=. -benchmem $$($(GO) list ./transforms/... ./pipeline/... | grep -v /transforms/match)
	# matching's target is per core: one million open items, GOMAXPROCS=1
	$(GO) test -run=NONE -bench=. -benchmem -cpu 1 ./transforms/match
	ERPFLOW_CLICKHOUSE_ADDR=$(CH_ADDR) $(GO) test -run=NONE -bench=. -benchmem ./connectors/clickhouse

# fuzz runs every fuzz target briefly (go test takes one target at a time);
# seeds live in testdata/fuzz and in the f.Add calls. FUZZTIME per target.
FUZZTIME ?= 30s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "==> $$t ($$pkg)"; \
			$(GO) test -run=NONE -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done; \
	done

clean:
	rm -rf bin .erpflow/demo
