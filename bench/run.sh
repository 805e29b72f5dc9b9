#!/usr/bin/env bash
# End-to-end benchmark of rpfs against its peers (SPEC §6), side by side in one run.
#
# For each tool, on the reference workload built by bench/make-workload.sh (cached):
#   full backup of day01 (cold), next-day backup of day02 (cold), every remaining day (cold),
#   store size after day01 and after the last day (du -sb; rpfs also after `rpfs compact`),
#   full restore of the last day (cold), checked with cmp against the source image.
# Tools: rpfs (default settings), borg default (buzhash, lz4), borg fixed 4 MiB lz4,
#        borg fixed 4 MiB zstd 3, restic (repo v2, compression auto), casync (default),
#        plus an rpfs chunk-size sweep (--rpfs-chunk-sizes).
# "Cold" = `sync; echo 3 > /proc/sys/vm/drop_caches` right before the timed command.
# Results: bench/results/latest.{md,json} (latest-small.* with --small); raw log and per-step
# records in <workload dir>/run/.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(dirname "$BENCH_DIR")
RPFS_SRC=${RPFS:-$ROOT_DIR/build/src/cli/rpfs}
WORK_ROOT=${BENCH_WORK:-$BENCH_DIR/results/work}
RESULTS_DIR=$BENCH_DIR/results
MODE=full
REPEAT=1
ALL_TOOLS=rpfs,borg-default,borg-fixed-lz4,borg-fixed-zstd3,restic,casync
TOOLS=$ALL_TOOLS
SWEEP=16384,65536,262144,1048576
DROP=1
VERIFY=1
KEEP=0
OUT_NAME=

usage() {
  cat <<EOF
usage: $0 [--small] [--repeat N] [--tools LIST] [--rpfs-chunk-sizes LIST|none]
          [--no-drop-caches] [--no-verify] [--keep] [--work DIR] [--rpfs PATH] [--out NAME]
  --small               smoke run on the small workload (512 MiB image, 3 days)
  --repeat N            run every tool's sequence N times, report medians (default 1)
  --tools LIST          comma-separated subset of: $ALL_TOOLS
  --rpfs-chunk-sizes L  rpfs chunk-size sweep, comma-separated bytes (default $SWEEP;
                        'none' skips the sweep)
  --no-drop-caches      do not drop the page cache before timed steps (needs root otherwise)
  --no-verify           skip the cmp of each restored image against the source
  --keep                keep the repositories in <workload>/run/repos after the run
  --work DIR            work directory (default $WORK_ROOT)
  --rpfs PATH           rpfs binary (default $RPFS_SRC, copied before the run)
  --out NAME            results file stem in bench/results (default latest or latest-small)
EOF
}

while (($#)); do
  case "$1" in
    --small) MODE=small ;;
    --full) MODE=full ;;
    --repeat) REPEAT=$2; shift ;;
    --tools) TOOLS=$2; shift ;;
    --rpfs-chunk-sizes) SWEEP=$2; shift ;;
    --no-drop-caches) DROP=0 ;;
    --no-verify) VERIFY=0 ;;
    --keep) KEEP=1 ;;
    --work) WORK_ROOT=$2; shift ;;
    --rpfs) RPFS_SRC=$2; shift ;;
    --out) OUT_NAME=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --repeat needs a positive integer" >&2; exit 2; }
[[ $SWEEP == none || $SWEEP =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "run.sh: bad --rpfs-chunk-sizes" >&2; exit 2; }
[[ -n $OUT_NAME ]] || OUT_NAME=$([[ $MODE == small ]] && echo latest-small || echo latest)

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

IFS=, read -r -a TOOL_LIST <<<"$TOOLS"
for t in "${TOOL_LIST[@]}"; do
  [[ ,$ALL_TOOLS, == *,"$t",* ]] || die "unknown tool '$t' (known: $ALL_TOOLS)"
done
SWEEP_LIST=()
if [[ $SWEEP != none ]]; then IFS=, read -r -a SWEEP_LIST <<<"$SWEEP"; fi

needs() { command -v "$1" >/dev/null || die "missing $1 (scripts/install-deps.sh --bench installs the peers)"; }
needs python3
needs cmp
HAVE_TIME=1
[[ -x /usr/bin/time ]] || { HAVE_TIME=0; log "no /usr/bin/time (apt-get install time): CPU and RSS not recorded"; }
for t in "${TOOL_LIST[@]}"; do
  case $t in borg-*) needs borg ;; restic) needs restic ;; casync) needs casync ;; esac
done
if ((DROP)) && [[ ! -w /proc/sys/vm/drop_caches ]]; then
  die "cannot write /proc/sys/vm/drop_caches (run as root, or pass --no-drop-caches)"
fi

# --- workload (built once, cached) --------------------------------------------------------------
WL_ARGS=(--work "$WORK_ROOT")
[[ $MODE == small ]] && WL_ARGS+=(--small)
WL=$("$BENCH_DIR/make-workload.sh" "${WL_ARGS[@]}" | tail -n1)
MANIFEST=$WL/manifest.json
[[ -f $MANIFEST ]] || die "no workload manifest at $MANIFEST"
mapfile -t DAYS < <(python3 -c 'import json,sys; [print(d["name"]) for d in json.load(open(sys.argv[1]))["days"]]' "$MANIFEST")
IMGDIR=$WL/images
LAST=${DAYS[-1]}
((${#DAYS[@]} >= 2)) || die "workload needs at least 2 days"

RUN=$WL/run
case $RUN in */results/work/*/run | "$WORK_ROOT"/*/run) ;; *) die "refusing to use run dir $RUN" ;; esac
rm -rf "$RUN"
mkdir -p "$RUN/vm" "$RUN/repos" "${RUN:?}/home" "$RUN/bin"
RECORDS=$RUN/records.jsonl
RUNLOG=$RUN/run.log
: >"$RECORDS"
: >"$RUNLOG"

cleanup() {
  local rc=$?
  set +e
  rm -rf "$RUN/restore"
  if ((!KEEP)); then rm -rf "$RUN/repos" "${RUN:?}/home"; fi
  if ((rc != 0)); then log "failed (exit $rc); command output is in $RUNLOG"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The rpfs binary may be rebuilt while we run: wait for it, then use a private copy throughout.
for ((i = 0; i < 120; i++)); do [[ -x $RPFS_SRC ]] && break; log "waiting for $RPFS_SRC"; sleep 5; done
[[ -x $RPFS_SRC ]] || die "rpfs binary not found: $RPFS_SRC"
sleep 1
cp "$RPFS_SRC" "$RUN/bin/rpfs"
RPFS=$RUN/bin/rpfs
"$RPFS" --help >/dev/null || die "rpfs binary does not run"

# Every tool backs up the same path; each day is hard-linked there (new inode, same name, as a
# VM image changed in place looks to a file-level tool; no dirty bitmap, no files-cache hit).
DISK=$RUN/vm/vda.raw
set_day() {
  ln -f "$IMGDIR/$1.raw" "$DISK" 2>/dev/null || { rm -f "$DISK"; cp --sparse=always "$IMGDIR/$1.raw" "$DISK"; }
}

drop_caches() {
  if ((DROP)); then sync; echo 3 >/proc/sys/vm/drop_caches; fi
}

# measure TOOL REP STEP cmd... : run cmd cold (page cache dropped), record wall/user/sys/maxrss.
measure() {
  local tool=$1 rep=$2 step=$3; shift 3
  local tf=$RUN/time.out t0 t1 load
  drop_caches
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "### $tool rep$rep $step: $*" >>"$RUNLOG"
  local timer=()
  ((HAVE_TIME)) && timer=(/usr/bin/time -f '%U %S %M' -o "$tf")
  echo "null null null" >"$tf"
  t0=$(date +%s%N)
  if ! "${timer[@]}" "$@" >>"$RUNLOG" 2>&1; then
    tail -n 20 "$RUNLOG" >&2
    die "$tool $step failed: $*"
  fi
  t1=$(date +%s%N)
  local u s m secs
  read -r u s m <"$tf"
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  printf '{"tool":"%s","rep":%d,"step":"%s","seconds":%s,"user":%s,"sys":%s,"maxrss_kb":%s,"load1":%s}\n' \
    "$tool" "$rep" "$step" "$secs" "$u" "$s" "$m" "$load" >>"$RECORDS"
  printf '%8.2f s  %s %s\n' "$secs" "$tool" "$step" >&2
}
record() { # record TOOL REP KEY VALUE(json)
  printf '{"tool":"%s","rep":%d,"step":"%s","value":%s}\n' "$1" "$2" "$3" "$4" >>"$RECORDS"
}
dirsize() { du -sb "$1" | cut -f1; }

# --- tool adapters ------------------------------------------------------------------------------
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export BORG_PASSPHRASE="" BORG_DISPLAY_PASSPHRASE=no
export RESTIC_PASSWORD=rpfs-bench
BORG_EXTRACT_ARGS=(--sparse) # rpfs export and casync extract write sparse files too

tool_env() { # per-tool private home/caches
  local tool=$1
  export HOME=$RUN/home/$tool BORG_BASE_DIR=$RUN/home/$tool RESTIC_CACHE_DIR=$RUN/home/$tool/restic-cache
  mkdir -p "$HOME"
}

tool_init() { # tool_init TOOL REPO
  local tool=$1 repo=$2
  case $tool in
    rpfs) "$RPFS" --store "$repo" init ;;
    rpfs-cs*) "$RPFS" --store "$repo" init --chunk-size "${tool#rpfs-cs}" ;;
    borg-*) borg init --encryption none "$repo" ;;
    restic) restic -r "$repo" init --repository-version 2 ;;
    casync) mkdir -p "$repo/store" ;;
  esac >>"$RUNLOG" 2>&1
  case $tool in rpfs*) "$RPFS" --store "$repo" vm add bench --disk "vda=$DISK" >>"$RUNLOG" 2>&1 ;; esac
}

tool_backup() { # tool_backup TOOL REP REPO DAY STEP  (cwd = $RUN, path vm/vda.raw)
  local tool=$1 rep=$2 repo=$3 day=$4 step=$5
  case $tool in
    rpfs*) measure "$tool" "$rep" "$step" "$RPFS" --store "$repo" create bench "$day" ;;
    borg-default) measure "$tool" "$rep" "$step" borg create --compression lz4 "$repo::$day" vm/vda.raw ;;
    borg-fixed-lz4) measure "$tool" "$rep" "$step" borg create --chunker-params fixed,4194304 \
      --compression lz4 "$repo::$day" vm/vda.raw ;;
    borg-fixed-zstd3) measure "$tool" "$rep" "$step" borg create --chunker-params fixed,4194304 \
      --compression zstd,3 "$repo::$day" vm/vda.raw ;;
    restic) measure "$tool" "$rep" "$step" restic -r "$repo" backup --host bench --tag "$day" vm/vda.raw ;;
    casync) measure "$tool" "$rep" "$step" casync make --store="$repo/store" "$repo/$day.caibx" "$DISK" ;;
  esac
}

tool_restore() { # tool_restore TOOL REP REPO DAY OUTDIR ; prints the restored file
  local tool=$1 rep=$2 repo=$3 day=$4 out=$5
  case $tool in
    rpfs*) measure "$tool" "$rep" restore "$RPFS" --store "$repo" export bench "$day" vda -o "$out/vda.raw"
      echo "$out/vda.raw" ;;
    borg-*) (cd "$out" && measure "$tool" "$rep" restore borg extract "${BORG_EXTRACT_ARGS[@]}" "$repo::$day")
      echo "$out/vm/vda.raw" ;;
    restic) measure "$tool" "$rep" restore restic -r "$repo" restore latest --tag "$day" --target "$out"
      find "$out" -type f -name vda.raw | head -n1 ;;
    casync) measure "$tool" "$rep" restore casync extract --store="$repo/store" "$repo/$day.caibx" "$out/vda.raw"
      echo "$out/vda.raw" ;;
  esac
}

run_tool() { # run_tool TOOL REP
  local tool=$1 rep=$2 repo=$RUN/repos/$1 i day step
  log "== $tool (repetition $rep/$REPEAT)"
  rm -rf "$repo" "${RUN:?}/home/$tool"
  tool_env "$tool"
  set_day "${DAYS[0]}"
  tool_init "$tool" "$repo" || { tail -n 20 "$RUNLOG" >&2; die "$tool: initialising the repository failed"; }
  cd "$RUN"
  for i in "${!DAYS[@]}"; do
    day=${DAYS[i]}
    set_day "$day"
    step=backup_$day
    tool_backup "$tool" "$rep" "$repo" "$day" "$step"
    if ((i == 0)); then record "$tool" "$rep" store_bytes_day01 "$(dirsize "$repo")"; fi
  done
  record "$tool" "$rep" store_bytes "$(dirsize "$repo")"
  case $tool in
    rpfs*)
      record "$tool" "$rep" rpfs_du "$("$RPFS" --store "$repo" du --json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["store"]))')"
      measure "$tool" "$rep" compact "$RPFS" --store "$repo" compact
      record "$tool" "$rep" store_bytes_compacted "$(dirsize "$repo")"
      ;;
  esac
  rm -rf "$RUN/restore"
  mkdir -p "$RUN/restore"
  local restored
  restored=$(tool_restore "$tool" "$rep" "$repo" "$LAST" "$RUN/restore")
  [[ -n $restored && -f $restored ]] || die "$tool: restored image not found under $RUN/restore"
  record "$tool" "$rep" restored_allocated "$(($(stat -c %b "$restored") * 512))"
  if ((VERIFY)); then
    if cmp -s "$restored" "$IMGDIR/$LAST.raw"; then
      record "$tool" "$rep" verify '"ok"'
    else
      record "$tool" "$rep" verify '"MISMATCH"'
      log "WARNING: $tool restore of $LAST differs from the source image"
    fi
  fi
  rm -rf "$RUN/restore"
  if ((!KEEP)); then rm -rf "$repo" "${RUN:?}/home/$tool"; fi
}

# --- run ----------------------------------------------------------------------------------------
SEQ=("${TOOL_LIST[@]}")
for cs in "${SWEEP_LIST[@]}"; do SEQ+=("rpfs-cs$cs"); done

START_ISO=$(date -u +%Y-%m-%dT%H:%M:%SZ)
START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)
log "workload $WL: ${#DAYS[@]} days ($MODE); tools: ${SEQ[*]}; repeat $REPEAT; drop caches: $DROP"
# Baseline: reading the data extents of day01 cold (the I/O floor of any hole-skipping backup).
for ((rep = 1; rep <= REPEAT; rep++)); do
  measure baseline "$rep" read_cold python3 "$BENCH_DIR/lib/readdata.py" "$IMGDIR/${DAYS[0]}.raw"
done
record baseline 1 data_bytes "$(python3 "$BENCH_DIR/lib/readdata.py" "$IMGDIR/${DAYS[0]}.raw")"
for ((rep = 1; rep <= REPEAT; rep++)); do
  # Tools interleaved; the order rotates with each repetition so no tool always runs first.
  n=${#SEQ[@]}
  for ((k = 0; k < n; k++)); do run_tool "${SEQ[(k + rep - 1) % n]}" "$rep"; done
done
T1=$(date +%s)

python3 - "$RUN/meta.json" <<EOF
import json, sys
json.dump({
  "mode": "$MODE", "repeat": $REPEAT, "tools": "${SEQ[*]}".split(),
  "drop_caches": bool($DROP), "verify": bool($VERIFY),
  "started": "$START_ISO", "finished": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "wall_seconds": $((T1 - T0)), "load_at_start": "$START_LOAD",
  "load_at_end": "$(cut -d' ' -f1-3 /proc/loadavg)",
  "rpfs_binary": "$RPFS_SRC", "rpfs_binary_mtime": "$(date -u -r "$RPFS_SRC" +%Y-%m-%dT%H:%M:%SZ)",
  "rpfs_binary_sha256": "$(sha256sum "$RPFS" | cut -c1-16)",
  "rpfs_git": "$(git -C "$ROOT_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT_DIR" diff --quiet HEAD 2>/dev/null || echo '+dirty')",
  "borg_extract_args": "${BORG_EXTRACT_ARGS[*]}",
  "work_fs": "$(findmnt -no FSTYPE -T "$RUN" 2>/dev/null || echo unknown)",
}, open(sys.argv[1], "w"), indent=2)
EOF

python3 "$BENCH_DIR/lib/report.py" --records "$RECORDS" --manifest "$MANIFEST" --meta "$RUN/meta.json" \
  --md "$RESULTS_DIR/$OUT_NAME.md" --json "$RESULTS_DIR/$OUT_NAME.json"
log "done in $((T1 - T0)) s: $RESULTS_DIR/$OUT_NAME.md and $OUT_NAME.json"
cat "$RESULTS_DIR/$OUT_NAME.md"
