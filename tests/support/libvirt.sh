# Shared by tests/e2e/libvirt_e2e.sh and bench/libvirt_bench.sh (sourced, bash): starts
# libvirtd for qemu:///system when none answers, builds the writer test guest, defines it
# (KVM when it works, TCG otherwise), and undoes all of it in libvirt_stop.
#
# A script sets W (its work directory) and SRC (the repository) first, and calls
# libvirt_stop from its EXIT trap.

LV_STARTED_LIBVIRTD=""
LV_STARTED_VIRTLOGD=""
LV_KVM_MODE=""
export LIBVIRT_DEFAULT_URI=qemu:///system

lv_fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# The start of an e2e test script: exit 77 (skipped, with the reason) without root or one
# of the tools; then a work directory W (named after PREFIX) holding the store
# (RPFS_STORE) and the mount point MNT, and log/fail. lv_e2e_end undoes it.
lv_e2e_begin() {  # prefix extra-tools...
  local tool
  if [[ $(id -u) -ne 0 ]]; then echo "SKIP: needs root (libvirtd, /dev/fuse)"; exit 77; fi
  for tool in libvirtd virtlogd virsh qemu-system-x86_64 qemu-img as ld "${@:2}"; do
    if ! command -v "$tool" >/dev/null; then
      echo "SKIP: $tool is not installed (run scripts/install-deps.sh)"
      exit 77
    fi
  done
  W=$(mktemp -d "/tmp/rpfs-$1-XXXXXX")
  chmod 0755 "$W"
  export RPFS_STORE=$W/store
  MNT=$W/mnt
  DAEMON=""
  log() { echo "--- $*"; }
  fail() { lv_fail "$@"; }
}

# From the EXIT trap: the mount's daemon (pid in DAEMON, if any), the domains named, the
# daemons libvirt_start started, the work directory.
lv_e2e_end() {  # domains...
  set +e
  if [[ -n $DAEMON ]]; then
    fusermount3 -u "$MNT" 2>/dev/null
    kill -TERM "$DAEMON" 2>/dev/null
    wait "$DAEMON" 2>/dev/null
  fi
  libvirt_stop "$@"
  rm -rf "$W"
}

# How many drill domains libvirt knows, and drill clones VM has (RPFS: the binary), counted
# from captured output: a failing virsh or rpfs fails the test instead of counting 0.
lv_drill_domains() {
  local all
  all=$(virsh list --all --name) || lv_fail "virsh list failed"
  grep -c '^rpfs-drill-' <<<"$all" || true
}
lv_drill_clones() {  # vm
  local all
  all=$("$RPFS" clone-list "$1") || lv_fail "rpfs clone-list $1 failed"
  grep -c 'rpfs-drill-' <<<"$all" || true
}

# poll_until SECONDS WHAT CMD...: runs CMD until it succeeds; fails naming WHAT after the
# deadline. (libvirt has no readiness signal for these: a daemon answering, a job ending,
# a guest's write counter.)
poll_until() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    ((SECONDS < deadline)) || lv_fail "timed out after waiting for $what"
    sleep 0.1
  done
}

libvirt_start() {
  # With /dev/kvm at root 0600 libvirt re-probes qemu on every lookup (seconds each, a
  # minute for a restore): give it Debian's usual root:kvm 0660, put back in libvirt_stop.
  if [[ -c /dev/kvm ]] && getent group kvm >/dev/null; then
    LV_KVM_MODE="$(stat -c '%u:%g %a' /dev/kvm)"
    chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
  fi
  if ! virsh version >/dev/null 2>&1; then
    if [[ -z $(lv_live_pids virtlogd) ]]; then
      virtlogd -d
      LV_STARTED_VIRTLOGD=$(lv_live_pids virtlogd | tail -1)
    fi
    libvirtd -d
    LV_STARTED_LIBVIRTD=$(lv_live_pids libvirtd | tail -1)
    poll_until 60 "libvirtd to answer at $LIBVIRT_DEFAULT_URI" virsh -q version
  fi
}

# Whether process PID still runs (a zombie, which nobody may reap here, does not).
lv_alive() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z && $st != X ]]
}

# The live processes named NAME, in pid order. Not pgrep alone: where nothing reaps
# orphans (a container's PID 1), the daemons an earlier script stopped stay as zombies.
lv_live_pids() {  # name
  local pid
  for pid in $(pgrep -x "$1"); do
    if lv_alive "$pid"; then echo "$pid"; fi
  done
}

libvirt_stop() {  # domains to destroy and undefine first
  local d
  # Every step may fail (a domain already gone) and none may end the function: scripts call
  # it from an EXIT trap under `set -e`, where the first failure would skip the rest and
  # leave the daemons running and /dev/kvm's mode changed.
  for d in "$@"; do
    virsh destroy "$d" >/dev/null 2>&1 || true
    virsh undefine "$d" --checkpoints-metadata >/dev/null 2>&1 || true
  done
  # Waited for: the next script's libvirt_start must not find a libvirtd still answering
  # on its way out (it would then go on without virtlogd).
  for d in "$LV_STARTED_LIBVIRTD" "$LV_STARTED_VIRTLOGD"; do
    [[ -n $d ]] || continue
    kill "$d" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while lv_alive "$d" && ((SECONDS < deadline)); do sleep 0.1; done
  done
  if [[ -n $LV_KVM_MODE ]]; then
    chown "${LV_KVM_MODE%% *}" /dev/kvm || true
    chmod "${LV_KVM_MODE##* }" /dev/kvm || true
  fi
  return 0
}

# The boot sector of tests/support/guest/writer.S at $W/w.bin.
build_writer_guest() {
  as --32 "$SRC/tests/support/guest/writer.S" -o "$W/w.o"
  ld -m elf_i386 -Ttext 0x7c00 --oformat binary "$W/w.o" -o "$W/w.bin"
}

# The boot sector of tests/support/guest/idle.S (a guest that halts) at $W/idle.bin.
build_idle_guest() {
  as --32 "$SRC/tests/support/guest/idle.S" -o "$W/idle.o"
  ld -m elf_i386 -Ttext 0x7c00 --oformat binary "$W/idle.o" -o "$W/idle.bin"
}

# The boot sector of tests/support/guest/acpi.S at $W/acpi.bin: it counts its boots in
# sector 1, says "rpfs-test-guest up" on its serial port and powers off on ACPI request.
build_acpi_guest() {
  as --32 "$SRC/tests/support/guest/acpi.S" -o "$W/acpi.o"
  ld -m elf_i386 -Ttext 0x7c00 --oformat binary "$W/acpi.o" -o "$W/acpi.bin"
}

# The boot count of the acpi guest in a disk image (any format qemu-img reads, also while
# the domain runs).
boot_count() {  # image
  local raw=$W/.boot-count.raw
  qemu-img convert -U -O raw "$1" "$raw"
  od -An -tu2 -j 512 -N 2 "$raw" | tr -d ' '
  rm -f "$raw"
}

# The domain XML of a qcow2 image as the virtio disk vda (shared by the test guests).
lv_vda_xml() {  # qcow2-path
  cat <<EOF
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$1'/>
      <target dev='vda' bus='virtio'/>
    </disk>
EOF
}

writer_domain_xml() {  # name qcow2-path type
  cat <<EOF
<domain type='$3'>
  <name>$1</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <devices>
$(lv_vda_xml "$2")
  </devices>
</domain>
EOF
}

# Defines and starts domain NAME on the qcow2 image; prints "KVM" or "TCG".
start_writer_domain() {  # name qcow2-path
  writer_domain_xml "$1" "$2" kvm >"$W/$1-kvm.xml"
  writer_domain_xml "$1" "$2" qemu >"$W/$1-tcg.xml"
  if virsh define "$W/$1-kvm.xml" >/dev/null 2>&1 && virsh start "$1" >/dev/null 2>&1; then
    echo KVM
    return
  fi
  virsh undefine "$1" >/dev/null 2>&1 || true
  virsh define "$W/$1-tcg.xml" >/dev/null
  virsh start "$1" >/dev/null
  echo TCG
}

wr_reqs() { virsh domblkstat "${1:-w1}" vda | awk '$2 == "wr_req" {print $3}'; }

wrote_at_least() { (($(wr_reqs "$1") >= $2)); }

wait_for_writes() {  # N [domain]: until the guest has written at least N more requests
  local dom=${2:-w1}
  poll_until 30 "guest $dom to write" wrote_at_least "$dom" $(($(wr_reqs "$dom") + $1))
}
