#!/usr/bin/env bash
# Root integration tests: every integration/*.bats suite against cagebox
# (RUNTIME), and with COMPARE_RUNC=1 the same suites against runc.
# Usage: integration/run.sh [suite.bats ...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ "$(id -u)" != 0 ]; then
  echo "skip: integration tests need root (containers, cgroups, podman, containerd)"
  exit 0
fi
command -v bats >/dev/null || { echo "integration: bats is not installed (apt-get install bats)" >&2; exit 1; }
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(integration/*.bats)
export RUNTIME=${RUNTIME:-$top/target/release/cagebox}
[ -x "$RUNTIME" ] || { echo "integration: $RUNTIME not built (make build)" >&2; exit 1; }
runtimes=("$RUNTIME")
if [ "${COMPARE_RUNC:-0}" = 1 ]; then runtimes+=("$(command -v runc)"); fi
status=0
for rt in "${runtimes[@]}"; do
  echo "== runtime: $rt"
  RUNTIME=$rt bats --timing "${suites[@]}" || status=1
done
exit $status
