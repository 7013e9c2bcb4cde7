#!/usr/bin/env bats
# Semantics where cagebox does its own work around libcontainer (seccomp
# compiled once, MASKED_EQ operand order, exec keeping the filter, tmpcopyup,
# stdio on /dev/null, session keyrings). runc is the reference: every test
# passes with RUNTIME=/usr/sbin/runc too.

load helpers/common

setup_file() { cbx_setup_file; }
teardown_file() { cbx_teardown_file; }
setup() { cbx_setup; }
teardown() { cbx_teardown; }

# A profile that denies mkdir/mkdirat with EPERM (1) when ARGS match.
deny_mkdir() { # BUNDLE NNP(true|absent) [ARGS_JSON_FOR_MKDIR ARGS_JSON_FOR_MKDIRAT]
	local b=$1 nnp=$2 a1=${3:-null} a2=${4:-null}
	cfg "$b" '.mounts += [{destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["rw", "size=1m"]}]
		| .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
			architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
			syscalls: [
				({names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 1} + (if $a1 == null then {} else {args: $a1} end)),
				({names: ["mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1} + (if $a2 == null then {} else {args: $a2} end))
			]}
		| if $nnp == "true" then .process.noNewPrivileges = true else del(.process.noNewPrivileges) end' \
		--argjson a1 "$a1" --argjson a2 "$a2" --arg nnp "$nnp"
}

@test "seccomp with noNewPrivileges (precompiled path) denies, twice, and exec keeps it" {
	deny_mkdir "$BUNDLE" true
	set_sh "$BUNDLE" 'mkdir /tmp/x-$$ 2>&1; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status'
	for i in 1 2; do # the second start uses the cached filter
		run rt run -b "$BUNDLE" "$ID"
		[[ "$output" == *"Operation not permitted"* ]] || fail "run $i: mkdir was not denied: $output"
		[[ "$output" == *$'Seccomp:\t2'* ]] || fail "no filter: $output"
	done
	set_args "$BUNDLE" sleep 30
	rt_d run -d -b "$BUNDLE" "$ID"
	run rt exec "$ID" mkdir /tmp/y
	[ "$status" -ne 0 ] || fail "exec'd mkdir succeeded: the filter was lost for exec"
	[[ "$output" == *"Operation not permitted"* ]] || fail "$output"
}

@test "seccomp without noNewPrivileges (libseccomp in the container) denies; exec keeps it" {
	deny_mkdir "$BUNDLE" absent
	set_args "$BUNDLE" sleep 30
	rt_d run -d -b "$BUNDLE" "$ID"
	run rt exec "$ID" sh -c 'mkdir /tmp/y; grep NoNewPrivs /proc/1/status'
	[[ "$output" == *"Operation not permitted"* ]] || fail "exec'd mkdir was not denied: $output"
	[[ "$output" == *$'NoNewPrivs:\t0'* ]] || fail "the container's init should not have no_new_privs: $output"
}

# SCMP_CMP_MASKED_EQ: value is the mask, valueTwo the datum (runc; Docker's
# clone rule depends on it). Deny umask(2) when (mask & 0o070) == 0o050:
# `umask 755` is refused (the umask stays 0022), `umask 700` is not.
masked_eq_case() {
	local nnp=$1
	deny_mkdir "$BUNDLE" "$nnp"
	cfg "$BUNDLE" '.linux.seccomp.syscalls += [{names: ["umask"], action: "SCMP_ACT_ERRNO", errnoRet: 1,
		args: [{index: 0, value: 56, valueTwo: 40, op: "SCMP_CMP_MASKED_EQ"}]}]'
	set_sh "$BUNDLE" 'umask 755; grep Umask /proc/self/status; umask 700; grep Umask /proc/self/status'
	run rt run -b "$BUNDLE" "$ID"
	[ "${lines[0]}" = $'Umask:\t0022' ] || fail "umask(0755) should be denied (mask 070, datum 050): $output"
	[ "${lines[1]}" = $'Umask:\t0700' ] || fail "umask(0700) should be allowed: $output"
}

@test "seccomp MASKED_EQ uses runc's operand order (precompiled path)" {
	masked_eq_case true
}

@test "seccomp MASKED_EQ uses runc's operand order (libseccomp in the container)" {
	masked_eq_case absent
}

@test "tmpcopyup fills the tmpfs with the image's content, keeping modes and symlinks" {
	local rootfs="$BATS_TEST_TMPDIR/rootfs-copyup"
	cp -a "$CBX_ROOTFS" "$rootfs"
	mkdir -p "$rootfs/seed/sub"
	echo image-content >"$rootfs/seed/sub/file"
	chmod 0751 "$rootfs/seed"
	ln -s /etc/hostname "$rootfs/seed/link"
	cfg "$BUNDLE" '.root.path = $r | .mounts += [
		{destination: "/seed", type: "tmpfs", source: "tmpfs", options: ["rw", "nosuid", "tmpcopyup", "size=1m"]}]' --arg r "$rootfs"
	set_sh "$BUNDLE" 'cat /seed/sub/file; stat -c %a /seed; readlink /seed/link; echo new > /seed/new && echo writable; grep " /seed " /proc/mounts | cut -d" " -f3'
	run rt run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || fail "$output"
	[ "${lines[0]}" = image-content ] || fail "content not copied: $output"
	[ "${lines[1]}" = 751 ] || fail "mode not kept: $output"
	[ "${lines[2]}" = /etc/hostname ] || fail "symlink not copied as a symlink: $output"
	[ "${lines[3]}" = writable ] || fail "$output"
	[ "${lines[4]}" = tmpfs ] || fail "not a tmpfs: $output"
	[ ! -e "$rootfs/seed/new" ] || fail "write reached the image"
}

@test "tmpcopyup on a destination symlinked out of the rootfs never writes to the host" {
	# The image's /evil points at an absolute path P that exists both inside
	# the image (with content) and on the host. Resolved inside the rootfs it
	# is the image's P; followed naively (the hook runs before pivot_root) it
	# is the host's P. P is a scratch dir of this test, so a runtime that
	# follows the link only writes there (harmless, and caught below).
	local rootfs="$BATS_TEST_TMPDIR/rootfs-evil" P="$BATS_TEST_TMPDIR/hostside"
	cp -a "$CBX_ROOTFS" "$rootfs"
	mkdir -p "$rootfs$P" "$P"
	echo image-content >"$rootfs$P/file"
	ln -s "$P" "$rootfs/evil"
	cfg "$BUNDLE" '.root.path = $r | .mounts += [
		{destination: "/evil", type: "tmpfs", source: "tmpfs", options: ["rw", "tmpcopyup"]}]' --arg r "$rootfs"
	set_sh "$BUNDLE" 'cat /evil/file; grep -c " $0 tmpfs " /proc/mounts'
	cfg "$BUNDLE" '.process.args += [$p]' --arg p "$P"
	run rt run -b "$BUNDLE" "$ID"
	[ -z "$(ls -A "$P")" ] || fail "copy-up wrote through the symlink to the host: $(ls -A "$P")"
	[ "$status" -eq 0 ] || fail "$output"
	[ "${lines[0]}" = image-content ] || fail "the image's content should be copied: $output"
	[ "${lines[1]}" = 1 ] || fail "the tmpfs should be mounted at the in-root path: $output"
}

@test "a container whose stdout is /dev/null can write to it" {
	set_sh "$BUNDLE" 'echo hello; echo to-stderr >&2'
	run timeout 20 "$RUNTIME" --root "$STATE" run -b "$BUNDLE" "$ID" >/dev/null 2>/dev/null </dev/null
	[ "$status" -eq 0 ] || fail "writes to a /dev/null stdout failed: exit $status"
}

@test "each container gets its own session keyring; --no-new-keyring shares the caller's" {
	set_args "$BUNDLE" sleep 30
	rt_d run -d -b "$BUNDLE" "$ID"
	grep -q " _ses\.$ID: " /proc/keys || fail "no session keyring named after the container: $(cat /proc/keys)"
	local id2 b2
	id2=$(new_id nokey)
	b2=$(new_bundle "$id2")
	set_args "$b2" sleep 30
	rt_d run -d --no-new-keyring -b "$b2" "$id2"
	! grep -q " _ses\.$id2: " /proc/keys || fail "--no-new-keyring still made a keyring"
}

@test "run: a container without a pid namespace leaves none of its processes behind" {
	add_bind "$BUNDLE" "$HOSTDIR" /host
	cfg "$BUNDLE" '.linux.namespaces |= map(select(.type != "pid"))'
	# The child outlives the init; it is bounded (sleep 300) in case the
	# runtime fails to kill it, and teardown kills it by pid.
	set_sh "$BUNDLE" 'sleep 300 & echo $! > /host/child; exit 0'
	run rt run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || fail "$output"
	local child
	child=$(cat "$HOSTDIR/child")
	track_pid "$child"
	local i
	for i in $(seq 50); do pid_alive "$child" || break; sleep 0.1; done
	! pid_alive "$child" || fail "the init's child $child survived the container"
	assert_no_leftovers "$ID"
}

@test "run and exec with a terminal but no console socket get a pty from the runtime" {
	needs_cmd script "the caller needs a terminal (runc opens /dev/tty): bsdutils"
	# `tty` succeeds only for a pty of the container's own devpts: an
	# inherited terminal of the caller (from another devpts) does not count.
	cfg "$BUNDLE" '.process.terminal = true'
	set_sh "$BUNDLE" 'tty >/dev/null && echo own-pty || echo no-own-pty; exit 3'
	local cmd
	printf -v cmd '%q ' "$RUNTIME" --root "$STATE" run -b "$BUNDLE" "$ID"
	SHELL=/bin/bash run timeout 20 script -qefc "$cmd" /dev/null </dev/null
	[ "$status" -eq 3 ] || fail "exit status $status: $output"
	[[ "$output" == *own-pty* && "$output" != *no-own-pty* ]] || fail "no pty for run: $output"
	local id2 b2
	id2=$(new_id exec)
	b2=$(new_bundle "$id2")
	set_args "$b2" sleep 30
	rt_d run -d -b "$b2" "$id2"
	printf -v cmd '%q ' "$RUNTIME" --root "$STATE" exec -t "$id2" sh -c 'tty >/dev/null && echo own-pty || echo no-own-pty; exit 4'
	SHELL=/bin/bash run timeout 20 script -qefc "$cmd" /dev/null </dev/null
	[ "$status" -eq 4 ] || fail "exit status $status: $output"
	[[ "$output" == *own-pty* && "$output" != *no-own-pty* ]] || fail "no pty for exec -t: $output"
	[ -z "$(find "$STATE" -maxdepth 1 -name '.console-*')" ] || fail "console socket left in $STATE"
}
