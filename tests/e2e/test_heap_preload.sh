#!/usr/bin/env bash
# libpprofd_heap.so as a process preloads it (the sampler's statistics are
# tests/unit/test_heap_preload.c's): its probes are where pprofd will look
# (USDT notes, provider pprofd, semaphores, arguments in registers, each
# site a 5-byte nop), and programs we did not write run under it as
# without it: Debian's python3, sort, a C++ program's every operator new
# and delete, over glibc's malloc and over jemalloc and tcmalloc.
. "$(dirname "$0")/lib.sh"
LIB=$ROOT/$BUILD/libpprofd_heap.so
[ -f "$LIB" ] || LIB=$ROOT/build/libpprofd_heap.so
[ -f "$LIB" ] || fail "libpprofd_heap.so not built (make)"

# 1. the probes
PYTHONPATH="$ROOT/tests/e2e" python3 - "$LIB" <<'PY' || fail "the probes (see above)"
import re, subprocess, sys, usdt_notes
lib = sys.argv[1]
probes = usdt_notes.probes(lib)
names = {(p, n) for p, n, *_ in probes}
assert names == {("pprofd", "alloc"), ("pprofd", "free")}, names
for p, n, loc, sem, args in probes:
    assert sem, f"{n}: no semaphore"
    want = 3 if n == "alloc" else 1
    ops = args.split()
    assert len(ops) == want and all(re.fullmatch(r"8@%r\w+", o) for o in ops), f"{n}: {args}"
    out = subprocess.run(["objdump", "-d", f"--start-address={loc:#x}",
                          f"--stop-address={loc + 5:#x}", lib],
                         capture_output=True, text=True).stdout
    assert "0f 1f 44 00 00" in out, f"{n} at {loc} is not a 5-byte nop:\n{out}"
print(f"{len(probes)} probe sites: alloc(ptr, size, rate), free(ptr), each a 5-byte nop")
PY
ok "probes pprofd:alloc and pprofd:free"

# 2. programs we did not write, with and without it
same() { # WHAT CMD...: the same output and status under the library
	local what=$1
	shift
	"$@" >"$T/a.out" 2>&1
	local ra=$?
	LD_PRELOAD=$LIB "$@" >"$T/b.out" 2>&1
	local rb=$?
	[ $ra = $rb ] && cmp -s "$T/a.out" "$T/b.out" ||
		{ diff "$T/a.out" "$T/b.out" | head; fail "$what: differs under the library ($ra, $rb)"; }
}
same "python3 json" /usr/bin/python3 -c '
import json, threading
def work():
    for i in range(200):
        json.loads(json.dumps([{"k": str(j) * 10} for j in range(500)]))
ts = [threading.Thread(target=work) for _ in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
print("done")'
seq 200000 | shuf --random-source=/dev/zero >"$T/nums"
same "sort" sort -n "$T/nums"
for alloc in "" /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4; do
	[ -z "$alloc" ] || [ -f "$alloc" ] || fail "$alloc missing (make deps installs it)"
	echo go | LD_PRELOAD="$LIB${alloc:+ $alloc}" "$WL/heap_cxx" >"$T/cxx.out" 2>&1 ||
		fail "heap_cxx under the library${alloc:+ and $alloc}: $(tail -3 "$T/cxx.out")"
	grep -q '^calls ' "$T/cxx.out" || fail "heap_cxx${alloc:+ over $alloc} did not finish"
done
ok "python3, sort and a C++ program run as without it, over glibc's malloc, jemalloc and tcmalloc"
