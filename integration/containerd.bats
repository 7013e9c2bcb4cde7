#!/usr/bin/env bats
#
# End-to-end tests: containerd 1.6 (ctr + the runc v2 shim) driving the
# runtime given in $RUNTIME (default: <repo>/target/release/cagebox).
#
#   RUNTIME=/usr/sbin/runc bats integration/containerd.bats     # reference
#   bats integration/containerd.bats                            # cagebox
#
# A private containerd runs for the whole file (helpers/containerd.bash);
# the shim finds the runtime as `runc` in a PATH dir that comes first.
# Every test skips, with the reason, if containerd/ctr is missing or we are
# not root.

bats_require_minimum_version 1.5.0

# Backstop; single ctr calls are bounded by CTRD_TIMEOUT (helpers).
: "${BATS_TEST_TIMEOUT:=120}"

load helpers/containerd

setup_file() { containerd_setup_file; }
teardown_file() { containerd_teardown_file; }
setup() { containerd_setup; }
teardown() { containerd_teardown; }

# A shell that stays up until killed, with one child (two pids in all).
LONG='sleep 1000 & wait'

@test "run --rm: the task's output reaches ctr and the container is removed" {
  id=$(cid)
  run --separate-stderr ctr_run --rm "$CTRD_IMAGE" "$id" \
    sh -c 'echo "hello from pid $$"; echo "to stderr" >&2; sleep 0.2' </dev/null
  assert_status 0
  assert_line "hello from pid 1"
  [ "$stderr" = "to stderr" ] || { echo "stderr: '$stderr'"; false; }
  assert_gone "$id"
}

@test "run --annotation io.cagebox.policy=run-file: the preset narrows the task (cagebox only)" {
  case "$(basename "$RUNTIME")" in cagebox*) ;; *) skip "io.cagebox.policy is a cagebox feature; $(basename "$RUNTIME") ignores it" ;; esac
  id=$(cid)
  run --separate-stderr ctr_run --rm --annotation io.cagebox.policy=run-file "$CTRD_IMAGE" "$id" \
    sh -c 'grep -E "^(NoNewPrivs|CapEff)" /proc/self/status; ulimit -n; touch /x 2>&1 || true; nc -l -p 8080 2>&1 | head -1' </dev/null
  assert_status 0
  assert_line "$(printf 'NoNewPrivs:\t1')"
  assert_line "$(printf 'CapEff:\t0000000000000000')"
  assert_line "256"
  assert_line "touch: /x: Read-only file system"
  assert_line "nc: socket: Operation not permitted"
  assert_gone "$id"
}

@test "run: the exit status of the task is ctr's exit status" {
  id=$(cid)
  run ctr_run --rm "$CTRD_IMAGE" "$id" sh -c 'exit 42' </dev/null
  assert_status 42
  id=$(cid zero)
  run ctr_run --rm "$CTRD_IMAGE" "$id" /bin/true </dev/null
  assert_status 0
  assert_gone "$id"
}

@test "run --env/--cwd: process env and cwd, image env kept" {
  id=$(cid)
  run --separate-stderr ctr_run --rm --env FOO=bar --env 'SPACED=a b' --cwd /tmp \
    "$CTRD_IMAGE" "$id" sh -c 'echo "FOO=$FOO"; echo "SPACED=$SPACED"; echo "PATH=$PATH"; echo "cwd=$(pwd)"; sleep 0.2' </dev/null
  assert_status 0
  assert_line "FOO=bar"
  assert_line "SPACED=a b"
  assert_line "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  assert_line "cwd=/tmp"
}

@test "run -t: the task gets a terminal (create --console-socket)" {
  id=$(cid)
  run ctr_tty "run --fifo-dir $CTRD_TMP/fifo --rm -t $CTRD_IMAGE $id sh -c 'tty; [ -t 0 ] && echo stdin-is-tty; sleep 0.2; exit 3'"
  assert_status 3
  assert_line "/dev/pts/0"
  assert_line "stdin-is-tty"
  assert_gone "$id"
}

@test "tasks exec: output, exit status, same container, --user, -t, -d" {
  id=$(cid)
  ctr_run -d "$CTRD_IMAGE" "$id" sh -c "echo init-was-here > /tmp/marker; $LONG" </dev/null
  wait_until 10 test -s "$(bundle_rootfs "$id")/tmp/marker"

  run --separate-stderr ctr_exec --exec-id e1 "$id" \
    sh -c 'cat /tmp/marker; echo "exec pid $$"; tr "\0" " " </proc/1/cmdline; echo; exit 3'
  assert_status 3
  assert_line "init-was-here"
  assert_output_contains "sleep 1000 & wait"
  [ "$(printf '%s\n' "$output" | sed -n 's/^exec pid //p')" -gt 1 ]

  run --separate-stderr ctr_exec --exec-id e2 --user 65534 "$id" sh -c 'id -u; id -g'
  assert_status 0
  [ "${lines[0]}" = 65534 ] && [ "${lines[1]}" = 65534 ] || { echo "$output"; false; }

  run ctr_tty "tasks exec --fifo-dir $CTRD_TMP/fifo -t --exec-id e3 $id sh -c 'tty; exit 5'"
  assert_status 5
  printf '%s\n' "$output" | tr -d '\r\000' | sed 's/\^@//g' | grep -qx '/dev/pts/[0-9]*' || { echo "$output"; false; }

  ctr_exec -d --exec-id e4 "$id" sh -c 'echo detached > /tmp/e4; sleep 1000'
  wait_until 10 test -s "$(bundle_rootfs "$id")/tmp/e4"
  [ "$(task_status "$id")" = RUNNING ]
}

@test "tasks ps: lists the init pid and every process of the container" {
  id=$(cid)
  ctr_run -d "$CTRD_IMAGE" "$id" sh -c "$LONG" </dev/null
  ctr_exec -d --exec-id side "$id" sleep 1000
  procs=$(cg_procs "$id")
  wait_until 10 eval "[ \$(wc -l <'$procs') -eq 3 ]"
  pid=$(task_pid "$id")
  [ -n "$pid" ]

  run --separate-stderr ctr_ tasks ps "$id"
  assert_status 0
  [ "${lines[0]%% *}" = PID ]
  listed=$(printf '%s\n' "${lines[@]:1}" | awk '{ print $1 }' | sort -n | tr '\n' ' ')
  incg=$(sort -n "$procs" | tr '\n' ' ')
  [ "$listed" = "$incg" ] || { echo "ps: $listed cgroup: $incg"; false; }
  printf '%s\n' "${lines[@]}" | grep -q "^$pid " || { echo "init $pid not listed: $output"; false; }
  printf '%s\n' "${lines[@]}" | grep -q 'ExecID:side' || { echo "exec 'side' not listed: $output"; false; }
}

@test "pause/resume: PAUSED freezes the processes, RUNNING thaws them" {
  id=$(cid)
  # Write-then-rename: a freeze between `>`'s truncate and the write would
  # leave the counter empty (seen once in CI).
  ctr_run -d "$CTRD_IMAGE" "$id" \
    sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.02; done' </dev/null
  count=$(bundle_rootfs "$id")/tmp/count
  wait_until 10 eval "[ \"\$(cat '$count' 2>/dev/null)\" -gt 3 ] 2>/dev/null"

  ctr_ tasks pause "$id"
  [ "$(task_status "$id")" = PAUSED ]
  [ "$(cg_freezer "$id")" = FROZEN ]
  a=$(cat "$count"); sleep 0.5; b=$(cat "$count")
  [ "$a" = "$b" ] || { echo "counter moved while paused: $a -> $b"; false; }

  ctr_ tasks resume "$id"
  [ "$(task_status "$id")" = RUNNING ]
  [ "$(cg_freezer "$id")" = THAWED ]
  wait_until 5 eval "[ \"\$(cat '$count' 2>/dev/null)\" -gt '${b:-0}' ] 2>/dev/null"
}

@test "kill: SIGTERM reaches the task's handler and the task exits" {
  id=$(cid)
  ctr_run --rm "$CTRD_IMAGE" "$id" \
    sh -c "trap 'echo got-TERM; sleep 0.2; exit 7' TERM; touch /tmp/ready; $LONG" \
    </dev/null >"$CTRD_TMP/$id.out" 2>&1 3>&- &
  ctrpid=$!
  wait_until 10 test -e "$(bundle_rootfs "$id")/tmp/ready"
  ctr_ tasks kill "$id"
  wait_until 10 assert_dead "$ctrpid"
  rc=0; wait "$ctrpid" || rc=$?
  cat "$CTRD_TMP/$id.out"
  [ "$rc" -eq 7 ]
  grep -qx got-TERM "$CTRD_TMP/$id.out"
  assert_gone "$id"
}

@test "kill -s SIGKILL: init dies (137); kill --all kills every process" {
  id=$(cid)
  # A plain `sleep` as PID 1 of a PID namespace has no handler: TERM is ignored.
  ctr_run -d "$CTRD_IMAGE" "$id" sleep 1000 </dev/null
  ctr_ tasks kill "$id"
  sleep 0.3
  [ "$(task_status "$id")" = RUNNING ]
  ctr_ tasks kill -s SIGKILL "$id"
  wait_until 10 task_is "$id" STOPPED
  run ctr_ tasks delete "$id"
  assert_status 0
  assert_output_contains "exit code 137"

  id=$(cid all)
  ctr_run -d "$CTRD_IMAGE" "$id" sh -c "$LONG" </dev/null
  ctr_exec -d --exec-id side "$id" sleep 1000
  procs=$(cg_procs "$id")
  wait_until 10 eval "[ \$(wc -l <'$procs') -eq 3 ]"
  pids=$(cat "$procs")
  ctr_ tasks kill -a -s SIGKILL "$id"
  wait_until 10 task_is "$id" STOPPED
  for p in $pids; do wait_until 5 assert_dead "$p"; done
  [ -z "$(cat "$procs" 2>/dev/null)" ]
}

@test "delete: task and container removed, no state, cgroup, mount or socket left" {
  id=$(cid)
  ctr_ containers create "$CTRD_IMAGE" "$id" -- sh -c "$LONG"
  ctr_start -d "$id" </dev/null
  pid=$(task_pid "$id")
  [ -n "$pid" ] && pid_alive "$pid"

  # While it runs, everything we check for below exists where we look.
  [ -d "$(runtime_root)/$id" ] || { ls -la "$(runtime_root)"; false; }
  [ -d "$(bundle_dir "$id")" ]
  [ -S "$(shim_socket "$id")" ]
  grep -q " $(bundle_rootfs "$id") " /proc/self/mountinfo
  if cg_v2; then ctrls=unified; else ctrls="cpu cpuacct cpuset devices freezer memory pids blkio"; fi
  for c in $ctrls; do
    [ -d "$(cg_path "$c" "$id")" ] || { echo "no $c cgroup"; false; }
    grep -qxF "$pid" "$(cg_path "$c" "$id")/cgroup.procs"
  done
  if cg_v2; then want="0::/$CTRD_NS/$id"; else want="[0-9]+:memory:/$CTRD_NS/$id"; fi
  grep -Eqx "$want" "/proc/$pid/cgroup" || { cat "/proc/$pid/cgroup"; false; }

  ctr_ tasks kill -s SIGKILL "$id"
  wait_until 10 task_is "$id" STOPPED
  ctr_ tasks delete "$id" 2>/dev/null
  assert_dead "$pid"
  ctr_ containers delete "$id"
  assert_gone "$id"
}

@test "delete: the shim tolerates a container the runtime no longer knows" {
  # The shim ignores a failed `delete` if its output says "does not exist".
  id=$(cid)
  ctr_run -d "$CTRD_IMAGE" "$id" sh -c "$LONG" </dev/null
  ctr_ tasks kill -s SIGKILL "$id"
  wait_until 10 task_is "$id" STOPPED
  [ -d "$(runtime_root)/$id" ]
  runtime_ delete "$id"
  [ ! -e "$(runtime_root)/$id" ]
  run runtime_ delete "$id"
  [ "$status" -ne 0 ]
  assert_output_contains "does not exist"
  run ctr_ tasks delete "$id"
  assert_status 0
  ctr_ containers delete "$id"
  assert_gone "$id"
}

@test "tasks delete -f: a running task is killed and removed" {
  id=$(cid)
  ctr_run -d "$CTRD_IMAGE" "$id" sh -c "$LONG" </dev/null
  pid=$(task_pid "$id")
  run ctr_ tasks delete -f "$id"
  assert_status 0
  assert_dead "$pid"
  ctr_ containers delete "$id"
  assert_gone "$id"
}

@test "shim crash: containerd's cleanup (delete --force) kills and removes a running container" {
  id=$(cid)
  ctr_run -d "$CTRD_IMAGE" "$id" sh -c "$LONG" </dev/null
  pid=$(task_pid "$id")
  shim=
  for p in /proc/[0-9]*; do
    case "$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")" in
      *containerd-shim-runc-v2*" -id $id -address $CTRD_ADDR "*) shim=${p#/proc/} ;;
    esac
  done
  [ -n "$shim" ] || { echo "shim of $id not found"; false; }
  kill -KILL "$shim"
  # containerd notices, runs `containerd-shim-runc-v2 delete`, which calls
  # `<runtime> delete --force <id>` on the still running container.
  wait_until 20 eval "[ -z \"\$(task_status $id)\" ]"
  wait_until 10 assert_dead "$pid"
  wait_until 10 test ! -e "$(runtime_root)/$id"
  wait_until 10 test -z "$(cgroup_dirs "$id")"
  # A killed shim cannot remove its socket; containerd 1.6 leaves it.
  rm -f "$(shim_socket "$id")"
  ctr_ containers delete "$id"
  assert_gone "$id"
}

@test "run --memory-limit: limit set in the cgroup, a bounded hog is OOM-killed (137)" {
  limit=$((32 * 1024 * 1024))
  id=$(cid)
  timeout 120 ctr --address "$CTRD_ADDR" -n "$CTRD_NS" events >"$CTRD_TMP/events" 2>&1 3>&- &
  evpid=$!
  # The hog doubles a string up to 256 MiB (bounded), once /tmp/go exists.
  ctr_run -d --memory-limit "$limit" "$CTRD_IMAGE" "$id" sh -c \
    'while [ ! -e /tmp/go ]; do sleep 0.02; done; exec awk "BEGIN { s = \"x\"; while (length(s) < 268435456) s = s s; print length(s) }"' \
    </dev/null
  [ "$(cg_memory_limit "$id")" -eq "$limit" ]
  # The shim finds the cgroup from /proc/<init pid>/cgroup for metrics.
  run ctr_ tasks metrics "$id"
  assert_status 0
  if ! cg_v2; then
    printf '%s\n' "$output" | grep -Eq "^memory.limit_in_bytes +$limit( |\$)" || { echo "$output"; false; }
  fi
  wait_until 5 grep -q "/tasks/start.*\"$id\"" "$CTRD_TMP/events"

  touch "$(bundle_rootfs "$id")/tmp/go"
  wait_until 30 task_is "$id" STOPPED
  [ "$(cg_oom_kills "$id")" -ge 1 ] || { echo "oom_kill: $(cg_oom_kills "$id")"; false; }
  run ctr_ tasks delete "$id"
  assert_status 0
  assert_output_contains "exit code 137"
  wait_until 5 grep -q "/tasks/oom.*\"$id\"" "$CTRD_TMP/events" || { cat "$CTRD_TMP/events"; false; }
  kill "$evpid"; wait "$evpid" || true

  # Control: a small allocation under the same limit is fine.
  id=$(cid small)
  run --separate-stderr ctr_run --rm --memory-limit "$limit" "$CTRD_IMAGE" "$id" \
    awk 'BEGIN { s = "x"; while (length(s) < 4194304) s = s s; print length(s) }' </dev/null
  assert_status 0
  assert_line 4194304
}

@test "5 containers in parallel all run with their own output and exit status" {
  local i ids=() pids=()
  for i in 1 2 3 4 5; do
    ids[i]=$(cid "p$i")
    ctr_run --rm "$CTRD_IMAGE" "${ids[i]}" sh -c "echo out-$i; sleep 0.3; exit $((10 + i))" \
      </dev/null >"$CTRD_TMP/par$i.out" 2>"$CTRD_TMP/par$i.err" 3>&- &
    pids[i]=$!
  done
  for i in 1 2 3 4 5; do
    rc=0; wait "${pids[i]}" || rc=$?
    [ "$rc" -eq $((10 + i)) ] || { echo "container $i: rc $rc"; cat "$CTRD_TMP/par$i.err"; false; }
    [ "$(cat "$CTRD_TMP/par$i.out")" = "out-$i" ] || { echo "container $i:"; cat "$CTRD_TMP/par$i.out"; false; }
  done
  for i in 1 2 3 4 5; do assert_gone "${ids[i]}"; done
}

@test "create failure: the runtime's JSON --log error reaches ctr, nothing left" {
  id=$(cid)
  run ctr_run --rm "$CTRD_IMAGE" "$id" /nonexistent-cmd </dev/null
  [ "$status" -ne 0 ]
  assert_output_contains "/nonexistent-cmd"
  # What the shim says when log.json has no parsable {"level":"error","msg":...}.
  case "$output" in *"unable to retrieve OCI runtime error"*) echo "$output"; false ;; esac
  assert_gone "$id"
}

@test "argv: what the shim passes to the runtime (recorded by a wrapper)" {
  log=$CTRD_TMP/argv.log
  : >"$log"
  ctrd_make_wrapper "$CTRD_TMP/argv-wrapper" "$log"
  ctrd_point_runc_at "$CTRD_TMP/argv-wrapper"

  id=$(cid)
  ctr_run -d "$CTRD_IMAGE" "$id" sh -c "trap 'exit 0' TERM; $LONG" </dev/null
  ctr_exec --exec-id x1 "$id" true
  ctr_tty "tasks exec --fifo-dir $CTRD_TMP/fifo -t --exec-id x2 $id true" >/dev/null
  ctr_ tasks ps "$id" >/dev/null
  ctr_ tasks pause "$id"
  ctr_ tasks resume "$id"
  ctr_ tasks kill "$id"
  wait_until 10 task_is "$id" STOPPED
  ctr_ tasks delete "$id"
  ctr_ containers delete "$id"

  id2=$(cid tty)
  ctr_tty "run --fifo-dir $CTRD_TMP/fifo --rm -t $CTRD_IMAGE $id2 sh -c 'sleep 0.1'" >/dev/null
  id3=$(cid kill)
  ctr_run -d "$CTRD_IMAGE" "$id3" sleep 1000 </dev/null
  ctr_ tasks kill -s SIGKILL "$id3"
  wait_until 10 task_is "$id3" STOPPED
  ctr_ tasks delete "$id3" 2>/dev/null
  ctr_ containers delete "$id3"
  id4=$(cid kall)
  ctr_run -d "$CTRD_IMAGE" "$id4" sh -c "$LONG" </dev/null
  ctr_ tasks kill -a -s SIGKILL "$id4"
  wait_until 10 task_is "$id4" STOPPED
  ctr_ tasks delete "$id4" 2>/dev/null
  ctr_ containers delete "$id4"

  # Normalise paths and ids into shapes.
  shapes=$CTRD_TMP/argv.shapes
  sed -e "s#--root $(runtime_root) #--root <root> #" \
      -e "s#$(bundle_dir "$id")#<bundle>#g; s#$(bundle_dir "$id2")#<bundle>#g; s#$(bundle_dir "$id3")#<bundle>#g; s#$(bundle_dir "$id4")#<bundle>#g" \
      -e "s#$CTRD_TMP/tmp/runc-process[0-9]*#<process.json>#g" \
      -e "s#$CTRD_TMP/tmp/pty[0-9]*/pty.sock#<console.sock>#g" \
      -e "s# \($id\|$id2\|$id3\|$id4\)\( \|\$\)# <id>\2#g" \
      -e "s#<bundle>/x[12].pid#<bundle>/<exec-id>.pid#" \
      "$log" | sort | uniq -c | sort -k2 >"$shapes"
  cat "$shapes"
  if [ -n "${CTRD_ARGV_LOG:-}" ]; then cp "$shapes" "$CTRD_ARGV_LOG"; fi

  prefix='--root <root> --log <bundle>/log.json --log-format json'
  # Every call carries the same global flags, and every call succeeded.
  if awk '{ $1 = ""; print }' "$shapes" | grep -vF -- " $prefix "; then
    echo "calls with other global flags (above)"; false
  fi
  if grep -v ' => 0$' "$log"; then echo "calls that failed (above)"; false; fi
  for want in \
      "create --bundle <bundle> --pid-file <bundle>/init.pid <id>" \
      "create --bundle <bundle> --pid-file <bundle>/init.pid --console-socket <console.sock> <id>" \
      "start <id>" \
      "exec --process <process.json> --detach --pid-file <bundle>/<exec-id>.pid <id>" \
      "exec --process <process.json> --console-socket <console.sock> --detach --pid-file <bundle>/<exec-id>.pid <id>" \
      "ps --format json <id>" \
      "pause <id>" \
      "resume <id>" \
      "kill <id> 15" \
      "kill <id> 9" \
      "kill --all <id> 9" \
      "delete <id>" \
      "delete --force <id>"; do
    grep -qF -- "$prefix $want => 0" "$shapes" || { echo "missing call: $want"; false; }
  done
}

@test "runtime option BinaryName (ctr run --runc-binary) is used for every call" {
  # PATH's `runc` and BinaryName both log; only BinaryName may be called.
  : >"$CTRD_TMP/path.log"
  : >"$CTRD_TMP/binname.log"
  ctrd_make_wrapper "$CTRD_TMP/path-wrapper" "$CTRD_TMP/path.log"
  ctrd_point_runc_at "$CTRD_TMP/path-wrapper"
  mkdir -p "$CTRD_TMP/alt"
  ctrd_make_wrapper "$CTRD_TMP/alt/cagebox-by-binaryname" "$CTRD_TMP/binname.log"

  id=$(cid)
  run --separate-stderr ctr_run --rm --runc-binary "$CTRD_TMP/alt/cagebox-by-binaryname" \
    "$CTRD_IMAGE" "$id" sh -c 'echo via-binaryname; sleep 0.2' </dev/null
  assert_status 0
  assert_line via-binaryname

  id2=$(cid d)
  ctr_run -d --runc-binary "$CTRD_TMP/alt/cagebox-by-binaryname" "$CTRD_IMAGE" "$id2" sh -c "$LONG" </dev/null
  ctr_exec --exec-id x "$id2" true
  ctr_ tasks ps "$id2" >/dev/null
  ctr_ tasks pause "$id2"
  ctr_ tasks resume "$id2"
  ctr_ tasks kill -a -s SIGKILL "$id2"
  wait_until 10 task_is "$id2" STOPPED
  ctr_ tasks delete "$id2" 2>/dev/null
  ctr_ containers delete "$id2"
  assert_gone "$id"
  assert_gone "$id2"

  cat "$CTRD_TMP/binname.log"
  [ ! -s "$CTRD_TMP/path.log" ] || { echo "calls that went to PATH's runc:"; cat "$CTRD_TMP/path.log"; false; }
  for sub in create start exec ps pause resume "kill --all" delete "delete --force"; do
    grep -q -- " json $sub " "$CTRD_TMP/binname.log" || { echo "no '$sub' via BinaryName"; false; }
  done
}

@test "BinaryName = the runtime itself (ctr run --runc-binary/--runc-root): it runs the task, its state under Root/<ns>, PATH's runc never called" {
  # The shim gets the runc v2 options BinaryName and Root in the task's
  # create request, as the CRI plugin sends them from `runtimes.<handler>.options`.
  : >"$CTRD_TMP/path-runc.log"
  ctrd_make_refusing_runc "$CTRD_TMP/refusing-runc" "$CTRD_TMP/path-runc.log"
  ctrd_point_runc_at "$CTRD_TMP/refusing-runc"
  rroot=$CTRD_TMP/binname-root
  id=$(cid)
  ctr_run -d --runc-binary "$RUNTIME" --runc-root "$rroot" "$CTRD_IMAGE" "$id" sh -c "$LONG" </dev/null
  pid=$(task_pid "$id")
  [ -n "$pid" ] && pid_alive "$pid"
  # The shim appends the namespace to Root; the default root stays unused.
  [ -d "$rroot/$CTRD_NS/$id" ] || { ls -laR "$rroot"; false; }
  [ ! -e "$(runtime_root)/$id" ]
  # $RUNTIME itself reads that state (runc and cagebox cannot read each other's).
  run --separate-stderr "$RUNTIME" --root "$rroot/$CTRD_NS" state "$id"
  assert_status 0
  assert_output_contains '"status": "running"'
  assert_output_contains "\"pid\": $pid"

  run --separate-stderr ctr_exec --exec-id x "$id" sh -c 'echo exec-ok; exit 4'
  assert_status 4
  assert_line exec-ok
  ctr_ tasks pause "$id"
  [ "$(task_status "$id")" = PAUSED ]
  ctr_ tasks resume "$id"
  ctr_ tasks kill -s SIGKILL "$id"
  wait_until 10 task_is "$id" STOPPED
  ctr_ tasks delete "$id" >/dev/null
  ctr_ containers delete "$id"
  assert_dead "$pid"
  [ ! -e "$rroot/$CTRD_NS/$id" ] || { echo "runtime state left in $rroot/$CTRD_NS/$id"; false; }
  assert_gone "$id"
  [ ! -s "$CTRD_TMP/path-runc.log" ] || { echo "calls that went to PATH's runc:"; cat "$CTRD_TMP/path-runc.log"; false; }
}

@test "BinaryName: cagebox selected only by BinaryName applies io.cagebox.policy (cagebox only)" {
  case "$(basename "$RUNTIME")" in cagebox*) ;; *) skip "io.cagebox.policy is a cagebox feature; $(basename "$RUNTIME") ignores it" ;; esac
  # PATH's runc refuses every call: only BinaryName can have run this.
  : >"$CTRD_TMP/path-runc.log"
  ctrd_make_refusing_runc "$CTRD_TMP/refusing-runc" "$CTRD_TMP/path-runc.log"
  ctrd_point_runc_at "$CTRD_TMP/refusing-runc"
  id=$(cid)
  run --separate-stderr ctr_run --rm --runc-binary "$RUNTIME" --annotation io.cagebox.policy=run-file "$CTRD_IMAGE" "$id" \
    sh -c 'grep -E "^(NoNewPrivs|CapEff)" /proc/self/status; touch /x 2>&1 || true; sleep 0.2' </dev/null
  assert_status 0
  assert_line "$(printf 'NoNewPrivs:\t1')"
  assert_line "$(printf 'CapEff:\t0000000000000000')"
  assert_line "touch: /x: Read-only file system"
  assert_gone "$id"
  [ ! -s "$CTRD_TMP/path-runc.log" ] || { echo "calls that went to PATH's runc:"; cat "$CTRD_TMP/path-runc.log"; false; }
}

@test "config.toml: docs/clients.md's CRI runtime 'cagebox' (runc v2, BinaryName) is what containerd 1.6 parses (the CRI path itself is not exercised)" {
  # No CRI client or kubelet here, and this suite's daemon has the CRI plugin
  # disabled: only containerd's own parse of the snippet is checked.
  docs=$(ctrd_repo_root)/docs/clients.md
  [ -f "$docs" ] || { echo "$docs missing"; false; }
  snippet=$(ctrd_docs_cri_snippet "$docs")
  [ -n "$snippet" ] || { echo "no toml block with runtimes.cagebox] in $docs"; false; }
  cfg=$CTRD_TMP/cri-check.toml
  {
    echo 'version = 2'
    echo "root = \"$CTRD_TMP/cri-check/root\""
    echo "state = \"$CTRD_TMP/cri-check/state\""
    printf '%s\n' "$snippet" | grep -v '^version' | sed "s#/usr/local/bin/cagebox#$RUNTIME#g"
  } >"$cfg"
  run --separate-stderr timeout 20 containerd --config "$cfg" config dump
  assert_status 0
  # The runtime's section and its options, as containerd understood them.
  section=$(printf '%s\n' "$output" | awk '
    /^ *\[/ { insec = ($0 ~ /runtimes\.cagebox(\.options)?\]/) }
    insec')
  printf '%s\n' "$section"
  printf '%s\n' "$section" | grep -qx ' *runtime_type = "io.containerd.runc.v2"' || { echo "runtime_type not io.containerd.runc.v2"; false; }
  printf '%s\n' "$section" | grep -qx " *BinaryName = \"$RUNTIME\"" || { echo "BinaryName not $RUNTIME"; false; }
  printf '%s\n' "$section" | grep -qx ' *SystemdCgroup = false' || { echo "SystemdCgroup not false"; false; }
  printf '%s\n' "$section" | grep -Eqx ' *pod_annotations = \[.*"io\.cagebox\.\*".*\]' || { echo "pod_annotations lacks io.cagebox.*"; false; }
  [ ! -e "$CTRD_TMP/cri-check" ] || { echo "config dump created $CTRD_TMP/cri-check"; false; }
}
