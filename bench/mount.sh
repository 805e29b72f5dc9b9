#!/usr/bin/env bash
# Mount benchmark (SPEC §6), every tool side by side in one run on the reference workload:
#   - the last day's image read through `rpfs mount`, `borg mount`, `restic mount` and
#     `casync mount`, and straight from the source image: sequential `dd bs=1M` with a cold
#     page cache, the same read again (warm), and fio 4 KiB random reads with 4 jobs (cold);
#   - rpfs metadata: mount time and `ls -l` of a VM holding 1000 RPs;
#   - rpfs daemon memory (VmHWM) after reading every day's image through one mount.
# Results: bench/results/mount.{md,json} (mount-small.* with --small); log in <workload>/mount/.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(dirname "$BENCH_DIR")
RPFS_SRC=${RPFS:-$ROOT_DIR/build/src/cli/rpfs}
WORK_ROOT=${BENCH_WORK:-$BENCH_DIR/results/work}
RESULTS_DIR=$BENCH_DIR/results
MODE=full
ALL_TOOLS=source,rpfs,borg-default,borg-fixed-lz4,restic,casync
TOOLS=$ALL_TOOLS
FIO_SECONDS=15
RPS=1000

usage() {
  cat <<EOF
usage: $0 [--small] [--tools LIST] [--fio-seconds N] [--rps N] [--work DIR] [--rpfs PATH]
  --small          smoke run on the small workload (512 MiB image, 3 days)
  --tools LIST     comma-separated subset of: $ALL_TOOLS
  --fio-seconds N  length of each fio run (default $FIO_SECONDS)
  --rps N          RPs in the metadata test (default $RPS; 0 skips it)
EOF
}
while (($#)); do
  case "$1" in
    --small) MODE=small ;;
    --tools) TOOLS=$2; shift ;;
    --fio-seconds) FIO_SECONDS=$2; shift ;;
    --rps) RPS=$2; shift ;;
    --work) WORK_ROOT=$2; shift ;;
    --rpfs) RPFS_SRC=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "mount.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
OUT_NAME=$([[ $MODE == small ]] && echo mount-small || echo mount)
log() { printf '[mount-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (drop_caches, mounts)"
for c in fio python3 fusermount3; do command -v $c >/dev/null || die "missing $c (scripts/install-deps.sh --bench)"; done
IFS=, read -r -a TOOL_LIST <<<"$TOOLS"

WL_ARGS=(--work "$WORK_ROOT")
[[ $MODE == small ]] && WL_ARGS+=(--small)
WL=$("$BENCH_DIR/make-workload.sh" "${WL_ARGS[@]}" | tail -n1)
mapfile -t DAYS < <(python3 -c 'import json,sys; [print(d["name"]) for d in json.load(open(sys.argv[1]))["days"]]' "$WL/manifest.json")
LAST=${DAYS[-1]}
IMG=$WL/images/$LAST.raw

RUN=$WL/mount
case $RUN in "$WORK_ROOT"/*/mount) ;; *) die "refusing to use $RUN" ;; esac
MOUNTS=()
cleanup() {
  local rc=$?
  set +e
  for m in "${MOUNTS[@]}"; do fusermount3 -uz "$m" 2>/dev/null; done
  ((rc == 0)) || log "failed (exit $rc); see $RUN/log"
  rm -rf "$RUN/repos" "$RUN/home"
  exit $rc
}
trap cleanup EXIT
rm -rf "$RUN"
mkdir -p "$RUN/vm" "$RUN/repos" "$RUN/bin" "$RUN/mnt" "$RUN/home"
cp "$RPFS_SRC" "$RUN/bin/rpfs"
RPFS=$RUN/bin/rpfs
LOG=$RUN/log
RECORDS=$RUN/records.jsonl
: >"$RECORDS"
record() { printf '{"tool":"%s","key":"%s","value":%s}\n' "$1" "$2" "$3" >>"$RECORDS"; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
# Polls (bounded) until `test -e PATH` holds: peers that mount in the foreground.
wait_for() { for _ in $(seq 600); do [[ -e $1 ]] && return 0; sleep 0.1; done; die "timed out waiting for $1"; }

export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_PASSPHRASE="" RESTIC_PASSWORD=rpfs-bench
export HOME=$RUN/home BORG_BASE_DIR=$RUN/home RESTIC_CACHE_DIR=$RUN/home/restic-cache
DISK=$RUN/vm/vda.raw
set_day() { ln -f "$WL/images/$1.raw" "$DISK"; }

# read_tests TOOL FILE: dd cold, dd warm, fio cold; records MB/s and IOPS.
read_tests() {
  local tool=$1 file=$2 t0 t1 size
  size=$(stat -c %s "$file")
  drop_caches
  t0=$(now); dd if="$file" of=/dev/null bs=1M status=none; t1=$(now)
  record "$tool" dd_cold_mbps "$(awk -v s="$size" -v t="$(secs "$t0" "$t1")" 'BEGIN { printf "%.0f", s / t / 1e6 }')"
  t0=$(now); dd if="$file" of=/dev/null bs=1M status=none; t1=$(now)
  record "$tool" dd_warm_mbps "$(awk -v s="$size" -v t="$(secs "$t0" "$t1")" 'BEGIN { printf "%.0f", s / t / 1e6 }')"
  drop_caches
  fio --name=randread --filename="$file" --readonly --rw=randread --bs=4k --numjobs=4 \
    --ioengine=psync --time_based --runtime="$FIO_SECONDS" --group_reporting \
    --output-format=json >"$RUN/fio-$tool.json" 2>>"$LOG"
  record "$tool" fio_iops "$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["jobs"][0]["read"]["iops"]))' "$RUN/fio-$tool.json")"
  log "$tool: $(grep "\"$tool\"" "$RECORDS" | tail -n3 | sed 's/.*"key":"\([^"]*\)","value":\(.*\)}/\1=\2/' | tr '\n' ' ')"
}

# mount_tool TOOL REPO MNT: mounts, records the time to a usable mount, prints the image path.
mount_tool() {
  local tool=$1 repo=$2 mnt=$3 t0 t1 path
  mkdir -p "$mnt"
  t0=$(now)
  case $tool in
    rpfs) "$RPFS" --store "$repo" mount "$mnt"; path=$mnt/bench/$LAST/vda.raw ;;
    borg-*) borg mount "$repo::$LAST" "$mnt"; path=$mnt/vm/vda.raw ;;
    restic) (restic -r "$repo" mount --allow-other=false "$mnt" >>"$LOG" 2>&1 &)
      wait_for "$mnt/snapshots/latest"
      path=$(find "$mnt/snapshots/latest/" -name vda.raw | head -n1) ;;
    casync) (casync mount --store="$repo/store" "$repo/$LAST.caidx" "$mnt" >>"$LOG" 2>&1 &)
      wait_for "$mnt/vda.raw"
      path=$mnt/vda.raw ;;
  esac
  [[ -e $path ]] || die "$tool: no image at $path"
  t1=$(now)
  record "$tool" mount_seconds "$(secs "$t0" "$t1")"
  echo "$path"
}

unmount_tool() {
  local mnt=$1
  fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt" 2>/dev/null || fusermount3 -uz "$mnt"
  for _ in $(seq 100); do mountpoint -q "$mnt" || break; sleep 0.1; done
}

backup() { # backup TOOL REPO: a repository holding the last day
  local tool=$1 repo=$2
  set_day "$LAST"
  (
    cd "$RUN"
    case $tool in
      rpfs) "$RPFS" --store "$repo" init && "$RPFS" --store "$repo" vm add bench --disk "vda=$DISK" &&
        "$RPFS" --store "$repo" create bench "$LAST" ;;
      borg-default) borg init --encryption none "$repo" && borg create --compression lz4 "$repo::$LAST" vm/vda.raw ;;
      borg-fixed-lz4) borg init --encryption none "$repo" &&
        borg create --chunker-params fixed,4194304 --compression lz4 "$repo::$LAST" vm/vda.raw ;;
      restic) restic -r "$repo" init --repository-version 2 && restic -r "$repo" backup --host bench vm/vda.raw ;;
      casync) mkdir -p "$repo/store" && casync make --store="$repo/store" "$repo/$LAST.caidx" "$RUN/vm" ;;
    esac
  ) >>"$LOG" 2>&1 || die "$tool: backup failed (see $LOG)"
}

log "workload $WL, image $LAST ($(du -h --apparent-size "$IMG" | cut -f1) apparent); tools: ${TOOL_LIST[*]}"
for tool in "${TOOL_LIST[@]}"; do
  case $tool in
    source) read_tests source "$IMG" ;;
    rpfs | borg-* | restic | casync)
      repo=$RUN/repos/$tool
      log "$tool: backing up $LAST"
      backup "$tool" "$repo"
      MOUNTS+=("$RUN/mnt/$tool")
      path=$(mount_tool "$tool" "$repo" "$RUN/mnt/$tool")
      cmp -s "$path" "$IMG" || die "$tool: the mounted image differs from the source"
      read_tests "$tool" "$path"
      unmount_tool "$RUN/mnt/$tool"
      rm -rf "$repo"
      ;;
    *) die "unknown tool $tool" ;;
  esac
done

# --- rpfs daemon memory: every day's image read through one mount ---------------------------------
log "rpfs: daemon memory while reading every day's image"
repo=$RUN/repos/rpfs-all
set_day "${DAYS[0]}"
"$RPFS" --store "$repo" init >>"$LOG"
"$RPFS" --store "$repo" vm add bench --disk "vda=$DISK" >>"$LOG"
for d in "${DAYS[@]}"; do set_day "$d"; "$RPFS" --store "$repo" create bench "$d" >>"$LOG"; done
mnt=$RUN/mnt/rpfs-all
mkdir -p "$mnt"; MOUNTS+=("$mnt")
"$RPFS" --store "$repo" mount "$mnt"
pid=$(cat "$repo/rpfs.lock")
total=0
drop_caches
for d in "${DAYS[@]}"; do
  dd if="$mnt/bench/$d/vda.raw" of=/dev/null bs=1M status=none
  total=$((total + $(stat -c %s "$mnt/bench/$d/vda.raw")))
done
record rpfs daemon_read_bytes "$total"
record rpfs daemon_vmhwm_kb "$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")"
unmount_tool "$mnt"
rm -rf "$repo"

# --- rpfs metadata: a VM with many RPs -----------------------------------------------------------
if ((RPS > 0)); then
  log "rpfs: mount and ls of a VM with $RPS RPs"
  repo=$RUN/repos/rpfs-meta
  truncate -s 1M "$RUN/tiny.raw"
  "$RPFS" --store "$repo" init >>"$LOG"
  "$RPFS" --store "$repo" vm add tiny --disk "vda=$RUN/tiny.raw" >>"$LOG"
  mnt=$RUN/mnt/rpfs-meta
  mkdir -p "$mnt"; MOUNTS+=("$mnt")
  "$RPFS" --store "$repo" mount "$mnt"  # the creates below go through its daemon
  for ((i = 1; i <= RPS; i++)); do
    printf 'rp%05d' "$i" | dd of="$RUN/tiny.raw" conv=notrunc status=none
    "$RPFS" --store "$repo" create tiny "$(printf 'rp%05d' "$i")" >/dev/null
  done
  unmount_tool "$mnt"
  drop_caches
  t0=$(now); "$RPFS" --store "$repo" mount "$mnt"; t1=$(now)
  record rpfs meta_mount_seconds "$(secs "$t0" "$t1")"
  t0=$(now); n=$(ls -l "$mnt/tiny" | grep -c '^d'); t1=$(now)
  [[ $n == "$RPS" ]] || die "ls shows $n RPs, expected $RPS"
  record rpfs meta_ls_first_seconds "$(secs "$t0" "$t1")"
  t0=$(now); ls -l "$mnt/tiny" >/dev/null; t1=$(now)
  record rpfs meta_ls_again_seconds "$(secs "$t0" "$t1")"
  t0=$(now); cat "$mnt/tiny/$(printf 'rp%05d' $(((RPS + 1) / 2)))/info" >/dev/null; t1=$(now)
  record rpfs meta_info_seconds "$(secs "$t0" "$t1")"
  record rpfs meta_rps "$RPS"
  unmount_tool "$mnt"
  rm -rf "$repo"
fi

python3 - "$RECORDS" "$RESULTS_DIR/$OUT_NAME.md" "$RESULTS_DIR/$OUT_NAME.json" "$LAST" "$FIO_SECONDS" \
  "$(git -C "$ROOT_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)" <<'EOF'
import json, sys, datetime
records, md_path, json_path, day, fio_s, git = sys.argv[1:]
r = {}
for line in open(records):
    x = json.loads(line)
    r.setdefault(x["tool"], {})[x["key"]] = x["value"]
peers = [t for t in r if t not in ("rpfs", "source")]
def best(key):
    vals = [r[t][key] for t in peers if key in r[t]]
    return max(vals) if vals else None
out = ["# Mount benchmark (bench/mount.sh)", "",
       f"Image: {day} of the reference workload, read in full (holes included). "
       f"fio: 4 KiB random reads, 4 jobs, psync, {fio_s} s, cold page cache. "
       f"git {git}, {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC.", "",
       "| tool | mount (s) | dd cold (MB/s) | dd warm (MB/s) | fio 4k rand (IOPS) |",
       "|---|---|---|---|---|"]
for t, v in r.items():
    if "dd_cold_mbps" not in v: continue
    out.append(f"| {t} | {v.get('mount_seconds', '-')} | {v['dd_cold_mbps']} | {v['dd_warm_mbps']} | {v['fio_iops']} |")
rp = r.get("rpfs", {})
ratios = {}
for key in ("dd_cold_mbps", "dd_warm_mbps", "fio_iops"):
    b = best(key)
    if b and key in rp: ratios[key] = round(rp[key] / b, 2)
if ratios:
    out += ["", "rpfs / best peer: " + ", ".join(f"{k} {v}x" for k, v in ratios.items())]
if "daemon_vmhwm_kb" in rp:
    out += ["", f"rpfs daemon peak RSS (VmHWM) after reading {rp['daemon_read_bytes'] / 2**30:.1f} GiB "
            f"of RP images through one mount: {rp['daemon_vmhwm_kb'] / 1024:.0f} MiB"]
if "meta_rps" in rp:
    out += ["", f"rpfs metadata, VM with {rp['meta_rps']} RPs: mount {rp['meta_mount_seconds']} s, "
            f"first `ls -l` {rp['meta_ls_first_seconds']} s, again {rp['meta_ls_again_seconds']} s, "
            f"`cat info` {rp['meta_info_seconds']} s"]
open(md_path, "w").write("\n".join(out) + "\n")
json.dump({"results": r, "ratios_vs_best_peer": ratios}, open(json_path, "w"), indent=2)
print("\n".join(out))
EOF
