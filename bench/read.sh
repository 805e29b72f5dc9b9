#!/usr/bin/env bash
# Read-path benchmark (issue 16), on an image WITHOUT holes so every figure is data throughput:
#   - sequential `dd bs=1M` of an RP image through `rpfs mount`, cold page cache, against `cat`
#     of the source image (cold) and `borg mount` of the same image (fixed 4 MiB chunks, lz4);
#   - hydration of an instant clone by `dd` (cold), and a second read of it (page cache);
#   - `rpfs export` of the RP against `cp --sparse=always` + `sync` of the source image.
# The image is the first N MiB of a tar of /usr (real, mixed, compressible data: no chunk of
# zeros worth mentioning), made once and kept in the work directory.
# Each figure is the median of --runs runs; ratios are computed within this one run.
# Results: bench/results/read.{md,json}; log in <work>/read/log.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(dirname "$BENCH_DIR")
RPFS_SRC=${RPFS:-$ROOT_DIR/build/src/cli/rpfs}
WORK_ROOT=${BENCH_WORK:-$BENCH_DIR/results/work}
RESULTS_DIR=$BENCH_DIR/results
SIZE_MIB=1024
RUNS=3
OUT_NAME=read
WITH_BORG=1

usage() {
  cat <<EOF
usage: $0 [--size-mib N] [--runs N] [--no-borg] [--out NAME] [--work DIR] [--rpfs PATH]
  --size-mib N  image size (default $SIZE_MIB)
  --runs N      runs per figure, the median is reported (default $RUNS)
  --no-borg     leave out the borg peer (it takes the longest to set up)
  --out NAME    results file name under bench/results (default $OUT_NAME)
EOF
}
while (($#)); do
  case "$1" in
    --size-mib) SIZE_MIB=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --no-borg) WITH_BORG=0 ;;
    --out) OUT_NAME=$2; shift ;;
    --work) WORK_ROOT=$2; shift ;;
    --rpfs) RPFS_SRC=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "read.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
log() { printf '[read-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (drop_caches, mounts)"
for c in python3 fusermount3 tar; do command -v $c >/dev/null || die "missing $c"; done
((WITH_BORG == 0)) || command -v borg >/dev/null || die "missing borg (scripts/install-deps.sh --bench, or --no-borg)"

RUN=$WORK_ROOT/read
case $RUN in */read) ;; *) die "refusing to use $RUN" ;; esac
IMG=$WORK_ROOT/nohole-${SIZE_MIB}m.raw
MOUNTS=()
cleanup() {
  local rc=$?
  set +e
  for m in "${MOUNTS[@]}"; do fusermount3 -uz "$m" 2>/dev/null; done
  ((rc == 0)) || log "failed (exit $rc); see $RUN/log"
  rm -rf "$RUN/repos" "$RUN/home" "$RUN/out"
  exit $rc
}
trap cleanup EXIT
rm -rf "$RUN"
mkdir -p "$RUN/vm" "$RUN/repos" "$RUN/bin" "$RUN/mnt" "$RUN/home" "$RUN/out"
cp "$RPFS_SRC" "$RUN/bin/rpfs"
RPFS=$RUN/bin/rpfs
LOG=$RUN/log
RECORDS=$RUN/records.jsonl
: >"$RECORDS"
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_PASSPHRASE="" HOME=$RUN/home BORG_BASE_DIR=$RUN/home

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s%N; }
# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
record() { printf '{"key":"%s","value":%s}\n' "$1" "$2" >>"$RECORDS"; }

if [[ ! -s $IMG || $(stat -c %s "$IMG") != $((SIZE_MIB << 20)) ]]; then
  log "making $IMG: the first $SIZE_MIB MiB of a tar of /usr"
  (tar -cf - /usr 2>/dev/null || true) | head -c $((SIZE_MIB << 20)) >"$IMG.tmp"
  [[ $(stat -c %s "$IMG.tmp") == $((SIZE_MIB << 20)) ]] || die "/usr holds less than $SIZE_MIB MiB"
  mv "$IMG.tmp" "$IMG"
fi
SIZE=$(stat -c %s "$IMG")
ZERO_CHUNKS=$(python3 - "$IMG" <<'EOF'
import sys
z = bytes(65536); n = 0
with open(sys.argv[1], 'rb') as f:
    while True:
        b = f.read(65536)
        if not b: break
        n += b == z[:len(b)]
print(n)
EOF
)
log "image $IMG: $SIZE bytes, $ZERO_CHUNKS all-zero 64 KiB chunks"
record image_bytes "$SIZE"
record zero_chunks "$ZERO_CHUNKS"
ln -f "$IMG" "$RUN/vm/vda.raw" 2>/dev/null || cp "$IMG" "$RUN/vm/vda.raw"

# timed_read KEY FILE [cold|warm]: median MB/s of `dd bs=1M` over RUNS runs.
timed_read() {
  local key=$1 file=$2 mode=${3:-cold} t0 t1 v=()
  for _ in $(seq "$RUNS"); do
    [[ $mode == cold ]] && drop_caches
    t0=$(now); dd if="$file" of=/dev/null bs=1M status=none; t1=$(now)
    v+=("$(awk -v s="$SIZE" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", s / ((b - a) / 1e9) / 1e6 }')")
  done
  record "$key" "$(median "${v[@]}")"
  log "$key: $(median "${v[@]}") MB/s (runs: ${v[*]})"
}

# --- source ---------------------------------------------------------------------------------------
v=()
for _ in $(seq "$RUNS"); do
  drop_caches
  t0=$(now); cat "$IMG" >/dev/null; t1=$(now)
  v+=("$(awk -v s="$SIZE" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", s / ((b - a) / 1e9) / 1e6 }')")
done
record source_cat_cold_mbps "$(median "${v[@]}")"
log "source cat cold: $(median "${v[@]}") MB/s (runs: ${v[*]})"

# --- rpfs -----------------------------------------------------------------------------------------
STORE=$RUN/repos/rpfs
"$RPFS" --store "$STORE" init >>"$LOG"
"$RPFS" --store "$STORE" vm add bench --disk "vda=$RUN/vm/vda.raw" >>"$LOG"
"$RPFS" --store "$STORE" create bench rp1 >>"$LOG"
MNT=$RUN/mnt/rpfs
mkdir -p "$MNT"; MOUNTS+=("$MNT")
"$RPFS" --store "$STORE" mount "$MNT"
cmp -s "$MNT/bench/rp1/vda.raw" "$IMG" || die "rpfs: the mounted image differs from the source"
timed_read rpfs_dd_cold_mbps "$MNT/bench/rp1/vda.raw"

# hydration: a fresh clone per run, read cold, then once more (page cache)
v=()
for i in $(seq "$RUNS"); do
  echo "clone rp1 hyd$i" >"$MNT/bench/.control"
  f=$MNT/bench/.clones/hyd$i/vda.raw
  for _ in $(seq 100); do [[ -e $f ]] && break; sleep 0.1; done
  [[ -e $f ]] || die "clone hyd$i did not appear: $(tail -n2 "$MNT/bench/.status")"
  drop_caches
  t0=$(now); dd if="$f" of=/dev/null bs=1M status=none; t1=$(now)
  v+=("$(awk -v s="$SIZE" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", s / ((b - a) / 1e9) / 1e6 }')")
done
record clone_hydrate_dd_mbps "$(median "${v[@]}")"
log "clone hydration dd: $(median "${v[@]}") MB/s (runs: ${v[*]})"
cmp -s "$f" "$IMG" || die "rpfs: the hydrated clone differs from the source"
timed_read clone_second_read_mbps "$f" warm

# export against cp --sparse=always + sync
v=(); w=()
for _ in $(seq "$RUNS"); do
  rm -f "$RUN/out/"*; drop_caches
  t0=$(now); "$RPFS" --store "$STORE" export bench rp1 vda -o "$RUN/out/e.raw" >>"$LOG"; t1=$(now)
  v+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')")
  rm -f "$RUN/out/"*; drop_caches
  t0=$(now); cp --sparse=always "$IMG" "$RUN/out/c.raw"; sync; t1=$(now)
  w+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')")
done
record rpfs_export_seconds "$(median "${v[@]}")"
record cp_sparse_sync_seconds "$(median "${w[@]}")"
log "export: $(median "${v[@]}") s (runs: ${v[*]}); cp --sparse=always + sync: $(median "${w[@]}") s (runs: ${w[*]})"
fusermount3 -u "$MNT"
for _ in $(seq 100); do mountpoint -q "$MNT" || break; sleep 0.1; done

# --- borg -----------------------------------------------------------------------------------------
if ((WITH_BORG)); then
  REPO=$RUN/repos/borg
  log "borg: backing up (fixed 4 MiB, lz4)"
  (cd "$RUN" && borg init --encryption none "$REPO" &&
    borg create --chunker-params fixed,4194304 --compression lz4 "$REPO::rp1" vm/vda.raw) >>"$LOG" 2>&1 ||
    die "borg create failed (see $LOG)"
  BMNT=$RUN/mnt/borg
  mkdir -p "$BMNT"; MOUNTS+=("$BMNT")
  borg mount "$REPO::rp1" "$BMNT" >>"$LOG" 2>&1
  cmp -s "$BMNT/vm/vda.raw" "$IMG" || die "borg: the mounted image differs from the source"
  timed_read borg_dd_cold_mbps "$BMNT/vm/vda.raw"
  fusermount3 -u "$BMNT"
fi

python3 - "$RECORDS" "$RESULTS_DIR/$OUT_NAME" "$SIZE_MIB" "$RUNS" "$(git -C "$ROOT_DIR" rev-parse --short HEAD)" <<'EOF'
import json, sys, datetime
recs = {}
for line in open(sys.argv[1]):
    r = json.loads(line); recs[r["key"]] = r["value"]
out, size_mib, runs, rev = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
json.dump(recs, open(out + ".json", "w"), indent=1)
def ratio(a, b):
    return f"{recs[a] / recs[b]:.2f}x" if a in recs and b in recs and recs[b] else "-"
rows = [
    ("rpfs dd of the RP image, cold", f"{recs['rpfs_dd_cold_mbps']} MB/s", "cat of the source image, cold",
     f"{recs['source_cat_cold_mbps']} MB/s", ratio("rpfs_dd_cold_mbps", "source_cat_cold_mbps"), ">= 1x"),
]
if "borg_dd_cold_mbps" in recs:
    rows.append(("rpfs dd of the RP image, cold", f"{recs['rpfs_dd_cold_mbps']} MB/s", "borg mount (fixed 4 MiB, lz4), cold",
                 f"{recs['borg_dd_cold_mbps']} MB/s", ratio("rpfs_dd_cold_mbps", "borg_dd_cold_mbps"), ">= 5x"))
rows += [
    ("clone hydration by dd, cold", f"{recs['clone_hydrate_dd_mbps']} MB/s", "the RP's own read, cold",
     f"{recs['rpfs_dd_cold_mbps']} MB/s", ratio("clone_hydrate_dd_mbps", "rpfs_dd_cold_mbps"), ">= 0.9x"),
    ("second read of the hydrated clone", f"{recs['clone_second_read_mbps']} MB/s", "-", "-", "-", "page-cache speed"),
    ("rpfs export", f"{recs['rpfs_export_seconds']} s", "cp --sparse=always + sync",
     f"{recs['cp_sparse_sync_seconds']} s", f"{recs['cp_sparse_sync_seconds'] / recs['rpfs_export_seconds']:.2f}x", ">= 1x (speed)"),
]
with open(out + ".md", "w") as f:
    f.write("# Read-path benchmark (bench/read.sh)\n\n")
    f.write(f"Image: the first {size_mib} MiB of a tar of /usr, no holes ({recs['zero_chunks']} all-zero 64 KiB chunks); "
            f"cold = `echo 3 > drop_caches` before each run (the host below this VM may still cache); "
            f"median of {runs} runs. git {rev}, {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC.\n\n")
    f.write("| what | rpfs | reference | reference figure | ratio | goal |\n|---|---|---|---|---|---|\n")
    for r in rows: f.write("| " + " | ".join(str(x) for x in r) + " |\n")
print(open(out + ".md").read())
EOF
