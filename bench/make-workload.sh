#!/usr/bin/env bash
# Builds the SPEC §6 reference workload for bench/run.sh:
#   day01.raw  a raw image (4 GiB) holding an ext4 filesystem with a Debian bookworm system
#              (debootstrap --variant=minbase plus common packages, ~1.2 GB allocated);
#   day02..10  successive "daily" versions, each a sparse copy of the previous day changed by
#              installing/removing a few packages in a chroot on the loop-mounted image.
# --small builds a 512 MiB image with fewer packages and 3 days, for a quick smoke run.
#
# Output: WORK/<full|small>/images/dayNN.raw and WORK/<full|small>/manifest.json (sizes,
# allocated bytes, bytes changed per day at 64 KiB granularity, package changes, timings).
# The result is cached: a second run with the same configuration does nothing (--force rebuilds).
# Downloaded .deb files are kept in WORK/cache/ (outside the images) so rebuilds are quick.
#
# Needs root (loop mount, chroot), debootstrap, e2fsprogs, python3 and network access to the
# Debian mirror configured for apt on this machine (or --mirror URL / $BENCH_MIRROR).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK_ROOT=${BENCH_WORK:-$BENCH_DIR/results/work}
MODE=full
FORCE=0
MIRROR=${BENCH_MIRROR:-}

usage() {
  cat <<EOF
usage: $0 [--small] [--work DIR] [--mirror URL] [--force]
  --small       512 MiB image, fewer packages, 3 days (smoke run)
  --work DIR    work directory (default: $WORK_ROOT, git-ignored)
  --mirror URL  Debian mirror (default: the bookworm mirror in /etc/apt/sources.list*)
  --force       rebuild even if a complete workload is cached
Prints the workload directory on the last line of stdout.
EOF
}

while (($#)); do
  case "$1" in
    --small) MODE=small ;;
    --full) MODE=full ;;
    --work) WORK_ROOT=$2; shift ;;
    --mirror) MIRROR=$2; shift ;;
    --force) FORCE=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "make-workload: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

log() { printf '[make-workload %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Workload definition. Changing any of this changes the signature and forces a rebuild.
if [[ $MODE == full ]]; then
  IMG_SIZE=4G
  NDAYS=10
  BASE_PKGS=(locales ca-certificates less man-db python3 python3-pip python3-venv perl vim git curl
    openssh-server build-essential gdb cmake default-jdk-headless)
  # Day N: packages to install (+name) or remove (-name, followed by autoremove --purge).
  DAY_CHANGES=(
    [2]="+tmux +jq +wget"
    [3]="+rsync +ripgrep -tmux"
    [4]="+nginx-light"
    [5]="+tcpdump +strace -wget"
    [6]="+w3m +nano +htop"
    [7]="+aspell -ripgrep"
    [8]="+tcl +lsof +zip"
    [9]="+bind9-dnsutils -nano"
    [10]="+subversion -aspell"
  )
else
  IMG_SIZE=512M
  NDAYS=3
  BASE_PKGS=(ca-certificates less vim-tiny curl)
  DAY_CHANGES=(
    [2]="+tmux +jq"
    [3]="+rsync +strace -tmux"
  )
fi
SUITE=bookworm

# ---------------------------------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || die "must run as root (loop mount and chroot)"
for t in debootstrap mkfs.ext4 e2fsck mount umount chroot python3 flock mountpoint; do
  command -v "$t" >/dev/null || die "missing tool: $t (scripts/install-deps.sh --bench installs it)"
done

find_mirror() {
  # First bookworm (non-security) "main" source in apt's configuration, one-line or deb822 format.
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r $f ]] || continue
    awk -v s="$SUITE" '$1=="deb" { i=2; if ($2 ~ /^\[/) { while (i<=NF && $i !~ /\]$/) i++; i++ }
      if ($(i+1)==s && $i !~ /security/) { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] || continue
    awk -v s="$SUITE" 'BEGIN{RS=""; FS="\n"} {
      uri=""; ok=0; deb=0
      for (k=1;k<=NF;k++) { line=$k; if (line ~ /^#/) continue
        if (line ~ /^Types:/ && line ~ /(^|[ \t])deb([ \t]|$)/) deb=1
        if (line ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", line); split(line, u, /[ \t]+/); uri=u[1] }
        if (line ~ /^Suites:/) { n=split(line, w, /[ \t]+/); for (j=2;j<=n;j++) if (w[j]==s) ok=1 } }
      if (deb && ok && uri != "" && uri !~ /security/) { print uri; exit } }' "$f"
  done
}
if [[ -z $MIRROR ]]; then
  MIRROR=$(find_mirror | head -n1)
  [[ -n $MIRROR ]] || die "no $SUITE mirror found in /etc/apt/sources.list*; pass --mirror URL"
fi

W=$WORK_ROOT/$MODE
IMGDIR=$W/images
CACHE=$WORK_ROOT/cache/debs
mkdir -p "$IMGDIR" "$CACHE/partial" "$W/logs"
W=$(cd "$W" && pwd)
IMGDIR=$W/images
CACHE=$(cd "$CACHE" && pwd)

SIG=$(printf '%s\n' "v5" "$MODE" "$IMG_SIZE" "$NDAYS" "${BASE_PKGS[*]}" "${DAY_CHANGES[@]}" | sha256sum | cut -c1-16)

exec 9>"$W/.lock"
flock -n 9 || die "another make-workload is running on $W"

complete() {
  [[ -f $W/manifest.json ]] || return 1
  python3 - "$W/manifest.json" "$SIG" <<'EOF' || return 1
import json, sys
m = json.load(open(sys.argv[1]))
sys.exit(0 if m.get("signature") == sys.argv[2] and m.get("complete") else 1)
EOF
  local d
  for ((d = 1; d <= NDAYS; d++)); do [[ -f $(printf '%s/day%02d.raw' "$IMGDIR" "$d") ]] || return 1; done
}
if ((!FORCE)) && complete; then
  log "workload cached in $W (signature $SIG); --force rebuilds"
  echo "$W"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# Mount bookkeeping: every mount goes on a stack; cleanup unmounts in reverse order, always.
MOUNTS=()
push_mount() { # push_mount MOUNTPOINT mount-args...
  local mp=$1; shift
  mount "$@" "$mp"
  MOUNTS+=("$mp")
}
kill_chroot_procs() { # processes (started by this script's chroot commands) rooted in $1
  local root=$1 p r pids=()
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    if [[ $r == "$root" || $r == "$root"/* ]]; then pids+=("${p#/proc/}"); fi
  done
  if ((${#pids[@]})); then
    log "stopping processes left in chroot $root: ${pids[*]}"
    kill "${pids[@]}" 2>/dev/null || true
    sleep 1
    kill -9 "${pids[@]}" 2>/dev/null || true
  fi
}
unmount_to() { # unmount_to N: pop mounts until N remain
  local n=$1 mp
  while ((${#MOUNTS[@]} > n)); do
    mp=${MOUNTS[-1]}
    if mountpoint -q "$mp"; then
      umount "$mp" 2>/dev/null || { sleep 1; umount "$mp" 2>/dev/null; } || {
        log "warning: lazy unmount of $mp"
        umount -l "$mp"
      }
    fi
    unset 'MOUNTS[-1]'
  done
}
safe_rmrf() { # refuses to delete a tree that still has something mounted in it
  local d=$1
  [[ -e $d ]] || return 0
  if awk -v d="$d" '$2 == d || index($2, d "/") == 1 { found=1 } END { exit !found }' /proc/mounts; then
    log "warning: not deleting $d: something is still mounted below it"
    return 1
  fi
  rm -rf "$d"
}
cleanup() {
  local rc=$?
  set +e
  local mp
  for mp in "${MOUNTS[@]}"; do kill_chroot_procs "$mp"; done
  unmount_to 0
  safe_rmrf "$W/build"
  rm -f "$IMGDIR"/*.tmp
  if grep -q " $W/" /proc/mounts; then log "warning: mounts left under $W:"; grep " $W/" /proc/mounts >&2; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

chroot_enter() { # chroot_enter ROOT: mounts for apt in a chroot; returns stack depth before
  local r=$1
  push_mount "$r/proc" -t proc proc
  push_mount "$r/sys" -t sysfs sysfs
  push_mount "$r/dev" --bind /dev
  push_mount "$r/dev/pts" --bind /dev/pts
  mkdir -p "$r/var/cache/apt/archives"
  push_mount "$r/var/cache/apt/archives" --bind "$CACHE"
  # No daemons may start inside the chroot.
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
  chmod 755 "$r/usr/sbin/policy-rc.d"
  cp -L /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
}
chroot_leave() { # chroot_leave ROOT DEPTH
  local r=$1 depth=$2
  rm -f "$r/usr/sbin/policy-rc.d"
  kill_chroot_procs "$r"
  unmount_to "$depth"
}
in_chroot() { # in_chroot ROOT cmd...
  local r=$1; shift
  DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true LC_ALL=C LANG=C \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$r" "$@"
}
APT_OPTS=(-y -q -o Dpkg::Use-Pty=0 -o APT::Install-Recommends=false -o Dpkg::Options::=--force-confdef
  -o Dpkg::Options::=--force-confold)

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$1" "$(now)"; }

T_START=$(now)
log "building $MODE workload in $W (image $IMG_SIZE, $NDAYS days, mirror $MIRROR, signature $SIG)"
rm -f "$W/manifest.json" "$IMGDIR"/day*.raw "$IMGDIR"/*.tmp
safe_rmrf "$W/build" || die "leftover mounts under $W/build"
mkdir -p "$W/build/rootfs" "$W/build/mnt"
ROOTFS=$W/build/rootfs
MNT=$W/build/mnt

# --- day01: debootstrap + packages in a directory, then copied into a fresh ext4 image --------
t=$(now)
log "debootstrap --variant=minbase $SUITE (log: $W/logs/debootstrap.log)"
debootstrap --variant=minbase --cache-dir="$CACHE" "$SUITE" "$ROOTFS" "$MIRROR" \
  >"$W/logs/debootstrap.log" 2>&1 || { tail -20 "$W/logs/debootstrap.log" >&2; die "debootstrap failed"; }
T_DEBOOTSTRAP=$(elapsed "$t")

# debootstrap leaves its .debs in the target's apt cache: not part of an installed system.
find "$ROOTFS/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -delete
# No binary package caches (pkgcache.bin/srcpkgcache.bin, 2 x ~40 MB): apt would rewrite ~40 MB
# on every install regardless of the packages, as in Debian's docker images (docker-clean).
printf '%s\n' 'Dir::Cache::pkgcache "";' 'Dir::Cache::srcpkgcache "";' \
  >"$ROOTFS/etc/apt/apt.conf.d/00rpfs-bench-no-pkgcache"

t=$(now)
depth=${#MOUNTS[@]}
chroot_enter "$ROOTFS"
log "installing ${#BASE_PKGS[@]} base packages (log: $W/logs/day01.log)"
{
  # (errexit is off inside a `{ } || die` group: chain with &&)
  in_chroot "$ROOTFS" apt-get -q update &&
    in_chroot "$ROOTFS" apt-get "${APT_OPTS[@]}" install "${BASE_PKGS[@]}" &&
    rm -f "$ROOTFS"/var/cache/apt/*.bin &&
    if [[ -f $ROOTFS/etc/locale.gen ]]; then
      echo "en_US.UTF-8 UTF-8" >>"$ROOTFS/etc/locale.gen" && in_chroot "$ROOTFS" locale-gen
    fi
} >"$W/logs/day01.log" 2>&1 || { tail -20 "$W/logs/day01.log" >&2; die "package installation failed"; }
echo "rpfs-bench" >"$ROOTFS/etc/hostname"
chroot_leave "$ROOTFS" "$depth"
T_PACKAGES=$(elapsed "$t")

t=$(now)
log "creating day01.raw: mkfs.ext4 on a $IMG_SIZE sparse file, copying the root filesystem in"
truncate -s "$IMG_SIZE" "$IMGDIR/day01.raw.tmp"
mkfs.ext4 -q -F -L rpfs-bench -E lazy_itable_init=0,lazy_journal_init=0 "$IMGDIR/day01.raw.tmp"
depth=${#MOUNTS[@]}
push_mount "$MNT" -o loop "$IMGDIR/day01.raw.tmp"
cp -a "$ROOTFS/." "$MNT/"
unmount_to "$depth"
sync
e2fsck -fn "$IMGDIR/day01.raw.tmp" >"$W/logs/fsck-day01.log" 2>&1 || die "e2fsck of day01 failed"
mv "$IMGDIR/day01.raw.tmp" "$IMGDIR/day01.raw"
safe_rmrf "$ROOTFS"
T_IMAGE=$(elapsed "$t")

# --- day02..: sparse copy of the previous day, packages changed in a chroot on the loop mount ---
T_DAYS=()
for ((d = 2; d <= NDAYS; d++)); do
  t=$(now)
  prev=$(printf '%s/day%02d.raw' "$IMGDIR" $((d - 1)))
  cur=$(printf '%s/day%02d.raw' "$IMGDIR" "$d")
  changes=${DAY_CHANGES[d]}
  log "day$(printf %02d "$d"): $changes"
  cp --sparse=always "$prev" "$cur.tmp"
  depth=${#MOUNTS[@]}
  push_mount "$MNT" -o loop "$cur.tmp"
  chroot_enter "$MNT"
  add=() del=()
  for c in $changes; do
    case $c in
      +*) add+=("${c#+}") ;;
      -*) del+=("${c#-}") ;;
    esac
  done
  {
    { ((${#add[@]} == 0)) || in_chroot "$MNT" apt-get "${APT_OPTS[@]}" install "${add[@]}"; } &&
      { ((${#del[@]} == 0)) || in_chroot "$MNT" apt-get "${APT_OPTS[@]}" purge "${del[@]}"; } &&
      in_chroot "$MNT" apt-get "${APT_OPTS[@]}" autoremove --purge
  } >"$(printf '%s/logs/day%02d.log' "$W" "$d")" 2>&1 ||
    { tail -20 "$(printf '%s/logs/day%02d.log' "$W" "$d")" >&2; die "day $d package changes failed"; }
  chroot_leave "$MNT" "$depth"
  unmount_to "$depth"
  sync
  e2fsck -fn "$cur.tmp" >"$(printf '%s/logs/fsck-day%02d.log' "$W" "$d")" 2>&1 || die "e2fsck of day $d failed"
  mv "$cur.tmp" "$cur"
  T_DAYS+=("$(elapsed "$t")")
done
safe_rmrf "$W/build"

# --- manifest: sizes and bytes changed per day at 64 KiB granularity ----------------------------
log "measuring allocation and daily change (64 KiB granularity)"
DIFFS=()
for ((d = 2; d <= NDAYS; d++)); do
  DIFFS+=("$(python3 "$BENCH_DIR/lib/blockdiff.py" "$(printf '%s/day%02d.raw' "$IMGDIR" $((d - 1)))" \
    "$(printf '%s/day%02d.raw' "$IMGDIR" "$d")" 65536)")
done
T_TOTAL=$(elapsed "$T_START")

python3 - "$W/manifest.json" <<EOF
import json, os, sys
imgdir = "$IMGDIR"
ndays = $NDAYS
changes = """$(for ((d = 2; d <= NDAYS; d++)); do echo "${DAY_CHANGES[d]}"; done)""".splitlines()
diffs = [json.loads(l) for l in """$(printf '%s\n' "${DIFFS[@]}")""".splitlines() if l.strip()]
days = []
for d in range(1, ndays + 1):
    p = os.path.join(imgdir, "day%02d.raw" % d)
    st = os.stat(p)
    e = {"name": "day%02d" % d, "path": p, "size": st.st_size, "allocated": st.st_blocks * 512}
    if d >= 2:
        e["changes"] = changes[d - 2]
        e["changed_bytes_64k"] = diffs[d - 2]["changed_bytes"]
    days.append(e)
m = {
    "complete": True, "signature": "$SIG", "mode": "$MODE", "image_size": "$IMG_SIZE",
    "days": days, "base_packages": "${BASE_PKGS[*]}".split(), "suite": "$SUITE",
    "mirror": "$MIRROR", "filesystem": "ext4",
    "built": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
    "build_seconds": {"debootstrap": $T_DEBOOTSTRAP, "packages": $T_PACKAGES, "image": $T_IMAGE,
                      "days": [$(IFS=,; echo "${T_DAYS[*]}")], "total": $T_TOTAL},
}
json.dump(m, open(sys.argv[1], "w"), indent=2)
ch = [x["changed_bytes_64k"] for x in days[1:]]
print("day01: %.0f MB allocated of %.0f MB; daily change at 64 KiB: %s MB (mean %.1f MB)" % (
    days[0]["allocated"] / 1e6, days[0]["size"] / 1e6, ", ".join("%.1f" % (c / 1e6) for c in ch),
    sum(ch) / len(ch) / 1e6), file=sys.stderr)
EOF
log "done in ${T_TOTAL}s: $W"
echo "$W"
