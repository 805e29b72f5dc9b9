#!/usr/bin/env bash
# Rollback compare benchmark (issue 16): a rollback where nothing differs, so every data
# chunk of the image is read and SHA-256-compared and none written: the cost of a rollback
# without changed-block information. A 4 GiB raw image with 1 GiB of random data; cold
# (page cache dropped) and warm (the image read into the page cache first); one or two rpfs
# binaries alternating in one run (A/B of a change), median of --runs. Results: bench/results/rollback_compare.md.
#
#   sudo bench/rollback_compare.sh [--runs N] NEW_RPFS [OLD_RPFS]
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUNS=3
if [[ ${1:-} == --runs ]]; then RUNS=$2; shift 2; fi
[[ $# -ge 1 ]] || { echo "usage: $0 [--runs N] NEW_RPFS [OLD_RPFS]" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "rollback_compare.sh: needs root (drop_caches)" >&2; exit 1; }
declare -A BIN=([new]=$(realpath "$1"))
[[ -n ${2:-} ]] && BIN[old]=$(realpath "$2")
W=$(mktemp -d /var/tmp/rpfs-rbcmp-XXXXXX)
trap 'rm -rf "$W"' EXIT
truncate -s 4G "$W/d.raw"
dd if=/dev/urandom of="$W/d.raw" bs=1M seek=64 count=1024 conv=notrunc status=none
"${BIN[new]}" --store "$W/s" init >/dev/null
"${BIN[new]}" --store "$W/s" vm add v --disk vda="$W/d.raw" >/dev/null
"${BIN[new]}" --store "$W/s" create v r1 >/dev/null

seconds() {  # cmd...
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f\n", b - a}'
}
declare -A T
for ((r = 0; r < RUNS; r++)); do
  for b in "${!BIN[@]}"; do
    sync
    echo 3 >/proc/sys/vm/drop_caches
    T[$b/cold]+="$(seconds "${BIN[$b]}" --store "$W/s" rollback v r1 --yes) "
    # Warm: the image in the page cache (as after a VM that ran with a host-cached disk),
    # read into it by cat, not left there by the rollback before (direct reads leave none).
    cat "$W/d.raw" >/dev/null
    T[$b/warm]+="$(seconds "${BIN[$b]}" --store "$W/s" rollback v r1 --yes) "
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
OUT=$BENCH_DIR/results/rollback_compare.md
{
  echo "# Rollback compare benchmark (bench/rollback_compare.sh)"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores. A rollback where nothing differs: every data chunk of a 4 GiB raw image (1 GiB of random data) read and SHA-256-compared, none written; cold = page cache dropped, warm = the image read into the page cache by \`cat\` just before. Median of $RUNS runs (all listed), seconds; binaries alternate within each run."
  echo
  echo "| binary | cold | runs | warm | runs |"
  echo "|---|---|---|---|---|"
  for b in "${!BIN[@]}"; do
    echo "| $b (${BIN[$b]}) | $(median <<<"${T[$b/cold]}") | ${T[$b/cold]% } | $(median <<<"${T[$b/warm]}") | ${T[$b/warm]% } |"
  done
} >"$OUT"
cat "$OUT"
