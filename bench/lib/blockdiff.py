#!/usr/bin/env python3
"""Compare two raw images at a fixed granularity (default 64 KiB).

Prints JSON: {"granularity", "size", "changed_blocks", "changed_bytes",
"allocated_a", "allocated_b"}. A block counts as changed when its bytes differ
(holes read as zeros). Regions that are holes in both files are skipped with
SEEK_DATA/SEEK_HOLE, so a sparse 4 GiB pair takes a few seconds.
"""
import json
import os
import sys


def data_extents(fd, size):
    """Yield (start, end) of the data regions of a file."""
    off = 0
    while off < size:
        try:
            start = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:  # ENXIO: no more data
            return
        end = os.lseek(fd, start, os.SEEK_HOLE)
        yield start, min(end, size)
        off = end


def merged(a, b):
    ext = sorted(list(a) + list(b))
    out = []
    for s, e in ext:
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out


def main():
    if len(sys.argv) < 3:
        print("usage: blockdiff.py A B [GRANULARITY]", file=sys.stderr)
        return 2
    gran = int(sys.argv[3]) if len(sys.argv) > 3 else 65536
    fa = os.open(sys.argv[1], os.O_RDONLY)
    fb = os.open(sys.argv[2], os.O_RDONLY)
    sa, sb = os.fstat(fa), os.fstat(fb)
    size = max(sa.st_size, sb.st_size)
    regions = merged(data_extents(fa, sa.st_size), data_extents(fb, sb.st_size))
    step = 64 * gran  # 4 MiB reads at 64 KiB granularity
    changed = set()
    for s, e in regions:
        s -= s % gran
        off = s
        while off < e:
            n = min(step, e - off + (-(e - off)) % gran)
            ba = os.pread(fa, n, off)
            bb = os.pread(fb, n, off)
            if ba != bb:
                m = max(len(ba), len(bb))
                ba = ba.ljust(m, b"\0")
                bb = bb.ljust(m, b"\0")
                for i in range(0, m, gran):
                    if ba[i:i + gran] != bb[i:i + gran]:
                        changed.add((off + i) // gran)
            off += n
    print(json.dumps({
        "granularity": gran,
        "size": size,
        "changed_blocks": len(changed),
        "changed_bytes": len(changed) * gran,
        "allocated_a": sa.st_blocks * 512,
        "allocated_b": sb.st_blocks * 512,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
