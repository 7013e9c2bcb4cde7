#!/usr/bin/env bats
# `cagebox npm` on pure cgroup v2 (the machines most users have): the
# session keeper's cgroup, every script's own container with its limits in
# its own v2 cgroup, the deferred deletion of each stopped container, the
# records and the report, and nothing left behind.
#
# The guest has no Node.js, so `npm` is a stand-in (a sh script first on
# PATH) that runs scripts the way npm does: in each package's directory,
# through the script-shell setting (`$npm_config_script_shell -c SCRIPT`,
# which cagebox points at its cagebox-sh), with npm_lifecycle_event,
# npm_package_name and npm_package_version set, one after another, exiting
# 1 if any failed. Everything cagebox does (session, keeper, identity,
# policy, container, record, cleanup) is the real thing; the host suite
# (integration/wrap.bats) runs the real npm and pnpm.

load helpers

setup() {
	v2_setup
	# Not under /tmp: the preset gives every script a private /tmp, so a
	# package directory there would be hidden under it.
	mkdir -p /var/tmp
	W=$(mktemp -d /var/tmp/cbx-v2-wrap.XXXXXX)
	P=$W/project
	OUT=$W/outside
	mkdir -p "$P/node_modules" "$OUT" "$W/bin" "$W/tmp"
	# cagebox makes its session directory in TMPDIR: one per test, checked
	# empty at the end.
	export TMPDIR=$W/tmp
	cat >"$W/bin/npm" <<-'EOF'
		#!/bin/sh
		# Stand-in npm (see wrap.bats): runs node_modules/*/.postinstall.
		[ -n "$npm_config_script_shell" ] || { echo "npm stand-in: no script-shell set" >&2; exit 2; }
		# What the session looks like while the manager runs: the keeper's
		# cgroup(s) and their processes.
		for d in /sys/fs/cgroup/cagebox-wrap-*; do
			[ -d "$d" ] && echo "$d $(cat "$d/cgroup.procs" | tr '\n' ' ')"
		done >../keeper.txt
		rc=0
		for d in node_modules/*/; do
			name=$(basename "$d")
			[ -f "$d.postinstall" ] || continue
			(cd "$d" && npm_lifecycle_event=postinstall npm_package_name=$name npm_package_version=1.0.0 \
				"$npm_config_script_shell" -c "$(cat .postinstall)") || rc=1
		done
		exit $rc
	EOF
	chmod 0755 "$W/bin/npm"
	export PATH=$W/bin:$PATH W P OUT
	cd "$P"
}

teardown() {
	local d p left=""
	cd /
	# Every script's container deleted, the keeper gone with its cgroup, the
	# session directory removed; what is left is removed here so that one
	# failure does not fail the following tests.
	for d in "$CG_ROOT"/cagebox-exec-* "$CG_ROOT"/cagebox-wrap-*; do
		[ -d "$d" ] || continue
		left="$left $d"
		for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		wait_for 5 rmdir "$d"
	done
	[ -z "$(ls -A "$W/tmp" 2>/dev/null)" ] || left="$left $(ls -A "$W/tmp")"
	for d in "$STATE"/* "$STATE"/.[!.]*; do
		[ -e "$d" ] || continue
		case "${d##*/}" in
		.seccomp) ;;
		.*) [ -z "$(ls -A "$d")" ] || left="$left $d" ;;
		*) left="$left $d" ;;
		esac
	done
	rm -rf "$W"
	[ -z "$left" ] || fail "left behind:$left"
}

# pkg NAME SCRIPT: node_modules/NAME with a postinstall SCRIPT, declared by
# the project's package.json (so cagebox names it as a direct dependency).
pkg() {
	mkdir -p "$P/node_modules/$1"
	printf '{"name": "%s", "version": "1.0.0"}\n' "$1" >"$P/node_modules/$1/package.json"
	printf '%s' "$2" >"$P/node_modules/$1/.postinstall"
	local deps="" d
	for d in "$P"/node_modules/*/; do
		d=$(basename "$d")
		deps="$deps${deps:+, }\"$d\": \"1.0.0\""
	done
	printf '{"name": "v2-project", "version": "1.0.0", "private": true, "dependencies": {%s}}\n' "$deps" >"$P/package.json"
}

# wrap_npm ARGS...: cagebox npm with this test's state root, report and
# audit log; sets status, output (stdout and stderr).
wrap_npm() {
	run timeout 300 "$CBX" npm --root "$STATE" --report "$W/report.json" --audit-log "$W/audit.jsonl" "$@"
	echo "$output"
}

# rec NAME: the report's record for NAME.
rec() { jq -c --arg n "$1" '.scripts[] | select(.package == $n)' "$W/report.json"; }

@test "cagebox npm: a benign script runs in its own container with the preset's limits in its own v2 cgroup; the session keeper had one; nothing is left" {
	# The script writes into its own directory, sees its own cgroup as /
	# (a cgroup namespace), and reads the limits of the one container
	# cgroup there is (its own: /sys is the host's, read-only).
	pkg v2-good 'echo ran >ran.txt; cat /proc/self/cgroup >cg.txt
		for d in /sys/fs/cgroup/cagebox-exec-*; do echo "$(cat $d/memory.max) $(cat $d/pids.max) $(cat $d/cgroup.procs | wc -l)"; done >limits.txt'
	wrap_npm install
	[ "$status" -eq 0 ] || fail "status $status"
	assert_eq "$(cat node_modules/v2-good/ran.txt)" ran
	assert_eq "$(cat node_modules/v2-good/cg.txt)" "0::/" "the script's /proc/self/cgroup"
	# npm-scripts: memory 4G, pids 512; the script's processes in it.
	[[ "$(cat node_modules/v2-good/limits.txt)" =~ ^4294967296\ 512\ [1-9][0-9]*$ ]] ||
		fail "memory.max, pids.max, processes of the container cgroups: $(cat node_modules/v2-good/limits.txt)"
	assert_contains "$output" "cagebox: v2-good@1.0.0 postinstall: ok"
	assert_contains "$output" "cagebox: 1 script: 1 ok, 0 denied, 0 killed, 0 failed"
	# The keeper: one cgroup of its own at the v2 root, one process in it,
	# a child of this cagebox npm, while the manager ran.
	local k
	k=$(cat "$W/keeper.txt")
	[[ "$k" =~ ^/sys/fs/cgroup/cagebox-wrap-[0-9]+-[0-9a-f]+\ [0-9]+\ $ ]] || fail "keeper cgroups while npm ran: '$k'"
	assert_jq "$(rec v2-good)" '.verdict == "ok" and .manager == "npm" and .identity == "direct dependency"
		and .version == "1.0.0" and .phase == "postinstall" and .exit_code == 0
		and .peak_memory_bytes > 0 and .peak_pids >= 1'
	assert_eq "$(wc -l <"$W/audit.jsonl")" 1 "audit log lines"
}

@test "cagebox npm: [packages.NAME] limits fire in each script's v2 cgroup (oom, pids); a write outside is denied; a script surviving its killed child is ok, with a note; the others run on" {
	pkg v2-membomb 'dd if=/dev/zero of=/dev/null bs=100M count=1 && echo v2-membomb survived'
	pkg v2-forkbomb 'i=0; while [ $i -lt 60 ]; do sleep 5 & i=$((i+1)); done; wait; echo v2-forkbomb survived'
	# Survives its killed child: ok, and the line says what was killed.
	pkg v2-survivor 'dd if=/dev/zero of=/dev/null bs=100M count=1; echo v2-survivor went on'
	pkg v2-writer "echo x >$OUT/marker && echo v2-writer wrote"
	pkg v2-zgood 'echo ran >ran.txt'
	cat >"$P/cagebox.toml" <<-'EOF'
		version = 1
		[packages."v2-membomb".limits]
		memory = "32M"
		memory_swap = "32M"
		[packages."v2-survivor".limits]
		memory = "32M"
		memory_swap = "32M"
		[packages."v2-forkbomb".limits]
		pids = 16
	EOF
	wrap_npm install
	[ "$status" -eq 1 ] || fail "status $status (the stand-in exits 1 when a script failed)"
	[ ! -e "$OUT/marker" ] || fail "the writer wrote outside its package"
	assert_eq "$(cat node_modules/v2-zgood/ran.txt)" ran
	case "$output" in *survived* | *"v2-writer wrote"*) fail "a hostile script got through: $output" ;; esac
	assert_contains "$output" "cagebox: v2-membomb@1.0.0 postinstall: killed (oom)"
	assert_contains "$output" "cagebox: v2-forkbomb@1.0.0 postinstall: killed (pids)"
	assert_contains "$output" "cagebox: v2-writer@1.0.0 postinstall: denied (write)"
	assert_contains "$output" "v2-survivor went on"
	assert_contains "$output" "cagebox: v2-survivor@1.0.0 postinstall: ok, 1 process(es) killed by limits.memory"
	assert_contains "$output" "cagebox: 5 scripts: 2 ok, 1 denied, 2 killed, 0 failed"
	assert_jq "$(rec v2-membomb)" '.reason == "oom" and .oom_kills >= 1 and .peak_memory_bytes <= 33554432
		and any(.policy_layers[]; test("cagebox.toml"))'
	assert_jq "$(rec v2-forkbomb)" '.reason == "pids" and .pids_limit_hits >= 1 and .peak_pids <= 16'
	assert_jq "$(rec v2-writer)" "any(.denials[]; .access == \"write\" and .path == \"$OUT/marker\")"
	assert_jq "$(rec v2-zgood)" '.verdict == "ok"'
	assert_jq "$(rec v2-survivor)" '.verdict == "ok" and .oom_kills == 1'
	assert_jq "$(cat "$W/report.json")" '.exit_code == 1 and (.scripts | length) == 5'
}
