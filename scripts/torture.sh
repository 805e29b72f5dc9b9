#!/usr/bin/env bash
# The crash loop (tests/torture/): random operations on a scratch store, each SIGKILLed at
# a random crash point or after a random delay, with every invariant checked after each.
#   scripts/torture.sh                          100 iterations, random seed
#   scripts/torture.sh --iterations 5000        a soak
#   scripts/torture.sh --seed 42 --iterations 17 --verbose   replay a failure
# Other flags go to the driver: --max-seconds T, --keep, --work DIR (see rpfs_torture).
# When Ceph is installed, a throwaway one-node cluster (scripts/ceph-test-cluster.sh) is
# started for the run and the loop also pushes to, deletes from and collects a region
# (RPFS_TORTURE_REGION=0 leaves it out).
# Builds rpfs and rpfs_torture in $RPFS_BUILD_DIR (default build/) if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${RPFS_BUILD_DIR:-build}
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" -j"${RPFS_JOBS:-$(nproc)}" --target rpfs rpfs_torture >/dev/null

region=()
if [[ "${RPFS_TORTURE_REGION:-1}" == 1 ]] && command -v ceph-osd >/dev/null; then
  ceph_dir=$(mktemp -d /tmp/rpfs-torture-ceph.XXXXXX)
  rmdir "$ceph_dir"
  trap 'bash scripts/ceph-test-cluster.sh stop "$ceph_dir" >/dev/null 2>&1 || true' EXIT
  if bash scripts/ceph-test-cluster.sh start "$ceph_dir" >/dev/null; then
    region=(--ceph-conf "$ceph_dir/ceph.conf")
  else
    echo "torture: the Ceph test cluster did not start; running without a region" >&2
  fi
fi
"$BUILD_DIR/tests/torture/rpfs_torture" --rpfs "$BUILD_DIR/src/cli/rpfs" "${region[@]}" "$@"
