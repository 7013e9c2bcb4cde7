# shellcheck shell=bash
# Helpers for integration/docker.bats: a private Docker Engine (Debian's
# docker.io, dockerd 20.10) whose runtimes are $RUNTIME, driven with Debian's
# client /usr/bin/docker over a private unix socket.
#
# dockerd starts its own containerd (config under <exec-root>/containerd)
# and reaches the runtime through containerd's runc v2 shim, exactly as
# containerd.bats does, with the runtime registered in a daemon.json
# (`runtimes.NAME.path`, `runtimeArgs`).
#
# Everything lives under one mktemp dir ($DK) except what dockerd 20.10 and
# containerd 1.6 hard-code; those are recorded before the daemon starts and
# removed in teardown_file only if the suite created them:
#   /run/containerd/s/<sha256>       shim sockets (removed by the shims)
#   /run/containerd, /run/docker/plugins, /run/docker
#   /sys/fs/cgroup/<ctrl>/$DK_CGP    the daemon's --cgroup-parent (unique per run)
#
# Environment (all optional):
#   RUNTIME          absolute path of the runtime (default <repo>/target/release/cagebox)
#   DOCKER_REQUIRE=1 fail instead of skipping when docker.io is missing and
#                    cannot be installed, or we are not root
#   DOCKER_NO_INSTALL=1  never run apt-get (skip if docker.io is missing)
#   DK_TIMEOUT       seconds one docker call may take (default 60)
#   DK_KEEP=1        keep $DK after the run (debugging)

DK_IMAGE=localhost/cagebox-busybox:latest
DOCKER=/usr/bin/docker
: "${DK_TIMEOUT:=60}"
DK_SHIM_SOCKET_DIR=/run/containerd/s
# Hard-coded paths that may be created by dockerd/containerd/the shim.
_DK_SYSTEM_DIRS="/run/containerd /run/containerd/s /run/docker /run/docker/plugins"

_dk_repo_root() {
	git -C "$BATS_TEST_DIRNAME" rev-parse --show-toplevel 2>/dev/null ||
		(cd "$BATS_TEST_DIRNAME/.." && pwd)
}

# ------------------------------------------------------------ installation

# Install Debian's docker.io if dockerd or /usr/bin/docker is missing, without
# letting the package start a system daemon: a policy-rc.d that exits 101 is
# put in place for the install (if none exists) and removed afterwards; an
# existing policy-rc.d must deny starts as well, which is checked afterwards.
# (.ci/run installs docker.io up front; this is for running the suite alone.)
docker_install_if_missing() {
	[ -x /usr/sbin/dockerd ] && [ -x "$DOCKER" ] && return 0
	[ "${DOCKER_NO_INSTALL:-0}" = 1 ] && { echo "docker.io is not installed (DOCKER_NO_INSTALL=1)"; return 1; }
	command -v apt-get >/dev/null 2>&1 || { echo "docker.io is not installed and there is no apt-get"; return 1; }
	local prc=/usr/sbin/policy-rc.d ours="" rc=0 before after
	before=$(_dk_system_daemons)
	if [ ! -e "$prc" ]; then
		printf '#!/bin/sh\n# temporary, integration/helpers/docker.bash: start no services\nexit 101\n' >"$prc"
		chmod 755 "$prc"
		ours=1
	fi
	{
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			-o DPkg::Lock::Timeout=300 docker.io ||
			{ apt-get update -o DPkg::Lock::Timeout=300 &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
					-o DPkg::Lock::Timeout=300 docker.io; }
	} >"${BATS_FILE_TMPDIR:-/tmp}/docker-install.log" 2>&1 || rc=$?
	[ -z "$ours" ] || rm -f "$prc"
	if [ "$rc" != 0 ]; then
		echo "apt-get install docker.io failed (rc $rc): $(tail -n 3 "${BATS_FILE_TMPDIR:-/tmp}/docker-install.log" | tr '\n' ' ')"
		return 1
	fi
	after=$(_dk_system_daemons)
	if [ "$after" != "$before" ]; then
		# Not ours to stop: the package's service was started (policy-rc.d allowed it).
		echo "installing docker.io started a system daemon (pids now: $after); stop it, then rerun"
		return 1
	fi
	echo "# installed docker.io (no service started)" >&3
	return 0
}

# PIDs of dockerd/containerd processes not started by this suite.
_dk_system_daemons() {
	local p c out=""
	for p in /proc/[0-9]*; do
		c=$(cat "$p/comm" 2>/dev/null) || continue
		case "$c" in dockerd) out="$out ${p#/proc/}" ;; esac
	done
	echo "$out"
}

# ---------------------------------------------------------- daemon control

_dk_prereq_problem() {
	[ "$(id -u)" = 0 ] || { echo "docker tests need root (uid is $(id -u))"; return; }
	local t problem
	for t in tar script timeout sha256sum pgrep; do
		command -v "$t" >/dev/null 2>&1 || { echo "$t not found in PATH"; return; }
	done
	[ -x "${BUSYBOX:-/bin/busybox}" ] || { echo "busybox-static is not installed (needed for the test image)"; return; }
	problem=$(docker_install_if_missing) || { echo "$problem"; return; }
	for t in /usr/sbin/dockerd /usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/bin/docker-init; do
		[ -x "$t" ] || { echo "$t is missing (docker.io, containerd and tini packages)"; return; }
	done
}

# The name the runtime under test is registered under in daemon.json, and
# the daemon's default runtime.
dk_runtime_name() {
	case "$(basename "$RUNTIME")" in
	cagebox*) echo cagebox ;;
	*) echo "ref-$(basename "$RUNTIME")" ;; # `runc` itself is a reserved name
	esac
}

is_cagebox() { case "$(basename "$RUNTIME")" in cagebox*) return 0 ;; *) return 1 ;; esac; }

# The global flags given as runtimeArgs to the argv-recording runtime.
dk_trace_args_json() {
	if is_cagebox; then echo '["--enforce-policy", "npm-scripts"]'; else echo '["--debug"]'; fi
}

_dk_write_config() {
	local name npm=""
	name=$(dk_runtime_name)
	if is_cagebox; then
		npm=$(printf ',\n    "cagebox-npm": {"path": "%s", "runtimeArgs": ["--enforce-policy", "npm-scripts"]}' "$RUNTIME")
	fi
	# deprecated-key-path: dockerd 20.10 writes its trust key to
	# /etc/docker/key.json otherwise (Debian's dockerd rejects the flag
	# --deprecated-key-path as unknown, but honours the daemon.json key).
	cat >"$DK/daemon.json" <<EOF
{
  "deprecated-key-path": "$DK/key.json",
  "default-runtime": "$name",
  "runtimes": {
    "$name": {"path": "$RUNTIME"},
    "$name-trace": {"path": "$DK/bin/trace-runtime", "runtimeArgs": $(dk_trace_args_json)}$npm
  }
}
EOF
	# argv-recording wrapper: one line per call, "argv[1..] => rc".
	cat >"$DK/bin/trace-runtime" <<EOF
#!/bin/bash
'$RUNTIME' "\$@"
rc=\$?
printf '%s => %s\n' "\$*" "\$rc" >>'$DK/trace.log'
exit \$rc
EOF
	chmod 755 "$DK/bin/trace-runtime"
}

docker_setup_file() {
	export DK_SKIP=""
	local root problem
	root=$(_dk_repo_root)
	export RUNTIME="${RUNTIME:-$root/target/release/cagebox}"
	case "$RUNTIME" in
	/*) ;;
	*) echo "docker.bats: RUNTIME must be an absolute path (got '$RUNTIME')" >&2; return 1 ;;
	esac
	[ -x "$RUNTIME" ] || { echo "docker.bats: RUNTIME=$RUNTIME is not an executable file" >&2; return 1; }

	problem=$(_dk_prereq_problem 3>&3)
	if [ -n "$problem" ]; then
		if [ "${DOCKER_REQUIRE:-0}" = 1 ]; then
			echo "docker.bats: $problem (DOCKER_REQUIRE=1)" >&2
			return 1
		fi
		export DK_SKIP="$problem"
		return 0
	fi

	# Short path: containerd's socket is <exec-root>/containerd/containerd.sock
	# and unix socket paths are limited to 108 bytes.
	DK=$(mktemp -d /tmp/cbx-dk.XXXXXX)
	DK_CGP="/cbx-docker-$(basename "$DK" | cut -d. -f2 | tr 'A-Z' 'a-z')"
	DK_SOCK="$DK/docker.sock"
	DK_EXEC="$DK/exec"
	DK_DATA="$DK/data"
	DK_CTRD_ADDR="$DK_EXEC/containerd/containerd.sock"
	DK_RT=$(dk_runtime_name)
	export DK DK_CGP DK_SOCK DK_EXEC DK_DATA DK_CTRD_ADDR DK_RT
	export DOCKER_HOST="unix://$DK_SOCK"
	# Debian's client reads ~/.docker/config.json; keep that private too.
	export DOCKER_CONFIG="$DK/client"
	mkdir -p "$DK"/{bin,data,exec,client,vol,tmp}
	: >"$DK/ids"

	local d
	: >"$DK/created-by-us"
	for d in $_DK_SYSTEM_DIRS /etc/docker/key.json; do
		[ -e "$d" ] || echo "$d" >>"$DK/created-by-us"
	done

	_dk_write_config
	echo "# dockerd $(/usr/sbin/dockerd --version | awk '{ print $3 }' | tr -d ,), runtime $RUNTIME as '$DK_RT'" >&3

	# PATH: Debian's containerd, shim and docker-init, not whatever comes first.
	# The proxy variables point at a closed loopback port: an accidental pull
	# (a typo in an image name) fails at once instead of resolving and
	# contacting a registry; dk_run also passes --pull never.
	PATH=/usr/sbin:/usr/bin:/sbin:/bin TMPDIR="$DK/tmp" \
		HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY= \
		http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 no_proxy= \
		setsid /usr/sbin/dockerd \
		--config-file "$DK/daemon.json" \
		--data-root "$DK_DATA" --exec-root "$DK_EXEC" --pidfile "$DK/dockerd.pid" \
		-H "unix://$DK_SOCK" \
		--bridge=none --iptables=false --ip6tables=false --ip-masq=false \
		--exec-opt native.cgroupdriver=cgroupfs --cgroup-parent "$DK_CGP" \
		</dev/null >"$DK/dockerd.log" 2>&1 3>&- &
	echo $! >"$DK/dockerd.bgpid"

	if ! dk_wait_until 30 timeout 5 "$DOCKER" version; then
		echo "dockerd did not come up; log:" >&2
		tail -n 30 "$DK/dockerd.log" >&2
		return 1
	fi
	# dockerd's containerd child, to check in teardown that it went away.
	cat "$DK_EXEC/containerd/containerd.pid" >"$DK/containerd.pid" 2>/dev/null || true

	"$root/hack/mkrootfs.sh" "$DK/rootfs"
	tar -C "$DK/rootfs" -c . | dk import --change 'CMD ["/bin/sh"]' - "$DK_IMAGE" >/dev/null ||
		{ echo "docker.bats: docker import of the busybox rootfs failed" >&2; return 1; }
}

# dk ARGS: Debian's docker client against the private daemon, bounded.
dk() { timeout -k 5 "$DK_TIMEOUT" "$DOCKER" "$@"; }

# dk_tty 'ARGS': `docker ARGS` (one shell-quoted string) with a terminal on
# the client's stdin (for -t); CRs dropped; the client's exit status.
dk_tty() {
	local out rc
	out=$(timeout -k 5 "$DK_TIMEOUT" script -qefc "$DOCKER $1" /dev/null </dev/null) && rc=0 || rc=$?
	printf '%s\n' "$out" | tr -d '\r'
	return "$rc"
}

# dk_run ARGS: `docker run --network none --pull never ARGS` (the runtime
# under test is the daemon's default runtime).
dk_run() { dk run --network none --pull never "$@"; }

# dk_id NAME_OR_ID: the full id (recorded for teardown_file's leftover check).
dk_id() {
	local id
	id=$(dk inspect --format '{{.Id}}' "$1") || return 1
	echo "$id" >>"$DK/ids"
	echo "$id"
}

dk_pid() { dk inspect --format '{{.State.Pid}}' "$1"; }
dk_state() { dk inspect --format '{{.State.Status}}' "$1"; }
dk_is_running() { [ "$(dk_state "$1")" = running ]; }

# dk_wait_until SECONDS CMD...: poll CMD quietly until it succeeds; on timeout
# run it once more with its output shown, and fail.
dk_wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			"$@" && return 0
			echo "timed out: $*" >&2
			return 1
		fi
		sleep 0.1
	done
}

pid_alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# ------------------------------------------------- where a container lives

# Where the runc v2 shim keeps the runtime's state: dockerd gives every
# runtime the shim option Root=<exec-root>/runtime-runc and the shim appends
# the namespace (moby). Checked by the lifecycle test while a container runs.
dk_runtime_root() { echo "$DK_EXEC/runtime-runc/moby"; }
dk_bundle_dir() { echo "$DK_EXEC/containerd/daemon/io.containerd.runtime.v2.task/moby/$1"; }

# cgroup dir of container $2 for controller $1 (cgroupfs driver, v1 here;
# the unified layout on a pure v2 host).
dk_cg_path() {
	if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
		echo "/sys/fs/cgroup$DK_CGP/$2"
	else
		echo "/sys/fs/cgroup/$1$DK_CGP/$2"
	fi
}

dk_cgroup_dirs() {
	local d
	for d in /sys/fs/cgroup/*"$DK_CGP/$1" /sys/fs/cgroup"$DK_CGP/$1"; do
		[ -d "$d" ] && echo "$d"
	done
	return 0
}

# containerd 1.6: /run/containerd/s/<sha256 of "<containerd addr>/<ns>/<id>">.
dk_shim_socket() {
	local h
	h=$(printf '%s' "$DK_CTRD_ADDR/moby/$1" | sha256sum | cut -d' ' -f1)
	echo "$DK_SHIM_SOCKET_DIR/$h"
}

dk_shim_pid() { pgrep -f -- "containerd-shim-runc-v2 .*-id $1 -address $DK_CTRD_ADDR" || true; }

# dk_leftovers ID: whatever is left of container ID (full id).
dk_leftovers() {
	local id=$1 d
	# <root>/<id>, and cagebox's private bundle <root>/.bundles/<id>.
	find "$(dk_runtime_root)" -maxdepth 2 -name "*$id*" 2>/dev/null | sed 's/^/runtime state: /'
	[ -e "$(dk_bundle_dir "$id")" ] && echo "bundle: $(dk_bundle_dir "$id")"
	[ -e "$(dk_shim_socket "$id")" ] && echo "shim socket: $(dk_shim_socket "$id")"
	[ -e "$DK_DATA/containers/$id" ] && echo "docker container dir: $DK_DATA/containers/$id"
	for d in $(dk_cgroup_dirs "$id"); do echo "cgroup: $d"; done
	awk -v id="$id" 'index($5, id) { print "mount: " $5 }' /proc/self/mountinfo
	[ -z "$(dk_shim_pid "$id")" ] || echo "shim process: $(dk_shim_pid "$id")"
	dk ps -aq --no-trunc 2>/dev/null | grep -xF "$id" | sed 's/^/container: /'
	return 0
}

assert_no_leftovers() {
	local l
	l=$(dk_leftovers "$1")
	[ -z "$l" ] || { echo "left behind by container $1:"; echo "$l"; return 1; }
}

# ------------------------------------------------------------ per test

docker_setup() {
	[ -z "${DK_SKIP:-}" ] || skip "$DK_SKIP"
	[ -n "${DK:-}" ] || skip "suite setup did not run"
	DK_BG_PIDS=()
}

docker_teardown() {
	[ -z "${DK_SKIP:-}" ] && [ -n "${DK:-}" ] || return 0
	local ids p
	for p in "${DK_BG_PIDS[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null || true
	done
	ids=$(dk ps -aq --no-trunc 2>/dev/null) || true
	[ -z "$ids" ] || { echo "$ids" >>"$DK/ids"; dk rm -f $ids >/dev/null 2>&1 || true; }
}

# -------------------------------------------------------------- teardown

_dk_umount_below() {
	local m
	for _ in 1 2 3; do
		m=$(awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
		[ -n "$m" ] || return 0
		for m in $m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
	done
}

docker_teardown_file() {
	[ -n "${DK:-}" ] && [ -d "$DK" ] || return 0
	local ids id l left="" pid cpid p f d
	ids=$(dk ps -aq --no-trunc 2>/dev/null) || true
	[ -z "$ids" ] || { echo "$ids" >>"$DK/ids"; dk rm -f $ids >/dev/null 2>&1 || true; }
	for id in $(sort -u "$DK/ids"); do
		l=$(dk_leftovers "$id" 2>/dev/null)
		[ -z "$l" ] || left+="$l"$'\n'
	done
	dk rmi -f "$DK_IMAGE" >/dev/null 2>&1 || true

	# Stop dockerd by its PID; its containerd child exits with it.
	pid=$(cat "$DK/dockerd.pid" 2>/dev/null || cat "$DK/dockerd.bgpid" 2>/dev/null || true)
	cpid=$(cat "$DK/containerd.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && pid_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 150); do pid_alive "$pid" || break; sleep 0.1; done
		pid_alive "$pid" && { left+="dockerd $pid ignored SIGTERM for 15 s"$'\n'; kill -KILL "$pid" 2>/dev/null; }
	fi
	wait "$(cat "$DK/dockerd.bgpid" 2>/dev/null)" 2>/dev/null || true
	if [ -n "$cpid" ]; then
		for _ in $(seq 1 50); do pid_alive "$cpid" || break; sleep 0.1; done
		if pid_alive "$cpid"; then
			left+="containerd $cpid outlived dockerd"$'\n'
			kill -KILL "$cpid" 2>/dev/null || true
		fi
	fi
	# Shims of our containerd (matched by its unique address) and processes
	# still in our unique cgroup parent: ours, by PID.
	for p in $(pgrep -f -- "containerd-shim.* -address $DK_CTRD_ADDR" || true); do
		left+="shim $p still running"$'\n'
		kill -KILL "$p" 2>/dev/null || true
	done
	for f in /sys/fs/cgroup/pids"$DK_CGP"/*/cgroup.procs /sys/fs/cgroup"$DK_CGP"/*/cgroup.procs; do
		[ -f "$f" ] || continue
		for p in $(cat "$f"); do left+="process $p in $f"$'\n'; kill -KILL "$p" 2>/dev/null || true; done
	done
	[ -z "$left" ] || printf '# teardown_file found and removed leftovers:\n%s' "$left" | sed '2,$s/^/#   /' >&3

	_dk_umount_below "$DK"
	sleep 0.1
	for d in /sys/fs/cgroup/*"$DK_CGP" /sys/fs/cgroup"$DK_CGP"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	for id in $(sort -u "$DK/ids"); do rm -f "$(dk_shim_socket "$id")"; done
	# Hard-coded system paths: remove those we created (deepest first; rmdir
	# fails harmlessly if someone else uses them now).
	if [ -f "$DK/created-by-us" ]; then
		for d in $(sort -r "$DK/created-by-us"); do
			case "$d" in
			/etc/docker/key.json) rm -f "$d" ;;
			*) [ -d "$d" ] && rmdir "$d" 2>/dev/null ;;
			esac
		done
	fi
	if [ "${DK_KEEP:-0}" = 1 ]; then
		echo "# kept $DK" >&3
	else
		rm -rf "$DK"
	fi
	true
}

# ------------------------------------------------------------ assertions

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

assert_status() { [ "$status" -eq "$1" ] || _fail_with "expected exit status $1, got $status"; }
assert_output() { [ "$output" = "$1" ] || _fail_with "expected output '$1'"; }
assert_output_contains() {
	case "$output" in *"$1"*) ;; *) _fail_with "expected output to contain '$1'" ;; esac
}
assert_output_not_contains() {
	case "$output" in *"$1"*) _fail_with "expected output NOT to contain '$1'" ;; *) ;; esac
}
# One line of $output equals (has_line) or contains (has_line_partial) $1.
has_line() { printf '%s\n' "$output" | grep -Fxq -- "$1" || _fail_with "no line '$1'"; }
has_line_partial() { printf '%s\n' "$output" | grep -Fq -- "$1" || _fail_with "no line containing '$1'"; }
assert_eq() { [ "$1" = "$2" ] || { echo "${3:-value}: expected '$2', got '$1'" >&2; return 1; }; }
