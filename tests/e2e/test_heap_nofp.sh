#!/usr/bin/env bash
# asan: yes
# Allocation stacks of a program built without frame pointers (gcc -O2's
# default; SPEC §6, stacks): each sampled allocation carries its caller's
# registers and stack top, unwound by .eh_frame, so heap_sites built with
# -fomit-frame-pointer has each site's bytes (within 10 %) on stacks that
# reach main. A frame-pointer walk stops at the site.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
SOCK=$T/pprofd.sock

echo "heap_sample_bytes = 32K" >"$T/pprofd.conf"
start_daemon --config "$T/pprofd.conf" --interval 600

rm -f "$T/fifo" && mkfifo "$T/fifo"
"$WL/heap_sites_nofp" <"$T/fifo" >"$T/sites.out" &
WPID=$!
exec 7>"$T/fifo"
"$CTL" heap --pid "$WPID" --seconds 120 --socket "$SOCK" -o "$T/h.pb.gz" &
REQ=$!
for _ in $(seq 100); do grep -q "heap: profiling pid $WPID " "$T/daemon.log" && break; sleep 0.1; done
echo go >&7
exec 7>&-
wait $REQ || fail "heap request failed: $(tail -3 "$T/daemon.log")"
wait $WPID
raw_profile "$T/h.pb.gz"
python3 - "$T/sites.out" "$T/raw.txt" "$ROOT/tests/e2e" <<'PY' || fail "allocation stacks without frame pointers"
import re, sys
sys.path.insert(0, sys.argv[3]); import pprof_raw
truth = {m.group(1): int(m.group(2)) for m in
         re.finditer(r"total (\S+) alloc_bytes=(\d+)", open(sys.argv[1]).read())}
samples = pprof_raw.parse(open(sys.argv[2]).read())
bad = 0
for site in ("site_small", "site_4k", "site_1m"):
    on = [s for s in samples if site in s["stack"]]
    got = sum(s["values"][1] for s in on)
    reach = sum(s["values"][1] for s in on if "main" in s["stack"])
    ok = abs(got - truth[site]) <= 0.10 * truth[site] and reach >= 0.95 * max(got, 1)
    bad += not ok
    print(f"heap: {site} {got / 2**20:.1f} MiB (true {truth[site] / 2**20:.1f}), "
          f"{100 * reach / max(got, 1):.1f} % of it reaching main {'ok' if ok else 'OFF'}")
sys.exit(bad)
PY
ok "allocation stacks of a program without frame pointers reach main"
stop_daemon
