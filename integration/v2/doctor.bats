#!/usr/bin/env bats
# cagebox doctor on a pure cgroup-v2 kernel.

load helpers

setup_file() { v2_setup_file; }
teardown_file() { v2_teardown_file; }
setup() { v2_setup; }
teardown() { v2_teardown; }

@test "guest: pure cgroup v2 (no v1 hierarchy mounted, cgroup2 at /sys/fs/cgroup)" {
	run awk '$3 == "cgroup"' /proc/mounts
	[ -z "$output" ] || fail "a v1 hierarchy is mounted: $output"
	assert_eq "$(awk '$2 == "/sys/fs/cgroup" {print $3}' /proc/mounts)" cgroup2
}

@test "doctor: says cgroup v2 with its controllers" {
	run cbx doctor
	[ "$status" -eq 0 ] || fail "status $status: $output"
	assert_contains "$output" "cgroup"
	local line
	line=$(grep '^cgroup ' <<<"$output")
	assert_contains "$line" "v2"
	for c in cpu io memory pids; do assert_contains "$line" "$c"; done
	[[ "$line" != *hybrid* ]] || fail "doctor says hybrid on a pure v2 kernel: $line"
}

@test "doctor --json: cgroup v2, controllers cpu io memory pids, no v1 controllers, freezer and limits enforceable" {
	run cbx doctor --json
	[ "$status" -eq 0 ] || fail "status $status: $output"
	assert_jq "$output" '.kernel.cgroup == "v2"
		and (.kernel.v2_controllers | index("cpu") and index("io") and index("memory") and index("pids"))
		and (.kernel.v1_controllers | length) == 0
		and ([.kernel.knobs[] | select(.[1] == "Yes") | .[0]] as $y
			| ["memory", "memory_swap", "cpu_quota", "cpu_shares", "pids", "io_bandwidth", "cgroup_namespace", "freezer"] - $y == [])'
}

@test "doctor: with bfq active on a disk, io_weight is enforceable" {
	local sched=/sys/block/vda/queue/scheduler
	grep -qw bfq "$sched" || skip "bfq is not available for vda: $(cat "$sched")"
	echo bfq >"$sched"
	run cbx doctor
	[ "$status" -eq 0 ] || fail "status $status: $output"
	assert_eq "$(grep '^knob io_weight' <<<"$output" | awk '{print $3}')" yes "$output"
}
