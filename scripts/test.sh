#!/usr/bin/env bash
# The whole test suite, from a bare Debian 12 machine: installs dependencies, checks
# formatting, builds with -Werror, runs every test (unit, integration, e2e), then builds
# again with ASan+UBSan and runs the unit and integration tests under them, and runs the
# concurrency tests under TSan.
#   scripts/test.sh            everything
#   scripts/test.sh --quick    skip the sanitizer builds
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[[ "${1:-}" == "--quick" ]] && quick=1

bash scripts/install-deps.sh
bash scripts/format.sh --check

# CI compiles three times on two cores: line tables (-g1) instead of full debug info, and
# -O1 for the sanitizer builds, keep that under half the run (stack traces keep lines).
echo "== build (-O2 -g1, -Werror)"
RPFS_BUILD_DIR=build bash scripts/build.sh -DRPFS_WERROR=ON -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1"
echo "== tests"
(cd build && ctest -j"$(nproc)" --output-on-failure)

echo "== torture: bounded crash loop, fault injection, bit rot (docs/testing.md)"
RPFS_BUILD_DIR=build bash scripts/torture.sh --iterations 300 --max-seconds 120
# (fault injection and security ran in ctest above; bit rot again: 40 more flips, another seed)
RPFS_BITROT_TRIALS=40 RPFS_BITROT_SEED=2 build/tests/rpfs_e2e_test --gtest_brief=1 --gtest_filter='BitRotTest.*'

if ((quick == 0)); then
  echo "== build (ASan+UBSan)"
  # Only what the unit and integration tests need (the e2e tests run above, unsanitised).
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRPFS_WERROR=ON \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DRPFS_SANITIZE=address,undefined -DRPFS_BUILD_BENCH=OFF >/dev/null
  cmake --build build-asan -j"$(nproc)" --target rpfs_util_test rpfs_format_test \
    rpfs_store_test rpfs_image_test rpfs_virt_test \
    rpfs_rp_unit_test rpfs_control_test rpfs_region_test rpfs_integration_test
  echo "== unit + integration tests under ASan+UBSan"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  (cd build-asan && ctest -j"$(nproc)" --output-on-failure -L 'unit|integration')

  echo "== concurrency tests under TSan (thread pool, read-ahead, socket, readers, fs, deleted-while-read, clones, region prefetch, guest prefetch)"
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRPFS_SANITIZE=thread \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DRPFS_BUILD_BENCH=OFF >/dev/null
  cmake --build build-tsan -j"$(nproc)" --target rpfs_util_test rpfs_integration_test \
    rpfs_region_test
  export TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/tests/tsan.supp"
  build-tsan/tests/rpfs_util_test --gtest_filter='ThreadPool*:ReadAhead*:UnixSocket*'
  # A region clone's reader waiting for the chunk its read-ahead is fetching.
  build-tsan/tests/rpfs_region_test --gtest_filter='RegionTest.ReadOfAChunkBeingPrefetched*'
  build-tsan/tests/rpfs_integration_test \
    --gtest_filter='FilesystemTest.*:FilesystemNamespaceTest.*:ReaderTest.*:RepoTest.DiskReader*:DeletedWhileReadTest.*:CloneTest.*:GuestFilesTest.Concurrent*-*DeadProcess*'
  # (*DeadProcess* tests fork a child that starts threads, which TSan cannot follow.)

  echo "== fuzzing (libFuzzer, bounded)"
  bash scripts/fuzz.sh 30
fi
echo "== all tests passed"
