#!/usr/bin/env bats
# OCI runtime lifecycle: every runc-compatible command, its flags and error
# paths, and the config.json features the runtime must enforce.
#
#   RUNTIME=/usr/sbin/runc bats integration/lifecycle.bats   # the reference
#   bats integration/lifecycle.bats                          # target/release/cagebox
#
# Needs root (tests skip otherwise). Where runc deviates from the OCI spec or
# from intuition, the test follows runc and says so in a comment ("runc:").

bats_require_minimum_version 1.5.0
load helpers/common

setup_file() { cbx_setup_file; }
teardown_file() { cbx_teardown_file; }
setup() { cbx_setup; }
teardown() { cbx_teardown; }

# A container that stays up until killed.
long_running() { set_args "${1:-$BUNDLE}" sleep 1000; }

# ============================================================== global flags

@test "global: --version prints a version and exits 0" {
	run -0 "$RUNTIME" --version
	[ -n "$output" ]
	[[ "$output" =~ [0-9]+\.[0-9]+ ]] || fail "no version number in: $output"
	local plain=$output
	# podman and containerd call it without --root; it must also work with it.
	run -0 rt --version
	assert_eq "$output" "$plain"
}

@test "global: --root keeps state private to that directory" {
	long_running
	rt_d create -b "$BUNDLE" "$ID"
	[ -d "$STATE/$ID" ] || fail "no state dir $STATE/$ID"
	run -0 rt list -q
	assert_eq "$output" "$ID"
	local other="$BATS_TEST_TMPDIR/other-root"
	run -0 timeout 20 "$RUNTIME" --root "$other" list -q
	assert_eq "$output" ""
	run ! timeout 20 "$RUNTIME" --root "$other" state "$ID"
	assert_contains "$output" "does not exist"
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "global: --log FILE --log-format json writes errors as JSON lines" {
	local log="$BATS_TEST_TMPDIR/runtime.log"
	run ! rt --log "$log" --log-format json state "$ID"
	# The user still sees the error on stderr.
	assert_contains "$output" "does not exist"
	[ -s "$log" ] || fail "log file $log is empty"
	jq -c . "$log" >/dev/null || fail "log file has a line that is not JSON: $(cat "$log")"
	run -0 jq -s -e 'map(select(.level == "error" and (.msg | type) == "string" and (.msg | length) > 0)) | length >= 1' "$log"
	run -0 jq -r 'select(.level == "error") | .msg' "$log"
	assert_contains "$output" "does not exist"
}

@test "global: --log FILE --log-format text writes logfmt lines" {
	local log="$BATS_TEST_TMPDIR/runtime.log"
	run ! rt --log "$log" --log-format text state "$ID"
	run -0 cat "$log"
	assert_contains "$output" "level=error"
	assert_contains "$output" "msg="
	assert_contains "$output" "does not exist"
}

@test "global: an invalid --log-format is rejected" {
	run ! rt --log-format bogus list
	assert_contains "$output" "bogus"
}

@test "global: --debug is accepted and does not change behaviour" {
	run -0 rt --debug list
	assert_contains "$output" "ID"
	set_sh "$BUNDLE" 'echo debug-run-ok'
	run -0 --separate-stderr rt --debug run -b "$BUNDLE" "$ID"
	assert_eq "$output" "debug-run-ok"
	assert_no_leftovers "$ID"
}

@test "global: an unknown command or a missing container id fails" {
	run ! rt no-such-command
	[ -n "$output" ]
	local cmd
	for cmd in create start state kill delete exec pause resume ps; do
		run ! rt "$cmd" </dev/null
		[ -n "$output" ] || fail "'$cmd' without an id: no message"
	done
	assert_state_root_empty
}

# ============================================================== create / start

@test "create: state 'created', process not started until start, then 'running'" {
	add_bind "$BUNDLE" "$HOSTDIR" /host
	set_sh "$BUNDLE" 'echo started > /host/started; exec sleep 1000'
	rt_d create -b "$BUNDLE" "$ID"
	run -0 field "$ID" .status
	assert_eq "$output" created
	local pid
	pid="$(field "$ID" .pid)"
	[ "$pid" -gt 0 ] && pid_alive "$pid" || fail "created container has no live init (pid $pid)"
	track_pid "$pid"
	sleep 0.2
	[ ! -e "$HOSTDIR/started" ] || fail "the user process ran before start"
	run -0 rt start "$ID"
	wait_file "$HOSTDIR/started"
	run -0 field "$ID" .status
	assert_eq "$output" running
	run -0 field "$ID" .pid
	assert_eq "$output" "$pid" "init pid changed across start"
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "create: --bundle, -b and the current directory select the bundle" {
	long_running
	local id2 id3 b2 b3
	id2="$(new_id short)"
	id3="$(new_id cwd)"
	b2="$(new_bundle "$id2")"
	b3="$(new_bundle "$id3")"
	long_running "$b2"
	long_running "$b3"
	rt_d create --bundle "$BUNDLE" "$ID"
	rt_d create -b "$b2" "$id2"
	(cd "$b3" && rt_d create "$id3")
	run -0 field "$ID" .bundle
	assert_eq "$output" "$BUNDLE"
	run -0 field "$id2" .bundle
	assert_eq "$output" "$b2"
	run -0 field "$id3" .bundle
	assert_eq "$output" "$(cd "$b3" && pwd -P)"
	for id in "$ID" "$id2" "$id3"; do
		run -0 rt delete --force "$id"
		assert_no_leftovers "$id"
	done
}

@test "create: --pid-file contains the pid of the live init process" {
	long_running
	local pidfile="$BATS_TEST_TMPDIR/init.pid"
	rt_d create -b "$BUNDLE" --pid-file "$pidfile" "$ID"
	[ -s "$pidfile" ] || fail "pid file $pidfile missing or empty"
	local pid
	pid="$(cat "$pidfile")"
	[[ "$pid" =~ ^[0-9]+$ ]] || fail "pid file holds '$pid'"
	track_pid "$pid"
	pid_alive "$pid" || fail "pid $pid from the pid file is not alive"
	assert_eq "$(field "$ID" .pid)" "$pid" "state pid vs pid file"
	[ "$(readlink "/proc/$pid/ns/pid")" != "$(readlink /proc/self/ns/pid)" ] ||
		fail "init $pid is not in a new pid namespace"
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "create: --console-socket receives the pty master" {
	needs_cmd python3 "the console socket receiver is a python3 script"
	python3 -c 'import socket; socket.recv_fds' 2>/dev/null || skip "python3 lacks socket.recv_fds (needs >= 3.9)"
	cat >"$BATS_TEST_TMPDIR/recv.py" <<-'EOF'
		# Accept one connection, take the pty master fd passed with SCM_RIGHTS,
		# write "ok" and whatever the container prints until "tty-done".
		import os, select, socket, sys, time
		path, out = sys.argv[1], sys.argv[2]
		srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		srv.bind(path)
		srv.listen(1)
		srv.settimeout(20)
		conn, _ = srv.accept()
		_, fds, _, _ = socket.recv_fds(conn, 4096, 4)
		with open(out, "w") as f:
		    if not fds or not os.isatty(fds[0]):
		        f.write("no-tty-fd\n")
		        sys.exit(1)
		    f.write("ok\n")
		    f.flush()
		    buf, deadline = b"", time.time() + 15
		    while time.time() < deadline and b"tty-done" not in buf:
		        if select.select([fds[0]], [], [], 0.5)[0]:
		            try:
		                chunk = os.read(fds[0], 4096)
		            except OSError:
		                break
		            if not chunk:
		                break
		            buf += chunk
		    f.write(buf.decode(errors="replace"))
	EOF
	local sock="$BATS_TEST_TMPDIR/console.sock" out="$BATS_TEST_TMPDIR/console.out"
	python3 "$BATS_TEST_TMPDIR/recv.py" "$sock" "$out" </dev/null >"$BATS_TEST_TMPDIR/recv.log" 2>&1 3>&- &
	local rpid=$!
	echo "$rpid" >>"$BATS_TEST_TMPDIR/bgpids"
	local i
	for ((i = 0; i < 100; i++)); do [ -S "$sock" ] && break; sleep 0.05; done
	[ -S "$sock" ] || fail "receiver did not listen: $(cat "$BATS_TEST_TMPDIR/recv.log")"
	cfg "$BUNDLE" '.process.terminal = true'
	set_sh "$BUNDLE" '[ -t 0 ] && [ -t 1 ] && echo stdio-is-a-tty; echo tty-done; sleep 2'
	rt_d create -b "$BUNDLE" --console-socket "$sock" "$ID"
	run -0 rt start "$ID"
	wait_exit "$rpid" 20
	local rc=0
	wait "$rpid" || rc=$?
	assert_eq "$rc" 0 "receiver exit status: $(cat "$BATS_TEST_TMPDIR/recv.log")"
	run -0 cat "$out"
	assert_eq "${lines[0]}" ok
	assert_contains "$output" "stdio-is-a-tty"
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "create: --no-pivot still jails the process in the rootfs" {
	add_bind "$BUNDLE" "$HOSTDIR" /host
	set_sh "$BUNDLE" '[ -f /noexec ] && [ ! -e /work ] && [ ! -e /usr/sbin/runc ] && echo rootfs-ok > /host/out; echo "$$" >> /host/out'
	rt_d create --no-pivot -b "$BUNDLE" "$ID"
	run -0 rt start "$ID"
	wait_status "$ID" stopped
	run -0 cat "$HOSTDIR/out"
	assert_eq "${lines[0]}" rootfs-ok
	assert_eq "${lines[1]}" 1
	run -0 rt delete "$ID"
	assert_no_leftovers "$ID"
}

@test "create: --no-new-keyring keeps the caller's session keyring" {
	# runc names the new session keyring "_ses.<id>"; /proc/keys is unmasked.
	cfg "$BUNDLE" '.linux.maskedPaths -= ["/proc/keys"]'
	add_bind "$BUNDLE" "$HOSTDIR" /host
	set_sh "$BUNDLE" 'cat /proc/keys > /host/keys'
	rt_d create -b "$BUNDLE" "$ID"
	run -0 rt start "$ID"
	wait_status "$ID" stopped
	run -0 cat "$HOSTDIR/keys"
	assert_contains "$output" "_ses.$ID"
	run -0 rt delete "$ID"

	local id2 b2
	id2="$(new_id nokeyring)"
	b2="$(new_bundle "$id2")"
	cp "$BUNDLE/config.json" "$b2/config.json"
	cfg "$b2" '.linux.cgroupsPath = $cg' --arg cg "/$CGROUP_PARENT/$id2"
	rm -f "$HOSTDIR/keys"
	rt_d create --no-new-keyring -b "$b2" "$id2"
	run -0 rt start "$id2"
	wait_status "$id2" stopped
	run -0 cat "$HOSTDIR/keys"
	assert_not_contains "$output" "_ses.$id2"
	run -0 rt delete "$id2"
	assert_no_leftovers "$ID"
	assert_no_leftovers "$id2"
}

@test "create: --preserve-fds 1 passes fd 3 into the container" {
	set_sh "$BUNDLE" 'echo via-fd3 > /proc/self/fd/3'
	local f="$BATS_TEST_TMPDIR/fd3.out"
	: >"$f"
	rt create --preserve-fds 1 -b "$BUNDLE" "$ID" </dev/null >>"$BATS_TEST_TMPDIR/detached.log" 2>&1 3>>"$f" ||
		fail "create failed: $(cat "$BATS_TEST_TMPDIR/detached.log")"
	run -0 rt start "$ID"
	wait_status "$ID" stopped
	run -0 cat "$f"
	assert_eq "$output" via-fd3
	run -0 rt delete "$ID"
	assert_no_leftovers "$ID"
}

@test "create: an existing id fails and leaves the existing container alone" {
	add_bind "$BUNDLE" "$HOSTDIR" /host
	set_sh "$BUNDLE" 'echo first > /host/out; exec sleep 1000'
	rt_d create -b "$BUNDLE" "$ID"
	local pid
	pid="$(field "$ID" .pid)"
	track_pid "$pid"
	run ! rt create -b "$BUNDLE" "$ID" </dev/null
	assert_contains "$output" "already exists"
	run -0 field "$ID" .status
	assert_eq "$output" created
	assert_eq "$(field "$ID" .pid)" "$pid"
	pid_alive "$pid" || fail "the existing init $pid died"
	run -0 rt start "$ID"
	wait_file "$HOSTDIR/out"
	assert_eq "$(cat "$HOSTDIR/out")" first
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "start: twice fails; start of a stopped or missing container fails" {
	long_running
	rt_d create -b "$BUNDLE" "$ID"
	run -0 rt start "$ID"
	run ! rt start "$ID"
	assert_contains "$output" "running"
	assert_eq "$(status_of "$ID")" running
	run -0 rt kill "$ID" KILL
	wait_status "$ID" stopped
	run ! rt start "$ID"
	assert_contains "$output" "stopped"
	run ! rt start "$(new_id missing)"
	assert_contains "$output" "does not exist"
	run -0 rt delete "$ID"
	assert_no_leftovers "$ID"
}

# ============================================================== run

@test "run: foreground, stdout/stderr pass through, exit code becomes the runtime's" {
	set_sh "$BUNDLE" 'echo out-line; echo err-line >&2; exit 7'
	run -7 --separate-stderr rt run -b "$BUNDLE" "$ID"
	assert_eq "$output" out-line
	assert_contains "$stderr" err-line
	assert_no_leftovers "$ID"
}

@test "run: exit codes 0, 1 and 126 are passed through" {
	local code
	for code in 0 1 126; do
		set_sh "$BUNDLE" "exit $code"
		run -"$code" rt run -b "$BUNDLE" "$ID"
	done
	assert_no_leftovers "$ID"
}

@test "run: a container killed by SIGKILL makes run exit 137" {
	long_running
	rt_bg "$BATS_TEST_TMPDIR/run.out" run -b "$BUNDLE" "$ID"
	local rpid=$BG_PID
	wait_status "$ID" running
	run -0 rt kill "$ID" KILL
	wait_exit "$rpid" 15
	local rc=0
	wait "$rpid" || rc=$?
	assert_eq "$rc" 137 "run exit status"
	assert_no_leftovers "$ID"
}

@test "run: SIGTERM to the runtime is forwarded to the container" {
	add_bind "$BUNDLE" "$HOSTDIR" /host
	set_sh "$BUNDLE" 'trap "echo got-term > /host/marker; exit 5" TERM; echo ready > /host/ready; while :; do sleep 0.1; done'
	rt_bg "$BATS_TEST_TMPDIR/run.out" run -b "$BUNDLE" "$ID"
	local rpid=$BG_PID
	wait_file "$HOSTDIR/ready"
	kill -TERM "$rpid"
	wait_exit "$rpid" 15
	local rc=0
	wait "$rpid" || rc=$?
	assert_eq "$rc" 5 "run exit status: $(cat "$BATS_TEST_TMPDIR/run.out")"
	assert_eq "$(cat "$HOSTDIR/marker")" got-term
	assert_no_leftovers "$ID"
}

@test "run: --detach returns at once with the container running" {
	long_running
	local t0=$SECONDS
	rt_d run --detach -b "$BUNDLE" "$ID"
	[ $((SECONDS - t0)) -lt 5 ] || fail "run --detach took $((SECONDS - t0))s"
	run -0 field "$ID" .status
	assert_eq "$output" running
	local pid
	pid="$(field "$ID" .pid)"
	track_pid "$pid"
	pid_alive "$pid"
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "run: a container that exits at once does not hang (10 times)" {
	set_args "$BUNDLE" /bin/true
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		CBX_TIMEOUT=20 run -0 rt run -b "$BUNDLE" "$ID"
	done
	assert_no_leftovers "$ID"
}

@test "run: stdin passes through" {
	set_args "$BUNDLE" cat
	run -0 with_stdin hi-stdin rt run -b "$BUNDLE" "$ID"
	assert_eq "$output" hi-stdin
	assert_no_leftovers "$ID"
}

@test "run: the container is removed afterwards, also after a failure" {
	set_sh "$BUNDLE" 'exit 3'
	run -3 rt run -b "$BUNDLE" "$ID"
	run ! rt state "$ID"
	assert_contains "$output" "does not exist"
	run -0 rt list -q
	assert_eq "$output" ""
	assert_no_leftovers "$ID"
}

# ============================================================== exec

# Start the test's main container (sleeping) and remember its init pid.
start_sleeper() {
	long_running
	rt_d run -d -b "$BUNDLE" "$ID"
	INIT_PID="$(field "$ID" .pid)"
	track_pid "$INIT_PID"
}

@test "exec: args form passes output and exit code" {
	start_sleeper
	run -3 --separate-stderr rt exec "$ID" sh -c 'echo exec-out; echo exec-err >&2; exit 3'
	assert_eq "$output" exec-out
	assert_contains "$stderr" exec-err
	run -0 rt exec "$ID" sh -c 'echo $$'
	[ "$output" != 1 ] || fail "exec'd process is pid 1"
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "exec: --process FILE runs a process.json" {
	start_sleeper
	jq '.process | .args = ["sh", "-c", "echo from-process-json $FOO; pwd"] | .env += ["FOO=bar"] | .cwd = "/etc"' \
		"$BUNDLE/config.json" >"$BATS_TEST_TMPDIR/process.json"
	run -0 rt exec --process "$BATS_TEST_TMPDIR/process.json" "$ID"
	assert_eq "${lines[0]}" "from-process-json bar"
	assert_eq "${lines[1]}" /etc
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "exec: --env, --cwd and --user" {
	start_sleeper
	run -0 rt exec --env K=V --env OTHER=x "$ID" sh -c 'echo "K=$K OTHER=$OTHER"; echo "PATH=$PATH"'
	assert_eq "${lines[0]}" "K=V OTHER=x"
	assert_contains "${lines[1]}" /bin
	run -0 rt exec --cwd /tmp "$ID" pwd
	assert_eq "$output" /tmp
	run -0 rt exec --user 65534:65534 "$ID" sh -c 'id -u; id -g; id'
	assert_eq "${lines[0]}" 65534
	assert_eq "${lines[1]}" 65534
	assert_contains "${lines[2]}" "uid=65534(nobody)"
	run -0 rt exec "$ID" id -u
	assert_eq "$output" 0
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "exec: --detach with --pid-file starts a process inside the container" {
	start_sleeper
	local pidfile="$BATS_TEST_TMPDIR/exec.pid"
	rt_d exec --detach --pid-file "$pidfile" "$ID" sleep 1000
	[ -s "$pidfile" ] || fail "no exec pid file"
	local pid
	pid="$(cat "$pidfile")"
	[[ "$pid" =~ ^[0-9]+$ ]] || fail "exec pid file holds '$pid'"
	track_pid "$pid"
	pid_alive "$pid" || fail "exec'd pid $pid not alive"
	assert_eq "$(readlink "/proc/$pid/ns/pid")" "$(readlink "/proc/$INIT_PID/ns/pid")" "pid namespace of exec'd process"
	assert_eq "$(readlink "/proc/$pid/ns/mnt")" "$(readlink "/proc/$INIT_PID/ns/mnt")" "mount namespace of exec'd process"
	run -0 rt ps --format json "$ID"
	assert_jq "$output" "index($pid) != null"
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "exec: --tty gives the process a terminal" {
	needs_cmd script "exec --tty needs a pty (bsdutils)"
	start_sleeper
	local cmd
	printf -v cmd '%q ' "$RUNTIME" --root "$STATE" exec --tty "$ID" sh -c '[ -t 0 ] && [ -t 1 ] && echo tty-yes || echo tty-no'
	SHELL=/bin/bash run -0 timeout 20 script -qefc "$cmd" /dev/null </dev/null
	assert_contains "$output" tty-yes
	run -0 rt exec "$ID" sh -c '[ -t 0 ] && echo tty-yes || echo tty-no'
	assert_eq "$output" tty-no
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "exec: into a stopped or missing container fails clearly" {
	set_args "$BUNDLE" /bin/true
	rt_d run -d -b "$BUNDLE" "$ID"
	wait_status "$ID" stopped
	run ! rt exec "$ID" true
	assert_contains "$output" "stopped"
	run ! rt exec "$(new_id missing)" true
	assert_contains "$output" "does not exist"
	run -0 rt delete "$ID"
	assert_no_leftovers "$ID"
}

@test "exec: a missing binary fails and the container keeps running" {
	start_sleeper
	run ! rt exec "$ID" /nonexistent
	assert_icontains "$output" "no such file or directory"
	run -0 field "$ID" .status
	assert_eq "$output" running
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

# ============================================================== kill

# A container whose init records the signals it gets in /host/signals.
start_trapper() { # start_trapper [EXIT_ON_TERM]
	add_bind "$BUNDLE" "$HOSTDIR" /host
	local on_term='echo TERM >> /host/signals'
	[ -n "${1:-}" ] && on_term="$on_term; exit 0"
	set_sh "$BUNDLE" "trap '$on_term' TERM; trap 'echo USR1 >> /host/signals' USR1; echo ready > /host/ready; while :; do sleep 0.05; done"
	rt_d run -d -b "$BUNDLE" "$ID"
	wait_file "$HOSTDIR/ready"
	track_pid "$(field "$ID" .pid)"
}

@test "kill: the default signal is TERM" {
	start_trapper exit
	run -0 rt kill "$ID"
	wait_status "$ID" stopped
	assert_eq "$(cat "$HOSTDIR/signals")" TERM
	run -0 rt delete "$ID"
	assert_no_leftovers "$ID"
}

@test "kill: signal names TERM, SIGTERM, USR1 and number 15" {
	start_trapper
	local sig n=0
	for sig in TERM SIGTERM 15 USR1; do
		run -0 rt kill "$ID" "$sig"
		n=$((n + 1))
		wait_lines "$HOSTDIR/signals" "$n" 5
	done
	run -0 cat "$HOSTDIR/signals"
	assert_eq "$output" "$(printf 'TERM\nTERM\nTERM\nUSR1')"
	assert_eq "$(status_of "$ID")" running
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "kill: KILL and 9 stop a container" {
	local id2 b2
	id2="$(new_id nine)"
	b2="$(new_bundle "$id2")"
	long_running
	long_running "$b2"
	rt_d run -d -b "$BUNDLE" "$ID"
	rt_d run -d -b "$b2" "$id2"
	track_pid "$(field "$ID" .pid)"
	track_pid "$(field "$id2" .pid)"
	run -0 rt kill "$ID" KILL
	run -0 rt kill "$id2" 9
	wait_status "$ID" stopped
	wait_status "$id2" stopped
	run -0 rt delete "$ID"
	run -0 rt delete "$id2"
	assert_no_leftovers "$ID"
	assert_no_leftovers "$id2"
}

@test "kill: --all signals every process of the container" {
	start_trapper
	rt_d exec -d "$ID" sh -c 'trap "echo exec-TERM >> /host/signals; exit 0" TERM; echo ready > /host/exec-ready; while :; do sleep 0.05; done'
	wait_file "$HOSTDIR/exec-ready"
	run -0 rt kill --all "$ID" TERM
	wait_lines "$HOSTDIR/signals" 2 5
	run -0 sort "$HOSTDIR/signals"
	assert_eq "$output" "$(printf 'TERM\nexec-TERM')"
	rt_d exec -d "$ID" sleep 1000
	run -0 rt kill --all "$ID" KILL
	wait_status "$ID" stopped
	run -0 rt delete "$ID"
	assert_no_leftovers "$ID"
}

@test "kill: missing container, stopped container and unknown signal fail" {
	run ! rt kill "$(new_id missing)" KILL
	assert_contains "$output" "does not exist"
	start_trapper
	run ! rt kill "$ID" NOSUCHSIG
	assert_eq "$(status_of "$ID")" running
	run -0 rt kill "$ID" KILL
	wait_status "$ID" stopped
	# runc: signalling a stopped container is an error ("container not running").
	run ! rt kill "$ID" KILL
	assert_contains "$output" "not running"
	run -0 rt delete "$ID"
	assert_no_leftovers "$ID"
}

# ============================================================== delete

@test "delete: a stopped container is removed with its cgroup" {
	set_args "$BUNDLE" /bin/true
	rt_d create -b "$BUNDLE" "$ID"
	run -0 rt start "$ID"
	wait_status "$ID" stopped
	[ -d "$(cgroup_dir memory "$ID")" ] || fail "no cgroup $(cgroup_dir memory "$ID") while the container exists"
	run -0 rt delete "$ID"
	assert_no_leftovers "$ID"
}

@test "delete: a running container needs --force" {
	start_sleeper
	run ! rt delete "$ID"
	assert_contains "$output" "not stopped"
	assert_eq "$(status_of "$ID")" running
	pid_alive "$INIT_PID"
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "delete: --force kills and removes a running container with exec'd processes" {
	start_sleeper
	rt_d exec -d --pid-file "$BATS_TEST_TMPDIR/exec.pid" "$ID" sleep 1000
	track_pid "$(cat "$BATS_TEST_TMPDIR/exec.pid")"
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "delete: a created (never started) container is removed without --force" {
	# runc: delete accepts the "created" state (it kills the waiting init).
	long_running
	rt_d create -b "$BUNDLE" "$ID"
	track_pid "$(field "$ID" .pid)"
	run -0 rt delete "$ID"
	assert_no_leftovers "$ID"
}

@test "delete: --force removes a paused container" {
	start_sleeper
	run -0 rt pause "$ID"
	assert_eq "$(status_of "$ID")" paused
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "delete: a missing container fails, with --force exits 0" {
	local missing
	missing="$(new_id missing)"
	run ! rt delete "$missing"
	assert_contains "$output" "does not exist"
	run -0 rt delete --force "$missing"
	assert_no_leftovers "$missing"
}

# ============================================================== state

@test "state: OCI state JSON for created, running and stopped" {
	add_bind "$BUNDLE" "$HOSTDIR" /host
	set_sh "$BUNDLE" 'while [ ! -e /host/go ]; do sleep 0.05; done'
	rt_d create -b "$BUNDLE" "$ID"
	run -0 rt state "$ID"
	local created=$output pid
	assert_jq "$created" '(.ociVersion | type == "string" and length > 0)'
	assert_jq "$created" ".id == \"$ID\" and .status == \"created\" and (.pid | type == \"number\" and . > 0)"
	assert_jq "$created" ".bundle == \"$BUNDLE\""
	assert_jq "$created" '.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")'
	pid="$(jq .pid <<<"$created")"
	track_pid "$pid"
	run -0 rt start "$ID"
	run -0 rt state "$ID"
	assert_jq "$output" ".status == \"running\" and .pid == $pid and .id == \"$ID\" and .bundle == \"$BUNDLE\""
	touch "$HOSTDIR/go"
	wait_status "$ID" stopped
	run -0 rt state "$ID"
	# runc: a stopped container reports pid 0.
	assert_jq "$output" ".status == \"stopped\" and ((.pid // 0) == 0) and .id == \"$ID\" and .bundle == \"$BUNDLE\""
	run -0 rt delete "$ID"
	run ! rt state "$ID"
	assert_contains "$output" "does not exist"
	assert_no_leftovers "$ID"
}

# ============================================================== list

@test "list: table header and one row per container" {
	local id2 b2
	id2="$(new_id second)"
	b2="$(new_bundle "$id2")"
	long_running
	long_running "$b2"
	run -0 rt list
	[[ "$output" =~ ^ID\ +PID\ +STATUS\ +BUNDLE\ +CREATED\ +OWNER$ ]] || fail "bad header: $output"
	rt_d create -b "$BUNDLE" "$ID"
	rt_d run -d -b "$b2" "$id2"
	local p1 p2
	p1="$(field "$ID" .pid)"
	p2="$(field "$id2" .pid)"
	run -0 rt list
	assert_eq "${#lines[@]}" 3
	[[ "${lines[0]}" =~ ^ID\ +PID\ +STATUS\ +BUNDLE\ +CREATED\ +OWNER$ ]] || fail "bad header: ${lines[0]}"
	local ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z'
	printf '%s\n' "${lines[@]}" | grep -qE "^$ID +$p1 +created +$BUNDLE +$ts +root\$" ||
		fail "no row for $ID in: $output"
	printf '%s\n' "${lines[@]}" | grep -qE "^$id2 +$p2 +running +$b2 +$ts +root\$" ||
		fail "no row for $id2 in: $output"
	run -0 rt delete --force "$ID"
	run -0 rt delete --force "$id2"
	assert_no_leftovers "$ID"
	assert_no_leftovers "$id2"
}

@test "list: --format json gives an array of states" {
	run -0 rt list --format json
	# runc prints "null" when there are no containers.
	assert_jq "$output" '(. // []) | type == "array" and length == 0'
	long_running
	rt_d run -d -b "$BUNDLE" "$ID"
	local pid
	pid="$(field "$ID" .pid)"
	run -0 rt list --format json
	assert_jq "$output" 'type == "array" and length == 1'
	assert_jq "$output" ".[0].id == \"$ID\" and .[0].status == \"running\" and .[0].pid == $pid"
	assert_jq "$output" ".[0].bundle == \"$BUNDLE\" and (.[0].created | type == \"string\") and (.[0].ociVersion | type == \"string\")"
	run -0 rt list -f json
	assert_jq "$output" ".[0].id == \"$ID\""
	run ! rt list --format bogus
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "list: -q prints the ids only" {
	run -0 rt list -q
	assert_eq "$output" ""
	local id2 b2
	id2="$(new_id second)"
	b2="$(new_bundle "$id2")"
	long_running
	long_running "$b2"
	rt_d create -b "$BUNDLE" "$ID"
	rt_d create -b "$b2" "$id2"
	run -0 rt list -q
	assert_eq "$(printf '%s\n' "${lines[@]}" | sort)" "$(printf '%s\n' "$ID" "$id2" | sort)"
	run -0 rt list --quiet
	assert_eq "${#lines[@]}" 2
	run -0 rt delete --force "$ID"
	run -0 rt delete --force "$id2"
	assert_no_leftovers "$ID"
	assert_no_leftovers "$id2"
}

# ============================================================== ps

@test "ps: table and --format json list the container's processes" {
	start_sleeper
	rt_d exec -d --pid-file "$BATS_TEST_TMPDIR/exec.pid" "$ID" sleep 999
	local epid
	epid="$(cat "$BATS_TEST_TMPDIR/exec.pid")"
	track_pid "$epid"
	run -0 rt ps "$ID"
	[[ "${lines[0]}" =~ PID ]] || fail "no PID column in header: ${lines[0]}"
	local col
	col="$(awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "PID") print i }' <<<"$output")"
	[ -n "$col" ] || fail "no PID column in header: ${lines[0]}"
	awk -v c="$col" -v p="$INIT_PID" 'NR > 1 && $c == p { found = 1 } END { exit !found }' <<<"$output" ||
		fail "init pid $INIT_PID not in: $output"
	awk -v c="$col" -v p="$epid" 'NR > 1 && $c == p { found = 1 } END { exit !found }' <<<"$output" ||
		fail "exec pid $epid not in: $output"
	run -0 rt ps --format json "$ID"
	assert_jq "$output" "type == \"array\" and all(.[]; type == \"number\") and index($INIT_PID) != null and index($epid) != null"
	run ! rt ps "$(new_id missing)"
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

# ============================================================== pause / resume

@test "pause/resume: paused processes do not run, resumed ones do" {
	add_bind "$BUNDLE" "$HOSTDIR" /host
	set_sh "$BUNDLE" 'i=0; while :; do i=$((i+1)); echo $i > /host/c.tmp; mv /host/c.tmp /host/counter; sleep 0.02; done'
	rt_d run -d -b "$BUNDLE" "$ID"
	track_pid "$(field "$ID" .pid)"
	wait_file "$HOSTDIR/counter"
	run -0 rt pause "$ID"
	run -0 field "$ID" .status
	assert_eq "$output" paused
	run -0 rt list
	assert_contains "$output" paused
	local freezer
	freezer="$(cgroup_dir freezer "$ID")/freezer.state"
	if [ -f "$freezer" ]; then assert_eq "$(cat "$freezer")" FROZEN; fi
	local c1 c2
	c1="$(cat "$HOSTDIR/counter")"
	sleep 0.5
	c2="$(cat "$HOSTDIR/counter")"
	assert_eq "$c2" "$c1" "counter advanced while paused"
	run -0 rt resume "$ID"
	run -0 field "$ID" .status
	assert_eq "$output" running
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(cat "$HOSTDIR/counter")" -gt "$c1" ] && break
		sleep 0.05
	done
	[ "$(cat "$HOSTDIR/counter")" -gt "$c1" ] || fail "counter did not advance after resume"
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "pause/resume: resume of a running and pause/resume of a missing container fail" {
	start_sleeper
	run ! rt resume "$ID"
	assert_contains "$output" "not paused"
	assert_eq "$(status_of "$ID")" running
	run ! rt pause "$(new_id missing)"
	assert_contains "$output" "does not exist"
	run ! rt resume "$(new_id missing2)"
	assert_contains "$output" "does not exist"
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

# ============================================================== events

@test "events: --stats prints one stats object" {
	start_sleeper
	run -0 --separate-stderr rt events --stats "$ID"
	assert_eq "${#lines[@]}" 1
	assert_jq "$output" ".type == \"stats\" and .id == \"$ID\""
	assert_jq "$output" '.data | (.cpu | type == "object") and (.memory | type == "object") and (.pids | type == "object")'
	assert_jq "$output" '.data.pids.current >= 1 and .data.cpu.usage.total > 0 and .data.memory.usage.usage > 0'
	run ! rt events --stats "$(new_id missing)"
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "events: --interval 1s streams stats until killed" {
	start_sleeper
	local out="$BATS_TEST_TMPDIR/events.out"
	rt_bg "$out" events --interval 1s "$ID"
	local epid=$BG_PID
	wait_lines "$out" 2 10
	kill -TERM "$epid"
	wait_exit "$epid" 5
	head -2 "$out" | jq -s -e --arg id "$ID" 'length == 2 and all(.[]; .type == "stats" and .id == $id and (.data | type == "object"))' ||
		fail "bad events stream: $(cat "$out")"
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

# ============================================================== features

@test "features: JSON describing the runtime" {
	run -0 --separate-stderr rt features
	local f=$output
	assert_jq "$f" '(.ociVersionMin | type == "string") and (.ociVersionMax | type == "string")'
	assert_jq "$f" '(.hooks | type == "array") and (["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] - .hooks == [])'
	assert_jq "$f" '(.mountOptions | type == "array" and length > 0) and (["ro", "rw", "bind", "rbind", "nosuid", "nodev", "noexec"] - .mountOptions == [])'
	assert_jq "$f" '(.linux.namespaces | type == "array") and (["pid", "network", "mount", "ipc", "uts", "user", "cgroup"] - .linux.namespaces == [])'
	assert_jq "$f" '(.linux.capabilities | type == "array" and length > 0 and all(.[]; startswith("CAP_"))) and (.linux.capabilities | index("CAP_SYS_ADMIN") != null)'
	assert_jq "$f" '.linux.cgroup | type == "object" and (.v1 | type == "boolean") and (.v2 | type == "boolean")'
	assert_jq "$f" '.linux.cgroup.v1 == true'
	assert_jq "$f" '.linux.seccomp.enabled == true'
	assert_jq "$f" '(.linux.seccomp.actions | type == "array") and (["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL"] - .linux.seccomp.actions == [])'
	assert_jq "$f" '(.linux.seccomp.operators | type == "array") and (.linux.seccomp.operators | index("SCMP_CMP_EQ") != null)'
}

# ============================================================== spec

@test "spec: writes config.json in the cwd and refuses to overwrite it" {
	local d="$BATS_TEST_TMPDIR/specdir"
	mkdir -p "$d"
	run -0 bash -c 'cd "$1" && shift && "$@"' _ "$d" timeout 20 "$RUNTIME" --root "$STATE" spec
	[ -f "$d/config.json" ] || fail "no config.json in $d"
	assert_jq "$(cat "$d/config.json")" '(.ociVersion | type == "string" and length > 0) and (.process.args | length > 0) and (.root.path | type == "string")'
	local before
	before="$(sha256sum <"$d/config.json")"
	run ! bash -c 'cd "$1" && shift && "$@"' _ "$d" timeout 20 "$RUNTIME" --root "$STATE" spec
	assert_contains "$output" "File config.json exists. Remove it first"
	assert_eq "$(sha256sum <"$d/config.json")" "$before" "config.json was changed"
}

@test "spec: --bundle DIR writes there" {
	local d="$BATS_TEST_TMPDIR/specbundle" cwd="$BATS_TEST_TMPDIR/cwd"
	mkdir -p "$d" "$cwd"
	run -0 bash -c 'cd "$1" && shift && "$@"' _ "$cwd" timeout 20 "$RUNTIME" --root "$STATE" spec --bundle "$d"
	[ -f "$d/config.json" ] || fail "no config.json in $d"
	[ ! -e "$cwd/config.json" ] || fail "spec --bundle also wrote into the cwd"
	assert_jq "$(cat "$d/config.json")" '.ociVersion | type == "string"'
	run ! rt spec -b "$d"
	assert_contains "$output" "exists"
}

@test "spec: --rootless adds a user namespace and id mappings" {
	local d="$BATS_TEST_TMPDIR/rootless"
	mkdir -p "$d"
	run -0 rt spec --rootless --bundle "$d"
	local c
	c="$(cat "$d/config.json")"
	assert_jq "$c" '[.linux.namespaces[].type] | index("user") != null'
	assert_jq "$c" ".linux.uidMappings | type == \"array\" and length > 0 and .[0].hostID == $(id -u) and .[0].size >= 1"
	assert_jq "$c" ".linux.gidMappings | type == \"array\" and length > 0 and .[0].hostID == $(id -g)"
}

@test "spec: the generated config runs with a relative rootfs" {
	local d="$BATS_TEST_TMPDIR/specrun"
	mkdir -p "$d"
	run -0 rt spec --bundle "$d"
	cp -a "$CBX_ROOTFS" "$d/rootfs"
	cfg "$d" '.process.terminal = false | .process.args = ["sh", "-c", "echo spec-ok; [ -f /noexec ] && echo rootfs-ok"] | .linux.cgroupsPath = $cg | .root.path = "rootfs"' \
		--arg cg "/$CGROUP_PARENT/$ID"
	run -0 rt run -b "$d" "$ID"
	assert_eq "${lines[0]}" spec-ok
	assert_eq "${lines[1]}" rootfs-ok
	assert_no_leftovers "$ID"
}

# ============================================================== spec contents enforced

@test "config: bind mounts rw and ro, tmpfs, read-only root" {
	mkdir -p "$BATS_TEST_TMPDIR/rw" "$BATS_TEST_TMPDIR/ro"
	echo host-ro-content >"$BATS_TEST_TMPDIR/ro/file"
	add_bind "$BUNDLE" "$BATS_TEST_TMPDIR/rw" /data rw
	add_bind "$BUNDLE" "$BATS_TEST_TMPDIR/ro" /ro ro
	cfg "$BUNDLE" '.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=1m"]}]'
	set_sh "$BUNDLE" 'echo from-container > /data/written && echo rw-ok
		cat /ro/file
		touch /ro/new 2>&1 || echo ro-denied
		touch /tmp/x && echo tmpfs-ok
		touch /rootfile 2>&1 || echo root-ro'
	run -0 rt run -b "$BUNDLE" "$ID"
	assert_eq "${lines[0]}" rw-ok
	assert_eq "${lines[1]}" host-ro-content
	assert_contains "$output" "Read-only file system"
	assert_contains "$output" ro-denied
	assert_contains "$output" tmpfs-ok
	assert_contains "$output" root-ro
	assert_eq "$(cat "$BATS_TEST_TMPDIR/rw/written")" from-container
	[ ! -e "$BATS_TEST_TMPDIR/ro/new" ] || fail "write through a ro bind mount reached the host"
	[ ! -e "$CBX_ROOTFS/rootfile" ] || fail "write to the read-only root reached the host"
	assert_no_leftovers "$ID"
}

@test "config: pid, uts and network namespaces" {
	cfg "$BUNDLE" '.hostname = "cbx-uts-test"'
	set_sh "$BUNDLE" 'echo $$; hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/uts'
	run -0 rt run -b "$BUNDLE" "$ID"
	assert_eq "${lines[0]}" 1
	assert_eq "${lines[1]}" cbx-uts-test
	[ "${lines[2]}" != "$(readlink /proc/self/ns/net)" ] || fail "container shares the host network namespace"
	[ "${lines[3]}" != "$(readlink /proc/self/ns/uts)" ] || fail "container shares the host uts namespace"
	[ "$(hostname)" != cbx-uts-test ] || fail "the host's hostname changed"
	assert_no_leftovers "$ID"
}

@test "config: joining a network namespace by path" {
	long_running
	rt_d run -d -b "$BUNDLE" "$ID"
	local apid anet
	apid="$(field "$ID" .pid)"
	track_pid "$apid"
	anet="$(readlink "/proc/$apid/ns/net")"
	local id2 b2
	id2="$(new_id joiner)"
	b2="$(new_bundle "$id2")"
	set_args "$b2" readlink /proc/self/ns/net
	cfg "$b2" '(.linux.namespaces[] | select(.type == "network")) |= (.path = $p)' --arg p "/proc/$apid/ns/net"
	run -0 rt run -b "$b2" "$id2"
	assert_eq "$output" "$anet"
	[ "$output" != "$(readlink /proc/self/ns/net)" ] || fail "joined the host network namespace"
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
	assert_no_leftovers "$id2"
}

@test "config: rlimits (RLIMIT_NOFILE)" {
	set_sh "$BUNDLE" 'ulimit -n; ulimit -Hn'
	run -0 rt run -b "$BUNDLE" "$ID"
	assert_eq "${lines[0]}" 1024
	assert_eq "${lines[1]}" 1024
	cfg "$BUNDLE" '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000}]'
	run -0 rt run -b "$BUNDLE" "$ID"
	assert_eq "${lines[0]}" 512
	assert_eq "${lines[1]}" 1000
	assert_no_leftovers "$ID"
}

# hook_json CMD: one hook entry running `sh -c CMD`.
hook_json() {
	printf '{"path": "/bin/sh", "args": ["sh", "-c", %s]}' "$(json_str "$1")"
}

@test "config: hooks run at their lifecycle points" {
	local o="$HOSTDIR/order"
	add_bind "$BUNDLE" "$HOSTDIR" /host
	set_sh "$BUNDLE" 'echo process >> /host/order; while [ ! -e /host/go ]; do sleep 0.05; done'
	cfg "$BUNDLE" '.hooks = {
			"prestart": [$pre], "createRuntime": [$cr], "createContainer": [$cc],
			"startContainer": [$sc], "poststart": [$ps], "poststop": [$pst]}' \
		--argjson pre "$(hook_json "cat > $HOSTDIR/prestart.json; echo prestart >> $o")" \
		--argjson cr "$(hook_json "echo createRuntime >> $o; readlink /proc/self/ns/mnt > $HOSTDIR/cr.mnt")" \
		--argjson cc "$(hook_json "echo createContainer >> $o; readlink /proc/self/ns/mnt > $HOSTDIR/cc.mnt")" \
		--argjson sc "$(hook_json 'echo startContainer >> /host/order')" \
		--argjson ps "$(hook_json "cat > $HOSTDIR/poststart.json; echo poststart >> $o")" \
		--argjson pst "$(hook_json "echo poststop >> $o")"
	rt_d create -b "$BUNDLE" "$ID"
	track_pid "$(field "$ID" .pid)"
	run -0 cat "$o"
	assert_eq "${lines[0]}" prestart
	assert_eq "${lines[1]}" createRuntime
	assert_eq "${lines[2]}" createContainer
	assert_not_contains "$output" startContainer
	assert_not_contains "$output" process
	# runc 1.1 already runs poststart hooks during create (before the user
	# process starts); the spec wants them after start. Either is accepted.
	# Hooks get the state on stdin.
	assert_jq "$(cat "$HOSTDIR/prestart.json")" ".id == \"$ID\" and .pid > 0 and .bundle == \"$BUNDLE\" and (.ociVersion | type == \"string\")"
	# createRuntime runs in the runtime's namespace, createContainer in the container's.
	assert_eq "$(cat "$HOSTDIR/cr.mnt")" "$(readlink /proc/self/ns/mnt)" "createRuntime mount namespace"
	[ "$(cat "$HOSTDIR/cc.mnt")" != "$(readlink /proc/self/ns/mnt)" ] || fail "createContainer ran in the host mount namespace"
	run -0 rt start "$ID"
	wait_lines "$o" 6 5
	run -0 cat "$o"
	assert_contains "$output" poststart
	# startContainer runs inside the container (its path resolved there) before the process.
	assert_eq "$(grep -vx poststart "$o" | sed -n 4,5p | tr '\n' ' ')" "startContainer process "
	assert_not_contains "$output" poststop
	assert_jq "$(cat "$HOSTDIR/poststart.json")" ".id == \"$ID\""
	touch "$HOSTDIR/go"
	wait_status "$ID" stopped
	! grep -q poststop "$o" || fail "poststop ran before delete"
	run -0 rt delete "$ID"
	run -0 tail -1 "$o"
	assert_eq "$output" poststop
	assert_no_leftovers "$ID"
}

@test "config: poststop hooks also run at the end of run" {
	set_args "$BUNDLE" /bin/true
	cfg "$BUNDLE" '.hooks = {"poststop": [$h]}' --argjson h "$(hook_json "echo poststop >> $HOSTDIR/order")"
	run -0 rt run -b "$BUNDLE" "$ID"
	assert_eq "$(cat "$HOSTDIR/order")" poststop
	assert_no_leftovers "$ID"
}

@test "config: a failing createRuntime hook fails create and leaves nothing behind" {
	set_args "$BUNDLE" /bin/true
	cfg "$BUNDLE" '.hooks = {"createRuntime": [$h]}' --argjson h "$(hook_json 'echo hook-said-no >&2; exit 3')"
	run ! rt create -b "$BUNDLE" "$ID" </dev/null
	assert_contains "$output" "hook"
	assert_no_leftovers "$ID"
	assert_state_root_empty
	cfg "$BUNDLE" '.hooks = {"prestart": [{"path": "/nonexistent-hook"}]}'
	run ! rt run -b "$BUNDLE" "$ID" </dev/null
	assert_contains "$output" "/nonexistent-hook"
	assert_no_leftovers "$ID"
	assert_state_root_empty
}

@test "config: maskedPaths hide files and directories" {
	echo top-secret >"$HOSTDIR/secret.txt"
	mkdir -p "$HOSTDIR/secretdir"
	echo inner >"$HOSTDIR/secretdir/inner"
	echo visible >"$HOSTDIR/visible.txt"
	add_bind "$BUNDLE" "$HOSTDIR" /data
	cfg "$BUNDLE" '.linux.maskedPaths += ["/data/secret.txt", "/data/secretdir"]'
	set_sh "$BUNDLE" 'echo "[$(cat /data/secret.txt)]"; echo "[$(ls -A /data/secretdir)]"; cat /data/visible.txt'
	run -0 rt run -b "$BUNDLE" "$ID"
	assert_eq "${lines[0]}" "[]"
	assert_eq "${lines[1]}" "[]"
	assert_eq "${lines[2]}" visible
	assert_eq "$(cat "$HOSTDIR/secret.txt")" top-secret
	assert_eq "$(cat "$HOSTDIR/secretdir/inner")" inner
	assert_no_leftovers "$ID"
}

@test "config: readonlyPaths cannot be written" {
	mkdir -p "$HOSTDIR/rodir"
	add_bind "$BUNDLE" "$HOSTDIR" /data
	cfg "$BUNDLE" '.linux.readonlyPaths += ["/data/rodir"]'
	set_sh "$BUNDLE" 'touch /data/rodir/x 2>&1 || echo rodir-denied
		touch /data/rw-ok && echo rw-ok
		echo cbx > /proc/sys/kernel/domainname 2>&1 || echo procsys-denied'
	run -0 rt run -b "$BUNDLE" "$ID"
	assert_contains "$output" "Read-only file system"
	assert_contains "$output" rodir-denied
	assert_contains "$output" rw-ok
	assert_contains "$output" procsys-denied
	[ ! -e "$HOSTDIR/rodir/x" ] || fail "write into a readonlyPath reached the host"
	assert_no_leftovers "$ID"
}

@test "config: sysctl net.ipv4.ip_forward=1 in a new network namespace" {
	local host_before
	host_before="$(cat /proc/sys/net/ipv4/ip_forward)"
	cfg "$BUNDLE" '.linux.sysctl = {"net.ipv4.ip_forward": "1"}'
	set_args "$BUNDLE" cat /proc/sys/net/ipv4/ip_forward
	run -0 rt run -b "$BUNDLE" "$ID"
	assert_eq "$output" 1
	assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_before" "host ip_forward changed"
	assert_no_leftovers "$ID"
}

@test "config: linux.devices creates device nodes" {
	cfg "$BUNDLE" '.linux.devices = [
			{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 438, "uid": 0, "gid": 0},
			{"path": "/dev/myzero", "type": "c", "major": 1, "minor": 5, "fileMode": 420, "uid": 0, "gid": 0}]
		| .linux.resources.devices += [
			{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
			{"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"}]'
	set_sh "$BUNDLE" '[ -c /dev/mynull ] && echo is-char; stat -c "%t:%T %a" /dev/mynull /dev/myzero
		echo x > /dev/mynull && echo null-write-ok
		head -c 4 /dev/myzero | od -An -tx1'
	run -0 rt run -b "$BUNDLE" "$ID"
	assert_eq "${lines[0]}" is-char
	assert_eq "${lines[1]}" "1:3 666"
	assert_eq "${lines[2]}" "1:5 644"
	assert_eq "${lines[3]}" null-write-ok
	assert_eq "$(echo ${lines[4]})" "00 00 00 00"
	assert_no_leftovers "$ID"
}

@test "config: cgroup resources are written to /cagebox-test/<id>" {
	long_running
	cfg "$BUNDLE" '.linux.resources.memory = {"limit": 67108864} | .linux.resources.pids = {"limit": 42} | .linux.resources.cpu = {"shares": 512}'
	rt_d create -b "$BUNDLE" "$ID"
	local pid
	pid="$(field "$ID" .pid)"
	track_pid "$pid"
	assert_eq "$(cat "$(cgroup_dir memory "$ID")/memory.limit_in_bytes")" 67108864
	assert_eq "$(cat "$(cgroup_dir pids "$ID")/pids.max")" 42
	assert_eq "$(cat "$(cgroup_dir cpu "$ID")/cpu.shares")" 512
	grep -qx "$pid" "$(cgroup_dir memory "$ID")/cgroup.procs" || fail "init $pid not in its memory cgroup"
	grep -qE "^[0-9]+:memory:/$CGROUP_PARENT/$ID\$" "/proc/$pid/cgroup" || fail "init cgroup: $(cat "/proc/$pid/cgroup")"
	run -0 rt delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "config: the pids limit is enforced" {
	cfg "$BUNDLE" '.linux.resources.pids = {"limit": 5}'
	set_sh "$BUNDLE" 'i=0; while [ $i -lt 10 ]; do sleep 3 & i=$((i+1)); done; echo all-forked'
	run ! rt run -b "$BUNDLE" "$ID"
	assert_contains "$output" "fork"
	assert_not_contains "$output" all-forked
	assert_no_leftovers "$ID"
}

@test "config: seccomp errnoRet 1 and 38 for mkdir" {
	set_sh "$BUNDLE" 'mkdir /dev/shm/d 2>&1 && echo mkdir-ok'
	run -0 rt run -b "$BUNDLE" "$ID"
	assert_eq "$output" mkdir-ok
	local rule='{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": $e}]}'
	cfg "$BUNDLE" ".linux.seccomp = $rule" --argjson e 1
	run ! rt run -b "$BUNDLE" "$ID"
	assert_contains "$output" "Operation not permitted"
	assert_not_contains "$output" mkdir-ok
	cfg "$BUNDLE" ".linux.seccomp = $rule" --argjson e 38
	run ! rt run -b "$BUNDLE" "$ID"
	assert_contains "$output" "Function not implemented"
	assert_not_contains "$output" "Operation not permitted"
	assert_no_leftovers "$ID"
}

# ============================================================== errors

@test "errors: a missing bundle directory" {
	run ! rt create -b "$BATS_TEST_TMPDIR/no-such-bundle" "$ID" </dev/null
	assert_icontains "$output" "no such file or directory"
	assert_contains "$output" "no-such-bundle"
	assert_no_leftovers "$ID"
	assert_state_root_empty
	run ! rt run -b "$BATS_TEST_TMPDIR/no-such-bundle" "$ID" </dev/null
	assert_no_leftovers "$ID"
	assert_state_root_empty
}

@test "errors: a bundle without config.json" {
	rm "$BUNDLE/config.json"
	run ! rt create -b "$BUNDLE" "$ID" </dev/null
	assert_contains "$output" "config.json"
	assert_no_leftovers "$ID"
	assert_state_root_empty
}

@test "errors: a malformed config.json" {
	head -c 200 "$BASE_CONFIG" >"$BUNDLE/config.json"
	run ! rt create -b "$BUNDLE" "$ID" </dev/null
	# runc only says "unexpected EOF" (it does not name the file).
	[ -n "$output" ]
	assert_no_leftovers "$ID"
	assert_state_root_empty
	echo '{"ociVersion": "1.0.2", "process": 5}' >"$BUNDLE/config.json"
	run ! rt run -b "$BUNDLE" "$ID" </dev/null
	[ -n "$output" ]
	assert_no_leftovers "$ID"
	assert_state_root_empty
}

@test "errors: bad container ids are refused" {
	long_running
	local bad
	for bad in "../x" "a/b" "" "." ".." "a b"; do
		run ! rt create -b "$BUNDLE" "$bad" </dev/null
		[ -n "$output" ] || fail "no error message for id '$bad'"
		assert_state_root_empty
		[ ! -e "$BATS_TEST_TMPDIR/x" ] || fail "id '$bad' escaped the state root"
		run ! rt run -b "$BUNDLE" "$bad" </dev/null
		assert_state_root_empty
		[ ! -e "$BATS_TEST_TMPDIR/x" ] || fail "id '$bad' escaped the state root"
	done
	run ! rt create -b "$BUNDLE" "../x" </dev/null
	assert_contains "$output" "invalid container ID"
	run ! rt create -b "$BUNDLE" "" </dev/null
	assert_contains "$output" "empty"
	assert_no_leftovers "$ID"
}

@test "errors: a missing entrypoint fails with 'no such file or directory'" {
	set_args "$BUNDLE" /nonexistent
	run ! rt create -b "$BUNDLE" "$ID" </dev/null
	assert_icontains "$output" "no such file or directory"
	assert_contains "$output" "/nonexistent"
	assert_no_leftovers "$ID"
	assert_state_root_empty
	run ! rt run -b "$BUNDLE" "$ID" </dev/null
	assert_icontains "$output" "no such file or directory"
	assert_no_leftovers "$ID"
	assert_state_root_empty
}

@test "errors: a non-executable entrypoint fails with 'permission denied'" {
	set_args "$BUNDLE" /noexec
	run ! rt create -b "$BUNDLE" "$ID" </dev/null
	assert_icontains "$output" "permission denied"
	assert_no_leftovers "$ID"
	assert_state_root_empty
	run ! rt run -b "$BUNDLE" "$ID" </dev/null
	assert_icontains "$output" "permission denied"
	assert_not_contains "$output" should-not-run
	assert_no_leftovers "$ID"
	assert_state_root_empty
}
