#!/usr/bin/env python3
"""Aggregates bench/run.sh records (medians over repetitions) into Markdown and JSON.

Ratios follow SPEC §6: speed ratios are peer time / rpfs time (higher is better for rpfs),
size ratios are rpfs bytes / peer bytes (lower is better for rpfs).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
from collections import defaultdict

PEER_LABELS = {
    "rpfs": "rpfs (default: 64 KiB chunks, zstd 3)",
    "borg-default": "borg 1.2 default (buzhash, lz4)",
    "borg-fixed-lz4": "borg fixed 4 MiB, lz4",
    "borg-fixed-zstd3": "borg fixed 4 MiB, zstd 3",
    "restic": "restic (repo v2, compression auto)",
    "casync": "casync (default)",
}
# SPEC §6 peer figures (this machine class, 2 cores, medians) for context.
SPEC_FIGURES = {
    "borg-default": {"full": 7.0, "next": 4.5, "store_mb": 1155, "restore": 5.3},
    "borg-fixed-lz4": {"full": 3.5, "next": 1.6, "store_mb": 1174, "restore": 5.1},
    "borg-fixed-zstd3": {"full": 6.0, "next": 2.1, "store_mb": 860, "restore": 5.6},
    "restic": {"full": 8.1, "next": 3.8, "store_mb": 733, "restore": 6.0},
    "casync": {"full": 33.7, "next": 20.3, "store_mb": 650, "restore": 16.6},
}


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:  # noqa: BLE001 - informational only
        return "unknown"


def machine_info():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "mem_bytes": mem,
        "kernel": platform.release(),
        "os": run(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "versions": {
            "borg": run(["borg", "--version"]),
            "restic": run(["restic", "version"]),
            "casync": run(["casync", "--version"]).splitlines()[0] if run(["casync", "--version"]) else "unknown",
            "zstd_lib": run(["sh", "-c", "dpkg-query -W -f='${Version}' libzstd1"]),
            "rocksdb_lib": run(["sh", "-c", "dpkg-query -W -f='${Version}' 'librocksdb7.8' 2>/dev/null"]),
        },
    }


def load_records(path):
    times = defaultdict(lambda: defaultdict(list))  # tool -> step -> [record]
    values = defaultdict(lambda: defaultdict(list))
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        if "seconds" in r:
            times[r["tool"]][r["step"]].append(r)
        else:
            values[r["tool"]][r["step"]].append(r["value"])
    return times, values


def med(xs):
    return statistics.median(xs) if xs else None


def summarize(times, values, days):
    out = {}
    for tool in list(dict.fromkeys(list(times) + list(values))):
        t, v = times[tool], values[tool]

        def secs(step, field="seconds"):
            return med([r[field] for r in t.get(step, [])])

        s = {"steps": {}}
        for step, recs in t.items():
            s["steps"][step] = {
                "seconds_median": med([r["seconds"] for r in recs]),
                "seconds_all": [r["seconds"] for r in recs],
                "cpu_seconds_median": med([r["user"] + r["sys"] for r in recs if r["user"] is not None]),
                "maxrss_mb_median": med([r["maxrss_kb"] / 1024 for r in recs if r["maxrss_kb"] is not None]),
                "load1": [r["load1"] for r in recs],
            }
        s["full_backup_s"] = secs("backup_" + days[0])
        s["full_backup_cpu_s"] = s["steps"].get("backup_" + days[0], {}).get("cpu_seconds_median")
        s["next_day_s"] = secs("backup_" + days[1])
        later = [secs("backup_" + d) for d in days[1:]]
        s["next_day_mean_s"] = sum(later) / len(later) if later and None not in later else None
        rest = [secs("backup_" + d) for d in days[2:]]
        s["remaining_days_total_s"] = sum(rest) if rest and None not in rest else None
        s["restore_s"] = secs("restore")
        s["compact_s"] = secs("compact")
        s["backup_peak_rss_mb"] = max((x["maxrss_mb_median"] for k, x in s["steps"].items()
                                       if k.startswith("backup_") and x["maxrss_mb_median"] is not None),
                                      default=None)
        for key in ("store_bytes_day01", "store_bytes", "store_bytes_compacted", "restored_allocated",
                    "data_bytes"):
            s[key] = med(v.get(key, []))
        if "verify" in v:
            s["verify"] = "ok" if all(x == "ok" for x in v["verify"]) else "MISMATCH"
        if "rpfs_du" in v:
            s["rpfs_du"] = v["rpfs_du"][-1]
        out[tool] = s
    return out


def fmt_s(x):
    return "–" if x is None else ("%.2f" % x if x < 10 else "%.1f" % x)


def fmt_mb(x):
    return "–" if x is None else "%.0f" % (x / 1e6)


def fmt_n(x):
    return "–" if x is None else "%.0f" % x


def fmt_r(x):
    return "–" if x is None else "%.2f×" % x


def ratios(summary):
    rp = summary.get("rpfs")
    peers = {k: v for k, v in summary.items() if not k.startswith("rpfs") and k != "baseline"}
    res = []
    if not rp or not peers:
        return res

    def best(key, fn=min, only=None):
        c = [(v[key], k) for k, v in peers.items() if v.get(key) is not None and (only is None or k.startswith(only))]
        return fn(c) if c else (None, None)

    def speed(what, key, goal, only=None, note=""):
        pv, pk = best(key, only=only)
        r = pv / rp[key] if pv and rp.get(key) else None
        res.append({"what": what, "rpfs": rp.get(key), "peer": pk, "peer_value": pv, "ratio": r,
                    "goal": "≥ %g×" % goal, "met": None if r is None else r >= goal, "unit": "s",
                    "kind": "speedup (peer time / rpfs time)", "note": note})

    def size(what, key, peer_key, goal, peer=None, rp_key=None, note=""):
        rp_key = rp_key or key
        if peer:
            pv, pk = (peers[peer].get(peer_key), peer) if peer in peers else (None, None)
        else:
            pv, pk = best(peer_key)
        r = rp[rp_key] / pv if pv and rp.get(rp_key) else None
        res.append({"what": what, "rpfs": rp.get(rp_key), "peer": pk, "peer_value": pv, "ratio": r,
                    "goal": "≤ %g×" % goal, "met": None if r is None else r <= goal, "unit": "B",
                    "kind": "size (rpfs / peer)", "note": note})

    speed("full RP (backup of day01)", "full_backup_s", 2, note="vs fastest peer")
    size("store after the full RP", "store_bytes_day01", "store_bytes_day01", 1, peer="borg-fixed-zstd3",
         note="no larger than borg fixed zstd 3")
    speed("next-day RP (day02, no bitmap)", "next_day_s", 2, note="vs fastest peer")
    speed("next-day RP (mean of days 2..N)", "next_day_mean_s", 2, note="vs fastest peer")
    size("store after all days", "store_bytes", "store_bytes", 1, note="vs smallest peer")
    if rp.get("store_bytes_compacted"):
        size("store after all days, after rpfs compact", "store_bytes", "store_bytes", 1,
             rp_key="store_bytes_compacted", note="vs smallest peer")
    speed("export of the last RP vs borg extract", "restore_s", 3, only="borg", note="vs fastest borg extract")
    speed("export of the last RP vs any peer restore", "restore_s", 1, note="context: fastest peer restore")
    return res


def markdown(summary, rat, manifest, meta, mach, days):
    L = []
    mode = meta.get("mode")
    L.append("# rpfs end-to-end benchmark (%s workload)" % mode)
    L.append("")
    L.append("Generated by `bench/run.sh%s --repeat %d` on %s. Medians of %d repetition(s). Cold steps "
             "(every backup and the restore) run right after `sync; echo 3 > /proc/sys/vm/drop_caches`%s." % (
                 " --small" if mode == "small" else "", meta["repeat"], meta["finished"], meta["repeat"],
                 "" if meta["drop_caches"] else " — **disabled in this run (--no-drop-caches)**"))
    L.append("")
    d0 = manifest["days"][0]
    ch = [d["changed_bytes_64k"] for d in manifest["days"][1:]]
    L.append("Workload: %d days of a %s raw image, ext4, Debian %s (debootstrap minbase + %d packages); "
             "day01 %.0f MB allocated; daily change at 64 KiB granularity %.1f–%.1f MB (mean %.1f MB)." % (
                 len(days), manifest["image_size"], manifest["suite"], len(manifest["base_packages"]),
                 d0["allocated"] / 1e6, min(ch) / 1e6, max(ch) / 1e6, sum(ch) / len(ch) / 1e6))
    L.append("")
    L.append("## Absolute figures")
    L.append("")
    L.append("| tool | full backup (s) | next day (s) | mean next day (s) | days 3..%d total (s) | "
             "store after day01 (MB) | store after %d days (MB) | full restore (s) | backup CPU (s) | "
             "peak RSS (MB) | restore check |" % (len(days), len(days)))
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    order = [t for t in PEER_LABELS if t in summary]
    for t in order:
        s = summary[t]
        store = fmt_mb(s["store_bytes"])
        if s.get("store_bytes_compacted"):
            store += " (%s compacted)" % fmt_mb(s["store_bytes_compacted"])
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            PEER_LABELS[t], fmt_s(s["full_backup_s"]), fmt_s(s["next_day_s"]), fmt_s(s["next_day_mean_s"]),
            fmt_s(s["remaining_days_total_s"]), fmt_mb(s["store_bytes_day01"]), store, fmt_s(s["restore_s"]),
            fmt_s(s["full_backup_cpu_s"]), fmt_n(s["backup_peak_rss_mb"]), s.get("verify", "not checked")))
    L.append("")
    L.append("Store sizes are `du -sb` of the repository (rpfs: the store directory; casync: chunk store "
             "plus .caibx indexes; borg/restic client caches not counted). MB = 10^6 bytes. Restores: "
             "`rpfs export`, `borg extract %s`, `restic restore`, `casync extract`; \"restore check\" "
             "is `cmp` against the source image. Backup CPU = user+sys of the full backup." %
             meta.get("borg_extract_args", ""))
    L.append("")
    L.append("## rpfs against the SPEC §6 goals")
    L.append("")
    L.append("| what | rpfs | reference peer | peer | ratio | goal | met |")
    L.append("|---|---|---|---|---|---|---|")
    for r in rat:
        f = fmt_s if r["unit"] == "s" else (lambda x: fmt_mb(x) + " MB" if x is not None else "–")
        fv = (lambda x: fmt_s(x) + " s") if r["unit"] == "s" else f
        L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            r["what"], fv(r["rpfs"]) if r["rpfs"] is not None else "–", r["peer"] or "–",
            fv(r["peer_value"]) if r["peer_value"] is not None else "–", fmt_r(r["ratio"]), r["goal"],
            {True: "yes", False: "**no**", None: "–"}[r["met"]]))
    L.append("")
    L.append("Speed ratios are peer time / rpfs time; size ratios are rpfs bytes / peer bytes.")
    L.append("")
    sweep = sorted((int(t[len("rpfs-cs"):]), s) for t, s in summary.items() if t.startswith("rpfs-cs"))
    if sweep:
        L.append("## rpfs chunk-size sweep")
        L.append("")
        L.append("| chunk size | full backup (s) | next day (s) | all %d days (s) | store after day01 (MB) | "
                 "store after %d days (MB) | after compact (MB) | export (s) | backup CPU (s) | peak RSS (MB) |"
                 % (len(days), len(days)))
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for cs, s in sweep:
            tot = None
            if s["full_backup_s"] is not None and s["remaining_days_total_s"] is not None:
                tot = s["full_backup_s"] + s["next_day_s"] + s["remaining_days_total_s"]
            elif s["full_backup_s"] is not None and s["next_day_s"] is not None:
                tot = s["full_backup_s"] + s["next_day_s"]
            L.append("| %d KiB | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                cs // 1024, fmt_s(s["full_backup_s"]), fmt_s(s["next_day_s"]), fmt_s(tot),
                fmt_mb(s["store_bytes_day01"]), fmt_mb(s["store_bytes"]), fmt_mb(s.get("store_bytes_compacted")),
                fmt_s(s["restore_s"]), fmt_s(s["full_backup_cpu_s"]), fmt_n(s["backup_peak_rss_mb"])))
        L.append("")
    L.append("## Per-day backup times (s)")
    L.append("")
    tools = [t for t in PEER_LABELS if t in summary] + [t for t in summary if t.startswith("rpfs-cs")]
    L.append("| tool | " + " | ".join(days) + " |")
    L.append("|---|" + "---|" * len(days))
    for t in tools:
        st = summary[t]["steps"]
        L.append("| %s | %s |" % (t, " | ".join(fmt_s(st.get("backup_" + d, {}).get("seconds_median")) for d in days)))
    L.append("")
    L.append("## Machine and run")
    L.append("")
    b = summary.get("baseline")
    if b and b["steps"].get("read_cold"):
        rc = b["steps"]["read_cold"]["seconds_median"]
        db = b.get("data_bytes") or 0
        L.append("- baseline: reading the %.0f MB of data extents of %s cold takes %.2f s (%.0f MB/s, "
                 "`lib/readdata.py`, 1 MiB preads): the I/O floor of a hole-skipping full backup" % (
                     db / 1e6, days[0], rc, db / 1e6 / rc if rc else 0))
    L.append("- %d CPUs, %s, %.1f GiB RAM, kernel %s, %s; work dir on %s" % (
        mach["nproc"], mach["cpu_model"], mach["mem_bytes"] / 2**30, mach["kernel"], mach["os"], meta["work_fs"]))
    L.append("- run %s → %s (%d s wall); load average at start %s, at end %s" % (
        meta["started"], meta["finished"], meta["wall_seconds"], meta["load_at_start"], meta["load_at_end"]))
    v = mach["versions"]
    L.append("- rpfs %s (binary %s, built %s, sha256 %s…); %s; %s; %s; libzstd %s; librocksdb %s" % (
        meta["rpfs_git"], meta["rpfs_binary"], meta["rpfs_binary_mtime"], meta["rpfs_binary_sha256"],
        v["borg"], v["restic"], v["casync"], v["zstd_lib"], v["rocksdb_lib"] or "unknown"))
    L.append("- workload: mirror %s, built %s in %.0f s" % (
        manifest["mirror"], manifest["built"], manifest["build_seconds"]["total"]))
    L.append("")
    L.append("SPEC §6 peer figures, for context: " + "; ".join(
        "%s %.1f/%.1f s, %d MB, restore %.1f s" % (k, f["full"], f["next"], f["store_mb"], f["restore"])
        for k, f in SPEC_FIGURES.items()) + ".")
    L.append("")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    manifest = json.load(open(a.manifest))
    meta = json.load(open(a.meta))
    days = [d["name"] for d in manifest["days"]]
    times, values = load_records(a.records)
    summary = summarize(times, values, days)
    rat = ratios(summary)
    mach = machine_info()
    md = markdown(summary, rat, manifest, meta, mach, days)
    os.makedirs(os.path.dirname(os.path.abspath(a.md)), exist_ok=True)
    with open(a.md, "w") as f:
        f.write(md)
    doc = {"meta": meta, "machine": mach, "workload": {k: v for k, v in manifest.items()},
           "results": summary, "ratios": rat, "spec_peer_figures": SPEC_FIGURES}
    with open(a.json, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
