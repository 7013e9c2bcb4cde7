#!/usr/bin/env bash
# Build a minimal busybox rootfs from Debian's busybox-static.
# Usage: hack/mkrootfs.sh DEST
# Idempotent: an existing DEST with a stamp from the same busybox is kept.
set -euo pipefail
dest=${1:?usage: hack/mkrootfs.sh DEST}
bb=${BUSYBOX:-/bin/busybox}
[ -x "$bb" ] || { echo "mkrootfs: $bb not found (apt-get install busybox-static)" >&2; exit 1; }
# A dynamically linked busybox would not run inside a rootfs without libc.
if ldd "$bb" >/dev/null 2>&1; then
  echo "mkrootfs: $bb is dynamically linked; install busybox-static" >&2; exit 1
fi
stamp="$(sha256sum "$bb" | cut -d' ' -f1)"
if [ -f "$dest/.cagebox-rootfs" ] && [ "$(cat "$dest/.cagebox-rootfs")" = "$stamp" ]; then
  exit 0
fi
rm -rf "$dest"
mkdir -p "$dest"/{bin,sbin,etc,proc,sys,dev,tmp,root,home,run,var/tmp,usr/bin,usr/sbin}
chmod 1777 "$dest/tmp" "$dest/var/tmp"
cp "$bb" "$dest/bin/busybox"
for applet in $("$dest/bin/busybox" --list); do
  [ "$applet" = busybox ] && continue
  ln -sf busybox "$dest/bin/$applet"
done
cat > "$dest/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
P
cat > "$dest/etc/group" <<'G'
root:x:0:
nogroup:x:65534:
G
echo cagebox > "$dest/etc/hostname"
: > "$dest/etc/hosts"
: > "$dest/etc/resolv.conf"
echo "$stamp" > "$dest/.cagebox-rootfs"
