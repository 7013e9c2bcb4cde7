# shellcheck shell=bash
# Helpers for integration/podman.bats: drive podman with a private
# configuration (containers.conf, storage.conf, registries.conf, graph root,
# run root, tmp dir, events log) that all lives under one mktemp directory,
# with the OCI runtime under test given by $RUNTIME.
#
# Environment (all optional):
#   RUNTIME              absolute path of the runtime binary
#                        (default: <repo>/target/release/cagebox)
#   STATE_DIR            the runtime's state directory
#                        (default: /run/<basename of RUNTIME>, e.g. /run/runc)
#   PODMAN_TMPDIR_BASE   where the private temp dir is created (default /var/tmp)
#   PODMAN_TRACE_ARGV    if set to a file path, podman calls a wrapper that
#                        appends each runtime argv to that file, then execs
#                        $RUNTIME (the file is kept after the run)
#   PODMAN_REQUIRE=1     turn "podman/root/busybox missing" skips into failures
#   PODMAN_CALL_TIMEOUT  seconds after which one podman call is killed (90)
#
# Nothing outside the temp dir is configured: /etc/containers is never read
# for containers.conf/storage.conf/registries.conf and never written.

CAGEBOX_IMAGE=localhost/cagebox-busybox:latest

_podman_repo_root() {
	local d
	d=$(git -C "$BATS_TEST_DIRNAME" rev-parse --show-toplevel 2>/dev/null) ||
		d=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	echo "$d"
}

# Files a podman 4.3 run creates outside --root/--runroot however it is
# configured (containers/image's system-wide blob info cache for root).
_PODMAN_SYSTEM_LEFTOVERS="/var/lib/containers/cache/blob-info-cache-v1.boltdb /var/lib/containers/cache /var/lib/containers"

_podman_prereq_problem() {
	if [ "$(id -u)" != 0 ]; then
		echo "podman tests need root (cgroupfs manager, rootful podman)"
		return
	fi
	local b
	for b in podman conmon; do
		command -v "$b" >/dev/null 2>&1 || { echo "$b is not installed (apt-get install podman conmon)"; return; }
	done
	[ -x "${BUSYBOX:-/bin/busybox}" ] || { echo "busybox-static is not installed (needed for the test image)"; return; }
	if ldd "${BUSYBOX:-/bin/busybox}" >/dev/null 2>&1; then
		echo "${BUSYBOX:-/bin/busybox} is dynamically linked: install busybox-static"
		return
	fi
	command -v tar >/dev/null 2>&1 || { echo "tar is not installed"; return; }
}

podman_setup_file() {
	export PODMAN_SKIP_REASON=""
	local problem
	problem=$(_podman_prereq_problem)
	if [ -n "$problem" ]; then
		if [ "${PODMAN_REQUIRE:-0}" = 1 ]; then
			echo "podman.bats: $problem (PODMAN_REQUIRE=1)" >&2
			return 1
		fi
		export PODMAN_SKIP_REASON="$problem"
		return 0
	fi

	local root
	root=$(_podman_repo_root)
	export RUNTIME="${RUNTIME:-$root/target/release/cagebox}"
	case "$RUNTIME" in
	/*) ;;
	*) echo "podman.bats: RUNTIME must be an absolute path (got '$RUNTIME')" >&2; return 1 ;;
	esac
	if [ ! -x "$RUNTIME" ]; then
		echo "podman.bats: runtime '$RUNTIME' is not an executable file; build it or set RUNTIME=/abs/path (e.g. RUNTIME=/usr/sbin/runc)" >&2
		return 1
	fi
	export STATE_DIR="${STATE_DIR:-/run/$(basename "$RUNTIME")}"

	local base="${PODMAN_TMPDIR_BASE:-/var/tmp}"
	PT=$(mktemp -d "$base/cagebox-podman.XXXXXX")
	export PT
	mkdir -p "$PT"/{etc,root,runroot,tmp,static,volumes,net,hooks,bin,work}

	# What existed before us, so that teardown removes only what we created.
	local d
	: >"$PT/created-by-us"
	for d in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
		[ -e "${d}cgroup.procs" ] || continue
		[ -e "${d}libpod_parent" ] || echo "${d}libpod_parent" >>"$PT/created-by-us"
	done
	for d in $_PODMAN_SYSTEM_LEFTOVERS; do
		[ -e "$d" ] || echo "$d" >>"$PT/created-by-us"
	done

	cat >"$PT/etc/containers.conf" <<EOF
# Private configuration for integration/podman.bats (replaces all of
# /usr/share/containers/containers.conf and /etc/containers/containers.conf).
[containers]
# As root podman asks for 1048576 nofile/nproc; without CAP_SYS_RESOURCE the
# runtime's setrlimit would fail.
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"
log_driver = "k8s-file"
init_path = "/usr/libexec/podman/catatonit"
default_capabilities = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]
default_sysctls = ["net.ipv4.ping_group_range=0 0"]

[network]
# cni instead of netavark: rootful netavark always creates
# /run/containers/networks; with netns=none no network is ever set up.
network_backend = "cni"
network_config_dir = "$PT/net"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PT/events.log"
tmp_dir = "$PT/tmp"
static_dir = "$PT/static"
volume_path = "$PT/volumes"
hooks_dir = ["$PT/hooks"]
image_copy_tmp_dir = "$PT/tmp"
lock_type = "file"
runtime_supports_json = ["crun", "runc", "kata", "runsc", "youki", "krun", "cagebox"]
EOF
	cat >"$PT/etc/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$PT/root"
runroot = "$PT/runroot"
EOF
	cat >"$PT/etc/registries.conf" <<EOF
unqualified-search-registries = []
short-name-mode = "disabled"
EOF

	# The runtime podman is pointed at: $RUNTIME itself, or an argv-logging
	# wrapper with the same basename (runtime_supports_json matches on it).
	PODMAN_RUNTIME_PATH="$RUNTIME"
	if [ -n "${PODMAN_TRACE_ARGV:-}" ]; then
		mkdir -p "$PT/trace"
		PODMAN_RUNTIME_PATH="$PT/trace/$(basename "$RUNTIME")"
		cat >"$PODMAN_RUNTIME_PATH" <<EOF
#!/bin/bash
{ printf '%q ' "\$@"; echo; } >>'$PODMAN_TRACE_ARGV'
exec '$RUNTIME' "\$@"
EOF
		chmod +x "$PODMAN_RUNTIME_PATH"
	fi
	export PODMAN_RUNTIME_PATH

	# A podman executable (not just a function) so that `script`, xargs and
	# background jobs can use it too.
	cat >"$PT/bin/podman" <<EOF
#!/bin/sh
export CONTAINERS_CONF='$PT/etc/containers.conf'
export CONTAINERS_STORAGE_CONF='$PT/etc/storage.conf'
export CONTAINERS_REGISTRIES_CONF='$PT/etc/registries.conf'
export TMPDIR='$PT/tmp'
exec timeout --foreground -k 10 "\${PODMAN_CALL_TIMEOUT:-90}" \\
	podman --root '$PT/root' --runroot '$PT/runroot' --runtime '$PODMAN_RUNTIME_PATH' "\$@"
EOF
	chmod +x "$PT/bin/podman"
	export PM="$PT/bin/podman"

	"$root/hack/mkrootfs.sh" "$PT/rootfs"
	tar -C "$PT/rootfs" -c . | "$PM" import --quiet --change 'CMD ["/bin/sh"]' - "$CAGEBOX_IMAGE" >/dev/null ||
		{ echo "podman.bats: podman import of the busybox rootfs failed" >&2; return 1; }

	export PODMAN_HOST_HOSTNAME
	PODMAN_HOST_HOSTNAME=$(cat /proc/sys/kernel/hostname)
	export PODMAN_FATAL=""
	PODMAN_FATAL=$(_podman_sandbox_check)
}

# Before any test runs: one harmless container (sleep) must be isolated from
# the host (own mount/uts/ipc/pid/net namespaces, the image as its root).
# Otherwise every test fails at once instead of running commands that could
# touch the host (hostname, files under /).
_podman_sandbox_check() {
	local cid pid ns problems=""
	cid=$("$PM" run -d "$CAGEBOX_IMAGE" sleep 1000 2>/dev/null) || return 0 # tests will report it
	pid=$("$PM" inspect --format '{{.State.Pid}}' "$cid" 2>/dev/null)
	if [ -n "$pid" ] && [ "$pid" != 0 ] && [ -d "/proc/$pid" ]; then
		for ns in mnt uts ipc pid net; do
			[ "$(readlink "/proc/$pid/ns/$ns")" != "$(readlink /proc/self/ns/$ns)" ] ||
				problems="$problems; the container shares the host's $ns namespace"
		done
		[ -e "/proc/$pid/root/.cagebox-rootfs" ] ||
			problems="$problems; the container's root is not the image rootfs"
	fi
	"$PM" rm -f -t 0 "$cid" >/dev/null 2>&1
	if [ "$(cat /proc/sys/kernel/hostname)" != "$PODMAN_HOST_HOSTNAME" ]; then
		hostname "$PODMAN_HOST_HOSTNAME"
		problems="$problems; the container changed the HOST's hostname (restored)"
	fi
	[ -z "$problems" ] || echo "sandbox check failed, not running tests with this runtime${problems}"
}

podman_teardown_file() {
	[ -n "${PT:-}" ] && [ -d "$PT" ] || return 0
	"$PM" rm -af -t 0 >/dev/null 2>&1 || true
	"$PM" pod rm -af -t 0 >/dev/null 2>&1 || true
	"$PM" rmi -af >/dev/null 2>&1 || true
	"$PM" volume rm -af >/dev/null 2>&1 || true
	_podman_umount_under "$PT"
	local d
	# Remove cgroup and system paths only if they did not exist before the
	# suite; rmdir of a cgroup fails (harmlessly) while anyone still uses it.
	if [ -f "$PT/created-by-us" ]; then
		while read -r d; do
			case "$d" in
			*/libpod_parent)
				[ -d "$d/conmon" ] && rmdir "$d/conmon" 2>/dev/null
				[ -d "$d" ] && rmdir "$d" 2>/dev/null
				;;
			/var/lib/containers/cache/blob-info-cache-v1.boltdb) rm -f "$d" ;;
			*) [ -d "$d" ] && rmdir "$d" 2>/dev/null ;;
			esac
		done <"$PT/created-by-us"
	fi
	rm -rf "$PT"
	true
}

# Unmount everything mounted at or below $1, deepest first.
_podman_umount_under() {
	local dir=$1 m
	for _ in 1 2 3; do
		local mounts
		mounts=$(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
		[ -n "$mounts" ] || return 0
		for m in $mounts; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		done
	done
}

podman_setup() {
	[ -z "${PODMAN_SKIP_REASON:-}" ] || skip "$PODMAN_SKIP_REASON"
	[ -n "${PT:-}" ] || skip "suite setup did not run"
	[ -z "${PODMAN_FATAL:-}" ] || { echo "$PODMAN_FATAL" >&2; return 1; }
}

# Remove whatever a (failed) test left running; cheap when there is nothing.
podman_teardown() {
	[ -n "${PT:-}" ] && [ -x "${PM:-}" ] || return 0
	local ids
	ids=$("$PM" ps -aq 2>/dev/null) || true
	[ -z "$ids" ] || "$PM" rm -f -t 0 $ids >/dev/null 2>&1 || true
	# Background jobs a test started (sleepers, podman clients): by PID only.
	local p
	for p in "${PODMAN_BG_PIDS[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null || true
	done
	PODMAN_BG_PIDS=()
}

pm() { "$PM" "$@"; }

# --- small assertions (no bats-assert on this machine) -------------------

_fail_with() {
	{
		echo "$1"
		echo "--- status: ${status:-?}"
		echo "--- output:"
		echo "${output:-}"
		[ -z "${stderr:-}" ] || { echo "--- stderr:"; echo "$stderr"; }
	} >&2
	return 1
}

assert_status() {
	[ "$status" -eq "$1" ] || _fail_with "expected exit status $1, got $status"
}

assert_output() {
	[ "$output" = "$1" ] || _fail_with "expected output '$1'"
}

assert_output_contains() {
	case "$output" in
	*"$1"*) ;;
	*) _fail_with "expected output to contain '$1'" ;;
	esac
}

assert_output_not_contains() {
	case "$output" in
	*"$1"*) _fail_with "expected output NOT to contain '$1'" ;;
	*) ;;
	esac
}

assert_eq() { # actual expected [what]
	[ "$1" = "$2" ] || { echo "${3:-value}: expected '$2', got '$1'" >&2; return 1; }
}

# wait_for TIMEOUT_SECONDS CMD...: retry CMD every 0.1s until it succeeds
# or TIMEOUT_SECONDS (wall clock) have passed.
wait_for() {
	local limit=$1 deadline
	shift
	deadline=$(($(date +%s) + limit))
	while ! "$@" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "timed out after ${limit}s waiting for: $*" >&2
			return 1
		fi
		sleep 0.1
	done
}

# --- container facts seen from the host ----------------------------------

ctr_pid() { "$PM" inspect --format '{{.State.Pid}}' "$1"; }
ctr_status() { "$PM" inspect --format '{{.State.Status}}' "$1"; }
ctr_exit_code() { "$PM" inspect --format '{{.State.ExitCode}}' "$1"; }
ctr_full_id() { "$PM" inspect --format '{{.Id}}' "$1"; }

# cgroup_dir PID CONTROLLER: host directory of PID's cgroup for CONTROLLER
# (cgroup v1, hybrid or pure v2).
cgroup_dir() {
	local pid=$1 ctl=$2 hier ctls path m
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		path=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
		echo "/sys/fs/cgroup$path"
		return 0
	fi
	while IFS=: read -r hier ctls path; do
		case ",$ctls," in
		*",$ctl,"*)
			for m in "/sys/fs/cgroup/$ctl" "/sys/fs/cgroup/$ctls"; do
				if [ -d "$m$path" ]; then
					echo "$m$path"
					return 0
				fi
			done
			;;
		esac
	done <"/proc/$pid/cgroup"
	echo "no $ctl cgroup found for pid $pid" >&2
	return 1
}

cgroup_is_v2() { [ -f /sys/fs/cgroup/cgroup.controllers ]; }

# Print what is known about container $1 (for failure messages).
ctr_diagnose() {
	local cid=$1 pid dir p
	{
		echo "--- container $cid"
		"$PM" inspect --format 'status={{.State.Status}} exit={{.State.ExitCode}} pid={{.State.Pid}} oomkilled={{.State.OOMKilled}} error={{.State.Error}}' "$cid" 2>&1
		echo "--- logs:"
		"$PM" logs "$cid" 2>&1 | tail -20
		pid=$(ctr_pid "$cid" 2>/dev/null)
		if [ -n "$pid" ] && [ "$pid" != 0 ] && dir=$(cgroup_dir "$pid" memory 2>/dev/null); then
			echo "--- memory cgroup $dir:"
			for p in memory.usage_in_bytes memory.limit_in_bytes memory.oom_control memory.max memory.current memory.events; do
				[ -f "$dir/$p" ] && echo "$p: $(tr '\n' ' ' <"$dir/$p")"
			done
			for p in $(cat "$dir/cgroup.procs"); do
				echo "proc $p $(cat /proc/$p/comm 2>/dev/null) $(grep -E '^(State|VmRSS)' /proc/$p/status 2>/dev/null | tr '\n' ' ')"
				head -8 /proc/$p/stack 2>/dev/null
			done
		fi
		echo "--- kernel log for this container:"
		dmesg 2>/dev/null | grep -F "${cid:0:12}" | tail -5
	} >&2
}

# Paths a container with full id $1 may leave behind.
leftover_paths() {
	local id=$1 d
	echo "$STATE_DIR/$id"
	for d in /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent; do
		[ -d "$d" ] && echo "$d/libpod-$id"
	done
	true
}

assert_no_leftovers() {
	local id=$1 p bad=""
	for p in $(leftover_paths "$id"); do
		[ ! -e "$p" ] || bad="$bad $p"
	done
	[ -z "$bad" ] || { echo "left behind after rm of $id:$bad" >&2; return 1; }
}

# Run a command under a pseudo-terminal (for -t); prints its output without
# carriage returns and returns its exit status.
in_pty() {
	local cmd=$1 out rc
	out=$(script -qefc "$cmd" /dev/null </dev/null) && rc=0 || rc=$?
	printf '%s\n' "$out" | tr -d '\r'
	return "$rc"
}
