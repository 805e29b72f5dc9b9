#!/usr/bin/env bash
# Starts and stops a throwaway one-node Ceph cluster (Ceph 16, Debian 12 packages ceph-mon,
# ceph-osd, ceph-common) for the librados tests: one mon and one memstore OSD on 127.0.0.1,
# no mgr, no cephx. Everything (config, mon store, OSD data, logs, sockets) lives in DIR.
#
#   scripts/ceph-test-cluster.sh start DIR      create DIR, start mon + OSD, create the pool,
#                                               check that a write works; last stdout line is
#                                               CEPH_CONF=DIR/ceph.conf
#   scripts/ceph-test-cluster.sh stop DIR       kill both daemons, remove DIR (idempotent)
#   scripts/ceph-test-cluster.sh stop-osd DIR   stop the OSD gracefully (SIGTERM: memstore
#                                               saves its contents into DIR, so they survive)
#   scripts/ceph-test-cluster.sh start-osd DIR  start the OSD again, wait until a write works
#
# Environment (start; CEPH_START_TIMEOUT also start-osd):
#   CEPH_POOL             pool to create, with application "rados" enabled (default rpfs)
#   CEPH_MEMSTORE_BYTES   memstore capacity; RAM is used only as data is written, about twice
#                         the stored bytes (default 2 GiB)
#   CEPH_MON_PORT         mon v1 port P (v2 is P+1); default: a free pair in 20000-32000
#   CEPH_START_TIMEOUT    seconds to wait for the OSD to serve a write (default 60)
#
# Measured on 2 cores: start ~1 s, stop ~0.2 s, stop-osd + start-osd ~0.6 s (~2.7 s with
# 512 MB stored). The readiness object is removed again: the pool starts empty.
#
# Usage in a test:
#   dir=$(mktemp -d); trap 'scripts/ceph-test-cluster.sh stop "$dir"' EXIT
#   eval "$(scripts/ceph-test-cluster.sh start "$dir" | tail -n 1)"; export CEPH_CONF
#
# PIDs are in DIR/mon.pid and DIR/osd.pid, logs in DIR/log. On a failed start the daemons
# it started are killed and DIR is kept for its logs ("stop DIR" removes it). Without a mgr,
# "ceph -s" shows no PG or pool statistics and reports MGR_DOWN after 2 minutes; do not
# assert HEALTH_OK. Tested as root; the daemons run as the caller (no --setuser).
set -euo pipefail

readonly prog="ceph-test-cluster"
readonly python=/usr/bin/python3 # Debian's, with the rados module from python3-rados
readonly poll=0.2

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}

note() { printf '%s: %s\n' "$prog" "$*" >&2; }

now_ms() { date +%s%3N; }

# True when PID is a live ceph daemon of this cluster (its command line names our ceph.conf);
# guards against a PID reused by another process.
ours() {
  local pid=$1 cmdline
  [[ -n $pid ]] || return 1
  cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ " $cmdline" == *" -c $conf "* ]]
}

pid_of() { if [[ -f $dir/$1.pid ]]; then cat "$dir/$1.pid"; fi; }

# wait_gone PID SECONDS: true once PID is no longer ours (exited or reaped).
wait_gone() {
  local pid=$1 deadline=$(($(now_ms) + $2 * 1000))
  while ours "$pid"; do
    (($(now_ms) < deadline)) || return 1
    sleep 0.05
  done
}

# kill_daemon PID SIGNAL GRACE: send SIGNAL, then SIGKILL after GRACE seconds, wait until gone.
kill_daemon() {
  local pid=$1 sig=$2 grace=$3
  ours "$pid" || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$grace"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || { note "pid $pid survives SIGKILL"; return 1; }
  fi
}

port_free() { [[ -z $(ss -Htan "( sport = :$1 )" 2>/dev/null) ]]; }

pick_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 12000))
    if port_free "$p" && port_free "$((p + 1))"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

write_conf() {
  local port=$1
  cat >"$conf" <<EOF
# Throwaway test cluster written by scripts/ceph-test-cluster.sh; removed by "stop".
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$((port + 1)),v1:127.0.0.1:$port]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
run dir = $dir/run
crash dir = $dir/crash
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
mon cluster log file = $dir/log/cluster.log
osd pool default size = 1
osd pool default min size = 1
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd pool default pg autoscale mode = off
# A nearly full host disk must not warn or shut the mon down (defaults 30 % and 5 %).
mon data avail warn = 1
mon data avail crit = 1
mon warn on insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false
# Every osdmap change (osd new, pool create, OSD boot, crush placement, PG creation, up_thru)
# is a paxos commit, spaced by this interval (default 1 s): 0.05 s saves ~6 s per start.
paxos propose interval = 0.05
[mon]
mon data = $dir/mon-\$id
# A taken port: fail at once (default: 3 tries 5 s apart) so start can pick another one.
ms bind retry count = 1
[osd]
osd data = $dir/osd-\$id
osd objectstore = memstore
memstore device bytes = $memstore_bytes
osd class load list = *
osd class default list = *
# SIGTERM must unmount the store: only then does memstore save its contents into osd data,
# which stop-osd/start-osd rely on (the default fast shutdown just exits: data lost).
osd fast shutdown = false
EOF
}

# start_mon PORT: mkfs and start the mon; true once it listens on both ports. Returns 3 when
# the mon exited (e.g. the port was taken meanwhile), so the caller may try another port.
start_mon() {
  local port=$1 deadline listening
  write_conf "$port"
  rm -rf "$dir/mon-a" "$dir/monmap"
  monmaptool --create --fsid "$fsid" \
    --addv a "[v2:127.0.0.1:$((port + 1)),v1:127.0.0.1:$port]" "$dir/monmap" >/dev/null
  ceph-mon -c "$conf" -i a --mkfs --monmap "$dir/monmap" >>"$dir/log/mon.a.out" 2>&1
  ceph-mon -c "$conf" -i a -f </dev/null >>"$dir/log/mon.a.out" 2>&1 &
  mon_pid=$!
  echo "$mon_pid" >"$dir/mon.pid"
  deadline=$(($(now_ms) + 20000))
  while :; do
    listening=$(ss -Hltnp "( sport = :$port or sport = :$((port + 1)) )" 2>/dev/null |
      grep -c "pid=$mon_pid," || true)
    ((listening >= 2)) && return 0
    if ! kill -0 "$mon_pid" 2>/dev/null; then
      wait "$mon_pid" || true
      return 3
    fi
    (($(now_ms) < deadline)) || return 1
    sleep 0.05
  done
}

# Mon commands through one librados connection (each "ceph" CLI call costs ~0.7 s).
# Arguments are JSON commands; prints each command's output on its own line.
mon_commands() {
  "$python" - "$conf" "$@" <<'EOF'
import sys, rados
cluster = rados.Rados(conffile=sys.argv[1], name="client.admin")
cluster.connect(timeout=30)
for cmd in sys.argv[2:]:
    ret, out, err = cluster.mon_command(cmd, b"", timeout=30)
    if ret != 0:
        sys.exit(f"mon command {cmd} failed: {ret} {err}")
    print(out.decode().strip())
cluster.shutdown()
EOF
}

start_osd_daemon() {
  ceph-osd -c "$conf" -i "$osd_id" -f </dev/null >>"$dir/log/osd.$osd_id.out" 2>&1 &
  osd_pid=$!
  echo "$osd_pid" >"$dir/osd.pid"
}

# Readiness is a real write (without a mgr there are no PG states to poll): it blocks until
# the OSD is up and the PG active. Polls every 0.2 s so a crashed OSD fails at once. The
# short objecter tick makes the client re-fetch the osdmap every 0.2 s; with the default 5 s
# a write issued before the OSD is up waits ~5 s longer.
wait_writable() {
  local timeout_s=$1 rc=0 deadline
  printf 'ready\n' >"$dir/run/ready"
  timeout "$timeout_s" rados -c "$conf" --objecter-tick-interval "$poll" -p "$pool" \
    put __ceph_test_cluster_ready "$dir/run/ready" </dev/null >>"$dir/log/ready.out" 2>&1 &
  put_pid=$!
  deadline=$(($(now_ms) + timeout_s * 1000 + 5000))
  while kill -0 "$put_pid" 2>/dev/null; do
    if ! kill -0 "$osd_pid" 2>/dev/null; then
      kill "$put_pid" 2>/dev/null || true
      wait "$put_pid" 2>/dev/null || true
      note "ceph-osd (pid $osd_pid) exited before it served a write; see $dir/log/osd.$osd_id.log"
      return 1
    fi
    (($(now_ms) < deadline)) || break
    sleep "$poll"
  done
  wait "$put_pid" || rc=$?
  if ((rc != 0)); then
    if ((rc == 124)); then
      note "no write succeeded within ${timeout_s} s"
    else
      note "rados put failed (exit $rc); see $dir/log/ready.out"
    fi
    return 1
  fi
  # Leave the pool empty: tests may list it.
  timeout 30 rados -c "$conf" -p "$pool" rm __ceph_test_cluster_ready >>"$dir/log/ready.out" 2>&1
}

step="" # what start is doing, for the failure message
started_ok=0

on_start_exit() {
  local rc=$? f pid
  ((started_ok)) && return 0
  set +e
  ((rc != 0)) || rc=1
  [[ -n $put_pid ]] && kill "$put_pid" 2>/dev/null # TERM: timeout passes it on to rados
  for pid in "$osd_pid" "$mon_pid"; do
    [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
  done
  wait 2>/dev/null
  note "start failed at step: $step (exit $rc); logs in $dir/log"
  for f in "$dir/log/osd.${osd_id:-0}.out" "$dir/log/mon.a.out" "$dir/log/ready.out"; do
    [[ -s $f ]] && { note "--- tail $f"; grep -v '^$' "$f" | tail -n 5 >&2; }
  done
  exit "$rc"
}

cmd_start() {
  local t0 port tries rc=0 osd_uuid out
  t0=$(now_ms)
  trap on_start_exit EXIT
  step="check tools"
  for tool in ceph-mon ceph-osd monmaptool rados ss timeout "$python"; do
    command -v "$tool" >/dev/null || { note "missing $tool (run scripts/install-deps.sh)"; exit 1; }
  done
  step="create $dir"
  mkdir -p "$dir"
  if [[ -e $dir/mon.pid || -e $conf ]]; then
    note "$dir already holds a cluster; stop it first"
    exit 1
  fi
  mkdir -p "$dir/run" "$dir/log" "$dir/crash"
  fsid=$(cat /proc/sys/kernel/random/uuid)

  step="start ceph-mon"
  for ((tries = 1; ; tries++)); do
    if [[ -n ${CEPH_MON_PORT:-} ]]; then
      port=$CEPH_MON_PORT
    else
      port=$(pick_port) || { note "no free port pair in 20000-32000"; exit 1; }
    fi
    rc=0
    start_mon "$port" || rc=$?
    ((rc == 0)) && break
    if ((rc == 3)) && [[ -z ${CEPH_MON_PORT:-} ]] && ((tries < 5)); then
      note "ceph-mon exited on port $port, trying another port"
      continue
    fi
    if ((rc == 3)); then
      note "ceph-mon exited; see $dir/log/mon.a.log"
    else
      note "ceph-mon did not listen on $port/$((port + 1)) within 20 s"
    fi
    exit 1
  done

  # One connection for the OSD id and the pool: the pool can exist before the OSD boots.
  step="osd new + pool create"
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  out=$(mon_commands \
    "{\"prefix\": \"osd new\", \"uuid\": \"$osd_uuid\"}" \
    "{\"prefix\": \"osd pool create\", \"pool\": \"$pool\", \"pg_num\": 8, \"pgp_num\": 8}" \
    "{\"prefix\": \"osd pool application enable\", \"pool\": \"$pool\", \"app\": \"rados\"}")
  osd_id=$(head -n 1 <<<"$out")
  [[ $osd_id =~ ^[0-9]+$ ]] || { note "osd new returned '$osd_id'"; exit 1; }
  echo "$osd_id" >"$dir/osd.id"

  step="ceph-osd --mkfs"
  mkdir -p "$dir/osd-$osd_id"
  ceph-osd -c "$conf" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >>"$dir/log/osd.$osd_id.out" 2>&1
  step="start ceph-osd"
  start_osd_daemon
  step="first write to pool $pool (OSD up, PG active)"
  wait_writable "$start_timeout"

  started_ok=1
  note "up in $(($(now_ms) - t0)) ms: mon pid $mon_pid on 127.0.0.1:$port, osd.$osd_id pid $osd_pid, pool $pool"
  echo "CEPH_CONF=$conf"
}

cmd_stop() {
  local osd mon
  [[ -d $dir ]] || return 0
  osd=$(pid_of osd)
  mon=$(pid_of mon)
  # SIGKILL: on SIGTERM memstore first writes all its data into DIR, which only costs time.
  kill_daemon "$osd" KILL 0 || true
  kill_daemon "$mon" TERM 3 || true
  if ours "$osd" || ours "$mon"; then
    note "daemons still running; $dir kept"
    return 1
  fi
  rm -rf "$dir"
}

cmd_stop_osd() {
  local osd
  osd=$(pid_of osd)
  if ! ours "$osd"; then
    note "no running OSD in $dir"
    return 0
  fi
  # SIGTERM: the OSD tells the mon it goes down and memstore saves its contents to DIR.
  kill_daemon "$osd" TERM 60 || return 1
}

cmd_start_osd() {
  osd_pid=$(pid_of osd)
  if ours "$osd_pid"; then
    note "OSD already running (pid $osd_pid)"
    return 0
  fi
  [[ -f $dir/osd.id ]] || { note "no cluster in $dir"; return 1; }
  osd_id=$(cat "$dir/osd.id")
  start_osd_daemon
  if ! wait_writable "$start_timeout"; then
    kill -KILL "$osd_pid" 2>/dev/null || true
    note "start-osd failed; logs in $dir/log"
    return 1
  fi
}

(($# == 2)) || usage
mode=$1
dir=$(realpath -m -- "$2")
readonly conf=$dir/ceph.conf
readonly pool=${CEPH_POOL:-rpfs}
readonly memstore_bytes=${CEPH_MEMSTORE_BYTES:-2147483648}
readonly start_timeout=${CEPH_START_TIMEOUT:-60}
fsid="" mon_pid="" osd_pid="" osd_id="" put_pid=""

case $mode in
start) cmd_start ;;
stop) cmd_stop ;;
stop-osd) cmd_stop_osd ;;
start-osd) cmd_start_osd ;;
*) usage ;;
esac
