#!/usr/bin/env bash
# Heap probes (bpf/heap.bpf.c through daemon/collect/heap_sampler.c, driven by
# tests/tools/heapprobe): on a workload with allocation sites of known
# totals, the unbiased samples give each site's allocated bytes within 10 %
# and in-use bytes within 15 %, the stacks start at the caller of malloc
# and continue to main; another process is not probed; a static binary gets
# a clear error.
. "$(dirname "$0")/lib.sh"
HP=$ROOT/$BUILD/tools/heapprobe
[ -x "$HP" ] || HP=$ROOT/build/tools/heapprobe
[ -x "$HP" ] || fail "heapprobe not built (make build/tools/heapprobe)"
[ -x "$WL/heap_sites" ] || fail "workload heap_sites not built"
RATE=32768   # 4096 samples for the smallest site: ~1.6 % standard error

# 1. the workload, started and held until the probes are attached
mkfifo "$T/go"
exec 3<>"$T/go"   # read-write: opening does not wait for the other end
"$WL/heap_sites" <"$T/go" >"$T/wl.out" 2>&1 &
WPID=$!
for _ in $(seq 100); do grep -q ready "$T/wl.out" && break; sleep 0.05; done
grep -q ready "$T/wl.out" || fail "workload did not start"
"$HP" --pid "$WPID" --rate $RATE >"$T/hp.out" 2>"$T/hp.err" &
HPID=$!
for _ in $(seq 100); do grep -q attached "$T/hp.out" && break; sleep 0.1; done
grep -q 'attached .* slow=0' "$T/hp.out" || { cat "$T/hp.out" "$T/hp.err"; fail "not attached, or probes single-stepped"; }

# 2. meanwhile another process mallocs: not probed, not slowed
gcc -O2 "$ROOT/bench/malloc_pair.c" -o "$T/malloc_pair" || fail "cannot build malloc_pair"
other=$(printf '1000000\n1000000\n' | "$T/malloc_pair" | tail -1 | cut -d' ' -f2)   # ns per pair

echo go >&3; exec 3>&-
wait "$WPID" || fail "workload failed"
wait "$HPID" || { cat "$T/hp.err"; fail "heapprobe failed"; }
cat "$T/wl.out" "$T/hp.out"
[ -n "${KEEP:-}" ] && echo "kept in $T"

# return halves: sampled calls plus every posix_memalign (8192 + 65536)
python3 "$ROOT/tests/e2e/heap_sites_check.py" "$T/wl.out" "$T/hp.out" 10000 $((8192 + 65536)) "$other" ||
	fail "heap totals"
ok "site totals, stacks, PID filter"

# 3. a static binary: a clear error
printf 'int main(void){for(;;)__asm__ volatile("pause");}\n' >"$T/static.c"
if gcc -static -O1 "$T/static.c" -o "$T/static" 2>/dev/null; then
	"$T/static" & SPID=$!
	"$HP" --pid "$SPID" >/dev/null 2>"$T/static.err"; rc=$?
	kill "$SPID"; wait "$SPID" 2>/dev/null
	cat "$T/static.err"
	[ $rc -eq 2 ] && grep -q "does not use glibc's malloc" "$T/static.err" || fail "static binary: no clear error"
	ok "static binary refused: $(cat "$T/static.err")"
else
	echo "skip: no static libc to build a static binary"
fi
