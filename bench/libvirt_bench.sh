#!/usr/bin/env bash
# libvirt benchmark (issue #5): how long the guest is paused per RP, incremental RP time
# against changed bytes on a 4 GiB qcow2 disk (dirty bitmap) next to the hash path on the
# same image, rollback with and without the checkpoint's bitmap against a full rewrite, and
# memory-state capture and restore. Writes bench/results/libvirt-<date>.md.
#
#   bench/libvirt_bench.sh [BUILD_DIR]      (root; libvirt and qemu from install-deps.sh)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
RPFS=$BUILD/src/cli/rpfs
[[ -x $RPFS ]] || { echo "build rpfs first (scripts/build.sh)"; exit 2; }
W=$(mktemp -d /var/tmp/rpfs-lvbench-XXXXXX)
chmod 0755 "$W"
export RPFS_STORE=$W/store
# shellcheck source=../tests/support/libvirt.sh
source "$SRC/tests/support/libvirt.sh"
trap 'libvirt_stop b1 q1; rm -rf "$W"' EXIT
OUT=$SRC/bench/results/libvirt-$(date -u +%Y-%m-%d).md
mkdir -p "$(dirname "$OUT")"

now() { date +%s.%N; }
field() { sed -n "s/.*\"$1\": *\([0-9a-z]*\).*/\1/p" | head -1; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b - a}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
cold() { sync; echo 3 >/proc/sys/vm/drop_caches; }
timed() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); secs "$t0" "$t1"; echo; }

libvirt_start
build_writer_guest

# The host side of a first RP, in one run against the same bytes read other ways: a quiet
# guest (it halts: tests/support/guest/idle.S), whose CPU does not compete with the read;
# the writer guest below keeps writing, as a busy guest does. Each RP goes into a fresh
# store, else it would find every chunk stored; every step starts cold.
build_idle_guest
truncate -s 4G "$W/q1.raw"
dd if="$W/idle.bin" of="$W/q1.raw" conv=notrunc status=none
dd if=/dev/urandom of="$W/q1.raw" bs=1M seek=64 count=1024 conv=notrunc status=none
qemu-img convert -O qcow2 "$W/q1.raw" "$W/q1.qcow2"
quiet_accel=$(start_writer_domain q1 "$W/q1.qcow2")
: >"$W/q-cat"
: >"$W/q-raw"
: >"$W/q-nbd"
for _ in 1 2 3; do
  cold
  timed cat "$W/q1.qcow2" >>"$W/q-cat"
  RPFS_STORE=$W/q-store-raw "$RPFS" init >/dev/null
  RPFS_STORE=$W/q-store-raw "$RPFS" vm add raw --disk vda="$W/q1.raw" >/dev/null
  cold
  timed env RPFS_STORE="$W/q-store-raw" "$RPFS" create raw full >>"$W/q-raw"
  RPFS_STORE=$W/q-store-nbd "$RPFS" init >/dev/null
  RPFS_STORE=$W/q-store-nbd "$RPFS" vm import q1 >/dev/null
  cold
  timed env RPFS_STORE="$W/q-store-nbd" "$RPFS" create q1 full >>"$W/q-nbd"
  rm -rf "$W/q-store-raw" "$W/q-store-nbd"
done
virsh destroy q1 >/dev/null
rm -f "$W/q1.raw" "$W/q1.qcow2"
q_cat=$(median <"$W/q-cat")
q_raw=$(median <"$W/q-raw")
q_nbd=$(median <"$W/q-nbd")
{
  echo "| first (full) RP of a quiet running domain ($quiet_accel), over the backup job's NBD export, cold, median of 3 | $q_nbd s = $(ratio "$q_cat" "$q_nbd")× the speed of \`cat\` of its qcow2 file, cold ($q_cat s; goal ≥ 0.8×) |"
  echo "| the same bytes as a raw image file, \`rpfs create\`, cold, median of 3 | $q_raw s: the NBD path takes $(ratio "$q_nbd" "$q_raw")× as long |"
} >"$W/quiet"
# 4 GiB disk: the writer boot sector and 1 GiB of incompressible data.
truncate -s 4G "$W/b1.raw"
dd if="$W/w.bin" of="$W/b1.raw" conv=notrunc status=none
dd if=/dev/urandom of="$W/b1.raw" bs=1M seek=64 count=1024 conv=notrunc status=none
qemu-img convert -O qcow2 "$W/b1.raw" "$W/b1.qcow2"
rm "$W/b1.raw"
"$RPFS" init >/dev/null
# The same image as a plain image-file VM: its RPs take the hash path (no bitmap). Added
# before the domain starts: adding opens the image, which a running qemu holds.
"$RPFS" vm add plain --disk vda="$W/b1.qcow2" --format vda=qcow2 >/dev/null
accel=$(start_writer_domain b1 "$W/b1.qcow2")
"$RPFS" vm import b1 >/dev/null

{
  echo "# libvirt benchmark, $(date -u +%Y-%m-%dT%H:%MZ), guest under $accel"
  echo
  echo "Command: \`bench/libvirt_bench.sh\`. 4 GiB qcow2 disk, 1 GiB of random data, 32 MiB guest."
  echo
} >"$OUT"

t0=$(now)
"$RPFS" create b1 full --json >"$W/full.json"
t1=$(now)
echo "| first (full) RP of the running writer domain (its vCPU busy, warm cache) | $(secs "$t0" "$t1") s, read $(field read_bytes <"$W/full.json") bytes |" >"$W/rows"

# Pause per RP without memory: 10 RPs of the running guest.
for i in $(seq 10); do
  "$RPFS" create b1 "p$i" --json | field paused_us
done >"$W/paused"
echo "| guest paused per RP (median of 10, no memory) | $(median <"$W/paused") µs (goal ≤ 100 000) |" >>"$W/rows"

echo "| changed | incremental RP (bitmap) | bytes read | hash-path RP of the same image | ratio |" >"$W/inc"
echo "|---|---|---|---|---|" >>"$W/inc"
round=0
for mib in 16 64 256; do
  round=$((round + 1))
  virsh destroy b1 >/dev/null
  # N MiB at random 1 MiB-aligned places past the first 64 MiB (the bitmaps record these
  # offline writes: qemu-io opens the image with its persistent bitmaps).
  cmds=()
  for _ in $(seq "$mib"); do cmds+=(-c "write -P $((round + 7)) $(((64 + RANDOM % 4000) * 1048576)) 1M"); done
  qemu-io -f qcow2 "${cmds[@]}" "$W/b1.qcow2" >/dev/null
  t0=$(now)
  "$RPFS" create plain "h$round" >/dev/null
  t1=$(now)
  virsh start b1 >/dev/null
  t2=$(now)
  "$RPFS" create b1 "i$round" --json >"$W/i.json"
  t3=$(now)
  hash=$(secs "$t0" "$t1")
  inc=$(secs "$t2" "$t3")
  echo "| $mib MiB | $inc s | $(field read_bytes <"$W/i.json") | $hash s | $(ratio "$inc" "$hash") |" >>"$W/inc"
done

# Rollback after ~1 % of the disk changed (40 MiB at random places, written offline with
# qemu-io, which records them in the checkpoint's bitmap), back to the RP of that
# checkpoint: with the bitmap, then the same change again without it (the first rollback
# dropped the checkpoint), each against a full rewrite of the disk (qemu-img convert -n of
# the RP's raw export into the qcow2).
offline_change() {  # pattern
  local cmds=()
  for _ in $(seq 40); do cmds+=(-c "write -P $1 $(((64 + RANDOM % 4000) * 1048576)) 1M"); done
  qemu-io -f qcow2 "${cmds[@]}" "$W/b1.qcow2" >/dev/null
}
virsh destroy b1 >/dev/null
"$RPFS" export b1 "i$round" vda -o "$W/rp.raw"
offline_change 21
t0=$(now)
"$RPFS" rollback b1 "i$round" --yes --json >"$W/rb1.json"
t1=$(now)
offline_change 22
t2=$(now)
"$RPFS" rollback b1 "i$round" --yes --json >"$W/rb2.json"
t3=$(now)
t4=$(now)
qemu-img convert -n -f raw -O qcow2 "$W/rp.raw" "$W/b1.qcow2"
sync
t5=$(now)
rm -f "$W/rp.raw"
full=$(secs "$t4" "$t5")
with=$(secs "$t0" "$t1")
without=$(secs "$t2" "$t3")
echo "| rollback after 40 MiB changed, with the checkpoint's bitmap | $with s = $(ratio "$with" "$full")× a full rewrite ($full s); read $(field chunks_compared <"$W/rb1.json") chunks, $(field chunks_known <"$W/rb1.json") known (goal ≤ 0.1×) |" >>"$W/rows"
echo "| the same without a bitmap (all data chunks read) | $without s = $(ratio "$without" "$full")× a full rewrite; read $(field chunks_compared <"$W/rb2.json") chunks (goal ≤ 0.25×) |" >>"$W/rows"
virsh start b1 >/dev/null

# Memory state: capture (create --memory) and restore (rollback after destroy).
t0=$(now)
"$RPFS" create b1 mem --memory --json >"$W/mem.json"
t1=$(now)
virsh destroy b1 >/dev/null
t2=$(now)
"$RPFS" rollback b1 mem --yes >/dev/null
t3=$(now)
[[ $(virsh domstate b1) == running ]] || echo "warning: b1 not running after the restore" >&2
echo "| RP with memory (capture + full read of the disk) | $(secs "$t0" "$t1") s, guest paused $(field paused_us <"$W/mem.json") µs |" >>"$W/rows"
echo "| rollback to it, memory restored, domain running | $(secs "$t2" "$t3") s |" >>"$W/rows"

{
  echo "| what | measured |"
  echo "|---|---|"
  cat "$W/quiet" "$W/rows"
  echo
  cat "$W/inc"
} >>"$OUT"
cat "$OUT"
