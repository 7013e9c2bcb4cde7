#!/usr/bin/env bats
# linux.resources of OCI bundles on pure cgroup v2: what lands in the
# container's cgroup files, and that the kernel enforces it.

load helpers

setup_file() { v2_setup_file; }
teardown_file() { v2_teardown_file; }
setup() { v2_setup; }
teardown() { v2_teardown; }

M64=$((64 << 20))
# A 4M direct read of the disk, timed inside the container (centiseconds
# from /proc/uptime, so cagebox's own start-up is not counted).
TIMED_READ='read a _ </proc/uptime; dd if=/dev/vda of=/dev/null bs=1M count=4 iflag=direct 2>/dev/null || exit 1; read b _ </proc/uptime; echo "cs=$(( ${b%.*}${b#*.} - ${a%.*}${a#*.} ))"'
# read_ms: the time TIMED_READ printed, in ms.
read_ms() { echo $(( $(sed -n 's/^cs=//p' <<<"$output") * 10 )); }

@test "memory: limit 64M: memory.max, a 200M hog is OOM-killed (exit 137), memory.events counts the kill" {
	RES="\"memory\": {\"limit\": $M64, \"swap\": $M64}" run_keep "$ID" 'dd if=/dev/zero of=/dev/null bs=200M count=1'
	[ "$status" -eq 137 ] || fail "status $status: $output"
	assert_eq "$(cgfile "$ID" memory.max)" "$M64"
	local ev
	ev=$(cgfile "$ID" memory.events)
	[ "$(keyed "$ev" oom_kill)" -ge 1 ] || fail "memory.events: $ev"
	[ "$(keyed "$ev" oom)" -ge 1 ] || fail "memory.events: $ev"
	local peak
	peak=$(cgfile "$ID" memory.peak)
	[ "$peak" -le "$M64" ] && [ "$peak" -ge $((M64 / 2)) ] || fail "memory.peak $peak"
}

@test "memory: a 16M allocation within the 64M limit is not killed" {
	RES="\"memory\": {\"limit\": $M64, \"swap\": $M64}" run_keep "$ID" 'dd if=/dev/zero of=/dev/null bs=16M count=1 2>/dev/null && echo fine'
	[ "$status" -eq 0 ] || fail "status $status: $output"
	assert_eq "$output" fine
	assert_eq "$(keyed "$(cgfile "$ID" memory.events)" oom_kill)" 0
}

@test "memory+swap: OCI swap is memory+swap: memory.swap.max = swap - limit (192M - 64M = 128M); -1 gives max" {
	RES="\"memory\": {\"limit\": $M64, \"swap\": $((192 << 20))}" bg_start "$ID"
	assert_eq "$(cgfile "$ID" memory.max)" "$M64"
	assert_eq "$(cgfile "$ID" memory.swap.max)" $((128 << 20)) "swap 192M - limit 64M"
	local id2
	id2=$(new_id b)
	RES="\"memory\": {\"limit\": $M64, \"swap\": -1}" bg_start "$id2"
	assert_eq "$(cgfile "$id2" memory.swap.max)" max "swap -1: unlimited"
}

# libcgroups 0.7.0 (src/v2/memory.rs:101-109, Memory::set) skips a v2 swap
# value of 0, so swap == limit would leave memory.swap.max at "max"
# (unlimited swap) where runc writes 0; cagebox writes it itself
# (src/runtime/swap.rs). This test fails if that is lost.
@test "memory+swap: swap == limit means no swap: memory.swap.max = 0 (cagebox writes it: libcgroups 0.7 skips 0)" {
	RES="\"memory\": {\"limit\": $M64, \"swap\": $M64}" bg_start "$ID"
	assert_eq "$(cgfile "$ID" memory.swap.max)" 0 "swap == limit: no swap"
}

@test "cpu: quota/period land in cpu.max, shares become cpu.weight (runc >= 1.3.2 mapping)" {
	RES='"cpu": {"quota": 25000, "period": 50000, "shares": 512}' bg_start "$ID"
	assert_eq "$(cgfile "$ID" cpu.max)" "25000 50000"
	# runc's (and libcgroups') quadratic fit: 2 -> 1, 1024 -> 100, 262144 -> 10000;
	# 512 -> ceil(10^((81 + 1125) / 612 - 7/34)) = 59.
	assert_eq "$(cgfile "$ID" cpu.weight)" 59 "shares 512"
	local id2
	id2=$(new_id b)
	RES='"cpu": {"shares": 1024}' bg_start "$id2"
	assert_eq "$(cgfile "$id2" cpu.weight)" 100 "shares 1024"
	assert_eq "$(cgfile "$id2" cpu.max)" "max 100000" "no quota"
}

@test "cpu: a quota of 0.2 CPU throttles a busy loop (cpu.stat throttled, usage well below wall time)" {
	RES='"cpu": {"quota": 20000, "period": 100000}' run_keep "$ID" 'end=$(($(date +%s) + 3)); while [ "$(date +%s)" -lt "$end" ]; do :; done'
	[ "$status" -eq 0 ] || fail "status $status: $output"
	local st usage thr
	st=$(cgfile "$ID" cpu.stat)
	usage=$(keyed "$st" usage_usec)
	thr=$(keyed "$st" nr_throttled)
	[ "$thr" -ge 1 ] || fail "never throttled: $st"
	# About 3 s of wall time at 0.2 CPU: ~0.6 s; allow for the start.
	[ "$usage" -lt 1500000 ] || fail "used ${usage} us of CPU in ~3 s under a 0.2 CPU quota: $st"
}

@test "pids: limit 10: pids.max, a bounded fork loop hits EAGAIN, pids.events max counted" {
	RES='"pids": {"limit": 10}' run_keep "$ID" 'i=0; while [ $i -lt 30 ]; do sleep 2 & i=$((i+1)); done; echo all-started; wait'
	[ "$status" -ne 0 ] || fail "30 processes started under pids.max 10: $output"
	assert_eq "$(cgfile "$ID" pids.max)" 10
	assert_contains "$output" "can't fork"
	[[ "$output" != *all-started* ]] || fail "$output"
	[ "$(keyed "$(cgfile "$ID" pids.events)" max)" -ge 1 ] || fail "pids.events: $(cgfile "$ID" pids.events)"
	[ "$(cgfile "$ID" pids.peak)" -le 10 ] || fail "pids.peak $(cgfile "$ID" pids.peak) above 10"
}

@test "io: blockIO throttle rbps/wbps lands in io.max for the virtual disk" {
	local mm
	mm=$(disk_majmin)
	RES="\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": ${mm%:*}, \"minor\": ${mm#*:}, \"rate\": 1048576}],
		\"throttleWriteBpsDevice\": [{\"major\": ${mm%:*}, \"minor\": ${mm#*:}, \"rate\": 2097152}]}" bg_start "$ID"
	run cgfile "$ID" io.max
	assert_contains "$output" "$mm rbps=1048576 wbps=2097152"
}

@test "io: rbps 1M throttles a 4M direct read of the disk from inside the container (>= 2.5 s)" {
	local mm ma mi
	mm=$(disk_majmin)
	ma=${mm%:*} mi=${mm#*:}
	RES="\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": $ma, \"minor\": $mi, \"rate\": 1048576}]}" \
		RESDEV="{\"allow\": true, \"type\": \"b\", \"major\": $ma, \"minor\": $mi, \"access\": \"r\"}" \
		DEVS="{\"path\": \"/dev/vda\", \"type\": \"b\", \"major\": $ma, \"minor\": $mi, \"fileMode\": 432}" \
		run_keep "$ID" "$TIMED_READ"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	[ "$(read_ms)" -ge 2500 ] || fail "4M read in $(read_ms) ms under rbps=1M: $output"
	local st
	st=$(cgfile "$ID" io.stat)
	assert_contains "$st" "$mm rbytes="
	[ "$(sed -n "s/^$mm rbytes=\([0-9]*\).*/\1/p" <<<"$st")" -ge $((4 << 20)) ] || fail "io.stat: $st"
}

@test "io: the same read without a throttle is fast (< 2.5 s): the throttle is what slowed it" {
	local mm ma mi
	mm=$(disk_majmin)
	ma=${mm%:*} mi=${mm#*:}
	RESDEV="{\"allow\": true, \"type\": \"b\", \"major\": $ma, \"minor\": $mi, \"access\": \"r\"}" \
		DEVS="{\"path\": \"/dev/vda\", \"type\": \"b\", \"major\": $ma, \"minor\": $mi, \"fileMode\": 432}" \
		run_keep "$ID" "$TIMED_READ"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	[ "$(read_ms)" -lt 2500 ] || fail "unthrottled 4M read took $(read_ms) ms"
}

@test "io: blockIO.weight lands in io.bfq.weight with bfq active on the disk" {
	local sched=/sys/block/vda/queue/scheduler
	grep -qw bfq "$sched" || skip "bfq is not available for vda: $(cat "$sched")"
	echo bfq >"$sched"
	RES='"blockIO": {"weight": 300}' bg_start "$ID"
	local d
	d=$(cgdir "$ID")
	[ -f "$d/io.bfq.weight" ] || fail "no io.bfq.weight with bfq loaded: $(ls "$d")"
	assert_contains "$(cat "$d/io.bfq.weight")" "default 300"
}
