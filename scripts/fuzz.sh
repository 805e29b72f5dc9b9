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
  [guest_helper_protocol]="src/guest/helper_protocol.cc src/util/coding.cc src/util/status.cc"
)

for target in "${!SOURCES[@]}"; do
  echo "== fuzz $target (${SECONDS_PER_TARGET}s)"
  # shellcheck disable=SC2086
  "$CXX" "${FLAGS[@]}" "tests/fuzz/${target}_fuzz.cc" ${SOURCES[$target]} -o "$OUT/$target"
  mkdir -p "$OUT/corpus-$target"
  "$OUT/$target" -max_total_time="$SECONDS_PER_TARGET" -max_len=8192 -print_final_stats=1 \
    "$OUT/corpus-$target" "tests/fuzz/corpus/$target" 2>&1 | tail -n 12
done
