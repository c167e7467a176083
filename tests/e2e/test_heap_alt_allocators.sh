#!/usr/bin/env bash
# Heap probes on jemalloc and tcmalloc (SPEC §4 heap: "jemalloc/tcmalloc
# where they are what the process uses"): heap_sites runs with
# LD_PRELOAD=libjemalloc.so.2, then LD_PRELOAD=libtcmalloc_minimal.so.4;
# the sampler probes that library's entry points instead of glibc's, at
# emulated instructions (slow=0), and each site's allocated bytes come out
# within 10 % (in-use within 15 %) with the site function as the first
# frame and main as the next; every allocation call is counted once (none
# twice through the allocators' internal calls between entry points).
. "$(dirname "$0")/lib.sh"
HP=$ROOT/$BUILD/tools/heapprobe
[ -x "$HP" ] || HP=$ROOT/build/tools/heapprobe
[ -x "$HP" ] || fail "heapprobe not built (make build/tools/heapprobe)"
[ -x "$WL/heap_sites" ] || fail "workload heap_sites not built"
RATE=32768   # 4096 samples for the smallest site: ~1.6 % standard error

for lib in libjemalloc.so.2 libtcmalloc_minimal.so.4; do
	ldconfig -p | grep -q "^[[:space:]]*$lib " ||
		fail "$lib not installed (make deps: libjemalloc2, libtcmalloc-minimal4)"
	rm -f "$T/go" && mkfifo "$T/go"
	exec 3<>"$T/go"
	LD_PRELOAD=$lib "$WL/heap_sites" <"$T/go" >"$T/wl.out" 2>&1 &
	WPID=$!
	for _ in $(seq 100); do grep -q ready "$T/wl.out" && break; sleep 0.05; done
	grep -q ready "$T/wl.out" || fail "$lib: workload did not start"
	"$HP" --pid "$WPID" --rate $RATE --verbose >"$T/hp.out" 2>"$T/hp.err" &
	HPID=$!
	for _ in $(seq 100); do grep -q attached "$T/hp.out" && break; sleep 0.1; done
	base=${lib%%.so*}
	grep -q "attached .*/$base\.so[^ ]* slow=0" "$T/hp.out" ||
		{ cat "$T/hp.out" "$T/hp.err"; kill "$WPID" "$HPID"; fail "$lib: not probed, or single-stepped"; }
	echo go >&3; exec 3>&-
	wait "$WPID" || fail "$lib: workload failed"
	wait "$HPID" || { cat "$T/hp.err"; fail "$lib: heapprobe failed"; }
	echo "== $lib"
	grep -E '^attached|^counter' "$T/hp.out"
	grep -E 'heap: pid [0-9]+: ' "$T/hp.err" | sed 's/.*heap: pid [0-9]*: /probe: /'

	python3 - "$T/wl.out" "$T/hp.out" <<'PY' || fail "$lib: heap totals"
import re, sys
wl, hp = open(sys.argv[1]).read(), open(sys.argv[2]).read()
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
    if not (ok_a and ok_i): bad.append(site)
    if callers.get(site) != {"main"}: bad.append(site + " (next frame not main)")
stray = {s: v for s, v in got.items() if s not in want and v[0] > 0.01 * sum(w[0] for w in want.values())}
if stray: bad.append(f"bytes attributed to other functions: {stray}")
# Each call once: entries nested in another (tcmalloc's posix_memalign and
# valloc reach its memalign) are skipped; the rest are the workload's calls
# plus the few of libc and the loader (stdio buffers).
seen = cnt["alloc_calls"] - cnt["nested_skipped"]
if not calls <= seen < calls + 1000: bad.append(f"alloc_calls {seen} (after nested) vs {calls} made")
for c in ("drop_ringbuf", "inuse_table_full", "ustack_err", "no_thread_state", "alloc_failed"):
    if cnt[c]: bad.append(f"counter {c} = {cnt[c]}")
# return halves: sampled calls, plus every posix_memalign and aligned_alloc
# (memalign, valloc) call, nothing else
always = 8192 + 65536 + 2048
if not always <= cnt["returns"] <= cnt["sampled"] + always:
    bad.append(f"return halves {cnt['returns']}: ran for unsampled calls")
if bad: print("BAD:", bad); sys.exit(1)
PY
	ok "$lib: site totals within 10 % (in-use 15 %), first frame the site, each call once"
done
