#!/usr/bin/env bash
# Ingest benchmark (issue 16): the first RP of an image into a fresh store, against borg's
# fixed 4 MiB lz4 and zstd 3 archives of the same image (SPEC §6: ≥ 2× borg fixed lz4, with
# a store ≤ borg fixed zstd 3), alternating in one run. Without borg, rpfs alone.
# Two images, both without holes: the first N MiB of a tar of /usr (compressible, like
# read.sh's) and N MiB of random bytes (incompressible: every byte stored).
# Each figure is the median of --runs runs, page cache dropped before each.
# --also-level L adds rpfs with a store made by `init --compression-level L` (rpfs-zstdL),
# to show what another level trades between speed and store size in the same run.
# Results: bench/results/ingest.md.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RPFS=${RPFS:-$(dirname "$BENCH_DIR")/build/src/cli/rpfs}
WORK=${BENCH_WORK:-$BENCH_DIR/results/work}/ingest
SIZE_MIB=1024
RUNS=3
ALSO_LEVEL=
while (($#)); do
  case "$1" in
    --size-mib) SIZE_MIB=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --also-level) ALSO_LEVEL=$2; shift ;;
    *) echo "usage: $0 [--size-mib N] [--runs N] [--also-level L]" >&2; exit 2 ;;
  esac
  shift
done
[[ $(id -u) == 0 ]] || { echo "ingest.sh: needs root (drop_caches)" >&2; exit 1; }
[[ -x $RPFS ]] || { echo "ingest.sh: build rpfs first ($RPFS)" >&2; exit 1; }
mkdir -p "$WORK"
trap 'rm -rf "$WORK/stores"' EXIT

cold() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s.%N; }
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# One timed run of CMD... after a cold cache; prints seconds.
timed() {
  cold
  local t0 t1
  t0=$(now)
  "$@" >"$WORK/last.log" 2>&1 || { echo "ingest.sh: failed: $* ($(tail -3 "$WORK/last.log"))" >&2; exit 1; }
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f\n", b - a}'
}
rpfs_first_rp() {  # image, init options...
  rm -rf "$WORK/stores/rpfs"
  "$RPFS" --store "$WORK/stores/rpfs" init "${@:2}" >/dev/null
  "$RPFS" --store "$WORK/stores/rpfs" vm add v --disk vda="$1" >/dev/null
  timed "$RPFS" --store "$WORK/stores/rpfs" create v full
}
borg_first() {  # image, compression
  rm -rf "$WORK/stores/borg"
  BORG_PASSPHRASE="" borg init --encryption none "$WORK/stores/borg" >/dev/null
  timed env BORG_PASSPHRASE="" borg create --chunker-params fixed,4194304 --compression "$2" \
    "$WORK/stores/borg::a" "$1"
}

images=(tar random)
[[ -s $WORK/tar.raw ]] || (tar -cf - /usr 2>/dev/null || true) | head -c $((SIZE_MIB << 20)) >"$WORK/tar.raw"
[[ -s $WORK/random.raw ]] || head -c $((SIZE_MIB << 20)) /dev/urandom >"$WORK/random.raw"
configs=(rpfs)
[[ -n $ALSO_LEVEL ]] && configs+=("rpfs-zstd$ALSO_LEVEL")
command -v borg >/dev/null && configs+=(borg-lz4 borg-zstd3)
declare -A sizes

declare -A times
for img in "${images[@]}"; do
  for ((r = 0; r < RUNS; r++)); do
    for c in "${configs[@]}"; do
      case $c in
        rpfs) t=$(rpfs_first_rp "$WORK/$img.raw") store=$WORK/stores/rpfs ;;
        rpfs-zstd*) t=$(rpfs_first_rp "$WORK/$img.raw" --compression-level="$ALSO_LEVEL") store=$WORK/stores/rpfs ;;
        borg-lz4) t=$(borg_first "$WORK/$img.raw" lz4) store=$WORK/stores/borg ;;
        borg-zstd3) t=$(borg_first "$WORK/$img.raw" zstd,3) store=$WORK/stores/borg ;;
      esac
      times[$img/$c]+="$t "
      sizes[$img/$c]=$(du -sb "$store" | cut -f1)
    done
  done
done

OUT=$BENCH_DIR/results/ingest.md
{
  echo "# Ingest benchmark (bench/ingest.sh)"
  echo
  echo "\`bench/ingest.sh --size-mib $SIZE_MIB --runs $RUNS${ALSO_LEVEL:+ --also-level $ALSO_LEVEL}\` — git $(git -C "$BENCH_DIR" rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load at end $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "First RP (borg: first archive) of a $SIZE_MIB MiB image without holes into a fresh store, cold page cache, median of $RUNS runs (all runs listed), seconds; MB/s of image data; store = \`du -sb\` after the last run. Tools alternate within each run; the last column is the tool's time over rpfs's (above 1: rpfs is faster)."
  echo
  echo "| image | tool | s | runs | MB/s | store MB | rpfs speed vs it |"
  echo "|---|---|---|---|---|---|---|"
  for img in "${images[@]}"; do
    ours=$(tr ' ' '\n' <<<"${times[$img/rpfs]}" | grep . | median)
    for c in "${configs[@]}"; do
      m=$(tr ' ' '\n' <<<"${times[$img/$c]}" | grep . | median)
      echo "| $img | $c | $m | ${times[$img/$c]% } | $(awk -v s="$SIZE_MIB" -v t="$m" 'BEGIN {printf "%.0f", s * 1.048576 / t}') | $(awk -v b="${sizes[$img/$c]}" 'BEGIN {printf "%.0f", b / 1e6}') | $(awk -v a="$ours" -v b="$m" 'BEGIN {printf "%.2fx", b / a}') |"
    done
  done
} >"$OUT"
cat "$OUT"
