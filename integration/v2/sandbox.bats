#!/usr/bin/env bats
# `cagebox exec [POLICY FLAGS] -- CMD` on pure cgroup v2: limits in the
# sandbox's cgroup (/cagebox-exec-<pid>-<nanos>), enforcement, and the
# report's usage figures, which cagebox reads from the v2 files
# (src/runtime/usage.rs).

load helpers

setup_file() { v2_setup_file; }
teardown_file() { v2_teardown_file; }
setup() { v2_setup; }
teardown() {
	local p d left
	for p in $(cat "$BATS_TEST_TMPDIR/bg" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done
	for p in $(cat "$BATS_TEST_TMPDIR/bg" 2>/dev/null); do wait_for 20 sh -c "! kill -0 $p 2>/dev/null"; done
	v2_teardown
	# No sandbox cgroup may survive its run; remove what did, so that one
	# failure does not fail the following tests.
	left=$(exec_cgroups)
	for d in $left; do
		for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		wait_for 5 rmdir "$d"
	done
	[ -z "$left" ] || fail "sandbox cgroups left: $left"
}

# bg_exec FLAGS... -- CMD...: a sandbox in the background (pid in $BG);
# waits until its cgroup has a process and sets $SBX to that cgroup.
bg_exec() {
	mkdir -p "$BATS_TEST_TMPDIR/project"
	(cd "$BATS_TEST_TMPDIR/project" && exec "$CBX" --root "$STATE" exec "$@") </dev/null >"$BATS_TEST_TMPDIR/out" 2>&1 &
	BG=$!
	echo "$BG" >>"$BATS_TEST_TMPDIR/bg"
	wait_for 30 sh -c '[ -n "$(cat /sys/fs/cgroup/cagebox-exec-*/cgroup.procs 2>/dev/null)" ]' ||
		fail "no sandbox cgroup with a process: $(cat "$BATS_TEST_TMPDIR/out")"
	SBX=$(exec_cgroups)
}

R() { echo "$BATS_TEST_TMPDIR/report.json"; }

@test "exec --memory 64M: a 200M hog is OOM-killed: exit 137, report reason oom, oom_kills >= 1, peak <= 64M" {
	run cbx_exec --memory 64M --report "$(R)" -- sh -c 'dd if=/dev/zero of=/dev/null bs=200M count=1'
	[ "$status" -eq 137 ] || fail "status $status: $output"
	assert_contains "$output" "killed (oom)"
	assert_jq "$(cat "$(R)")" '.exit_code == 137 and .reason == "oom" and .oom_kills >= 1
		and .peak_memory_bytes > 33554432 and .peak_memory_bytes <= 67108864'
}

@test "exec --memory 128M: report usage figures (peak memory, cpu, peak pids) are non-zero and plausible" {
	run cbx_exec --memory 128M --report "$(R)" -- sh -c 'dd if=/dev/zero of=/tmp/fill bs=1M count=24 2>/dev/null; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 1 & sleep 1 & wait; echo done'
	[ "$status" -eq 0 ] || fail "status $status: $output"
	assert_eq "$output" done
	# /tmp is the sandbox's own tmpfs: its 24M are charged to the sandbox.
	assert_jq "$(cat "$(R)")" '.exit_code == 0 and .reason == "exit" and .oom_kills == 0
		and .peak_memory_bytes >= 25165824 and .peak_memory_bytes <= 134217728
		and (.cpu_user_ms + .cpu_system_ms) > 0 and .cpu_user_ms < .wall_ms + 1000
		and .peak_pids >= 3 and .peak_pids < 20 and .pids_limit_hits == 0
		and .wall_ms >= 1000'
}

@test "exec --pids 16: a bounded fork loop is stopped: report reason pids, pids_limit_hits >= 1, peak_pids <= 16" {
	run cbx_exec --pids 16 --report "$(R)" -- sh -c 'i=0; while [ $i -lt 60 ]; do sleep 2 & i=$((i+1)); done; wait'
	[ "$status" -ne 0 ] || fail "60 processes started under --pids 16"
	assert_contains "$output" "fork"
	assert_jq "$(cat "$(R)")" '.reason == "pids" and .pids_limit_hits >= 1 and .peak_pids <= 16 and .peak_pids >= 10'
}

@test "exec --timeout 2s: sleep 30 is stopped: exit 124, reason timeout, well before 30 s" {
	local t0 t1
	t0=$(now_ms)
	run cbx_exec --timeout 2s --report "$(R)" -- sleep 30
	t1=$(now_ms)
	[ "$status" -eq 124 ] || fail "status $status: $output"
	[ $((t1 - t0)) -lt 15000 ] || fail "took $((t1 - t0)) ms"
	assert_jq "$(cat "$(R)")" '.exit_code == 124 and .reason == "timeout"'
}

@test "exec --cpus 0.5 --memory 96M --pids 30: cpu.max, memory.max, pids.max of the running sandbox; SIGTERM removes it" {
	bg_exec --cpus 0.5 --memory 96M --pids 30 -- sleep 30
	assert_eq "$(cat "$SBX/cpu.max")" "50000 100000"
	assert_eq "$(cat "$SBX/memory.max")" $((96 << 20))
	assert_eq "$(cat "$SBX/pids.max")" 30
	# SIGTERM to cagebox stops the command (exit 143) and removes the cgroup.
	kill -TERM "$BG"
	local rc=0
	wait "$BG" || rc=$?
	assert_eq "$rc" 143
	[ ! -e "$SBX" ] || fail "$SBX left after SIGTERM"
}

# libcgroups skips the 0 that swap == limit means: see "memory+swap: swap ==
# limit" in resources.bats (cagebox writes it: src/runtime/swap.rs).
@test "exec --memory 96M (memory_swap = memory, no swap): memory.swap.max = 0 (cagebox writes it: libcgroups 0.7 skips 0)" {
	bg_exec --memory 96M -- sleep 30
	assert_eq "$(cat "$SBX/memory.max")" $((96 << 20))
	assert_eq "$(cat "$SBX/memory.swap.max")" 0 "memory.swap.max with memory_swap == memory"
}

@test "exec --cpus 0.2: a 3 s busy loop gets well under one CPU (report cpu < 40% of wall)" {
	run cbx_exec --cpus 0.2 --report "$(R)" -- sh -c 'end=$(($(date +%s) + 3)); while [ "$(date +%s)" -lt "$end" ]; do :; done'
	[ "$status" -eq 0 ] || fail "status $status: $output"
	assert_jq "$(cat "$(R)")" '(.cpu_user_ms + .cpu_system_ms) > 0 and (.cpu_user_ms + .cpu_system_ms) < (.wall_ms * 0.4)'
}

@test "exec --preset default --memory 64M --pids 20 --timeout 20s: all enforced in one run" {
	run cbx_exec --preset default --memory 64M --pids 20 --timeout 20s --report "$(R)" -- sh -c '
		i=0; while [ $i -lt 40 ]; do sleep 1 & i=$((i+1)); done 2>/dev/null
		dd if=/dev/zero of=/dev/null bs=200M count=1'
	[ "$status" -ne 0 ] || fail "status 0: $output"
	assert_jq "$(cat "$(R)")" '.pids_limit_hits >= 1 and .peak_pids <= 20 and .policy_layers[0] == "preset default"'
	run cbx_exec --preset default --memory 64M --pids 20 --timeout 20s --report "$(R)" -- sh -c 'dd if=/dev/zero of=/dev/null bs=200M count=1'
	[ "$status" -eq 137 ] || fail "status $status: $output"
	assert_jq "$(cat "$(R)")" '.reason == "oom" and .oom_kills >= 1'
	run cbx_exec --preset default --memory 64M --pids 20 --timeout 2s --report "$(R)" -- sleep 30
	[ "$status" -eq 124 ] || fail "status $status: $output"
}
