#!/usr/bin/env bash
# asan: yes
# Issue 12, attack 8: a process names itself "x\n<0>FORGED" and waits to be
# logged (the no-frame-pointer notice prints its comm). The newline must be
# escaped: no log line of the attacker's making, at the level it chose.
. "$(dirname "$0")/lib.sh"

start_daemon --interval 600 --verbose
chmod 755 "$T"
mkdir "$T/u" && chmod 777 "$T/u"
cat >"$T/u/forge.c" <<'C'
#include <sys/prctl.h>
int main(void)
{
	volatile unsigned long x = 0;

	prctl(PR_SET_NAME, "x\n<0>FORGED", 0, 0, 0);
	for (unsigned long i = 0; i < 4000000000UL; i++)
		x += i * 7;
	return 0;
}
C
gcc -O1 -fomit-frame-pointer -o "$T/u/forge" "$T/u/forge.c" || fail "cannot build the workload"
"${NOBODY[@]}" timeout 4 "$T/u/forge" &
FPID=$!
for _ in $(seq 40); do
	grep -q 'FORGED' "$T/daemon.log" && break
	sleep 0.1
done
wait $FPID
grep -q 'FORGED' "$T/daemon.log" || fail "the attacker's comm was never logged (nothing tested)"
grep 'FORGED' "$T/daemon.log" | head -3
grep -q '^<0>FORGED' "$T/daemon.log" && fail "a log line of the attacker's making: $(grep -B1 '^<0>FORGED' "$T/daemon.log")"
grep -q 'x\\x0a<0>FORGED' "$T/daemon.log" || fail "the comm is not logged escaped"
ok "the forged comm is logged escaped, on its own line"
root_served
stop_daemon
