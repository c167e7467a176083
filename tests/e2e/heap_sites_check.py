#!/usr/bin/env python3
"""Checks heapprobe's report against heap_sites' own totals (shared by the
heap e2e tests): each site's alloc bytes within 10 %, in-use within 15 %,
the frame above each site is main, nothing else gets a noticeable share,
each allocation call counted once (after skipped nested entries), no drop
counter moved, and return halves ran only for sampled calls plus `always`.

Usage: heap_sites_check.py WORKLOAD_OUT HEAPPROBE_OUT CALL_SLACK ALWAYS [OTHER_NS]
"""
import re
import sys


def main():
    wl, hp = open(sys.argv[1]).read(), open(sys.argv[2]).read()
    slack, always = int(sys.argv[3]), int(sys.argv[4])
    other = float(sys.argv[5]) if len(sys.argv) > 5 else None
    want = {m[0]: (int(m[1]), int(m[2])) for m in
            re.findall(r"^total (\S+) alloc_bytes=(\d+) inuse_bytes=(\d+)", wl, re.M)}
    calls = int(re.search(r"^calls (\d+)", wl, re.M)[1])
    cnt = {m[0]: int(m[1]) for m in re.findall(r"^counter (\S+) (\d+)", hp, re.M)}
    got, callers = {}, {}
    for m in re.finditer(r"^site (\S+) (\S+) fn=\S+ samples=(\d+) alloc_objects=\S+ "
                         r"alloc_space=(\d+) inuse_objects=\S+ inuse_space=(\d+)", hp, re.M):
        a, i = got.get(m[1], (0, 0))
        got[m[1]] = (a + int(m[4]), i + int(m[5]))
        callers.setdefault(m[1], set()).add(m[2])
    bad = []
    for site, (wa, wi) in want.items():
        ga, gi = got.get(site, (0, 0))
        ok_a = abs(ga - wa) <= 0.10 * wa
        ok_i = abs(gi - wi) <= 0.15 * wi if wi else gi <= 0.05 * wa
        print(f"{site:22s} alloc {ga/2**20:8.1f} MiB (true {wa/2**20:8.1f}) {'ok' if ok_a else 'BAD'}"
              f"   inuse {gi/2**20:7.1f} MiB (true {wi/2**20:7.1f}) {'ok' if ok_i else 'BAD'}"
              f"   next frame {sorted(callers.get(site, []))}")
        if not (ok_a and ok_i):
            bad.append(site)
        if callers.get(site) != {"main"}:
            bad.append(site + " (next frame not main)")
    total = sum(w[0] for w in want.values())
    stray = {s: v for s, v in got.items() if s not in want and v[0] > 0.01 * total}
    if stray:
        bad.append(f"bytes attributed to other functions: {stray}")
    # the workload's calls, plus the few of libc and the loader (stdio)
    seen = cnt["alloc_calls"] - cnt["nested_skipped"]
    if not calls <= seen < calls + slack:
        bad.append(f"alloc_calls {seen} (after nested) vs {calls} made")
    for c in ("drop_ringbuf", "inuse_table_full", "ustack_err", "no_thread_state", "alloc_failed"):
        if cnt.get(c):
            bad.append(f"counter {c} = {cnt[c]}")
    if not always <= cnt["returns"] <= cnt["sampled"] + always:
        bad.append(f"return halves {cnt['returns']}: ran for unsampled calls")
    if other is not None:
        print(f"other process: {other} ns/pair; counters {cnt}")
        if other > 200:
            bad.append(f"the other process paid: {other} ns per malloc+free pair")
    if bad:
        print("BAD:", bad)
        sys.exit(1)


if __name__ == "__main__":
    main()
