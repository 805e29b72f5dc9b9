#!/usr/bin/env bash
# Region benchmark (issue 17, docs/region.md): rpfs pushing RPs to a Ceph RADOS pool and
# reading them back, each figure against `rados bench` on the same throwaway one-node cluster
# (scripts/ceph-test-cluster.sh: one mon, one memstore OSD on 127.0.0.1) in the same run:
#   - full push of an RP (`rpfs push --json`): data MB/s (logical non-zero bytes / time) and
#     wire MB/s (bytes_sent / time), against `rados bench write -b 65536` (-t 16, the default;
#     -t 128, rpfs's window, as a figure);
#   - next-day pushes after 0 %, 1 %, 5 % and 20 % of the image's 64 KiB chunks were
#     overwritten with random data: time against changed bytes;
#   - on a second store ("host B"): `rpfs clone --from-region` time, time to the first 4 MiB
#     through `rpfs mount`, `rpfs hydrate` of a fresh clone, and `dd` hydration of a fresh
#     clone (cold page cache) against `rados bench seq -t 16` of the write bench's objects;
#     then the hydrated clone read again (page cache, and cold: the local file);
#   - `rpfs pull` of the full snapshot into a third, empty store.
# The image is the first N MiB of a tar of /usr (no holes), shared with bench/read.sh.
# Each figure is the median of --runs runs (default 1); ratios are computed within this run.
# Results: bench/results/region.{md,json}; log in <work>/region/log.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(dirname "$BENCH_DIR")
RPFS_SRC=${RPFS:-$ROOT_DIR/build/src/cli/rpfs}
WORK_ROOT=${BENCH_WORK:-$BENCH_DIR/results/work}
RESULTS_DIR=$BENCH_DIR/results
CLUSTER=$ROOT_DIR/scripts/ceph-test-cluster.sh
SIZE_MIB=512
RUNS=1
RADOS_SECONDS=10
MEMSTORE_GIB=8
CHANGE_PCTS="0 1 5 20"
OUT_NAME=region
KEEP=0

usage() {
  cat <<EOF
usage: $0 [--size-mib N] [--runs N] [--rados-seconds N] [--memstore-gib N] [--changes "P..."]
          [--out NAME] [--work DIR] [--rpfs PATH] [--keep]
  --size-mib N       image size (default $SIZE_MIB)
  --runs N           runs per figure, the median is reported (default $RUNS)
  --rados-seconds N  duration of each rados bench (default $RADOS_SECONDS)
  --memstore-gib N   memstore capacity of the test OSD (default $MEMSTORE_GIB; RAM use is up
                     to about twice what is stored, and rados bench writes for --rados-seconds)
  --changes "P..."   next-day change percentages, in order (default "$CHANGE_PCTS")
  --out NAME         results file name under bench/results (default $OUT_NAME)
  --keep             keep the stores and clones in the work directory (default: removed)
EOF
}
while (($#)); do
  case "$1" in
    --size-mib) SIZE_MIB=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --rados-seconds) RADOS_SECONDS=$2; shift ;;
    --memstore-gib) MEMSTORE_GIB=$2; shift ;;
    --changes) CHANGE_PCTS=$2; shift ;;
    --out) OUT_NAME=$2; shift ;;
    --work) WORK_ROOT=$2; shift ;;
    --rpfs) RPFS_SRC=$2; shift ;;
    --keep) KEEP=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "region.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
log() { printf '[region-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (drop_caches, mounts)"
for c in python3 fusermount3 tar rados ceph-mon ceph-osd; do
  command -v $c >/dev/null || die "missing $c (scripts/install-deps.sh)"
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive number"

WORK_ROOT=$(realpath -m "$WORK_ROOT")
RUN=$WORK_ROOT/region
case $RUN in */region) ;; *) die "refusing to use $RUN" ;; esac
IMG=$WORK_ROOT/nohole-${SIZE_MIB}m.raw
CEPH_DIR=$RUN/ceph
CONF=$CEPH_DIR/ceph.conf
CLUSTER_UP=0
MOUNTS=()
cleanup() {
  local rc=$?
  set +e
  for m in "${MOUNTS[@]}"; do
    mountpoint -q "$m" && { fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m"; }
  done
  if ((CLUSTER_UP)); then
    cp -r "$CEPH_DIR/log" "$RUN/ceph-log" 2>/dev/null
    "$CLUSTER" stop "$CEPH_DIR" >>"$RUN/log" 2>&1 || log "could not stop the cluster in $CEPH_DIR"
  fi
  ((rc == 0)) || log "failed (exit $rc); see $RUN/log"
  ((KEEP)) || rm -rf "$RUN/s1" "$RUN/s2" "$RUN/s3" "$RUN/vm"
  exit $rc
}
trap cleanup EXIT

# The binary may be being rebuilt: wait for it, then work on a copy.
for _ in $(seq 300); do [[ -x $RPFS_SRC ]] && break; sleep 1; done
[[ -x $RPFS_SRC ]] || die "no rpfs binary at $RPFS_SRC"
if [[ -e $CEPH_DIR/mon.pid ]]; then "$CLUSTER" stop "$CEPH_DIR" >/dev/null 2>&1 || true; fi
rm -rf "$RUN"
mkdir -p "$RUN/vm" "$RUN/bin" "$RUN/mnt" "$RUN/out"
cp "$RPFS_SRC" "$RUN/bin/rpfs"
RPFS=$RUN/bin/rpfs
LOG=$RUN/log
RECORDS=$RUN/records.jsonl
: >"$RECORDS"
log "log: $LOG; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
record() { printf '{"key":"%s","value":%s}\n' "$1" "$2" >>"$RECORDS"; }
record load_at_start "\"$(cut -d' ' -f1-3 /proc/loadavg)\""

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
mbps() { awk -v s="$1" -v t="$2" 'BEGIN { printf "%.1f", s / t / 1e6 }'; }
# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# jget FILE KEY: a top-level number of a JSON object
jget() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
# rec_median KEY UNIT VALUES...: record and log the median
rec_median() {
  local key=$1 unit=$2; shift 2
  record "$key" "$(median "$@")"
  log "$key: $(median "$@") $unit (runs: $*)"
}
# rp STORE ARGS...: rpfs on a store, its output in the log
rp() { local s=$1; shift; "$RPFS" --store "$s" "$@" >>"$LOG" 2>&1 || die "rpfs --store $s $* failed (exit $?; see $LOG)"; }

# --- cluster --------------------------------------------------------------------------------------
log "starting a one-node memstore cluster in $CEPH_DIR ($MEMSTORE_GIB GiB)"
CLUSTER_UP=1
CEPH_MEMSTORE_BYTES=$((MEMSTORE_GIB << 30)) "$CLUSTER" start "$CEPH_DIR" >>"$LOG" 2>&1 ||
  die "cluster start failed (see $LOG)"
POOL=rpfs
RADOS=(rados -c "$CONF" -p "$POOL")

# --- image ----------------------------------------------------------------------------------------
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
DATA=$((SIZE - ZERO_CHUNKS * 65536))
log "image $IMG: $SIZE bytes, $ZERO_CHUNKS all-zero 64 KiB chunks, $DATA data bytes"
record image_bytes "$SIZE"
record zero_chunks "$ZERO_CHUNKS"
record data_bytes "$DATA"
cp "$IMG" "$RUN/vm/vda.raw" # a copy: the next days overwrite it

# --- rados bench ----------------------------------------------------------------------------------
# rados bench reports MiB/s ("MB/sec" = bytes / 2^20 / s); converted to MB/s (1e6) here.
rados_bench() { # rados_bench OUTFILE ARGS...: bandwidth in MB/s, from --format json
  local out=$1; shift
  timeout $((RADOS_SECONDS * 3 + 60)) "${RADOS[@]}" bench "$@" --format json >"$out" 2>>"$LOG" ||
    die "rados bench $* failed (see $LOG)"
  tail -n1 "$out" | python3 -c 'import json,sys; print("%.1f" % (float(json.load(sys.stdin)["bandwidth"]) * 1.048576))'
}
rados_cleanup() { "${RADOS[@]}" cleanup --prefix benchmark_data >>"$LOG" 2>&1 || die "rados cleanup failed"; }
w16=(); s16=(); w128=()
for i in $(seq "$RUNS"); do
  w16+=("$(rados_bench "$RUN/out/w16-$i.json" "$RADOS_SECONDS" write -b 65536 -t 16 --no-cleanup)")
  s16+=("$(rados_bench "$RUN/out/s16-$i.json" "$RADOS_SECONDS" seq -t 16)")
  log "rados bench run $i: write -t 16 ${w16[-1]} MB/s, seq -t 16 ${s16[-1]} MB/s ($(tail -n1 "$RUN/out/s16-$i.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_reads_made"])') objects read)"
  rados_cleanup
  w128+=("$(rados_bench "$RUN/out/w128-$i.json" "$RADOS_SECONDS" write -b 65536 -t 128 --no-cleanup)")
  rados_cleanup
done
rec_median rados_write_t16_mbps MB/s "${w16[@]}"
rec_median rados_seq_t16_mbps MB/s "${s16[@]}"
rec_median rados_write_t128_mbps MB/s "${w128[@]}"
[[ -z $("${RADOS[@]}" ls 2>>"$LOG" | head -n1) ]] || die "the pool is not empty after the rados benches"

# --- host A: store, day1, full push ---------------------------------------------------------------
S1=$RUN/s1
rp "$S1" init
rp "$S1" vm add vm --disk "vda=$RUN/vm/vda.raw"
drop_caches
t0=$(now); rp "$S1" create vm day1; t1=$(now)
record create_day1_seconds "$(secs "$t0" "$t1")"
rp "$S1" region add r --ceph-conf "$CONF"

# push_timed SNAP_RP OUTFILE cold|warm: seconds of one `rpfs push vm RP --json`
push_timed() {
  local rpn=$1 out=$2 mode=$3 t0 t1
  [[ $mode == cold ]] && drop_caches
  t0=$(now)
  "$RPFS" --store "$S1" push vm "$rpn" --json >"$out" 2>>"$LOG" || die "rpfs push vm $rpn failed (see $LOG)"
  t1=$(now)
  cat "$out" >>"$LOG"
  secs "$t0" "$t1"
}
delete_snap() { rp "$S1" region delete r "$1"; }

ft=(); fw=()
for i in $(seq "$RUNS"); do
  ((i == 1)) || delete_snap vm.day1
  ft+=("$(push_timed day1 "$RUN/out/push-day1-cold-$i.json" cold)")
  [[ $(jget "$RUN/out/push-day1-cold-$i.json" chunks_sent) == $(jget "$RUN/out/push-day1-cold-$i.json" chunks) ]] ||
    die "the full push did not send every chunk (run $i): $(cat "$RUN/out/push-day1-cold-$i.json")"
  delete_snap vm.day1
  fw+=("$(push_timed day1 "$RUN/out/push-day1-warm-$i.json" warm)")
done
F1=$RUN/out/push-day1-cold-1.json
CHUNKS=$(jget "$F1" chunks)
SENT=$(jget "$F1" bytes_sent)
record full_push_chunks "$CHUNKS"
record full_push_bytes_sent "$SENT"
rec_median full_push_cold_seconds s "${ft[@]}"
rec_median full_push_warm_seconds s "${fw[@]}"
FT=$(median "${ft[@]}")
FW=$(median "${fw[@]}")
record full_push_cold_data_mbps "$(mbps "$DATA" "$FT")"
record full_push_cold_wire_mbps "$(mbps "$SENT" "$FT")"
record full_push_warm_data_mbps "$(mbps "$DATA" "$FW")"
record full_push_warm_wire_mbps "$(mbps "$SENT" "$FW")"
log "full push: $CHUNKS chunks, $SENT bytes sent; cold $(mbps "$DATA" "$FT") MB/s data, $(mbps "$SENT" "$FT") MB/s wire; warm $(mbps "$DATA" "$FW") MB/s data"

# --- host A: next days ----------------------------------------------------------------------------
# change_chunks FILE PCT SEED: overwrite PCT % of the 64 KiB chunks (distinct, random) with random
# data; prints how many
change_chunks() {
  python3 - "$@" <<'EOF'
import os, random, sys
path, pct, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
n = os.path.getsize(path) // 65536
k = round(n * pct / 100)
with open(path, 'r+b') as f:
    for i in sorted(random.Random(seed).sample(range(n), k)):
        f.seek(i * 65536); f.write(os.urandom(65536))
    f.flush(); os.fsync(f.fileno())
print(k)
EOF
}
day=1
for pct in $CHANGE_PCTS; do
  day=$((day + 1))
  rpn=day$day
  changed=$(change_chunks "$RUN/vm/vda.raw" "$pct" "$day")
  drop_caches
  t0=$(now); rp "$S1" create vm "$rpn"; t1=$(now)
  v=()
  for i in $(seq "$RUNS"); do
    ((i == 1)) || delete_snap "vm.$rpn"
    v+=("$(push_timed "$rpn" "$RUN/out/push-$rpn-$i.json" cold)")
  done
  f=$RUN/out/push-$rpn-1.json
  printf '{"key":"next_day","value":{"rp":"%s","pct":%s,"changed_chunks":%s,"changed_bytes":%s,"create_seconds":%s,"push_seconds":%s,"runs":[%s],"chunks":%s,"chunks_sent":%s,"bytes_sent":%s}}\n' \
    "$rpn" "$pct" "$changed" $((changed * 65536)) "$(secs "$t0" "$t1")" "$(median "${v[@]}")" \
    "$(IFS=,; echo "${v[*]}")" "$(jget "$f" chunks)" "$(jget "$f" chunks_sent)" "$(jget "$f" bytes_sent)" >>"$RECORDS"
  log "next day $rpn: $pct % = $changed chunks changed; push $(median "${v[@]}") s (runs: ${v[*]}), chunks_sent $(jget "$f" chunks_sent), bytes_sent $(jget "$f" bytes_sent)"
done

# --- host B: clone from the region, first bytes, hydration ----------------------------------------
S2=$RUN/s2
rp "$S2" init
rp "$S2" region add r --ceph-conf "$CONF"
# clone_timed NAME: seconds of one `rpfs clone --from-region r vm.day1 vm NAME`
clone_timed() {
  local t0 t1
  t0=$(now)
  "$RPFS" --store "$S2" clone --from-region r vm.day1 vm "$1" >>"$LOG" 2>&1 || die "rpfs clone --from-region r vm.day1 vm $1 failed (see $LOG)"
  t1=$(now)
  secs "$t0" "$t1"
}
ct=(); ht=()
for i in $(seq "$RUNS"); do
  ct+=("$(clone_timed "t$i")") # first bytes
  ct+=("$(clone_timed "h$i")") # dd hydration
  ct+=("$(clone_timed "x$i")") # rpfs hydrate
  drop_caches
  t0=$(now); rp "$S2" hydrate vm "x$i"; t1=$(now)
  ht+=("$(secs "$t0" "$t1")")
done
rec_median clone_from_region_seconds s "${ct[@]}"
rec_median hydrate_cli_seconds s "${ht[@]}"
record hydrate_cli_mbps "$(mbps "$DATA" "$(median "${ht[@]}")")"

MNT=$RUN/mnt/s2
mkdir -p "$MNT"; MOUNTS+=("$MNT")
t0=$(now); rp "$S2" mount "$MNT"; t1=$(now)
record mount_seconds "$(secs "$t0" "$t1")"
v=()
for i in $(seq "$RUNS"); do
  f=$MNT/vm/.clones/t$i/vda.raw
  [[ -e $f ]] || die "clone t$i is not in the mount"
  drop_caches
  t0=$(now); dd if="$f" of=/dev/null bs=4M count=1 status=none; t1=$(now)
  v+=("$(secs "$t0" "$t1")")
done
rec_median clone_first_4mib_seconds s "${v[@]}"
v=()
for i in $(seq "$RUNS"); do
  f=$MNT/vm/.clones/h$i/vda.raw
  drop_caches
  t0=$(now); dd if="$f" of=/dev/null bs=4M status=none; t1=$(now)
  v+=("$(mbps "$SIZE" "$(secs "$t0" "$t1")")")
done
rec_median clone_hydrate_dd_mbps MB/s "${v[@]}"
# the hydrated clone again: from the page cache, then cold (the local clone file)
t0=$(now); dd if="$f" of=/dev/null bs=4M status=none; t1=$(now)
warm=$(mbps "$SIZE" "$(secs "$t0" "$t1")")
drop_caches
t0=$(now); dd if="$f" of=/dev/null bs=4M status=none; t1=$(now)
cold=$(mbps "$SIZE" "$(secs "$t0" "$t1")")
record clone_second_read_warm_mbps "$warm"
record clone_second_read_cold_mbps "$cold"
log "hydrated clone h$RUNS read again: $warm MB/s from the page cache, $cold MB/s cold (local file)"
cmp -s "$f" "$IMG" || die "the hydrated clone differs from day1's image"
"$RPFS" --store "$S2" clone-list --json >"$RUN/out/clone-list.json" 2>>"$LOG"
fusermount3 -u "$MNT"
for _ in $(seq 100); do mountpoint -q "$MNT" || break; sleep 0.1; done

# --- host C: pull into an empty store -------------------------------------------------------------
S3=$RUN/s3
v=()
for i in $(seq "$RUNS"); do
  rm -rf "$S3"
  rp "$S3" init
  rp "$S3" region add r --ceph-conf "$CONF"
  drop_caches
  t0=$(now); rp "$S3" pull r vm.day1 vm p1; t1=$(now)
  v+=("$(secs "$t0" "$t1")")
done
rec_median pull_seconds s "${v[@]}"
record pull_data_mbps "$(mbps "$DATA" "$(median "${v[@]}")")"
"$RPFS" --store "$S3" export vm p1 vda -o "$RUN/out/pulled.raw" >>"$LOG" 2>&1 || die "rpfs export of the pulled RP failed"
cmp -s "$RUN/out/pulled.raw" "$IMG" || die "the pulled RP differs from day1's image"
rm -f "$RUN/out/pulled.raw"

python3 - "$RECORDS" "$RESULTS_DIR/$OUT_NAME" "$SIZE_MIB" "$RUNS" "$RADOS_SECONDS" "$MEMSTORE_GIB" \
  "$(git -C "$ROOT_DIR" rev-parse --short HEAD)$(git -C "$ROOT_DIR" diff --quiet HEAD -- src include || echo +dirty)" <<'EOF'
import json, sys, datetime
recs, days = {}, []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["key"] == "next_day": days.append(r["value"])
    else: recs[r["key"]] = r["value"]
recs["next_days"] = days
out, size_mib, runs, rados_s, mem_gib, rev = sys.argv[2:9]
json.dump(recs, open(out + ".json", "w"), indent=1)
R = recs
def x(a, b): return f"{a / b:.2f}x" if b else "-"
MiB = 1 << 20
rows = [
    ("full push, data MB/s (cold page cache)", f"{R['full_push_cold_data_mbps']} MB/s", "rados bench write -b 64K -t 16",
     f"{R['rados_write_t16_mbps']} MB/s", x(R['full_push_cold_data_mbps'], R['rados_write_t16_mbps']), ">= 0.8x"),
    ("full push, data MB/s (warm page cache)", f"{R['full_push_warm_data_mbps']} MB/s", "rados bench write -b 64K -t 16",
     f"{R['rados_write_t16_mbps']} MB/s", x(R['full_push_warm_data_mbps'], R['rados_write_t16_mbps']), ">= 0.8x"),
    ("full push, wire MB/s (cold)", f"{R['full_push_cold_wire_mbps']} MB/s", "rados bench write -b 64K -t 16",
     f"{R['rados_write_t16_mbps']} MB/s", x(R['full_push_cold_wire_mbps'], R['rados_write_t16_mbps']), "(figure)"),
    ("full push, data MB/s (cold)", f"{R['full_push_cold_data_mbps']} MB/s", "rados bench write -b 64K -t 128",
     f"{R['rados_write_t128_mbps']} MB/s", x(R['full_push_cold_data_mbps'], R['rados_write_t128_mbps']), "(figure)"),
    ("clone --from-region", f"{R['clone_from_region_seconds']} s", "-", "-", "-", "< 1 s"),
    ("first 4 MiB of the clone through the mount (cold)", f"{R['clone_first_4mib_seconds']} s", "-", "-", "-", "(figure)"),
    ("dd hydration of a region clone (cold)", f"{R['clone_hydrate_dd_mbps']} MB/s", "rados bench seq -t 16",
     f"{R['rados_seq_t16_mbps']} MB/s", x(R['clone_hydrate_dd_mbps'], R['rados_seq_t16_mbps']), ">= 0.8x"),
    ("rpfs hydrate of a region clone (cold)", f"{R['hydrate_cli_mbps']} MB/s", "rados bench seq -t 16",
     f"{R['rados_seq_t16_mbps']} MB/s", x(R['hydrate_cli_mbps'], R['rados_seq_t16_mbps']), "(figure)"),
    ("second read of the hydrated clone, page cache", f"{R['clone_second_read_warm_mbps']} MB/s", "-", "-", "-", "(figure)"),
    ("second read of the hydrated clone, cold (local file)", f"{R['clone_second_read_cold_mbps']} MB/s", "-", "-", "-", "(figure)"),
    ("rpfs pull into an empty store (cold)", f"{R['pull_data_mbps']} MB/s ({R['pull_seconds']} s)", "rados bench seq -t 16",
     f"{R['rados_seq_t16_mbps']} MB/s", x(R['pull_data_mbps'], R['rados_seq_t16_mbps']), "(figure)"),
]
base = next((d for d in days if d["changed_bytes"] == 0), None)
with open(out + ".md", "w") as f:
    f.write("# Region benchmark (bench/region.sh)\n\n")
    f.write(f"Image: the first {size_mib} MiB of a tar of /usr, no holes ({R['zero_chunks']} all-zero 64 KiB chunks; "
            f"{R['data_bytes']} data bytes). Store: `rpfs init` defaults (64 KiB chunks, zstd 3). "
            f"Cluster: scripts/ceph-test-cluster.sh, one mon and one memstore OSD ({mem_gib} GiB) on 127.0.0.1, "
            f"pool size 1, on the same 2-core machine as rpfs; rados bench runs {rados_s} s, its MiB/s converted to MB/s (1e6). "
            f"Cold = `echo 3 > drop_caches` before the step (it empties the host's page cache, not the OSD's memstore). "
            f"Median of {runs} run(s){' (one run per figure: single measurements)' if runs == '1' else ''}. "
            f"Load average at start: {R['load_at_start']}. git {rev}, {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC.\n\n")
    f.write("| what | rpfs | reference | reference figure | ratio | goal |\n|---|---|---|---|---|---|\n")
    for r in rows: f.write("| " + " | ".join(str(c) for c in r) + " |\n")
    f.write(f"\nFull push: {R['full_push_chunks']} chunks, {R['full_push_bytes_sent']} bytes sent "
            f"(compressed; rados bench writes {65536} B objects), cold {R['full_push_cold_seconds']} s, warm "
            f"{R['full_push_warm_seconds']} s. `rpfs create vm day1` (cold): {R['create_day1_seconds']} s. "
            f"Mount of store 2: {R['mount_seconds']} s.\n\n")
    f.write("## Next-day pushes\n\nEach day overwrites the given share of the image's 64 KiB chunks (random, distinct) with "
            "random data, then `rpfs create vm dayN` and `rpfs push vm dayN --json` (cold page cache).\n\n")
    f.write("| RP | changed | changed MiB | chunks | chunks_sent | bytes_sent | push s | s per changed MiB | "
            "(push s - unchanged push s) per changed MiB | create s |\n|---|---|---|---|---|---|---|---|---|---|\n")
    for d in days:
        cm = d["changed_bytes"] / MiB
        per = f"{d['push_seconds'] / cm:.4f}" if cm else "-"
        extra = f"{(d['push_seconds'] - base['push_seconds']) / cm:.4f}" if cm and base else "-"
        f.write(f"| {d['rp']} | {d['pct']} % | {cm:.1f} | {d['chunks']} | {d['chunks_sent']} | {d['bytes_sent']} | "
                f"{d['push_seconds']} | {per} | {extra} | {d['create_seconds']} |\n")
    if base:
        f.write(f"\nThe unchanged push ({base['rp']}, 0 %) is the fixed cost of a push: every chunk of the RP still "
                "gets its reference (`assert_exists + omap_set`, docs/region.md push step 3), only the data of the "
                "changed chunks is sent.\n")
print(open(out + ".md").read())
EOF
