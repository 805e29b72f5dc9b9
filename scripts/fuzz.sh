#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a bounded time
# on its corpus in tests/fuzz/corpus/<target>/ (new inputs it finds go to build-fuzz/).
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 30; CI uses the default)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-30}
OUT=build-fuzz
mkdir -p "$OUT"
CXX=${CXX_FUZZ:-clang++}
FLAGS=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -Iinclude -Isrc)

# target -> the sources (and libraries) it needs beyond its own file: decoders only.
declare -A SOURCES=(
  # The parser reads the verb table (verbs.cc), whose rows also point at the functions that
  # carry a verb out; those reach the repository, which the parser never calls, so the
  # harness leaves them unresolved (a call would crash the run, and so be found).
  [control_command]="src/control/command.cc src/control/verbs.cc src/util/names.cc
                     src/util/status.cc -fno-pie -no-pie -Wl,--unresolved-symbols=ignore-all"
  [records]="src/format/records.cc src/format/page.cc src/format/chunk_codec.cc
             src/util/coding.cc src/util/hash.cc src/util/status.cc -lcrypto -lxxhash -lzstd"
  [daemon_request]="src/cli/daemon_request.cc src/util/coding.cc src/util/status.cc"
  [json_text]="src/cli/json_text.cc src/util/utf8.cc"
  [guest_volumes]="src/guest/scan.cc src/guest/partitions_mbr.cc src/guest/partitions_gpt.cc
                   src/guest/lvm.cc src/guest/lvm_label.cc src/guest/lvm_metadata.cc
                   src/guest/fs_probe.cc src/guest/fs_type.cc src/guest/disk_bytes.cc
                   src/guest/crc32.cc src/guest/byte_source.cc src/util/status.cc"
  [lvm_metadata]="src/guest/lvm_metadata.cc src/util/status.cc"
  [guest_jbd2]="src/guest/jbd2_replay.cc src/guest/jbd2_superblock.cc src/guest/crc32.cc
                src/guest/block_overlay.cc src/guest/byte_source.cc src/util/status.cc"
  [guest_ext_journal]="src/guest/ext_journal.cc src/guest/ext_file_map.cc
                src/guest/jbd2_replay.cc src/guest/jbd2_superblock.cc src/guest/crc32.cc
                src/guest/block_overlay.cc src/guest/byte_source.cc src/util/status.cc"
  [guest_helper_protocol]="src/guest/helper_protocol.cc src/util/coding.cc src/util/status.cc"
  [region_manifest]="src/region/manifest.cc src/util/coding.cc src/util/hash.cc src/util/names.cc
                     src/util/status.cc -lcrypto -lxxhash"
)

for target in "${!SOURCES[@]}"; do
  echo "== fuzz $target (${SECONDS_PER_TARGET}s)"
  # shellcheck disable=SC2086
  "$CXX" "${FLAGS[@]}" "tests/fuzz/${target}_fuzz.cc" ${SOURCES[$target]} -o "$OUT/$target"
  mkdir -p "$OUT/corpus-$target"
  # A target without a seed corpus in git (yet) starts from nothing rather than failing.
  seeds=()
  [[ -d "tests/fuzz/corpus/$target" ]] && seeds=("tests/fuzz/corpus/$target")
  "$OUT/$target" -max_total_time="$SECONDS_PER_TARGET" -max_len=8192 -print_final_stats=1 \
    "$OUT/corpus-$target" "${seeds[@]}" 2>&1 | tail -n 12
done
