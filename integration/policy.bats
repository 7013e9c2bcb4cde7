#!/usr/bin/env bats
# The security policy, knob by knob, with real containers: every knob of the
# policy file (docs/policy.md) has an allow case and a deny case, named
# "<policy key>: allow: ..." / "<policy key>: deny: ...", driven through
# `cagebox exec [POLICY FLAGS] -- CMD`. Then bad policies, the report, the
# policy tools (`policy check|explain|show`, `doctor`, `spec --policy`) and
# a terminal.
#
# cagebox-only (runc has no policy layer): with RUNTIME=runc every test skips.
# Hostile fixtures are bounded (fork loops of 60 short sleeps, memory hogs of
# at most 600M, CPU loops that stop after a few seconds, 10M of output), the
# only secrets are canaries in temporary directories, and network tests talk
# only to a 127.0.0.1 listener the test starts and kills by pid.
#
# After every test, teardown checks that our cagebox runs left nothing: no
# entry in the state root except empty dot directories (and the documented
# seccomp cache .seccomp/*.bpf), no cgroup cagebox-exec-<pid>-* of ours on
# any hierarchy, no process in one, no mount.

bats_require_minimum_version 1.5.0

load helpers/policy

setup_file() { pol_setup_file; }
teardown_file() { pol_teardown_file; }
setup() { pol_setup; }
teardown() { pol_teardown; }

P() { echo "$T/policy.toml"; }

# ============================================================ filesystem

@test "filesystem.root: deny: the host root is read-only (writing /etc fails)" {
	run --separate-stderr cbx_exec -- sh -c 'echo leaked > "$1"' sh "$ETC_PROBE"
	[ "$status" -ne 0 ] || fail "writing $ETC_PROBE succeeded"
	assert_contains "$stderr" "Read-only file system"
	[ ! -e "$ETC_PROBE" ] || fail "the write reached the host"
}

@test "filesystem.root: allow: the host's files are readable (/etc/hostname, /usr/bin)" {
	run --separate-stderr cbx_exec -- sh -c 'cat /etc/hostname; test -x /usr/bin/python3 && echo usr-ok'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "$(cat /etc/hostname)"
	assert_contains "$output" "usr-ok"
}

@test "filesystem.root: allow: a rootfs directory becomes a read-only /" {
	"$REPO_ROOT/hack/mkrootfs.sh" "$T/rootfs"
	cat >"$(P)" <<-EOF
		version = 1
		[filesystem]
		root = "$T/rootfs"
		[process]
		cwd = "/"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- /bin/sh -c \
		'test -x /bin/busybox && echo busybox-root; test -e /usr/bin/python3 || echo no-host-python; echo x > /etc/x || echo etc-ro'
	[ "$status" -eq 0 ] || fail "status $status: $output $stderr"
	assert_contains "$output" "busybox-root"
	assert_contains "$output" "no-host-python"
	assert_contains "$output" "etc-ro"
	[ ! -e "$T/rootfs/etc/x" ] || fail "the rootfs was written"
}

@test "filesystem.read_write: allow: the project is writable and the host sees the file" {
	run --separate-stderr cbx_exec -- sh -c 'echo built > artefact.txt && mkdir -p out/deep && echo ok'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$(cat "$PROJECT/artefact.txt")" built
	[ -d "$PROJECT/out/deep" ] || fail "mkdir in the project did not reach the host"
}

@test "filesystem.read_write: deny: a host directory outside the project is read-only" {
	run --separate-stderr cbx_exec -- sh -c 'echo leaked > "$1/x"' sh "$OUTSIDE"
	[ "$status" -ne 0 ] || fail "writing outside the project succeeded"
	assert_contains "$stderr" "Read-only file system"
	[ ! -e "$OUTSIDE/x" ] || fail "the write reached the host"
}

@test "filesystem.read_write: allow: --rw adds a writable path" {
	run --separate-stderr cbx_exec --rw "$OUTSIDE" -- sh -c 'echo via-rw > "$1/x"' sh "$OUTSIDE"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$(cat "$OUTSIDE/x")" via-rw
}

@test "filesystem.read_write: deny: a new writable path in a policy file needs a widen (warning names the key)" {
	cat >"$(P)" <<-EOF
		version = 1
		[filesystem]
		read_write = ["$OUTSIDE"]
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'echo leaked > "$1/x"' sh "$OUTSIDE"
	[ "$status" -ne 0 ] || fail "an unwidened read_write entry was applied"
	assert_contains "$stderr" "filesystem.read_write"
	assert_contains "$stderr" "ignored"
	[ ! -e "$OUTSIDE/x" ] || fail "the write reached the host"
	cat >>"$(P)" <<-EOF
		[widen]
		"filesystem.read_write" = "the test's output directory"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'echo widened > "$1/x"' sh "$OUTSIDE"
	[ "$status" -eq 0 ] || fail "status $status with the widen: $stderr"
	assert_eq "$(cat "$OUTSIDE/x")" widened
}

@test "filesystem.read_write: deny: a writable path that does not exist is refused (exit 125 naming the key)" {
	run --separate-stderr cbx_exec --rw "$T/does-not-exist" -- true
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "filesystem.read_write"
	assert_contains "$stderr" "$T/does-not-exist"
	assert_state_root_clean
}

@test "filesystem.read_only: deny: a read-only path inside the project cannot be written" {
	mkdir -p "$PROJECT/vendor"
	echo original >"$PROJECT/vendor/lib.txt"
	cat >"$(P)" <<-'EOF'
		version = 1
		[filesystem]
		read_only = ["{project}/vendor"]
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'echo changed > vendor/lib.txt; echo vendor=$?; echo fine > top.txt; echo top=$?'
	assert_contains "$output" "vendor=2"
	assert_contains "$output" "top=0"
	assert_contains "$stderr" "Read-only file system"
	assert_eq "$(cat "$PROJECT/vendor/lib.txt")" original
	assert_eq "$(cat "$PROJECT/top.txt")" fine
}

@test "filesystem.read_only: allow: --ro keeps a project path readable (not hidden)" {
	mkdir -p "$PROJECT/vendor"
	echo original >"$PROJECT/vendor/lib.txt"
	run --separate-stderr cbx_exec --ro "$PROJECT/vendor" -- sh -c 'cat vendor/lib.txt; rm vendor/lib.txt || echo rm-denied'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "original"
	assert_contains "$output" "rm-denied"
	[ -e "$PROJECT/vendor/lib.txt" ] || fail "the read-only file was removed"
}

@test "filesystem.hidden: deny: the caller's HOME is hidden (canary unreadable, HOME empty)" {
	run --separate-stderr cbx_exec -- sh -c 'cat "$HOME/.canary-token"; echo "entries=$(ls -A "$HOME" | wc -l)"'
	assert_not_contains "$output" "canary-home-secret"
	assert_contains "$output" "entries=0"
	assert_contains "$stderr" "No such file or directory"
}

@test "filesystem.hidden: deny: /root and /home are empty inside (only entry counts are printed)" {
	run --separate-stderr cbx_exec -- sh -c 'echo "root=$(ls -A /root | wc -l) home=$(ls -A /home | wc -l)"'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "root=0 home=0"
}

@test "filesystem.hidden: allow: the same canary is readable when no hidden rule covers it" {
	# HOME points elsewhere, so {home} no longer covers $T/home: only the
	# hidden rule was keeping the canary away.
	mkdir -p "$T/other-home"
	HOME="$T/other-home" run --separate-stderr cbx_exec -- cat "$T/home/.canary-token"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "canary-home-secret-$BATS_TEST_NUMBER"
}

@test "filesystem.hidden: allow: a project inside HOME stays writable while the rest of HOME is hidden" {
	mkdir -p "$HOME/work/app"
	cd "$HOME/work/app"
	run --separate-stderr cbx_exec -- sh -c 'echo built > out.txt && echo wrote; cat "$HOME/.canary-token"; ls -A "$HOME"'
	assert_contains "$output" "wrote"
	assert_not_contains "$output" "canary-home-secret"
	assert_not_contains "$output" ".canary-token"
	assert_eq "$(cat "$HOME/work/app/out.txt")" built
}

@test "filesystem.hidden: deny: a hidden file reads as empty (/etc/shadow, a project file)" {
	echo "API_KEY=canary-project-secret" >"$PROJECT/secret.env"
	cat >"$(P)" <<-'EOF'
		version = 1
		[filesystem]
		hidden = ["{project}/secret.env"]
	EOF
	[ -s /etc/shadow ] || skip "the host's /etc/shadow is empty"
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'echo "shadow=$(wc -c < /etc/shadow)"; cat secret.env; echo end'
	assert_contains "$output" "shadow=0"
	assert_not_contains "$output" "canary-project-secret"
	assert_contains "$output" "end"
}

@test "filesystem.no_exec: deny: a program under a no_exec path cannot be executed" {
	mkdir -p "$PROJECT/bin"
	printf '#!/bin/sh\necho ran\n' >"$PROJECT/bin/hello.sh"
	chmod +x "$PROJECT/bin/hello.sh"
	cat >"$(P)" <<-'EOF'
		version = 1
		[filesystem]
		no_exec = ["{project}/bin"]
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c './bin/hello.sh; echo "rc=$?"'
	assert_not_contains "$output" "ran"
	assert_contains "$output" "rc=126"
	assert_icontains "$stderr" "permission denied"
}

@test "filesystem.no_exec: deny: the command itself under no_exec fails with exit 126 and says why" {
	mkdir -p "$PROJECT/bin"
	printf '#!/bin/sh\necho ran\n' >"$PROJECT/bin/hello.sh"
	chmod +x "$PROJECT/bin/hello.sh"
	cat >"$(P)" <<-'EOF'
		version = 1
		[filesystem]
		no_exec = ["{project}/bin"]
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- ./bin/hello.sh
	assert_not_contains "$output" "ran"
	assert_icontains "$stderr" "permission denied"
	[ "$status" -eq 126 ] || fail "status $status (want 126, like podman for a command that cannot be executed)"
}

@test "filesystem.no_exec: deny: a no_exec path under the hidden home is exposed read-only, never writable" {
	mkdir -p "$HOME/tools"
	echo host-content >"$HOME/tools/file"
	cat >"$(P)" <<-'EOF'
		version = 1
		[filesystem]
		no_exec = ["{home}/tools"]
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'cat "$HOME/tools/file"; (echo x > "$HOME/tools/new") 2>/dev/null || echo write-denied'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "host-content"
	assert_contains "$output" "write-denied"
	[ ! -e "$HOME/tools/new" ] || fail "the sandbox wrote into the host's hidden home"
}

@test "filesystem.no_exec: allow: the same program runs outside the no_exec path" {
	mkdir -p "$PROJECT/bin"
	printf '#!/bin/sh\necho ran\n' >"$PROJECT/hello.sh"
	chmod +x "$PROJECT/hello.sh"
	cat >"$(P)" <<-'EOF'
		version = 1
		[filesystem]
		no_exec = ["{project}/bin"]
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- ./hello.sh
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" ran
}

@test "filesystem.private_tmp: deny: the host's /tmp is invisible; /tmp is private and writable" {
	local marker
	marker="$(mktemp /tmp/cagebox-policy-marker.XXXXXX)"
	run --separate-stderr cbx_exec -- sh -c 'test -e "$1" && echo marker-visible; echo x > /tmp/inside && echo tmp-writable' sh "$marker"
	rm -f "$marker"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_not_contains "$output" "marker-visible"
	assert_contains "$output" "tmp-writable"
	[ ! -e /tmp/inside ] || fail "the sandbox's /tmp write reached the host"
}

@test "filesystem.private_tmp: allow: private_tmp = false with a widen shows the host's /tmp (read-only)" {
	local marker
	marker="$(mktemp /tmp/cagebox-policy-marker.XXXXXX)"
	cat >"$(P)" <<-'EOF'
		version = 1
		[filesystem]
		private_tmp = false
		[widen]
		"filesystem.private_tmp" = "the test reads a host /tmp marker"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'test -e "$1" && echo marker-visible; echo x > "$1.w" || echo tmp-ro' sh "$marker"
	rm -f "$marker" "$marker.w"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "marker-visible"
	assert_contains "$output" "tmp-ro"
}

@test "filesystem.minimal_dev: deny: /dev holds only the minimal nodes (no kmsg, no loop devices)" {
	[ -e /dev/kmsg ] || skip "the host has no /dev/kmsg to compare with"
	run --separate-stderr cbx_exec -- sh -c 'ls /dev'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	for n in null zero full random urandom tty pts shm; do
		grep -qx "$n" <<<"$output" || fail "/dev/$n missing: $output"
	done
	for n in kmsg loop0 loop-control kvm; do
		! grep -qx "$n" <<<"$output" || fail "/dev/$n is visible in a minimal /dev: $output"
	done
}

@test "filesystem.minimal_dev: deny: minimal_dev = false is refused with the key named (exit 125)" {
	# libcontainer 0.7 cannot set up the host's /dev (EEXIST on its /dev
	# symlinks), so this build refuses it instead of running without it.
	cat >"$(P)" <<-'EOF'
		version = 1
		[filesystem]
		minimal_dev = false
		[widen]
		"filesystem.minimal_dev" = "the test looks at the host's device nodes"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- true
	[ "$status" -eq 125 ] || fail "status $status: $output $stderr"
	assert_contains "$stderr" "filesystem.minimal_dev"
}

@test "filesystem.mask_proc: deny: /proc/kcore, /proc/interrupts, /proc/keys are masked; /proc/sys is read-only" {
	[ "$(wc -c </proc/interrupts)" -gt 0 ] || skip "the host's /proc/interrupts is empty"
	# /proc/kcore does not exist on every kernel (this one may lack
	# CONFIG_PROC_KCORE): then it must simply not be readable either.
	run --separate-stderr cbx_exec -- sh -c '
		echo "kcore=$(head -c 16 /proc/kcore 2>/dev/null | wc -c)"
		echo "interrupts=$(wc -c < /proc/interrupts)"
		echo "keys=$(wc -c < /proc/keys)"
		echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null || echo proc-sys-ro'
	assert_contains "$output" "kcore=0"
	assert_contains "$output" "interrupts=0"
	assert_contains "$output" "keys=0"
	assert_contains "$output" "proc-sys-ro"
}

@test "filesystem.mask_proc: allow: mask_proc = false with a widen shows /proc/interrupts" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[filesystem]
		mask_proc = false
		[widen]
		"filesystem.mask_proc" = "the test reads /proc/interrupts"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'wc -c < /proc/interrupts'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ "$output" -gt 0 ] || fail "/proc/interrupts still masked: $output"
}

# ============================================================ network

@test "network.mode: deny: none: socket(AF_INET) fails with EPERM and the host listener is unreachable" {
	start_listener
	run --separate-stderr cbx_exec -- "$PY" -c 'import socket; socket.socket()'
	[ "$status" -ne 0 ] || fail "socket(AF_INET) succeeded"
	assert_contains "$stderr" "PermissionError"
	run --separate-stderr cbx_exec -- "$PY" "$POL_FIX/get.py" "$LISTEN_PORT"
	[ "$status" -ne 0 ] || fail "reached the host listener: $output"
	assert_not_contains "$output" "hello-from-host"
	run --separate-stderr cbx_exec -- "$PY" "$POL_FIX/sockets.py"
	assert_contains "$output" "AF_UNIX ok"
	assert_contains "$output" "AF_INET errno 1"
	assert_contains "$output" "AF_INET6 errno 1"
}

@test "network.mode: deny: none: without the seccomp block, there is still no interface (not even lo)" {
	start_listener
	cat >"$(P)" <<-'EOF'
		version = 1
		[seccomp]
		block_network = false
		[widen]
		"seccomp.block_network" = "show the namespace alone keeps the network away"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/get.py" "$LISTEN_PORT"
	[ "$status" -ne 0 ] || fail "reached the host listener: $output"
	assert_not_contains "$output" "hello-from-host"
	assert_icontains "$stderr" "unreachable"
	# lo is down: even the sandbox's own 127.0.0.1 is unreachable.
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/selftalk.py"
	[ "$status" -ne 0 ] || fail "loopback is up with network.mode = none: $output"
	assert_icontains "$stderr" "unreachable"
}

@test "network.mode: allow: loopback: the sandbox's own lo is up and it talks to itself on 127.0.0.1" {
	run --separate-stderr cbx_exec --network loopback -- "$PY" "$POL_FIX/selftalk.py"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "selftalk ping"
}

@test "network.mode: deny: loopback: the host's 127.0.0.1 listener is not reachable" {
	start_listener
	run --separate-stderr cbx_exec --network loopback -- "$PY" "$POL_FIX/get.py" "$LISTEN_PORT"
	[ "$status" -ne 0 ] || fail "reached the host listener: $output"
	assert_not_contains "$output" "hello-from-host"
	assert_contains "$stderr" "ConnectionRefusedError"
}

@test "network.mode: allow: loopback in a policy file (with a widen) behaves as --network loopback" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[network]
		mode = "loopback"
		[widen]
		"network.mode" = "the test server listens on the sandbox's own loopback"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/selftalk.py"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "selftalk ping"
}

@test "network.mode: allow: host with a widen reaches the host's 127.0.0.1 listener" {
	start_listener
	cat >"$(P)" <<-'EOF'
		version = 1
		[network]
		mode = "host"
		[widen]
		"network.mode" = "talks to the test's own listener"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/get.py" "$LISTEN_PORT"
	[ "$status" -eq 0 ] || fail "status $status: $output $stderr"
	assert_eq "$output" "hello-from-host-$BATS_TEST_NUMBER"
}

@test "network.mode: allow: --network host reaches the host's 127.0.0.1 listener" {
	start_listener
	run --separate-stderr cbx_exec --network host -- "$PY" "$POL_FIX/get.py" "$LISTEN_PORT"
	[ "$status" -eq 0 ] || fail "status $status: $output $stderr"
	assert_eq "$output" "hello-from-host-$BATS_TEST_NUMBER"
}

@test "network.mode: deny: host without a widen is ignored with a warning naming network.mode" {
	start_listener
	cat >"$(P)" <<-'EOF'
		version = 1
		[network]
		mode = "host"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/get.py" "$LISTEN_PORT"
	[ "$status" -ne 0 ] || fail "reached the host listener without a widen: $output"
	[ "$status" -ne 125 ] || fail "refused instead of ignored: $stderr"
	assert_not_contains "$output" "hello-from-host"
	assert_contains "$stderr" "network.mode"
	assert_contains "$stderr" "ignored"
}

@test "namespaces.net: allow: net = false with network.mode = host (both widened) shares the host's network" {
	start_listener
	cat >"$(P)" <<-'EOF'
		version = 1
		[network]
		mode = "host"
		[namespaces]
		net = false
		[widen]
		"network.mode" = "talks to the test's own listener"
		"namespaces.net" = "host network"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'readlink /proc/self/ns/net; "$1" "$2" "$3"' sh "$PY" "$POL_FIX/get.py" "$LISTEN_PORT"
	[ "$status" -eq 0 ] || fail "status $status: $output $stderr"
	assert_contains "$output" "$(readlink /proc/self/ns/net)"
	assert_contains "$output" "hello-from-host-$BATS_TEST_NUMBER"
}

@test "namespaces.net: deny: net = false without a widen is ignored with a warning (the run goes on)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[namespaces]
		net = false
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- readlink /proc/self/ns/net
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ "$output" != "$(readlink /proc/self/ns/net)" ] || fail "shares the host's network namespace"
	assert_contains "$stderr" "namespaces.net"
	assert_contains "$stderr" "ignored"
}

@test "namespaces.net: deny: net = false contradicts network.mode = none: exit 125 naming namespaces.net" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[namespaces]
		net = false
		[widen]
		"namespaces.net" = "test"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- true
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "namespaces.net"
	assert_state_root_clean
}

# ============================================================ namespaces

@test "namespaces.pid: deny: host processes are invisible (own pid namespace: cagebox's init is pid 1, the command pid 2)" {
	host_marker_process
	run --separate-stderr cbx_exec -- sh -c 'echo "self=$$"; cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\0" " "; echo; echo "pids=$(ls -d /proc/[0-9]* | wc -l)"' 
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "self=2"
	assert_not_contains "$output" "$MARKER_NAME"
	local n
	n=$(sed -n 's/^pids=//p' <<<"$output")
	[ "$n" -le 6 ] || fail "$n processes visible: $output"
}

@test "namespaces.pid: allow: pid = false with a widen shows host processes" {
	host_marker_process
	cat >"$(P)" <<-'EOF'
		version = 1
		[namespaces]
		pid = false
		[widen]
		"namespaces.pid" = "the test looks for a host process"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\0" " "'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "$MARKER_NAME"
}

@test "namespaces.pid: deny: pid = false without a widen is ignored with a warning" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[namespaces]
		pid = false
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'echo "self=$$"'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "self=2"
	assert_contains "$stderr" "namespaces.pid"
	assert_contains "$stderr" "ignored"
}

@test "namespaces.pid: deny: with pid = false (widened), background children still end with the command" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[namespaces]
		pid = false
		[widen]
		"namespaces.pid" = "test"
	EOF
	# Bounded: the orphan sleeps 30 s at most.
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c '(exec -a "$1" sleep 30 &); echo started' sh "cagebox-orphan-$BATS_TEST_NUMBER-$$"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	sleep 0.2
	! pgrep -f "cagebox-orphan-$BATS_TEST_NUMBER-$$" >/dev/null || fail "an orphan outlived the sandbox: $(pgrep -af "cagebox-orphan-$BATS_TEST_NUMBER-$$")"
}

@test "namespaces.uts: deny: the sandbox has its own hostname (cagebox)" {
	run --separate-stderr cbx_exec -- sh -c 'hostname; readlink /proc/self/ns/uts'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "cagebox"
	assert_not_contains "$output" "$(readlink /proc/self/ns/uts)"
}

@test "namespaces.uts: allow: uts = false with a widen keeps the host's hostname" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[namespaces]
		uts = false
		[widen]
		"namespaces.uts" = "the build embeds the host name"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'hostname; readlink /proc/self/ns/uts'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "$(hostname)"
	assert_contains "$output" "$(readlink /proc/self/ns/uts)"
}

@test "namespaces.ipc: deny: the sandbox has its own IPC namespace" {
	run --separate-stderr cbx_exec -- readlink /proc/self/ns/ipc
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ "$output" != "$(readlink /proc/self/ns/ipc)" ] || fail "shares the host's IPC namespace: $output"
}

@test "namespaces.ipc: allow: ipc = false with a widen shares the host's IPC namespace" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[namespaces]
		ipc = false
		[widen]
		"namespaces.ipc" = "talks to a host shared-memory segment"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- readlink /proc/self/ns/ipc
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "$(readlink /proc/self/ns/ipc)"
}

@test "namespaces.cgroup: deny: with a cgroup namespace /proc/self/cgroup shows / paths" {
	run --separate-stderr cbx_exec -- cat /proc/self/cgroup
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_not_contains "$output" "cagebox-exec-"
	grep -q '^[0-9]*:memory:/$' <<<"$output" || fail "memory cgroup path is not /: $output"
}

@test "namespaces.cgroup: allow: cgroup = false with a widen shows the host's cgroup paths" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[namespaces]
		cgroup = false
		[widen]
		"namespaces.cgroup" = "the test reads its own cgroup path"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- cat /proc/self/cgroup
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	grep -q ':memory:/cagebox-exec-[0-9]*-[0-9a-f]*$' <<<"$output" || fail "no cagebox-exec cgroup path: $output"
}

@test "namespaces.user: deny: no user namespace by default (the host's user namespace)" {
	run --separate-stderr cbx_exec -- readlink /proc/self/ns/user
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "$(readlink /proc/self/ns/user)"
}

@test "namespaces.user: allow: user = true with the caller's identity map" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[namespaces]
		user = true
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'readlink /proc/self/ns/user; cat /proc/self/uid_map'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_not_contains "$output" "$(readlink /proc/self/ns/user)"
	[[ "$output" =~ [[:space:]]0[[:space:]]+0[[:space:]]+1 ]] || fail "uid_map is not '0 0 1': $output"
}

@test "namespaces.user: allow: uid_map/gid_map to 100000 make the sandbox's root unprivileged on the host" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[namespaces]
		user = true
		uid_map = [{ container = 0, host = 100000, size = 65536 }]
		gid_map = [{ container = 0, host = 100000, size = 65536 }]
	EOF
	# Root inside, uid 100000 outside: the project (owned by the host's root)
	# is not writable for it even though the policy makes it read-write.
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'id -u; cat /proc/self/uid_map; (echo x > owned-by-mapped-root) 2>/dev/null || echo write-denied'
	[ "$status" -eq 0 ] || fail "status $status: $output $stderr"
	assert_contains "$output" "write-denied"
	[ ! -e owned-by-mapped-root ] || fail "the mapped root wrote into the host root's project"
	[[ "$output" =~ [[:space:]]0[[:space:]]+100000[[:space:]]+65536 ]] || fail "uid_map: $output"
}

@test "namespaces.mount: deny: mount = false is ignored without a widen and refused with one (exit 125)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[namespaces]
		mount = false
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- true
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "namespaces.mount"
	cat >>"$(P)" <<-'EOF'
		[widen]
		"namespaces.mount" = "test"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- true
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "namespaces.mount"
}

# ============================================================ process

@test "process.uid: allow: uid and gid as configured (id -u / id -g)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[process]
		uid = 1000
		gid = 1001
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'echo "$(id -u):$(id -g)"'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "1000:1001"
}

@test "process.gid: allow: gid alone changes only the group" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[process]
		gid = 1234
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'echo "$(id -u):$(id -g)"'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "0:1234"
}

@test "process.uid: deny: becoming root again in a later layer needs a widen (warning, uid kept)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[process]
		uid = 1000
		gid = 1000
	EOF
	cat >"$PROJECT/cagebox.toml" <<-'EOF'
		version = 1
		[process]
		uid = 0
		gid = 0
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'echo "$(id -u):$(id -g)"'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "1000:1000"
	assert_contains "$stderr" "process.uid"
	assert_contains "$stderr" "process.gid"
}

@test "process.capabilities: deny: no capabilities: root cannot chown a file to another uid" {
	touch "$PROJECT/f"
	run --separate-stderr cbx_exec -- sh -c 'grep CapEff /proc/self/status; chown 1234 f'
	[ "$status" -ne 0 ] || fail "chown succeeded without CAP_CHOWN"
	assert_contains "$output" "0000000000000000"
	assert_contains "$stderr" "Operation not permitted"
	assert_eq "$(stat -c %u "$PROJECT/f")" 0
}

@test "process.capabilities: allow: CAP_CHOWN with a widen lets root chown" {
	touch "$PROJECT/f"
	cat >"$(P)" <<-'EOF'
		version = 1
		[process]
		capabilities = ["CAP_CHOWN"]
		[widen]
		"process.capabilities" = "the install step fixes file owners"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- chown 1234 f
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$(stat -c %u "$PROJECT/f")" 1234
}

@test "process.capabilities: deny: capabilities without a widen are ignored with a warning" {
	touch "$PROJECT/f"
	cat >"$(P)" <<-'EOF'
		version = 1
		[process]
		capabilities = ["CAP_CHOWN"]
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- chown 1234 f
	[ "$status" -ne 0 ] || fail "chown succeeded: the unwidened capability was granted"
	assert_contains "$stderr" "process.capabilities"
	assert_eq "$(stat -c %u "$PROJECT/f")" 0
}

@test "process.ambient: allow: an ambient CAP_NET_BIND_SERVICE lets uid 1000 bind port 80" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[process]
		uid = 1000
		gid = 1000
		capabilities = ["CAP_NET_BIND_SERVICE"]
		ambient = ["CAP_NET_BIND_SERVICE"]
		[widen]
		"process.capabilities" = "serves on port 80"
		"process.ambient" = "serves on port 80"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" --network loopback -- "$PY" -c \
		'import socket; s = socket.socket(); s.bind(("127.0.0.1", 80)); print("bound 80")'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "bound 80"
}

@test "process.ambient: deny: without ambient, uid 1000 cannot bind port 80 (the capability is lost at exec)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[process]
		uid = 1000
		gid = 1000
		capabilities = ["CAP_NET_BIND_SERVICE"]
		[widen]
		"process.capabilities" = "serves on port 80"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" --network loopback -- "$PY" -c \
		'import socket; s = socket.socket(); s.bind(("127.0.0.1", 80)); print("bound 80")'
	[ "$status" -ne 0 ] || fail "bound port 80 without an ambient capability"
	assert_contains "$stderr" "PermissionError"
}

@test "process.ambient: deny: an ambient capability not in capabilities is refused (exit 125)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[process]
		ambient = ["CAP_NET_BIND_SERVICE"]
		[widen]
		"process.ambient" = "test"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- true
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "process.ambient"
}

@test "process.no_new_privileges: deny: NoNewPrivs is 1 by default" {
	run --separate-stderr cbx_exec -- grep NoNewPrivs /proc/self/status
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[[ "$output" =~ NoNewPrivs:[[:space:]]+1 ]] || fail "$output"
}

@test "process.no_new_privileges: allow: false with a widen gives NoNewPrivs 0 (seccomp still on)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[process]
		no_new_privileges = false
		[widen]
		"process.no_new_privileges" = "runs a setuid helper"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[[ "$output" =~ NoNewPrivs:[[:space:]]+0 ]] || fail "$output"
	[[ "$output" =~ Seccomp:[[:space:]]+2 ]] || fail "no seccomp filter: $output"
}

@test "process.no_new_privileges: deny: false without a widen is ignored with a warning" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[process]
		no_new_privileges = false
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- grep NoNewPrivs /proc/self/status
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[[ "$output" =~ NoNewPrivs:[[:space:]]+1 ]] || fail "$output"
	assert_contains "$stderr" "process.no_new_privileges"
}

@test "process.env: deny: secrets never reach the container, even with pass = [\"*\"] and a widen" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[process.env]
		pass = ["*"]
		[widen]
		"process.env.pass" = "the build reads many variables"
	EOF
	NPM_TOKEN=canary-npm AWS_SECRET_ACCESS_KEY=canary-aws GITHUB_TOKEN=canary-gh \
		NODE_AUTH_TOKEN=canary-node MY_DB_PASSWORD=canary-pw SSH_AUTH_SOCK=/canary.sock \
		HARMLESS_SETTING=visible \
		run --separate-stderr cbx_exec --policy "$(P)" -- env
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "HARMLESS_SETTING=visible"
	assert_not_contains "$output" "canary"
	for k in NPM_TOKEN AWS_SECRET_ACCESS_KEY GITHUB_TOKEN NODE_AUTH_TOKEN MY_DB_PASSWORD SSH_AUTH_SOCK; do
		! grep -q "^$k=" <<<"$output" || fail "$k reached the container"
	done
}

@test "process.env: allow: pass globs and set (with {project}) reach the container; other variables do not" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[process.env]
		pass = ["BUILD_*"]
		set = { GREETING = "hello {project}" }
		[widen]
		"process.env.pass" = "build settings"
	EOF
	BUILD_MODE=release BUILD_JOBS=2 UNLISTED_VAR=nope LC_TESTVAR=lc \
		run --separate-stderr cbx_exec --policy "$(P)" -- env
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "BUILD_MODE=release"
	assert_contains "$output" "BUILD_JOBS=2"
	assert_contains "$output" "LC_TESTVAR=lc"
	assert_contains "$output" "GREETING=hello $PROJECT"
	assert_not_contains "$output" "UNLISTED_VAR"
}

@test "process.env: deny: scrub removes a variable that pass would let through" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[process.env]
		pass = ["BUILD_*"]
		scrub = ["BUILD_PRIVATE*"]
		[widen]
		"process.env.pass" = "build settings"
	EOF
	BUILD_MODE=release BUILD_PRIVATE_SIGNING=canary-signing \
		run --separate-stderr cbx_exec --policy "$(P)" -- env
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "BUILD_MODE=release"
	assert_not_contains "$output" "canary-signing"
}

@test "process.env: allow: -e KEY=VALUE sets a variable in the container" {
	run --separate-stderr cbx_exec -e CAGEBOX_TEST=from-flag -- sh -c 'echo "$CAGEBOX_TEST"'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" from-flag
}

@test "process.cwd: allow: the cwd is the project by default and follows process.cwd" {
	run --separate-stderr cbx_exec -- pwd
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "$PROJECT"
	mkdir -p "$PROJECT/sub"
	cat >"$(P)" <<-'EOF'
		version = 1
		[process]
		cwd = "{project}/sub"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- pwd
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "$PROJECT/sub"
}

@test "process.cwd: deny: a relative cwd is refused (exit 125 naming process.cwd)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[process]
		cwd = "sub"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- pwd
	[ "$status" -eq 125 ] || fail "status $status: $output $stderr"
	assert_contains "$stderr" "process.cwd"
	assert_state_root_clean
}

# ============================================================ seccomp

@test "seccomp.preset: deny: default denies personality(ADDR_NO_RANDOMIZE) with EPERM" {
	needs_x86_64
	run --separate-stderr cbx_exec -- "$PY" "$POL_FIX/syscall.py" personality 0x0040000
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "personality rc=-1 errno=1"
}

@test "seccomp.preset: allow: default allows ptrace(TRACEME), unshare(CLONE_NEWUSER) and keyctl" {
	needs_x86_64
	run --separate-stderr cbx_exec -- sh -c 'for c in "ptrace 0" "unshare 0x10000000" "keyctl 0 -3 0" "personality 0xffffffff"; do "$1" "$2" $c; done' sh "$PY" "$POL_FIX/syscall.py"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "ptrace rc=0 errno=0"
	assert_contains "$output" "unshare rc=0 errno=0"
	[[ "$output" =~ keyctl\ rc=[0-9]+\ errno=0 ]] || fail "keyctl denied: $output"
	assert_not_contains "$output" "personality rc=-1"
}

@test "seccomp.preset: deny: strict denies ptrace, unshare, keyctl and personality" {
	needs_x86_64
	cat >"$(P)" <<-'EOF'
		version = 1
		[seccomp]
		preset = "strict"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'for c in "ptrace 0" "unshare 0x10000000" "keyctl 0 -3 0" "personality 0xffffffff"; do "$1" "$2" $c; done' sh "$PY" "$POL_FIX/syscall.py"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "ptrace rc=-1 errno=1"
	assert_contains "$output" "unshare rc=-1 errno=1"
	assert_contains "$output" "keyctl rc=-1 errno=1"
	assert_contains "$output" "personality rc=-1 errno=1"
}

@test "seccomp.preset: deny: strict refuses namespaces (unshare -U) while plain fork works" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[seccomp]
		preset = "strict"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'unshare -U true && echo unshared; (true) && echo forked'
	assert_not_contains "$output" "unshared"
	assert_contains "$output" "forked"
}

@test "seccomp.preset: allow: unconfined with a widen allows what default denies" {
	needs_x86_64
	cat >"$(P)" <<-'EOF'
		version = 1
		[seccomp]
		preset = "unconfined"
		[widen]
		"seccomp.preset" = "a debugger test"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/syscall.py" personality 0x0040000
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "personality rc=0 errno=0"
}

@test "seccomp.preset: deny: unconfined without a widen is ignored with a warning (still filtered)" {
	needs_x86_64
	cat >"$(P)" <<-'EOF'
		version = 1
		[seccomp]
		preset = "unconfined"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/syscall.py" personality 0x0040000
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "personality rc=-1 errno=1"
	assert_contains "$stderr" "seccomp.preset"
}

@test "seccomp.action: deny: kill: a denied syscall kills the command with SIGSYS (exit 159)" {
	needs_x86_64
	cat >"$(P)" <<-'EOF'
		version = 1
		[seccomp]
		action = "kill"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" --report "$T/report.json" -- "$PY" "$POL_FIX/syscall.py" personality 0x0040000
	[ "$status" -eq 159 ] || fail "status $status: $output $stderr"
	assert_not_contains "$output" "personality rc="
	assert_eq "$(report_field "$T/report.json" .signal)" 31
	assert_eq "$(report_field "$T/report.json" .exit_code)" 159
}

@test "seccomp.action: allow: errno (the default): the denied call fails and the command goes on" {
	needs_x86_64
	run --separate-stderr cbx_exec -- sh -c '"$1" "$2" personality 0x0040000; echo went-on' sh "$PY" "$POL_FIX/syscall.py"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "personality rc=-1 errno=1"
	assert_contains "$output" "went-on"
}

@test "seccomp.errno: deny: a custom errno (ENOSYS) is what denied syscalls return" {
	needs_x86_64
	cat >"$(P)" <<-'EOF'
		version = 1
		[seccomp]
		errno = "ENOSYS"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/syscall.py" personality 0x0040000
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "personality rc=-1 errno=38"
}

@test "seccomp.errno: allow: an allowed syscall is unaffected by the errno setting" {
	needs_x86_64
	cat >"$(P)" <<-'EOF'
		version = 1
		[seccomp]
		errno = "ENOSYS"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/syscall.py" personality 0xffffffff
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_not_contains "$output" "rc=-1"
}

@test "seccomp.profile: allow: an OCI JSON profile with a widen is honoured exactly" {
	needs_x86_64
	cat >"$PROJECT/profile.json" <<-'EOF'
		{"defaultAction": "SCMP_ACT_ALLOW",
		 "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
		 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
	EOF
	cat >"$(P)" <<-'EOF'
		version = 1
		[seccomp]
		profile = "{project}/profile.json"
		[widen]
		"seccomp.profile" = "the project ships its own profile"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'mkdir newdir; echo "mkdir=$?"; "$1" "$2" personality 0x0040000' sh "$PY" "$POL_FIX/syscall.py"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "mkdir=1"
	assert_contains "$stderr" "Permission denied"
	# What the default preset denies, this allow-by-default profile allows.
	assert_contains "$output" "personality rc=0 errno=0"
	[ ! -e "$PROJECT/newdir" ] || fail "mkdir was not denied"
}

@test "seccomp.profile: deny: a profile without a widen is ignored with a warning naming seccomp.profile" {
	needs_x86_64
	cat >"$PROJECT/profile.json" <<-'EOF'
		{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": []}
	EOF
	cat >"$(P)" <<-'EOF'
		version = 1
		[seccomp]
		profile = "{project}/profile.json"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/syscall.py" personality 0x0040000
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "personality rc=-1 errno=1"
	assert_contains "$stderr" "seccomp.profile"
}

@test "seccomp.profile: deny: a missing profile file is an error naming it (exit 125)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[seccomp]
		profile = "{project}/nonexistent.json"
		[widen]
		"seccomp.profile" = "test"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- true
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "seccomp.profile"
	assert_contains "$stderr" "nonexistent.json"
	assert_state_root_clean
}

@test "seccomp.rules: deny: socket(AF_INET) denied by an argument rule while AF_UNIX and AF_INET6 work" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[network]
		mode = "loopback"
		[widen]
		"network.mode" = "IPv6-only test server"
		[[seccomp.rules]]
		syscalls = ["socket"]
		action = "errno"
		errno = "EAFNOSUPPORT"
		args = [{ index = 0, op = "eq", value = 2 }]
		why = "no IPv4"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/sockets.py"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "AF_UNIX ok"
	assert_contains "$output" "AF_INET6 ok"
	assert_contains "$output" "AF_INET errno 97"
}

@test "seccomp.rules: deny: the same argument rule on the unconfined preset" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[network]
		mode = "loopback"
		[seccomp]
		preset = "unconfined"
		[widen]
		"network.mode" = "IPv6-only test server"
		"seccomp.preset" = "only the rule below"
		[[seccomp.rules]]
		syscalls = ["socket"]
		action = "errno"
		errno = "EAFNOSUPPORT"
		args = [{ index = 0, op = "eq", value = 2 }]
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/sockets.py"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "AF_UNIX ok"
	assert_contains "$output" "AF_INET6 ok"
	assert_contains "$output" "AF_INET errno 97"
}

@test "seccomp.rules: deny: a kill rule kills the command with SIGSYS (exit 159)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[[seccomp.rules]]
		syscalls = ["mkdir", "mkdirat"]
		action = "kill"
		why = "the test"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- mkdir newdir
	[ "$status" -eq 159 ] || fail "status $status: $stderr"
	[ ! -e "$PROJECT/newdir" ] || fail "mkdir ran"
}

@test "seccomp.rules: deny: a masked_eq deny beside the default preset's socket allows is stacked, exactly" {
	# No exact OCI form (the allow rules per family have no masked_eq
	# complement): the rule goes to a filter of its own (seccompiler),
	# named in the spec's io.cagebox.seccomp.stack annotation.
	cat >"$(P)" <<-'EOF'
		version = 1
		[network]
		mode = "loopback"
		[widen]
		"network.mode" = "IPv6-only test server"
		[[seccomp.rules]]
		syscalls = ["socket"]
		action = "errno"
		errno = "EAFNOSUPPORT"
		args = [{ index = 0, op = "masked_eq", value = 255, value_two = 2 }]
	EOF
	run --separate-stderr "$RUNTIME" spec --policy "$(P)"
	[ "$status" -eq 0 ] || fail "spec: status $status: $stderr"
	stack="$(jq -r '.annotations["io.cagebox.seccomp.stack"]' <<<"$output")"
	[ "$(jq -r '.[0].names[0]' <<<"$stack")" = socket ] || fail "no stacked socket rule: $stack"
	[ "$(jq '[.linux.seccomp.syscalls[] | select(.errnoRet == 97)] | length' <<<"$output")" = 0 ] ||
		fail "the rule is also in linux.seccomp"
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/sockets.py"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "AF_UNIX ok"
	assert_contains "$output" "AF_INET6 ok"
	assert_contains "$output" "AF_INET errno 97"
	# Only the masked bits decide: family 2 | 0x100 has low byte 2 too.
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/syscall.py" socket 0x102 1 0
	assert_eq "$output" "socket rc=-1 errno=97"
	run --separate-stderr cbx_exec --policy "$(P)" -- grep '^Seccomp_filters:' /proc/self/status
	assert_eq "$output" "$(printf 'Seccomp_filters:\t2')"
	run --separate-stderr "$RUNTIME" policy explain "$(P)"
	assert_contains "$output" "for socket: a filter of its own, stacked on the profile"
}

@test "seccomp.rules: deny: a deny with two conditions on an allowed syscall holds only when both do" {
	# kill(pid, 0) probes; the rule denies probing pid 1 only. The default
	# preset allows kill, and "not (A and B)" has no single OCI rule.
	cat >"$(P)" <<-'EOF'
		version = 1
		[[seccomp.rules]]
		syscalls = ["kill"]
		action = "errno"
		errno = "EACCES"
		args = [{ index = 0, op = "eq", value = 1 }, { index = 1, op = "eq", value = 0 }]
		why = "no probing of pid 1"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c \
		"$PY $POL_FIX/syscall.py kill 1 0; $PY $POL_FIX/syscall.py kill 0 0; $PY $POL_FIX/syscall.py kill 1 18"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$(sed -n 1p <<<"$output")" "kill rc=-1 errno=13"
	assert_eq "$(sed -n 2p <<<"$output")" "kill rc=0 errno=0"
	assert_eq "$(sed -n 3p <<<"$output")" "kill rc=0 errno=0"
}

@test "seccomp.rules: deny: a stacked filter also takes x32 system calls (the x86_64 audit arch) away" {
	needs_x86_64
	cat >"$(P)" <<-'EOF'
		version = 1
		[[seccomp.rules]]
		syscalls = ["kill"]
		action = "errno"
		errno = "EACCES"
		args = [{ index = 0, op = "eq", value = 1 }, { index = 1, op = "eq", value = 0 }]
	EOF
	# x32's socket() number; the kernel says ENOSYS when x32 is off, and
	# runs it when on. Under the stacked filter it never gets that far.
	run --separate-stderr cbx_exec -- "$PY" "$POL_FIX/syscall.py" x32:socket 1 1 0
	echo "without a stacked filter: $output"
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/syscall.py" x32:socket 1 1 0
	assert_eq "$output" "x32:socket rc=-1 errno=13"
}

@test "seccomp.rules: deny: a rule that needs a stacked filter with no_new_privileges = false is refused (exit 125)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[process]
		no_new_privileges = false
		[widen]
		"process.no_new_privileges" = "setuid helper"
		[[seccomp.rules]]
		syscalls = ["kill"]
		action = "errno"
		args = [{ index = 0, op = "eq", value = 1 }, { index = 1, op = "eq", value = 0 }]
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- true
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "process.no_new_privileges"
	assert_contains "$stderr" "kill"
}

@test "seccomp.rules: allow: an allow rule opens a syscall only with a widen" {
	needs_x86_64
	cat >"$(P)" <<-'EOF'
		version = 1
		[[seccomp.rules]]
		syscalls = ["personality"]
		action = "allow"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/syscall.py" personality 0x0040000
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "personality rc=-1 errno=1"
	assert_contains "$stderr" "seccomp.rules"
	cat >>"$(P)" <<-'EOF'
		[widen]
		"seccomp.rules" = "a test of the allow rule"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/syscall.py" personality 0x0040000
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "personality rc=0 errno=0"
}

@test "seccomp.block_network: deny: block_network = true with loopback leaves only AF_UNIX sockets" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[network]
		mode = "loopback"
		[seccomp]
		block_network = true
		[widen]
		"network.mode" = "test"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/sockets.py"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "AF_UNIX ok"
	assert_contains "$output" "AF_INET errno 1"
	assert_contains "$output" "AF_INET6 errno 1"
}

@test "seccomp.block_network: allow: loopback without block_network creates AF_INET sockets" {
	run --separate-stderr cbx_exec --network loopback -- "$PY" "$POL_FIX/sockets.py"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "AF_UNIX ok"
	assert_contains "$output" "AF_INET ok"
	assert_contains "$output" "AF_INET6 ok"
}

# ============================================================ landlock

@test "landlock.exec: deny: a binary outside the exec list cannot run" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[landlock]
		exec = ["/usr/bin/dash", "/usr/bin/cat"]
	EOF
	[ "$(readlink -f /bin/sh)" = /usr/bin/dash ] || skip "/bin/sh is not dash"
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'ls /; echo "ls=$?"'
	assert_contains "$output" "ls=126"
	assert_icontains "$stderr" "permission denied"
}

@test "landlock.exec: allow: binaries in the exec list run (the shell and cat)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[landlock]
		exec = ["/usr/bin/dash", "/usr/bin/cat"]
	EOF
	[ "$(readlink -f /bin/sh)" = /usr/bin/dash ] || skip "/bin/sh is not dash"
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'cat /etc/hostname'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "$(cat /etc/hostname)"
}

@test "landlock.exec: deny: the command itself outside the exec list fails with exit 126 and says why" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[landlock]
		exec = ["/usr/bin/cat"]
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- ls /
	assert_not_contains "$output" "usr"
	assert_icontains "$stderr" "permission denied"
	[ "$status" -eq 126 ] || fail "status $status (want 126)"
}

landlock_read_policy() {
	cat >"$(P)" <<-'EOF'
		version = 1
		[landlock]
		read = ["/usr", "/etc/ld.so.cache", "{project}"]
	EOF
	echo "project-data" >"$PROJECT/data.txt"
}

@test "landlock.read: deny: a file outside the read list cannot be read (even though it is mounted)" {
	landlock_read_policy
	run --separate-stderr cbx_exec --policy "$(P)" -- cat /etc/hostname
	[ "$status" -ne 0 ] || fail "read /etc/hostname: $output"
	assert_icontains "$stderr" "permission denied"
}

@test "landlock.read: allow: files beneath the read list are readable" {
	landlock_read_policy
	run --separate-stderr cbx_exec --policy "$(P)" -- cat data.txt
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" project-data
}

landlock_fs_policy() {
	mkdir -p "$PROJECT/out" "$PROJECT/trash"
	echo old >"$PROJECT/a.txt"
	echo keep >"$PROJECT/keep.txt"
	echo x >"$PROJECT/trash/x"
	cat >"$(P)" <<-'EOF'
		version = 1
		[landlock]
		write = ["{project}/out", "/dev/null"]
		create = ["{project}/out"]
		remove = ["{project}/trash"]
	EOF
}

@test "landlock.write: deny: an existing project file outside the write list cannot be written" {
	landlock_fs_policy
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'echo new > a.txt'
	[ "$status" -ne 0 ] || fail "the write succeeded"
	assert_icontains "$stderr" "permission denied"
	assert_eq "$(cat "$PROJECT/a.txt")" old
}

@test "landlock.write: allow: files beneath the write list can be written" {
	landlock_fs_policy
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'echo y > out/y && echo done > /dev/null && echo ok'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$(cat "$PROJECT/out/y")" y
}

@test "landlock.create: deny: nothing can be created outside the create list" {
	landlock_fs_policy
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'mkdir d; echo "mkdir=$?"; ln -s a.txt link; echo "ln=$?"'
	assert_contains "$output" "mkdir=1"
	assert_contains "$output" "ln=1"
	[ ! -e "$PROJECT/d" ] && [ ! -L "$PROJECT/link" ] || fail "created outside the create list"
}

@test "landlock.create: allow: directories and files can be created beneath the create list" {
	landlock_fs_policy
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'mkdir out/d && echo f > out/d/f && ln -s f out/d/l && echo ok'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ -f "$PROJECT/out/d/f" ] && [ -L "$PROJECT/out/d/l" ] || fail "not created"
}

@test "landlock.remove: deny: nothing can be removed outside the remove list" {
	landlock_fs_policy
	run --separate-stderr cbx_exec --policy "$(P)" -- rm keep.txt
	[ "$status" -ne 0 ] || fail "rm succeeded"
	assert_icontains "$stderr" "permission denied"
	[ -e "$PROJECT/keep.txt" ] || fail "keep.txt was removed"
}

@test "landlock.remove: allow: files beneath the remove list can be removed" {
	landlock_fs_policy
	run --separate-stderr cbx_exec --policy "$(P)" -- rm trash/x
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ ! -e "$PROJECT/trash/x" ] || fail "trash/x still there"
}

@test "landlock.exec: deny: a later layer cannot add exec paths without a widen" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[landlock]
		exec = ["/usr/bin/dash"]
	EOF
	cat >"$PROJECT/cagebox.toml" <<-'EOF'
		version = 1
		[landlock]
		exec = ["/usr/bin/ls"]
	EOF
	[ "$(readlink -f /bin/sh)" = /usr/bin/dash ] || skip "/bin/sh is not dash"
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'ls / >/dev/null; echo "ls=$?"'
	assert_contains "$output" "ls=126"
	assert_contains "$stderr" "landlock.exec"
}

# ============================================================ limits

@test "limits.memory: deny: a memory hog is killed, exit 137, reason oom" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		memory = "64M"
	EOF
	# Bounded: at most 600M even without a limit; tail keeps the one "line".
	run --separate-stderr cbx_exec --policy "$(P)" --report "$T/report.json" -- sh -c 'head -c 600M /dev/zero | tail > /dev/null'
	[ "$status" -eq 137 ] || fail "status $status: $stderr"
	assert_eq "$(report_field "$T/report.json" .reason)" oom
	assert_eq "$(report_field "$T/report.json" .exit_code)" 137
	[ "$(report_field "$T/report.json" .oom_kills)" -ge 1 ] || fail "oom_kills: $(cat "$T/report.json")"
	local peak
	peak=$(report_field "$T/report.json" .peak_memory_bytes)
	[ "$peak" -le $((64 << 20)) ] || fail "peak $peak above the 64M limit"
	assert_contains "$stderr" "killed (oom)"
}

@test "limits.memory: deny: the command itself (pid 1) is OOM-killed: exit 137, reason oom" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		memory = "64M"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" --report "$T/report.json" -- "$PY" "$POL_FIX/alloc.py" 600
	[ "$status" -eq 137 ] || fail "status $status: $output $stderr"
	assert_not_contains "$output" "allocated"
	assert_eq "$(report_field "$T/report.json" .reason)" oom
	assert_eq "$(report_field "$T/report.json" .signal)" 9
}

@test "limits.memory: allow: 32M within a 256M limit works (and --memory sets it)" {
	run --separate-stderr cbx_exec --memory 256M --report "$T/report.json" -- "$PY" "$POL_FIX/alloc.py" 32
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "allocated 32 MB"
	assert_eq "$(report_field "$T/report.json" .oom_kills)" 0
	[ "$(report_field "$T/report.json" .peak_memory_bytes)" -ge $((32 << 20)) ] || fail "peak too low: $(cat "$T/report.json")"
}

@test "limits.memory_swap: allow: memory+swap is set on the container's cgroup as configured" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		memory = "64M"
		memory_swap = "96M"
	EOF
	cbx_bg "$T/bg.log" exec --policy "$(P)" -- sh -c "$HOLD"
	wait_file "$PROJECT/started" 10 || { cat "$T/bg.log"; return 1; }
	local cg mem memsw
	cg=$(bg_cgroup memory)
	mem=$(cat "$cg/memory.limit_in_bytes")
	memsw=$(cat "$cg/memory.memsw.limit_in_bytes")
	touch "$PROJECT/release"
	bg_wait "$BG_PID" || fail "exec failed: $(cat "$T/bg.log")"
	assert_eq "$mem" $((64 << 20)) "memory.limit_in_bytes"
	assert_eq "$memsw" $((96 << 20)) "memory.memsw.limit_in_bytes"
}

@test "limits.memory_swap: deny: by default memory+swap equals memory (no swap)" {
	cbx_bg "$T/bg.log" exec --memory 64M -- sh -c "$HOLD"
	wait_file "$PROJECT/started" 10 || { cat "$T/bg.log"; return 1; }
	local cg mem memsw
	cg=$(bg_cgroup memory)
	mem=$(cat "$cg/memory.limit_in_bytes")
	memsw=$(cat "$cg/memory.memsw.limit_in_bytes")
	touch "$PROJECT/release"
	bg_wait "$BG_PID" || fail "exec failed: $(cat "$T/bg.log")"
	assert_eq "$mem" $((64 << 20))
	assert_eq "$memsw" "$mem" "memsw must equal memory"
}

@test "limits.memory_swap: deny: memory_swap below memory is refused (exit 125 naming limits.memory_swap)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		memory = "64M"
		memory_swap = "32M"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- true
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "limits.memory_swap"
	assert_contains "$stderr" "$(P)"
	assert_state_root_clean
}

busy_2s='timeout 2 sh -c "while :; do :; done"; exit 0'

@test "limits.cpus: deny: cpus = 0.1: a 2 s busy loop gets well under one CPU (< 600 ms)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		cpus = 0.1
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" --report "$T/report.json" -- sh -c "$busy_2s"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	local u s
	u=$(report_field "$T/report.json" .cpu_user_ms)
	s=$(report_field "$T/report.json" .cpu_system_ms)
	[ $((u + s)) -lt 600 ] || fail "cpu ${u}+${s} ms over 2 s with cpus = 0.1"
}

@test "limits.cpus: allow: --cpus 2: the same loop gets most of a CPU (> 700 ms)" {
	run --separate-stderr cbx_exec --cpus 2 --report "$T/report.json" -- sh -c "$busy_2s"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	local u s
	u=$(report_field "$T/report.json" .cpu_user_ms)
	s=$(report_field "$T/report.json" .cpu_system_ms)
	[ $((u + s)) -gt 700 ] || fail "cpu only ${u}+${s} ms over 2 s with cpus = 2"
}

@test "limits.cpu_shares: allow: the running container's cpu.shares is the policy's value" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		cpu_shares = 256
	EOF
	run --separate-stderr cbx spec --policy "$(P)"
	[ "$status" -eq 0 ] || fail "spec: $stderr"
	assert_jq "$output" '.linux.resources.cpu.shares == 256'
	cbx_bg "$T/bg.log" exec --policy "$(P)" -- sh -c "$HOLD"
	wait_file "$PROJECT/started" 10 || { cat "$T/bg.log"; return 1; }
	local shares
	shares=$(cat "$(bg_cgroup cpu)/cpu.shares")
	touch "$PROJECT/release"
	bg_wait "$BG_PID" || fail "exec failed: $(cat "$T/bg.log")"
	assert_eq "$shares" 256
}

@test "limits.cpu_shares: deny: a larger value in a later layer needs a widen (warning, value kept)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		cpu_shares = 256
	EOF
	cat >"$PROJECT/cagebox.toml" <<-'EOF'
		version = 1
		[limits]
		cpu_shares = 4096
	EOF
	run --separate-stderr cbx spec --policy "$(P)"
	[ "$status" -eq 0 ] || fail "spec: $stderr"
	assert_jq "$output" '.linux.resources.cpu.shares == 256'
	assert_contains "$stderr" "limits.cpu_shares"
}

@test "limits.pids: deny: a fork loop is stopped at the limit (reason pids, pids_limit_hits >= 1)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		pids = 20
	EOF
	# Bounded: 60 sleeps of 2 s at most, even without a limit.
	run --separate-stderr cbx_exec --policy "$(P)" --report "$T/report.json" -- sh -c 'i=0; while [ $i -lt 60 ]; do sleep 2 & i=$((i+1)); done; wait'
	[ "$status" -ne 0 ] || fail "60 processes started under pids = 20"
	assert_contains "$stderr" "fork"
	assert_eq "$(report_field "$T/report.json" .reason)" pids
	[ "$(report_field "$T/report.json" .pids_limit_hits)" -ge 1 ] || fail "$(cat "$T/report.json")"
	local peak
	peak=$(report_field "$T/report.json" .peak_pids)
	[ "$peak" = null ] || [ "$peak" -le 20 ] || fail "peak_pids $peak above 20"
}

@test "limits.pids: allow: 30 processes within pids = 100 (and --pids sets it)" {
	run --separate-stderr cbx_exec --pids 100 --report "$T/report.json" -- sh -c 'i=0; while [ $i -lt 30 ]; do sleep 0.5 & i=$((i+1)); done; wait; echo all-done'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" all-done
	assert_eq "$(report_field "$T/report.json" .pids_limit_hits)" 0
	assert_eq "$(report_field "$T/report.json" .reason)" exit
}

no_bfq() {
	! grep -qs '\[bfq\]' /sys/block/*/queue/scheduler
}

# The whole disk the project lives on, as MAJOR:MINOR (blkio throttling
# takes disks, not partitions); empty when it is not a plain disk.
project_disk() {
	local hex major minor
	hex=$(stat -c %D "$PROJECT")
	major=$((0x$hex >> 8))
	minor=$((0x$hex & 0xff))
	[ -e "/sys/dev/block/$major:$minor" ] || return 0
	[ -e "/sys/dev/block/$major:$minor/partition" ] && return 0
	echo "$major:$minor"
}

# Milliseconds a direct-IO read of the 4M file "big" takes under `read_bps`.
timed_direct_read() {
	cat >"$(P)" <<-EOF
		version = 1
		[[limits.io]]
		device = "$1"
		read_bps = "$2"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c \
		's=$(date +%s%N); dd if=big of=/dev/null bs=64k iflag=direct 2>/dev/null || echo dd-failed; e=$(date +%s%N); echo "ms=$(( (e - s) / 1000000 ))"'
	[ "$status" -eq 0 ] || fail "status $status: $output $stderr"
	assert_not_contains "$output" dd-failed
	sed -n 's/^ms=//p' <<<"$output"
}

@test "limits.io: deny: read_bps = 1M throttles a 4M direct read of the project's disk to >= 2 s" {
	local disk ms
	disk=$(project_disk)
	[ -n "$disk" ] || skip "the project is not on a whole block device (stat -c %D $PROJECT)"
	head -c 4M /dev/urandom >big
	sync
	ms=$(timed_direct_read "$disk" 1M)
	[ "$ms" -ge 2000 ] || fail "4M read in ${ms} ms at 1M/s"
}

@test "limits.io: allow: read_bps = 1G leaves the same read fast (< 2 s)" {
	local disk ms
	disk=$(project_disk)
	[ -n "$disk" ] || skip "the project is not on a whole block device (stat -c %D $PROJECT)"
	head -c 4M /dev/urandom >big
	sync
	ms=$(timed_direct_read "$disk" 1G)
	[ "$ms" -lt 2000 ] || fail "4M read in ${ms} ms at 1G/s"
}

@test "limits.io: deny: a device that is not MAJOR:MINOR is refused naming limits.io[0].device" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[[limits.io]]
		device = "/dev/vda"
		read_bps = "1M"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- true
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "limits.io[0].device"
}

@test "limits.io_weight: deny: refused on this machine (no active bfq): exit 125 naming limits.io_weight" {
	no_bfq || skip "a block device runs bfq here: io_weight is enforceable"
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		io_weight = 500
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'echo ran'
	[ "$status" -eq 125 ] || fail "status $status: $output $stderr"
	assert_not_contains "$output" "ran"
	assert_contains "$stderr" "limits.io_weight"
	assert_contains "$stderr" "degrade.io"
	assert_state_root_clean
}

@test "limits.io_weight: deny: a weight out of range (5) is refused naming limits.io_weight" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		io_weight = 5
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- true
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "limits.io_weight"
}

@test "degrade.io: allow: warn runs without limits.io_weight and says so (stderr and report)" {
	no_bfq || skip "a block device runs bfq here: nothing degrades"
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		io_weight = 500
		[degrade]
		io = "warn"
		[widen]
		"degrade.io" = "this machine has no bfq"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" --report "$T/report.json" -- sh -c 'echo ran'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" ran
	assert_contains "$stderr" "warning"
	assert_contains "$stderr" "limits.io_weight not enforced"
	assert_jq "$(cat "$T/report.json")" '.degraded | length == 1 and .[0].key == "limits.io_weight" and .[0].status == "degraded"'
}

@test "degrade.io: deny: warn in a later layer without a widen is ignored: still refused" {
	no_bfq || skip "a block device runs bfq here: nothing degrades"
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		io_weight = 500
		[degrade]
		io = "fail"
	EOF
	cat >"$PROJECT/cagebox.toml" <<-'EOF'
		version = 1
		[degrade]
		io = "warn"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- true
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "degrade.io"
	assert_contains "$stderr" "limits.io_weight"
}

@test "degrade.landlock: allow: warn on a kernel with Landlock still enforces it" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[landlock]
		exec = ["/usr/bin/dash"]
		[degrade]
		landlock = "warn"
		seccomp = "warn"
		cgroup_namespace = "warn"
		memory_swap = "warn"
		[widen]
		"degrade.landlock" = "test"
		"degrade.seccomp" = "test"
		"degrade.cgroup_namespace" = "test"
		"degrade.memory_swap" = "test"
	EOF
	[ "$(readlink -f /bin/sh)" = /usr/bin/dash ] || skip "/bin/sh is not dash"
	run --separate-stderr cbx_exec --policy "$(P)" --report "$T/report.json" -- sh -c 'ls / > /dev/null; echo "ls=$?"; while read -r l; do case $l in Seccomp:*) echo "$l" ;; esac; done < /proc/self/status'
	assert_contains "$output" "ls=126"
	[[ "$output" =~ Seccomp:[[:space:]]+2 ]] || fail "seccomp dropped: $output"
	assert_jq "$(cat "$T/report.json")" '.degraded == []'
	assert_not_contains "$stderr" "not enforced"
}

@test "degrade.user_namespace: allow: warn with a user namespace on a kernel that has them still creates one" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[namespaces]
		user = true
		[degrade]
		user_namespace = "warn"
		[widen]
		"degrade.user_namespace" = "test"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- readlink /proc/self/ns/user
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ "$output" != "$(readlink /proc/self/ns/user)" ] || fail "no user namespace"
}

@test "limits.open_files: deny: opening past the limit fails with EMFILE" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		open_files = 64
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/openfiles.py" 100
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[[ "$output" =~ opened=([0-9]+)\ errno=24 ]] || fail "no EMFILE: $output"
	[ "${BASH_REMATCH[1]}" -lt 64 ] || fail "$output"
}

@test "limits.open_files: allow: 100 files within open_files = 256" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		open_files = 256
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c '"$1" "$2" 100; ulimit -n' sh "$PY" "$POL_FIX/openfiles.py"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "opened=100 errno=0"
	assert_contains "$output" "256"
}

@test "limits.open_files: deny: above the session's hard limit is refused with a clear error (exit 125)" {
	local hard
	hard=$(ulimit -Hn)
	[ "$hard" != unlimited ] || skip "no hard RLIMIT_NOFILE here"
	cat >"$(P)" <<-EOF
		version = 1
		[limits]
		open_files = $((hard + 1))
		[widen]
		"limits.open_files" = "test"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- true
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "limits.open_files"
	assert_contains "$stderr" "$hard"
	assert_state_root_clean
}

@test "limits.file_size: deny: writes past the limit fail (EFBIG or SIGXFSZ); the file stops at the limit" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		file_size = "1M"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- dd if=/dev/zero of=big bs=64K count=32
	[ "$status" -ne 0 ] || fail "dd wrote 2M under a 1M limit"
	[ "$(stat -c %s "$PROJECT/big")" -le $((1 << 20)) ] || fail "big is $(stat -c %s "$PROJECT/big") bytes"
	[ "$status" -eq 153 ] || assert_contains "$stderr" "File too large"
}

@test "limits.file_size: deny: a writer stopped by the limit is reported (exit 153 SIGXFSZ, reason file_size)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		file_size = "1M"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" --report "$T/report.json" -- dd if=/dev/zero of=big bs=64K count=32
	[ "$status" -eq 153 ] || fail "status $status (want 153 = 128+SIGXFSZ): $stderr; report: $(cat "$T/report.json")"
	assert_eq "$(report_field "$T/report.json" .reason)" file_size
}

@test "limits.file_size: allow: a file below the limit is written" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		file_size = "1M"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- dd if=/dev/zero of=small bs=64K count=8
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$(stat -c %s "$PROJECT/small")" $((512 << 10))
}

@test "limits.cpu_time: deny: a CPU burner is stopped after about 1 s of CPU" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		cpu_time = "1s"
	EOF
	local start=$SECONDS
	run --separate-stderr cbx_exec --policy "$(P)" --report "$T/report.json" -- "$PY" "$POL_FIX/burn.py" 10
	[ "$status" -ne 0 ] || fail "the burner finished 10 s of CPU: $output"
	assert_not_contains "$output" "burned"
	[ $((SECONDS - start)) -lt 8 ] || fail "took $((SECONDS - start)) s"
	[ "$(report_field "$T/report.json" .cpu_user_ms)" -lt 3000 ] || fail "$(cat "$T/report.json")"
}

@test "limits.cpu_time: deny: the report says SIGXCPU (exit 152, reason cpu_time)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		cpu_time = "1s"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" --report "$T/report.json" -- "$PY" "$POL_FIX/burn.py" 10
	[ "$status" -eq 152 ] || fail "status $status (want 152 = 128+SIGXCPU): $stderr; report: $(cat "$T/report.json")"
	assert_eq "$(report_field "$T/report.json" .reason)" cpu_time
}

@test "limits.cpu_time: allow: a short burst under the limit finishes" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		cpu_time = "5s"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- "$PY" "$POL_FIX/burn.py" 0.3
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" burned
}

@test "limits.core_dumps: deny: off by default: RLIMIT_CORE is 0 (soft and hard)" {
	run --separate-stderr cbx_exec -- sh -c 'echo "soft=$(ulimit -c) hard=$(ulimit -Hc)"; (ulimit -c 1024) 2>/dev/null && echo raised || echo not-raised'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "soft=0 hard=0"
	assert_contains "$output" "not-raised"
}

@test "limits.core_dumps: allow: core_dumps = true with a widen lets the command enable core dumps" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		core_dumps = true
		[widen]
		"limits.core_dumps" = "debugging a crash"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'echo "hard=$(ulimit -Hc)"; (ulimit -c 1024) && echo raised'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_not_contains "$output" "hard=0"
	assert_contains "$output" "raised"
}

@test "limits.core_dumps: deny: core_dumps = true without a widen is ignored with a warning" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		core_dumps = true
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'ulimit -Hc'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" 0
	assert_contains "$stderr" "limits.core_dumps"
}

@test "limits.timeout: deny: sleep 30 with --timeout 1s: exit 124, reason timeout, in under 10 s" {
	local start=$SECONDS
	run --separate-stderr cbx_exec --timeout 1s --report "$T/report.json" -- sleep 30
	[ "$status" -eq 124 ] || fail "status $status: $stderr"
	[ $((SECONDS - start)) -lt 10 ] || fail "took $((SECONDS - start)) s"
	assert_eq "$(report_field "$T/report.json" .reason)" timeout
	assert_contains "$stderr" "killed (timeout)"
}

@test "limits.timeout: deny: a timeout in a policy file kills the whole process tree" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		timeout = "1s"
	EOF
	local start=$SECONDS
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'sleep 30 & sleep 30 & (sleep 30; echo survived > survivor) & wait'
	[ "$status" -eq 124 ] || fail "status $status: $stderr"
	[ $((SECONDS - start)) -lt 10 ] || fail "took $((SECONDS - start)) s"
	sleep 0.2
	[ ! -e "$PROJECT/survivor" ] || fail "a child survived the timeout"
}

@test "limits.timeout: deny: a sandbox whose cagebox is SIGKILLed dies with it (nothing runs on unsupervised)" {
	cbx_bg "$T/out" exec --timeout 60s -- sh -c "$HOLD; sleep 60"
	local i cg id
	for i in $(seq 100); do [ -e "$PROJECT/started" ] && break; sleep 0.1; done
	[ -e "$PROJECT/started" ] || fail "the sandbox never started: $(cat "$T/out")"
	cg=$(bg_cgroup pids)
	[ -n "$(cat "$cg/cgroup.procs")" ] || fail "no processes in $cg"
	kill -KILL "$BG_PID"
	for i in $(seq 50); do [ -z "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] && break; sleep 0.1; done
	assert_eq "$(cat "$cg/cgroup.procs" 2>/dev/null)" "" "processes left in $cg after cagebox died"
	# What a SIGKILLed cagebox cannot remove itself (its state, private
	# bundle, rootfs skeleton, cgroups) the next `cagebox exec` on the same
	# state root removes (sandbox/stale.rs); teardown checks nothing is left.
	id=${cg##*/}
	[ -d "/dev/shm/$id.bundle" ] || [ -d "$STATE/.sandbox/$id" ] || fail "no private bundle of $id to sweep"
	[ -d "$STATE/$id" ] || fail "no state dir $STATE/$id to sweep"
	[ -d "$cg" ] || fail "no cgroup $cg to sweep"
	run --separate-stderr cbx_exec -- true
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ ! -e "$STATE/.sandbox/$id" ] || fail "private bundle left: $STATE/.sandbox/$id"
	[ ! -e "/dev/shm/$id.bundle" ] || fail "private bundle left: /dev/shm/$id.bundle"
	[ ! -e "$STATE/$id" ] || fail "state dir left: $STATE/$id"
	[ ! -e "/dev/shm/$id.rootfs" ] || fail "skeleton left: /dev/shm/$id.rootfs"
	[ ! -e "$cg" ] || fail "cgroup left: $cg"
}

@test "limits.timeout: deny: a cagebox SIGKILLed before its container existed leaves only its warm-up cgroup, which the next exec removes" {
	# The state of such a run: the cgroup directory the warm-up makes first
	# (runtime/warmup.rs), named after a cagebox that is gone, nothing else.
	local h=/sys/fs/cgroup/freezer dead d
	[ -f "$h/cgroup.procs" ] || h=/sys/fs/cgroup
	[ -f "$h/cgroup.procs" ] || skip "no cgroup hierarchy at /sys/fs/cgroup"
	gone_pid dead
	# Teardown's leftover check and cleanup cover this pid too.
	echo "$dead" >>"$CBX_PIDS"
	d="$h/cagebox-exec-$dead-5eed"
	mkdir "$d"
	run --separate-stderr cbx_exec -- true
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ ! -e "$d" ] || fail "warm-up cgroup left: $d"
}

@test "limits.timeout: allow: the sweep leaves a finished run alone while the child left to delete it lives (sandbox/deferred.rs), and removes it once that child is gone" {
	# A script's shell (cagebox npm) exits before its container is deleted,
	# leaving that to a child it marks in <root>/.cleanup/<id>.
	local dead holder id
	gone_pid dead
	echo "$dead" >>"$CBX_PIDS"
	id="cagebox-exec-$dead-5eed"
	mkdir "/dev/shm/$id.rootfs"
	sleep 30 &
	holder=$!
	mkdir -p "$STATE/.cleanup"
	echo "$holder" >"$STATE/.cleanup/$id"
	run --separate-stderr cbx_exec -- true
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ -d "/dev/shm/$id.rootfs" ] || fail "swept while its deleting child is alive: /dev/shm/$id.rootfs"
	kill "$holder"
	wait "$holder" 2>/dev/null || true
	run --separate-stderr cbx_exec -- true
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ ! -e "/dev/shm/$id.rootfs" ] || fail "left after its deleting child died: /dev/shm/$id.rootfs"
	[ ! -e "$STATE/.cleanup/$id" ] || fail "mark left: $STATE/.cleanup/$id"
}

@test "limits.timeout: allow: the sweep after a SIGKILLed cagebox leaves a running sibling's sandbox alone" {
	cbx_bg "$T/out" exec --timeout 60s -- sh -c "$HOLD"
	local i cg id
	for i in $(seq 100); do [ -e "$PROJECT/started" ] && break; sleep 0.1; done
	[ -e "$PROJECT/started" ] || fail "the sandbox never started: $(cat "$T/out")"
	cg=$(bg_cgroup pids)
	id=${cg##*/}
	run --separate-stderr cbx_exec -- true
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ -d "/dev/shm/$id.bundle" ] || [ -d "$STATE/.sandbox/$id" ] || fail "a live run's bundle was removed"
	[ -d "$STATE/$id" ] || fail "a live run's state was removed"
	[ -n "$(cat "$cg/cgroup.procs")" ] || fail "a live run's processes are gone"
	touch "$PROJECT/release"
	bg_wait "$BG_PID" || fail "the live run did not finish: $(cat "$T/out")"
}

@test "limits.timeout: allow: a command within the timeout exits normally with its own code" {
	run --separate-stderr cbx_exec --timeout 10s -- sh -c 'sleep 0.2; exit 7'
	[ "$status" -eq 7 ] || fail "status $status: $stderr"
}

@test "limits.output: deny: 10M of output with output = 64K: killed, reason output, at most 64K passed" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		output = "64K"
	EOF
	local rc=0
	# Bounded: 10M, whether or not the cap works.
	cbx_exec --policy "$(P)" --report "$T/report.json" -- sh -c 'yes 0123456789abcdef | head -c 10M' >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -ne 0 ] || fail "not killed"
	local n
	n=$(stat -c %s "$T/out")
	[ "$n" -le 65536 ] || fail "$n bytes passed through"
	[ "$n" -gt 0 ] || fail "nothing passed through"
	assert_eq "$(report_field "$T/report.json" .reason)" output
	assert_contains "$(cat "$T/err")" "killed (output)"
}

@test "limits.output: deny: output that reaches the cap exactly and then goes on is still killed" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		output = "64K"
	EOF
	local rc=0
	# Exactly 64K first (a pipe read can end right at the cap), then 1M more.
	cbx_exec --policy "$(P)" --report "$T/report.json" -- sh -c 'head -c 65536 /dev/zero; sleep 0.3; head -c 1M /dev/zero; echo finished > finished' >"$T/out" 2>"$T/err" || rc=$?
	[ "$(stat -c %s "$T/out")" -le 65536 ] || fail "$(stat -c %s "$T/out") bytes passed through"
	[ ! -e "$PROJECT/finished" ] || fail "the command was not killed: it ran to the end (exit $rc, reason $(report_field "$T/report.json" .reason))"
	[ "$rc" -eq 137 ] || fail "exit $rc"
	assert_eq "$(report_field "$T/report.json" .reason)" output
}

@test "limits.output: allow: output under the cap passes through intact (stdout and stderr)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		output = "64K"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- sh -c 'seq 1 1000; echo to-stderr >&2'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "$(seq 1 1000)"
	assert_eq "$stderr" "to-stderr"
}

# ============================================================ widen, layers

@test "widen: deny: a wider value without widen is ignored with a warning naming the key" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		pids = 5000
		memory = "16G"
	EOF
	run --separate-stderr cbx spec --policy "$(P)"
	[ "$status" -eq 0 ] || fail "spec: $stderr"
	assert_jq "$output" '.linux.resources.pids.limit == 1024 and .linux.resources.memory.limit == 4294967296'
	run --separate-stderr cbx_exec --policy "$(P)" -- true
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "limits.pids"
	assert_contains "$stderr" "limits.memory"
	assert_contains "$stderr" "[widen]"
}

@test "widen: allow: with a reason the wider value applies" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		pids = 5000
		[widen]
		"limits.pids" = "a parallel test runner"
	EOF
	run --separate-stderr cbx spec --policy "$(P)"
	[ "$status" -eq 0 ] || fail "spec: $stderr"
	assert_jq "$output" '.linux.resources.pids.limit == 5000'
	cbx_bg "$T/bg.log" exec --policy "$(P)" -- sh -c "$HOLD"
	wait_file "$PROJECT/started" 10 || { cat "$T/bg.log"; return 1; }
	local max
	max=$(cat "$(bg_cgroup pids)/pids.max")
	touch "$PROJECT/release"
	bg_wait "$BG_PID" || fail "exec failed: $(cat "$T/bg.log")"
	assert_eq "$max" 5000
	assert_not_contains "$(cat "$T/bg.log")" "ignored"
}

@test "widen: deny: an empty reason is an error (exit 125 naming widen.KEY)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		pids = 5000
		[widen]
		"limits.pids" = "  "
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- true
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "widen.limits.pids"
	assert_contains "$stderr" "reason"
}

@test "widen: deny: an unknown widen key is an error naming it" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[widen]
		"limits.everything" = "please"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- true
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "widen.limits.everything"
}

@test "layers: allow: the project's cagebox.toml is merged (env set, stricter pids)" {
	cat >"$PROJECT/cagebox.toml" <<-'EOF'
		version = 1
		[process.env]
		set = { FROM_PROJECT = "yes" }
		[limits]
		pids = 50
	EOF
	run --separate-stderr cbx_exec --report "$T/report.json" -- sh -c 'echo "FROM_PROJECT=$FROM_PROJECT"'
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "FROM_PROJECT=yes"
	assert_jq "$(cat "$T/report.json")" ".policy_layers | index(\"$PROJECT/cagebox.toml\") != null"
	run --separate-stderr cbx spec --preset default
	[ "$status" -eq 0 ] || fail "spec: $stderr"
	assert_jq "$output" '.linux.resources.pids.limit == 50'
}

@test "layers: deny: the project's cagebox.toml cannot loosen the policy without a widen" {
	start_listener
	cat >"$PROJECT/cagebox.toml" <<-'EOF'
		version = 1
		[network]
		mode = "host"
		[filesystem]
		read_write = ["/etc"]
	EOF
	run --separate-stderr cbx_exec -- sh -c '"$1" "$2" "$3" 2>/dev/null; echo leaked > "$4" 2>/dev/null; echo done' sh "$PY" "$POL_FIX/get.py" "$LISTEN_PORT" "$ETC_PROBE"
	assert_not_contains "$output" "hello-from-host"
	assert_contains "$output" "done"
	assert_contains "$stderr" "network.mode"
	assert_contains "$stderr" "filesystem.read_write"
	assert_contains "$stderr" "cagebox.toml"
	[ ! -e "$ETC_PROBE" ] || fail "the write reached the host"
}

@test "layers: allow: a --policy file extends a preset (run-file: cwd /tmp, 256 files, project read-only)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		extends = "run-file"
		[limits]
		pids = 32
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" --report "$T/report.json" -- sh -c 'pwd; ulimit -n; echo x > "$1/x" 2>/dev/null || echo project-ro' sh "$PROJECT"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "$(printf '/tmp\n256\nproject-ro')"
	assert_jq "$(cat "$T/report.json")" '.policy_layers[0] == "preset run-file"'
	run --separate-stderr cbx spec --policy "$(P)"
	assert_jq "$output" '.linux.resources.pids.limit == 32 and .linux.resources.memory.limit == 536870912'
}

@test "layers: allow: --preset npm-scripts applies its strict seccomp profile" {
	needs_x86_64
	run --separate-stderr cbx_exec --preset npm-scripts -- "$PY" "$POL_FIX/syscall.py" ptrace 0
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$output" "ptrace rc=-1 errno=1"
}

# ============================================================ bad policies

# bad_policy TEXT...: writes $T/bad.toml; runs exec with it; expects 125,
# the file named, nothing left.
bad_policy() {
	printf '%s\n' "$@" >"$T/bad.toml"
	run --separate-stderr cbx_exec --policy "$T/bad.toml" -- sh -c 'echo ran'
	[ "$status" -eq 125 ] || fail "status $status: $output $stderr"
	assert_not_contains "$output" "ran"
	assert_contains "$stderr" "$T/bad.toml"
	assert_state_root_clean
}

@test "bad policy: deny: network.allow is refused (not silently ignored)" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[network]
		allow = ["registry.npmjs.org:443"]
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- true
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "network.allow"
	assert_state_root_clean
}

# The pids.max of the running sandbox, read from the host while it sleeps.
pids_max_for() {
	sh -c 'echo $$ >>"$0"; exec "$@"' "$CBX_PIDS" "$RUNTIME" --root "$STATE" exec "$@" -- sleep 2 </dev/null >/dev/null 2>&1 3>&- &
	local pid=$! i v=""
	# libcgroups makes the directory before it writes pids.max: "max" there
	# may only mean "not written yet", so look again (until the timeout).
	for i in $(seq 1 30); do
		v=$(cat /sys/fs/cgroup/pids/cagebox-exec-"$pid"-*/pids.max 2>/dev/null || cat /sys/fs/cgroup/cagebox-exec-"$pid"-*/pids.max 2>/dev/null) &&
			[ -n "$v" ] && [ "$v" != max ] && break
		sleep 0.1
	done
	wait "$pid"
	echo "$v"
}

@test "packages: allow: --package NAME[@VERSION] applies the project's [packages] overrides, strictest wins" {
	cat >cagebox.toml <<-'EOF'
		version = 1
		[packages."esbuild".limits]
		pids = 50
		[packages."esbuild@0.19.0".limits]
		pids = 20
		[packages."greedy".limits]
		pids = 5000
	EOF
	assert_eq "$(pids_max_for)" 1024
	assert_eq "$(pids_max_for --package esbuild)" 50
	assert_eq "$(pids_max_for --package esbuild@0.19.0)" 20
	assert_eq "$(pids_max_for --package esbuild@0.20.1)" 50
	# Wider than the preset without a widen: ignored, with a warning.
	run --separate-stderr cbx_exec --package greedy -- true
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$stderr" 'packages."greedy": limits.pids = 5000 ignored'

}

@test "packages: allow: a package table widens with its own [widen] and the reason reaches the report" {
	cat >cagebox.toml <<-'EOF'
		version = 1
		[packages."sharp".widen]
		"limits.pids" = "node-gyp runs many compilers"
		[packages."sharp".limits]
		pids = 4000
	EOF
	assert_eq "$(pids_max_for --package sharp)" 4000
	run --separate-stderr cbx_exec --package sharp --report "$T/report.json" -- true
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$(jq -r '.widened["limits.pids"]' "$T/report.json")" "node-gyp runs many compilers"
}

@test "packages: deny: a package table cannot set version, extends or nested packages" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[packages."x"]
		extends = "run-file"
	EOF
	run --separate-stderr cbx_exec --policy "$(P)" -- true
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" 'packages."x"'
	assert_state_root_clean
}

@test "bad policy: deny: an unknown key names the file, the key and the line" {
	bad_policy 'version = 1' '[limits]' 'memroy = "1G"'
	assert_contains "$stderr" "memroy"
	assert_contains "$stderr" "line 3"
}

@test "bad policy: deny: a value of the wrong type names the key and the line" {
	bad_policy 'version = 1' '[limits]' 'pids = "many"'
	assert_contains "$stderr" "pids"
	assert_contains "$stderr" "line 3"
}

@test "bad policy: deny: a bad size names the value and the line" {
	bad_policy 'version = 1' '[limits]' 'memory = "12Q"'
	assert_contains "$stderr" "12Q"
	assert_contains "$stderr" "line 3"
}

@test "bad policy: deny: an unknown preset (extends) is named" {
	bad_policy 'version = 1' 'extends = "nosuch"'
	assert_contains "$stderr" "extends"
	assert_contains "$stderr" "nosuch"
}

@test "bad policy: deny: an unknown --preset is named (exit 125)" {
	run --separate-stderr cbx_exec --preset nosuch -- true
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "nosuch"
	assert_state_root_clean
}

@test "bad policy: deny: a missing policy file is named (exit 125)" {
	run --separate-stderr cbx_exec --policy "$T/missing.toml" -- true
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "$T/missing.toml"
	assert_state_root_clean
}

@test "bad policy: deny: an unknown syscall name names the rule" {
	bad_policy 'version = 1' '[[seccomp.rules]]' 'syscalls = ["frobnicate"]' 'action = "errno"'
	assert_contains "$stderr" "seccomp.rules[0].syscalls"
	assert_contains "$stderr" "frobnicate"
}

@test "bad policy: deny: a missing version is named" {
	bad_policy '[limits]' 'pids = 3'
	assert_contains "$stderr" "version"
}

@test "bad policy: deny: an unknown capability and an unknown errno are named" {
	bad_policy 'version = 1' '[process]' 'capabilities = ["CAP_FLY"]'
	assert_contains "$stderr" "CAP_FLY"
	bad_policy 'version = 1' '[seccomp]' 'errno = "ENOPE"'
	assert_contains "$stderr" "seccomp.errno"
}

@test "bad policy: deny: a broken project cagebox.toml names that file" {
	printf 'version = 1\n[process]\nuid = "x"\n' >"$PROJECT/cagebox.toml"
	run --separate-stderr cbx_exec -- sh -c 'echo ran'
	[ "$status" -eq 125 ] || fail "status $status: $stderr"
	assert_contains "$stderr" "$PROJECT/cagebox.toml"
	assert_contains "$stderr" "line 3"
	assert_state_root_clean
}

# ============================================================ report

@test "exec: deny: a caller other than root is refused with exit 125 naming root, before anything is made (no rootless mode)" {
	local d="$T/nonroot"
	mkdir -p "$d"
	run --separate-stderr as_nobody "$d" exec --root "$d/state" -- sh -c 'echo ran >ran.txt'
	assert_eq "$status" 125 "$stderr"
	assert_contains "$stderr" "exec: needs root"
	assert_contains "$stderr" "nothing was run"
	[ ! -e "$d/project/ran.txt" ] || fail "the command ran"
	[ ! -e "$d/state" ] || fail "the state root was made: $(ls -la "$d/state")"
	# A bad policy still gets its own error first (it says more).
	run --separate-stderr as_nobody "$d" exec --root "$d/state" --preset no-such-preset -- true
	assert_eq "$status" 125 "$stderr"
	assert_contains "$stderr" "no-such-preset"
}

@test "report: allow: --report writes every field with plausible values" {
	run --separate-stderr cbx_exec --report "$T/report.json" -- sh -c 'echo hi; exit 3'
	[ "$status" -eq 3 ] || fail "status $status: $stderr"
	local r
	r=$(cat "$T/report.json")
	assert_jq "$r" '.command == ["sh", "-c", "echo hi; exit 3"]'
	assert_jq "$r" '.policy_digest | test("^[0-9a-f]{64}$")'
	assert_jq "$r" '.exit_code == 3 and .signal == null and .reason == "exit"'
	assert_jq "$r" '.wall_ms > 0 and .wall_ms < 30000'
	assert_jq "$r" '.peak_memory_bytes > 0 and .oom_kills == 0'
	assert_jq "$r" '(.cpu_user_ms | type) == "number" and (.cpu_system_ms | type) == "number"'
	assert_jq "$r" '(.peak_pids == null or .peak_pids >= 1) and .pids_limit_hits == 0'
	assert_jq "$r" '.degraded == [] and .notes == []'
	assert_jq "$r" '.policy_layers[0] == "preset default"'
	# An ordinary exit prints no summary line.
	assert_not_contains "$stderr" "cagebox:"
}

@test "report: deny: a killed command gets a one-line summary on stderr" {
	run --separate-stderr cbx_exec --timeout 1s -- sleep 30
	[ "$status" -eq 124 ] || fail "status $status"
	[[ "$stderr" =~ cagebox:\ sleep\ 30:\ killed\ \(timeout\),\ exit\ 124,.*policy\ [0-9a-f]{8} ]] || fail "summary: $stderr"
	assert_eq "$(grep -c . <<<"$stderr")" 1
}

@test "report: allow: the policy digest is stable for one policy and differs for another" {
	cbx_exec --report "$T/r1.json" -- true
	cbx_exec --report "$T/r2.json" -- true
	cbx_exec --pids 10 --report "$T/r3.json" -- true
	assert_eq "$(report_field "$T/r1.json" .policy_digest)" "$(report_field "$T/r2.json" .policy_digest)"
	[ "$(report_field "$T/r1.json" .policy_digest)" != "$(report_field "$T/r3.json" .policy_digest)" ] || fail "same digest for another policy"
}

@test "report: allow: notes record ignored widenings" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		pids = 5000
	EOF
	cbx_exec --policy "$(P)" --report "$T/report.json" -- true 2>/dev/null
	assert_jq "$(cat "$T/report.json")" '.notes | length == 1 and (.[0] | contains("limits.pids"))'
}

# ============================================================ policy tools

@test "policy check: allow/deny answers name the deciding rule (exit 0/1)" {
	run cbx policy check --read /etc/shadow
	[ "$status" -eq 1 ] || fail "status $status: $output"
	assert_contains "$output" 'deny: filesystem.hidden = "/etc/shadow"'
	run cbx policy check --write "$PROJECT/out.txt"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	assert_contains "$output" 'allow: filesystem.read_write = "{project}"'
	run cbx policy check --write /etc/passwd
	[ "$status" -eq 1 ] || fail "status $status: $output"
	assert_contains "$output" "deny: filesystem.root"
	run cbx policy check --read "$HOME/.canary-token"
	[ "$status" -eq 1 ] || fail "status $status: $output"
	assert_contains "$output" 'deny: filesystem.hidden = "{home}"'
	run cbx policy check --read /usr/bin/env
	[ "$status" -eq 0 ] || fail "status $status: $output"
	run cbx policy check --connect 127.0.0.1:80
	[ "$status" -eq 1 ] || fail "status $status: $output"
	assert_contains "$output" 'deny: network.mode = "none"'
}

@test "policy check: allow/deny for landlock exec and a host network policy" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[landlock]
		exec = ["/usr/bin/cat"]
	EOF
	run cbx policy check "$(P)" --exec /usr/bin/cat
	[ "$status" -eq 0 ] || fail "status $status: $output"
	assert_contains "$output" "allow: landlock.exec"
	run cbx policy check "$(P)" --exec /usr/bin/ls
	[ "$status" -eq 1 ] || fail "status $status: $output"
	assert_contains "$output" "deny: landlock.exec"
	cat >"$T/loop.toml" <<-'EOF'
		version = 1
		[network]
		mode = "loopback"
		[widen]
		"network.mode" = "test"
	EOF
	run cbx policy check "$T/loop.toml" --connect 127.0.0.1:8080
	[ "$status" -eq 0 ] || fail "status $status: $output"
	assert_contains "$output" 'network.mode = "loopback"'
	run cbx policy check "$T/loop.toml" --connect 192.0.2.1:80
	[ "$status" -eq 1 ] || fail "status $status: $output"
}

@test "policy explain: mentions the key facts of a policy" {
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		memory = "1G"
		timeout = "30s"
		[landlock]
		exec = ["/usr/bin/cat"]
	EOF
	run --separate-stderr cbx policy explain "$(P)"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "base preset: default"
	assert_contains "$output" "read-only"
	assert_contains "$output" "{project}"
	assert_contains "$output" "{home}"
	assert_contains "$output" "AF_UNIX"
	assert_contains "$output" "/usr/bin/cat"
	assert_contains "$output" "memory 1G"
	assert_contains "$output" "NPM_CONFIG__AUTH"
	run --separate-stderr cbx policy explain --preset npm-scripts
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_contains "$output" "npm-scripts"
	assert_icontains "$output" "strict"
}

@test "policy presets and show: the four presets, each parseable TOML" {
	run cbx policy presets
	[ "$status" -eq 0 ] || fail "$output"
	local presets=$output
	for p in default npm-scripts cargo-build run-file; do
		assert_contains "$presets" "$p"
		run --separate-stderr cbx policy show "$p"
		[ "$status" -eq 0 ] || fail "show $p: $stderr"
		assert_contains "$output" "version = 1"
		"$PY" -c 'import sys, tomllib; tomllib.loads(sys.stdin.read())' <<<"$output" || fail "show $p is not TOML"
	done
	run --separate-stderr cbx policy show nosuch
	[ "$status" -ne 0 ] || fail "show nosuch succeeded"
	assert_contains "$stderr" "nosuch"
}

@test "doctor: shows hybrid cgroups, Landlock and seccomp" {
	run --separate-stderr cbx doctor
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	if [ -d /sys/fs/cgroup/memory ] && [ -d /sys/fs/cgroup/unified ]; then
		assert_contains "$output" "hybrid"
	fi
	[[ "$output" =~ landlock[[:space:]]+ABI\ [0-9]+ ]] || fail "no landlock ABI: $output"
	assert_contains "$output" "seccomp"
	run --separate-stderr cbx doctor --json
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_jq "$output" '.kernel.landlock_abi >= 1 and .policy == null'
}

@test "doctor --policy: marks a clause refused (exit 1) or degraded (exit 0)" {
	no_bfq || skip "a block device runs bfq here: nothing is refused"
	cat >"$(P)" <<-'EOF'
		version = 1
		[limits]
		io_weight = 500
	EOF
	run --separate-stderr cbx doctor --policy "$(P)"
	[ "$status" -eq 1 ] || fail "status $status: $output"
	grep -qE 'limits\.io_weight +refused' <<<"$output" || fail "$output"
	grep -qE 'limits\.memory +enforced' <<<"$output" || fail "$output"
	cat >>"$(P)" <<-'EOF'
		[degrade]
		io = "warn"
		[widen]
		"degrade.io" = "this machine has no bfq"
	EOF
	run --separate-stderr cbx doctor --policy "$(P)" --json
	[ "$status" -eq 0 ] || fail "status $status: $output"
	assert_jq "$output" '.policy | map(select(.key == "limits.io_weight"))[0].status == "degraded"'
}

@test "spec --policy: prints valid JSON with a read-only root and the project writable" {
	cat >"$(P)" <<-'EOF'
		version = 1
	EOF
	run --separate-stderr cbx spec --policy "$(P)" -- make all
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_jq "$output" '.root.readonly == true'
	assert_jq "$output" '.process.args == ["make", "all"]'
	assert_jq "$output" "[.mounts[] | select(.destination == \"$PROJECT\" and (.options | index(\"rw\")))] | length == 1"
	assert_jq "$output" "[.mounts[] | select(.destination == \"/etc\" and (.options | index(\"rro\")))] | length == 1"
	assert_jq "$output" '.linux.seccomp.defaultAction == "SCMP_ACT_ERRNO"'
	assert_jq "$output" '.process.noNewPrivileges == true and .process.capabilities.bounding == []'
	assert_state_root_clean
}

# ============================================================ signals

# exec_and_signal SIGNAL: cagebox exec -- sleep 8 in the background, SIGNAL
# to cagebox after 0.5 s; sets SIG_RC and SIG_SECS.
# exec_and_signal SIG [CMD...]: `cagebox exec -- CMD` (default sleep 8) in
# the background, SIG to cagebox after 0.5 s; SIG_RC, SIG_SECS.
exec_and_signal() {
	local sig=$1
	shift
	[ $# -gt 0 ] || set -- sleep 8
	cbx_bg "$T/bg.log" exec -- "$@"
	sleep 0.5
	kill -"$sig" "$BG_PID"
	local start=$SECONDS
	SIG_RC=0
	bg_wait "$BG_PID" 20 || SIG_RC=$?
	SIG_SECS=$((SECONDS - start))
}

@test "exec: deny: SIGTERM to cagebox stops the sandboxed command (exit 143)" {
	exec_and_signal TERM
	[ "$SIG_SECS" -lt 5 ] || fail "the command ran on for ${SIG_SECS}s after SIGTERM (exit $SIG_RC): $(cat "$T/bg.log")"
	assert_eq "$SIG_RC" 143
}

@test "exec: deny: SIGINT (Ctrl-C) to cagebox stops the sandboxed command (exit 130)" {
	exec_and_signal INT
	[ "$SIG_SECS" -lt 5 ] || fail "the command ran on for ${SIG_SECS}s after SIGINT (exit $SIG_RC): $(cat "$T/bg.log")"
	assert_eq "$SIG_RC" 130
}

@test "exec: deny: SIGINT (Ctrl-C) reaches every process of the sandbox, as a terminal's does: a shell waiting for its command stops at once (exit 130)" {
	# dash and bash act on SIGINT only after their foreground command ends:
	# the command (sleep) must get it too, as it would from a terminal.
	exec_and_signal INT sh -c 'sleep 20; echo "$((6 * 7))-ran-on"'
	[ "$SIG_SECS" -lt 5 ] || fail "the sandbox ran on for ${SIG_SECS}s after SIGINT (exit $SIG_RC): $(cat "$T/bg.log")"
	assert_eq "$SIG_RC" 130
	assert_not_contains "$(cat "$T/bg.log")" 42-ran-on
	# Any other signal goes to the command alone (runc's forwarding); the
	# shell ends at once on SIGTERM, and the sandbox with it.
	exec_and_signal TERM sh -c 'sleep 20; echo "$((6 * 7))-ran-on"'
	[ "$SIG_SECS" -lt 5 ] || fail "the sandbox ran on for ${SIG_SECS}s after SIGTERM (exit $SIG_RC): $(cat "$T/bg.log")"
	assert_eq "$SIG_RC" 143
}

@test "exec: allow: a realtime signal sent to the sandbox's init reaches the command, and the command's death by it ends the sandbox (exit 128+N)" {
	cbx_bg "$T/bg.log" exec -- sleep 20
	local init="" i rc=0
	# The sandbox's init: cagebox's child with a child of its own (sleep).
	for i in $(seq 100); do
		for p in $(pgrep -P "$BG_PID"); do
			[ -n "$(pgrep -P "$p")" ] && init=$p
		done
		[ -n "$init" ] && break
		sleep 0.1
	done
	[ -n "$init" ] || fail "no sandbox init under cagebox $BG_PID: $(cat "$T/bg.log")"
	SECONDS=0
	kill -s RTMIN+1 "$init"
	bg_wait "$BG_PID" 20 || rc=$?
	[ "$SECONDS" -lt 5 ] || fail "the command ran on for ${SECONDS}s (exit $rc): $(cat "$T/bg.log")"
	# SIGRTMIN+1 (35 with glibc) ends sleep: 128 + 35.
	assert_eq "$rc" $((128 + $(kill -l RTMIN+1)))
	# The same death from inside: the init reaps it and ends the sandbox.
	SECONDS=0
	run --separate-stderr cbx_exec -- sh -c 'kill -s RTMIN+1 $$; sleep 5'
	[ "$SECONDS" -lt 4 ] || fail "the sandbox ran on for ${SECONDS}s after its command died (exit $status): $stderr"
	assert_eq "$status" $((128 + $(kill -l RTMIN+1)))
}

# ============================================================ terminal

@test "tty: Ctrl-C typed at the sandbox's terminal reaches the command once (the terminal signals its foreground job; the init does not repeat it)" {
	# A pty for cagebox (python's pty.fork); the command counts its
	# SIGINTs for 3 s; ^C is written to the pty once the command is ready.
	cat >"$T/ctrl-c.py" <<-'EOF'
		import os, pty, select, sys, time
		cbx, state, project = sys.argv[1:4]
		code = ("import signal, time\nn = 0\ndef h(*a):\n    global n\n    n += 1\n"
		        "signal.signal(signal.SIGINT, h)\nprint('ready', flush=True)\nt = time.time()\n"
		        "while time.time() - t < 3:\n    time.sleep(0.05)\nprint('sigints=%d' % n, flush=True)\n")
		pid, fd = pty.fork()
		if pid == 0:
		    os.chdir(project)
		    os.execv(cbx, [cbx, "--root", state, "exec", "--", "python3", "-c", code])
		buf, sent, end = b"", False, time.time() + 30
		while time.time() < end:
		    if select.select([fd], [], [], 0.2)[0]:
		        try:
		            d = os.read(fd, 4096)
		        except OSError:
		            break
		        if not d:
		            break
		        buf += d
		    if not sent and b"ready" in buf:
		        time.sleep(0.3)
		        os.write(fd, b"\x03")
		        sent = True
		os.waitpid(pid, 0)
		print(buf.decode(errors="replace"))
	EOF
	run timeout 60 python3 "$T/ctrl-c.py" "$RUNTIME" "$STATE" "$PROJECT"
	[ "$status" -eq 0 ] || fail "status $status: $output"
	assert_contains "$output" "sigints=1"
}

@test "tty: exec under a terminal gets a /dev/pts terminal" {
	needs_cmd script "bsdutils provides script(1)"
	local out
	out=$(timeout 30 script -qec "sh -c 'echo \$\$ >>\"$CBX_PIDS\"; exec \"$RUNTIME\" --root \"$STATE\" exec -- tty'" /dev/null </dev/null 3>&-) ||
		fail "script failed: $out"
	[[ "$out" =~ /dev/pts/[0-9]+ ]] || fail "no pts: $(od -c <<<"$out" | head)"
}
