#!/usr/bin/env bash
# End-to-end test of restore drills decided through the guest agent (issue #19) against a
# real libvirtd, qemu and qemu-ga: a Linux guest (tests/support/linux_guest.sh: the host's
# Debian cloud kernel booted directly, an initrd with busybox and the real qemu-ga) whose
# disk vda holds a marker.
#
# Shows: a drill without --expect passes when the agent answers, and with --exec only when
# the command, run in the booted clone through the agent, exits 0 (it reads the marker
# from the clone's vda); a failing command fails the drill (exit 8) with its exit code and
# stderr in the reason, recorded with the RP; --expect then --exec waits for the agent
# after the console line. No drill leaves a domain or a clone.
#
# Usage: drill_agent_e2e.sh RPFS_BINARY. Exit 77 (skipped, with the reason) without root,
# libvirt/qemu, or the guest's parts (scripts/install-deps.sh installs them all).
set -euo pipefail

RPFS=$(realpath "$1")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../support/libvirt.sh
source "$SRC/tests/support/libvirt.sh"
# shellcheck source=../support/linux_guest.sh
source "$SRC/tests/support/linux_guest.sh"
lv_e2e_begin drill-agent cpio
trap 'lv_e2e_end l1' EXIT

if ! build_linux_guest "$W/guest" 2>"$W/why"; then
  echo "SKIP: the Linux test guest cannot be built: $(cat "$W/why")"
  exit 77
fi
MARKER=rpfs-drill-marker-7f3a
printf '%s' "$MARKER" >"$W/l1.raw"
truncate -s 64M "$W/l1.raw"
qemu-img convert -O qcow2 "$W/l1.raw" "$W/l1.qcow2"
rm "$W/l1.raw"

libvirt_start
linux_domain_xml l1 "$W/l1.qcow2" "$W/guest" >"$W/l1.xml"
virsh define "$W/l1.xml" >/dev/null
"$RPFS" init >/dev/null
"$RPFS" vm import l1 >/dev/null
"$RPFS" create l1 r1 >/dev/null

drill_domains() { lv_drill_domains; }
drill_clones() { lv_drill_clones l1; }
left_nothing() {
  [[ $(drill_domains) == 0 && $(drill_clones) == 0 ]] ||
    fail "$1 left a domain or a clone: $(virsh list --all --name) $("$RPFS" clone-list l1)"
}

# --- 1. the agent answers, and the command reads the marker from the clone's disk ---------
log "drill --exec (guest runs under domain type $(lg_domain_type))"
check="head -c ${#MARKER} /dev/vda | grep -qx $MARKER"
out=$("$RPFS" drill l1 r1 --timeout 120 --exec "$check" --json) || fail "drill --exec: $out"
grep -q '"ok": true' <<<"$out" || fail "drill --exec: $out"
grep -q "the guest agent answered; then \`$check\` exited 0" <<<"$out" || fail "reason: $out"
left_nothing "drill --exec"
info=$("$RPFS" info l1 r1)
grep -q "^drill: ok at .*exited 0" <<<"$info" || fail "info: $info"
log "$(grep '"boot_ms"' <<<"$out" | tr -d ' ,')"

# --- 2. a failing command fails the drill with its code and stderr --------------------------
log "drill --expect --exec with a failing command"
rc=0
"$RPFS" drill l1 r1 --timeout 120 --expect "rpfs-linux-guest up" \
  --exec 'echo "no database here" >&2; exit 3' >"$W/out" 2>&1 || rc=$?
((rc == 8)) || fail "drill with a failing command: exit $rc, want 8: $(cat "$W/out")"
grep -q 'the serial console showed "rpfs-linux-guest up"; then .* exited 3: no database here' \
  "$W/out" || fail "reason: $(cat "$W/out")"
left_nothing "a failed drill"
list=$("$RPFS" list l1 --json)
grep -q '"reason": ".*exited 3: no database here' <<<"$list" ||
  fail "list --json has not the failed drill: $list"
log "ok"
