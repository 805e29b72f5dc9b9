#!/usr/bin/env bash
# End-to-end test of libvirt VMs (issue #5) against a real libvirtd and qemu, which this
# script starts itself and stops afterwards. The guest is tests/support/guest/writer.S: a
# boot sector that keeps writing counter c to sector 1 + (c mod 64) of its disk.
#
# Shows: an RP of the running guest equals libvirt's own push backup taken at the same
# (paused) instant; incremental RPs of its qcow2 disk read only the dirty extents and are
# right, also after destroy + start; rollback of a running domain is EBUSY through
# .control; an RP with memory rolled back after destroy resumes the guest; vm list shows
# the state; a deleted domain keeps its RPs.
#
# Usage: libvirt_e2e.sh RPFS_BINARY. Exit 77 (skipped, with the reason) without root or
# without libvirt/qemu installed (scripts/install-deps.sh installs them).
set -euo pipefail

RPFS=$(realpath "$1")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../support/libvirt.sh
source "$SRC/tests/support/libvirt.sh"
lv_e2e_begin libvirt
trap 'lv_e2e_end w1 c1' EXIT

libvirt_start
build_writer_guest
truncate -s 64M "$W/w1.raw"
dd if="$W/w.bin" of="$W/w1.raw" conv=notrunc status=none
qemu-img convert -O qcow2 "$W/w1.raw" "$W/w1.qcow2"
rm "$W/w1.raw"
log "guest runs under $(start_writer_domain w1 "$W/w1.qcow2")"
wait_for_writes 200

# The counters in sectors 1..64 of a raw image: one consistent instant holds 64
# consecutive values (modulo 2^16).
check_window() {  # raw image, label
  od -An -tu2 -j 512 -N 32768 -w512 "$1" | awk -v what="$2" '
    { v[NR] = $1 }
    END {
      for (i = 1; i <= 64; i++) { if (!(i in v)) { print what ": short"; exit 1 } }
      best = -1
      for (i = 1; i <= 64; i++) {   # the newest value: every other one is 1..63 behind it
        ok = 1
        for (j = 1; j <= 64; j++) { d = (v[i] - v[j] + 65536) % 65536; if (d > 63) { ok = 0; break } }
        if (ok) { best = v[i]; break }
      }
      if (best < 0) { print what ": sectors 1..64 are not one instant"; exit 1 }
      print best
    }'
}

no_job() { virsh domjobinfo "$1" | grep "Job type: *None" >/dev/null; }

# libvirt's own full push backup of the (paused) domain, as a raw image.
push_backup() {  # output raw image
  local q=$W/push.qcow2
  rm -f "$q"
  cat >"$W/push.xml" <<EOF
<domainbackup mode='push'><disks>
  <disk name='vda' type='file'><target file='$q'/><driver type='qcow2'/></disk>
</disks></domainbackup>
EOF
  virsh backup-begin w1 "$W/push.xml" >/dev/null
  poll_until 60 "the push backup to end" no_job w1
  qemu-img convert -O raw "$q" "$1"
}

rp_json() { "$RPFS" create w1 "$1" --json "${@:2}"; }
json_field() { sed -n "s/.*\"$1\": *\([0-9a-z]*\).*/\1/p" | head -1; }

# --- import, state --------------------------------------------------------------------
"$RPFS" init >/dev/null
"$RPFS" vm import w1 | grep "imported vm w1" >/dev/null || fail "import"
"$RPFS" vm list | grep -E "^w1 +libvirt +running" >/dev/null || fail "vm list: $("$RPFS" vm list)"

# --- 1. RP of the running guest, at one instant ---------------------------------------------
log "RP of the running guest"
out=$(rp_json day1)
paused=$(json_field paused_us <<<"$out")
log "day1: guest paused ${paused} us"
"$RPFS" export w1 day1 vda -o "$W/day1.raw"
n1=$(check_window "$W/day1.raw" day1) || fail "$n1"
log "day1 holds counter window ending at $n1"
wait_for_writes 100
# The same instant seen by rpfs and by libvirt's push backup: pause, RP, push, resume.
virsh suspend w1 >/dev/null
rp_json day1b >/dev/null
push_backup "$W/push1.raw"
virsh resume w1 >/dev/null
"$RPFS" export w1 day1b vda -o "$W/day1b.raw"
cmp "$W/day1b.raw" "$W/push1.raw" || fail "the RP differs from libvirt's push backup of the same instant"
check_window "$W/day1b.raw" day1b >/dev/null

# --- 2. incremental RPs read only the dirty extents ------------------------------------------
log "incremental RPs"
wait_for_writes 100
virsh suspend w1 >/dev/null
out=$(rp_json day2)
push_backup "$W/push2.raw"
virsh resume w1 >/dev/null
read2=$(json_field read_bytes <<<"$out")
# The guest writes only sectors 1..64: one 64 KiB cluster of the bitmap.
[[ $read2 -le 131072 && $read2 -gt 0 ]] || fail "day2 read $read2 bytes; the dirty bitmap covers 64 KiB"
"$RPFS" export w1 day2 vda -o "$W/day2.raw"
cmp "$W/day2.raw" "$W/push2.raw" || fail "incremental day2 differs from the push backup"
log "day2 read $read2 bytes"
cmp -s "$W/day1b.raw" "$W/day2.raw" && fail "day2 equals day1b: the guest did not write?"

# After destroy + start, the next RP must still be right.
virsh destroy w1 >/dev/null
virsh start w1 >/dev/null
wait_for_writes 100
virsh suspend w1 >/dev/null
out=$(rp_json day3)
push_backup "$W/push3.raw"
virsh resume w1 >/dev/null
"$RPFS" export w1 day3 vda -o "$W/day3.raw"
cmp "$W/day3.raw" "$W/push3.raw" || fail "day3 (after destroy + start) differs from the push backup"
log "day3 after destroy+start read $(json_field read_bytes <<<"$out") bytes"

# --- 3. memory, rollback through the mount -------------------------------------------------
log "RP with memory; rollback"
# The memory save keeps libvirt from starting the job at day3's checkpoint, but the qcow2
# then holds that checkpoint's bitmap: mem1 reads only what the guest wrote since day3.
wait_for_writes 100
virsh suspend w1 >/dev/null
out=$(rp_json mem1 --memory)
push_backup "$W/pushm.raw"
virsh resume w1 >/dev/null
[[ $(json_field memory <<<"$out") == true ]] || fail "mem1 has no memory: $out"
readm=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["read_bytes_by_stream"]["vda"])' <<<"$out")
[[ $readm -le 131072 && $readm -gt 0 ]] || fail "mem1 read $readm bytes of vda; the dirty bitmap covers 64 KiB"
"$RPFS" export w1 mem1 vda -o "$W/mem1.raw"
cmp "$W/mem1.raw" "$W/pushm.raw" || fail "mem1 differs from the push backup of the same instant"
log "mem1 (with memory) read $readm bytes of vda"
mkdir "$MNT"
"$RPFS" mount "$MNT" -f -o allow_other &
DAEMON=$!
poll_until 30 "the mount to show vm w1" test -d "$MNT/w1"
[[ -s $MNT/w1/mem1/memory.state ]] || fail "no memory.state in the mount"
grep -q "<name>w1</name>" "$MNT/w1/mem1/domain.xml" || fail "no domain.xml in the mount"
# A clone defined as a domain boots at once from the RP's content, filled on first read.
echo "clone day1b c1 define" >"$MNT/w1/.control" || fail "clone define: $(tail -1 "$MNT/w1/.status")"
virsh start c1 >/dev/null || fail "virsh start c1"
wait_for_writes 50 c1
cmp -n 512 "$MNT/w1/.clones/c1/vda.raw" "$W/day1b.raw" || fail "c1 does not hold the RP's boot sector"
virsh destroy c1 >/dev/null
virsh undefine c1 >/dev/null
log "domain c1 booted on the clone of day1b"
if echo "rollback day1" >"$MNT/w1/.control" 2>"$W/err"; then
  fail "rollback of a running domain was accepted"
fi
grep -q "busy" "$W/err" || fail "rollback while running: $(cat "$W/err") (want EBUSY)"
grep -q "shut it off" "$MNT/w1/.status" || fail ".status does not say why: $(cat "$MNT/w1/.status")"
virsh destroy w1 >/dev/null
echo "rollback mem1" >"$MNT/w1/.control" || fail "rollback to mem1: $(cat "$MNT/w1/.status")"
[[ $(virsh domstate w1) == running ]] || fail "w1 does not run after rolling back to mem1: $(virsh domstate w1)"
wait_for_writes 50
log "w1 resumed from mem1's memory state"

# SIGTERM, not fusermount3 -u: the restored qemu was started while the mount was up and
# holds a copy of it in its own mount namespace (libvirt's default), so the FUSE session
# would only end with that qemu (docs/libvirt.md).
kill -TERM "$DAEMON"
wait "$DAEMON" || true
DAEMON=""
grep -q " $MNT " /proc/mounts && fail "the mount is still there after SIGTERM"

# --- 4. a deleted domain keeps its RPs ------------------------------------------------------
virsh destroy w1 >/dev/null
virsh undefine w1 --checkpoints-metadata >/dev/null
"$RPFS" list w1 | grep day1 >/dev/null || fail "the RPs went with the domain"
"$RPFS" export w1 day1b vda -o "$W/again.raw"
cmp "$W/again.raw" "$W/day1b.raw" || fail "day1b changed after the domain went"
if "$RPFS" create w1 gone 2>"$W/err"; then fail "create of an undefined domain succeeded"; fi
grep -q "no longer exists" "$W/err" || fail "create of an undefined domain: $(cat "$W/err")"
echo "PASS"
