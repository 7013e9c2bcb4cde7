#!/usr/bin/env bash
# The cgroup-v2 test lane: boot Debian 12's own kernel with cgroup v1 disabled
# (cgroup_no_v1=all) in a qemu guest (TCG unless KVM really works), share the
# host-built cagebox, the guest suite integration/v2 and a busybox rootfs over
# virtio-9p, run the whole suite in ONE boot, stream its TAP output here and
# exit non-zero if a test failed or the guest did not report.
#
# Usage: hack/v2lane.sh [BATS_FILTER_REGEX]
# Env:   CAGEBOX_BIN     binary to test (default target/release/cagebox)
#        V2LANE_CACHE    kernel cache (default /var/tmp/cagebox-v2lane-cache)
#        V2LANE_TIMEOUT  seconds before the guest is killed (default 900)
#        V2LANE_ACCEL    auto|kvm|tcg (default auto: kvm only if it boots)
#        V2LANE_KERNEL   kernel package version, e.g. 6.1.0-57-amd64
#                        (default: what Debian's linux-image-amd64 depends on)
#        V2LANE_MEM      guest memory in MiB (default 1024)
#        V2LANE_KVM_PROBE  seconds a KVM guest gets to print its banner (60)
#        V2LANE_KEEP=1   keep the work dir (console log, disk image) for debugging
# Root only. Nothing is installed on the host but the packages listed below;
# the kernel package is unpacked into the cache, never installed. See
# docs/v2-lane.md.
set -euo pipefail
t_start=$(date +%s.%N)
top=$(cd "$(dirname "$0")/.." && pwd)
filter=${1:-}
BIN=${CAGEBOX_BIN:-$top/target/release/cagebox}
CACHE=${V2LANE_CACHE:-/var/tmp/cagebox-v2lane-cache}
TIMEOUT=${V2LANE_TIMEOUT:-900}
ACCEL=${V2LANE_ACCEL:-auto}
MEM_MB=${V2LANE_MEM:-1024}

log() { printf 'v2lane: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
elapsed() { awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

[ "$(id -u)" = 0 ] || die "must run as root (the guest suite needs a root-owned share; apt-get for packages)"
[ -x "$BIN" ] || die "$BIN is not built (cargo build --release, or set CAGEBOX_BIN)"
[ -d "$top/integration/v2" ] || die "$top/integration/v2 missing"

# ------------------------------------------------------------ host packages
# command -> Debian package. Installed only when the command is missing.
export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_update_once() { [ "$apt_updated" = 1 ] || { apt-get update -qq >&2; apt_updated=1; }; }
need=()
declare -A pkg_of=(
	[qemu-system-x86_64]=qemu-system-x86 [cpio]=cpio [xz]=xz-utils [gzip]=gzip
	[bats]=bats [jq]=jq [dpkg-deb]=dpkg [apt-get]=apt [truncate]=coreutils [flock]=util-linux
)
for c in "${!pkg_of[@]}"; do command -v "$c" >/dev/null || need+=("${pkg_of[$c]}"); done
# The guest's PID 1 and the containers' rootfs need a static busybox.
if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then need+=(busybox-static); fi
[ -e /usr/lib/x86_64-linux-gnu/libseccomp.so.2 ] || need+=(libseccomp2)
if [ ${#need[@]} -gt 0 ]; then
	log "installing: ${need[*]}"
	apt_update_once
	apt-get install -y --no-install-recommends "${need[@]}" >&2
fi

# ------------------------------------------------------------ kernel
if [ -n "${V2LANE_KERNEL:-}" ]; then
	kpkg=linux-image-$V2LANE_KERNEL
else
	kpkg_of() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
	kpkg=$(kpkg_of)
	if [ -z "$kpkg" ]; then apt_update_once; kpkg=$(kpkg_of); fi
	[ -n "$kpkg" ] || die "cannot tell which kernel linux-image-amd64 depends on (apt-cache depends linux-image-amd64)"
fi
kver=${kpkg#linux-image-}
case "$kver" in *-cloud-amd64) die "$kpkg: the cloud flavour has no 9p; use the generic -amd64 kernel" ;; esac
kdir=$CACHE/$kver
mkdir -p "$CACHE"
# One fetch at a time per cache (concurrent lanes wait for each other here).
exec 9>"$CACHE/.lock"
flock 9
if [ ! -f "$kdir/.complete" ]; then
	log "fetching $kpkg into $kdir"
	dl=$(mktemp -d "$CACHE/.dl.XXXXXX")
	trap 'rm -rf "$dl"' EXIT
	# apt downloads as its _apt user when that user may write the directory.
	id _apt >/dev/null 2>&1 && chown _apt "$dl"
	(cd "$dl" && apt-get download "$kpkg" >&2) || { apt_update_once; (cd "$dl" && apt-get download "$kpkg" >&2); }
	dpkg-deb -x "$dl"/"$kpkg"_*.deb "$dl/root"
	[ -f "$dl/root/boot/vmlinuz-$kver" ] || die "$kpkg has no /boot/vmlinuz-$kver"
	mkdir -p "$dl/k"
	mv "$dl/root/boot/vmlinuz-$kver" "$dl/k/vmlinuz"
	mv "$dl/root/boot/config-$kver" "$dl/k/config"
	mods=$(find "$dl/root" -type d -path "*/modules/$kver" | head -n1)
	mv "$mods" "$dl/k/modules"
	# The uncompressed vmlinux boots through its PVH entry (CONFIG_PVH),
	# about twice as fast as the bzImage under TCG. extract-vmlinux's
	# method: try every compression magic inside the bzImage until one
	# decompresses to an ELF.
	try_decomp() { # MAGIC-as-printf DECOMPRESSOR...
		local magic=$1 off
		shift
		for off in $(LC_ALL=C grep -abo -- "$(printf "$magic")" "$dl/k/vmlinuz" 2>/dev/null | cut -d: -f1); do
			tail -c +$((off + 1)) "$dl/k/vmlinuz" | "$@" >"$dl/k/vmlinux.try" 2>/dev/null || true
			if [ "$(head -c 4 "$dl/k/vmlinux.try" | od -An -c | tr -d ' ')" = '177ELF' ]; then
				mv "$dl/k/vmlinux.try" "$dl/k/vmlinux"
				return 0
			fi
		done
		rm -f "$dl/k/vmlinux.try"
		return 1
	}
	try_decomp '\3757zXZ' xz -dc ||
		try_decomp '\037\213\010' gzip -dc ||
		{ command -v zstd >/dev/null && try_decomp '(\265/\375' zstd -dc; } ||
		log "no vmlinux extracted: booting the compressed vmlinuz (slower)"
	rm -rf "$kdir"
	mv "$dl/k" "$kdir"
	echo "$kpkg" >"$kdir/.complete"
	rm -rf "$dl"
	trap - EXIT
fi
exec 9>&-
if [ -f "$kdir/vmlinux" ]; then kernel=$kdir/vmlinux; else kernel=$kdir/vmlinuz; fi

# ------------------------------------------------------------ work dir, cleanup
work=$(mktemp -d /tmp/cagebox-v2lane.XXXXXX)
qpid=
tailpid=
wdpid=
# Idempotent: from the EXIT trap and, explicitly, from the signal traps (bash
# 5.2 can re-raise a fatal signal on `exit 128+N` in its trap without running
# the EXIT trap).
cleaned=0
cleanup() {
	local p
	[ "$cleaned" = 0 ] || return 0
	cleaned=1
	if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
		log "killing qemu (pid $qpid)"
		kill -KILL "$qpid" 2>/dev/null || true
		wait "$qpid" 2>/dev/null || true
	fi
	for p in $wdpid $tailpid; do kill "$p" 2>/dev/null || true; done
	if [ "${V2LANE_KEEP:-0}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
on_signal() {
	log "interrupted (signal $1)"
	cleanup
	trap - EXIT
	exit $((128 + $1))
}
trap cleanup EXIT
trap 'on_signal 2' INT
trap 'on_signal 15' TERM
trap 'on_signal 1' HUP

# ------------------------------------------------------------ initramfs
# busybox (PID 1 and the tools), bash + bats + jq for the suite, the host's
# glibc/libgcc_s/libseccomp for cagebox, and the virtio/9p/bfq modules.
ird=$work/initramfs
mkdir -p "$ird"/{bin,sbin,usr/bin,usr/sbin,usr/lib,usr/libexec,lib/modules,etc,proc,sys,dev,run,tmp,mnt/share,root,var/tmp}
chmod 1777 "$ird/tmp" "$ird/var/tmp"
cp /bin/busybox "$ird/bin/busybox"
for a in $(/bin/busybox --list-full); do
	[ -e "$ird/$a" ] || [ -L "$ird/$a" ] || ln -s /bin/busybox "$ird/$a"
done
copy_libs() { # FILE...: the libraries ldd names for each, at their own paths
	local f l
	for f in "$@"; do
		for l in $(ldd "$f" 2>/dev/null | awk '/=>/ {print $3} /^\t\// {print $1}'); do
			[ -e "$ird$l" ] && continue
			mkdir -p "$ird$(dirname "$l")"
			cp -L "$l" "$ird$l"
		done
	done
}
copy_with_libs() { # FILE...: copy each at its own path, with its libraries
	local f
	for f in "$@"; do
		mkdir -p "$ird$(dirname "$f")"
		rm -f "$ird$f"
		cp -L "$f" "$ird$f"
	done
	copy_libs "$@"
}
copy_with_libs /usr/bin/bash /usr/bin/jq
ln -sf /usr/bin/bash "$ird/bin/bash"
copy_libs "$BIN" # cagebox itself comes over the share
cp -a /usr/lib/bats-core "$ird/usr/lib/"
cp -a /usr/libexec/bats-core "$ird/usr/libexec/"
cp -a /usr/bin/bats "$ird/usr/bin/bats"
echo 'root:x:0:0:root:/root:/bin/sh' >"$ird/etc/passwd"
echo 'root:x:0:' >"$ird/etc/group"
: >"$ird/etc/hosts"
echo v2lane >"$ird/etc/hostname"

# Modules: the wanted ones and what their .modinfo "depends=" names,
# dependencies first; built-ins are skipped, .ko.xz/.zst decompressed (busybox
# insmod takes plain .ko only).
mdir=$kdir/modules
declare -A modpath=()
while read -r p; do
	n=${p##*/}
	n=${n%%.ko*}
	modpath[${n//-/_}]=$p
done < <(find "$mdir/kernel" -name '*.ko*')
: >"$ird/lib/modules/load"
declare -A seen=()
ko_text() { case "$1" in *.xz) xz -dc "$1" ;; *.zst) zstd -dc "$1" ;; *.gz) gzip -dc "$1" ;; *) cat "$1" ;; esac; }
add_mod() {
	local n=${1//-/_} d
	[ -n "${seen[$n]:-}" ] && return 0
	seen[$n]=1
	if [ -z "${modpath[$n]:-}" ]; then
		grep -q "/${n}.ko" "$mdir/modules.builtin" 2>/dev/null || grep -q "/${1}.ko" "$mdir/modules.builtin" 2>/dev/null ||
			log "warning: module $n neither in the package nor built in"
		return 0
	fi
	ko_text "${modpath[$n]}" >"$ird/lib/modules/$n.ko"
	for d in $(tr '\0' '\n' <"$ird/lib/modules/$n.ko" | sed -n 's/^depends=//p' | tr ',' ' '); do add_mod "$d"; done
	echo "$n" >>"$ird/lib/modules/load"
}
for m in virtio_pci virtio_blk 9pnet_virtio 9p bfq; do add_mod "$m"; done

install -m 0755 "$top/integration/v2/init" "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.gz"

# ------------------------------------------------------------ the share
# Read by the guest: cagebox, the suite, a busybox rootfs and the reference
# config; written by the guest: result/ (TAP, status).
share=$work/share
mkdir -p "$share/bin" "$share/result"
cp "$BIN" "$share/bin/cagebox"
cp -a "$top/integration/v2" "$share/v2"
"$top/hack/mkrootfs.sh" "$share/rootfs" >&2
cp "$top/bundles/busybox/config.json" "$share/config.json"
printf '%s\n' "$filter" >"$share/filter"
# A small disk for io.max / io.weight (a device with a real request queue).
truncate -s 64M "$work/disk.img"

# ------------------------------------------------------------ boot
# KVM only where it can work (a writable /dev/kvm and vmx/svm: /dev/kvm alone
# can be a paravirtual stand-in that stock kernels crawl under), and only
# if the guest then reaches its banner within KVM_PROBE seconds; otherwise
# the same boot again under TCG.
KVM_PROBE=${V2LANE_KVM_PROBE:-60}
use_kvm=0
case "$ACCEL" in
kvm) use_kvm=1 ;;
tcg) ;;
auto) [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo && use_kvm=1 ;;
*) die "V2LANE_ACCEL=$ACCEL: auto, kvm or tcg" ;;
esac
console=$work/console.log

# boot ACCEL: one boot; sets qrc (qemu's exit status, 124 on timeout, 3
# when the KVM probe gave up). The main shell waits in the `wait` builtin,
# which a trapped signal interrupts at once (a signal arriving while bash
# waits for a foreground command kills bash without running its traps); a
# watchdog subshell enforces the time limits.
boot() {
	local accel=$1 accel_args probe=0
	if [ "$accel" = kvm ]; then accel_args=(-accel kvm -cpu host); else accel_args=(-accel tcg,thread=single -cpu max); fi
	[ "$accel" = kvm ] && [ "$ACCEL" = auto ] && probe=$KVM_PROBE
	: >"$console"
	rm -f "$share/result/"* "$work/why"
	qemu=(qemu-system-x86_64 "${accel_args[@]}" -smp 1 -m "$MEM_MB" -nodefaults -no-user-config
		-machine q35 -display none -no-reboot -nic none -monitor none
		-chardev "file,id=con,path=$console" -serial chardev:con
		-kernel "$kernel" -initrd "$work/initramfs.gz"
		-append "console=ttyS0 quiet loglevel=3 panic=-1 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 rdinit=/init"
		-fsdev "local,id=share,path=$share,security_model=none"
		-device "virtio-9p-pci,fsdev=share,mount_tag=share"
		-drive "file=$work/disk.img,if=virtio,format=raw,cache=unsafe")
	log "booting $kver ($(basename "$kernel")) under $accel; prepared in $(elapsed)s"
	# If this script dies without its traps (SIGKILL), the kernel kills qemu.
	local pdeath=()
	setpriv --help 2>/dev/null | grep -q -- --pdeathsig && pdeath=(setpriv --pdeathsig KILL --)
	"${pdeath[@]}" "${qemu[@]}" </dev/null >"$work/qemu.out" 2>&1 &
	qpid=$!
	# Stream the guest console (TAP lines as each test ends).
	tail -n +1 -f --pid="$qpid" "$console" &
	tailpid=$!
	(
		t0=$(date +%s)
		while kill -0 "$qpid" 2>/dev/null; do
			t=$(($(date +%s) - t0))
			if [ "$t" -ge "$TIMEOUT" ]; then
				echo timeout >"$work/why"
				kill -KILL "$qpid"
				exit 0
			fi
			if [ "$probe" -gt 0 ] && [ "$t" -ge "$probe" ] && ! grep -q '^v2lane-guest: ' "$console"; then
				echo kvm >"$work/why"
				kill -KILL "$qpid"
				exit 0
			fi
			sleep 0.5
		done
	) </dev/null &
	wdpid=$!
	local rc=0
	wait "$qpid" || rc=$?
	qpid=
	kill "$wdpid" 2>/dev/null || true
	wait "$wdpid" 2>/dev/null || true
	wdpid=
	wait "$tailpid" 2>/dev/null || true
	tailpid=
	qrc=$rc
	case "$(cat "$work/why" 2>/dev/null)" in
	timeout) log "timeout after ${TIMEOUT}s: killed qemu"; qrc=124 ;;
	kvm) log "KVM guest silent after ${KVM_PROBE}s: killed qemu, retrying under TCG"; qrc=3 ;;
	esac
	if [ -s "$work/qemu.out" ]; then log "qemu (exit $rc) said:"; sed 's/^/  qemu: /' "$work/qemu.out" >&2; fi
}
if [ "$use_kvm" = 1 ]; then
	boot kvm
	if [ "$qrc" = 3 ] || { [ "$ACCEL" = auto ] && ! grep -q '^v2lane-guest: ' "$console"; }; then boot tcg; fi
else
	boot tcg
fi

# ------------------------------------------------------------ verdict
# The status file on the share; else the marker the guest wrote to /dev/kmsg
# (synchronous, reaches the console even when the share failed).
status_file=$share/result/status
if [ -s "$status_file" ]; then
	st=$(cat "$status_file")
elif st=$(sed -n 's/.*V2LANE-DONE status=\([0-9]*\).*/\1/p' "$console" | tail -n1) && [ -n "$st" ]; then
	log "note: no result/status on the share; using the console marker"
else
	log "FAIL: the guest did not report (no result/status, no V2LANE-DONE marker) after $(elapsed)s"
	exit 1
fi
tap=$share/result/tap.txt
if [ -f "$tap" ]; then
	pass=$(grep -c '^ok ' "$tap" || true)
	skip=$(grep -c '^ok .* # skip' "$tap" || true)
	nfail=$(grep -c '^not ok ' "$tap" || true)
	log "tests: $((pass - skip)) passed, $nfail failed, $skip skipped"
	grep '^not ok ' "$tap" | sed 's/^/v2lane: FAILED: /' >&2 || true
fi
log "guest status $st, wall time $(elapsed)s"
[ "$st" = 0 ]
