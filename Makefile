# cagebox: build, demo, tests, benchmarks. See README.md.
SHELL := /bin/bash
CARGO ?= cargo
BIN := target/release/cagebox
ROOTFS := bundles/busybox/rootfs

.PHONY: build rootfs demo test unit lint integration bench clean

build:
	$(CARGO) build --release --locked

rootfs:
	hack/mkrootfs.sh $(ROOTFS)

# Build, prepare the reference bundle, and run it in the foreground.
demo: build rootfs
	$(BIN) run --bundle bundles/busybox cagebox-demo-$$$$

# Every tier: formatting and lints, unit tests, then the root integration
# suites (lifecycle, semantics, podman, containerd) against cagebox and runc.
test: lint unit build rootfs integration

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings

unit:
	$(CARGO) test --release --locked

# Every suite against cagebox, then the same suites against runc (the
# reference), so anyone can compare.
integration: build rootfs
	COMPARE_RUNC=1 integration/run.sh

bench: build rootfs
	hack/bench.sh

clean:
	$(CARGO) clean
	rm -rf $(ROOTFS)
