#!/usr/bin/env bash
# Installs every Debian 12 package rpfs needs to build, test and benchmark.
# Idempotent: packages already present are skipped by apt; safe to run again.
set -euo pipefail

BUILD_PKGS=(
  build-essential cmake pkg-config clang-format
  libfuse3-dev fuse3 librocksdb-dev libzstd-dev libssl-dev libvirt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev libnbd-dev libxxhash-dev libxml2-dev
  libext2fs-dev comerr-dev libtsk-dev libseccomp-dev
  # librados for the Ceph backend: librados-dev has only the C header, librados.hpp is in
  # libradospp-dev; there is no librados.pc, link with -lrados.
  librados-dev libradospp-dev
)
# Runtime tools used by the tests: qemu-img/qemu-nbd/qemu-io for qcow2 disks and image locks,
# mkfs.ext4 for demo images, clang for the libFuzzer targets (scripts/fuzz.sh).
# libvirtd, virtlogd, virsh and qemu for the libvirt tests (tests/e2e/libvirt_e2e.sh starts
# and stops the daemons itself), binutils to assemble the test guest. Guest-file tests build
# partitioned images with fdisk/gdisk/parted/lvm2 and filesystems with e2fsprogs, dosfstools,
# exfatprogs, ntfs-3g, xorriso and xfsprogs; mtools, sleuthkit and ntfs-3g are their oracles;
# exfat-fuse fills exFAT test images (the kernel here has no exfat). The package test
# (tests/package) builds a .deb (dpkg-shlibdeps from dpkg-dev), checks its units with
# systemd-analyze and its pages with man; the metrics test parses with prometheus_client.
# ceph-mon, ceph-osd and ceph-common run a throwaway one-node Ceph cluster
# (scripts/ceph-test-cluster.sh) for the librados backend tests; no ceph-mgr is needed.
# linux-image-cloud-amd64, qemu-guest-agent, busybox-static and cpio make a Linux guest with
# a real qemu-ga (tests/support/linux_guest.sh) for the drill --exec tests.
TEST_PKGS=(qemu-utils rsync e2fsprogs util-linux clang binutils exfat-fuse
  libvirt-daemon-system libvirt-clients qemu-system-x86
  fdisk gdisk parted lvm2 dosfstools mtools exfatprogs ntfs-3g xorriso xfsprogs sleuthkit
  dpkg-dev man-db systemd python3-prometheus-client
  ceph-mon ceph-osd ceph-common
  linux-image-cloud-amd64 qemu-guest-agent busybox-static cpio)
# Peers and tools for bench/ only (installed with --bench).
BENCH_PKGS=(borgbackup python3-llfuse restic casync fio debootstrap hyperfine time python3)

want=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}")
if [[ "${1:-}" == "--bench" ]]; then want+=("${BENCH_PKGS[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#want[@]} packages already installed"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
