#!/usr/bin/env bats
# End-to-end tests: Docker Engine (Debian's docker.io, dockerd 20.10, its own
# containerd 1.6 and the runc v2 shim) driving the OCI runtime given by
# $RUNTIME, registered in a private daemon.json and made the default runtime.
# Everything dockerd stores lives in a private temp dir (helpers/docker.bash).
#
#   RUNTIME=/usr/sbin/runc bats integration/docker.bats     # reference
#   bats integration/docker.bats                             # target/release/cagebox
#
# setup_file installs docker.io if it is missing (no service is started);
# DOCKER_NO_INSTALL=1 skips instead, DOCKER_REQUIRE=1 turns skips into failures.
# Tests marked "(cagebox only)" skip on other runtimes, with the reason.

bats_require_minimum_version 1.5.0

load helpers/docker

: "${BATS_TEST_TIMEOUT:=120}"
export BATS_TEST_TIMEOUT

setup_file() { docker_setup_file; }
teardown_file() { docker_teardown_file; }
setup() { docker_setup; }
teardown() { docker_teardown; }

IMG=localhost/cagebox-busybox:latest
# Docker's default capability set (CHOWN DAC_OVERRIDE FOWNER FSETID KILL
# SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP).
DOCKER_DEFAULT_CAPS=00000000a80425fb

need_cagebox() {
	is_cagebox || skip "$1 is a cagebox feature; $(basename "$RUNTIME") has none"
}

# --- basics ---------------------------------------------------------------

@test "docker: run --rm prints stdout and stderr; the registered runtime runs the container" {
	run --separate-stderr dk_run --rm "$IMG" sh -c 'echo hello-from-docker; echo to-stderr >&2; test -e /.cagebox-rootfs && echo image-rootfs'
	assert_status 0
	assert_output "hello-from-docker
image-rootfs"
	[ "$stderr" = "to-stderr" ] || _fail_with "stderr should be exactly 'to-stderr'"

	local cid id pid ns
	cid=$(dk_run -d "$IMG" sleep 1000)
	id=$(dk_id "$cid")
	assert_eq "$(dk inspect --format '{{.HostConfig.Runtime}}' "$id")" "$DK_RT" "HostConfig.Runtime"
	pid=$(dk_pid "$id")
	for ns in mnt uts ipc pid net; do
		[ "$(readlink "/proc/$pid/ns/$ns")" != "$(readlink "/proc/self/ns/$ns")" ] ||
			{ echo "the container shares the host's $ns namespace"; return 1; }
	done
	# $RUNTIME itself knows the container in the root the shim gave it
	# (runc and cagebox cannot read each other's state).
	run --separate-stderr "$RUNTIME" --root "$(dk_runtime_root)" state "$id"
	assert_status 0
	assert_output_contains '"status": "running"'
	assert_output_contains "\"pid\": $pid"
}

@test "docker: the exit status of the container is docker's (run, wait, inspect)" {
	run dk_run --rm "$IMG" sh -c 'exit 42'
	assert_status 42
	run dk_run --rm "$IMG" false
	assert_status 1
	run dk_run --rm "$IMG" true
	assert_status 0
	local cid
	cid=$(dk_run -d "$IMG" sh -c 'sleep 0.2; exit 3')
	dk_id "$cid" >/dev/null
	run dk wait "$cid"
	assert_output 3
	assert_eq "$(dk inspect --format '{{.State.ExitCode}}' "$cid")" 3 ExitCode
}

@test "docker: missing entrypoint gives 127, non-executable gives 126, with the runtime's message" {
	run -127 --separate-stderr dk_run --rm "$IMG" /no/such/binary
	assert_status 127
	case "$stderr" in *'/no/such/binary'*'no such file or directory'*) ;; *) _fail_with "runtime's error not shown" ;; esac
	# What the shim says when log.json has no {"level":"error","msg":...}.
	case "$stderr" in *"unable to retrieve OCI runtime error"*) _fail_with "no JSON error from the runtime" ;; esac
	run -126 --separate-stderr dk_run --rm "$IMG" /etc/passwd
	assert_status 126
	case "$stderr" in *'/etc/passwd'*'permission denied'*) ;; *) _fail_with "runtime's error not shown" ;; esac
	run -127 --separate-stderr dk_run --rm --cidfile "$BATS_TEST_TMPDIR/cid" --entrypoint /no/such/entrypoint "$IMG"
	assert_status 127
	local id
	id=$(cat "$BATS_TEST_TMPDIR/cid")
	[ -n "$id" ]
	assert_no_leftovers "$id"
}

@test "docker: -e, -w and -u set env, cwd and user; the default PATH is there" {
	run --separate-stderr dk_run --rm -e FOO=bar -e 'SPACED=a b' -w /work/dir -u 65534:65534 "$IMG" \
		sh -c 'echo "FOO=$FOO"; echo "SPACED=$SPACED"; echo "PATH=$PATH"; pwd; id -u; id -g'
	assert_status 0
	assert_output "FOO=bar
SPACED=a b
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
/work/dir
65534
65534"
	run --separate-stderr dk_run --rm -u nobody "$IMG" sh -c 'id -un; id -u'
	assert_status 0
	assert_output "nobody
65534"
}

@test "docker: -v bind mounts, read-write and :ro" {
	mkdir -p "$DK/vol/rw"
	echo host-data >"$DK/vol/rw/in"
	run --separate-stderr dk_run --rm -v "$DK/vol/rw:/data" "$IMG" sh -c 'cat /data/in; echo from-container > /data/out'
	assert_status 0
	assert_output host-data
	assert_eq "$(cat "$DK/vol/rw/out")" from-container "file written through the rw volume"

	run --separate-stderr dk_run --rm -v "$DK/vol/rw:/data:ro" "$IMG" \
		sh -c 'cat /data/in; touch /data/ro-write 2>&1; awk "\$2 == \"/data\" { print \$4 }" /proc/mounts'
	assert_status 0
	has_line host-data
	has_line "touch: /data/ro-write: Read-only file system"
	printf '%s\n' "$output" | grep -Eq '^ro(,|$)' || _fail_with "/data not mounted ro"
	[ ! -e "$DK/vol/rw/ro-write" ] || _fail_with "a write went through the :ro volume"
}

@test "docker: --read-only root with a writable --tmpfs" {
	run --separate-stderr dk_run --rm --read-only --tmpfs /tmp:rw,size=4m "$IMG" \
		sh -c 'touch /x 2>&1; touch /tmp/ok && echo tmp-writable; awk "\$2 == \"/\" { print \"root \" \$4 } \$2 == \"/tmp\" { print \$1, \$3, \$4 }" /proc/mounts'
	assert_status 0
	has_line "touch: /x: Read-only file system"
	has_line tmp-writable
	printf '%s\n' "$output" | grep -Eq '^root ro(,|$)' || _fail_with "/ not mounted ro"
	printf '%s\n' "$output" | grep -Eq '^tmpfs tmpfs rw,.*size=4096k' || _fail_with "/tmp is not a 4 MiB rw tmpfs"
	# Without --read-only the root is writable.
	run --separate-stderr dk_run --rm "$IMG" sh -c 'touch /x && echo root-writable'
	assert_status 0
	assert_output root-writable
}

# --- resources ------------------------------------------------------------

@test "docker: -m: a bounded memory hog is OOM-killed (137, OOMKilled), a small allocation is fine" {
	local cid id
	# The hog doubles a string up to 256 MiB (bounded) under a 32 MiB limit
	# (Docker sets memory+swap to twice that).
	cid=$(dk_run -d -m 32m "$IMG" awk 'BEGIN { s = "x"; while (length(s) < 268435456) s = s s; print length(s) }')
	id=$(dk_id "$cid")
	run dk wait "$id"
	assert_output 137
	assert_eq "$(dk inspect --format '{{.State.ExitCode}} {{.State.OOMKilled}}' "$id")" "137 true" "ExitCode OOMKilled"
	dk rm "$id" >/dev/null
	assert_no_leftovers "$id"

	run --separate-stderr dk_run --rm -m 32m "$IMG" awk 'BEGIN { s = "x"; while (length(s) < 4194304) s = s s; print length(s) }'
	assert_status 0
	assert_output 4194304
}

@test "docker: --pids-limit: pids.max set, a bounded fork loop fails past it" {
	run --separate-stderr dk_run --rm --pids-limit 20 "$IMG" \
		sh -c 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; (for i in $(seq 1 40); do sleep 3 & done); echo loop-done'
	assert_status 0
	has_line 20
	has_line loop-done
	case "$stderr" in *"can't fork"*) ;; *) _fail_with "40 forks succeeded under --pids-limit 20" ;; esac
	# (A failed fork is fatal to busybox sh: the loop runs in a subshell.)
	# Control: without the limit the same loop forks fine.
	run --separate-stderr dk_run --rm "$IMG" sh -c '(for i in $(seq 1 40); do sleep 3 & done); echo loop-done'
	assert_status 0
	assert_output loop-done
	case "$stderr" in *"can't fork"*) _fail_with "fork failed without a limit" ;; esac
}

@test "docker: --cpus, --cpu-shares, -m, --memory-swap, --pids-limit land in the host cgroup files" {
	local cid id pid c cpu mem pids
	cid=$(dk_run -d --cpus 0.5 --cpu-shares 512 -m 64m --memory-swap 96m --pids-limit 50 "$IMG" sleep 1000)
	id=$(dk_id "$cid")
	pid=$(dk_pid "$id")
	# cgroupfs driver: <cgroup-parent>/<id> in every hierarchy.
	if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
		for c in cpu memory pids; do
			grep -Eq "^[0-9]+:([a-z_,]*,)?$c(,[a-z_,]*)?:$DK_CGP/$id\$" "/proc/$pid/cgroup" ||
				{ cat "/proc/$pid/cgroup"; echo "pid $pid not in $DK_CGP/$id for $c"; return 1; }
		done
		cpu=$(dk_cg_path cpu "$id")
		mem=$(dk_cg_path memory "$id")
		pids=$(dk_cg_path pids "$id")
		assert_eq "$(cat "$cpu/cpu.cfs_quota_us")" 50000 cpu.cfs_quota_us
		assert_eq "$(cat "$cpu/cpu.cfs_period_us")" 100000 cpu.cfs_period_us
		assert_eq "$(cat "$cpu/cpu.shares")" 512 cpu.shares
		assert_eq "$(cat "$mem/memory.limit_in_bytes")" $((64 << 20)) memory.limit_in_bytes
		if [ -e "$mem/memory.memsw.limit_in_bytes" ]; then
			assert_eq "$(cat "$mem/memory.memsw.limit_in_bytes")" $((96 << 20)) memory.memsw.limit_in_bytes
		fi
		assert_eq "$(cat "$pids/pids.max")" 50 pids.max
	else
		c=$(dk_cg_path unified "$id")
		assert_eq "$(cat "$c/cpu.max")" "50000 100000" cpu.max
		assert_eq "$(cat "$c/memory.max")" $((64 << 20)) memory.max
		assert_eq "$(cat "$c/pids.max")" 50 pids.max
	fi
	# docker update: the runtime's `update --resources`.
	dk update --memory 48m --memory-swap 128m --cpus 0.25 "$id" >/dev/null
	if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
		assert_eq "$(cat "$mem/memory.limit_in_bytes")" $((48 << 20)) "memory.limit_in_bytes after update"
		assert_eq "$(cat "$cpu/cpu.cfs_quota_us")" 25000 "cpu.cfs_quota_us after update"
	fi
}

# --- security options -----------------------------------------------------

@test "docker: capabilities: Docker's default set, --cap-drop ALL, --cap-add" {
	run --separate-stderr dk_run --rm "$IMG" sh -c 'grep -E "^Cap(Eff|Bnd)" /proc/self/status; chown 65534 /etc/passwd && echo chown-ok'
	assert_status 0
	has_line "$(printf 'CapEff:\t%s' "$DOCKER_DEFAULT_CAPS")"
	has_line "$(printf 'CapBnd:\t%s' "$DOCKER_DEFAULT_CAPS")"
	has_line chown-ok

	run --separate-stderr dk_run --rm --cap-drop ALL "$IMG" sh -c 'grep -E "^Cap(Eff|Bnd|Prm)" /proc/self/status; chown 65534 /etc/passwd 2>&1'
	has_line "$(printf 'CapEff:\t0000000000000000')"
	has_line "$(printf 'CapBnd:\t0000000000000000')"
	has_line "$(printf 'CapPrm:\t0000000000000000')"
	has_line "chown: /etc/passwd: Operation not permitted"

	run --separate-stderr dk_run --rm --cap-drop ALL --cap-add CHOWN "$IMG" sh -c 'grep -E "^CapEff" /proc/self/status; chown 65534 /etc/passwd && echo chown-ok'
	assert_status 0
	has_line "$(printf 'CapEff:\t0000000000000001')"
	has_line chown-ok
}

@test "docker: --security-opt no-new-privileges sets NoNewPrivs" {
	run --separate-stderr dk_run --rm --security-opt no-new-privileges "$IMG" grep ^NoNewPrivs /proc/self/status
	assert_status 0
	assert_output "$(printf 'NoNewPrivs:\t1')"
	run --separate-stderr dk_run --rm "$IMG" grep ^NoNewPrivs /proc/self/status
	assert_status 0
	assert_output "$(printf 'NoNewPrivs:\t0')"
}

@test "docker: the default seccomp profile refuses unshare(CLONE_NEWUSER); seccomp=unconfined allows it" {
	run --separate-stderr dk_run --rm "$IMG" sh -c 'grep -E "^Seccomp:" /proc/self/status; unshare -U true 2>&1; echo rc=$?'
	assert_status 0
	has_line "$(printf 'Seccomp:\t2')"
	has_line_partial "Operation not permitted"
	has_line rc=1
	run --separate-stderr dk_run --rm --security-opt seccomp=unconfined "$IMG" sh -c 'grep -E "^Seccomp:" /proc/self/status; unshare -U true 2>&1; echo rc=$?'
	assert_status 0
	has_line "$(printf 'Seccomp:\t0')"
	has_line rc=0
}

# --- exec -----------------------------------------------------------------

@test "docker: exec: output, exit codes, 126, -u/-w/-e, -i, -t" {
	local cid
	cid=$(dk_run -d "$IMG" sh -c 'echo inside > /tmp/marker; exec sleep 1000')
	dk_id "$cid" >/dev/null
	dk_wait_until 10 dk exec "$cid" test -e /tmp/marker
	run --separate-stderr dk exec "$cid" sh -c 'cat /tmp/marker; tr "\0" " " </proc/1/cmdline; echo'
	assert_status 0
	assert_output "inside
sleep 1000 "
	run dk exec "$cid" sh -c 'exit 7'
	assert_status 7
	# Docker 20.10 returns 126 for any exec that fails to start (runc too).
	run -126 --separate-stderr dk exec "$cid" /no/such/binary
	assert_status 126
	# (docker exec 20.10 prints this error on stdout.)
	case "$output$stderr" in *'/no/such/binary'*'no such file or directory'*) ;; *) _fail_with "runtime's error not shown" ;; esac
	run -126 dk exec "$cid" /etc/passwd
	assert_status 126
	run --separate-stderr dk exec -u 65534 -w /tmp -e XV=1 "$cid" sh -c 'id -u; pwd; echo $XV; [ -t 0 ] && echo tty || echo notty'
	assert_status 0
	assert_output "65534
/tmp
1
notty"
	run bash -c "echo piped | timeout 30 $DOCKER exec -i $cid cat"
	assert_status 0
	assert_output piped
	run dk_tty "exec -t $cid sh -c 'tty; [ -t 0 ] && echo stdin-tty; exit 5'"
	assert_status 5
	printf '%s\n' "$output" | grep -Eqx '/dev/pts/[0-9]+' || _fail_with "no pty"
	has_line stdin-tty
}

@test "docker: run -t gives the container a terminal" {
	run dk_tty "run --rm -t --network none --pull never $IMG sh -c 'tty; stty size >/dev/null && echo stty-ok; exit 4'"
	assert_status 4
	printf '%s\n' "$output" | grep -Eqx '/dev/pts/[0-9]+' || _fail_with "no pty"
	has_line stty-ok
}

# --- lifecycle ------------------------------------------------------------

@test "docker: stop -t 1 kills an init that ignores TERM; a TERM handler's exit code is kept" {
	local cid start elapsed
	# sleep as PID 1 of a PID namespace has no handler: TERM does nothing.
	cid=$(dk_run -d "$IMG" sleep 1000)
	dk_id "$cid" >/dev/null
	start=$SECONDS
	dk stop -t 1 "$cid" >/dev/null
	elapsed=$((SECONDS - start))
	assert_eq "$(dk inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$cid")" "exited 137" "state after stop"
	[ "$elapsed" -ge 1 ] && [ "$elapsed" -lt 10 ] || { echo "stop -t 1 took ${elapsed}s"; return 1; }

	cid=$(dk_run -d "$IMG" sh -c "trap 'exit 7' TERM; touch /tmp/ready; while :; do sleep 0.1; done")
	dk_id "$cid" >/dev/null
	dk_wait_until 10 dk exec "$cid" test -e /tmp/ready
	start=$SECONDS
	dk stop -t 20 "$cid" >/dev/null
	elapsed=$((SECONDS - start))
	assert_eq "$(dk inspect --format '{{.State.ExitCode}}' "$cid")" 7 "exit code from the TERM handler"
	[ "$elapsed" -lt 10 ] || { echo "TERM did not reach the handler (stop took ${elapsed}s)"; return 1; }
}

@test "docker: kill -s KILL gives 137; rm -f removes a running container and its processes" {
	local cid id pid
	cid=$(dk_run -d "$IMG" sh -c 'sleep 1000 & wait')
	id=$(dk_id "$cid")
	dk kill -s KILL "$id" >/dev/null
	run dk wait "$id"
	assert_output 137
	dk rm "$id" >/dev/null
	assert_no_leftovers "$id"

	cid=$(dk_run -d "$IMG" sh -c 'sleep 1000 & wait')
	id=$(dk_id "$cid")
	pid=$(dk_pid "$id")
	pid_alive "$pid"
	dk rm -f "$id" >/dev/null
	dk_wait_until 10 eval "! pid_alive $pid"
	assert_no_leftovers "$id"
}

@test "docker: restart: a new init process, the container's writable layer kept" {
	local cid pid1 pid2
	cid=$(dk_run -d "$IMG" sh -c 'echo boot >> /boots; exec sleep 1000')
	dk_id "$cid" >/dev/null
	dk_wait_until 10 dk exec "$cid" test -s /boots
	pid1=$(dk_pid "$cid")
	dk restart -t 1 "$cid" >/dev/null
	dk_wait_until 10 dk_is_running "$cid"
	pid2=$(dk_pid "$cid")
	[ "$pid2" != "$pid1" ] && [ "$pid2" != 0 ] || { echo "pid before $pid1, after $pid2"; return 1; }
	! pid_alive "$pid1" || { echo "old init $pid1 still alive"; return 1; }
	dk_wait_until 10 eval "[ \"\$(dk exec $cid cat /boots | wc -l)\" -eq 2 ]"
}

@test "docker: pause/unpause freeze and thaw the container (freezer cgroup)" {
	local cid id
	# Write-then-rename: a freeze between `>`'s truncate and the write would
	# leave the counter empty (seen once in CI).
	cid=$(dk_run -d "$IMG" sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done')
	id=$(dk_id "$cid")
	dk_wait_until 10 dk exec "$id" test -s /tmp/count
	dk pause "$id" >/dev/null
	assert_eq "$(dk_state "$id")" paused status
	if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
		assert_eq "$(cat "$(dk_cg_path freezer "$id")/freezer.state")" FROZEN freezer.state
	fi
	local merged a b
	merged=$(dk inspect --format '{{.GraphDriver.Data.MergedDir}}' "$id")
	a=$(cat "$merged/tmp/count"); sleep 0.5; b=$(cat "$merged/tmp/count")
	assert_eq "$b" "$a" "counter while paused"
	dk unpause "$id" >/dev/null
	assert_eq "$(dk_state "$id")" running status
	dk_wait_until 5 eval "[ \"\$(cat '$merged/tmp/count')\" -gt '$b' ]"
}

@test "docker: top lists the container's processes (runtime ps)" {
	local cid
	cid=$(dk_run -d "$IMG" sh -c 'sleep 1000 & exec sleep 999')
	dk_id "$cid" >/dev/null
	dk_wait_until 10 eval "dk top $cid | grep -q 'sleep 1000'"
	run --separate-stderr dk top "$cid"
	assert_status 0
	assert_output_contains "sleep 999"
	assert_output_contains "sleep 1000"
}

@test "docker: --init runs docker-init as PID 1, which forwards stop's TERM" {
	local cid start elapsed
	cid=$(dk_run -d --init "$IMG" sleep 1000)
	dk_id "$cid" >/dev/null
	run --separate-stderr dk exec "$cid" sh -c 'tr "\0" " " </proc/1/cmdline; echo; cat /proc/1/comm'
	assert_status 0
	has_line "/sbin/docker-init -- sleep 1000 "
	has_line docker-init
	start=$SECONDS
	dk stop -t 20 "$cid" >/dev/null
	elapsed=$((SECONDS - start))
	[ "$elapsed" -lt 10 ] || { echo "TERM not forwarded (stop took ${elapsed}s)"; return 1; }
	assert_eq "$(dk inspect --format '{{.State.ExitCode}}' "$cid")" 143 "exit code (sleep killed by TERM)"
}

@test "docker: 5 containers in parallel, each with its own output and exit status" {
	local i rc pids=()
	for i in 1 2 3 4 5; do
		dk_run --rm --cidfile "$BATS_TEST_TMPDIR/cid$i" "$IMG" sh -c "echo out-$i; sleep 0.3; exit $((10 + i))" \
			>"$BATS_TEST_TMPDIR/par$i.out" 2>"$BATS_TEST_TMPDIR/par$i.err" 3>&- &
		pids[i]=$!
	done
	for i in 1 2 3 4 5; do
		rc=0
		wait "${pids[i]}" || rc=$?
		[ "$rc" -eq $((10 + i)) ] || { echo "container $i: rc $rc"; cat "$BATS_TEST_TMPDIR/par$i.err"; return 1; }
		assert_eq "$(cat "$BATS_TEST_TMPDIR/par$i.out")" "out-$i" "output of container $i"
	done
	for i in 1 2 3 4 5; do assert_no_leftovers "$(cat "$BATS_TEST_TMPDIR/cid$i")"; done
}

@test "docker: rm leaves nothing behind (runtime state, bundle, cgroups, mounts, shim)" {
	local cid id pid c merged
	cid=$(dk_run -d "$IMG" sleep 1000)
	id=$(dk_id "$cid")
	pid=$(dk_pid "$id")
	# While it runs, everything checked below exists where we look.
	[ -d "$(dk_runtime_root)/$id" ] || { ls -la "$(dk_runtime_root)"; echo "no runtime state dir"; return 1; }
	[ -d "$(dk_bundle_dir "$id")" ] || { echo "no bundle"; return 1; }
	[ -S "$(dk_shim_socket "$id")" ] || { echo "no shim socket $(dk_shim_socket "$id")"; return 1; }
	[ -n "$(dk_shim_pid "$id")" ] || { echo "no shim process"; return 1; }
	# Docker mounts the image (overlay2) itself and hands the runtime that
	# directory as root.path: no mount is named after the id.
	merged=$(dk inspect --format '{{.GraphDriver.Data.MergedDir}}' "$id")
	awk -v m="$merged" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo || { echo "rootfs $merged not mounted"; return 1; }
	if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
		for c in cpu cpuacct cpuset devices freezer memory pids blkio; do
			grep -qxF "$pid" "$(dk_cg_path "$c" "$id")/cgroup.procs" || { echo "pid not in the $c cgroup"; return 1; }
		done
	fi
	dk rm -f "$id" >/dev/null
	dk_wait_until 10 eval "! pid_alive $pid"
	assert_no_leftovers "$id"
	! awk -v m="$merged" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo || { echo "rootfs $merged still mounted"; return 1; }

	# A container that exits by itself (--rm: create, start, delete).
	run dk_run --rm --cidfile "$BATS_TEST_TMPDIR/cid" "$IMG" true
	assert_status 0
	id=$(cat "$BATS_TEST_TMPDIR/cid")
	dk_wait_until 10 eval "[ -z \"\$(dk_leftovers $id)\" ]"
	assert_no_leftovers "$id"
}

# --- runtimeArgs and policies -----------------------------------------------

@test "docker: runtimeArgs from daemon.json lead every call the shim makes (argv recorded)" {
	local log=$DK/trace.log cid id id2 args prefix sub
	: >"$log"
	cid=$(dk_run -d --runtime "$DK_RT-trace" "$IMG" sh -c "trap 'exit 0' TERM; sleep 1000 & wait")
	id=$(dk_id "$cid")
	dk exec "$id" true
	dk_tty "exec -t $id true" >/dev/null
	dk top "$id" >/dev/null
	dk pause "$id" >/dev/null
	dk unpause "$id" >/dev/null
	dk update --memory 64m --memory-swap 128m "$id" >/dev/null
	dk stop -t 10 "$id" >/dev/null
	dk rm "$id" >/dev/null
	dk_run --rm --runtime "$DK_RT-trace" "$IMG" true
	cid=$(dk_run -d --runtime "$DK_RT-trace" "$IMG" sleep 1000)
	id2=$(dk_id "$cid")
	dk kill -s KILL "$id2" >/dev/null
	dk rm -f "$id2" >/dev/null
	cid=$(dk_run -d --runtime "$DK_RT-trace" "$IMG" sleep 1000)
	dk_id "$cid" >/dev/null
	dk rm -f "$cid" >/dev/null

	# Normalise into shapes.
	args=$(dk_trace_args_json | tr -d '[]",')
	sed -E -e "s#$(dk_runtime_root)#<root>#g" \
		-e "s#$DK_EXEC/containerd/daemon/io.containerd.runtime.v2.task/moby/[0-9a-f]{64}#<bundle>#g" \
		-e "s#/[^ ]*/runc-process[0-9]*#<process.json>#g" \
		-e "s#/[^ ]*/pty[0-9]*/pty.sock#<console.sock>#g" \
		-e "s#<bundle>/[0-9a-f]{64}.pid#<bundle>/<exec-id>.pid#g" \
		-e "s#[0-9a-f]{64}#<id>#g" \
		"$log" | sort | uniq -c | sort -k2 >"$BATS_TEST_TMPDIR/shapes"
	cat "$BATS_TEST_TMPDIR/shapes"
	prefix="$args --root <root> --log <bundle>/log.json --log-format json"
	if awk '{ $1 = ""; print }' "$BATS_TEST_TMPDIR/shapes" | grep -vF -- " $prefix "; then
		echo "calls without the runtimeArgs and the shim's global flags (above)"
		return 1
	fi
	if grep -v ' => 0$' "$log"; then echo "calls that failed (above)"; return 1; fi
	for sub in "create --bundle <bundle> --pid-file <bundle>/init.pid <id>" "start <id>" \
		"exec --process <process.json> --detach --pid-file <bundle>/<exec-id>.pid <id>" \
		"exec --process <process.json> --console-socket <console.sock> --detach --pid-file <bundle>/<exec-id>.pid <id>" \
		"ps --format json <id>" "pause <id>" "resume <id>" \
		"update --resources" "kill <id> 15" "kill <id> 9" "delete <id>"; do
		grep -qF -- "$sub" "$BATS_TEST_TMPDIR/shapes" || { echo "missing call: $sub"; return 1; }
	done
}

@test "docker: --runtime cagebox-npm (runtimeArgs --enforce-policy npm-scripts) narrows the container (cagebox only)" {
	need_cagebox "--enforce-policy"
	local probe='grep -E "^(NoNewPrivs|Seccomp_filters|CapEff)" /proc/self/status; touch /x 2>&1 && echo root-writable; nc 127.0.0.1 9 </dev/null 2>&1 | head -1; cat /sys/fs/cgroup/pids/pids.max'
	run --separate-stderr dk_run --rm --runtime cagebox-npm "$IMG" sh -c "$probe"
	assert_status 0
	has_line "$(printf 'NoNewPrivs:\t1')"
	has_line "$(printf 'Seccomp_filters:\t2')"
	has_line "$(printf 'CapEff:\t0000000000000000')"
	has_line "touch: /x: Read-only file system"
	has_line "nc: socket: Operation not permitted"
	has_line 512

	# The plain runtime: Docker's own settings, nothing of the preset.
	run --separate-stderr dk_run --rm --runtime cagebox "$IMG" sh -c "$probe"
	assert_status 0
	has_line "$(printf 'NoNewPrivs:\t0')"
	has_line "$(printf 'Seccomp_filters:\t1')"
	has_line "$(printf 'CapEff:\t%s' "$DOCKER_DEFAULT_CAPS")"
	has_line root-writable
	assert_output_not_contains "socket: Operation not permitted"
	has_line max
}

@test "docker: exec into a cagebox-npm container is narrowed like its init (cagebox only)" {
	need_cagebox "--enforce-policy"
	local cid
	cid=$(dk_run -d --runtime cagebox-npm "$IMG" sleep 1000)
	dk_id "$cid" >/dev/null
	# docker exec hands the runtime a process.json with Docker's default
	# capabilities; the enforced policy must still apply to the new process.
	run --separate-stderr dk exec "$cid" sh -c 'grep -E "^(NoNewPrivs|Seccomp_filters|Cap(Eff|Prm|Bnd))" /proc/self/status; touch /x 2>&1; nc 127.0.0.1 9 </dev/null 2>&1 | head -1'
	assert_status 0
	has_line "$(printf 'NoNewPrivs:\t1')"
	has_line "$(printf 'Seccomp_filters:\t2')"
	has_line "touch: /x: Read-only file system"
	has_line "nc: socket: Operation not permitted"
	has_line "$(printf 'CapEff:\t0000000000000000')"
	has_line "$(printf 'CapPrm:\t0000000000000000')"
	has_line "$(printf 'CapBnd:\t0000000000000000')"
}
