#!/usr/bin/env bash
# Region benchmark (issue 17, docs/region.md): rpfs pushing RPs to a Ceph RADOS pool and
# reading them back, against `rados bench` on the same kind of throwaway one-node cluster
# (scripts/ceph-test-cluster.sh: one mon, one memstore OSD on 127.0.0.1), in the same run:
#   - full push of an RP (`rpfs push --json`): data MB/s (logical non-zero bytes / time) and
#     wire MB/s (bytes_sent / time), against `rados bench write -b 65536` (-t 16, the default;
#     -t 128, rpfs's window of chunks in flight, as a figure);
#   - next-day pushes after 0 %, 1 %, 5 % and 20 % of the image's 64 KiB chunks were
#     overwritten with random data: time against changed bytes;
#   - on a second store ("host B"): `rpfs clone --from-region` time, time to the first 4 MiB
#     through `rpfs mount`, `rpfs hydrate` of a fresh clone, and `dd` hydration of a fresh
#     clone (cold page cache) against `rados bench seq -t 16` of the write bench's objects;
#     then the hydrated clone read again (page cache, and cold: the local file);
#   - `rpfs pull` of the full snapshot into a third, empty store.
# The image is the first N MiB of a tar of /usr (no holes), shared with bench/read.sh.
# Each figure is the median of --runs runs (default 1); ratios are computed within this run.
# Every timed step also records the CPU seconds of the client (for dd through the mount: of the
# mount daemon) and of the OSD: client and OSD share the machine's cores.
#
# Object removal is kept out of every cluster that is measured afterwards: Ceph 16's memstore
# can count its used bytes below zero after objects are removed (seen after `rados cleanup`),
# and the OSD then takes itself for full ("full status failsafe engaged ... -2147483648% full")
# and drops every write. So each rados bench (write, then seq on its objects) gets a fresh
# cluster that is stopped instead of cleaned, and each rpfs run pushes into fresh pools instead
# of deleting snapshots. The OSD logs are checked for the failsafe at the end.
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
  --rados-seconds N  duration of each rados bench write (default $RADOS_SECONDS)
  --memstore-gib N   memstore capacity of each test OSD (default $MEMSTORE_GIB; RAM is used
                     as data is written, about twice the stored bytes: a rados bench write
                     stores --rados-seconds times its rate)
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
for c in python3 fusermount3 tar rados ceph ceph-mon ceph-osd pgrep /usr/bin/time; do
  command -v $c >/dev/null || die "missing $c (scripts/install-deps.sh)"
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive number"

WORK_ROOT=$(realpath -m "$WORK_ROOT")
RUN=$WORK_ROOT/region
case $RUN in */region) ;; *) die "refusing to use $RUN" ;; esac
IMG=$WORK_ROOT/nohole-${SIZE_MIB}m.raw
CLUSTERS=() # directories of the clusters that may be running
MOUNTS=()
# stop_cluster DIR: keep its logs under ceph-log/, stop it (this removes DIR)
stop_cluster() {
  local d=$1 name
  [[ -d $d ]] || return 0
  name=$(basename "$d")
  mkdir -p "$RUN/ceph-log/$name"
  cp -r "$d/log/." "$RUN/ceph-log/$name/" 2>/dev/null || true
  "$CLUSTER" stop "$d" >>"$RUN/log" 2>&1 || log "could not stop the cluster in $d"
}
cleanup() {
  local rc=$?
  set +e
  for m in "${MOUNTS[@]}"; do
    mountpoint -q "$m" && { fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m"; }
  done
  for d in "${CLUSTERS[@]}"; do stop_cluster "$d"; done
  ((rc == 0)) || log "failed (exit $rc); see $RUN/log"
  ((KEEP)) || rm -rf "$RUN/s1" "$RUN/s2" "$RUN/s3" "$RUN/vm"
  exit $rc
}
trap cleanup EXIT

# The binary may be being rebuilt: wait for it, then work on a copy.
for _ in $(seq 300); do [[ -x $RPFS_SRC ]] && break; sleep 1; done
[[ -x $RPFS_SRC ]] || die "no rpfs binary at $RPFS_SRC"
for d in "$RUN"/ceph-*; do [[ -e $d/mon.pid ]] && "$CLUSTER" stop "$d" >/dev/null 2>&1; done
rm -rf "$RUN"
mkdir -p "$RUN/vm" "$RUN/bin" "$RUN/mnt" "$RUN/out"
cp "$RPFS_SRC" "$RUN/bin/rpfs"
RPFS=$RUN/bin/rpfs
LOG=$RUN/log
RECORDS=$RUN/records.jsonl
: >"$RECORDS"
record() { printf '{"key":"%s","value":%s}\n' "$1" "$2" >>"$RECORDS"; }
log "log: $LOG; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
record load_at_start "\"$(cut -d' ' -f1-3 /proc/loadavg)\""
record ceph_version "\"$(ceph --version | awk '{ print $3 }')\""

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
mbps() { awk -v s="$1" -v t="$2" 'BEGIN { printf "%.1f", s / t / 1e6 }'; }
# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# jget FILE KEY: a top-level value of a JSON object
jget() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
# rec_median KEY UNIT VALUES...: record and log the median
rec_median() {
  local key=$1 unit=$2; shift 2
  record "$key" "$(median "$@")"
  log "$key: $(median "$@") $unit (runs: $*)"
}
# rp STORE ARGS...: rpfs on a store, its output in the log
rp() { local s=$1; shift; "$RPFS" --store "$s" "$@" >>"$LOG" 2>&1 || die "rpfs --store $s $* failed (exit $?; see $LOG)"; }

# start_cluster NAME: a fresh cluster in $RUN/ceph-NAME (pool rpfs); sets CONF and OSD_PID
start_cluster() {
  local d=$RUN/ceph-$1
  CLUSTERS+=("$d")
  CEPH_MEMSTORE_BYTES=$((MEMSTORE_GIB << 30)) "$CLUSTER" start "$d" >>"$LOG" 2>&1 ||
    die "cluster start in $d failed (see $LOG)"
  CONF=$d/ceph.conf
  OSD_PID=$(cat "$d/osd.pid")
}

# CPU accounting: user+sys ticks of a process (fields 14 and 15 of /proc/PID/stat; the comm
# field of rpfs and ceph-osd has no space)
HZ=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
tsecs() { awk -v a="$1" -v b="$2" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }'; }
# timed CMD...: run CMD under /usr/bin/time, stdout to $TIMED_OUT (default the log), stderr to
# the log; sets W (wall s), C (CPU s of CMD, user+sys) and O (CPU s of the OSD meanwhile).
# Returns CMD's exit code.
timed() {
  local o0 t0 t1 rc=0
  o0=$(ticks "$OSD_PID"); t0=$(now)
  /usr/bin/time -f '%U %S' -o "$RUN/time.out" "$@" >>"${TIMED_OUT:-$LOG}" 2>>"$LOG" || rc=$?
  t1=$(now)
  W=$(secs "$t0" "$t1")
  C=$(tail -n1 "$RUN/time.out" | awk '{ printf "%.2f", $1 + $2 }')
  O=$(tsecs "$o0" "$(ticks "$OSD_PID")")
  return $rc
}
# note_step NAME: remember W, C and O of one run of step NAME (medians go to the records)
declare -A WALL CCPU OCPU
STEPS=()
note_step() {
  [[ -n ${WALL[$1]:-} ]] || STEPS+=("$1")
  WALL[$1]+="$W "; CCPU[$1]+="$C "; OCPU[$1]+="$O "
}
# make_pools CONF POOL...: create pools with application "rados" (one librados connection)
make_pools() {
  /usr/bin/python3 - "$@" >>"$LOG" 2>&1 <<'EOF' || die "pool create failed (see $LOG)"
import json, sys, rados
c = rados.Rados(conffile=sys.argv[1], name="client.admin"); c.connect(timeout=30)
for p in sys.argv[2:]:
    for cmd in ({"prefix": "osd pool create", "pool": p, "pg_num": 8, "pgp_num": 8},
                {"prefix": "osd pool application enable", "pool": p, "app": "rados"}):
        ret, out, err = c.mon_command(json.dumps(cmd), b"", timeout=30)
        if ret != 0: sys.exit(f"{cmd}: {ret} {err}")
    print("pool", p, "created")
c.shutdown()
EOF
}

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

# --- rados bench, each on a fresh cluster ---------------------------------------------------------
# rados bench reports MiB/s ("MB/sec" = bytes / 2^20 / s); converted to MB/s (1e6) here.
# rados_bench STEP OUTFILE ARGS...: one `rados bench ARGS`; sets B (its bandwidth in MB/s)
rados_bench() {
  local step=$1 out=$2; shift 2
  TIMED_OUT=$out timed timeout $((RADOS_SECONDS * 3 + 60)) rados -c "$CONF" -p rpfs bench "$@" --format json ||
    die "rados bench $* failed (see $LOG)"
  note_step "$step"
  B=$(tail -n1 "$out" | python3 -c 'import json,sys; print("%.1f" % (float(json.load(sys.stdin)["bandwidth"]) * 1.048576))')
}
rjget() { tail -n1 "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"; }
w16=(); s16=(); s1=(); w128=()
for i in $(seq "$RUNS"); do
  start_cluster "bench16-$i"
  rados_bench rados_write_t16 "$RUN/out/w16-$i.json" "$RADOS_SECONDS" write -b 65536 -t 16 --no-cleanup
  w16+=("$B")
  rados_bench rados_seq_t16 "$RUN/out/s16-$i.json" "$RADOS_SECONDS" seq -t 16
  s16+=("$B")
  rados_bench rados_seq_t1 "$RUN/out/s1-$i.json" "$RADOS_SECONDS" seq -t 1
  s1+=("$B")
  log "rados bench run $i: write -t 16 ${w16[-1]} MB/s ($(rjget "$RUN/out/w16-$i.json" total_writes_made) objects), seq -t 16 ${s16[-1]} MB/s ($(rjget "$RUN/out/s16-$i.json" total_reads_made) objects in $(rjget "$RUN/out/s16-$i.json" total_time_run) s), seq -t 1 ${s1[-1]} MB/s"
  stop_cluster "$RUN/ceph-bench16-$i"
  start_cluster "bench128-$i"
  rados_bench rados_write_t128 "$RUN/out/w128-$i.json" "$RADOS_SECONDS" write -b 65536 -t 128 --no-cleanup
  w128+=("$B")
  log "rados bench run $i: write -t 128 ${w128[-1]} MB/s"
  stop_cluster "$RUN/ceph-bench128-$i"
done
rec_median rados_write_t16_mbps MB/s "${w16[@]}"
rec_median rados_seq_t16_mbps MB/s "${s16[@]}"
rec_median rados_seq_t1_mbps MB/s "${s1[@]}"
rec_median rados_write_t128_mbps MB/s "${w128[@]}"

# --- host A: the RPs ------------------------------------------------------------------------------
start_cluster rpfs
RCONF=$CONF
RCEPH=$RUN/ceph-rpfs
pools=()
for i in $(seq "$RUNS"); do pools+=("p$i" "w$i"); done
make_pools "$RCONF" "${pools[@]}"

S1=$RUN/s1
rp "$S1" init
rp "$S1" vm add vm --disk "vda=$RUN/vm/vda.raw"
drop_caches
t0=$(now); rp "$S1" create vm day1; t1=$(now)
record create_day1_seconds "$(secs "$t0" "$t1")"

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
DAYS=()
declare -A PCT CHANGED CREATE_S
day=1
for pct in $CHANGE_PCTS; do
  day=$((day + 1))
  rpn=day$day
  DAYS+=("$rpn")
  PCT[$rpn]=$pct
  CHANGED[$rpn]=$(change_chunks "$RUN/vm/vda.raw" "$pct" "$day")
  drop_caches
  t0=$(now); rp "$S1" create vm "$rpn"; t1=$(now)
  CREATE_S[$rpn]=$(secs "$t0" "$t1")
  log "made $rpn: $pct % = ${CHANGED[$rpn]} chunks overwritten; create ${CREATE_S[$rpn]} s"
done

# --- host A: pushes, each run into fresh pools (region rI: full + next days, cold; wI: warm) -----
for i in $(seq "$RUNS"); do
  rp "$S1" region add "r$i" --ceph-conf "$RCONF" --pool "p$i"
  rp "$S1" region add "w$i" --ceph-conf "$RCONF" --pool "w$i"
done
# push_timed STEP REGION RP OUTFILE cold|warm: one `rpfs push vm RP --region REGION --json`
push_timed() {
  local step=$1 region=$2 rpn=$3 out=$4 mode=$5
  [[ $mode == cold ]] && drop_caches
  : >"$out"
  TIMED_OUT=$out timed "$RPFS" --store "$S1" push vm "$rpn" --region "$region" --json ||
    die "rpfs push vm $rpn --region $region failed (exit $?; see $LOG)"
  note_step "$step"
  { echo "push vm $rpn --region $region ($mode): $W s, CPU $C s, OSD CPU $O s"; cat "$out"; } >>"$LOG"
}
ft=(); fw=()
declare -A DAY_T
for i in $(seq "$RUNS"); do
  f=$RUN/out/push-day1-cold-$i.json
  push_timed push_full_cold "r$i" day1 "$f" cold
  ft+=("$W")
  [[ $(jget "$f" chunks_sent) == $(jget "$f" chunks) ]] ||
    die "the full push did not send every chunk (run $i): $(cat "$f")"
  push_timed push_full_warm "w$i" day1 "$RUN/out/push-day1-warm-$i.json" warm
  fw+=("$W")
  for rpn in "${DAYS[@]}"; do
    push_timed "push_$rpn" "r$i" "$rpn" "$RUN/out/push-$rpn-$i.json" cold
    DAY_T[$rpn]+="$W "
  done
  log "push run $i: day1 cold ${ft[-1]} s, warm ${fw[-1]} s; next days: $(for d in "${DAYS[@]}"; do printf '%s %ss ' "$d" "$(echo "${DAY_T[$d]}" | awk '{ print $NF }')"; done)"
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
for rpn in "${DAYS[@]}"; do
  f=$RUN/out/push-$rpn-1.json
  read -ra v <<<"${DAY_T[$rpn]}"
  printf '{"key":"next_day","value":{"rp":"%s","pct":%s,"changed_chunks":%s,"changed_bytes":%s,"create_seconds":%s,"push_seconds":%s,"runs":[%s],"chunks":%s,"chunks_inherited":%s,"chunks_sent":%s,"bytes_sent":%s}}\n' \
    "$rpn" "${PCT[$rpn]}" "${CHANGED[$rpn]}" $((CHANGED[$rpn] * 65536)) "${CREATE_S[$rpn]}" "$(median "${v[@]}")" \
    "$(IFS=,; echo "${v[*]}")" "$(jget "$f" chunks)" "$(jget "$f" chunks_inherited)" "$(jget "$f" chunks_sent)" \
    "$(jget "$f" bytes_sent)" >>"$RECORDS"
  log "next day $rpn: ${PCT[$rpn]} % = ${CHANGED[$rpn]} chunks changed; push $(median "${v[@]}") s (runs: ${v[*]}), chunks_sent $(jget "$f" chunks_sent), bytes_sent $(jget "$f" bytes_sent)"
done

# --- host B: clone from the region, first bytes, hydration ----------------------------------------
S2=$RUN/s2
rp "$S2" init
rp "$S2" region add r --ceph-conf "$RCONF" --pool p1
# clone_timed NAME: one `rpfs clone --from-region r vm.day1 vm NAME`
clone_timed() {
  timed "$RPFS" --store "$S2" clone --from-region r vm.day1 vm "$1" ||
    die "rpfs clone --from-region r vm.day1 vm $1 failed (exit $?; see $LOG)"
  note_step clone
  ct+=("$W")
}
ct=(); ht=()
for i in $(seq "$RUNS"); do
  clone_timed "t$i" # first bytes
  clone_timed "h$i" # dd hydration
  clone_timed "x$i" # rpfs hydrate
  drop_caches
  timed "$RPFS" --store "$S2" hydrate vm "x$i" || die "rpfs hydrate vm x$i failed (see $LOG)"
  note_step hydrate_cli
  ht+=("$W")
done
rec_median clone_from_region_seconds s "${ct[@]}"
rec_median hydrate_cli_seconds s "${ht[@]}"
record hydrate_cli_mbps "$(mbps "$SIZE" "$(median "${ht[@]}")")"

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
MPID=$(pgrep -o -f -- "--store $S2 mount $MNT") || die "no mount daemon found for $MNT"
v=()
for i in $(seq "$RUNS"); do
  f=$MNT/vm/.clones/h$i/vda.raw
  drop_caches
  m0=$(ticks "$MPID")
  timed dd if="$f" of=/dev/null bs=4M status=none || die "dd of $f failed (see $LOG)"
  C=$(tsecs "$m0" "$(ticks "$MPID")") # the work is the mount daemon's
  note_step hydrate_dd
  v+=("$(mbps "$SIZE" "$W")")
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
  rp "$S3" region add r --ceph-conf "$RCONF" --pool p1
  drop_caches
  timed "$RPFS" --store "$S3" pull r vm.day1 vm p1 || die "rpfs pull r vm.day1 vm p1 failed (see $LOG)"
  note_step pull
  v+=("$W")
done
rec_median pull_seconds s "${v[@]}"
record pull_data_mbps "$(mbps "$DATA" "$(median "${v[@]}")")"
"$RPFS" --store "$S3" export vm p1 vda -o "$RUN/out/pulled.raw" >>"$LOG" 2>&1 || die "rpfs export of the pulled RP failed"
cmp -s "$RUN/out/pulled.raw" "$IMG" || die "the pulled RP differs from day1's image"
rm -f "$RUN/out/pulled.raw"

# --- CPU per step, the OSDs' own view, then stop -------------------------------------------------
for k in "${STEPS[@]}"; do
  read -ra a <<<"${WALL[$k]}"; read -ra b <<<"${CCPU[$k]}"; read -ra c <<<"${OCPU[$k]}"
  record "cpu_$k" "{\"wall\":$(median "${a[@]}"),\"client_cpu\":$(median "${b[@]}"),\"osd_cpu\":$(median "${c[@]}")}"
done
used=$(ceph --admin-daemon "$RCEPH/run/osd.0.asok" perf dump 2>>"$LOG" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["osd"]["stat_bytes_used"])' || echo null)
record rpfs_osd_bytes_used "$used"
stop_cluster "$RCEPH"
failsafe=$({ grep -l "failsafe engaged" "$RUN"/ceph-log/*/osd.*.log 2>/dev/null || true; } | wc -l)
record osd_failsafe_logs "$failsafe"
((failsafe == 0)) || log "warning: $failsafe OSD log(s) show 'full status failsafe engaged' (see $RUN/ceph-log)"

python3 - "$RECORDS" "$RESULTS_DIR/$OUT_NAME" "$SIZE_MIB" "$RUNS" "$RADOS_SECONDS" "$MEMSTORE_GIB" \
  "$(git -C "$ROOT_DIR" rev-parse --short HEAD)$(git -C "$ROOT_DIR" diff --quiet HEAD -- src include || echo +dirty)" <<'EOF'
import json, sys, datetime
recs, days = {}, []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["key"] == "next_day": days.append(r["value"])
    else: recs[r["key"]] = r["value"]
recs["next_days"] = days
out, size_mib, runs, rados_s, mem_gib, rev = sys.argv[2:8]
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
    ("clone --from-region (CLI, wall)", f"{R['clone_from_region_seconds']} s", "-", "-", "-", "< 1 s"),
    ("first 4 MiB of the clone through the mount (cold)", f"{R['clone_first_4mib_seconds']} s", "-", "-", "-", "(figure)"),
    ("dd hydration of a region clone (cold)", f"{R['clone_hydrate_dd_mbps']} MB/s", "rados bench seq -t 16",
     f"{R['rados_seq_t16_mbps']} MB/s", x(R['clone_hydrate_dd_mbps'], R['rados_seq_t16_mbps']), ">= 0.8x"),
    ("dd hydration of a region clone (cold)", f"{R['clone_hydrate_dd_mbps']} MB/s", "rados bench seq -t 1 (one read in flight)",
     f"{R['rados_seq_t1_mbps']} MB/s", x(R['clone_hydrate_dd_mbps'], R['rados_seq_t1_mbps']), "(figure)"),
    ("rpfs hydrate of a region clone (cold)", f"{R['hydrate_cli_mbps']} MB/s ({R['hydrate_cli_seconds']} s)", "rados bench seq -t 16",
     f"{R['rados_seq_t16_mbps']} MB/s", x(R['hydrate_cli_mbps'], R['rados_seq_t16_mbps']), "(figure)"),
    ("second read of the hydrated clone, page cache", f"{R['clone_second_read_warm_mbps']} MB/s", "-", "-", "-", "(figure)"),
    ("second read of the hydrated clone, cold (local file)", f"{R['clone_second_read_cold_mbps']} MB/s", "-", "-", "-", "(figure)"),
    ("rpfs pull into an empty store (cold)", f"{R['pull_data_mbps']} MB/s ({R['pull_seconds']} s)", "rados bench seq -t 16",
     f"{R['rados_seq_t16_mbps']} MB/s", x(R['pull_data_mbps'], R['rados_seq_t16_mbps']), "(figure)"),
]
base = next((d for d in days if d["changed_bytes"] == 0), None)
single = " (one run per figure: single measurements, not medians)" if runs == "1" else ""
with open(out + ".md", "w") as f:
    f.write("# Region benchmark (bench/region.sh)\n\n")
    f.write(f"Image: the first {size_mib} MiB of a tar of /usr, no holes ({R['zero_chunks']} all-zero 64 KiB chunks; "
            f"{R['data_bytes']} data bytes). Store: `rpfs init` defaults (64 KiB chunks, zstd 3). "
            f"Clusters: scripts/ceph-test-cluster.sh (Ceph {R['ceph_version']}), one mon and one memstore OSD "
            f"({mem_gib} GiB) on 127.0.0.1, pool size 1, on the same 2-core machine as rpfs; every rados bench on a "
            f"fresh cluster (write {rados_s} s, then seq on its objects), rpfs on one more, each run into fresh pools "
            f"(see the script's header: memstore miscounts after object removal). rados bench's MiB/s converted to "
            f"MB/s (1e6). Cold = `sync; echo 3 > drop_caches` before the step (it empties the host's page cache, "
            f"not the OSD's memstore). Median of {runs} run(s){single}. Load average at start: {R['load_at_start']}. "
            f"git {rev}, {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC.\n\n")
    f.write("| what | rpfs | reference | reference figure | ratio | goal |\n|---|---|---|---|---|---|\n")
    for r in rows: f.write("| " + " | ".join(str(c) for c in r) + " |\n")
    f.write(f"\nData MB/s = the image's non-zero bytes ({R['data_bytes']}) / wall time of the command; wire MB/s = "
            "the push's bytes_sent / wall time. Every time is the wall time of the whole command (process start, "
            "cluster connection included).\n")
    f.write(f"\nFull push: {R['full_push_chunks']} chunks, {R['full_push_bytes_sent']} bytes sent "
            f"(compressed; rados bench writes 65536-byte objects), cold {R['full_push_cold_seconds']} s, warm "
            f"{R['full_push_warm_seconds']} s. `rpfs create vm day1` (cold): {R['create_day1_seconds']} s. "
            f"Mount of store 2: {R['mount_seconds']} s. OSD logs with 'failsafe engaged': {R['osd_failsafe_logs']}.\n\n")
    f.write("## Next-day pushes\n\nEach day overwrites the given share of the image's 64 KiB chunks (random, distinct) with "
            "random data, then `rpfs create vm dayN`; `rpfs push vm dayN --json` (cold page cache) into the region that "
            "holds the days before.\n\n")
    f.write("| RP | changed | changed MiB | chunks | chunks_inherited | chunks_sent | bytes_sent | push s | "
            "s per changed MiB | (push s - unchanged push s) per changed MiB | create s |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|\n")
    for d in days:
        cm = d["changed_bytes"] / MiB
        per = f"{d['push_seconds'] / cm:.4f}" if cm else "-"
        extra = f"{(d['push_seconds'] - base['push_seconds']) / cm:.4f}" if cm and base else "-"
        f.write(f"| {d['rp']} | {d['pct']} % | {cm:.1f} | {d['chunks']} | {d['chunks_inherited']} | "
                f"{d['chunks_sent']} | {d['bytes_sent']} | "
                f"{d['push_seconds']} | {per} | {extra} | {d['create_seconds']} |\n")
    if base:
        f.write(f"\nThe unchanged push ({base['rp']}, 0 %) is the fixed cost of a push: process start, cluster "
                "connection, the base's manifest read and this snapshot's manifest written (docs/region.md, push "
                "steps 0-2). The chunks its base (the day before) holds cost no RADOS operation "
                "(`chunks_inherited`); each changed chunk costs a reference attempt and its create.\n")
    names = {
        "rados_write_t16": "rados bench write -b 64K -t 16", "rados_seq_t16": "rados bench seq -t 16",
        "rados_seq_t1": "rados bench seq -t 1", "rados_write_t128": "rados bench write -b 64K -t 128",
        "push_full_cold": "rpfs push day1 (full, cold)", "push_full_warm": "rpfs push day1 (full, warm)",
        "clone": "rpfs clone --from-region", "hydrate_cli": "rpfs hydrate (cold)",
        "hydrate_dd": "dd hydration through the mount (client = the mount daemon)", "pull": "rpfs pull (cold)",
    }
    f.write("\n## CPU per step\n\nMedian wall time and CPU seconds (user+sys) of the client (rados, rpfs, or for dd the "
            "rpfs mount daemon) and of the OSD during the step; the machine has 2 cores, which both share (rados bench "
            "includes its connection and setup; its MB/s above is its own figure).\n\n")
    f.write("| step | wall s | client CPU s | OSD CPU s | cores busy (client + OSD) / wall |\n|---|---|---|---|---|\n")
    for k, v in R.items():
        if not k.startswith("cpu_"): continue
        step = k[4:]
        label = names.get(step, f"rpfs push {step[5:]} (cold)" if step.startswith("push_day") else step)
        busy = (v["client_cpu"] + v["osd_cpu"]) / v["wall"] if v["wall"] else 0
        f.write(f"| {label} | {v['wall']} | {v['client_cpu']} | {v['osd_cpu']} | {busy:.2f} |\n")
print(open(out + ".md").read())
EOF
