#!/usr/bin/env bash
# End-to-end test of restores as operators run them (issue #19) against a real libvirtd and
# qemu, which this script starts itself and stops afterwards. Two guests:
#   a1  tests/support/guest/acpi.S: counts its boots in sector 1 and powers off when asked
#       (ACPI power button), like a guest OS;
#   w1  tests/support/guest/writer.S: keeps writing and ignores every shutdown request.
#
# Shows: `rollback --stop --start` shuts a1 down, rolls it back (the disk equals the RP) and
# boots it again; the same through `.control`, each step with its time in `.status` on the
# writer's line (pid=); a guest that ignores ACPI fails with exit 5 after --timeout and
# nothing changes; --force destroys it and goes through; option errors name the option.
#
# Usage: restore_e2e.sh RPFS_BINARY. Exit 77 (skipped, with the reason) without root or
# without libvirt/qemu installed (scripts/install-deps.sh installs them).
set -euo pipefail

RPFS=$(realpath "$1")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../support/libvirt.sh
source "$SRC/tests/support/libvirt.sh"
lv_e2e_begin restore qemu-io
trap 'lv_e2e_end a1 w1' EXIT

state() { virsh domstate "$1" | head -1; }
is_state() { [[ $(state "$1") == "$2" ]]; }
boots_at_least() { (($(boot_count "$W/$1.qcow2") >= $2)); }

# The disk of a domain as raw, and the RP's, equal but for the boot count (sector 1's first
# word), which the boot after the rollback changed.
expect_rp_but_boot_count() {  # domain rp want-count
  rm -f "$W/now.raw" "$W/rp.raw"
  qemu-img convert -U -O raw "$W/$1.qcow2" "$W/now.raw"
  "$RPFS" export "$1" "$2" vda -o "$W/rp.raw"
  local count
  count=$(od -An -tu2 -j 512 -N 2 "$W/now.raw" | tr -d ' ')
  [[ $count == "$3" ]] || fail "$1: boot count $count after the rollback, want $3"
  printf '\x00\x00' | dd of="$W/now.raw" bs=1 seek=512 conv=notrunc status=none
  printf '\x00\x00' | dd of="$W/rp.raw" bs=1 seek=512 conv=notrunc status=none
  cmp "$W/now.raw" "$W/rp.raw" || fail "$1: the disk differs from rp $2 after the rollback"
}

libvirt_start
build_acpi_guest
build_writer_guest
for g in a1:acpi w1:w; do
  truncate -s 16M "$W/${g%%:*}.raw"
  dd if="$W/${g##*:}.bin" of="$W/${g%%:*}.raw" conv=notrunc status=none
  # Data the guests never touch (16 chunks at 8 MiB): what a rollback need not read.
  dd if=/dev/urandom of="$W/${g%%:*}.raw" bs=1M seek=8 count=1 conv=notrunc status=none
  qemu-img convert -O qcow2 "$W/${g%%:*}.raw" "$W/${g%%:*}.qcow2"
  rm "$W/${g%%:*}.raw"
done
log "a1 runs under $(start_writer_domain a1 "$W/a1.qcow2"), w1 under $(start_writer_domain w1 "$W/w1.qcow2")"
poll_until 30 "a1 to boot" boots_at_least a1 1
wait_for_writes 50 w1

"$RPFS" init >/dev/null
"$RPFS" vm import a1 >/dev/null
"$RPFS" vm import w1 >/dev/null

# --- 1. rollback --stop --start on a guest that shuts down when asked ---------------------
log "rollback --stop --start"
"$RPFS" create a1 before >/dev/null
# The day's change: the guest reboots (boot count 2) and the disk gets new data.
virsh destroy a1 >/dev/null
qemu-io -f qcow2 -c "write -P 0xaa 4M 256k" "$W/a1.qcow2" >/dev/null
virsh start a1 >/dev/null
poll_until 30 "a1 to boot again" boots_at_least a1 2
# No --keep-current, no tty: --yes answers the question.
out=$("$RPFS" rollback a1 before --stop --timeout 60 --start --yes --json </dev/null) ||
  fail "rollback --stop --start failed: $out"
grep -q '"the guest shut down after' <<<"$out" || fail "no shutdown step in: $out"
grep -q '"starting the domain"' <<<"$out" || fail "no start step in: $out"
chunks=$(sed -n 's/.*"chunks_written": *\([0-9]*\).*/\1/p' <<<"$out")
((chunks >= 2)) || fail "the rollback wrote $chunks chunks: the change was not undone"
# Read to compare: only what the checkpoint's bitmap marks (the boot count's chunk 0 and
# the 4 chunks qemu-io wrote); the 16 chunks at 8 MiB are known unchanged, not read.
compared=$(sed -n 's/.*"chunks_compared": *\([0-9]*\).*/\1/p' <<<"$out")
known=$(sed -n 's/.*"chunks_known": *\([0-9]*\).*/\1/p' <<<"$out")
((compared <= 5 && known >= 16)) ||
  fail "the rollback read $compared chunks and knew $known: the bitmap was not used: $out"
is_state a1 running || fail "a1 is $(state a1) after rollback --start"
poll_until 30 "a1 to boot after the rollback" boots_at_least a1 2
expect_rp_but_boot_count a1 before 2
# The checkpoint of `before` (made while a1 ran) left a bitmap in the qcow2; the rollback
# removed it (qemu-img), since it no longer describes the disk.
if qemu-img info -U "$W/a1.qcow2" | grep -q "name: rpfs-"; then
  fail "an rpfs bitmap is left in a1.qcow2 after the rollback: $(qemu-img info -U "$W/a1.qcow2")"
fi
log "a1 shut down, rolled back ($chunks chunks written, $compared read, $known known from the bitmap) and booted again"

# --- 2. a guest that ignores the request: refused after the timeout, nothing changes -------
log "a guest that ignores ACPI"
"$RPFS" create w1 r1 >/dev/null
list_before=$("$RPFS" list w1)
wait_for_writes 20 w1
rc=0
"$RPFS" rollback w1 r1 --stop --timeout 3 --yes 2>"$W/err" >/dev/null || rc=$?
((rc == 5)) || fail "rollback of a guest that ignores ACPI: exit $rc, want 5 (busy): $(cat "$W/err")"
grep -q "did not shut down within 3 s" "$W/err" || fail "the refusal does not say why: $(cat "$W/err")"
is_state w1 running || fail "w1 is $(state w1) after a refused rollback"
wait_for_writes 20 w1
[[ $("$RPFS" list w1) == "$list_before" ]] || fail "a refused rollback changed the RPs"
# Without --stop the old refusal stays, and names the way out.
rc=0
"$RPFS" rollback w1 r1 --yes 2>"$W/err" >/dev/null || rc=$?
((rc == 5)) && grep -q "rollback --stop" "$W/err" || fail "plain rollback of a running domain: $rc $(cat "$W/err")"

# --force pulls the plug after the timeout, and the rollback goes through.
out=$("$RPFS" rollback w1 r1 --stop --timeout 2 --force --start --keep-current --json </dev/null) ||
  fail "rollback --force failed: $out"
grep -q "destroying the domain (--force)" <<<"$out" || fail "no destroy step in: $out"
is_state w1 running || fail "w1 is $(state w1) after rollback --force --start"
"$RPFS" list w1 | grep -q before-rollback || fail "--keep-current took no undo RP"
log "w1: refused after 3 s, then destroyed with --force and started"

# --- 3. option errors name the option and change nothing ---------------------------------
rc=0
"$RPFS" rollback w1 r1 --timeout 5 --yes 2>"$W/err" >/dev/null || rc=$?
((rc == 2)) && grep -q "go with stop" "$W/err" || fail "--timeout without --stop: $rc $(cat "$W/err")"
rc=0
"$RPFS" rollback w1 r1 --stop --timeout soon --yes 2>"$W/err" >/dev/null || rc=$?
((rc == 2)) && grep -q 'timeout "soon"' "$W/err" || fail "--timeout soon: $rc $(cat "$W/err")"
rc=0
"$RPFS" rollback w1 nosuch --stop --yes 2>"$W/err" >/dev/null || rc=$?
((rc == 3)) || fail "rollback --stop to a missing RP: exit $rc: $(cat "$W/err")"
is_state w1 running || fail "a rollback to a missing RP stopped w1"

# --- 4. the same through .control, each step in .status on the writer's own line ----------
log "rollback stop start through .control"
mkdir "$MNT"
"$RPFS" mount "$MNT" -f &
DAEMON=$!
poll_until 30 "the mount to show vm a1" test -d "$MNT/a1"
virsh destroy a1 >/dev/null
qemu-io -f qcow2 -c "write -P 0xbb 8M 64k" "$W/a1.qcow2" >/dev/null
virsh start a1 >/dev/null
poll_until 30 "a1 to boot" boots_at_least a1 3
# bash writes with its own pid: the line with pid=<that> is this command's.
pid=$(bash -c 'echo $$ >"$1"; exec echo "rollback before stop timeout=60 start" >"$2"' _ \
  "$W/pid" "$MNT/a1/.control" && cat "$W/pid") || fail "rollback through .control: $(cat "$MNT/a1/.status")"
line=$(grep " pid=$pid " "$MNT/a1/.status") || fail "no .status line with pid=$pid: $(cat "$MNT/a1/.status")"
grep -q "state=done" <<<"$line" || fail "not done: $line"
grep -Eq 'steps="[0-9T:-]+Z asked the guest to shut down \(ACPI[^;]*; [0-9T:-]+Z the guest shut down after [0-9.]+ s; [0-9T:-]+Z rolling back the disks; [0-9T:-]+Z starting the domain"' <<<"$line" ||
  fail "the steps in .status: $line"
is_state a1 running || fail "a1 is $(state a1) after the .control rollback"
poll_until 30 "a1 to boot after the rollback" boots_at_least a1 2
expect_rp_but_boot_count a1 before 2
log ".status: $line"

# qemu started while the mount was up holds a copy of it (docs/libvirt.md): SIGTERM ends it.
kill -TERM "$DAEMON"
wait "$DAEMON" || true
DAEMON=""

# --- 5. restore drills: boot an RP in isolation, decide, leave nothing ----------------------
log "drills"
drill_domains() { lv_drill_domains; }
drill_clones() { lv_drill_clones a1; }
no_drill_domain() { [[ $(drill_domains) == 0 ]]; }
a_drill_domain() { [[ $(drill_domains) != 0 ]]; }
UP="rpfs-test-guest up"
out=$("$RPFS" drill a1 before --timeout 60 --expect "$UP" --json) || fail "drill of a bootable RP: $out"
grep -q '"ok": true' <<<"$out" || fail "drill of a bootable RP: $out"
boot_ms=$(sed -n 's/.*"boot_ms": *\([0-9]*\).*/\1/p' <<<"$out")
[[ $(drill_domains) == 0 && $(drill_clones) == 0 ]] || fail "a drill left a domain or a clone: $(virsh list --all --name) $("$RPFS" clone-list a1)"
"$RPFS" info a1 before | grep -q "^drill: ok at .*booted in" || fail "info: $("$RPFS" info a1 before)"
"$RPFS" list a1 --json | grep -q '"reason": "the serial console showed' || fail "list --json has no drill"
log "before booted in ${boot_ms} ms"

# An RP whose boot sector was zeroed: failed, with the reason, stored; nothing left.
virsh destroy a1 >/dev/null
qemu-io -f qcow2 -c "write -z 0 512" "$W/a1.qcow2" >/dev/null
"$RPFS" create a1 broken >/dev/null
rc=0
"$RPFS" drill a1 broken --timeout 8 --expect "$UP" >"$W/out" 2>&1 || rc=$?
((rc == 8)) || fail "drill of an unbootable RP: exit $rc, want 8: $(cat "$W/out")"
grep -q "failed: the serial console did not show \"$UP\" within 8 s" "$W/out" || fail "reason: $(cat "$W/out")"
[[ $(drill_domains) == 0 && $(drill_clones) == 0 ]] || fail "a failed drill left something"
"$RPFS" info a1 broken | grep -q "^drill: failed at" || fail "info: $("$RPFS" info a1 broken)"

# kill -9 mid-drill: libvirt destroys the domain with the connection; the next drill (or
# mount) removes the clone.
"$RPFS" drill a1 broken --timeout 120 --expect "$UP" >/dev/null 2>&1 &
victim=$!
poll_until 60 "the drill's domain to start" a_drill_domain
kill -9 "$victim"
wait "$victim" 2>/dev/null || true
poll_until 30 "libvirt to destroy the killed drill's domain" no_drill_domain
[[ $(drill_clones) == 1 ]] || fail "the killed drill left $(drill_clones) clones, want 1 (to clean up)"
"$RPFS" drill a1 before --timeout 60 --expect "$UP" >/dev/null || fail "drill after kill -9"
[[ $(drill_clones) == 0 ]] || fail "the next drill did not remove the killed drill's clone"

# What a monthly timer runs: every libvirt VM's newest RP (a1: broken; w1 never prints).
rc=0
out=$("$RPFS" drill --all-vms --latest --timeout 3 --expect "$UP" --json) || rc=$?
((rc == 8)) || fail "drill --all-vms: exit $rc, want 8"
[[ $(grep -c '"ok": false' <<<"$out") == 2 ]] || fail "drill --all-vms: $out"
rc=0
"$RPFS" drill a1 >/dev/null 2>&1 || rc=$?
((rc == 2)) || fail "drill without an rp or --latest: exit $rc, want 2"
[[ $(drill_domains) == 0 && $(drill_clones) == 0 ]] || fail "drills left something"

# --- 6. resized disks (docs/restore.md): an RP of the new size is taken (a shrink is said);
# a rollback to an RP of another size refuses a qcow2 image, naming the sizes, and resizes
# a raw file back.
log "resized disks"
qemu-img create -q -f qcow2 "$W/q.qcow2" 4M
truncate -s 4M "$W/r.raw"
# The raw disk comes first: a refusal for the qcow2 must come before the raw one is touched.
"$RPFS" vm add rz --disk "vda=$W/r.raw" --disk "vdb=$W/q.qcow2" >/dev/null
"$RPFS" create rz small >/dev/null
qemu-img resize -q "$W/q.qcow2" 8M
truncate -s 8M "$W/r.raw"
"$RPFS" create rz big 2>"$W/err" >/dev/null || fail "an RP after growing the disks: $(cat "$W/err")"
[[ ! -s $W/err ]] || fail "growing is not worth a warning: $(cat "$W/err")"
rc=0
"$RPFS" rollback rz small --yes 2>"$W/err" >/dev/null || rc=$?
((rc != 0)) && grep -q "holds 8388608 bytes, the recovery point 4194304: resize it first" "$W/err" ||
  fail "rollback of a grown qcow2 to a smaller RP: exit $rc: $(cat "$W/err")"
[[ $(stat -c %s "$W/r.raw") == 8388608 ]] || fail "a refused rollback changed the raw disk"
qemu-img resize -q --shrink "$W/q.qcow2" 2M
truncate -s 2M "$W/r.raw"
"$RPFS" create rz shrunk 2>"$W/err" >/dev/null
grep -q "warning: disk vdb shrank from 8388608 bytes to 2097152 bytes since rp big" "$W/err" ||
  fail "no warning for a shrunk disk: $(cat "$W/err")"
qemu-img resize -q "$W/q.qcow2" 8M
"$RPFS" rollback rz big --yes >/dev/null 2>"$W/err" || fail "rollback to big: $(cat "$W/err")"
[[ $(stat -c %s "$W/r.raw") == 8388608 ]] || fail "the raw disk was not resized back to the RP's size"
echo "PASS"
