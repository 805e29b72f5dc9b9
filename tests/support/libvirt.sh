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
    if ! pgrep -x virtlogd >/dev/null; then
      virtlogd -d
      LV_STARTED_VIRTLOGD=$(pgrep -n -x virtlogd)
    fi
    libvirtd -d
    LV_STARTED_LIBVIRTD=$(pgrep -n -x libvirtd)
    poll_until 60 "libvirtd to answer at $LIBVIRT_DEFAULT_URI" virsh -q version
  fi
}

libvirt_stop() {  # domains to destroy and undefine first
  local d
  for d in "$@"; do
    virsh destroy "$d" >/dev/null 2>&1
    virsh undefine "$d" --checkpoints-metadata >/dev/null 2>&1
  done
  if [[ -n $LV_STARTED_LIBVIRTD ]]; then kill "$LV_STARTED_LIBVIRTD"; fi
  if [[ -n $LV_STARTED_VIRTLOGD ]]; then kill "$LV_STARTED_VIRTLOGD"; fi
  if [[ -n $LV_KVM_MODE ]]; then
    chown "${LV_KVM_MODE%% *}" /dev/kvm
    chmod "${LV_KVM_MODE##* }" /dev/kvm
  fi
  return 0
}

# The boot sector of tests/support/guest/writer.S at $W/w.bin.
build_writer_guest() {
  as --32 "$SRC/tests/support/guest/writer.S" -o "$W/w.o"
  ld -m elf_i386 -Ttext 0x7c00 --oformat binary "$W/w.o" -o "$W/w.bin"
}

writer_domain_xml() {  # name qcow2-path type
  cat <<EOF
<domain type='$3'>
  <name>$1</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
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
