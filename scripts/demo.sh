#!/usr/bin/env bash
# The demo, from a bare Debian 12 machine: installs dependencies, builds rpfs, makes a
# small VM disk (a real ext4 filesystem with files, built without mounting anything),
# takes two recovery points with a change in between, lists them, shows the space used,
# exports the first one and proves it still holds the old file; then mounts the store,
# clones an RP through .control and hydrates it with dd, and rolls the VM back.
#   scripts/demo.sh            (work files go to $RPFS_DEMO_DIR, default /tmp/rpfs-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Only the rpfs binary: the tests and benchmarks are scripts/test.sh's business.
echo "demo: building rpfs (a few minutes on 2 cores; the tests are not built)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target rpfs | grep -E --line-buffered '^\[ *[0-9]+%\] Linking|error' || true
RPFS="$PWD/build/src/cli/rpfs"
[[ -x $RPFS ]] || { echo "demo: the build failed"; exit 1; }

DEMO=${RPFS_DEMO_DIR:-/tmp/rpfs-demo}
fusermount3 -u "$DEMO/mnt" 2>/dev/null || true  # a mount left by an interrupted run
rm -rf "$DEMO"
mkdir -p "$DEMO/rootfs/etc" "$DEMO/rootfs/srv/www" "$DEMO/rootfs/usr/bin"
export RPFS_STORE="$DEMO/store"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

# A small "VM": 256 MiB disk, ext4, a few files including real binaries.
echo "web01" >"$DEMO/rootfs/etc/hostname"
echo "<h1>version 1</h1>" >"$DEMO/rootfs/srv/www/index.html"
cp /usr/bin/cmake /usr/bin/g++-12 "$DEMO/rootfs/usr/bin/" 2>/dev/null || cp /bin/bash "$DEMO/rootfs/usr/bin/"
cp -r /usr/share/doc/cmake* "$DEMO/rootfs/srv/www/" 2>/dev/null || true
truncate -s 256M "$DEMO/web01.img"
mkfs.ext4 -q -F -L web01 -d "$DEMO/rootfs" "$DEMO/web01.img"

step "$RPFS" init
step "$RPFS" vm add web01 --disk "vda=$DEMO/web01.img"
step "$RPFS" create web01 before-upgrade --description "state before the upgrade"

# The "upgrade": new page content and a new file, written into the image with debugfs.
echo "<h1>version 2</h1>" >"$DEMO/index-v2.html"
head -c 8M /dev/urandom >"$DEMO/new-blob.bin"
debugfs -w -R "rm /srv/www/index.html" "$DEMO/web01.img" >/dev/null 2>&1
debugfs -w -f - "$DEMO/web01.img" >/dev/null 2>&1 <<EOF2
write $DEMO/index-v2.html /srv/www/index.html
write $DEMO/new-blob.bin /srv/www/blob.bin
EOF2

step "$RPFS" create web01 after-upgrade --description "after the upgrade"
step "$RPFS" list --tree
step "$RPFS" info web01 after-upgrade
step "$RPFS" du
step "$RPFS" export web01 before-upgrade vda -o "$DEMO/restored.img"
printf '\n\033[1m$ debugfs -R "cat /srv/www/index.html" restored.img   (the old page is back)\033[0m\n'
debugfs -R "cat /srv/www/index.html" "$DEMO/restored.img" 2>/dev/null
step "$RPFS" verify
# A schedule and a retention policy, as rpfs-auto.timer applies them every 15 minutes.
step "$RPFS" policy set web01 --every 1d --at 02:00 --keep-daily 7 --keep-weekly 4
step "$RPFS" auto --dry-run

# The mount: every RP as a read-only directory.
mkdir -p "$DEMO/mnt"
step "$RPFS" mount "$DEMO/mnt"
trap 'fusermount3 -u "$DEMO/mnt" 2>/dev/null || true' EXIT
step ls -lR "$DEMO/mnt/web01"
step cat "$DEMO/mnt/web01/after-upgrade/info"
step cmp "$DEMO/mnt/web01/before-upgrade/vda.raw" "$DEMO/restored.img"
echo "identical: the mounted RP image and the exported one"
# While mounted, the CLI works through the daemon, and mkdir/rmdir make and delete RPs.
step mkdir "$DEMO/mnt/web01/made-by-mkdir"
step "$RPFS" list web01 --tree
step rmdir "$DEMO/mnt/web01/made-by-mkdir"
step ls "$DEMO/mnt/web01"

# An instant clone of the old state, usable at once, filled on first read.
ctl() { printf '\n\033[1m$ echo "%s" > %s\033[0m\n' "$1" "$2"; echo "$1" >"$2"; }
ctl "clone before-upgrade web01-copy" "$DEMO/mnt/web01/.control"
step cat "$DEMO/mnt/web01/.clones/web01-copy/.status"
step dd if="$DEMO/mnt/web01/.clones/web01-copy/vda.raw" of=/dev/null bs=4M status=none
step cat "$DEMO/mnt/web01/.clones/web01-copy/.status"
step "$RPFS" clone-list web01
# Roll the VM itself back (its disk is not in use), keeping the current state as an RP.
ctl "rollback before-upgrade keep-current" "$DEMO/mnt/web01/.control"
step tail -n1 "$DEMO/mnt/web01/.status"
printf '\n\033[1m$ debugfs -R "cat /srv/www/index.html" web01.img   (the disk is back at version 1)\033[0m\n'
debugfs -R "cat /srv/www/index.html" "$DEMO/web01.img" 2>/dev/null
step ls "$DEMO/mnt/web01"
step fusermount3 -u "$DEMO/mnt"
trap - EXIT
printf '\nDemo files are in %s (store: %s).\n' "$DEMO" "$RPFS_STORE"
