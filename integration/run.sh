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
suites=()
for s in "$@"; do suites+=("$(cd "$(dirname "$s")" && pwd)/$(basename "$s")"); done
[ ${#suites[@]} -gt 0 ] || suites=("$top"/integration/*.bats)
export RUNTIME=${RUNTIME:-$top/target/release/cagebox}
[ -x "$RUNTIME" ] || { echo "integration: $RUNTIME not built (make build)" >&2; exit 1; }
runtimes=("$RUNTIME")
if [ "${COMPARE_RUNC:-0}" = 1 ]; then runtimes+=("$(command -v runc)"); fi
# Run from a scratch dir: conmon writes an "oom" marker into its working
# directory when a container is OOM-killed, and nothing may land in the tree.
work=$(mktemp -d /tmp/cagebox-it.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
status=0
for rt in "${runtimes[@]}"; do
  echo "== runtime: $rt"
  RUNTIME=$rt bats --timing "${suites[@]}" || status=1
done
if [ -n "$(ls -A "$work")" ]; then
  echo "note: files the clients left in the working directory: $(ls -A "$work" | tr '\n' ' ')"
fi
exit $status
