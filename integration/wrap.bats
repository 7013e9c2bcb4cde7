#!/usr/bin/env bats
# The package-manager wrappers (issue 5), end to end with real package
# managers and real containers:
#   cagebox npm  [--policy F] [--preset P] [--report F] [--audit-log F] [--root D] NPM-ARGS...
#   cagebox pnpm [...] PNPM-ARGS...
#   cagebox cargo [...] build|test|run|check|clippy ...
# npm and pnpm run on the host; every lifecycle script (of a dependency or of
# the root project) runs as its own short-lived container under the
# npm-scripts preset, the project's cagebox.toml and its [packages."NAME"]
# tables. cargo fetches on the host, then builds offline in one container
# under cargo-build.
#
# cagebox-only (runc has no wrappers): with RUNTIME=runc every test skips.
# The npm fixtures (integration/fixtures/npm, see its README) are packed once
# per run and installed as file: tarballs, so no registry is needed except in
# the "real project" tests, which skip when the registry is unreachable.
# Hostile fixtures are harmless even if the sandbox fails: their targets are
# the test's own temporary paths, a 127.0.0.1 listener the test started and
# kills by pid, canaries in a temporary HOME; every bomb is bounded.
#
# Each hostile test checks both that the harm did not happen on the host and
# that it was reported (stderr line, report record). After every test,
# teardown checks that nothing was left: state root, cgroups, processes,
# mounts (helpers/wrap.bash).

bats_require_minimum_version 1.5.0

load helpers/wrap

setup_file() { wrap_setup_file; }
teardown_file() { wrap_teardown_file; }
setup() { wrap_setup; }
teardown() { wrap_teardown; }

# ============================================================ npm: hostile dependencies

@test "npm: evil-exfil: HOME canaries and secret variables never reach the script, nothing reaches the 127.0.0.1 listener; denied (connect)" {
	start_listener
	set_secrets
	npm_project evil-exfil
	install_fails
	assert_listener_silent
	# What the script collected (names only) and what it could not read.
	assert_contains "$stderr" "evil-exfil: collected: none"
	assert_contains "$stderr" "evil-exfil: read $HOME/.ssh/id_rsa: ENOENT"
	assert_not_contains "$stderr" "canary-"
	assert_contains "$stderr" "cagebox: evil-exfil@1.0.0 postinstall: denied"
	assert_eq "$(jq .exit_code "$REPORT")" "$status" "report exit_code"
	assert_rec evil-exfil postinstall '.verdict == "denied" and .exit_code != 0 and (.denials | length >= 1)
		and any(.denials[]; .access == "connect" and (.evidence | test("127.0.0.1")) and (.rule | length > 0) and (.allow | length > 0))'
	grep -qF canary- "$REPORT" && fail "a canary is in the report"
	assert_summary "$stderr" 1 0 1 0 0
}

@test "npm: evil-fetch: a nested npm install and a name lookup fetch no second stage; npm told not to retry; denied (connect, resolve)" {
	start_listener
	npm_project evil-fetch
	install_fails
	# The nested npm's registry is the listener: silent means nothing was
	# fetched (npm removes the failed package's directory, so what it
	# would have installed there cannot be looked for).
	assert_listener_silent
	# Without the host's network a nested npm gets npm_config_fetch_retries=0
	# (sandbox::offline_env), so it fails at once instead of backing off
	# for a minute on what cannot succeed.
	assert_contains "$stderr" "evil-fetch: npm_config_fetch_retries=0"
	assert_line "$stderr" "evil-fetch: nested npm install: exit [1-9]"
	assert_contains "$stderr" "evil-fetch: lookup: getaddrinfo EAI_AGAIN registry.npmjs.org"
	assert_contains "$stderr" "cagebox: evil-fetch@1.0.0 postinstall: denied"
	assert_rec evil-fetch postinstall '.verdict == "denied"
		and any(.denials[]; .access == "connect" and (.evidence | test("127.0.0.1")))
		and any(.denials[]; .access == "resolve" and (.evidence | test("EAI_AGAIN registry.npmjs.org"))
			and .rule == "network.mode = \"none\"" and (.allow | test("network.mode = \"host\"")))'
	assert_summary "$stderr" 1 0 1 0 0
}

@test "npm: evil-write: nothing written outside the package (marker dir, another project, ~/.bashrc); denied (write) naming the paths" {
	npm_project evil-write
	install_fails
	assert_host_untouched
	[ ! -e "$PROJECT/node_modules/evil-write" ] || fail "npm did not roll back the failed install"
	assert_contains "$stderr" "cagebox: evil-write@1.0.0 postinstall: denied"
	# The detail lines name the path, the rule and how to allow it.
	assert_contains "$stderr" "$OUTSIDE/evil-write-marker"
	assert_contains "$stderr" "$OTHER/injected.js"
	assert_rec evil-write postinstall '.verdict == "denied" and .exit_code != 0'
	local r
	r="$(rec evil-write postinstall)"
	assert_jq "$r" "any(.denials[]; .path == \"$OUTSIDE/evil-write-marker\" and .access == \"write\" and (.rule | length > 0) and (.allow | length > 0))"
	assert_jq "$r" "any(.denials[]; .path == \"$OTHER/injected.js\" and .access == \"write\" and (.evidence | test(\"Read-only file system\")))"
	assert_jq "$r" '.script == "sh ./write.sh" and .dir == "'"$PROJECT"'/node_modules/evil-write" and .root_project == false'
	assert_summary "$stderr" 1 0 1 0 0
}

@test "npm rebuild: evil-spy: host processes are invisible and ptrace is refused; denied" {
	host_marker_process
	npm_project evil-spy
	npm install --ignore-scripts >/dev/null 2>&1 || fail "npm install --ignore-scripts failed"
	run --separate-stderr wrap npm rebuild evil-spy
	show
	[ "$status" -ne 0 ] && [ "$status" -ne 125 ] || fail "status $status"
	local found="$PROJECT/node_modules/evil-spy/spy-findings.txt"
	[ -f "$found" ] || fail "the spy left no findings (did its script run?)"
	cat "$found"
	assert_contains "$(cat "$found")" "marker visible: no"
	assert_not_contains "$(cat "$found")" "attached"
	# A handful of processes: the sandbox's init, npm's sh, python.
	local n
	n="$(sed -n 's/^evil-spy: processes visible: //p' "$found")"
	[ "$n" -le 5 ] || fail "the spy saw $n processes"
	# The marker was never traced.
	assert_eq "$(awk '/^TracerPid:/ {print $2}' "/proc/$MARKER_PID/status")" 0 "TracerPid of the marker"
	assert_contains "$stderr" "cagebox: evil-spy@1.0.0 postinstall: denied"
	assert_rec evil-spy postinstall '.verdict == "denied" and any(.denials[]; .evidence | test("ptrace"))'
}

@test "npm: evil-forkbomb: [packages.\"evil-forkbomb\"] pids = 32: killed (pids); a benign sibling keeps the preset's limit" {
	npm_project evil-forkbomb good-children
	cagebox_toml <<-'EOF'
		version = 1
		[packages."evil-forkbomb".limits]
		pids = 32
	EOF
	SECONDS=0
	install_fails
	[ "$SECONDS" -lt 30 ] || fail "the bomb was not stopped quickly (${SECONDS}s)"
	assert_contains "$stderr" "cagebox: evil-forkbomb@1.0.0 postinstall: killed (pids)"
	assert_rec evil-forkbomb postinstall '.verdict == "killed" and .reason == "pids" and .pids_limit_hits >= 1'
	# npm stops at the first failed script, so the sibling gets its own
	# install: 50 parallel children, more than the bomb's 32, under the
	# same cagebox.toml.
	npm_project good-children
	run --separate-stderr wrap npm install
	show
	[ "$status" -eq 0 ] || fail "status $status"
	assert_rec good-children postinstall '.verdict == "ok" and .exit_code == 0 and .pids_limit_hits == 0'
}

@test "npm: evil-membomb: [limits] memory = \"64M\" in cagebox.toml: killed (oom)" {
	npm_project evil-membomb
	cagebox_toml <<-'EOF'
		version = 1
		[limits]
		memory = "64M"
	EOF
	install_fails
	assert_not_contains "$stderr" "evil-membomb: allocated"
	assert_contains "$stderr" "cagebox: evil-membomb@1.0.0 postinstall: killed (oom)"
	assert_rec evil-membomb postinstall '.verdict == "killed" and .reason == "oom" and .oom_kills >= 1
		and (.peak_memory_bytes == null or .peak_memory_bytes <= 64 * 1048576)
		and any(.policy_layers[]; test("cagebox.toml"))'
}

@test "npm rebuild: evil-diskfill: [limits] file_size = \"8M\": killed (file_size), the file stops at 8M" {
	npm_project evil-diskfill
	cagebox_toml <<-'EOF'
		version = 1
		[limits]
		file_size = "8M"
	EOF
	npm install --ignore-scripts >/dev/null 2>&1 || fail "npm install --ignore-scripts failed"
	run --separate-stderr wrap npm rebuild
	show
	[ "$status" -ne 0 ] && [ "$status" -ne 125 ] || fail "status $status"
	assert_eq "$(stat -c %s "$PROJECT/node_modules/evil-diskfill/fill.bin")" 8388608 "size of fill.bin"
	assert_contains "$stderr" "cagebox: evil-diskfill@1.0.0 postinstall: killed (file_size)"
	assert_rec evil-diskfill postinstall '.verdict == "killed" and .reason == "file_size"'
}

@test "npm: evil-sleeper: [packages.\"evil-sleeper@1.0.0\"] timeout = \"3s\": killed (timeout) within seconds" {
	npm_project evil-sleeper
	cagebox_toml <<-'EOF'
		version = 1
		[packages."evil-sleeper@1.0.0".limits]
		timeout = "3s"
	EOF
	SECONDS=0
	install_fails
	[ "$SECONDS" -lt 30 ] || fail "the install took ${SECONDS}s: the timeout did not fire"
	assert_contains "$stderr" "cagebox: evil-sleeper@1.0.0 postinstall: killed (timeout)"
	assert_rec evil-sleeper postinstall '.verdict == "killed" and .reason == "timeout" and .wall_ms >= 2500 and .wall_ms < 15000'
}

@test "npm: evil-sleeper: a --policy FILE narrows every script too (timeout = \"2s\")" {
	npm_project evil-sleeper
	printf 'version = 1\n[limits]\ntimeout = "2s"\n' >"$T/ci.toml"
	run --separate-stderr wrap npm --policy "$T/ci.toml" install
	show
	[ "$status" -ne 0 ] && [ "$status" -ne 125 ] || fail "status $status"
	assert_rec evil-sleeper postinstall '.verdict == "killed" and .reason == "timeout" and .wall_ms < 12000
		and any(.policy_layers[]; test("ci.toml"))'
}

@test "npm: evil-daemon: the double-forked daemon dies with its script and never writes its marker" {
	npm_project evil-daemon
	run --separate-stderr wrap npm install
	show
	[ "$status" -eq 0 ] || fail "status $status"
	local pkg="$PROJECT/node_modules/evil-daemon"
	[ -f "$pkg/daemon-started" ] || fail "the daemon never started (the fixture did not run)"
	local left
	left="$(pids_with_mark)"
	[ -z "$left" ] || fail "the daemon outlived the install: $(for p in $left; do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done)"
	assert_rec evil-daemon postinstall '.verdict == "ok"'
	# It would write daemon-alive 3 s after it started.
	sleep 4
	[ ! -e "$pkg/daemon-alive" ] || fail "the daemon was still alive after the install"
	[ -z "$(pids_with_mark)" ] || fail "a daemon process appeared later"
}

# ============================================================ npm: benign dependencies

@test "npm: good-cc: postinstall compiles C with cc into the package; the binary runs on the host" {
	npm_project good-cc
	run --separate-stderr wrap npm install
	show
	[ "$status" -eq 0 ] || fail "status $status"
	run "$PROJECT/node_modules/good-cc/hello"
	assert_eq "$output" "hello from good-cc"
	assert_line "$stderr" '^cagebox: good-cc@1\.0\.0 postinstall: ok \([0-9.]+m?s\)$'
	assert_summary "$stderr" 1 1 0 0 0
}

@test "npm: good-gyp: a node-gyp native addon builds offline in the sandbox (Node's installed headers) and loads on the host" {
	command -v g++ >/dev/null || skip "g++ is not installed (node-gyp links with it)"
	npm_project good-gyp
	run --separate-stderr wrap npm install
	show
	[ "$status" -eq 0 ] || fail "status $status"
	[ -f "$PROJECT/node_modules/good-gyp/build/Release/hello.node" ] || fail "no addon built"
	run node -e 'console.log(require(process.argv[1]).hello())' "$PROJECT/node_modules/good-gyp"
	assert_eq "$output" "hello from a native addon"
	# npm runs `node-gyp rebuild` as the install script of a package with a binding.gyp.
	assert_line "$stderr" '^cagebox: good-gyp@1\.0\.0 install: ok \([0-9.]+m?s\)$'
	assert_summary "$stderr" 1 1 0 0 0
}

@test "npm: good-output, good-tmp, good-children: 3M of output, a private /tmp and 100 children work" {
	npm_project good-output good-tmp good-children
	run --separate-stderr wrap npm install
	show
	[ "$status" -eq 0 ] || fail "status $status"
	local nm="$PROJECT/node_modules"
	[ -f "$nm/good-output/output-ok" ] || fail "good-output did not finish"
	[ -f "$nm/good-tmp/tmp-ok" ] || fail "good-tmp did not finish"
	assert_eq "$(cat "$nm/good-children/children-ok")" "50 sequential, 50 parallel"
	[ ! -e "/tmp/good-tmp-$MARK" ] || fail "the sandbox's /tmp is the host's"
	local n
	for n in good-output good-tmp good-children; do
		assert_rec "$n" postinstall '.verdict == "ok" and .exit_code == 0 and .reason == "exit"'
	done
	assert_summary "$stderr" 3 3 0 0 0
}

# ============================================================ npm: the root project's scripts

@test "npm: root project: install runs its prepare, npm test and npm run build write into the project (root_project: true)" {
	cp -r "$WRAP_FIX/npm/root-project/." "$PROJECT/"
	run --separate-stderr wrap npm install
	show
	[ "$status" -eq 0 ] || fail "npm install: status $status"
	assert_eq "$(cat "$PROJECT/prepared.txt")" prepared
	assert_rec root-project prepare '.root_project == true and .verdict == "ok" and .version == "1.2.3" and .dir == "'"$PROJECT"'"'
	run --separate-stderr wrap npm test
	show
	[ "$status" -eq 0 ] || fail "npm test: status $status"
	assert_contains "$output" "root-project: tests passed"
	assert_eq "$(cat "$PROJECT/test-results.txt")" pass
	assert_rec root-project test '.root_project == true and .verdict == "ok" and .script == "node test/test.js"'
	assert_contains "$stderr" "cagebox: root-project@1.2.3 test: ok"
	run --separate-stderr wrap npm run build
	show
	[ "$status" -eq 0 ] || fail "npm run build: status $status"
	assert_eq "$(cat "$PROJECT/dist/BUILD")" built
	cmp "$PROJECT/src/index.js" "$PROJECT/dist/index.js" || fail "dist/index.js differs"
	assert_rec root-project build '.root_project == true and .verdict == "ok" and .approval == null'
}

@test "npm: root project: a failing script exits like plain npm; a root script writing outside the project is denied" {
	cp -r "$WRAP_FIX/npm/root-project/." "$PROJECT/"
	local plain=0
	npm run fail >/dev/null 2>&1 || plain=$?
	[ "$plain" -ne 0 ] || fail "plain npm run fail succeeded"
	run --separate-stderr wrap npm run fail
	show
	assert_eq "$status" "$plain" "exit code of cagebox npm run fail (plain npm: $plain)"
	assert_contains "$stderr" "cagebox: root-project@1.2.3 fail: failed (exit 3)"
	assert_rec root-project fail '.verdict == "failed" and .exit_code == 3 and .reason == "exit"'
	assert_eq "$(jq .exit_code "$REPORT")" "$plain"
	run --separate-stderr wrap npm run escape
	show
	[ "$status" -ne 0 ] && [ "$status" -ne 125 ] || fail "status $status"
	[ ! -e "$OUTSIDE/root-escape-marker" ] || fail "the root project's script wrote outside the project"
	assert_contains "$stderr" "cagebox: root-project@1.2.3 escape: denied"
	assert_rec root-project escape "any(.denials[]; .path == \"$OUTSIDE/root-escape-marker\")"
}

# ============================================================ npm: which name a script gets

# impostor_tgz: $T/impostor.tgz, evil-impostor whose package.json claims the
# name trusted-tool; trusted_toml: cagebox.toml widening trusted-tool to
# write into $OUTSIDE (what the impostor's script tries).
impostor_tgz() {
	local d="$T/impostor-src"
	mkdir -p "$d"
	cp -r "$WRAP_FIX/npm/evil-impostor" "$d/package"
	jq '.name = "trusted-tool"' "$WRAP_FIX/npm/evil-impostor/package.json" >"$d/package/package.json"
	tar --owner=0 --group=0 -czf "$T/impostor.tgz" -C "$d" package
}
# widen_outside_toml NAME WHY: cagebox.toml letting package NAME write into $OUTSIDE.
widen_outside_toml() {
	cagebox_toml <<-EOF
		version = 1
		[packages."$1"]
		filesystem.read_write = ["$OUTSIDE"]
		[packages."$1".widen]
		"filesystem.read_write" = "$2"
	EOF
}
trusted_toml() { widen_outside_toml trusted-tool "the test's control: the real trusted-tool may write there"; }
# one_dep_project NAME TGZ: the project depends on TGZ (file:) under NAME only.
one_dep_project() {
	jq -n --arg n "$1" --arg t "file:$2" '{name: "p", version: "1.0.0", private: true, dependencies: {($n): $t}}' \
		>"$PROJECT/package.json"
}
# carrier_tgz: $T/carrier.tgz, a package that itself declares trusted-tool
# as a file: dependency on the impostor (needs impostor_tgz first).
carrier_tgz() {
	local c="$T/carrier-src"
	mkdir -p "$c/package"
	jq -n --arg t "file:$T/impostor.tgz" '{name: "carrier", version: "1.0.0", dependencies: {"trusted-tool": $t}}' \
		>"$c/package/package.json"
	tar --owner=0 --group=0 -czf "$T/carrier.tgz" -C "$c" package
}
# pnpm_fresh_install: from scratch (no node_modules, lockfile or report).
pnpm_fresh_install() {
	rm -rf "$PROJECT/node_modules" "$PROJECT/pnpm-lock.yaml" "$REPORT"
	run --separate-stderr wrap pnpm install --no-frozen-lockfile
	show
}

@test "npm: a package whose package.json claims a widened package's name gets its install name, not that table (identity: direct dependency)" {
	impostor_tgz
	trusted_toml
	one_dep_project evil-impostor "$T/impostor.tgz"
	# npm copies the claimed name into the lockfile entry: it must not count.
	npm install --ignore-scripts --package-lock-only >/dev/null 2>&1 || fail "npm install --package-lock-only failed"
	assert_eq "$(jq -r '.packages["node_modules/evil-impostor"].name' "$PROJECT/package-lock.json")" trusted-tool \
		"the lockfile entry's name (npm copies the manifest's claim)"
	run --separate-stderr wrap npm ci
	show
	[ "$status" -ne 0 ] && [ "$status" -ne 125 ] || fail "status $status"
	[ ! -e "$OUTSIDE/impostor-marker" ] || fail "the impostor got trusted-tool's widening"
	assert_contains "$stderr" "cagebox: evil-impostor@1.0.0 postinstall: denied"
	assert_rec evil-impostor postinstall '.claimed_name == "trusted-tool" and .identity == "direct dependency" and .verdict == "denied"'
	assert_rec evil-impostor postinstall "any(.denials[]; .path == \"$OUTSIDE/impostor-marker\")"
	assert_no_rec trusted-tool
	# The control: the same package installed as trusted-tool gets the table.
	rm -rf "$PROJECT/node_modules" "$PROJECT/package-lock.json" "$REPORT"
	one_dep_project trusted-tool "$T/impostor.tgz"
	run --separate-stderr wrap npm install
	show
	[ "$status" -eq 0 ] || fail "control: status $status"
	[ -d "$OUTSIDE/impostor-marker" ] || fail "control: the widening did not apply to trusted-tool itself"
	assert_rec trusted-tool postinstall '.identity == "direct dependency" and .verdict == "ok" and (.policy_layers | any(test("trusted-tool")))'
	rmdir "$OUTSIDE/impostor-marker"
}

@test "npm: a dependency's own file: dependency named like a widened package is unverified: the table narrows but never widens" {
	impostor_tgz
	trusted_toml
	# carrier (declared by the project) declares trusted-tool itself; npm
	# hoists it to node_modules/trusted-tool, a path the project never chose.
	carrier_tgz
	one_dep_project carrier "$T/carrier.tgz"
	install_fails
	[ ! -e "$OUTSIDE/impostor-marker" ] || fail "an unverified trusted-tool got the table's widening"
	assert_contains "$stderr" "[widen] entries are not applied"
	assert_rec trusted-tool postinstall '.identity == "unverified" and .verdict == "denied"'
	assert_rec trusted-tool postinstall "any(.denials[]; .path == \"$OUTSIDE/impostor-marker\")"
}

@test "npm: a workspace package's scripts are the project's own: named by its package.json (identity workspace), its table widens" {
	mkdir -p "$PROJECT/packages/ws-a"
	jq -n '{name: "p", version: "1.0.0", private: true, workspaces: ["packages/*"]}' >"$PROJECT/package.json"
	jq -n --arg m "$OUTSIDE/ws-marker" '{name: "ws-a", version: "1.0.0", scripts: {build: ("mkdir " + $m)}}' \
		>"$PROJECT/packages/ws-a/package.json"
	widen_outside_toml ws-a "the test: the workspace package may write there"
	run --separate-stderr wrap npm run build --workspaces
	show
	[ "$status" -eq 0 ] || fail "status $status"
	[ -d "$OUTSIDE/ws-marker" ] || fail "the workspace package did not get its table"
	assert_rec ws-a build '.identity == "workspace" and .root_project == false and .verdict == "ok"'
	rmdir "$OUTSIDE/ws-marker"
}

# ============================================================ npm: allowScripts

# approval_project DEP...: the approve-* fixtures, approve-yes approved and
# approve-no denied in package.json's allowScripts (keys are the resolved
# file: specs, the identity npm matches for tarball dependencies).
approval_project() {
	npm_project "$@"
	jq --arg y "$(tb approve-yes)" --arg n "$(tb approve-no)" \
		'.allowScripts = {($y): true, ($n): false}' "$PROJECT/package.json" >"$PROJECT/p.json"
	mv "$PROJECT/p.json" "$PROJECT/package.json"
}

@test "npm: allowScripts: approved and unreviewed scripts run sandboxed (approval recorded), a denied (false) one never runs" {
	approval_project approve-yes approve-no approve-unset
	run --separate-stderr wrap npm install
	show
	[ "$status" -eq 0 ] || fail "status $status"
	local nm="$PROJECT/node_modules"
	[ -f "$nm/approve-yes/ran.txt" ] || fail "the approved script did not run"
	[ -f "$nm/approve-unset/ran.txt" ] || fail "the unreviewed script did not run (npm 11 runs it with a notice)"
	[ ! -e "$nm/approve-no/ran.txt" ] || fail "the denied script ran"
	assert_rec approve-yes postinstall '.approval == "approved" and .verdict == "ok"'
	assert_rec approve-unset postinstall '.approval == "unreviewed" and .verdict == "ok"'
	assert_no_rec approve-no
	assert_summary "$stderr" 2 2 0 0 0
}

@test "npm: --strict-allow-scripts: an unreviewed dependency fails the install before any script runs (npm's own exit code)" {
	approval_project approve-yes approve-no approve-unset
	cp -r "$PROJECT" "$T/plain"
	local plain=0
	(cd "$T/plain" && npm install --strict-allow-scripts >/dev/null 2>&1) || plain=$?
	[ "$plain" -ne 0 ] || fail "plain npm accepted an unreviewed script under --strict-allow-scripts"
	run --separate-stderr wrap npm install --strict-allow-scripts
	show
	assert_eq "$status" "$plain" "exit code (plain npm: $plain)"
	assert_contains "$stderr" "ESTRICTALLOWSCRIPTS"
	[ -z "$(find "$PROJECT" -name ran.txt)" ] || fail "a script ran: $(find "$PROJECT" -name ran.txt)"
	assert_jq "$(cat "$REPORT")" ".exit_code == $plain and (.scripts | length) == 0 and .summary.scripts == 0"
}

@test "npm: --strict-allow-scripts with every script reviewed: the approved one runs sandboxed, the denied one is skipped" {
	approval_project approve-yes approve-no
	run --separate-stderr wrap npm install --strict-allow-scripts
	show
	[ "$status" -eq 0 ] || fail "status $status"
	[ -f "$PROJECT/node_modules/approve-yes/ran.txt" ] || fail "the approved script did not run"
	[ ! -e "$PROJECT/node_modules/approve-no/ran.txt" ] || fail "the denied script ran"
	assert_rec approve-yes postinstall '.approval == "approved" and .verdict == "ok"'
	assert_no_rec approve-no
	assert_jq "$(cat "$REPORT")" '.args == ["install", "--strict-allow-scripts"]'
}

@test "npm: --dangerously-allow-all-scripts: the denied package's script runs, sandboxed, recorded as approval denied" {
	approval_project approve-yes approve-no
	printf 'version = 1\n[packages."approve-no".limits]\npids = 20\n' | cagebox_toml
	run --separate-stderr wrap npm install --dangerously-allow-all-scripts
	show
	[ "$status" -eq 0 ] || fail "status $status"
	[ -f "$PROJECT/node_modules/approve-no/ran.txt" ] || fail "npm did not run the denied script"
	assert_rec approve-no postinstall '.approval == "denied" and .verdict == "ok"'
	assert_rec approve-yes postinstall '.approval == "approved"'
}

# ============================================================ npm: report, audit log, errors

@test "npm: the report: every record field, the summary and the per-script stderr line" {
	npm_project good-touch good-cc
	cagebox_toml <<-'EOF'
		version = 1
		[limits]
		pids = 200
	EOF
	run --separate-stderr wrap npm install --no-save
	show
	[ "$status" -eq 0 ] || fail "status $status"
	local r integrity
	r="$(cat "$REPORT")"
	assert_jq "$r" '.manager == "npm" and .args == ["install", "--no-save"] and .exit_code == 0'
	assert_jq "$r" '.summary.scripts == 2 and .summary.ok == 2 and .summary.denied == 0 and .summary.killed == 0 and .summary.failed == 0'
	assert_jq "$r" '(.summary.slowest | type) == "object" and (.summary.slowest.package | IN("good-touch", "good-cc"))'
	assert_jq "$r" '(.scripts | length) == 2 and ([.scripts[].session] | unique | length) == 1'
	integrity="$(jq -r '.packages["node_modules/good-touch"].integrity' "$PROJECT/package-lock.json" 2>/dev/null || true)"
	[ -n "$integrity" ] && [ "$integrity" != null ] || integrity="$(jq -r '.packages["node_modules/good-touch"].integrity' "$PROJECT/node_modules/.package-lock.json")"
	# One clause at a time, so a failure names the field.
	local f
	local -a clauses=(
		'.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$")'
		'.session | type == "string" and length > 0'
		'.manager == "npm" and .package == "good-touch" and .version == "1.0.0"'
		'.phase == "postinstall" and .script == "echo ran >ran.txt"'
		".dir == \"$PROJECT/node_modules/good-touch\" and .root_project == false"
		'.approval | IN("unreviewed", null)'
		'.verdict == "ok" and .exit_code == 0 and .reason == "exit"'
		'.wall_ms | type == "number" and . >= 0 and . < 60000'
		'.policy_layers | type == "array" and length >= 2 and (.[0] | test("npm-scripts")) and any(.[]; test("cagebox.toml"))'
		'.policy_digest | type == "string" and length >= 8'
		'(.widened | type == "object") and .denials == []'
		'.peak_memory_bytes == null or (.peak_memory_bytes | type == "number")'
		'.oom_kills == 0 and (.cpu_user_ms | type == "number") and (.cpu_system_ms | type == "number")'
		'(.peak_pids == null or (.peak_pids | type == "number")) and .pids_limit_hits == 0'
		".integrity == \"$integrity\""
	)
	for f in "${clauses[@]}"; do
		assert_rec good-touch postinstall "$f"
	done
	assert_line "$stderr" '^cagebox: good-touch@1\.0\.0 postinstall: ok \([0-9.]+m?s\)$'
	assert_line "$stderr" '^cagebox: 2 scripts: 2 ok, 0 denied, 0 killed, 0 failed; slowest (good-touch|good-cc)@1\.0\.0 postinstall [0-9.]+m?s$'
	# The audit log has the same records, one JSON object per line.
	assert_eq "$(wc -l <"$AUDIT")" 2 "lines in the audit log"
	assert_eq "$(jq -c 'del(.time)' "$AUDIT" | sort)" "$(jq -c '.scripts[] | del(.time)' "$REPORT" | sort)" "audit log vs report"
}

@test "npm: cagebox npm returns only once its scripts' containers are deleted (sandbox/deferred.rs); what a deleting child that died left, it removes" {
	npm_project good-touch
	# A run being deleted by a live child (marked in <root>/.cleanup),
	# as a script's shell leaves it: the wrapper waits for that child.
	local dead holder id t0 elapsed
	gone_pid dead
	id="cagebox-exec-$dead-5eed"
	mkdir "/dev/shm/$id.rootfs"
	sleep 4 &
	holder=$!
	mkdir -p "$STATE/.cleanup"
	echo "$holder" >"$STATE/.cleanup/$id"
	t0=$(date +%s%N)
	run --separate-stderr wrap npm install --no-save
	elapsed=$((($(date +%s%N) - t0) / 1000000))
	show
	wait "$holder" 2>/dev/null || true
	[ "$status" -eq 0 ] || fail "status $status"
	assert_rec good-touch postinstall '.verdict == "ok"'
	[ "$elapsed" -ge 3800 ] || fail "returned after ${elapsed} ms, before the deleting child (4 s) was done"
	# The child ended without deleting (it was a stand-in): the wrapper did.
	[ ! -e "/dev/shm/$id.rootfs" ] || fail "left: /dev/shm/$id.rootfs"
	[ ! -e "$STATE/.cleanup/$id" ] || fail "mark left: $STATE/.cleanup/$id"
}

@test "npm: 40 scripts in a row, three times over: every container is made and deleted, although each is deleted while the next one starts" {
	# A script's container is deleted by a child of its shell while npm
	# starts the next script (sandbox/deferred.rs); a delete removing the
	# state root's shared .bundles dir between the next run's two mkdirs
	# failed 3 of 500 scripts (10 `cagebox npm rebuild` of 50) by hand
	# before runtime/mod.rs made it again. A stress check, not a sure
	# reproduction: with that bug this test passed 2 of 2 tries.
	local i n deps="{}"
	for i in $(seq -w 1 40); do
		n="many-$i"
		mkdir -p "$T/many/$n/package"
		jq -n --arg n "$n" '{name: $n, version: "1.0.0", scripts: {postinstall: "echo ran >ran.txt"}}' \
			>"$T/many/$n/package/package.json"
		tar --owner=0 --group=0 -czf "$T/many/$n.tgz" -C "$T/many/$n" package
		deps="$(jq -c --arg n "$n" --arg v "file:$T/many/$n.tgz" '. + {($n): $v}' <<<"$deps")"
	done
	jq -n --argjson d "$deps" '{name: "many", version: "1.0.0", private: true, dependencies: $d}' >"$PROJECT/package.json"
	(cd "$PROJECT" && npm install --ignore-scripts >/dev/null 2>&1) || fail "npm install --ignore-scripts failed"
	for i in 1 2 3; do
		rm -f "$REPORT"
		run --separate-stderr wrap npm rebuild
		[ "$status" -eq 0 ] || { show; fail "run $i: status $status"; }
		assert_jq "$(cat "$REPORT")" '.summary.scripts == 40 and .summary.ok == 40'
		[ "$(ls "$PROJECT"/node_modules/many-*/ran.txt | wc -l)" -eq 40 ] || fail "run $i: not every script ran"
		assert_eq "$(state_root_leftovers "$STATE")" "" "run $i: left in the state root"
	done
}

@test "npm: a large lockfile (indexed once per session) names each script's package as the lockfile does" {
	npm_project good-touch
	(cd "$PROJECT" && npm install --ignore-scripts >/dev/null 2>&1) || fail "npm install --ignore-scripts failed"
	# The project's lockfile (trusted) says good-touch came from the
	# registry; 3,000 more entries take it past the size at which the
	# wrapper indexes it (src/wrap/lockindex.rs MIN_SIZE, 256 KiB).
	local lock="$PROJECT/package-lock.json"
	jq '.packages["node_modules/good-touch"] += {resolved: "https://registry.npmjs.org/good-touch/-/good-touch-1.0.0.tgz", integrity: "sha512-INDEXED"}
		| .packages += ([range(3000)] | map({key: "node_modules/pad-\(.)", value: {version: "1.2.3",
			resolved: "https://registry.npmjs.org/pad-\(.)/-/pad-\(.)-1.2.3.tgz", integrity: ("sha512-" + ("x" * 86) + "==")}}) | from_entries)' \
		"$lock" >"$lock.new" && mv "$lock.new" "$lock"
	[ "$(stat -c %s "$lock")" -gt 262144 ] || fail "lockfile too small to be indexed: $(stat -c %s "$lock") bytes"
	run --separate-stderr wrap npm rebuild
	show
	[ "$status" -eq 0 ] || fail "status $status"
	assert_rec good-touch postinstall '.identity == "registry" and .version == "1.0.0" and .integrity == "sha512-INDEXED" and .verdict == "ok"'
	[ -f "$PROJECT/node_modules/good-touch/ran.txt" ] || fail "the script did not run"
}

@test "npm: the audit log: default ~/.local/state/cagebox/audit.jsonl, XDG_STATE_HOME, append-only across runs" {
	npm_project good-touch
	run --separate-stderr wrap_raw npm install
	show
	[ "$status" -eq 0 ] || fail "status $status"
	local def="$HOME/.local/state/cagebox/audit.jsonl"
	[ -f "$def" ] || fail "no audit log at $def"
	assert_eq "$(wc -l <"$def")" 1
	assert_jq "$(cat "$def")" '.package == "good-touch" and .verdict == "ok" and .manager == "npm"'
	mkdir -p "$T/xdg"
	XDG_STATE_HOME="$T/xdg" run --separate-stderr wrap_raw npm rebuild
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$(wc -l <"$T/xdg/cagebox/audit.jsonl")" 1 "lines under XDG_STATE_HOME"
	assert_eq "$(wc -l <"$def")" 1 "the default log must not grow when XDG_STATE_HOME is set"
	# Append-only: the first line stays byte for byte; each run has its session.
	local first
	first="$(head -n 1 "$def")"
	run --separate-stderr wrap_raw npm rebuild
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	assert_eq "$(wc -l <"$def")" 2
	assert_eq "$(head -n 1 "$def")" "$first" "the first record was rewritten"
	assert_eq "$(jq -r .session "$def" | sort -u | wc -l)" 2 "sessions of two runs"
}

@test "npm: cagebox's own failures exit 125 and npm never runs (unknown --preset, missing --policy, broken cagebox.toml)" {
	npm_project good-touch
	run --separate-stderr wrap npm --preset no-such-preset install
	show
	assert_eq "$status" 125
	assert_contains "$stderr" "no-such-preset"
	[ ! -e "$PROJECT/node_modules" ] || fail "npm ran"
	run --separate-stderr wrap npm --policy "$T/missing.toml" install
	show
	assert_eq "$status" 125
	assert_contains "$stderr" "$T/missing.toml"
	[ ! -e "$PROJECT/node_modules" ] || fail "npm ran"
	printf 'version = 1\n[limits]\nmemroy = "1G"\n' | cagebox_toml
	run --separate-stderr wrap npm install
	show
	assert_eq "$status" 125
	assert_contains "$stderr" "cagebox.toml"
	assert_contains "$stderr" "memroy"
	[ ! -e "$PROJECT/node_modules" ] || fail "npm ran"
}

# ============================================================ pnpm

# pnpm_project DEP...: like npm_project, with a per-run pnpm store.
pnpm_project() {
	command -v pnpm >/dev/null || skip "pnpm is not installed (.ci/run: npm install -g pnpm@9.15.9)"
	npm_project "$@"
	echo "store-dir=$WRAP_BASE/pnpm-store" >"$PROJECT/.npmrc"
}

@test "npm, pnpm, cargo: a caller other than root is refused with exit 125 naming root; the manager never runs, cargo fetches nothing" {
	local d="$T/nonroot"
	mkdir -p "$d/project"
	echo '{"name": "p", "version": "1.0.0", "scripts": {"postinstall": "echo ran >ran.txt"}}' >"$d/project/package.json"
	local m
	for m in npm pnpm; do
		run --separate-stderr as_nobody "$d" "$m" --root "$d/state" install
		assert_eq "$status" 125 "$m: $stderr"
		assert_contains "$stderr" "$m: needs root"
		[ ! -e "$d/project/node_modules" ] && [ ! -e "$d/project/ran.txt" ] || fail "$m ran"
	done
	cp -r "$WRAP_FIX/cargo/benign/." "$d/project/"
	chmod -R a+rwX "$d/project"
	run --separate-stderr as_nobody "$d" cargo --root "$d/state" build
	assert_eq "$status" 125 "cargo: $stderr"
	assert_contains "$stderr" "cargo: needs root"
	[ ! -e "$d/project/target" ] && [ ! -e "$d/project/Cargo.lock" ] || fail "cargo ran"
	[ ! -e "$d/state" ] || fail "the state root was made: $(ls -la "$d/state")"
	[ -z "$(ls -A "$d/home")" ] || fail "something was written into HOME: $(ls -A "$d/home")"
}

@test "pnpm: a hostile and a benign dependency: the hostile writes are denied and harmless; records say manager pnpm" {
	pnpm_project evil-write good-cc
	run --separate-stderr wrap pnpm install --no-frozen-lockfile
	show
	[ "$status" -ne 0 ] && [ "$status" -ne 125 ] || fail "status $status"
	assert_host_untouched
	assert_contains "$stderr" "cagebox: evil-write@1.0.0 postinstall: denied"
	assert_jq "$(cat "$REPORT")" '.manager == "pnpm" and .exit_code != 0'
	assert_rec evil-write postinstall '.manager == "pnpm" and .verdict == "denied"
		and (.dir | test("/node_modules/\\.pnpm/.*/node_modules/evil-write$"))
		and any(.denials[]; .access == "write")'
}

@test "pnpm: evil-storepoison: a dependency rewriting its own files in place changes its own copy only, never pnpm's store or another project" {
	pnpm_project evil-storepoison
	# Another project, installed first from the same store (plain pnpm).
	local other="$T/other-pnpm" clean='module.exports = "clean";'
	mkdir -p "$other"
	cp "$PROJECT/package.json" "$PROJECT/.npmrc" "$other/"
	(cd "$other" && pnpm install --ignore-scripts --no-frozen-lockfile >/dev/null 2>&1) || fail "plain pnpm install in $other failed"
	assert_eq "$(cat "$other/node_modules/evil-storepoison/index.js")" "$clean" "the other project before"
	run --separate-stderr wrap pnpm install --no-frozen-lockfile
	show
	[ "$status" -eq 0 ] || fail "status $status: writing its own files is allowed"
	assert_rec evil-storepoison postinstall '.manager == "pnpm" and .verdict == "ok"'
	# The script ran on files of its own (pnpm copies packages that have
	# build scripts instead of hard-linking them from the store).
	assert_eq "$(cat "$PROJECT/node_modules/evil-storepoison/links.txt")" "links index.js 1 README.md 1" "link counts the script saw"
	grep -q POISONED "$PROJECT/node_modules/evil-storepoison/index.js" || fail "the script did not rewrite its own index.js"
	assert_eq "$(cat "$other/node_modules/evil-storepoison/index.js")" "$clean" "the other project after"
	grep -rqlxF "$clean" "$WRAP_BASE/pnpm-store" || fail "the store's clean index.js is gone"
	local f
	for f in $(find "$WRAP_BASE/pnpm-store" -type f -links +1); do
		grep -q POISONED "$f" && fail "a hard-linked store file was rewritten: $f"
	done
	return 0
}

@test "pnpm: rebuild, pack and publish (which run scripts without pnpm's script-shell) are refused with 125 before anything runs; install --force re-runs scripts sandboxed" {
	pnpm_project evil-write
	# The project's own prepack would run on the host if pack got through.
	jq --arg m "$OUTSIDE/prepack-marker" '.scripts = {prepack: ("mkdir " + $m)}' "$PROJECT/package.json" >"$T/p.json"
	mv "$T/p.json" "$PROJECT/package.json"
	pnpm install --ignore-scripts --no-frozen-lockfile >/dev/null 2>&1 || fail "plain pnpm install --ignore-scripts failed"
	local cmd
	for cmd in rebuild "rebuild evil-write" "-r rb" "--filter wrap-it-project pack" "publish --dry-run --no-git-checks"; do
		# shellcheck disable=SC2086 # the words are the command line
		run --separate-stderr wrap pnpm $cmd
		show
		assert_eq "$status" 125 "status of cagebox pnpm $cmd"
		assert_contains "$stderr" "without its script-shell setting"
		assert_contains "$stderr" "nothing was run"
		assert_host_untouched
	done
	[ -z "$(find "$PROJECT" -maxdepth 1 -name '*.tgz')" ] || fail "pnpm pack ran"
	# What the message offers instead: install re-runs the scripts, each in its container.
	run --separate-stderr wrap pnpm install --force --config.side-effects-cache=false --no-frozen-lockfile
	show
	[ "$status" -ne 0 ] && [ "$status" -ne 125 ] || fail "status $status"
	assert_host_untouched
	assert_rec evil-write postinstall '.manager == "pnpm" and .verdict == "denied"'
}

@test "pnpm: exec, a program run as pnpm NAME and dlx -c (run directly, not through script-shell) and a --script-shell option (npm and pnpm) are refused with 125; pnpm NAME for a script runs it sandboxed" {
	pnpm_project
	jq --arg m "$OUTSIDE/script-marker" '.scripts = {mark: ("mkdir " + $m)}' "$PROJECT/package.json" >"$T/p.json"
	mv "$T/p.json" "$PROJECT/package.json"
	local line
	# Each would make its marker on the host if it got through.
	for line in "pnpm exec mkdir $OUTSIDE/exec-marker" \
		"pnpm -r exec mkdir $OUTSIDE/exec-r-marker" \
		"pnpm mkdir $OUTSIDE/implicit-marker" \
		"pnpm --ignore-scripts mkdir $OUTSIDE/implicit-marker" \
		"pnpm --package=cowsay dlx -c mkdir_$MARK" \
		"pnpm --script-shell=/bin/sh run mark" \
		"pnpm --config.script-shell /bin/sh run mark" \
		"npm --script-shell=/bin/sh run mark" \
		"npm run mark --script_shell=/bin/sh"; do
		# shellcheck disable=SC2086 # the words are the command line
		run --separate-stderr wrap $line
		show
		assert_eq "$status" 125 "status of cagebox $line"
		assert_contains "$stderr" "so cagebox cannot sandbox it; nothing was run"
		assert_host_untouched
		[ -z "$(ls -A "$OUTSIDE")" ] || fail "cagebox $line made $(ls -A "$OUTSIDE")"
	done
	[ ! -e "$REPORT" ] || fail "a refused command line wrote a report"
	# pnpm NAME with a script NAME runs that script, in its container: the
	# root project's policy denies the write outside the project.
	run --separate-stderr wrap pnpm mark
	show
	[ "$status" -ne 0 ] && [ "$status" -ne 125 ] || fail "status $status"
	[ ! -e "$OUTSIDE/script-marker" ] || fail "pnpm mark wrote outside the project"
	assert_rec wrap-it-project mark '.manager == "pnpm" and .root_project == true and .verdict == "denied"'
}

@test "pnpm: impostors: a direct dependency claiming a widened name, and a dependency's own file: dependency under that name, never get its widening" {
	command -v pnpm >/dev/null || skip "pnpm is not installed (.ci/run: npm install -g pnpm@9.15.9)"
	impostor_tgz
	trusted_toml
	echo "store-dir=$WRAP_BASE/pnpm-store" >"$PROJECT/.npmrc"
	# 1. Installed as evil-impostor, its package.json says trusted-tool.
	one_dep_project evil-impostor "$T/impostor.tgz"
	pnpm_fresh_install
	[ "$status" -ne 0 ] && [ "$status" -ne 125 ] || fail "status $status"
	[ ! -e "$OUTSIDE/impostor-marker" ] || fail "the direct impostor got trusted-tool's widening"
	# pnpm names its store directory after the manifest's claim, with no
	# registry version: unverified, so the table narrows and never widens.
	assert_rec trusted-tool postinstall '.identity == "unverified" and .verdict == "denied" and .widened == {}'
	assert_rec trusted-tool postinstall "any(.denials[]; .path == \"$OUTSIDE/impostor-marker\")"
	# 2. carrier (declared by the project) declares trusted-tool as a file:
	# dependency: pnpm's store path for it carries no registry version.
	carrier_tgz
	one_dep_project carrier "$T/carrier.tgz"
	pnpm_fresh_install
	[ "$status" -ne 0 ] && [ "$status" -ne 125 ] || fail "status $status"
	[ ! -e "$OUTSIDE/impostor-marker" ] || fail "a transitive trusted-tool got the table's widening"
	assert_rec trusted-tool postinstall '.identity == "unverified" and .verdict == "denied"'
	# 3. The control: the project itself declares trusted-tool: widened.
	one_dep_project trusted-tool "$T/impostor.tgz"
	pnpm_fresh_install
	[ "$status" -eq 0 ] || fail "control: status $status"
	[ -d "$OUTSIDE/impostor-marker" ] || fail "control: the widening did not apply to trusted-tool itself"
	assert_rec trusted-tool postinstall '.identity == "direct dependency" and .verdict == "ok"'
	rmdir "$OUTSIDE/impostor-marker"
}

@test "pnpm: benign dependencies (cc build, /tmp) install and work" {
	pnpm_project good-cc good-tmp
	run --separate-stderr wrap pnpm install --no-frozen-lockfile
	show
	[ "$status" -eq 0 ] || fail "status $status"
	run "$PROJECT/node_modules/good-cc/hello"
	assert_eq "$output" "hello from good-cc"
	[ -f "$PROJECT/node_modules/good-tmp/tmp-ok" ] || fail "good-tmp did not finish"
	assert_rec good-cc postinstall '.manager == "pnpm" and .verdict == "ok" and .version == "1.0.0"'
	assert_rec good-tmp postinstall '.verdict == "ok"'
	assert_summary "$stderr" 2 2 0 0 0
}

# ============================================================ cargo

@test "cargo build: a path dependency's hostile build.rs reads no canary, writes nothing outside, sends nothing; the build fails and is reported" {
	cargo_project hostile
	start_listener
	run --separate-stderr wrap cargo build
	show
	assert_eq "$status" 101 "cargo's exit code for a failed build script"
	assert_listener_silent
	[ ! -e "$OUTSIDE/evil-build-marker" ] || fail "build.rs wrote outside the project"
	assert_contains "$stderr" "evil-build: collected 0 secrets"
	assert_contains "$stderr" "evil-build: blocked: write, connect"
	assert_not_contains "$stderr" "canary-"
	assert_jq "$(cat "$REPORT")" '.manager == "cargo" and .exit_code == 101 and (.scripts | length) == 1'
	assert_jq "$(jq -c '.scripts[0]' "$REPORT")" '(.verdict | IN("denied", "failed")) and .exit_code == 101
		and (.policy_layers[0] | test("cargo-build"))'
	assert_line "$stderr" '^cagebox: .*: (denied|failed)'
	grep -qF canary- "$REPORT" && fail "a canary is in the report"
	true
}

@test "cargo build: benign build.rs (OUT_DIR) and a local proc-macro crate; the binary runs" {
	cargo_project benign
	run --separate-stderr wrap cargo build
	show
	[ "$status" -eq 0 ] || fail "status $status"
	run "$PROJECT/target/debug/app-benign"
	assert_eq "$output" "hello from Sandbox"$'\n'"squares [1, 4, 9, 16, 25]"
	assert_jq "$(cat "$REPORT")" '.manager == "cargo" and .exit_code == 0 and .args[0] == "build"
		and (.scripts | length) == 1 and .scripts[0].verdict == "ok"'
}

@test "cargo test: the project's tests run in the sandbox and pass" {
	cargo_project benign
	run --separate-stderr wrap cargo test
	show
	[ "$status" -eq 0 ] || fail "status $status"
	assert_contains "$output" "test result: ok. 2 passed"
	assert_jq "$(cat "$REPORT")" '.manager == "cargo" and .exit_code == 0 and .scripts[0].verdict == "ok"'
}

@test "cargo run: arguments reach the program; the exit code is cargo's (the program's exit 7)" {
	cargo_project benign
	run --separate-stderr wrap cargo run -- hello-arg
	show
	[ "$status" -eq 0 ] || fail "status $status"
	assert_contains "$output" 'args ["hello-arg"]'
	run --separate-stderr wrap cargo run -- exit7
	show
	assert_eq "$status" 7
	assert_jq "$(cat "$REPORT")" '.exit_code == 7 and .scripts[0].exit_code == 7 and .scripts[0].verdict == "failed"'
}

# ============================================================ real projects from the registries

@test "npm ci: esbuild from the registry: cagebox npm ci gives the same node_modules as plain npm ci" {
	needs_registry https://registry.npmjs.org/esbuild "the npm registry"
	WRAP_TIMEOUT=$WRAP_REAL_TIMEOUT
	mkdir -p "$T/plain"
	echo '{"name":"real-esbuild","version":"1.0.0","private":true,"dependencies":{"esbuild":"0.25.12"}}' >"$T/plain/package.json"
	(cd "$T/plain" && npm install --package-lock-only --ignore-scripts >/dev/null 2>&1) ||
		skip "npm could not resolve esbuild@0.25.12 from the registry"
	cp "$T/plain/package.json" "$T/plain/package-lock.json" "$PROJECT/"
	(cd "$T/plain" && npm ci >/dev/null 2>&1) || fail "plain npm ci failed"
	run --separate-stderr wrap npm ci
	show
	[ "$status" -eq 0 ] || fail "status $status"
	assert_rec esbuild postinstall '.verdict == "ok" and .version == "0.25.12" and .identity == "registry" and (.integrity | startswith("sha512-")) and .script == "node install.js"'
	"$PROJECT/node_modules/.bin/esbuild" --version | grep -qx 0.25.12 || fail "esbuild does not run after cagebox npm ci"
	# Same files, same contents. One known difference is normalised: esbuild's
	# install.js replaces bin/esbuild (a JS shim) by a hard link to the
	# platform binary when it can; link(2) cannot cross the mount boundary of
	# the sandboxed package directory, so there the shim may stay. Either is
	# esbuild's supported layout.
	npm_tree() {
		(cd "$1" && find node_modules \( -type f -o -type l \) -print0 | sort -z | xargs -0 sha256sum) |
			sed -E 's#^[0-9a-f]{64}  (node_modules/(\.bin/esbuild|esbuild/bin/esbuild))$#(esbuild bin)  \1#'
		(cd "$1" && find node_modules -type l -printf '%p -> %l\n' | sort)
	}
	diff <(npm_tree "$T/plain") <(npm_tree "$PROJECT") || fail "node_modules differ (see the diff above)"
	local bin="$PROJECT/node_modules/esbuild/bin/esbuild"
	if ! cmp -s "$T/plain/node_modules/esbuild/bin/esbuild" "$bin"; then
		head -c 64 "$bin" | grep -q '^#!/usr/bin/env node' ||
			fail "esbuild/bin/esbuild is neither the platform binary nor esbuild's JS shim"
		echo "# note: esbuild/bin/esbuild stayed the JS shim under cagebox (its hard link to the platform binary cannot cross the package directory's mount)" >&3
	fi
	# A first install has no lockfile while scripts run: npm's own
	# resolution (npm_package_resolved) names the package then.
	rm -rf "$PROJECT/node_modules" "$PROJECT/package-lock.json" "$REPORT"
	run --separate-stderr wrap npm install
	show
	[ "$status" -eq 0 ] || fail "first install: status $status"
	assert_rec esbuild postinstall '.verdict == "ok" and .version == "0.25.12" and .identity == "registry"'
}

@test "pnpm install: esbuild from the registry: its postinstall runs sandboxed and esbuild works; same packages as plain pnpm" {
	needs_registry https://registry.npmjs.org/esbuild "the npm registry"
	command -v pnpm >/dev/null || skip "pnpm is not installed (.ci/run: npm install -g pnpm@9.15.9)"
	WRAP_TIMEOUT=$WRAP_REAL_TIMEOUT
	mkdir -p "$T/plain"
	local pj='{"name":"real-esbuild","version":"1.0.0","private":true,"dependencies":{"esbuild":"0.25.12"}}'
	echo "$pj" >"$T/plain/package.json"
	echo "$pj" >"$PROJECT/package.json"
	echo "store-dir=$WRAP_BASE/pnpm-store" >"$T/plain/.npmrc"
	echo "store-dir=$WRAP_BASE/pnpm-store" >"$PROJECT/.npmrc"
	(cd "$T/plain" && pnpm install --no-frozen-lockfile >/dev/null 2>&1) ||
		skip "pnpm could not install esbuild@0.25.12 from the registry"
	run --separate-stderr wrap pnpm install --no-frozen-lockfile
	show
	[ "$status" -eq 0 ] || fail "status $status"
	assert_rec esbuild postinstall '.manager == "pnpm" and .verdict == "ok" and .version == "0.25.12" and .identity == "pnpm store path" and .script == "node install.js"'
	"$PROJECT/node_modules/.bin/esbuild" --version | grep -qx 0.25.12 || fail "esbuild does not run after cagebox pnpm install"
	diff <(ls "$T/plain/node_modules/.pnpm") <(ls "$PROJECT/node_modules/.pnpm") || fail "different packages installed"
}

@test "cargo build, test, run: a real project (serde derive, serde_json, the cc crate compiling C) from crates.io: fetch on the host, build offline" {
	needs_registry https://index.crates.io/config.json "crates.io"
	WRAP_TIMEOUT=$WRAP_REAL_TIMEOUT
	cargo_project real
	run --separate-stderr wrap cargo build
	show
	[ "$status" -eq 0 ] || fail "status $status"
	run "$PROJECT/target/debug/app-real"
	assert_eq "$output" '{"sum":42,"from":"c"}'
	[ -f "$PROJECT/Cargo.lock" ] || fail "no Cargo.lock"
	assert_jq "$(cat "$REPORT")" '.manager == "cargo" and .exit_code == 0 and .scripts[0].verdict == "ok"'
	# The same project's tests (the derive and the C function inside the
	# sandbox), then the program itself through cargo run.
	run --separate-stderr wrap cargo test
	show
	[ "$status" -eq 0 ] || fail "cargo test: status $status"
	assert_contains "$output" "test tests::c_adds_and_serde_derives ... ok"
	assert_jq "$(cat "$REPORT")" '.manager == "cargo" and .exit_code == 0 and .scripts[0].verdict == "ok"'
	run --separate-stderr wrap cargo run
	show
	[ "$status" -eq 0 ] || fail "cargo run: status $status"
	assert_eq "$output" '{"sum":42,"from":"c"}'
}

@test "npm: a session directory left by a SIGKILLed cagebox npm is removed by the next run; a live run's is kept" {
	local dead dead_dir live_dir
	sh -c 'exit 0' &
	dead=$!
	wait "$dead" || true
	dead_dir="${TMPDIR:-/tmp}/cagebox-wrap-$dead-0badcafe"
	live_dir="${TMPDIR:-/tmp}/cagebox-wrap-$$-0badcafe"
	mkdir -m 700 "$dead_dir" "$live_dir"
	touch "$dead_dir/session.jsonl"
	run --separate-stderr wrap npm --version
	local kept=no swept=no
	[ -d "$live_dir" ] && kept=yes
	[ -e "$dead_dir" ] || swept=yes
	rm -rf "$live_dir" "$dead_dir"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ "$kept" = yes ] || fail "the session directory of a live process ($$) was removed"
	[ "$swept" = yes ] || fail "the dead run's session directory is still there"
}

# keeper_dir HIERARCHY PID: the keeper cgroup of the cagebox npm PID once
# a process is in it (up to 5 s), or nothing.
keeper_dir() {
	local d
	for _ in $(seq 50); do
		d=$(ls -d "$1"/cagebox-wrap-"$2"-* 2>/dev/null | head -n1)
		if [ -n "$d" ] && [ -n "$(cat "$d/cgroup.procs" 2>/dev/null)" ]; then
			echo "$d"
			return
		fi
		sleep 0.1
	done
}

@test "npm: Ctrl-C (SIGINT to the terminal's foreground process group) during a script's 'sleep 30; echo': every process stops within seconds, recorded killed (signal), nothing left" {
	echo '{"name":"wrap-it-project","version":"0.0.1","private":true,"scripts":{"slow":"echo started; sleep 30; echo \"$((6 * 7))-ran-on\""}}' >"$PROJECT/package.json"
	# Its own process group, as a shell's job control gives a foreground
	# command; a terminal's Ctrl-C signals that whole group.
	setsid "$RUNTIME" npm --root "$STATE" --report "$REPORT" --audit-log "$AUDIT" run slow >"$T/slow.out" 2>&1 </dev/null 3>&- &
	local cbx=$! i rc=0
	echo "$cbx" >>"$BATS_TEST_TMPDIR/bgpids"
	for i in $(seq 100); do
		grep -q started "$T/slow.out" && break
		sleep 0.1
	done
	grep -q started "$T/slow.out" || fail "the script did not start: $(cat "$T/slow.out")"
	SECONDS=0
	kill -INT -- "-$cbx"
	wait "$cbx" || rc=$?
	cat "$T/slow.out"
	[ "$SECONDS" -lt 10 ] || fail "cagebox npm ran on for ${SECONDS}s after Ctrl-C"
	[ "$rc" -ne 0 ] || fail "exit 0 after Ctrl-C"
	assert_not_contains "$(cat "$T/slow.out")" 42-ran-on
	assert_contains "$(cat "$T/slow.out")" "cagebox: wrap-it-project@0.0.1 slow: killed (signal)"
	assert_rec wrap-it-project slow '.verdict == "killed" and .reason == "signal" and .wall_ms < 10000'
}

@test "npm: the session's cgroup keeper: one process of cagebox's in its own cgroup while npm runs, gone after; after a SIGKILL of cagebox npm it dies too and the next run removes its directory" {
	local h cbx keeper dir npm_pid
	h=$(keeper_hierarchy)
	echo '{"name":"wrap-it-project","version":"0.0.1","private":true,"scripts":{"hold":"sleep 2"}}' >"$PROJECT/package.json"
	# 1. A normal run: the keeper exists while npm does, nothing is left after.
	"$RUNTIME" npm --root "$STATE" --audit-log "$AUDIT" run hold >/dev/null 2>"$T/hold.err" &
	cbx=$!
	echo "$cbx" >>"$BATS_TEST_TMPDIR/bgpids"
	dir=$(keeper_dir "$h" "$cbx")
	[ -n "$dir" ] || fail "no keeper cgroup $h/cagebox-wrap-$cbx-* while cagebox npm ran: $(ls -d "$h"/cagebox-* 2>&1) $(cat "$T/hold.err")"
	keeper=$(cat "$dir/cgroup.procs")
	[ "$(wc -w <<<"$keeper")" -eq 1 ] || fail "keeper cgroup holds '$keeper', not one process"
	assert_eq "$(awk '/^PPid:/ {print $2}' "/proc/$keeper/status")" "$cbx" "the keeper's parent"
	assert_eq "$(cat "/proc/$keeper/comm")" cagebox "the keeper's name"
	wait "$cbx" || fail "cagebox npm run hold failed: $(cat "$T/hold.err")"
	[ ! -e "$dir" ] || fail "keeper cgroup $dir left after the run"
	[ ! -e "/proc/$keeper" ] || fail "keeper $keeper still alive after the run"
	# 2. cagebox npm killed outright: the keeper dies with it (PR_SET_PDEATHSIG);
	# its empty directory stays until the next cagebox npm sweeps it.
	"$RUNTIME" npm --root "$STATE" --audit-log "$AUDIT" run hold >/dev/null 2>&1 &
	cbx=$!
	echo "$cbx" >>"$BATS_TEST_TMPDIR/bgpids"
	dir=$(keeper_dir "$h" "$cbx")
	for _ in $(seq 50); do
		npm_pid=$(pgrep -P "$cbx" -x node || pgrep -P "$cbx" -x npm || true)
		[ -n "$npm_pid" ] && break
		sleep 0.1
	done
	[ -n "$dir" ] && [ -n "$npm_pid" ] || fail "second run: keeper cgroup '$dir', npm '$npm_pid'"
	keeper=$(cat "$dir/cgroup.procs")
	kill -KILL "$cbx"
	wait "$cbx" 2>/dev/null || true
	for _ in $(seq 50); do
		[ -e "/proc/$keeper" ] || break
		sleep 0.1
	done
	[ ! -e "/proc/$keeper" ] || fail "keeper $keeper outlived its SIGKILLed cagebox npm"
	# npm (cagebox's child, now orphaned) finishes its 2 s script; wait for it.
	for _ in $(seq 100); do
		[ -e "/proc/$npm_pid" ] || break
		sleep 0.1
	done
	[ ! -e "/proc/$npm_pid" ] || fail "npm $npm_pid still running"
	[ -d "$dir" ] || fail "expected the dead session's empty keeper cgroup $dir to be left for the sweep"
	run --separate-stderr wrap npm --version
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ ! -e "$dir" ] || fail "the next cagebox npm did not remove the dead session's keeper cgroup $dir"
}
