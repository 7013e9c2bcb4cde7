#!/usr/bin/env bats
# Runtime commands that touch the cgroup on pure v2: cgroup namespace,
# pause/resume (cgroup.freeze), events --stats, update, delete cleanup.

load helpers

setup_file() { v2_setup_file; }
teardown_file() { v2_teardown_file; }
setup() { v2_setup; }
teardown() { v2_teardown; }

@test "cgroupns: the container sees its own cgroup as / (0::/) and its limits at /sys/fs/cgroup" {
	RES='"pids": {"limit": 42}' run_keep "$ID" 'cat /proc/self/cgroup; cat /sys/fs/cgroup/pids.max'
	[ "$status" -eq 0 ] || fail "status $status: $output"
	assert_eq "${lines[0]}" "0::/"
	assert_eq "${lines[1]}" 42 "the container's own pids.max through its cgroup mount"
	assert_eq "${#lines[@]}" 2
}

@test "cgroupns: without a cgroup namespace the container sees its real cgroup path" {
	local b
	b=$(mkbundle "$ID" 'cat /proc/self/cgroup')
	cfg "$b" '.linux.namespaces |= map(select(.type != "cgroup"))'
	run cbx run -b "$b" "$ID"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	assert_eq "$output" "0::/$CG_PARENT/$ID"
}

@test "pause/resume: cgroup.freeze = 1, state paused, the process does not advance; resume thaws it" {
	bg_start "$ID" 'i=0; while :; do i=$((i+1)); echo $i > /data/n; sleep 0.1; done'
	local n=$BATS_TEST_TMPDIR/data/n a b
	wait_for 10 test -s "$n" || fail "the counter never started"
	cbx pause "$ID"
	assert_eq "$(state_status "$ID")" paused
	assert_eq "$(cgfile "$ID" cgroup.freeze)" 1
	wait_for 10 grep -qx "frozen 1" "$(cgdir "$ID")/cgroup.events" || fail "cgroup.events: $(cgfile "$ID" cgroup.events)"
	a=$(cat "$n")
	sleep 1.5
	b=$(cat "$n")
	assert_eq "$b" "$a" "the counter moved while paused"
	cbx resume "$ID"
	assert_eq "$(state_status "$ID")" running
	assert_eq "$(cgfile "$ID" cgroup.freeze)" 0
	wait_for 10 sh -c "[ \"\$(cat $n)\" != $a ]" || fail "the counter did not move after resume"
}

@test "events --stats: memory usage, pids and cpu read from the v2 files" {
	RES="\"memory\": {\"limit\": $((128 << 20))}, \"pids\": {\"limit\": 50}" \
		bg_start "$ID" 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=16 2>/dev/null; i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; sleep 1000 & sleep 1000 & wait'
	wait_for 30 sh -c "[ \$(cat $(cgdir "$ID")/pids.current) -ge 3 ]" || fail "pids.current: $(cgfile "$ID" pids.current)"
	run cbx events --stats "$ID"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	local cur
	cur=$(cgfile "$ID" memory.current)
	assert_jq "$output" '.type == "stats" and .id == "'"$ID"'"
		and .data.memory.usage.usage >= 16777216 and .data.memory.usage.usage <= 134217728
		and .data.memory.usage.limit == 134217728
		and .data.pids.current >= 3 and .data.pids.limit == 50
		and .data.cpu.usage.total > 0
		and (.data.cpu.usage.user + .data.cpu.usage.kernel) > 0
		and ((.data.memory.usage.usage - '"$cur"') | if . < 0 then -. else . end) < 8388608'
}

@test "update: --memory, --memory-swap and --pids-limit change memory.max, memory.swap.max, pids.max of a running container" {
	RES="\"memory\": {\"limit\": $((64 << 20)), \"swap\": $((128 << 20))}, \"pids\": {\"limit\": 20}" bg_start "$ID"
	assert_eq "$(cgfile "$ID" memory.max)" $((64 << 20))
	assert_eq "$(cgfile "$ID" pids.max)" 20
	cbx update --memory $((96 << 20)) --memory-swap $((160 << 20)) --pids-limit 50 "$ID"
	assert_eq "$(cgfile "$ID" memory.max)" $((96 << 20))
	assert_eq "$(cgfile "$ID" memory.swap.max)" $((64 << 20)) "160M - 96M"
	assert_eq "$(cgfile "$ID" pids.max)" 50
}

@test "update: --resources FILE (cpu quota, pids) changes cpu.max and pids.max" {
	RES='"pids": {"limit": 20}' bg_start "$ID"
	printf '{"cpu": {"quota": 30000, "period": 100000}, "pids": {"limit": 33}}\n' >"$BATS_TEST_TMPDIR/res.json"
	cbx update --resources "$BATS_TEST_TMPDIR/res.json" "$ID"
	assert_eq "$(cgfile "$ID" cpu.max)" "30000 100000"
	assert_eq "$(cgfile "$ID" pids.max)" 33
	printf '{"pids": {"limit": 44}}\n' | cbx update -r - "$ID"
	assert_eq "$(cgfile "$ID" pids.max)" 44
}

@test "update: a lower memory limit is enforced: the running container is OOM-killed by its next allocation" {
	RES="\"memory\": {\"limit\": $((256 << 20))}" bg_start "$ID" 'while :; do if [ -e /data/go ]; then dd if=/dev/zero of=/dev/null bs=100M count=1 2>/dev/null; echo "rc=$?" >> /data/out; rm /data/go; fi; sleep 0.1; done'
	: >"$BATS_TEST_TMPDIR/data/go"
	wait_for 30 grep -q rc= "$BATS_TEST_TMPDIR/data/out" || fail "no first run"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/data/out")" "rc=0"
	cbx update --memory $((48 << 20)) "$ID"
	assert_eq "$(cgfile "$ID" memory.max)" $((48 << 20))
	: >"$BATS_TEST_TMPDIR/data/go"
	wait_for 30 sh -c "[ \$(wc -l < $BATS_TEST_TMPDIR/data/out) -ge 2 ]" || fail "no second run"
	assert_eq "$(sed -n 2p "$BATS_TEST_TMPDIR/data/out")" "rc=137"
	[ "$(keyed "$(cgfile "$ID" memory.events)" oom_kill)" -ge 1 ] || fail "memory.events: $(cgfile "$ID" memory.events)"
}

@test "delete: the container's cgroup is removed (running, then stopped container)" {
	bg_start "$ID"
	[ -d "$(cgdir "$ID")" ] || fail "no cgroup while running"
	cbx delete --force "$ID"
	[ ! -e "$(cgdir "$ID")" ] || fail "cgroup left behind: $(cgdir "$ID")"
	local id2
	id2=$(new_id b)
	run_keep "$id2" 'exit 3'
	assert_eq "$status" 3
	[ -d "$(cgdir "$id2")" ] || fail "--keep: no cgroup to inspect"
	assert_eq "$(state_status "$id2")" stopped
	cbx delete "$id2"
	[ ! -e "$(cgdir "$id2")" ] || fail "cgroup left behind after delete of a stopped container"
	run cbx state "$id2"
	[ "$status" -ne 0 ] || fail "state still exists"
}

@test "delete: run (no --keep) leaves no cgroup; a failed create leaves no cgroup and no state" {
	run cbx run -b "$(mkbundle "$ID" 'exit 0')" "$ID"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	[ ! -e "$(cgdir "$ID")" ] || fail "run left $(cgdir "$ID")"
	# libcgroups refuses memory.swap below memory.limit while applying the cgroup.
	local id2
	id2=$(new_id bad)
	run cbx create -b "$(RES="\"memory\": {\"limit\": $((64 << 20)), \"swap\": $((32 << 20))}" mkbundle "$id2")" "$id2"
	[ "$status" -ne 0 ] || fail "create with swap < limit succeeded"
	[ ! -e "$(cgdir "$id2")" ] || fail "failed create left $(cgdir "$id2")"
	run cbx state "$id2"
	[ "$status" -ne 0 ] || fail "failed create left state: $output"
	# And an executable that does not exist.
	local id3
	id3=$(new_id noexec)
	local b
	b=$(mkbundle "$id3")
	cfg "$b" '.process.args = ["/nonexistent"]'
	run cbx create -b "$b" "$id3"
	[ "$status" -ne 0 ] || { cbx start "$id3" || true; fail "create of /nonexistent succeeded"; }
	[ ! -e "$(cgdir "$id3")" ] || fail "failed create left $(cgdir "$id3")"
	run cbx list -q
	assert_eq "$output" ""
}
