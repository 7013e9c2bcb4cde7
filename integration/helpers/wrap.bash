# shellcheck shell=bash
# Helpers for integration/wrap.bats: the package-manager wrappers
# (`cagebox npm|pnpm|cargo [CAGEBOX FLAGS] ARGS...`) driven with real
# package managers, real containers and the fixtures in integration/fixtures.
#
# Per run (setup_file), under a base directory in /var/tmp (not /tmp: the
# sandbox has a private /tmp, so fixtures under the host's /tmp would be
# invisible for the wrong reason):
#   $WRAP_TB        every npm fixture packed once (npm pack's tarball layout)
#   npm_config_cache one npm cache for every npm call of the run
# Per test:
#   $PROJECT  the project (cwd of every cagebox call), with cbx-it.env: the
#             targets of the hostile fixtures (port, marker paths, MARK)
#   $HOME     a temporary home with canary secrets (~/.ssh/id_rsa, ~/.npmrc,
#             ~/.aws/credentials, ~/.bashrc)
#   $OUTSIDE  a host directory that is neither project nor home
#   $OTHER    another project, which no script may write into
#   $MARK     a unique string: the argv of the test's marker processes and of
#             the daemon fixture carry it, so leftovers can be found
#   $STATE    the private state root (--root), $REPORT, $AUDIT.
#
# The containers of a wrapper run are created by the script shells that npm
# or pnpm start, so their pids are not ours to know: teardown looks for
# cagebox cgroups that appeared during the test, for processes carrying
# $MARK or working under the test's directory, for mounts of it, and for
# anything left in the state root. It only kills processes that are
# certainly ours (their argv or cwd point into this test) and never touches
# a cgroup it cannot attribute to this test.

load helpers/common

: "${WRAP_TIMEOUT:=120}"
# The registry tests build and fetch real projects.
: "${WRAP_REAL_TIMEOUT:=600}"
# A PATH without the caller's home (pyenv shims): HOME is hidden in the
# sandbox, so tools found through it would fail for the wrong reason.
WRAP_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WRAP_FIX="$REPO_ROOT/integration/fixtures"
PY=/usr/bin/python3
# The real toolchain for the cargo tests (symlinked into the temporary HOME).
: "${WRAP_REAL_CARGO_HOME:=/root/.cargo}"
: "${WRAP_REAL_RUSTUP_HOME:=/root/.rustup}"

wrap_setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	case "$RUNTIME" in
	*/cagebox) ;;
	*) return 0 ;; # every test skips in wrap_setup
	esac
	[ -x "$RUNTIME" ] || fail "RUNTIME=$RUNTIME is not executable (cargo build --release)"
	case "$RUNTIME" in /*) ;; *) fail "RUNTIME must be an absolute path, got $RUNTIME" ;; esac
	command -v npm >/dev/null || fail "npm is not installed (Node.js from NodeSource bundles it)"
	WRAP_BASE="$(mktemp -d /var/tmp/cagebox-wrap-it.XXXXXX)"
	chmod 0755 "$WRAP_BASE"
	WRAP_TB="$WRAP_BASE/tarballs"
	WRAP_TAG="$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
	mkdir -p "$WRAP_TB" "$WRAP_BASE/src"
	export WRAP_BASE WRAP_TB WRAP_TAG
	wrap_npm_env
	local d n
	for d in "$WRAP_FIX"/npm/*/; do
		n=$(basename "$d")
		[ "$n" = root-project ] && continue
		wrap_pack "$d" "$n" || fail "packing the fixture $n failed"
	done
	# The allowScripts tests need three packages with install scripts.
	for n in approve-yes approve-no approve-unset; do
		wrap_pack "$WRAP_FIX/npm/good-touch" "$n" || fail "packing $n failed"
	done
}

wrap_teardown_file() {
	[ -n "${WRAP_BASE:-}" ] && [ -d "$WRAP_BASE" ] && rm -rf "$WRAP_BASE"
	return 0
}

# The npm settings of every npm call (host and sandbox alike): one cache per
# run, no update check, no funding or audit requests.
wrap_npm_env() {
	export npm_config_cache="$WRAP_BASE/npm-cache"
	export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
	export npm_config_loglevel=warn
}

# wrap_pack DIR NAME: $WRAP_TB/NAME-1.0.0.tgz, the fixture DIR renamed to
# NAME, in `npm pack`'s layout (everything under package/). Made with tar
# rather than `npm pack` (a second of CPU per package), reproducibly.
wrap_pack() {
	local src="$WRAP_BASE/src/$2"
	mkdir -p "$src"
	cp -r "$1" "$src/package"
	jq --arg n "$2" '.name = $n' "$1/package.json" >"$src/package/package.json"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
		-czf "$WRAP_TB/$2-$(jq -r .version "$src/package/package.json").tgz" -C "$src" package
}

wrap_setup() {
	case "$RUNTIME" in
	*/cagebox) ;;
	*) skip "cagebox-only: the package-manager wrappers (cagebox npm|pnpm|cargo)" ;;
	esac
	[ "$(id -u)" -eq 0 ] || skip "needs root: namespaces, cgroups and mounts"
	exec </dev/null
	[ -n "${WRAP_BASE:-}" ] && [ -d "$WRAP_BASE" ] || fail "setup_file did not run wrap_setup_file"
	T="$WRAP_BASE/t$BATS_TEST_NUMBER"
	PROJECT="$T/project"
	OUTSIDE="$T/outside"
	OTHER="$T/other-project"
	STATE="$BATS_TEST_TMPDIR/state"
	REPORT="$T/report.json"
	AUDIT="$T/audit.jsonl"
	MARK="cbx-it-$WRAP_TAG-$BATS_TEST_NUMBER"
	: >"$BATS_TEST_TMPDIR/bgpids"
	mkdir -p "$PROJECT" "$OUTSIDE" "$OTHER" "$T/home/.ssh" "$T/home/.aws"
	# Canary secrets: never real ones. The .npmrc token is for a registry
	# that does not exist, so the real registry never sees it.
	printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\ncanary-ssh-key-%s\n-----END OPENSSH PRIVATE KEY-----\n' "$MARK" >"$T/home/.ssh/id_rsa"
	chmod 0600 "$T/home/.ssh/id_rsa"
	echo "//registry.canary.invalid/:_authToken=canary-npmrc-token-$MARK" >"$T/home/.npmrc"
	printf '[default]\naws_secret_access_key = canary-aws-file-%s\n' "$MARK" >"$T/home/.aws/credentials"
	echo "# the host's bashrc ($MARK)" >"$T/home/.bashrc"
	BASHRC_SUM="$(sha256sum <"$T/home/.bashrc")"
	echo '{"name":"other-project","version":"1.0.0"}' >"$OTHER/package.json"
	echo "module.exports = 1" >"$OTHER/index.js"
	OTHER_LIST="$(wrap_tree "$OTHER")"
	export HOME="$T/home" PATH="$WRAP_PATH"
	# The temporary HOME must be the only home anything resolves.
	unset XDG_STATE_HOME XDG_CONFIG_HOME XDG_CACHE_HOME XDG_DATA_HOME XDG_RUNTIME_DIR
	unset CARGO_HOME RUSTUP_HOME CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR
	export T PROJECT OUTSIDE OTHER STATE REPORT AUDIT MARK BASHRC_SUM OTHER_LIST
	LISTEN_PORT=9 # discard: nothing listens there until start_listener
	write_cfg "$PROJECT"
	wrap_cgroups >"$BATS_TEST_TMPDIR/cgroups.before"
	ls -d /dev/shm/cagebox-exec-* 2>/dev/null | sort >"$BATS_TEST_TMPDIR/shm.before"
	cd "$PROJECT"
}

# wrap_cgroups: cagebox's cgroup directories: the containers' (v1
# hierarchies, or the v2 root) and the sessions' keepers (runtime/warmup.rs).
wrap_cgroups() {
	ls -d /sys/fs/cgroup/*/cagebox-exec-* /sys/fs/cgroup/cagebox-exec-* \
		/sys/fs/cgroup/*/cagebox-wrap-* /sys/fs/cgroup/cagebox-wrap-* 2>/dev/null | sort
}

# keeper_hierarchy: where the session keeper's cgroup is made: v1's freezer,
# else the v2 root (runtime/warmup.rs `hierarchy`).
keeper_hierarchy() {
	if [ -e /sys/fs/cgroup/freezer/cgroup.procs ]; then
		echo /sys/fs/cgroup/freezer
	else
		echo /sys/fs/cgroup
	fi
}

wrap_teardown() {
	[ -n "${T:-}" ] || return 0
	cd /
	local pid rc=0 problems=""
	# The test's own listener and marker process (children of this shell).
	while read -r pid; do
		[ -n "$pid" ] || continue
		{
			kill -KILL "$pid"
			wait "$pid"
		} 2>/dev/null
	done <"$BATS_TEST_TMPDIR/bgpids"
	problems="$(wrap_leftovers)" || true
	wrap_kill_ours
	if [ -e "/tmp/good-tmp-$MARK" ]; then
		rm -rf "/tmp/good-tmp-$MARK"
		problems+="a sandboxed /tmp write reached the host's /tmp: /tmp/good-tmp-$MARK"$'\n'
	fi
	rm -rf "$T"
	if [ -n "$problems" ]; then
		printf 'leftovers after the test:\n%s' "$problems" >&2
		rc=1
	fi
	return $rc
}

# write_cfg DIR: DIR/cbx-it.env, where the hostile fixtures find their
# targets (shell syntax, one KEY=VALUE a line, no quoting needed).
write_cfg() {
	cat >"$1/cbx-it.env" <<-EOF
		CBX_PORT=$LISTEN_PORT
		CBX_OUTSIDE=$OUTSIDE
		CBX_OTHER=$OTHER
		CBX_HOME=$HOME
		CBX_MARK=$MARK
		CBX_MARKER_PID=${MARKER_PID:-0}
	EOF
}

# wrap_tree DIR: names, sizes and hashes of everything under DIR.
wrap_tree() {
	(cd "$1" && find . -print0 | sort -z | xargs -0 stat -c '%n %s %F' && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

# ---------------------------------------------------------------- running

# wrap MANAGER [CAGEBOX FLAGS] ARGS...: `cagebox MANAGER --root $STATE
# --report $REPORT --audit-log $AUDIT [CAGEBOX FLAGS] ARGS...` with a
# timeout, stdout and stderr through files (a process left behind cannot
# hang bats on its capture pipe), printed to stdout and stderr afterwards.
wrap() {
	local m=$1
	shift
	wrap_raw "$m" --report "$REPORT" --audit-log "$AUDIT" "$@"
}

# wrap_raw MANAGER ARGS...: the same with only --root added.
wrap_raw() {
	local m=$1 o e rc=0
	shift
	o="$(mktemp -p "$BATS_TEST_TMPDIR" wrap.out.XXXXXX)"
	e="$(mktemp -p "$BATS_TEST_TMPDIR" wrap.err.XXXXXX)"
	timeout -k 5 "$WRAP_TIMEOUT" "$RUNTIME" "$m" --root "$STATE" "$@" </dev/null >"$o" 2>"$e" 3>&- || rc=$?
	cat "$o"
	cat "$e" >&2
	rm -f "$o" "$e"
	return "$rc"
}

# install_fails: `wrap npm install` (status, output and stderr set as by
# bats' run), which must fail as npm does when a script failed: not 0, and
# not cagebox's own 125.
install_fails() {
	run --separate-stderr wrap npm install
	show
	[ "$status" -ne 0 ] && [ "$status" -ne 125 ] ||
		fail "status $status: the install must fail like npm's own (a script failed)"
}

# show: what a failing test prints (bats shows it only on failure).
show() {
	printf -- '--- status %s\n--- stdout (last 40 lines)\n%s\n--- stderr\n%s\n' \
		"${status:-}" "$(tail -n 40 <<<"${output:-}")" "${stderr:-}"
	if [ -f "$REPORT" ]; then
		printf -- '--- report\n'
		jq . "$REPORT" 2>/dev/null || cat "$REPORT"
	else
		printf -- '--- no report at %s\n' "$REPORT"
	fi
}

# ---------------------------------------------------------------- projects

# npm_project DEP...: $PROJECT/package.json depending on the packed
# fixtures DEP... (file: tarballs, absolute paths).
npm_project() {
	local deps="{}" n
	for n in "$@"; do
		[ -f "$WRAP_TB/$n-1.0.0.tgz" ] || fail "no fixture tarball $WRAP_TB/$n-1.0.0.tgz"
		deps="$(jq -c --arg n "$n" --arg v "file:$WRAP_TB/$n-1.0.0.tgz" '. + {($n): $v}' <<<"$deps")"
	done
	jq -n --argjson d "$deps" '{name: "wrap-it-project", version: "0.0.1", private: true, dependencies: $d}' \
		>"$PROJECT/package.json"
}

# tb NAME: the file: spec npm records for the fixture tarball NAME (what
# allowScripts keys must match).
tb() {
	echo "file:$WRAP_TB/$1-1.0.0.tgz"
}

# cagebox_toml: $PROJECT/cagebox.toml from stdin.
cagebox_toml() {
	cat >"$PROJECT/cagebox.toml"
}

# ---------------------------------------------------------------- the report

# rec NAME [PHASE]: the report's record(s) for package NAME (compact JSON).
rec() {
	[ -f "$REPORT" ] || fail "no report at $REPORT"
	jq -c --arg n "$1" --arg p "${2:-}" \
		'.scripts[] | select(.package == $n and ($p == "" or .phase == $p))' "$REPORT"
}

# assert_rec NAME PHASE FILTER: exactly one record for NAME/PHASE, and
# FILTER is true for it.
assert_rec() {
	local r
	r="$(rec "$1" "$2")"
	[ -n "$r" ] || fail "no record for $1 $2 in the report"
	assert_jq "$r" "$3"
}

# assert_no_rec NAME: the report has no record for NAME (its script never ran).
assert_no_rec() {
	local r
	r="$(rec "$1")"
	[ -z "$r" ] || fail "$1 has a record although its script must not run: $r"
}

# assert_line TEXT REGEX: one line of TEXT matches the extended REGEX.
assert_line() {
	grep -Eq -- "$2" <<<"$1" || fail "no line matching /$2/ in: $1"
}

# assert_summary TEXT N OK DENIED KILLED FAILED: the summary line.
assert_summary() {
	assert_line "$1" "^cagebox: $2 scripts?: $3 ok, $4 denied, $5 killed, $6 failed(;|$)"
}

# ---------------------------------------------------------------- host fixtures

# start_listener: the exfiltration target on 127.0.0.1:$LISTEN_PORT, every
# byte it receives in $LISTEN_LOG; killed by pid at teardown. Rewrites
# $PROJECT/cbx-it.env with the port.
start_listener() {
	local i
	LISTEN_LOG="$T/listener.log"
	: >"$LISTEN_LOG"
	"$PY" "$WRAP_FIX/listener.py" "$T/listener.port" "$LISTEN_LOG" </dev/null >"$T/listener.out" 2>&1 3>&- &
	LISTEN_PID=$!
	echo "$LISTEN_PID" >>"$BATS_TEST_TMPDIR/bgpids"
	for i in $(seq 100); do
		[ -s "$T/listener.port" ] && break
		kill -0 "$LISTEN_PID" 2>/dev/null || fail "the listener died: $(cat "$T/listener.out")"
		sleep 0.05
	done
	LISTEN_PORT="$(cat "$T/listener.port")"
	[ -n "$LISTEN_PORT" ] || fail "the listener did not start"
	# The listener works from the host (so silence later means blocked).
	curl -fsS --max-time 3 "http://127.0.0.1:$LISTEN_PORT/probe" >/dev/null ||
		fail "the 127.0.0.1 listener does not answer"
	grep -q "GET /probe" "$LISTEN_LOG" || fail "the listener did not log the probe"
	: >"$LISTEN_LOG"
	export LISTEN_PORT LISTEN_LOG LISTEN_PID
	write_cfg "$PROJECT"
}

# assert_listener_silent: no connection reached the listener, and no canary.
assert_listener_silent() {
	[ ! -s "$LISTEN_LOG" ] || fail "the listener was reached: $(head -c 2000 "$LISTEN_LOG")"
}

# host_marker_process: a host `sleep 60` whose argv[0] is $MARK (killed at
# teardown); rewrites cbx-it.env with its pid.
host_marker_process() {
	bash -c "exec -a $MARK sleep 60" </dev/null >/dev/null 2>&1 3>&- &
	MARKER_PID=$!
	echo "$MARKER_PID" >>"$BATS_TEST_TMPDIR/bgpids"
	export MARKER_PID
	write_cfg "$PROJECT"
}

# set_secrets: secret variables (canaries) in the environment of the wrapper.
set_secrets() {
	export NPM_TOKEN="canary-env-npm-token-$MARK"
	export AWS_SECRET_ACCESS_KEY="canary-env-aws-$MARK"
	export GITHUB_TOKEN="canary-env-github-$MARK"
	export NODE_AUTH_TOKEN="canary-env-node-auth-$MARK"
	export npm_config__authToken="canary-env-npm-authtoken-$MARK"
}

# assert_host_untouched: the evil-write targets on the host.
assert_host_untouched() {
	[ -z "$(ls -A "$OUTSIDE")" ] || fail "something was written outside the project: $(ls -A "$OUTSIDE")"
	assert_eq "$(sha256sum <"$HOME/.bashrc")" "$BASHRC_SUM" "the host's ~/.bashrc changed: $(cat "$HOME/.bashrc")"
	assert_eq "$(wrap_tree "$OTHER")" "$OTHER_LIST" "another project was modified"
}

# pids_with_mark: host processes whose argv carries $MARK (other than the
# test's own marker process).
pids_with_mark() {
	local f p
	for f in $(grep -lsF -- "$MARK" /proc/[0-9]*/cmdline); do
		p=${f#/proc/}
		p=${p%/cmdline}
		[ "$p" = "${MARKER_PID:-}" ] && continue
		pid_alive "$p" && echo "$p"
	done
	return 0
}

# pids_under_t: host processes working under $T (other than this shell).
pids_under_t() {
	local p cwd
	find /proc -mindepth 2 -maxdepth 2 -name cwd -printf '%h %l\n' 2>/dev/null |
		while read -r p cwd; do
			p=${p#/proc/}
			[ "$p" = "$$" ] || [ "$p" = "$BASHPID" ] && continue
			case "$cwd" in "$T" | "$T"/*) pid_alive "$p" && echo "$p" ;; esac
		done
	return 0
}

# ---------------------------------------------------------------- cargo

# cargo_home: the temporary HOME gets the real toolchain (symlinks to the
# host's ~/.cargo/registry, ~/.cargo/bin and ~/.rustup, which cargo-build
# mounts read-only inside the hidden HOME) and a canary
# ~/.cargo/credentials.toml; the project is a copy of fixture NAME.
cargo_project() {
	[ -x "$WRAP_REAL_CARGO_HOME/bin/cargo" ] || skip "no rust toolchain at $WRAP_REAL_CARGO_HOME (rustup)"
	mkdir -p "$HOME/.cargo"
	ln -s "$WRAP_REAL_CARGO_HOME/registry" "$HOME/.cargo/registry"
	ln -s "$WRAP_REAL_CARGO_HOME/bin" "$HOME/.cargo/bin"
	ln -s "$WRAP_REAL_RUSTUP_HOME" "$HOME/.rustup"
	printf '[registry]\ntoken = "canary-cargo-token-%s"\n' "$MARK" >"$HOME/.cargo/credentials.toml"
	export PATH="$HOME/.cargo/bin:$WRAP_PATH"
	export CARGO_REGISTRY_TOKEN="canary-env-cargo-token-$MARK"
	cp -r "$WRAP_FIX/cargo/$1/." "$PROJECT/"
	write_cfg "$PROJECT"
}

# ---------------------------------------------------------------- registries

# needs_registry URL WHAT: skip when the registry does not answer.
needs_registry() {
	curl -fsS --max-time 15 -o /dev/null "$1" 2>/dev/null ||
		skip "$2 is not reachable ($1): this test fetches a real project"
}

# ---------------------------------------------------------------- leftovers

# wrap_leftovers: one line per thing left behind; fails if there is any.
#  - state root: nothing but empty dot directories and the seccomp cache
#    .seccomp/*.bpf (docs/runtime.md);
#  - no container cgroup (cagebox-exec-*, the sandbox's naming) that
#    appeared during the test and is still there (other suites running at
#    the same time could in theory show up here; nothing is removed);
#  - no process carrying $MARK, none working under $T;
#  - no session directory of the runs in $REPORT / $AUDIT;
#  - no mount of this test's files in our mount namespace.
wrap_leftovers() {
	local out="" e p
	e=$(state_root_leftovers "$STATE")
	[ -z "$e" ] || out+="$e"$'\n'
	# Cgroups are removed right after the container; give a slow delete a moment.
	for _ in $(seq 20); do
		wrap_cgroups >"$BATS_TEST_TMPDIR/cgroups.after"
		[ -z "$(comm -13 "$BATS_TEST_TMPDIR/cgroups.before" "$BATS_TEST_TMPDIR/cgroups.after")" ] && break
		sleep 0.1
	done
	for e in $(comm -13 "$BATS_TEST_TMPDIR/cgroups.before" "$BATS_TEST_TMPDIR/cgroups.after"); do
		out+="cgroup: $e appeared during the test and is still there (procs: $(tr '\n' ' ' <"$e/cgroup.procs" 2>/dev/null))"$'\n'
	done
	# Private bundles and rootfs skeletons (sandbox/mod.rs).
	for e in $(ls -d /dev/shm/cagebox-exec-* 2>/dev/null | sort | comm -13 "$BATS_TEST_TMPDIR/shm.before" -); do
		out+="/dev/shm: $e appeared during the test and is still there"$'\n'
	done
	for p in $(pids_with_mark); do
		out+="process $p carries $MARK: $({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null)"$'\n'
	done
	for p in $(pids_under_t); do
		out+="process $p works in $(readlink "/proc/$p/cwd" 2>/dev/null): $({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null)"$'\n'
	done
	# The wrapper's session directory (${TMPDIR:-/tmp}/<session>) goes at the end.
	for e in $(cat "$REPORT" "$AUDIT" 2>/dev/null | jq -r '.. | objects | .session? // empty' 2>/dev/null | sort -u); do
		[ -e "${TMPDIR:-/tmp}/$e" ] && out+="session directory ${TMPDIR:-/tmp}/$e left behind"$'\n'
	done
	if grep -qF -e "$T" -e "$STATE" /proc/self/mountinfo; then
		out+="mounts: $(grep -F -e "$T" -e "$STATE" /proc/self/mountinfo)"$'\n'
	fi
	printf '%s' "$out"
	[ -z "$out" ]
}

# wrap_kill_ours: SIGKILL what is certainly this test's (argv carries $MARK,
# or it works under $T), so one broken run does not poison the next test.
wrap_kill_ours() {
	local p
	for p in $(pids_with_mark) $(pids_under_t); do kill -KILL "$p" 2>/dev/null; done
	return 0
}
