# shellcheck shell=bash
# Helpers for integration/policy.bats: `cagebox exec [POLICY FLAGS] -- CMD`
# (the policy sandbox) driven with real containers.
#
# Every test gets, under a per-run base directory in /var/tmp (not /tmp: the
# sandbox's /tmp is private, so fixtures under the host's /tmp would be
# invisible for the wrong reason):
#   $PROJECT  the project directory, the cwd of every cagebox call ({project})
#   $HOME     a temporary home with a canary secret in it ({home})
#   $OUTSIDE  a host directory that is neither project nor home
# and a private state root $STATE=$BATS_TEST_TMPDIR/state (--root).
#
# Every cagebox call goes through `cbx` (or `cbx_bg`), which records the pid
# of the cagebox process: the sandbox names its container (and so its
# cgroups) cagebox-exec-<pid>-<hex>, which lets teardown check exactly our
# containers, never somebody else's running next to us.

load helpers/common

PY=/usr/bin/python3
# Seconds one cagebox call may take before it counts as hung.
: "${POL_TIMEOUT:=60}"
# A PATH without the caller's home (pyenv shims, cargo): HOME is hidden in
# the sandbox, so tools found through it would fail for the wrong reason.
POL_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

pol_setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	case "$RUNTIME" in
	*/cagebox) ;;
	*) return 0 ;; # every test skips in pol_setup
	esac
	[ -x "$RUNTIME" ] || fail "RUNTIME=$RUNTIME is not executable (cargo build --release)"
	case "$RUNTIME" in /*) ;; *) fail "RUNTIME must be an absolute path, got $RUNTIME" ;; esac
	POL_BASE="$(mktemp -d /var/tmp/cagebox-policy-it.XXXXXX)"
	chmod 0755 "$POL_BASE"
	export POL_BASE
	# Probes run inside the sandbox (read-only there: /var is the host's).
	POL_FIX="$POL_BASE/fixtures"
	mkdir -p "$POL_FIX"
	export POL_FIX
	pol_write_fixtures "$POL_FIX"
}

pol_teardown_file() {
	[ -n "${POL_BASE:-}" ] && [ -d "$POL_BASE" ] && rm -rf "$POL_BASE"
	return 0
}

pol_setup() {
	case "$RUNTIME" in
	*/cagebox) ;;
	*) skip "cagebox-only: policy sandbox" ;;
	esac
	[ "$(id -u)" -eq 0 ] || skip "needs root: namespaces, cgroups and mounts"
	exec </dev/null
	[ -n "${POL_BASE:-}" ] && [ -d "$POL_BASE" ] || fail "setup_file did not run pol_setup_file"
	T="$POL_BASE/t$BATS_TEST_NUMBER"
	PROJECT="$T/project"
	OUTSIDE="$T/outside"
	STATE="$BATS_TEST_TMPDIR/state"
	CBX_PIDS="$BATS_TEST_TMPDIR/cbx-pids"
	: >"$CBX_PIDS"
	: >"$BATS_TEST_TMPDIR/bgpids"
	: >"$BATS_TEST_TMPDIR/pids"
	: >"$BATS_TEST_TMPDIR/ids"
	mkdir -p "$PROJECT" "$T/home" "$OUTSIDE"
	# A canary secret in the (temporary) home: never a real secret.
	echo "canary-home-secret-$BATS_TEST_NUMBER" >"$T/home/.canary-token"
	export HOME="$T/home" PATH="$POL_PATH"
	export T PROJECT OUTSIDE STATE CBX_PIDS
	# Files the host-side checks must not find (written only if a sandbox leaks).
	ETC_PROBE="/etc/cagebox-policy-it-$BATS_TEST_NUMBER-$$"
	export ETC_PROBE
	cd "$PROJECT"
}

pol_teardown() {
	[ -n "${STATE:-}" ] || return 0
	cd /
	local pid rc=0 problems=""
	# What the test itself started (listeners, background cagebox runs).
	while read -r pid; do
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	done <"$BATS_TEST_TMPDIR/bgpids"
	while read -r pid; do
		[ -n "$pid" ] || continue
		for _ in $(seq 50); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
	done <"$BATS_TEST_TMPDIR/bgpids"
	problems="$(pol_leftovers)" || true
	pol_cleanup_cgroups
	if [ -e "$ETC_PROBE" ]; then
		rm -f "$ETC_PROBE"
		problems+="a sandboxed write reached the host: $ETC_PROBE"$'\n'
	fi
	[ -n "${T:-}" ] && rm -rf "$T"
	if [ -n "$problems" ]; then
		printf 'leftovers after the test:\n%s' "$problems" >&2
		rc=1
	fi
	return $rc
}

# ---------------------------------------------------------------- running cagebox

# cbx ARGS...: cagebox --root $STATE ARGS... with a timeout; stdout and
# stderr through files (a container left behind by a broken cagebox cannot
# hang bats on its capture pipe), printed to stdout and stderr afterwards.
# The pid of cagebox is the `sh` that execs it: recorded for teardown.
cbx() {
	local o e rc=0
	o="$(mktemp -p "$BATS_TEST_TMPDIR" cbx.out.XXXXXX)"
	e="$(mktemp -p "$BATS_TEST_TMPDIR" cbx.err.XXXXXX)"
	timeout -k 5 "$POL_TIMEOUT" sh -c 'echo $$ >>"$0"; exec "$@"' "$CBX_PIDS" \
		"$RUNTIME" --root "$STATE" "$@" </dev/null >"$o" 2>"$e" 3>&- || rc=$?
	cat "$o"
	cat "$e" >&2
	rm -f "$o" "$e"
	return "$rc"
}

# cbx_exec ARGS...: `cbx exec ARGS...`.
cbx_exec() {
	cbx exec "$@"
}

# cbx_bg OUT ARGS...: cagebox in the background, stdout+stderr to OUT; its
# pid in $BG_PID (killed at teardown if still alive).
cbx_bg() {
	local out=$1
	shift
	sh -c 'echo $$ >>"$0"; exec "$@"' "$CBX_PIDS" \
		"$RUNTIME" --root "$STATE" "$@" </dev/null >"$out" 2>&1 3>&- &
	BG_PID=$!
	echo "$BG_PID" >>"$BATS_TEST_TMPDIR/bgpids"
}

# bg_wait PID [SECONDS]: the exit status of a background job, or fail.
bg_wait() {
	wait_exit "$1" "${2:-20}" || return 1
	local rc=0
	wait "$1" || rc=$?
	return "$rc"
}

# The sync protocol of commands that must stay alive while the host looks
# at them: touch started, then wait (at most 10 s) for the host's release.
HOLD='echo up > started; i=0; while [ ! -e release ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done'

# bg_cgroup CONTROLLER: the cgroup directory of the container of the
# background cagebox $BG_PID on CONTROLLER's v1 hierarchy.
bg_cgroup() {
	local d
	for d in /sys/fs/cgroup/"$1"/cagebox-exec-"$BG_PID"-*; do
		[ -d "$d" ] && {
			echo "$d"
			return 0
		}
	done
	fail "no cgroup /sys/fs/cgroup/$1/cagebox-exec-$BG_PID-* for the running container"
}

# report_field FILE JQ
report_field() {
	jq -r "$2" <"$1"
}

# ---------------------------------------------------------------- host fixtures

# start_listener: a host HTTP server on 127.0.0.1:$LISTEN_PORT serving
# $T/www/index.html ("hello-from-host-N"); killed by PID at teardown.
start_listener() {
	local try i
	mkdir -p "$T/www"
	echo "hello-from-host-$BATS_TEST_NUMBER" >"$T/www/index.html"
	for try in 1 2 3 4 5; do
		LISTEN_PORT=$((20000 + RANDOM % 30000))
		(cd "$T/www" && exec "$PY" -m http.server --bind 127.0.0.1 "$LISTEN_PORT") \
			</dev/null >"$T/www.log" 2>&1 3>&- &
		LISTEN_PID=$!
		echo "$LISTEN_PID" >>"$BATS_TEST_TMPDIR/bgpids"
		for i in $(seq 50); do
			if curl -fs --max-time 1 "http://127.0.0.1:$LISTEN_PORT/index.html" >/dev/null 2>&1; then
				export LISTEN_PORT LISTEN_PID
				return 0
			fi
			kill -0 "$LISTEN_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$LISTEN_PID" 2>/dev/null
	done
	fail "could not start a 127.0.0.1 listener: $(cat "$T/www.log")"
}

# host_marker_process: a host process (bounded: sleep 30, killed at
# teardown) whose argv[0] is $MARKER_NAME, for pid-namespace checks.
host_marker_process() {
	MARKER_NAME="cagebox-policy-marker-$BATS_TEST_NUMBER-$$"
	bash -c "exec -a $MARKER_NAME sleep 30" </dev/null >/dev/null 2>&1 3>&- &
	MARKER_PID=$!
	echo "$MARKER_PID" >>"$BATS_TEST_TMPDIR/bgpids"
	export MARKER_NAME MARKER_PID
}

# ---------------------------------------------------------------- leftovers

# pol_leftovers: prints one line per thing left behind by our cagebox runs;
# fails if there is any.
#  - state root: nothing but dot directories, and those empty, except the
#    seccomp cache .seccomp/ (documented in docs/runtime.md: compiled BPF
#    kept across runs), which may hold only *.bpf files;
#  - no cgroup cagebox-exec-<our pid>-* on any hierarchy;
#  - no live process in such a cgroup;
#  - no mount of this test's files in our mount namespace.
pol_leftovers() {
	local out="" e f pid
	e=$(state_root_leftovers "$STATE")
	[ -z "$e" ] || out+="$e"$'\n'
	while read -r pid; do
		[ -n "$pid" ] || continue
		for e in /sys/fs/cgroup/*/cagebox-exec-"$pid"-*; do
			[ -e "$e" ] && out+="cgroup: $e left behind"$'\n'
		done
		# Private bundles and rootfs skeletons (sandbox/mod.rs).
		for e in /dev/shm/cagebox-exec-"$pid"-*; do
			[ -e "$e" ] && out+="/dev/shm: $e left behind"$'\n'
		done
		for f in $(grep -lsF "/cagebox-exec-$pid-" /proc/[0-9]*/cgroup); do
			pid_alive "$(basename "$(dirname "$f")")" &&
				out+="process $(basename "$(dirname "$f")") still in a cgroup of cagebox $pid"$'\n'
		done
	done <"$CBX_PIDS"
	if grep -qF -e "$T" -e "$STATE" /proc/self/mountinfo; then
		out+="mounts: $(grep -F -e "$T" -e "$STATE" /proc/self/mountinfo)"$'\n'
	fi
	printf '%s' "$out"
	[ -z "$out" ]
}

# pol_cleanup_cgroups: what a broken cagebox left in cagebox-exec-<our pid>-*:
# SIGKILL the processes in it (ours), then rmdir (only empty dirs go).
pol_cleanup_cgroups() {
	local pid d p i left
	while read -r pid; do
		[ -n "$pid" ] || continue
		for d in /sys/fs/cgroup/freezer/cagebox-exec-"$pid"-*; do
			[ -f "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
		done
		for d in /sys/fs/cgroup/*/cagebox-exec-"$pid"-*; do
			[ -d "$d" ] || continue
			for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		done
		for ((i = 0; i < 20; i++)); do
			left=0
			for d in /sys/fs/cgroup/*/cagebox-exec-"$pid"-*; do
				[ -d "$d" ] || continue
				rmdir "$d" 2>/dev/null || left=1
			done
			[ "$left" -eq 0 ] && break
			sleep 0.1
		done
	done <"$CBX_PIDS"
	return 0
}

# assert_state_root_clean: the leftover check in the middle of a test.
assert_state_root_clean() {
	local out
	out="$(pol_leftovers)" || fail "leftovers: $out"
}

# ---------------------------------------------------------------- probes

needs_x86_64() {
	[ "$(uname -m)" = x86_64 ] || skip "the syscall probes use x86_64 numbers"
}

pol_write_fixtures() {
	local d=$1
	# syscall.py NAME ARG...: calls the syscall, prints "NAME rc=R errno=E".
	cat >"$d/syscall.py" <<'EOF'
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
NR = {"personality": 135, "ptrace": 101, "unshare": 272, "keyctl": 250,
      "mount": 165, "bpf": 321, "acct": 163, "socket": 41, "kill": 62,
      "x32:socket": 0x40000000 | 41}
name = sys.argv[1]
args = [ctypes.c_long(int(a, 0)) for a in sys.argv[2:]]
r = libc.syscall(ctypes.c_long(NR[name]), *args)
e = ctypes.get_errno() if r == -1 else 0
print(f"{name} rc={r} errno={e}", flush=True)
EOF
	# sockets.py: which address families socket() accepts.
	cat >"$d/sockets.py" <<'EOF'
import socket
for fam in (socket.AF_UNIX, socket.AF_INET, socket.AF_INET6):
    try:
        socket.socket(fam, socket.SOCK_STREAM).close()
        print(fam.name, "ok")
    except OSError as e:
        print(fam.name, "errno", e.errno)
EOF
	# get.py PORT: GET / from 127.0.0.1:PORT, prints the body.
	cat >"$d/get.py" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
print(data.decode().split("\r\n\r\n", 1)[1].strip())
EOF
	# selftalk.py: a listener on the sandbox's own 127.0.0.1 and a client.
	cat >"$d/selftalk.py" <<'EOF'
import socket
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
c = socket.create_connection(srv.getsockname(), timeout=3)
conn, _ = srv.accept()
c.sendall(b"ping")
print("selftalk", conn.recv(4).decode())
EOF
	# openfiles.py N: opens N files, prints how many it got and the errno.
	cat >"$d/openfiles.py" <<'EOF'
import os, sys
fds = []
err = 0
for _ in range(int(sys.argv[1])):
    try:
        fds.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as e:
        err = e.errno
        break
print(f"opened={len(fds)} errno={err}")
EOF
	# alloc.py MB: allocates MB megabytes in 8M steps (bounded), touching them.
	cat >"$d/alloc.py" <<'EOF'
import sys
chunks = []
for _ in range(int(sys.argv[1]) // 8):
    chunks.append(bytearray(8 << 20))
print("allocated", len(chunks) * 8, "MB", flush=True)
EOF
	# burn.py SECONDS: a CPU loop that stops by itself after SECONDS of wall time.
	cat >"$d/burn.py" <<'EOF'
import sys, time
end = time.time() + float(sys.argv[1])
while time.time() < end:
    pass
print("burned", flush=True)
EOF
	chmod 0644 "$d"/*.py
}
