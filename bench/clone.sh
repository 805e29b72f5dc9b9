#!/usr/bin/env bash
# Clone and rollback benchmark (SPEC §6), on the reference workload's last day:
#   - clone creation time through `.control`, for the 4 GiB image and for a 100 GiB sparse
#     disk (median of 5);
#   - hydration of a fresh clone by `dd bs=1M` (cold), against the RP's own sequential read
#     in the same run; then the hydrated clone read again cold and warm;
#   - rollback of the disk after ~1 % of its chunks changed, against a full rewrite of the
#     disk (`dd` of the RP image over it) and `rpfs export` of the RP.
# Results: bench/results/clone.{md,json} (clone-small.* with --small); log in <workload>/clone/.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(dirname "$BENCH_DIR")
RPFS_SRC=${RPFS:-$ROOT_DIR/build/src/cli/rpfs}
WORK_ROOT=${BENCH_WORK:-$BENCH_DIR/results/work}
RESULTS_DIR=$BENCH_DIR/results
MODE=full
BIG_GIB=100
while (($#)); do
  case "$1" in
    --small) MODE=small ;;
    --big-gib) BIG_GIB=$2; shift ;;
    --work) WORK_ROOT=$2; shift ;;
    --rpfs) RPFS_SRC=$2; shift ;;
    -h | --help) echo "usage: $0 [--small] [--big-gib N] [--work DIR] [--rpfs PATH]"; exit 0 ;;
    *) echo "clone.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
OUT_NAME=$([[ $MODE == small ]] && echo clone-small || echo clone)
log() { printf '[clone-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (drop_caches, mounts)"

WL_ARGS=(--work "$WORK_ROOT")
[[ $MODE == small ]] && WL_ARGS+=(--small)
WL=$("$BENCH_DIR/make-workload.sh" "${WL_ARGS[@]}" | tail -n1)
mapfile -t DAYS < <(python3 -c 'import json,sys; [print(d["name"]) for d in json.load(open(sys.argv[1]))["days"]]' "$WL/manifest.json")
LAST=${DAYS[-1]}

RUN=$WL/clone
case $RUN in "$WORK_ROOT"/*/clone) ;; *) die "refusing to use $RUN" ;; esac
MNT=$RUN/mnt
cleanup() {
  local rc=$?
  set +e
  mountpoint -q "$MNT" && fusermount3 -uz "$MNT"
  ((rc == 0)) || log "failed (exit $rc); see $RUN/log"
  rm -rf "$RUN/store" "$RUN/vm"
  exit $rc
}
trap cleanup EXIT
rm -rf "$RUN"
mkdir -p "$RUN/vm" "$RUN/bin" "$MNT"
cp "$RPFS_SRC" "$RUN/bin/rpfs"
RPFS=$RUN/bin/rpfs
S=$RUN/store
LOG=$RUN/log
RECORDS=$RUN/records.jsonl
: >"$RECORDS"
record() { printf '{"key":"%s","value":%s}\n' "$1" "$2" >>"$RECORDS"; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s%N; }
mbps() { awk -v s="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", s / ((b - a) / 1e9) / 1e6 }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
read_mbps() { # read_mbps FILE: dd bs=1M of the whole file, MB/s
  local t0 t1
  t0=$(now); dd if="$1" of=/dev/null bs=1M status=none; t1=$(now)
  mbps "$(stat -c %s "$1")" "$t0" "$t1"
}

IMG=$RUN/vm/vda.raw
cp --sparse=always "$WL/images/$LAST.raw" "$IMG"
BIG=$RUN/vm/big.raw
truncate -s "${BIG_GIB}G" "$BIG"
head -c $((64 << 20)) /dev/urandom | dd of="$BIG" bs=1M seek=1024 conv=notrunc status=none
{
  "$RPFS" --store "$S" init
  "$RPFS" --store "$S" vm add vm --disk "vda=$IMG"
  "$RPFS" --store "$S" vm add big --disk "vda=$BIG"
  "$RPFS" --store "$S" create vm base
  "$RPFS" --store "$S" create big base
} >>"$LOG" 2>&1
SIZE=$(stat -c %s "$IMG")
"$RPFS" --store "$S" mount "$MNT"

# --- clone creation --------------------------------------------------------------------------
for vm in vm big; do
  for i in 1 2 3 4 5; do
    t0=$(now)
    echo "clone base c$i" >"$MNT/$vm/.control"
    t1=$(now)
    secs "$t0" "$t1"
  done | median >"$RUN/median"
  record "clone_create_seconds_$vm" "$(cat "$RUN/median")"
  for i in 1 2 3 4 5; do echo "delete-clone c$i" >"$MNT/$vm/.control"; done
done
log "clone creation: 4 GiB $(grep clone_create_seconds_vm "$RECORDS" | sed 's/.*://;s/}//') s, ${BIG_GIB} GiB $(grep clone_create_seconds_big "$RECORDS" | sed 's/.*://;s/}//') s"

# --- hydration against the RP's own read ------------------------------------------------------
drop_caches
record rp_read_cold_mbps "$(read_mbps "$MNT/vm/base/vda.raw")"
echo "clone base h" >"$MNT/vm/.control"
drop_caches
record clone_hydrate_cold_mbps "$(read_mbps "$MNT/vm/.clones/h/vda.raw")"
grep -q "state: hydrated" "$MNT/vm/.clones/h/.status" || die "the dd did not hydrate the clone"
cmp -s "$MNT/vm/.clones/h/vda.raw" "$IMG" || die "the hydrated clone differs from the image"
drop_caches
record clone_hydrated_read_cold_mbps "$(read_mbps "$MNT/vm/.clones/h/vda.raw")"
record clone_hydrated_read_warm_mbps "$(read_mbps "$MNT/vm/.clones/h/vda.raw")"
log "read: rp $(grep rp_read_cold "$RECORDS" | sed 's/.*://;s/}//') MB/s, hydrate $(grep clone_hydrate_cold "$RECORDS" | sed 's/.*://;s/}//') MB/s"
fusermount3 -u "$MNT"

# --- rollback after ~1 % change against a full rewrite ----------------------------------------
python3 - "$IMG" <<'EOF'
import os, random, sys
path = sys.argv[1]
size = os.path.getsize(path)
chunk = 64 * 1024
random.seed(1)
fd = os.open(path, os.O_WRONLY)
for _ in range(size // chunk // 100):  # 1 % of the chunks, anywhere on the disk
    os.pwrite(fd, os.urandom(chunk), random.randrange(size // chunk) * chunk)
os.fsync(fd)
os.close(fd)
EOF
drop_caches
t0=$(now); "$RPFS" --store "$S" rollback vm base --yes >>"$LOG"; t1=$(now)
record rollback_seconds "$(secs "$t0" "$t1")"
cmp -s "$IMG" "$WL/images/$LAST.raw" || die "rollback did not restore the image"
"$RPFS" --store "$S" mount "$MNT"
drop_caches
t0=$(now); dd if="$MNT/vm/base/vda.raw" of="$IMG" bs=1M conv=notrunc,fsync status=none; t1=$(now)
record full_rewrite_dd_seconds "$(secs "$t0" "$t1")"
fusermount3 -u "$MNT"
drop_caches
t0=$(now); "$RPFS" --store "$S" export vm base vda -o "$RUN/vm/export.raw" >>"$LOG"; t1=$(now)
record full_rewrite_export_seconds "$(secs "$t0" "$t1")"
rm -f "$RUN/vm/export.raw"
record disk_bytes "$SIZE"

python3 - "$RECORDS" "$RESULTS_DIR/$OUT_NAME.md" "$RESULTS_DIR/$OUT_NAME.json" "$LAST" "$BIG_GIB" \
  "$(git -C "$ROOT_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)" <<'EOF'
import json, sys, datetime
records, md_path, json_path, day, big, git = sys.argv[1:]
r = {}
for line in open(records):
    x = json.loads(line)
    r[x["key"]] = x["value"]
ratio = lambda a, b: round(a / b, 2) if b else None
out = ["# Clone and rollback benchmark (bench/clone.sh)", "",
       f"Disk: {day} of the reference workload ({r['disk_bytes'] / 2**30:.1f} GiB); "
       f"git {git}, {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC.", "",
       "| what | measured | goal (SPEC §6) |", "|---|---|---|",
       f"| clone creation, 4 GiB disk (median of 5, `echo clone > .control`) | {r['clone_create_seconds_vm'] * 1000:.1f} ms | < 50 ms |",
       f"| clone creation, {big} GiB sparse disk | {r['clone_create_seconds_big'] * 1000:.1f} ms | < 50 ms, independent of size |",
       f"| RP image `dd bs=1M`, cold | {r['rp_read_cold_mbps']} MB/s | |",
       f"| hydration of a fresh clone by `dd bs=1M`, cold | {r['clone_hydrate_cold_mbps']} MB/s = {ratio(r['clone_hydrate_cold_mbps'], r['rp_read_cold_mbps'])}x the RP read | >= 0.8x |",
       f"| hydrated clone read again, cold / warm | {r['clone_hydrated_read_cold_mbps']} / {r['clone_hydrated_read_warm_mbps']} MB/s | >= 2 GB/s |",
       f"| rollback after 1 % of chunks changed | {r['rollback_seconds']} s = {ratio(r['rollback_seconds'], r['full_rewrite_dd_seconds'])}x a full `dd` rewrite ({r['full_rewrite_dd_seconds']} s), {ratio(r['rollback_seconds'], r['full_rewrite_export_seconds'])}x `rpfs export` ({r['full_rewrite_export_seconds']} s) | <= 0.1x a full rewrite |"]
open(md_path, "w").write("\n".join(out) + "\n")
json.dump(r, open(json_path, "w"), indent=2)
print("\n".join(out))
EOF
