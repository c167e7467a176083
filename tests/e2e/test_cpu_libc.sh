#!/usr/bin/env bash
# asan: yes
# CPU samples whose pc is inside libc (no frame pointers on Debian) are
# unwound through it (SPEC §6, stacks): cpu_in_libc spends its time in
# memcpy/memset (called by copy_fn) and strlen/memchr (called by scan_fn);
# the profile must name the callers in the shares the program measured
# (within 10 points) and reach main. A frame-pointer walk alone skips them.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
start_daemon --interval 600

"$WL/cpu_in_libc" 5 >"$T/wl.out" &
WPID=$!
sleep 0.3
"$CTL" profile --pid "$WPID" --seconds 30 --hz 499 --socket "$T/pprofd.sock" -o "$T/c.pb.gz" ||
	fail "pprofctl profile failed"
wait $WPID
pprof -raw "$T/c.pb.gz" 2>"$T/err.txt" >"$T/raw.txt" || fail "pprof cannot read the profile"
[ -s "$T/err.txt" ] && fail "pprof warned: $(cat "$T/err.txt")"
python3 - "$T/wl.out" "$T/raw.txt" "$ROOT/tests/e2e" <<'PY' || fail "the callers of libc are not where they should be"
import re, sys
sys.path.insert(0, sys.argv[3]); import pprof_raw
truth = {m.group(1): int(m.group(2)) for m in re.finditer(r"total (\w+) ns=(\d+)", open(sys.argv[1]).read())}
samples = pprof_raw.parse(open(sys.argv[2]).read())
total = sum(s["values"][0] for s in samples)
tw = sum(truth.values())
bad = 0
for fn, ns in truth.items():
    got = 100 * sum(s["values"][0] for s in samples if fn in s["stack"]) / total
    want = 100 * ns / tw
    ok = abs(got - want) <= 10
    bad += not ok
    print(f"cpu: {fn} on {got:.1f} % of the samples, measured {want:.1f} % {'ok' if ok else 'OFF'}")
main = 100 * sum(s["values"][0] for s in samples if "main" in s["stack"]) / total
print(f"cpu: {main:.1f} % of the samples reach main ({total} samples)")
sys.exit(1 if bad or main < 95 else 0)
PY
ok "samples inside libc unwound to their callers and main"
stop_daemon
