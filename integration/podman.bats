#!/usr/bin/env bats
# End-to-end tests: podman (4.x, rootful, cgroupfs, conmon) driving the OCI
# runtime given by $RUNTIME. Everything podman stores lives in a private temp
# dir (see helpers/podman.bash).
#
#   RUNTIME=/usr/sbin/runc bats integration/podman.bats     # reference
#   bats integration/podman.bats                             # target/release/cagebox
#
# Optional: STATE_DIR (runtime state dir, default /run/<basename RUNTIME>),
# PODMAN_TRACE_ARGV=/path/log (log every podman->runtime argv),
# PODMAN_REQUIRE=1 (fail instead of skip when podman/root/busybox is missing).

bats_require_minimum_version 1.5.0

load helpers/podman

: "${BATS_TEST_TIMEOUT:=120}"
export BATS_TEST_TIMEOUT

setup_file() { podman_setup_file; }
teardown_file() { podman_teardown_file; }
setup() { podman_setup; }
teardown() { podman_teardown; }

IMG=localhost/cagebox-busybox:latest

# One line of $output equals (has_line) or contains (has_line_partial) $1.
has_line() { printf '%s\n' "$output" | grep -Fxq -- "$1" || _fail_with "no line '$1' in: $output"; }
has_line_partial() { printf '%s\n' "$output" | grep -Fq -- "$1" || _fail_with "no line containing '$1' in: $output"; }

# --- basics ---------------------------------------------------------------

@test "podman: run --rm prints the container's stdout and stderr separately" {
	run --separate-stderr pm run --rm "$IMG" sh -c 'echo hello-from-cagebox; echo to-stderr >&2'
	assert_status 0
	assert_output "hello-from-cagebox"
	[ "$stderr" = "to-stderr" ] || _fail_with "stderr should be exactly 'to-stderr'"
	# The container runs in the image's rootfs (mkrootfs.sh's stamp file).
	run --separate-stderr pm run --rm "$IMG" cat /.cagebox-rootfs
	assert_status 0
	[ -n "$output" ] || _fail_with "rootfs stamp file missing"
}

@test "podman: exit codes of the container process are propagated" {
	run pm run --rm "$IMG" sh -c 'exit 42'
	assert_status 42
	run pm run --rm "$IMG" false
	assert_status 1
	run pm run --rm "$IMG" true
	assert_status 0
}

@test "podman: missing entrypoint gives 127, non-executable entrypoint gives 126" {
	run -127 pm run --rm "$IMG" /no/such/binary
	assert_status 127
	run pm run --rm "$IMG" /etc/passwd
	assert_status 126
	run -127 pm run --rm --entrypoint /no/such/entrypoint "$IMG"
	assert_status 127
	# Nothing was left behind by the failed creates.
	run pm ps -aq
	assert_status 0
	assert_output ""
}

@test "podman: -e sets environment variables" {
	run --separate-stderr pm run --rm -e FOO=bar -e 'SPACED=a b c' -e EMPTY= "$IMG" \
		sh -c 'echo "$FOO|$SPACED|${EMPTY-unset}|$container"'
	assert_status 0
	assert_output "bar|a b c||podman"
	run --separate-stderr pm run --rm "$IMG" sh -c 'echo "$PATH"'
	assert_status 0
	assert_output_contains "/bin"
}

@test "podman: --workdir sets the working directory" {
	run --separate-stderr pm run --rm --workdir /tmp "$IMG" pwd
	assert_status 0
	assert_output "/tmp"
	run --separate-stderr pm run --rm -w /var/tmp "$IMG" sh -c 'pwd; touch rel && ls /var/tmp/rel'
	assert_status 0
	assert_output "/var/tmp
/var/tmp/rel"
}

@test "podman: --user sets uid and gid" {
	run --separate-stderr pm run --rm --user 65534 "$IMG" sh -c 'id -u; id -g'
	assert_status 0
	assert_output "65534
65534"
	run --separate-stderr pm run --rm --user 1234:5678 "$IMG" sh -c 'id -u; id -g; touch /tmp/f && stat -c %u:%g /tmp/f'
	assert_status 0
	assert_output "1234
5678
1234:5678"
	# A non-root user cannot write where root owns things.
	run pm run --rm --user 65534 "$IMG" touch /etc/cagebox-should-fail
	[ "$status" -ne 0 ] || _fail_with "uid 65534 could write to /etc"
}

@test "podman: default ulimits and sysctls from containers.conf are applied" {
	run --separate-stderr pm run --rm "$IMG" sh -c 'ulimit -n; ulimit -u; cat /proc/sys/net/ipv4/ping_group_range'
	assert_status 0
	assert_output "$(printf '20000\n32768\n0\t0')"
	run --separate-stderr pm run --rm --ulimit nofile=1024:2048 --ulimit nproc=500:600 "$IMG" \
		sh -c 'ulimit -Sn; ulimit -Hn; ulimit -Su'
	assert_status 0
	assert_output "1024
2048
500"
}

# --- mounts ---------------------------------------------------------------

@test "podman: -v bind mount is writable and visible on the host" {
	local vol="$PT/work/vol-rw"
	mkdir -p "$vol"
	echo from-host >"$vol/in"
	run --separate-stderr pm run --rm -v "$vol:/data" "$IMG" sh -c 'cat /data/in; echo from-container > /data/out'
	assert_status 0
	assert_output "from-host"
	[ -f "$vol/out" ] || _fail_with "file written in the container is not on the host"
	assert_eq "$(cat "$vol/out")" from-container "host copy of /data/out"
}

@test "podman: -v bind mount with :ro is read-only" {
	local vol="$PT/work/vol-ro"
	mkdir -p "$vol"
	echo from-host >"$vol/in"
	run --separate-stderr pm run --rm -v "$vol:/data:ro" "$IMG" sh -c 'cat /data/in; echo x > /data/out'
	[ "$status" -ne 0 ] || _fail_with "write to a :ro bind mount succeeded"
	assert_output "from-host"
	case "$stderr" in *"Read-only file system"*) ;; *) _fail_with "expected EROFS" ;; esac
	[ ! -e "$vol/out" ] || _fail_with "file appeared on the host through a :ro mount"
	run --separate-stderr pm run --rm -v "$vol:/data:ro" "$IMG" sh -c 'grep " /data " /proc/mounts'
	assert_status 0
	assert_output_contains " ro,"
}

@test "podman: --read-only makes / read-only but keeps /tmp writable" {
	run --separate-stderr pm run --rm --read-only "$IMG" touch /cagebox-ro-test
	[ "$status" -ne 0 ] || _fail_with "write to / succeeded with --read-only"
	case "$stderr" in *"Read-only file system"*) ;; *) _fail_with "expected EROFS" ;; esac
	run --separate-stderr pm run --rm --read-only "$IMG" sh -c 'touch /tmp/ok /run/ok /var/tmp/ok && echo writable'
	assert_status 0
	assert_output "writable"
	# Without --read-only, / is writable.
	run --separate-stderr pm run --rm "$IMG" sh -c 'touch /cagebox-rw-test && echo writable'
	assert_status 0
	assert_output "writable"
}

@test "podman: --tmpfs mounts a writable tmpfs with its options" {
	run --separate-stderr pm run --rm --read-only --tmpfs /scratch:size=1m "$IMG" \
		sh -c 'grep " /scratch " /proc/mounts; echo data > /scratch/f && cat /scratch/f'
	assert_status 0
	assert_output_contains "tmpfs /scratch tmpfs rw"
	assert_output_contains "size=1024k"
	assert_output_contains "data"
	# The size limit is enforced (bounded: writes at most 2 MiB).
	run pm run --rm --tmpfs /scratch:size=1m "$IMG" sh -c 'head -c 2m /dev/zero > /scratch/big'
	[ "$status" -ne 0 ] || _fail_with "wrote 2 MiB into a 1 MiB tmpfs"
}

@test "podman: masked and read-only kernel paths" {
	run --separate-stderr pm run --rm "$IMG" sh -c '
		wc -c < /proc/timer_list
		ls /sys/firmware | wc -l
		echo x > /proc/sys/kernel/domainname 2>/dev/null && echo sys-writable || echo sys-ro'
	assert_status 0
	assert_output "0
0
sys-ro"
}

# --- resources ------------------------------------------------------------

# The memory hog: dd with one 200 MB buffer filled from /dev/zero. It is
# bounded (200 MB, harmless even if the limit were not applied) and it is the
# only process allocating (with a `head | tail` pipeline the kernel sometimes
# OOM-kills PID 1 too, while the first victim is being reaped).
HOG='dd if=/dev/zero of=/dev/null bs=200M count=1'

@test "podman: --memory limit is set and a memory hog is OOM-killed in the container's cgroup" {
	local cid pid dir n
	cid=$(pm run -d --memory 32m "$IMG" sh -c "$HOG; echo hog-rc=\$?; exec sleep 1000")
	wait_for 60 sh -c "'$PM' logs $cid 2>&1 | grep -q hog-rc=" || { ctr_diagnose "$cid"; return 1; }
	run pm logs "$cid"
	assert_output_contains "hog-rc=137"
	pid=$(ctr_pid "$cid")
	dir=$(cgroup_dir "$pid" memory)
	case "$dir" in *"$cid"*) ;; *) echo "memory cgroup $dir is not the container's own" >&2; return 1 ;; esac
	if cgroup_is_v2; then
		assert_eq "$(cat "$dir/memory.max")" 33554432 memory.max
		n=$(awk '$1 == "oom_kill" { print $2 }' "$dir/memory.events")
	else
		assert_eq "$(cat "$dir/memory.limit_in_bytes")" 33554432 memory.limit_in_bytes
		n=$(awk '$1 == "oom_kill" { print $2 }' "$dir/memory.oom_control")
	fi
	[ "${n:-0}" -ge 1 ] || { echo "oom_kill counter is '${n}' in $dir" >&2; return 1; }
	pm rm -f -t 0 "$cid" >/dev/null
}

@test "podman: --memory: a container whose main process is OOM-killed exits 137" {
	run pm run --rm --memory 32m "$IMG" $HOG
	assert_status 137
	# The limit as seen inside (the container's own cgroup is mounted there).
	run --separate-stderr pm run --rm --memory 32m "$IMG" sh -c '
		if [ -f /sys/fs/cgroup/memory.max ]; then cat /sys/fs/cgroup/memory.max
		else cat /sys/fs/cgroup/memory/memory.limit_in_bytes; fi'
	assert_status 0
	assert_output "33554432"
}

@test "podman: --pids-limit makes fork fail beyond the limit" {
	# At most 30 short sleeps are started; PID 1's exit kills them all.
	run --separate-stderr pm run --rm --pids-limit 10 "$IMG" sh -c '
		( i=0; while [ $i -lt 30 ]; do i=$((i+1)); sleep 5 & echo $i > /tmp/n; done )
		read n < /tmp/n; echo "forked=$n"'
	assert_status 0
	local n=${output#forked=}
	[ "$n" -ge 3 ] && [ "$n" -lt 10 ] || _fail_with "expected between 3 and 9 forks under pids-limit 10"
	case "$stderr" in *"can't fork"*) ;; *) _fail_with "expected a fork failure" ;; esac
	# Without the flag the same loop completes.
	run --separate-stderr pm run --rm "$IMG" sh -c '
		( i=0; while [ $i -lt 30 ]; do i=$((i+1)); sleep 5 & echo $i > /tmp/n; done )
		read n < /tmp/n; echo "forked=$n"'
	assert_status 0
	assert_output "forked=30"
}

@test "podman: --cpus sets the CFS quota of the container's cgroup" {
	local cid pid dir
	cid=$(pm run -d --cpus 0.5 "$IMG" sleep 1000)
	pid=$(ctr_pid "$cid")
	dir=$(cgroup_dir "$pid" cpu)
	case "$dir" in *"$cid"*) ;; *) echo "cpu cgroup $dir is not the container's own" >&2; return 1 ;; esac
	grep -qx "$pid" "$dir/cgroup.procs" || { echo "pid $pid not in $dir/cgroup.procs" >&2; return 1; }
	if cgroup_is_v2; then
		assert_eq "$(cat "$dir/cpu.max")" "50000 100000" cpu.max
	else
		assert_eq "$(cat "$dir/cpu.cfs_quota_us")" 50000 cpu.cfs_quota_us
		assert_eq "$(cat "$dir/cpu.cfs_period_us")" 100000 cpu.cfs_period_us
	fi
	pm rm -f -t 0 "$cid" >/dev/null
}

# --- security -------------------------------------------------------------

@test "podman: default capability set is podman's default list" {
	# CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
	# NET_BIND_SERVICE SYS_CHROOT SETFCAP = 0x800405fb
	run --separate-stderr pm run --rm "$IMG" sh -c 'grep -E "^Cap(Prm|Eff|Bnd|Amb|Inh):" /proc/self/status'
	assert_status 0
	assert_output "$(printf 'CapInh:\t0000000000000000\nCapPrm:\t00000000800405fb\nCapEff:\t00000000800405fb\nCapBnd:\t00000000800405fb\nCapAmb:\t0000000000000000')"
}

@test "podman: --cap-drop ALL removes all capabilities; --cap-add adds one back" {
	run --separate-stderr pm run --rm --cap-drop ALL "$IMG" sh -c '
		grep -E "^Cap(Eff|Bnd):" /proc/self/status
		touch /tmp/f; chown 65534 /tmp/f && echo chown-ok || echo chown-denied'
	assert_status 0
	assert_output "$(printf 'CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nchown-denied')"
	run --separate-stderr pm run --rm --cap-drop ALL --cap-add CHOWN "$IMG" sh -c '
		grep -E "^Cap(Eff|Bnd):" /proc/self/status
		touch /tmp/f; chown 65534 /tmp/f && echo chown-ok || echo chown-denied'
	assert_status 0
	assert_output "$(printf 'CapEff:\t0000000000000001\nCapBnd:\t0000000000000001\nchown-ok')"
}

@test "podman: --security-opt no-new-privileges sets NoNewPrivs" {
	run --separate-stderr pm run --rm --security-opt no-new-privileges "$IMG" grep NoNewPrivs /proc/self/status
	assert_status 0
	assert_output "$(printf 'NoNewPrivs:\t1')"
	run --separate-stderr pm run --rm "$IMG" grep NoNewPrivs /proc/self/status
	assert_status 0
	assert_output "$(printf 'NoNewPrivs:\t0')"
}

@test "podman: default seccomp profile is installed and blocks swapoff even with CAP_SYS_ADMIN" {
	run --separate-stderr pm run --rm "$IMG" grep '^Seccomp:' /proc/self/status
	assert_status 0
	assert_output "$(printf 'Seccomp:\t2')"
	# swapoff is in the profile's EPERM list; with CAP_SYS_ADMIN only seccomp
	# can deny it (the path does not exist: harmless if it were allowed).
	run --separate-stderr pm run --rm --cap-add SYS_ADMIN "$IMG" swapoff /cagebox-no-such-swap
	[ "$status" -ne 0 ] || _fail_with "swapoff succeeded"
	case "$stderr" in *"Operation not permitted"*) ;; *) _fail_with "expected EPERM from seccomp" ;; esac
}

@test "podman: --security-opt seccomp=unconfined installs no filter" {
	run --separate-stderr pm run --rm --security-opt seccomp=unconfined "$IMG" grep '^Seccomp:' /proc/self/status
	assert_status 0
	assert_output "$(printf 'Seccomp:\t0')"
	run --separate-stderr pm run --rm --security-opt seccomp=unconfined --cap-add SYS_ADMIN "$IMG" swapoff /cagebox-no-such-swap
	[ "$status" -ne 0 ] || _fail_with "swapoff of a missing file succeeded"
	case "$stderr" in *"No such file or directory"*) ;; *) _fail_with "expected ENOENT (syscall reached the kernel)" ;; esac
}

@test "podman: --annotation io.cagebox.policy=npm-scripts narrows the container (cagebox only)" {
	case "$(basename "$RUNTIME")" in cagebox*) ;; *) skip "io.cagebox.policy is a cagebox feature; $(basename "$RUNTIME") ignores it" ;; esac
	# The preset's own seccomp filter is stacked on podman's (2 filters), it
	# forces no_new_privs, drops every capability, caps pids at 512, makes the
	# root read-only, and (network = none) only AF_UNIX sockets can be made.
	run --separate-stderr pm run --rm --annotation io.cagebox.policy=npm-scripts "$IMG" sh -c \
		'grep -E "^(NoNewPrivs|Seccomp_filters|CapEff)" /proc/self/status; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; touch /x 2>&1 || true; nc -l -p 8080 2>&1 | head -1'
	assert_status 0
	has_line "$(printf 'NoNewPrivs:\t1')"
	has_line "$(printf 'Seccomp_filters:\t2')"
	has_line "$(printf 'CapEff:\t0000000000000000')"
	has_line "512"
	has_line_partial "Read-only file system"
	has_line "nc: socket: Operation not permitted"
	# Without the annotation: podman's defaults.
	run --separate-stderr pm run --rm "$IMG" grep -E "^(NoNewPrivs|Seccomp_filters)" /proc/self/status
	assert_status 0
	has_line "$(printf 'NoNewPrivs:\t0')"
	has_line "$(printf 'Seccomp_filters:\t1')"
}

@test "podman: a policy rule with no exact OCI form is stacked on the container and its exec'd processes (cagebox only)" {
	case "$(basename "$RUNTIME")" in cagebox*) ;; *) skip "io.cagebox.policy is a cagebox feature; $(basename "$RUNTIME") ignores it" ;; esac
	# podman's profile allows kill unconditionally; "not (pid 1 and signal
	# 0)" has no single OCI rule (sh is pid 1 here: it probes a child), so it becomes a filter of its own
	# (seccompiler), beside podman's filter and the policy's preset filter.
	local pol="$BATS_TEST_TMPDIR/stack.toml"
	cat >"$pol" <<-'EOF'
		version = 1
		[[seccomp.rules]]
		syscalls = ["kill"]
		action = "errno"
		errno = "EACCES"
		args = [{ index = 0, op = "eq", value = 1 }, { index = 1, op = "eq", value = 0 }]
	EOF
	run --separate-stderr pm run --rm --annotation "io.cagebox.policy=$pol" "$IMG" sh -c \
		'grep "^Seccomp_filters" /proc/self/status; kill -0 1 && echo probe-1-ran; sleep 5 & kill -0 $! && echo probe-self-ok; kill $!'
	assert_status 0
	has_line "$(printf 'Seccomp_filters:\t3')"
	case "$stderr" in *"can't kill pid 1: Permission denied"*) ;; *) _fail_with "kill(1, 0) not denied with EACCES: $stderr" ;; esac
	has_line "probe-self-ok"
	if printf '%s\n' "$output" | grep -qx probe-1-ran; then _fail_with "kill(1, 0) was allowed"; fi
	# A process joining the container (podman exec) gets the same filters.
	local name="cbx-stack-$$"
	run --separate-stderr pm run -d --name "$name" --annotation "io.cagebox.policy=$pol" "$IMG" sleep 60
	assert_status 0
	run --separate-stderr pm exec "$name" sh -c 'grep "^Seccomp_filters" /proc/self/status; kill -0 1 && echo probe-1-ran; kill -0 $$ && echo probe-self-ok'
	pm rm -f -t 0 "$name" >/dev/null 2>&1 || true
	assert_status 0
	has_line "$(printf 'Seccomp_filters:\t3')"
	has_line "probe-self-ok"
	if printf '%s\n' "$output" | grep -qx probe-1-ran; then _fail_with "exec: kill(1, 0) was allowed"; fi
}

@test "podman: an unknown io.cagebox.policy preset fails the run with the annotation named (cagebox only)" {
	case "$(basename "$RUNTIME")" in cagebox*) ;; *) skip "io.cagebox.policy is a cagebox feature; $(basename "$RUNTIME") ignores it" ;; esac
	run --separate-stderr pm run --rm --annotation io.cagebox.policy=no-such-preset "$IMG" true
	[ "$status" -ne 0 ] || _fail_with "ran with an unknown policy"
	case "$stderr" in *"io.cagebox.policy"*"no-such-preset"*) ;; *) _fail_with "error does not name the annotation: $stderr" ;; esac
}

@test "podman: --runtime-flag enforce-policy=npm-scripts narrows every container (cagebox only)" {
	case "$(basename "$RUNTIME")" in cagebox*) ;; *) skip "--enforce-policy is a cagebox flag; $(basename "$RUNTIME") has none" ;; esac
	# The operator's flag, for clients that cannot set annotations (Docker's
	# runtimeArgs use the same global flag): the same narrowing as the annotation.
	run --separate-stderr pm --runtime-flag enforce-policy=npm-scripts run --rm "$IMG" sh -c \
		'grep -E "^(NoNewPrivs|Seccomp_filters|CapEff)" /proc/self/status; touch /x 2>&1 || true'
	assert_status 0
	has_line "$(printf 'NoNewPrivs:\t1')"
	has_line "$(printf 'Seccomp_filters:\t2')"
	has_line "$(printf 'CapEff:\t0000000000000000')"
	has_line_partial "Read-only file system"
}

@test "podman: a bundle's policy may not widen an enforced one (cagebox only)" {
	case "$(basename "$RUNTIME")" in cagebox*) ;; *) skip "--enforce-policy is a cagebox flag; $(basename "$RUNTIME") has none" ;; esac
	local pol="$BATS_TEST_TMPDIR/widen.toml"
	printf 'version = 1\n[limits]\npids = 100000\n[widen]\n"limits.pids" = "wants more"\n' >"$pol"
	run --separate-stderr pm --runtime-flag enforce-policy=npm-scripts run --rm --annotation "io.cagebox.policy=$pol" "$IMG" true
	[ "$status" -ne 0 ] || _fail_with "a bundle widened the operator's policy"
	case "$stderr" in *"widens"*"limits.pids"*"npm-scripts"*) ;; *) _fail_with "error does not explain the refusal: $stderr" ;; esac
	# Narrowing further is fine: both policies apply (strictest wins).
	printf 'version = 1\n[limits]\npids = 64\n' >"$pol"
	run --separate-stderr pm --runtime-flag enforce-policy=npm-scripts run --rm --annotation "io.cagebox.policy=$pol" "$IMG" \
		sh -c 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; grep ^CapEff /proc/self/status'
	assert_status 0
	has_line "64"
	has_line "$(printf 'CapEff:\t0000000000000000')"
}

@test "podman: --hostname sets the UTS hostname only inside" {
	local host_before
	host_before=$(cat /proc/sys/kernel/hostname)
	run --separate-stderr pm run --rm --hostname cbx-test-host "$IMG" sh -c 'hostname; cat /proc/sys/kernel/hostname'
	assert_status 0
	assert_output "cbx-test-host
cbx-test-host"
	assert_eq "$(cat /proc/sys/kernel/hostname)" "$host_before" "host hostname"
}

# --- lifecycle ------------------------------------------------------------

@test "podman: run -d, then logs of a running and of an exited container" {
	local cid
	cid=$(pm run -d "$IMG" sh -c 'echo early-line; echo err-line >&2; exec sleep 1000')
	wait_for 10 sh -c "'$PM' logs $cid 2>&1 | grep -q err-line"
	run pm logs "$cid"
	assert_output_contains "early-line"
	assert_output_contains "err-line"
	assert_eq "$(ctr_status "$cid")" running status
	pm rm -f -t 0 "$cid" >/dev/null

	cid=$(pm run -d "$IMG" sh -c 'echo one; echo two; exit 3')
	run pm wait "$cid"
	assert_output "3"
	run --separate-stderr pm logs "$cid"
	assert_status 0
	assert_output "one
two"
	pm rm "$cid" >/dev/null
}

@test "podman: exec runs in the container and propagates exit codes" {
	local cid
	cid=$(pm run -d --stop-timeout 1 "$IMG" sh -c 'echo inside > /tmp/marker; exec sleep 1000')
	wait_for 10 test "$(ctr_status "$cid")" = running
	run --separate-stderr pm exec "$cid" cat /tmp/marker
	assert_status 0
	assert_output "inside"
	run --separate-stderr pm exec "$cid" sh -c 'cat /proc/1/cmdline | tr "\0" " "'
	assert_output "sleep 1000 "
	run pm exec "$cid" sh -c 'exit 7'
	assert_status 7
	run -127 pm exec "$cid" /no/such/binary
	assert_status 127
	run pm exec "$cid" /etc/passwd
	assert_status 126
	run --separate-stderr pm exec -u 65534 -w /tmp -e XV=1 "$cid" sh -c 'id -u; pwd; echo $XV; [ -t 0 ] && echo tty || echo notty'
	assert_status 0
	assert_output "65534
/tmp
1
notty"
	run bash -c "echo piped | '$PM' exec -i $cid cat"
	assert_status 0
	assert_output "piped"
	pm rm -f -t 0 "$cid" >/dev/null
}

@test "podman: exec -t gets a terminal" {
	command -v script >/dev/null || skip "script (bsdutils) is not installed"
	local cid
	cid=$(pm run -d "$IMG" sleep 1000)
	run in_pty "$PM exec -t $cid sh -c '[ -t 0 ] && [ -t 1 ] && echo TTY-YES; tty; exit 4'"
	assert_status 4
	assert_output_contains "TTY-YES"
	assert_output_contains "/dev/pts/"
	pm rm -f -t 0 "$cid" >/dev/null
}

@test "podman: top lists the container's processes" {
	local cid
	cid=$(pm run -d "$IMG" sleep 1000)
	run pm top "$cid"
	assert_status 0
	assert_output_contains "sleep 1000"
	run pm top "$cid" pid args
	assert_status 0
	assert_output_contains "sleep 1000"
	pm rm -f -t 0 "$cid" >/dev/null
}

@test "podman: pause freezes the container, unpause resumes it" {
	local cid pid c1 c2
	# Write-then-rename: a freeze between `>`'s truncate and the write would
	# leave the counter empty (seen once in CI).
	cid=$(pm run -d "$IMG" sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/counter.new; mv /tmp/counter.new /tmp/counter; sleep 0.1; done')
	pid=$(ctr_pid "$cid")
	wait_for 10 test -s "/proc/$pid/root/tmp/counter"
	pm pause "$cid" >/dev/null
	assert_eq "$(ctr_status "$cid")" paused status
	local dir
	dir=$(cgroup_dir "$pid" freezer)
	if cgroup_is_v2; then
		assert_eq "$(cat "$dir/cgroup.freeze")" 1 cgroup.freeze
	else
		assert_eq "$(cat "$dir/freezer.state")" FROZEN freezer.state
	fi
	c1=$(cat "/proc/$pid/root/tmp/counter")
	sleep 0.7
	c2=$(cat "/proc/$pid/root/tmp/counter")
	assert_eq "$c2" "$c1" "counter while paused"
	pm unpause "$cid" >/dev/null
	assert_eq "$(ctr_status "$cid")" running status
	wait_for 5 sh -c "[ \"\$(cat /proc/$pid/root/tmp/counter)\" -gt $c1 ]"
	pm rm -f -t 0 "$cid" >/dev/null
}

@test "podman: stop delivers SIGTERM to a process that traps it" {
	local cid t0 t1
	cid=$(pm run -d "$IMG" sh -c 'trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 1 & wait $!; done')
	wait_for 10 sh -c "'$PM' logs $cid 2>&1 | grep -q ready"
	t0=$(date +%s%N)
	pm stop -t 20 "$cid" >/dev/null
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -lt 5000 ] || { echo "stop took $(((t1 - t0) / 1000000)) ms" >&2; return 1; }
	assert_eq "$(ctr_exit_code "$cid")" 3 "exit code"
	run pm logs "$cid"
	assert_output_contains "got-term"
	pm rm "$cid" >/dev/null
}

@test "podman: stop -t 1 SIGKILLs a process that ignores SIGTERM (137)" {
	local cid t0 t1 ms
	cid=$(pm run -d "$IMG" sh -c 'trap "" TERM; echo ready; while :; do sleep 1; done')
	wait_for 10 sh -c "'$PM' logs $cid 2>&1 | grep -q ready"
	t0=$(date +%s%N)
	pm stop -t 1 "$cid" >/dev/null
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	[ "$ms" -ge 900 ] && [ "$ms" -lt 6000 ] || { echo "stop -t 1 took $ms ms" >&2; return 1; }
	assert_eq "$(ctr_exit_code "$cid")" 137 "exit code"
	assert_eq "$(ctr_status "$cid")" exited status
	pm rm "$cid" >/dev/null
}

@test "podman: kill -s USR1 reaches the container's trap; kill defaults to SIGKILL" {
	local cid
	cid=$(pm run -d "$IMG" sh -c 'trap "echo usr1 > /tmp/usr1" USR1; touch /tmp/ready; while :; do sleep 1 & wait $!; done')
	wait_for 10 "$PM" exec "$cid" test -f /tmp/ready
	pm kill -s USR1 "$cid" >/dev/null
	wait_for 10 "$PM" exec "$cid" test -f /tmp/usr1
	assert_eq "$(ctr_status "$cid")" running status
	pm kill "$cid" >/dev/null
	run pm wait "$cid"
	assert_output "137"
	pm rm "$cid" >/dev/null
}

@test "podman: rm -f removes a running container and its processes" {
	local cid pid t0 t1
	cid=$(pm run -d --stop-timeout 2 "$IMG" sleep 1000)
	pid=$(ctr_pid "$cid")
	[ -d "/proc/$pid" ] || { echo "container pid $pid not running" >&2; return 1; }
	t0=$(date +%s)
	pm rm -f "$cid" >/dev/null
	t1=$(date +%s)
	[ $((t1 - t0)) -lt 10 ] || { echo "rm -f took $((t1 - t0)) s" >&2; return 1; }
	run pm ps -aq --no-trunc
	assert_output_not_contains "$cid"
	wait_for 5 test ! -e "/proc/$pid"
	assert_no_leftovers "$cid"
}

@test "podman: restart runs the container's process again" {
	local cid pid1 pid2
	cid=$(pm run -d "$IMG" sh -c 'echo start >> /var/starts; exec sleep 1000')
	wait_for 10 "$PM" exec "$cid" test -f /var/starts
	pid1=$(ctr_pid "$cid")
	pm restart -t 1 "$cid" >/dev/null
	assert_eq "$(ctr_status "$cid")" running status
	pid2=$(ctr_pid "$cid")
	[ "$pid1" != "$pid2" ] || { echo "pid did not change across restart ($pid1)" >&2; return 1; }
	wait_for 10 sh -c "[ \"\$('$PM' exec $cid grep -c start /var/starts)\" = 2 ]"
	# An exited container can be started again too.
	pm stop -t 1 "$cid" >/dev/null
	pm start "$cid" >/dev/null
	wait_for 10 sh -c "[ \"\$('$PM' exec $cid grep -c start /var/starts)\" = 3 ]"
	pm rm -f -t 0 "$cid" >/dev/null
}

@test "podman: --init runs catatonit as PID 1" {
	[ -x /usr/libexec/podman/catatonit ] || skip "catatonit is not installed at /usr/libexec/podman/catatonit"
	run --separate-stderr pm run --rm --init "$IMG" sh -c 'tr "\0" " " < /proc/1/cmdline; echo; echo "sh-pid=$$"'
	assert_status 0
	case "${lines[0]}" in
	"/run/podman-init -- sh -c "*) ;;
	*) _fail_with "PID 1 is not podman's init (catatonit)" ;;
	esac
	[ "${lines[1]}" != "sh-pid=1" ] || _fail_with "sh is PID 1 despite --init"
	# The init forwards SIGTERM, so a plain sleep stops at once.
	local cid t0 t1
	cid=$(pm run -d --init "$IMG" sleep 1000)
	t0=$(date +%s)
	pm stop -t 20 "$cid" >/dev/null
	t1=$(date +%s)
	[ $((t1 - t0)) -lt 5 ] || { echo "stop with --init took $((t1 - t0)) s" >&2; return 1; }
	pm rm "$cid" >/dev/null
}

# --- stdio ----------------------------------------------------------------

@test "podman: run -t gives the process a terminal" {
	command -v script >/dev/null || skip "script (bsdutils) is not installed"
	run in_pty "$PM run --rm -t $IMG sh -c '[ -t 0 ] && [ -t 1 ] && echo TTY-YES; tty; exit 5'"
	assert_status 5
	assert_output_contains "TTY-YES"
	assert_output_contains "/dev/pts/0"
	run --separate-stderr pm run --rm "$IMG" sh -c '[ -t 1 ] && echo tty || echo notty'
	assert_output "notty"
}

@test "podman: run -i passes piped stdin; without -i stdin is not connected" {
	run bash -c "echo hello | '$PM' run --rm -i '$IMG' cat"
	assert_status 0
	assert_output "hello"
	run bash -c "seq 1 20000 | '$PM' run --rm -i '$IMG' wc -l"
	assert_status 0
	assert_output "20000"
	run bash -c "echo hello | '$PM' run --rm '$IMG' cat"
	assert_status 0
	assert_output ""
}

# --- scale and cleanup ----------------------------------------------------

@test "podman: 10 containers in parallel all succeed" {
	local i pids=() d="$PT/work/parallel"
	mkdir -p "$d"
	for i in $(seq 1 10); do
		"$PM" run --rm "$IMG" sh -c "echo par-$i; sleep 1" >"$d/out.$i" 2>"$d/err.$i" &
		pids+=($!)
		PODMAN_BG_PIDS+=($!)
	done
	local failed=""
	for i in $(seq 1 10); do
		wait "${pids[$((i - 1))]}" || failed="$failed $i(rc=$?)"
	done
	for i in $(seq 1 10); do
		[ "$(cat "$d/out.$i")" = "par-$i" ] || failed="$failed $i(output)"
	done
	[ -z "$failed" ] || {
		echo "failed:$failed" >&2
		tail -n +1 "$d"/err.* >&2
		return 1
	}
	run pm ps -aq
	assert_output ""
}

@test "podman: no runtime state and no cgroup left after rm" {
	local cid p
	cid=$(pm run -d "$IMG" sleep 1000)
	# While it runs, the paths exist (so the check below is not vacuous).
	[ -d "$STATE_DIR/$cid" ] || { echo "no $STATE_DIR/$cid while running: set STATE_DIR to the runtime's state dir" >&2; return 1; }
	local found=0
	for p in /sys/fs/cgroup/*/libpod_parent/libpod-"$cid" /sys/fs/cgroup/libpod_parent/libpod-"$cid"; do
		[ -d "$p" ] && found=$((found + 1))
	done
	[ "$found" -ge 1 ] || { echo "no libpod-$cid cgroup while running" >&2; return 1; }
	pm rm -f -t 0 "$cid" >/dev/null
	assert_no_leftovers "$cid"

	# Same for a --rm container that exited by itself, and one that failed to start.
	pm run --rm --cidfile "$PT/work/cid1" "$IMG" true
	assert_no_leftovers "$(cat "$PT/work/cid1")"
	run -127 pm run --rm --cidfile "$PT/work/cid2" "$IMG" /no/such/binary
	assert_status 127
	assert_no_leftovers "$(cat "$PT/work/cid2")"
	# And one stopped, then removed.
	cid=$(pm run -d "$IMG" sh -c 'exit 0')
	pm wait "$cid" >/dev/null
	pm rm "$cid" >/dev/null
	assert_no_leftovers "$cid"
}

@test "podman: the host was not modified by the tests" {
	local now
	now=$(cat /proc/sys/kernel/hostname)
	if [ "$now" != "$PODMAN_HOST_HOSTNAME" ]; then
		hostname "$PODMAN_HOST_HOSTNAME"
		echo "a container changed the HOST's hostname to '$now' (restored)" >&2
		return 1
	fi
	local f
	for f in /cagebox-ro-test /cagebox-rw-test /etc/cagebox-should-fail; do
		[ ! -e "$f" ] || { echo "a container wrote $f on the HOST" >&2; return 1; }
	done
}
