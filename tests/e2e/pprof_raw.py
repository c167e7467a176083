#!/usr/bin/env python3
"""Reads `go tool pprof -raw` output (what a user's pprof sees) into samples:
each with its values, labels and stack of function names (leaf first).

Usage as a library: samples = parse(text). As a command:
  pprof_raw.py reach FUNC MIN_FRACTION < raw.txt
      exit 0 if at least MIN_FRACTION of the samples (by first value) have
      FUNC on their stack.
"""
import re
import sys


UNITS = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3}  # pprof's memory units


def top_bytes(path):
    """{function: flat bytes} from `go tool pprof -top` output of a heap profile."""
    got = {}
    for line in open(path):
        f = line.split()
        m = re.match(r"^([\d.]+)(B|kB|MB|GB)$", f[0]) if len(f) == 6 else None
        if m:
            got[f[5]] = float(m.group(1)) * UNITS[m.group(2)]
    return got


def site_truth(path):
    """{site: {"alloc": bytes, "inuse": bytes}} from the heap workloads' own
    "total SITE alloc_bytes=N inuse_bytes=M" lines."""
    truth = {}
    for line in open(path):
        m = re.match(r"total (\S+) alloc_bytes=(\d+)(?: inuse_bytes=(\d+))?", line)
        if m:
            truth[m.group(1)] = {"alloc": int(m.group(2)), "inuse": int(m.group(3) or 0)}
    return truth


def parse(text):
    section = None
    samples, locs = [], {}
    cur = None
    for line in text.splitlines():
        if line in ("Samples:", "Locations", "Mappings"):
            section = line
            continue
        if section == "Samples:":
            m = re.match(r"^\s+(-?\d+(?:\s+-?\d+)*):\s*([\d ]*)$", line)
            if m:
                cur = {"values": [int(v) for v in m.group(1).split()],
                       "locs": [int(x) for x in m.group(2).split()],
                       "labels": {}}
                samples.append(cur)
                continue
            for k, v in re.findall(r"(\w+):\[([^\]]*)\]", line):
                if cur is not None:
                    cur["labels"][k] = v
        elif section == "Locations":
            m = re.match(r"^\s+(\d+): (0x[0-9a-f]+)(?: M=\d+)?\s*(.*)$", line)
            if m:
                lid = int(m.group(1))
                # "NAME FILE:LINE s=START", FILE empty without DWARF
                names = re.findall(r"(\S+) \S*:\d+ s=\d+", m.group(3))
                locs[lid] = names or [m.group(2)]
            else:
                m = re.match(r"^\s+(\S+) \S*:\d+ s=\d+", line)  # an inline frame
                if m and locs:
                    locs[max(locs)].append(m.group(1))
    for s in samples:
        s["stack"] = [n for lid in s["locs"] for n in locs.get(lid, ["?"])]
    return samples


def main():
    samples = parse(sys.stdin.read())
    if sys.argv[1] == "reach":
        func, frac = sys.argv[2], float(sys.argv[3])
        total = sum(s["values"][0] for s in samples)
        hit = sum(s["values"][0] for s in samples if func in s["stack"])
        print(f"samples whose stack reaches {func}: {hit}/{total}")
        sys.exit(0 if total and hit >= frac * total else 1)


if __name__ == "__main__":
    main()
