#!/usr/bin/env bash
# Daemon memory benchmark (issue 16, SPEC §6: "daemon memory <= 256 MiB RSS after reading
# 100 GiB of RPs through the mount", measured, not inferred).
#
# K RPs of a 1 GiB image without holes (the first GiB of a tar of /usr, shared with
# bench/read.sh), each after 1/8 of the image's 64 KiB chunks were overwritten with random
# bytes, so every RP holds chunks the others do not. One `rpfs mount`; then passes over all K
# RP images with `dd bs=1M` (two at a time, the page cache dropped before each pass so every
# byte is read through the daemon) until --gib GiB have been read. After each pass the
# daemon's VmRSS and VmHWM (/proc/<pid>/status) are recorded: the table shows whether memory
# grows with the bytes read or levels off.
# Results: bench/results/memory.{md,json}; log in <work>/memory/log.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(dirname "$BENCH_DIR")
RPFS_SRC=${RPFS:-$ROOT_DIR/build/src/cli/rpfs}
WORK_ROOT=${BENCH_WORK:-$BENCH_DIR/results/work}
RESULTS_DIR=$BENCH_DIR/results
TOTAL_GIB=100
RPS=8
OUT_NAME=memory

usage() {
  cat <<EOF
usage: $0 [--gib N] [--rps K] [--out NAME] [--work DIR] [--rpfs PATH]
  --gib N     GiB to read through the mount in all (default $TOTAL_GIB)
  --rps K     RPs to read in turn, 1 GiB each (default $RPS)
  --out NAME  results file name under bench/results (default $OUT_NAME)
EOF
}
while (($#)); do
  case "$1" in
    --gib) TOTAL_GIB=$2; shift ;;
    --rps) RPS=$2; shift ;;
    --out) OUT_NAME=$2; shift ;;
    --work) WORK_ROOT=$2; shift ;;
    --rpfs) RPFS_SRC=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "memory.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
log() { printf '[memory-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (drop_caches, mounts)"
for c in python3 fusermount3 tar dd; do command -v $c >/dev/null || die "missing $c"; done
((RPS >= 2)) || die "--rps must be at least 2 (two readers at a time)"

RUN=$WORK_ROOT/memory
case $RUN in */memory) ;; *) die "refusing to use $RUN" ;; esac
SIZE_MIB=1024
IMG=$WORK_ROOT/nohole-${SIZE_MIB}m.raw
MNT=$RUN/mnt
cleanup() {
  local rc=$?
  set +e
  fusermount3 -uz "$MNT" 2>/dev/null
  ((rc == 0)) || log "failed (exit $rc); see $RUN/log"
  rm -rf "$RUN/store" "$RUN/vm"
  exit $rc
}
trap cleanup EXIT
rm -rf "$RUN"
mkdir -p "$RUN/vm" "$RUN/bin" "$MNT"
cp "$RPFS_SRC" "$RUN/bin/rpfs"
RPFS=$RUN/bin/rpfs
LOG=$RUN/log
RECORDS=$RUN/records.jsonl
: >"$RECORDS"
record() { printf '%s\n' "$1" >>"$RECORDS"; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s%N; }

if [[ ! -s $IMG || $(stat -c %s "$IMG") != $((SIZE_MIB << 20)) ]]; then
  log "making $IMG: the first $SIZE_MIB MiB of a tar of /usr"
  (tar -cf - /usr 2>/dev/null || true) | head -c $((SIZE_MIB << 20)) >"$IMG.tmp"
  [[ $(stat -c %s "$IMG.tmp") == $((SIZE_MIB << 20)) ]] || die "/usr holds less than $SIZE_MIB MiB"
  mv "$IMG.tmp" "$IMG"
fi
cp "$IMG" "$RUN/vm/vda.raw"

STORE=$RUN/store
"$RPFS" --store "$STORE" init >>"$LOG"
"$RPFS" --store "$STORE" vm add bench --disk "vda=$RUN/vm/vda.raw" >>"$LOG"
for r in $(seq "$RPS"); do
  # 1/8 of the chunks, a different random set each time, overwritten with random bytes.
  python3 - "$RUN/vm/vda.raw" "$r" <<'EOF'
import os, random, sys
path, seed = sys.argv[1], int(sys.argv[2])
chunk = 65536
chunks = os.path.getsize(path) // chunk
rng = random.Random(seed)
with open(path, 'r+b') as f:
    for i in rng.sample(range(chunks), chunks // 8):
        f.seek(i * chunk)
        f.write(os.urandom(chunk))
EOF
  "$RPFS" --store "$STORE" create bench "rp$r" >>"$LOG"
done
log "$RPS RPs made; store: $(du -sm "$STORE" | cut -f1) MB"
rm -f "$RUN/vm/vda.raw"  # the RPs are read from the store only

"$RPFS" --store "$STORE" mount "$MNT" 2>>"$LOG"
pid=$(cat "$STORE/rpfs.lock")
[[ -d /proc/$pid ]] || die "no mount daemon (pid '$pid')"
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
HZ=$(getconf CLK_TCK)
record "{\"gib_read\":0,\"rss_kb\":$(status_kb VmRSS),\"hwm_kb\":$(status_kb VmHWM),\"seconds\":0,\"cpu_s\":0}"
log "after mounting: RSS $(($(status_kb VmRSS) / 1024)) MiB"

image_bytes=$((SIZE_MIB << 20))
read_bytes=0
elapsed_ns=0
pass=0
cpu0=$(ticks)
while ((read_bytes < TOTAL_GIB * (1 << 30))); do
  pass=$((pass + 1))
  drop_caches
  t0=$(now)
  for ((r = 1; r <= RPS; r += 2)); do
    dd if="$MNT/bench/rp$r/vda.raw" of=/dev/null bs=1M status=none &
    a=$!
    b=""
    if ((r + 1 <= RPS)); then
      dd if="$MNT/bench/rp$((r + 1))/vda.raw" of=/dev/null bs=1M status=none &
      b=$!
    fi
    wait $a || die "reading rp$r failed"
    [[ -z $b ]] || wait "$b" || die "reading rp$((r + 1)) failed"
  done
  t1=$(now)
  elapsed_ns=$((elapsed_ns + t1 - t0))
  read_bytes=$((read_bytes + RPS * image_bytes))
  cpu=$(awk -v a="$cpu0" -v b="$(ticks)" -v hz="$HZ" 'BEGIN { printf "%.1f", (b - a) / hz }')
  gib=$((read_bytes >> 30))
  record "{\"gib_read\":$gib,\"rss_kb\":$(status_kb VmRSS),\"hwm_kb\":$(status_kb VmHWM),\"seconds\":$(awk -v n="$elapsed_ns" 'BEGIN { printf "%.1f", n / 1e9 }'),\"cpu_s\":$cpu}"
  log "pass $pass: $gib GiB read, RSS $(($(status_kb VmRSS) / 1024)) MiB, peak $(($(status_kb VmHWM) / 1024)) MiB"
done
# Every byte read must have been right: one RP compared with a fresh export of it.
"$RPFS" --store "$STORE" export bench rp1 vda -o "$RUN/rp1.raw" >>"$LOG" 2>&1
cmp -s "$RUN/rp1.raw" "$MNT/bench/rp1/vda.raw" || die "rp1 through the mount differs from its export"
rm -f "$RUN/rp1.raw"

mkdir -p "$RESULTS_DIR"
python3 - "$RECORDS" "$RESULTS_DIR/$OUT_NAME" "$RPS" "$TOTAL_GIB" "$(git -C "$ROOT_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)" <<'EOF'
import json, sys, datetime
recs = [json.loads(l) for l in open(sys.argv[1])]
out, rps, total, git = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
json.dump(recs, open(out + ".json", "w"), indent=1)
last = recs[-1]
peak = max(r["hwm_kb"] for r in recs) / 1024
mbps = last["gib_read"] * 2**30 / last["seconds"] / 1e6 if last["seconds"] else 0
lines = ["# Daemon memory benchmark (bench/memory.sh)", "",
         f"`bench/memory.sh --gib {total} --rps {rps}`: {rps} RPs of a 1 GiB image without holes (the first GiB "
         "of a tar of /usr, 1/8 of its chunks overwritten with random bytes before each RP), read in turn through "
         "one `rpfs mount` with `dd bs=1M`, two at a time, the page cache dropped before each pass. "
         f"git {git}, {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC.", "",
         "| GiB read | daemon RSS (MiB) | daemon peak RSS, VmHWM (MiB) | daemon CPU (s) | read time (s) |",
         "|---|---|---|---|---|"]
for r in recs:
    lines.append(f"| {r['gib_read']} | {r['rss_kb'] / 1024:.0f} | {r['hwm_kb'] / 1024:.0f} | {r['cpu_s']} | {r['seconds']} |")
lines += ["", f"Peak RSS over {last['gib_read']} GiB read: **{peak:.0f} MiB** (goal <= 256 MiB: "
          f"{'met' if peak <= 256 else 'not met'}); {mbps:.0f} MB/s of data on average "
          "(two readers, page cache dropped each pass)."]
open(out + ".md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
