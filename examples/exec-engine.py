#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""exec-engine.py - an example etmem exec engine: the coldest pages go to swap.

    etmem-rank exec --command 'python3 examples/exec-engine.py --threshold 0 --max-pages 512'

etmem-rank writes each period to our stdin in the ETMR text form
(docs/FORMAT.md, docs/PLUGINS.md): P lines, one ROUND, A lines (the count is
the period's sum, sorted by pid then address), then the PERIOD line. We
answer with D lines and echo the PERIOD line; END means the stream is over.
Unknown line kinds are skipped, as every ETMR reader does.
"""
import argparse
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threshold", type=int, default=0,
                    help="a page whose period count is <= N is cold (default 0)")
    ap.add_argument("--max-pages", type=int, default=0,
                    help="at most N base pages per process and period (0 = no limit)")
    args = ap.parse_args()
    base = {"4K": 1, "2M": 512, "1G": 512 * 512}   # base pages per page, 4 KiB base
    extents = []
    out = sys.stdout
    for line in sys.stdin:
        f = line.split()
        if not f or f[0].startswith("#"):
            continue
        if f[0] == "A":
            pid, start, npages, size, count = int(f[1]), f[2], int(f[3]), f[4], int(f[5])
            extents.append((pid, start, npages, size, count))
        elif f[0] == "PERIOD":
            left, pid = 0, None
            for (p, start, npages, size, count) in extents:
                if p != pid:
                    pid, left = p, (args.max_pages or 1 << 62)
                if count > args.threshold or left < base[size]:
                    continue
                take = min(npages, left // base[size])
                left -= take * base[size]
                out.write(f"D {p} {start} {take} {size} swap - score={count}\n")
            out.write(line)
            out.flush()            # the ranker waits for this period's answer
            extents = []
        elif f[0] == "END":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
