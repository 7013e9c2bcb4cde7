# shellcheck shell=bash
#
# Helpers for integration/containerd.bats: a private containerd 1.6 daemon
# whose runc v2 shim drives $RUNTIME (cagebox, or /usr/sbin/runc as the
# reference), plus a hand-made OCI busybox image imported into it.
#
# Everything lives in one mktemp dir ($CTRD_TMP) except what containerd 1.6
# and its runc v2 shim hard-code, which this file checks and cleans for its
# own, unique namespace only:
#   /run/containerd/s/<sha256>        shim sockets (removed by the shims)
#   /run/containerd/runc/<ns>/<id>    the shim's default runtime --root
#   /sys/fs/cgroup/<ctrl>/<ns>/<id>   the default cgroupsPath /<ns>/<id>
#
# Parameters (environment):
#   RUNTIME          absolute path of the runtime binary
#                    (default: <repo>/target/release/cagebox)
#   CTRD_ARGV_LOG    if set, the argv-recording test copies its log there
#   CTRD_KEEP        if set to 1, keep $CTRD_TMP after the run (debugging)
#   CTRD_TIMEOUT     seconds any single ctr/runtime call may take (default 30)

CTRD_IMAGE=localhost/cagebox-busybox:latest
: "${CTRD_TIMEOUT:=30}"
CTRD_SHIM_RUNC_ROOT_BASE=/run/containerd/runc
CTRD_SHIM_SOCKET_DIR=/run/containerd/s

# ---------------------------------------------------------------- utilities

ctrd_repo_root() {
  git -C "$BATS_TEST_DIRNAME" rev-parse --show-toplevel 2>/dev/null ||
    (cd "$BATS_TEST_DIRNAME/.." && pwd)
}

# ctr against the private daemon, in the suite's namespace.  Every call is
# bounded: a runtime that hangs fails the test (status 124) instead of
# hanging the suite.
ctr_() {
  timeout -k 5 "$CTRD_TIMEOUT" ctr --address "$CTRD_ADDR" -n "$CTRD_NS" "$@"
}

# ctr_tty 'ARGS': run `ctr ARGS` (one shell-quoted string) with a terminal on
# ctr's stdin, which `ctr run -t` / `ctr tasks exec -t` need.  `script` gives
# the exit status of ctr (-e).
ctr_tty() {
  timeout -k 5 "$CTRD_TIMEOUT" script -qefc \
    "ctr --address $CTRD_ADDR -n $CTRD_NS $1" /dev/null </dev/null
}

# The runtime itself, on the state the shim gave it (bounded as well).
runtime_() {
  timeout -k 5 "$CTRD_TIMEOUT" "$RUNTIME" --root "$(runtime_root)" "$@"
}

# ctr run / ctr tasks exec / ctr tasks start with the IO FIFOs under our temp
# dir (ctr's default --fifo-dir is /run/containerd/fifo).
ctr_run() { ctr_ run --fifo-dir "$CTRD_TMP/fifo" "$@"; }
ctr_exec() { ctr_ tasks exec --fifo-dir "$CTRD_TMP/fifo" "$@"; }
ctr_start() { ctr_ tasks start --fifo-dir "$CTRD_TMP/fifo" "$@"; }

# wait_until SECONDS CMD...: poll CMD (quietly) every 0.05 s until it
# succeeds; on timeout run it once more with its output shown, and fail.
wait_until() {
  local deadline=$((SECONDS + $1)) ; shift
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      "$@" && return 0
      echo "wait_until: timed out: $*" >&2
      return 1
    fi
    sleep 0.05
  done
}

# task_status ID: the STATUS column of `ctr tasks ls` (empty if no task).
task_status() {
  ctr_ tasks ls 2>/dev/null | awk -v id="$1" 'NR > 1 && $1 == id { print $3 }'
}

# task_pid ID: the host PID of the task's init process.
task_pid() {
  ctr_ tasks ls 2>/dev/null | awk -v id="$1" 'NR > 1 && $1 == id { print $2 }'
}

task_is() { [ "$(task_status "$1")" = "$2" ]; }

# bundle_rootfs ID: the container's mounted rootfs as seen from the host.
bundle_dir() { echo "$CTRD_STATE/io.containerd.runtime.v2.task/$CTRD_NS/$1"; }
bundle_rootfs() { echo "$(bundle_dir "$1")/rootfs"; }

# The runtime --root the shim passes by default (containerd 1.6 hard-codes it).
runtime_root() { echo "$CTRD_SHIM_RUNC_ROOT_BASE/$CTRD_NS"; }

# Cgroups.  This host is hybrid (v1 controllers, tests exercise v1); on a
# pure cgroup v2 host the same checks use the unified hierarchy (untested
# here).  The default cgroupsPath is /<ns>/<id>.
cg_v2() { [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; }

# cg_path CONTROLLER ID: the container's cgroup dir for CONTROLLER.
cg_path() {
  if cg_v2; then echo "/sys/fs/cgroup/$CTRD_NS/$2"; else echo "/sys/fs/cgroup/$1/$CTRD_NS/$2"; fi
}
cg_procs() { echo "$(cg_path pids "$1")/cgroup.procs"; }

# cg_freezer ID: FROZEN or THAWED.
cg_freezer() {
  if cg_v2; then
    case "$(cat "$(cg_path freezer "$1")/cgroup.freeze")" in 1) echo FROZEN ;; *) echo THAWED ;; esac
  else
    cat "$(cg_path freezer "$1")/freezer.state"
  fi
}

cg_memory_limit() {
  if cg_v2; then cat "$(cg_path memory "$1")/memory.max"
  else cat "$(cg_path memory "$1")/memory.limit_in_bytes"; fi
}

# cg_oom_kills ID: how many processes the kernel OOM-killed in the cgroup.
cg_oom_kills() {
  local f=memory.oom_control
  cg_v2 && f=memory.events
  awk '$1 == "oom_kill" { print $2 }' "$(cg_path memory "$1")/$f"
}

# cgroup_dirs ID: the container's cgroup dirs that exist (any hierarchy).
cgroup_dirs() {
  local d
  for d in /sys/fs/cgroup/*/"$CTRD_NS/$1" /sys/fs/cgroup/"$CTRD_NS/$1"; do
    [ -d "$d" ] && echo "$d"
  done
  return 0
}

# cid [TAG]: a short unique container id for the current test (recorded so
# that teardown_file can check and clean what containerd hard-codes per id).
cid() {
  local id="t${BATS_TEST_NUMBER}-${1:-c}"
  echo "$id" >>"$CTRD_TMP/ids"
  echo "$id"
}

# shim_socket ID: where containerd 1.6's runc v2 shim listens for ID:
# /run/containerd/s/<sha256 of "<containerd address>/<ns>/<id>">.
shim_socket() {
  local h
  h=$(printf '%s' "$CTRD_ADDR/$CTRD_NS/$1" | sha256sum | cut -d' ' -f1)
  echo "$CTRD_SHIM_SOCKET_DIR/$h"
}

# leftovers ID: print whatever is left of container ID (state dirs, runtime
# state, cgroups, mounts, shim socket, processes in its cgroups).
leftovers() {
  local id=$1 d
  [ -e "$(runtime_root)/$id" ] && echo "runtime state: $(runtime_root)/$id"
  [ -e "$(bundle_dir "$id")" ] && echo "bundle: $(bundle_dir "$id")"
  [ -e "$(shim_socket "$id")" ] && echo "shim socket: $(shim_socket "$id")"
  for d in $(cgroup_dirs "$id"); do echo "cgroup: $d"; done
  awk -v id="$id" '$5 ~ ("/" id "(/|$)") { print "mount: " $5 }' /proc/self/mountinfo
  ctr_ tasks ls -q 2>/dev/null | grep -xF "$id" | sed 's/^/task: /'
  ctr_ containers ls -q 2>/dev/null | grep -xF "$id" | sed 's/^/container: /'
  ctr_ snapshots ls 2>/dev/null | awk -v id="$id" '$1 == id { print "snapshot: " $1 }'
  return 0
}

# Remove every task and container of the suite's namespace (best effort).
ctrd_cleanup_ns() {
  [ -n "${CTRD_ADDR:-}" ] && [ -S "$CTRD_ADDR" ] || return 0
  local id i
  for id in $(ctr_ tasks ls -q 2>/dev/null); do
    if [ "$(task_status "$id")" = PAUSED ]; then
      ctr_ tasks resume "$id" >/dev/null 2>&1 || true
    fi
    ctr_ tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
  done
  for id in $(ctr_ tasks ls -q 2>/dev/null); do
    for i in $(seq 1 100); do
      [ "$(task_status "$id")" = STOPPED ] && break
      sleep 0.05
    done
    ctr_ tasks delete -f "$id" >/dev/null 2>&1 || true
  done
  for id in $(ctr_ containers ls -q 2>/dev/null); do
    ctr_ containers delete "$id" >/dev/null 2>&1 || true
  done
}

# ------------------------------------------------------------------- image

# Build an OCI image layout for the busybox rootfs by hand and pack it as an
# oci-archive: index.json -> manifest -> config + one uncompressed layer.
ctrd_build_image() {
  local out=$1 rootfs=$2 work=$CTRD_TMP/oci
  local blobs=$work/blobs/sha256 layer_dg layer_sz cfg_dg cfg_sz man_dg man_sz
  mkdir -p "$blobs"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    -C "$rootfs" -cf "$work/layer.tar" .
  layer_dg=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  layer_sz=$(stat -c %s "$work/layer.tar")
  mv "$work/layer.tar" "$blobs/$layer_dg"

  jq -cn --arg diff "sha256:$layer_dg" '{
      architecture: "amd64", os: "linux",
      config: {
        Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        Cmd: ["/bin/sh"], WorkingDir: "/"
      },
      rootfs: { type: "layers", diff_ids: [$diff] },
      history: [{ created_by: "cagebox hack/mkrootfs.sh" }]
    }' >"$work/config.json"
  cfg_dg=$(sha256sum "$work/config.json" | cut -d' ' -f1)
  cfg_sz=$(stat -c %s "$work/config.json")
  mv "$work/config.json" "$blobs/$cfg_dg"

  jq -cn --arg c "sha256:$cfg_dg" --argjson cs "$cfg_sz" \
    --arg l "sha256:$layer_dg" --argjson ls "$layer_sz" '{
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls }]
    }' >"$work/manifest.json"
  man_dg=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
  man_sz=$(stat -c %s "$work/manifest.json")
  mv "$work/manifest.json" "$blobs/$man_dg"

  jq -cn --arg m "sha256:$man_dg" --argjson ms "$man_sz" '{
      schemaVersion: 2,
      manifests: [{
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: $m, size: $ms,
        platform: { architecture: "amd64", os: "linux" },
        annotations: { "org.opencontainers.image.ref.name": "latest" }
      }]
    }' >"$work/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"
  tar -C "$work" -cf "$out" oci-layout index.json blobs
}

# ---------------------------------------------------------- daemon control

# Why the suite cannot run here (empty if it can).
ctrd_skip_reason() {
  local t
  [ "$(id -u)" = 0 ] || { echo "containerd tests need root (uid is $(id -u))"; return; }
  for t in containerd ctr containerd-shim-runc-v2 jq sha256sum tar script; do
    command -v "$t" >/dev/null 2>&1 || { echo "$t not found in PATH"; return; }
  done
  [ -x /bin/busybox ] || { echo "/bin/busybox not found (apt-get install busybox-static)"; return; }
  if [ -z "${RUNTIME_EXPLICIT:-}" ] && [ ! -x "$RUNTIME" ]; then
    echo "runtime $RUNTIME not built (cargo build --release, or set RUNTIME=/abs/path)"
    return
  fi
}

ctrd_write_config() {
  cat >"$CTRD_TMP/config.toml" <<EOF
version = 2
root = "$CTRD_TMP/root"
state = "$CTRD_STATE"
temp = "$CTRD_TMP/tmp"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "$CTRD_ADDR"

[ttrpc]
  address = "$CTRD_ADDR.ttrpc"

[debug]
  address = "$CTRD_TMP/debug.sock"
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$CTRD_TMP/opt"
EOF
}

# Point the `runc` the shim finds in PATH at $1.
ctrd_point_runc_at() {
  ln -sfn "$1" "$CTRD_TMP/bin/runc.new"
  mv -T "$CTRD_TMP/bin/runc.new" "$CTRD_TMP/bin/runc"
}

# An argv-logging wrapper: LOG gets one line per call, "argv[1..] => rc",
# and the runtime runs with argv[0] kept as invoked (`runc` via PATH).  The
# wrapper waits for the runtime, which is harmless: the shim is a subreaper,
# so a container init the runtime leaves behind is reparented to the shim.
ctrd_make_wrapper() {
  local path=$1 log=$2
  cat >"$path" <<EOF
#!/bin/bash
(exec -a "\$0" '$RUNTIME' "\$@")
rc=\$?
printf '%s => %s\n' "\$*" "\$rc" >>'$log'
exit \$rc
EOF
  chmod 755 "$path"
}

# A `runc` for PATH that must never be called: it records its argv in LOG
# and fails with a JSON error the shim shows.  Tests that select the runtime
# through the BinaryName option point PATH's runc at it.
ctrd_make_refusing_runc() {
  local path=$1 log=$2
  cat >"$path" <<EOF
#!/bin/bash
printf '%s\n' "\$*" >>'$log'
while [ \$# -gt 0 ]; do
  case "\$1" in --log) printf '{"level":"error","msg":"PATH runc was called, not BinaryName","time":"1970-01-01T00:00:00Z"}\n' >>"\$2"; shift ;; esac
  shift
done
echo "PATH runc was called, not BinaryName" >&2
exit 1
EOF
  chmod 755 "$path"
}

# ctrd_docs_cri_snippet FILE: the config.toml block of docs/clients.md that
# registers the CRI runtime `cagebox` (the first ```toml block containing
# `runtimes.cagebox]`), printed as is.
ctrd_docs_cri_snippet() {
  awk '
    /^```toml/ { inblock = 1; block = ""; next }
    /^```/ && inblock { inblock = 0; if (block ~ /runtimes\.cagebox\]/) { printf "%s", block; exit }; next }
    inblock { block = block $0 "\n" }
  ' "$1"
}

containerd_setup_file() {
  if [ -n "${RUNTIME:-}" ]; then
    export RUNTIME_EXPLICIT=1
  else
    RUNTIME="$(ctrd_repo_root)/target/release/cagebox"
  fi
  export RUNTIME

  CTRD_SKIP=$(ctrd_skip_reason)
  export CTRD_SKIP
  [ -z "$CTRD_SKIP" ] || return 0

  case "$RUNTIME" in
    /*) ;;
    *) echo "RUNTIME must be an absolute path: $RUNTIME" >&2; return 1 ;;
  esac
  [ -x "$RUNTIME" ] || { echo "RUNTIME=$RUNTIME is not an executable file" >&2; return 1; }
  echo "# containerd $(containerd --version | awk '{ print $3 }'), runtime $RUNTIME" >&3

  # Short path: unix socket paths are limited to 108 bytes.
  CTRD_TMP=$(mktemp -d /tmp/cbx-ctrd.XXXXXX)
  CTRD_NS="cagebox-e2e-$(basename "$CTRD_TMP" | cut -d. -f2 | tr 'A-Z' 'a-z')"
  CTRD_ADDR=$CTRD_TMP/c.sock
  CTRD_STATE=$CTRD_TMP/state
  export CTRD_TMP CTRD_NS CTRD_ADDR CTRD_STATE
  mkdir -p "$CTRD_TMP"/{bin,root,tmp,opt,fifo}
  [ -d /run/containerd ] || touch "$CTRD_TMP/created-run-containerd"

  ln -s "$RUNTIME" "$CTRD_TMP/bin/runc"
  ctrd_write_config

  PATH="$CTRD_TMP/bin:$PATH" setsid containerd --config "$CTRD_TMP/config.toml" \
    </dev/null >"$CTRD_TMP/containerd.log" 2>&1 3>&- &
  echo $! >"$CTRD_TMP/containerd.pid"

  if ! wait_until 20 timeout 5 ctr --address "$CTRD_ADDR" version; then
    echo "containerd did not come up; log:" >&2
    tail -n 30 "$CTRD_TMP/containerd.log" >&2
    return 1
  fi

  bash "$(ctrd_repo_root)/hack/mkrootfs.sh" "$CTRD_TMP/rootfs"
  ctrd_build_image "$CTRD_TMP/img.tar" "$CTRD_TMP/rootfs"
  ctr_ images import --base-name "${CTRD_IMAGE%:*}" "$CTRD_TMP/img.tar" >&2
  ctr_ images ls -q | grep -qxF "$CTRD_IMAGE" || {
    echo "image $CTRD_IMAGE missing after import" >&2
    ctr_ images ls >&2
    return 1
  }
}

# pid_alive PID: true if PID exists and is not a zombie.
pid_alive() {
  local st
  st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# Kill processes whose command line names our temp dir (our daemon's shims).
ctrd_kill_our_shims() {
  local p cmd
  for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    case "$cmd" in
      *containerd-shim*"$CTRD_ADDR"*) kill -KILL "${p#/proc/}" 2>/dev/null || true ;;
    esac
  done
}

# Kill processes still in the namespace's cgroups (containers whose runtime
# failed to clean up; the namespace name is unique to this run).
ctrd_kill_ns_processes() {
  local f p
  for f in /sys/fs/cgroup/pids/"$CTRD_NS"/*/cgroup.procs /sys/fs/cgroup/"$CTRD_NS"/*/cgroup.procs; do
    [ -f "$f" ] || continue
    for p in $(cat "$f"); do kill -KILL "$p" 2>/dev/null || true; done
  done
  sleep 0.1
}

# Unmount everything mounted at or below $1 (deepest first).
ctrd_umount_below() {
  local m
  awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
    sort -r | while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
}

# Remove the namespace's cgroups (ours: the namespace name is unique).
ctrd_remove_cgroups() {
  local d
  for d in /sys/fs/cgroup/*/"$CTRD_NS" /sys/fs/cgroup/"$CTRD_NS"; do
    [ -d "$d" ] || continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

containerd_teardown_file() {
  [ -n "${CTRD_TMP:-}" ] && [ -d "$CTRD_TMP" ] || return 0
  ctrd_cleanup_ns
  # Anything still left is reported (visible in the bats output), then removed.
  local id l left=
  for id in $(sort -u "$CTRD_TMP/ids" 2>/dev/null); do
    l=$(leftovers "$id" 2>/dev/null)
    [ -z "$l" ] || left+="$l"$'\n'
  done
  ctr_ images rm "$CTRD_IMAGE" >/dev/null 2>&1 || true
  local pid
  pid=$(cat "$CTRD_TMP/containerd.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do pid_alive "$pid" || break; sleep 0.1; done
    pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null
  fi
  [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  ctrd_kill_our_shims
  [ -z "$left" ] || printf '# teardown_file removes leftovers:\n%s' "$left" | sed '2,$s/^/#   /' >&3
  ctrd_kill_ns_processes
  ctrd_umount_below "$CTRD_TMP"
  ctrd_remove_cgroups
  rm -rf "${CTRD_SHIM_RUNC_ROOT_BASE:?}/$CTRD_NS"
  for id in $(sort -u "$CTRD_TMP/ids" 2>/dev/null); do
    rm -f "$(shim_socket "$id")"
  done
  if [ -e "$CTRD_TMP/created-run-containerd" ]; then
    rmdir "$CTRD_SHIM_SOCKET_DIR" "$CTRD_SHIM_RUNC_ROOT_BASE" /run/containerd 2>/dev/null || true
  fi
  if [ "${CTRD_KEEP:-}" = 1 ]; then
    echo "# kept $CTRD_TMP" >&3
  else
    rm -rf "$CTRD_TMP"
  fi
}

# Per-test setup/teardown.
containerd_setup() {
  [ -z "${CTRD_SKIP:-}" ] || skip "$CTRD_SKIP"
}

containerd_teardown() {
  [ -z "${CTRD_SKIP:-}" ] || return 0
  ctrd_cleanup_ns
  ctrd_point_runc_at "$RUNTIME"
}

# ------------------------------------------------------------- assertions

assert_status() {
  if [ "$status" -ne "$1" ]; then
    echo "expected exit status $1, got $status"
    echo "output: $output"
    [ -z "${stderr:-}" ] || echo "stderr: $stderr"
    return 1
  fi
}

# assert_line LINE: some line of $output is exactly LINE.  CRs, NULs and the
# "^@" a pty echoes for the NUL that `script` writes at stdin EOF are dropped.
assert_line() {
  if ! printf '%s\n' "$output" | tr -d '\r\000' | sed 's/\^@//g' | grep -qxF -- "$1"; then
    echo "expected a line '$1' in output:"
    echo "$output"
    [ -z "${stderr:-}" ] || echo "stderr: $stderr"
    return 1
  fi
}

assert_output_contains() {
  case "$output" in
    *"$1"*) ;;
    *) echo "expected '$1' in output:"; echo "$output"; return 1 ;;
  esac
}

# assert_dead PID: PID has exited (a zombie counts as exited).
assert_dead() {
  if pid_alive "$1"; then
    echo "pid $1 is still alive"
    return 1
  fi
}

# assert_gone ID: nothing is left of container ID.
assert_gone() {
  local left
  left=$(leftovers "$1")
  if [ -n "$left" ]; then
    echo "leftovers of container $1:"
    echo "$left"
    return 1
  fi
}
