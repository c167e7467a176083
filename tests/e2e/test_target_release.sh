#!/usr/bin/env bash
# asan: yes
# A heap request without seconds for a process a heap_target names is
# answered at once with its continuous profile, as Go's /debug/pprof/heap.
# A process the config stops naming (heap_target, lock_target removed at
# SIGHUP) is detached at once, so it stops paying (issue 4: "attached when
# a request or the config asks, detached when none does"); what was
# collected in that window is still written, with a comment saying why it
# stops; named again at the next SIGHUP, it is attached again.
. "$(dirname "$0")/lib.sh"
CONF=$T/pprofd.conf

# heap link count: uprobe links of the programs named heap_alloc/heap_free
heap_links() {
	python3 - <<'PY'
import json, subprocess
progs = {p["id"]: p.get("name") for p in json.loads(subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True).stdout or "[]")}
links = json.loads(subprocess.run(["bpftool", "link", "show", "-j"], capture_output=True, text=True).stdout or "[]")
print(sum(1 for l in links if progs.get(l.get("prog_id")) in ("heap_alloc", "heap_free")))
PY
}
wait_log() { # pattern: waits up to 10 s for it in the daemon's log
	for _ in $(seq 100); do grep -q "$1" "$T/daemon.log" && return 0; sleep 0.1; done
	cat "$T/daemon.log"; fail "not in the log: $1"
}

# An allocator that never stops, named reltarget
cat >"$T/reltarget.c" <<'C'
#include <stdlib.h>
#include <time.h>
void *volatile sink; /* keeps gcc from eliding the pair */
int main(void)
{
	for (unsigned i = 0;; i++) {
		struct timespec ts = {0, 100000};
		sink = malloc(1024 + (i % 64) * 512);
		free(sink);
		if (i % 64 == 0)
			nanosleep(&ts, NULL);
	}
}
C
gcc -O1 "$T/reltarget.c" -o "$T/reltarget" || fail "cannot build reltarget"

base=$(heap_links)
printf 'heap_target = comm:reltarget\nlock_target = comm:reltarget\nheap_sample_bytes = 4K\n' >"$CONF"
start_daemon --config "$CONF" --interval 2
"$T/reltarget" &
RPID=$!
trap 'kill $RPID 2>/dev/null; cleanup' EXIT
wait_log "continuous heap profiling of pid $RPID "
wait_log "continuous mutex and block profiling of pid $RPID "
[ "$(heap_links)" -gt "$base" ] || fail "no heap probes attached"
ok "pid $RPID attached: $(( $(heap_links) - base )) heap links"

# 0. its heap profile at once, without seconds
sleep 1
t0=$(date +%s%N)
"$ROOT/$BUILD/pprofctl" heap --pid "$RPID" --socket "$T/pprofd.sock" -o "$T/now.pb.gz" ||
	fail "heap request without seconds failed"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 3000 ] || fail "heap request without seconds took $ms ms: not answered at once"
pprof -comments "$T/now.pb.gz" 2>/dev/null | grep -q "since pprofd attached, as it stands at the request" ||
	{ pprof -comments "$T/now.pb.gz"; fail "no comment saying what the profile holds"; }
pprof -sample_index=alloc_space -top "$T/now.pb.gz" 2>"$T/now.err" >"$T/now.top"
[ -s "$T/now.err" ] && { cat "$T/now.err"; fail "go tool pprof warned"; }
grep -qw main "$T/now.top" || { cat "$T/now.top"; fail "main not in the heap profile"; }
ok "heap without seconds: answered in $ms ms with the continuous profile"

# 1. the config stops naming it: detached now, the window's profile written
echo "heap_sample_bytes = 4K" >"$CONF"
kill -HUP "$DAEMON_PID"
wait_log "heap: pid $RPID is no longer named by heap_target: detached"
wait_log "lock: pid $RPID is no longer named by lock_target: detached"
wait_log "probes detached"
[ "$(heap_links)" = "$base" ] || fail "heap probes still attached after SIGHUP"
sleep 2.5 # the window ends
f=$(ls "$T"/profiles/reltarget-"$RPID"/heap-*.pb.gz 2>/dev/null | tail -1)
[ -n "$f" ] || { ls -R "$T/profiles"; fail "no heap profile of the last window"; }
pprof -comments "$f" 2>/dev/null | grep -q "profiling stopped in this window (heap_target no longer names it)" ||
	{ pprof -comments "$f"; fail "the last profile does not say why it stops"; }
n1=$(ls "$T"/profiles/reltarget-"$RPID"/heap-*.pb.gz | wc -l)
sleep 4.5
n2=$(ls "$T"/profiles/reltarget-"$RPID"/heap-*.pb.gz | wc -l)
[ "$n1" = "$n2" ] || fail "heap profiles still written after release ($n1 -> $n2)"
ok "released at SIGHUP: probes detached, last profile $(basename "$f") says so, no more after"

# 2. named again: attached again
printf 'heap_target = comm:reltarget\nlock_target = comm:reltarget\nheap_sample_bytes = 4K\n' >"$CONF"
kill -HUP "$DAEMON_PID"
for _ in $(seq 100); do [ "$(grep -c "continuous heap profiling of pid $RPID " "$T/daemon.log")" -ge 2 ] && break; sleep 0.1; done
[ "$(grep -c "continuous heap profiling of pid $RPID " "$T/daemon.log")" -ge 2 ] || { cat "$T/daemon.log"; fail "not attached again"; }
[ "$(heap_links)" -gt "$base" ] || fail "no heap probes after naming it again"
sleep 2.5
n3=$(ls "$T"/profiles/reltarget-"$RPID"/heap-*.pb.gz | wc -l)
[ "$n3" -gt "$n2" ] || fail "no heap profile after naming it again"
stop_daemon
ok "named again: attached, profiles resume"
