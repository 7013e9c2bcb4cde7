# shellcheck shell=bash
# Shared helpers for the root integration tests in integration/*.bats.
#
# The suites drive an OCI runtime binary directly (no podman/containerd), so
# the same file checks runc (the reference) and cagebox:
#   RUNTIME=/usr/sbin/runc bats integration/lifecycle.bats
#   bats integration/lifecycle.bats        # target/release/cagebox
#
# Every runtime call goes through `rt`, which adds a private `--root` state
# directory per test and a `timeout`, so a hung runtime fails one test instead
# of the whole run. Containers get `linux.cgroupsPath: /cagebox-test/<id>` so
# the leftover check can look at exactly one place per v1 hierarchy.

CBX_HELPERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(git -C "$CBX_HELPERS_DIR" rev-parse --show-toplevel 2>/dev/null || { cd "$CBX_HELPERS_DIR/../.." && pwd; })"
: "${RUNTIME:=$REPO_ROOT/target/release/cagebox}"
# Seconds any single runtime invocation may take before it counts as hung.
: "${CBX_TIMEOUT:=30}"
BASE_CONFIG="$REPO_ROOT/bundles/busybox/config.json"
CGROUP_PARENT=cagebox-test
export REPO_ROOT RUNTIME CBX_TIMEOUT BASE_CONFIG CGROUP_PARENT

fail() {
	printf '%s\n' "$*" >&2
	return 1
}

# ---------------------------------------------------------------- setup

# Called from setup_file: build the busybox rootfs once per .bats file. Tests
# share it read-only through an absolute root.path (runc refuses a symlinked
# rootfs, so bundles cannot just link to it).
cbx_setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0 # every test skips in cbx_setup
	[ -x "$RUNTIME" ] || fail "RUNTIME=$RUNTIME is not executable (build it: cargo build --release, or set RUNTIME=/usr/sbin/runc)"
	case "$RUNTIME" in /*) ;; *) fail "RUNTIME must be an absolute path, got $RUNTIME" ;; esac
	export CBX_ROOTFS="$BATS_FILE_TMPDIR/rootfs"
	"$REPO_ROOT/hack/mkrootfs.sh" "$CBX_ROOTFS"
	# Mount points used by the tests, created here because the rootfs is
	# mounted read-only in the containers.
	mkdir -p "$CBX_ROOTFS"/host "$CBX_ROOTFS"/data "$CBX_ROOTFS"/ro
	printf '#!/bin/sh\necho should-not-run\n' >"$CBX_ROOTFS/noexec"
	chmod 0644 "$CBX_ROOTFS/noexec"
	# A per-run tag keeps ids (and so cgroup paths) apart from other runs.
	CBX_TAG="$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
	export CBX_TAG
	# The reference config pointing at the shared rootfs, with a placeholder
	# for the cgroup path (jq 1.6 takes ~60 ms to start: keep it out of the
	# per-bundle path).
	export CBX_CONFIG_TEMPLATE="$BATS_FILE_TMPDIR/config.template.json"
	jq --arg root "$CBX_ROOTFS" --arg cg "/$CGROUP_PARENT/@CBX_ID@" \
		'.root.path = $root | .linux.cgroupsPath = $cg' "$BASE_CONFIG" >"$CBX_CONFIG_TEMPLATE"
}

# Called from teardown_file: the parent cgroups the runtime created for our
# cgroupsPath. rmdir only removes empty directories, so a concurrent user of
# the same parent is never harmed.
cbx_teardown_file() {
	local d
	for d in /sys/fs/cgroup/*/"$CGROUP_PARENT"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	return 0
}

# Called from setup: per-test state root, host scratch dir and a bundle for
# the test's main container "$ID".
cbx_setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root: namespaces, cgroups and mounts"
	# Same results from a terminal and from CI: nothing reads a tty by accident.
	exec </dev/null
	[ -n "${CBX_ROOTFS:-}" ] && [ -d "$CBX_ROOTFS" ] || fail "rootfs missing: setup_file did not run cbx_setup_file"
	# Not created here: the runtime must create its --root on first use.
	STATE="$BATS_TEST_TMPDIR/state"
	HOSTDIR="$BATS_TEST_TMPDIR/host"
	mkdir -p "$HOSTDIR"
	chmod 0777 "$HOSTDIR"
	: >"$BATS_TEST_TMPDIR/ids"
	: >"$BATS_TEST_TMPDIR/bgpids"
	: >"$BATS_TEST_TMPDIR/pids"
	ID="$(new_id)"
	BUNDLE="$(new_bundle "$ID")"
	export STATE HOSTDIR ID BUNDLE
}

# Called from teardown: remove whatever the test left, even after a failure.
# Only touches what this test started: its background runtime processes, its
# containers (through the runtime) and their /cagebox-test/<id> cgroups.
cbx_teardown() {
	[ -n "${STATE:-}" ] || return 0
	local pid id d
	while read -r pid; do
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	done <"$BATS_TEST_TMPDIR/bgpids"
	while read -r id; do
		[ -n "$id" ] || continue
		timeout 10 "$RUNTIME" --root "$STATE" delete --force "$id" </dev/null >/dev/null 2>&1
		cbx_remove_cgroups "$id"
	done <"$BATS_TEST_TMPDIR/ids"
	return 0
}

# cbx_remove_cgroups ID: what a broken runtime left in /cagebox-test/ID:
# thaw, SIGKILL the processes in it (ours: started by our containers), then
# rmdir on every hierarchy. Thaw and kill come first on all hierarchies, as
# frozen or live tasks keep every hierarchy's directory busy.
cbx_remove_cgroups() {
	local id=$1 d pid i left
	[ -n "$id" ] || return 0
	d=/sys/fs/cgroup/freezer/$CGROUP_PARENT/$id
	[ -f "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
	for d in /sys/fs/cgroup/*/"$CGROUP_PARENT/$id"; do
		[ -d "$d" ] || continue
		for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	done
	for ((i = 0; i < 20; i++)); do
		left=0
		for d in /sys/fs/cgroup/*/"$CGROUP_PARENT/$id"; do
			[ -d "$d" ] || continue
			rmdir "$d" 2>/dev/null || left=1
		done
		[ "$left" -eq 0 ] && return 0
		sleep 0.1
	done
	echo "teardown: could not remove cgroups of $id" >&2
}

# ---------------------------------------------------------------- ids, bundles

# new_id [SUFFIX]: a fresh container id for this test, remembered for cleanup.
new_id() {
	local id="cbx${CBX_TAG}-${BATS_TEST_NUMBER}${1:+-$1}"
	echo "$id" >>"$BATS_TEST_TMPDIR/ids"
	echo "$id"
}

# new_bundle ID [DIR]: a bundle dir (default $BATS_TEST_TMPDIR/bundle-ID) with
# the reference config.json, the shared rootfs and cgroupsPath /cagebox-test/ID.
new_bundle() {
	local id=$1 dir=${2:-$BATS_TEST_TMPDIR/bundle-$1}
	mkdir -p "$dir"
	sed "s|@CBX_ID@|$id|" "$CBX_CONFIG_TEMPLATE" >"$dir/config.json"
	echo "$dir"
}

# cfg BUNDLE FILTER [jq options such as --arg NAME VALUE...]: edit
# BUNDLE/config.json in place with jq.
cfg() {
	local dir=$1 filter=$2
	shift 2
	jq "$@" "$filter" <"$dir/config.json" >"$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
}

# json_str STRING: STRING as a JSON string literal (pure bash: no jq start).
json_str() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\t'/\\t}
	s=${s//$'\r'/\\r}
	printf '"%s"' "$s"
}

# json_array ARG...: a JSON array of strings.
json_array() {
	local out='[' sep='' a
	for a in "$@"; do
		out+="$sep$(json_str "$a")"
		sep=,
	done
	printf '%s]' "$out"
}

# set_args BUNDLE ARG...: process.args.
set_args() {
	local dir=$1
	shift
	cfg "$dir" '.process.args = $a' --argjson a "$(json_array "$@")"
}

# set_sh BUNDLE SCRIPT: process.args = sh -c SCRIPT.
set_sh() {
	set_args "$1" /bin/sh -c "$2"
}

# add_bind BUNDLE HOST_PATH DEST [rw|ro]
add_bind() {
	cfg "$1" '.mounts += [{"destination": $dst, "type": "bind", "source": $src, "options": ["rbind", $mode]}]' \
		--arg src "$2" --arg dst "$3" --arg mode "${4:-rw}"
}

# ---------------------------------------------------------------- running the runtime

# rt_raw ARGS...: the runtime with this test's --root and a timeout, stdio
# untouched.
rt_raw() {
	timeout "$CBX_TIMEOUT" "$RUNTIME" --root "$STATE" "$@"
}

# rt ARGS...: rt_raw with stdout and stderr going through files that are
# printed (stdout to stdout, stderr to stderr) when the runtime exits. A
# container inherits the runtime's stdio: were it bats' capture pipe, a
# container left running by a broken runtime (say, a create that should have
# failed) would hang the whole suite waiting for EOF. stdin is passed on.
rt() {
	local o e rc=0
	o="$(mktemp -p "$BATS_TEST_TMPDIR" rt.out.XXXXXX)"
	e="$(mktemp -p "$BATS_TEST_TMPDIR" rt.err.XXXXXX)"
	rt_raw "$@" >"$o" 2>"$e" || rc=$?
	cat "$o"
	cat "$e" >&2
	rm -f "$o" "$e"
	return "$rc"
}

# rt_d ARGS...: for commands that leave a container process behind (create,
# run -d, exec -d): stdin is /dev/null, stdout+stderr (the runtime's and the
# container's) are appended to $BATS_TEST_TMPDIR/detached.log, which is
# printed when the runtime fails.
rt_d() {
	local log="$BATS_TEST_TMPDIR/detached.log" rc=0
	rt_raw "$@" </dev/null >>"$log" 2>&1 3>&- || rc=$?
	[ "$rc" -eq 0 ] || cat "$log"
	return "$rc"
}

# rt_bg OUT ARGS...: start the runtime in the background (stdout+stderr to
# OUT), without timeout so that signals reach the runtime itself; its pid is
# in $BG_PID and it is SIGKILLed at teardown if still alive.
rt_bg() {
	local out=$1
	shift
	"$RUNTIME" --root "$STATE" "$@" </dev/null >"$out" 2>&1 3>&- &
	BG_PID=$!
	echo "$BG_PID" >>"$BATS_TEST_TMPDIR/bgpids"
}

# with_stdin TEXT CMD...: run CMD with TEXT (plus newline) on stdin.
with_stdin() {
	local text=$1
	shift
	printf '%s\n' "$text" | "$@"
}

# ---------------------------------------------------------------- state queries

# field ID JQ: one field of `state ID`. The common scalar fields are read
# with a regex instead of jq, which matters in polling loops.
field() {
	local json re
	json="$(rt state "$1")" || return 1
	case "$2" in
	.status | .id | .bundle) re="\"${2#.}\"[[:space:]]*:[[:space:]]*\"([^\"]*)\"" ;;
	.pid) re='"pid"[[:space:]]*:[[:space:]]*([0-9]+)' ;;
	*)
		jq -r "$2" <<<"$json"
		return
		;;
	esac
	[[ "$json" =~ $re ]] || fail "no ${2#.} in state: $json"
	echo "${BASH_REMATCH[1]}"
}

status_of() {
	field "$1" .status 2>/dev/null
}

# wait_status ID STATUS [SECONDS]
wait_status() {
	local id=$1 want=$2 secs=${3:-10} i now=
	for ((i = 0; i < secs * 20; i++)); do
		now="$(status_of "$id")" || now=
		[ "$now" = "$want" ] && return 0
		sleep 0.05
	done
	fail "container $id: status '$now', wanted '$want' after ${secs}s"
}

# wait_file FILE [SECONDS]: until FILE exists and is not empty.
wait_file() {
	local f=$1 secs=${2:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		[ -s "$f" ] && return 0
		sleep 0.05
	done
	fail "timed out after ${secs}s waiting for $f"
}

# wait_lines FILE N [SECONDS]
wait_lines() {
	local f=$1 n=$2 secs=${3:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		[ -f "$f" ] && [ "$(wc -l <"$f")" -ge "$n" ] && return 0
		sleep 0.05
	done
	fail "timed out after ${secs}s waiting for $n lines in $f: $(cat "$f" 2>/dev/null)"
}

# wait_exit PID [SECONDS]: until PID (a child of this shell) has exited;
# then `wait PID` gives its status. SIGKILLs it and fails on timeout.
wait_exit() {
	local pid=$1 secs=${2:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		pid_alive "$pid" || return 0
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	fail "pid $pid still running after ${secs}s"
}

# pid_alive PID: the process exists and is not a zombie.
pid_alive() {
	local st
	st="$(sed -E 's/^.*\) (.).*$/\1/' "/proc/$1/stat" 2>/dev/null)" || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

pid_starttime() {
	sed -E 's/^.*\) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

# track_pid PID: remember a container process; assert_no_leftovers checks it
# is gone (the start time guards against pid reuse).
track_pid() {
	echo "$1 $(pid_starttime "$1")" >>"$BATS_TEST_TMPDIR/pids"
}

cgroup_dir() { # cgroup_dir CONTROLLER ID
	echo "/sys/fs/cgroup/$1/$CGROUP_PARENT/$2"
}

# ---------------------------------------------------------------- leftovers

# state_root_leftovers DIR: one line (newline-terminated) per thing cagebox
# left in its state root DIR: anything but dot directories, and those empty,
# except the seccomp cache .seccomp/ (docs/runtime.md: compiled BPF kept
# across runs), which may hold only *.bpf files. Prints nothing when clean.
state_root_leftovers() {
	local root=$1 out="" e name f
	if [ -d "$root" ]; then
		for e in "$root"/* "$root"/.[!.]* "$root"/..?*; do
			[ -e "$e" ] || [ -L "$e" ] || continue
			name=${e##*/}
			case "$name" in
			.seccomp)
				for f in "$e"/* "$e"/.[!.]*; do
					[ -e "$f" ] || continue
					case "${f##*/}" in
					*.bpf) [ -f "$f" ] || out+="state: $f is not a regular file"$'\n' ;;
					*) out+="state: unexpected $f in the seccomp cache"$'\n' ;;
					esac
				done
				;;
			.*)
				if [ ! -d "$e" ]; then
					out+="state: $e left behind"$'\n'
				elif [ -n "$(ls -A "$e")" ]; then
					out+="state: $e not empty: $(ls -A "$e" | tr '\n' ' ')"$'\n'
				fi
				;;
			*) out+="state: $e left behind"$'\n' ;;
			esac
		done
	fi
	printf '%s' "$out"
}

# assert_no_leftovers ID: the runtime forgot ID and the host is clean: no
# state dir, no cgroup dir named after it on any hierarchy (neither at
# /cagebox-test/ID nor at the top, where a runtime that ignored cgroupsPath
# would put it), no process in such a cgroup, no tracked process alive, no
# mount of this test's files in our mount namespace.
assert_no_leftovers() {
	local id=$1 h pid st f
	[ ! -e "$STATE/$id" ] || fail "state dir $STATE/$id left behind: $(ls -la "$STATE/$id")"
	if rt state "$id" >/dev/null 2>&1; then fail "runtime still knows container $id"; fi
	if [ -n "$id" ]; then
		for h in /sys/fs/cgroup/*/; do
			[ ! -e "$h$CGROUP_PARENT/$id" ] || fail "cgroup $h$CGROUP_PARENT/$id left behind"
			case "$id" in */* | . | ..) ;; *) [ ! -e "$h$id" ] || fail "cgroup $h$id left behind" ;; esac
		done
		# One grep over all processes (a grep per process costs seconds).
		for f in $(grep -lsF ":/$CGROUP_PARENT/$id" /proc/[0-9]*/cgroup); do
			grep -qsE ":/$CGROUP_PARENT/$id\$" "$f" || continue
			pid=${f#/proc/}
			pid=${pid%/cgroup}
			if pid_alive "$pid"; then
				fail "process $pid still in cgroup /$CGROUP_PARENT/$id: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
			fi
		done
	fi
	while read -r pid st; do
		[ -n "$pid" ] || continue
		if pid_alive "$pid" && [ "$(pid_starttime "$pid")" = "$st" ]; then
			fail "container process $pid still alive: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
		fi
	done <"$BATS_TEST_TMPDIR/pids"
	if grep -qF -e "$BATS_TEST_TMPDIR" -e "$CBX_ROOTFS" /proc/self/mountinfo; then
		fail "mounts left behind: $(grep -F -e "$BATS_TEST_TMPDIR" -e "$CBX_ROOTFS" /proc/self/mountinfo)"
	fi
}

# gone_pid VAR: sets VAR to the pid of a process that has exited and been
# reaped (skips the test if the kernel has already reused that pid).
gone_pid() {
	sh -c 'exit 0' &
	local p=$!
	wait "$p"
	! kill -0 "$p" 2>/dev/null || skip "pid $p was reused already"
	printf -v "$1" '%s' "$p"
}

# as_nobody DIR ARGS...: `cagebox ARGS` as uid/gid 65534 (nobody), from
# DIR/project with HOME DIR/home, through a copy of $RUNTIME in DIR (the
# tree it was built in may be closed to others). DIR is made writable for
# that user, so a state root given as DIR/state would show whatever
# cagebox made there. For the refusal of a caller other than root.
as_nobody() {
	local d=$1
	shift
	install -m 0755 "$RUNTIME" "$d/cagebox"
	mkdir -p "$d/project" "$d/home"
	chmod 0777 "$d" "$d/project" "$d/home"
	timeout -k 5 60 setpriv --reuid=65534 --regid=65534 --clear-groups \
		env -C "$d/project" HOME="$d/home" "$d/cagebox" "$@" </dev/null 3>&-
}

# assert_state_root_empty: nothing at all under --root (for failed creates).
assert_state_root_empty() {
	if [ -d "$STATE" ] && [ -n "$(ls -A "$STATE")" ]; then
		fail "state root not empty: $(ls -la "$STATE")"
	fi
	return 0
}

# ---------------------------------------------------------------- output checks

# assert_contains HAYSTACK NEEDLE (fixed string)
assert_contains() {
	[[ "$1" == *"$2"* ]] || fail "expected to find '$2' in: $1"
}

assert_not_contains() {
	[[ "$1" != *"$2"* ]] || fail "did not expect '$2' in: $1"
}

# assert_icontains HAYSTACK NEEDLE: case-insensitive fixed string.
assert_icontains() {
	[[ "${1,,}" == *"${2,,}"* ]] || fail "expected to find '$2' (any case) in: $1"
}

# assert_jq JSON FILTER: JSON is exactly one JSON value and FILTER gives
# true for it. (Slurped: jq 1.6 -e exits 0 on empty input.)
assert_jq() {
	jq -s -e "length == 1 and (.[0] | $2)" >/dev/null <<<"$1" || fail "jq '$2' is not true for: '$1'"
}

assert_eq() {
	[ "$1" = "$2" ] || fail "expected '$2', got '$1'${3:+ ($3)}"
}

# needs_cmd CMD REASON: skip the test when a host tool is missing.
needs_cmd() {
	command -v "$1" >/dev/null 2>&1 || skip "$1 not installed: $2"
}
