# cagebox: build, demo, tests, benchmarks. See README.md.
SHELL := /bin/bash
CARGO ?= cargo
BIN := target/release/cagebox
ROOTFS := bundles/busybox/rootfs

.PHONY: build rootfs demo test unit lint integration test-v2 bench clean

build:
	$(CARGO) build --release --locked

rootfs:
	hack/mkrootfs.sh $(ROOTFS)

# Build, prepare the reference bundle, and run it in the foreground.
demo: build rootfs
	$(BIN) run --bundle bundles/busybox cagebox-demo-$$$$

# Every tier: formatting and lints, unit tests, the root integration suites
# (lifecycle, semantics, policy, wrap, podman, containerd, docker) against
# cagebox and runc, then the cgroup-v2 lane in a qemu guest.
test: lint unit build rootfs integration test-v2

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings

unit:
	$(CARGO) test --release --locked

# Every suite against cagebox, then the same suites against runc (the
# reference), so anyone can compare.
integration: build rootfs
	COMPARE_RUNC=1 integration/run.sh

# The cgroup-v2 lane: Debian's kernel with cgroup v1 off in a qemu guest,
# running cagebox from this build (docs/v2-lane.md).
test-v2: build rootfs
	hack/v2lane.sh

# Start time vs runc and bubblewrap, then the package-manager wrappers
# (per-script overhead, npm and cargo projects); bench.sh rewrites
# docs/benchmarks.md, bench-wrap.sh then appends its section.
bench: build rootfs
	hack/bench.sh
	hack/bench-wrap.sh

clean:
	$(CARGO) clean
	rm -rf $(ROOTFS)
