#!/bin/bash
# Runs inside the v2-lane guest (see init): every integration/v2/*.bats
# suite in one bats run, TAP to the console (the host streams it) and to
# result/tap.txt on the share.
share=/mnt/share
export HOME=/root
cd /tmp || exit 1
filter=$(cat "$share/filter" 2>/dev/null)
args=(--tap --timing)
[ -n "$filter" ] && args+=(--filter "$filter")
bats "${args[@]}" "$share"/v2/*.bats 2>&1 | tee "$share/result/tap.txt"
exit "${PIPESTATUS[0]}"
