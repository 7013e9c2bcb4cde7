# shellcheck shell=bash
# Helpers for the cgroup-v2 lane's guest suites (integration/v2/*.bats). They
# run inside the qemu guest that hack/v2lane.sh boots: pure cgroup v2 at
# /sys/fs/cgroup, cagebox at /usr/local/bin/cagebox, the host's share at
# /mnt/share (busybox rootfs, reference config.json), root, no systemd.
#
# Every container gets an explicit cgroupsPath /cagebox-v2/<id>, so its
# cgroup is $CG_ROOT/cagebox-v2/<id>; each test has its own --root state dir.

: "${CBX:=/usr/local/bin/cagebox}"
SHARE=/mnt/share
CG_ROOT=/sys/fs/cgroup
CG_PARENT=cagebox-v2
# Seconds one cagebox call may take (TCG is slow, but not that slow).
: "${CBX_TIMEOUT:=60}"

fail() {
	printf '%s\n' "$*" >&2
	return 1
}

# Once per file: a copy of the busybox rootfs in guest memory and a template
# config.json pointing at it, with placeholders that mkbundle fills in with
# plain bash (jq takes over a second to start under TCG: it is kept out of
# the per-test path).
v2_setup_file() {
	export V2_ROOTFS=$BATS_FILE_TMPDIR/rootfs
	cp -a "$SHARE/rootfs" "$V2_ROOTFS"
	mkdir -p "$V2_ROOTFS/data"
	export V2_TEMPLATE=$BATS_FILE_TMPDIR/config.json
	jq --arg root "$V2_ROOTFS" '.root.path = $root | .process.terminal = false
		| .process.args = "@ARGS@" | .linux.cgroupsPath = "@CG@"
		| .linux.resources = "@RES@" | .linux.devices = "@DEVS@"
		| .linux.namespaces += [{"type": "cgroup"}]
		| .mounts += [{"destination": "/data", "type": "bind", "source": "@DATA@", "options": ["rbind", "rw"]}]' \
		"$SHARE/config.json" >"$V2_TEMPLATE"
}

v2_teardown_file() {
	rmdir "$CG_ROOT/$CG_PARENT" 2>/dev/null
	return 0
}

v2_setup() {
	exec </dev/null
	STATE=$BATS_TEST_TMPDIR/state
	: >"$BATS_TEST_TMPDIR/ids"
	mkdir -p "$BATS_TEST_TMPDIR/data"
	ID=$(new_id)
	export STATE ID
}

# Whatever a test left: its containers (through cagebox), then their cgroups.
v2_teardown() {
	local id d p
	while read -r id; do
		[ -n "$id" ] || continue
		timeout 20 "$CBX" --root "$STATE" delete --force "$id" >/dev/null 2>&1
		d=$CG_ROOT/$CG_PARENT/$id
		if [ -d "$d" ]; then
			echo 0 >"$d/cgroup.freeze" 2>/dev/null
			for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
			for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$d" 2>/dev/null && break; sleep 0.2; done
		fi
	done <"$BATS_TEST_TMPDIR/ids"
	return 0
}

new_id() {
	local id="v2-${BATS_TEST_NUMBER}${1:+-$1}"
	echo "$id" >>"$BATS_TEST_TMPDIR/ids"
	echo "$id"
}

# json_str STRING: STRING as a JSON string literal.
json_str() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\t'/\\t}
	printf '"%s"' "$s"
}

# [RES=...] [RESDEV=...] [DEVS=...] mkbundle ID [SCRIPT]: a bundle dir for ID
# (printed) whose process is /bin/sh -c SCRIPT (default: sleep 1000), with
# cgroupsPath /cagebox-v2/ID and this test's data dir at /data. RES: extra
# members of linux.resources (JSON, e.g. '"pids": {"limit": 10}'); RESDEV:
# device cgroup rules after the default deny-all; DEVS: linux.devices entries.
mkbundle() {
	local id=$1 script=${2:-sleep 1000} dir=$BATS_TEST_TMPDIR/bundle-$1 t
	mkdir -p "$dir"
	t=$(<"$V2_TEMPLATE")
	t=${t//'"@ARGS@"'/"[\"/bin/sh\", \"-c\", $(json_str "$script")]"}
	t=${t//'"@CG@"'/"\"/$CG_PARENT/$id\""}
	t=${t//'"@RES@"'/"{\"devices\": [{\"allow\": false, \"access\": \"rwm\"}${RESDEV:+, $RESDEV}]${RES:+, $RES}}"}
	t=${t//'"@DEVS@"'/"[${DEVS:-}]"}
	t=${t//'"@DATA@"'/"\"$BATS_TEST_TMPDIR/data\""}
	printf '%s\n' "$t" >"$dir/config.json"
	echo "$dir"
}

# cfg BUNDLE FILTER [jq args]: edit BUNDLE/config.json in place (slow: jq).
cfg() {
	local dir=$1 filter=$2
	shift 2
	jq "$@" "$filter" "$dir/config.json" >"$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
}

# cbx ARGS...: cagebox with this test's state root and a time limit.
cbx() { timeout "$CBX_TIMEOUT" "$CBX" --root "$STATE" "$@"; }

# cgdir ID: the container's cgroup directory.
cgdir() { echo "$CG_ROOT/$CG_PARENT/$1"; }

# cgfile ID FILE: one file of the container's cgroup.
cgfile() { cat "$(cgdir "$1")/$2"; }

# keyed TEXT KEY: the value of "KEY value" in a flat-keyed cgroup file.
keyed() { awk -v k="$2" '$1 == k {print $2; exit}' <<<"$1"; }

state_status() { cbx state "$1" | jq -r .status; }

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds.
wait_for() {
	local n=$(($1 * 5))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

assert_eq() { [ "$1" = "$2" ] || fail "expected '$2', got '$1'${3:+ ($3)}"; }
assert_contains() { [[ "$1" == *"$2"* ]] || fail "expected to contain '$2': $1"; }
# assert_jq JSON FILTER: FILTER must yield true.
assert_jq() { jq -e "$2" >/dev/null <<<"$1" || fail "jq '$2' is not true for: $1"; }

# The virtual disk hack/v2lane.sh attaches (virtio-blk, 64 MiB).
disk_dev() { echo /dev/vda; }
disk_majmin() { cat /sys/block/vda/dev; }

# now_ms: a monotonic-enough wall clock in milliseconds.
# (busybox date has no %N: /proc/uptime's centiseconds.)
now_ms() {
	local up
	read -r up _ </proc/uptime
	echo $((10#${up/./} * 10))
}

# cbx_exec ARGS...: the sandbox (`cagebox exec [FLAGS] -- CMD`) from a
# project directory of this test's own.
cbx_exec() {
	mkdir -p "$BATS_TEST_TMPDIR/project"
	(cd "$BATS_TEST_TMPDIR/project" && timeout "$CBX_TIMEOUT" "$CBX" --root "$STATE" exec "$@")
}

# exec_cgroups: the cgroups of running sandboxes (cagebox exec names them
# /cagebox-exec-<pid>-<nanos>).
exec_cgroups() { ls -d "$CG_ROOT"/cagebox-exec-* 2>/dev/null; }

# [RES=...] run_keep ID SCRIPT: run SCRIPT in a new container in the
# foreground, keeping the stopped container (and its cgroup) for
# inspection; sets status/output like `run`.
run_keep() {
	local b
	b=$(mkbundle "$1" "$2")
	run cbx run --keep -b "$b" "$1"
}

# [RES=...] bg_start ID [SCRIPT]: the same, detached (stdio to a log file).
bg_start() {
	local b
	b=$(mkbundle "$1" "${2:-sleep 1000}")
	cbx run -d -b "$b" "$1" </dev/null >"$BATS_TEST_TMPDIR/$1.log" 2>&1 ||
		fail "run -d $1 failed: $(cat "$BATS_TEST_TMPDIR/$1.log")"
}
