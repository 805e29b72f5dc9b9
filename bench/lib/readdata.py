#!/usr/bin/env python3
"""Reads the data extents of a sparse file (SEEK_DATA/SEEK_HOLE, 1 MiB preads) and discards them:
the cold-read baseline for a backup tool that skips holes. Prints the bytes read."""
import os
import sys

fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
off = total = 0
while off < size:
    try:
        start = os.lseek(fd, off, os.SEEK_DATA)
    except OSError:
        break
    end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
    pos = start
    while pos < end:
        n = len(os.pread(fd, min(1 << 20, end - pos), pos))
        if n == 0:
            break
        pos += n
        total += n
    off = end
print(total)
