#!/usr/bin/env bash
# The crash loop (tests/torture/): random operations on a scratch store, each SIGKILLed at
# a random crash point or after a random delay, with every invariant checked after each.
#   scripts/torture.sh                          100 iterations, random seed
#   scripts/torture.sh --iterations 5000        a soak
#   scripts/torture.sh --seed 42 --iterations 17 --verbose   replay a failure
# Other flags go to the driver: --max-seconds T, --keep, --work DIR (see rpfs_torture).
# Builds rpfs and rpfs_torture in $RPFS_BUILD_DIR (default build/) if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${RPFS_BUILD_DIR:-build}
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" -j"${RPFS_JOBS:-$(nproc)}" --target rpfs rpfs_torture >/dev/null
exec "$BUILD_DIR/tests/torture/rpfs_torture" --rpfs "$BUILD_DIR/src/cli/rpfs" "$@"
