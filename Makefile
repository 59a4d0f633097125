# berth — build, test and demo. Everything runs as root on Debian 12.
# Any Go from 1.21 fetches the toolchain go.mod asks for; deps installs one.
GO        ?= $(shell command -v go 2>/dev/null || ls /usr/local/go/bin/go /usr/lib/go-1.23/bin/go 2>/dev/null | head -1)
export PATH := $(dir $(GO)):$(PATH)
TAGS      := osusergo,netgo
LDFLAGS   := -s -w -extldflags "-static"
BIN       := bin
# encoding/json on Go's v2 implementation: the same behaviour (only the
# text of some errors differs), and a cold process decodes a config.json
# in half the time; a container start decodes three (bench/README.md).
export GOEXPERIMENT := jsonv2
# The peers the benchmarks compare with, installed by bench only.
BENCH_PKGS := umoci podman docker.io strace buildah iperf3 sockperf time
DEB_PKGS  := build-essential busybox-static iproute2 runc crun hyperfine procps libseccomp-dev jq docker-registry skopeo nftables iptables

# The monitor is C: dynamically linked so that libc's pages are shared
# between the monitors of all containers.
CC        ?= cc
CFLAGS    ?= -O2 -Wall -Wextra -Werror
MONITOR_SRC := $(wildcard cmd/berth-monitor/*.c) cmd/berth-monitor/mon.h

.PHONY: all deps build demo demo-run test test-run fuzz bench conformance registry-conformance vm-v2 clean

all: build

# deps installs the Debian packages the build, the tests and the benchmarks
# use. It is idempotent and cheap when everything is present.
deps:
	@if ! dpkg -s $(DEB_PKGS) >/dev/null 2>&1; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(DEB_PKGS); \
	fi
	scripts/install-go.sh

build:
	CGO_ENABLED=1 $(GO) build -tags $(TAGS) -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/berth-runtime ./cmd/berth-runtime
	CGO_ENABLED=0 $(GO) build -tags $(TAGS) -trimpath -ldflags '-s -w' -o $(BIN)/berth-runtime-init ./cmd/berth-runtime-init
	CGO_ENABLED=0 $(GO) build -tags $(TAGS) -trimpath -ldflags '-s -w' -o $(BIN)/berth ./cmd/berth
	CGO_ENABLED=0 $(GO) build -tags $(TAGS),berthfull -trimpath -ldflags '-s -w' -o $(BIN)/berth-full ./cmd/berth
	$(MAKE) $(BIN)/berth-monitor
	$(MAKE) $(BIN)/berth-init
	CGO_ENABLED=0 $(GO) build -tags $(TAGS) -trimpath -ldflags '-s -w' -o $(BIN)/berth-registry ./cmd/berth-registry

$(BIN)/berth-monitor: $(MONITOR_SRC)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$(MONITOR_SRC))

# berth-init runs inside containers, which may have no C library: static.
$(BIN)/berth-init: cmd/berth-init/main.c
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) -static -o $@ $<

# demo installs what is needed, builds berth, makes a busybox image from
# Debian's busybox-static and runs a container from it. Make is run again
# after deps so that a Go installed by deps is found.
demo: deps
	$(MAKE) demo-run

demo-run: build
	$(BIN)/berth image bootstrap busybox
	$(BIN)/berth run --rm busybox sh -c 'echo hello from $$(hostname); echo my pid: $$$$; id; cat /proc/self/cgroup'

# test runs the whole suite: vet, unit and root integration tests, the
# runtime-tools conformance gate.
test: deps
	$(MAKE) test-run

test-run: build
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) test -race -count=1 -timeout 20m ./...
	scripts/vm/run-v2.sh -r $(BIN)/berth-runtime -e
	$(MAKE) conformance
	$(MAKE) registry-conformance

# fuzz runs every fuzz target of the module briefly (FUZZTIME each); the
# script finds them, so a new target needs no entry here.
fuzz: FUZZTIME ?= 30s
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh

# bench compares berth with its peers side by side: berth-runtime against
# runc and crun (run, the cost of the default confinement, events --stats),
# layer unpack against umoci, overlay against the copy snapshotter, the
# engine against Podman and Docker (their daemons started by the script;
# results in
# bench/results/<date>; RUNS, WARMUP, SPLIT_RUNS tune it, see bench/README.md).
bench: deps build
	@if ! dpkg -s $(BENCH_PKGS) >/dev/null 2>&1; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(BENCH_PKGS); \
	fi
	bench/runtime.sh
	bench/confine.sh
	bench/events.sh
	bench/images.sh
	bench/engine.sh
	bench/pull.sh
	bench/build.sh

# vm-v2 boots a Debian kernel under qemu (software emulation) with a pure
# cgroup v2 userland and runs there the runtime/cgroups tests and the
# tests/runtime cgroup v2 controller, update, events, pause, OOM, device and
# lifecycle tests against bin/berth-runtime, and tests/cli's engine tests
# (run, stop, restart policy, killed monitor, stats/update, --init, volumes)
# against bin/berth (about 9 min; VM_RUNTIME_RUN=. runs all of
# tests/runtime, see scripts/vm/run-v2.sh). Part of test.
vm-v2: deps build
	scripts/vm/run-v2.sh -r $(BIN)/berth-runtime -e

# conformance runs the OCI runtime-tools validation suite against
# bin/berth-runtime (results in conformance/out/berth-runtime; see
# conformance/RESULTS.md) and fails unless every program of
# conformance/must-pass.txt passes. Some programs fail for every runtime
# (the suite's defects, this host's limits): run.sh's own status is not
# the gate.
conformance: build
	GO=$(GO) conformance/run.sh $(BIN)/berth-runtime || true
	conformance/gate.sh conformance/out/berth-runtime/summary.tsv

# registry-conformance runs the OCI distribution-spec conformance suite
# (pinned in conformance/registry/go.mod) against `berth registry serve` on
# loopback, with pull, push, content discovery and content management
# enabled; it fails unless every test passes (reports in
# conformance/registry/out).
registry-conformance: build
	GO=$(GO) conformance/registry/run.sh $(BIN)/berth

clean:
	rm -rf $(BIN)
