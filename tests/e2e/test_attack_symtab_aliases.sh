#!/usr/bin/env bash
# asan: yes
# Issue 12, attack 2: a user's process maps a small library with 150,000
# .symtab aliases at one address and asks for its own CPU profile. Loading
# its symbols must stay linear: root's status and requests are answered
# meanwhile (a quadratic sort of the aliases held the daemon for seconds).
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"

start_daemon --interval 600
chmod 755 "$T"
mkdir "$T/u"
python3 - "$T/u/big.S" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write('\t.section .note.GNU-stack,"",@progbits\n\t.text\n\t.globl spin\n'
            '\t.type spin,@function\nspin:\n1:\tdec %rdi\n\tjnz 1b\n\tret\n\t.size spin,.-spin\n')
    for i in range(150000):
        f.write(f'\t.type a{i},@function\n\t.set a{i},spin\n\t.size a{i},.-spin\n')
PY
cat >"$T/u/main.c" <<'C'
#include <unistd.h>
extern void spin(unsigned long n);
int main(void)
{
	alarm(20);
	for (;;)
		spin(100000000UL);
}
C
(cd "$T/u" && gcc -shared -o libbig.so big.S && gcc -o aliases main.c -L. -lbig -Wl,-rpath,"$T/u") ||
	fail "cannot build the workload"
chmod -R a+rX "$T/u"
"${NOBODY[@]}" "$T/u/aliases" &
APID=$!
sleep 0.5
# nobody asks for its own profile: the daemon loads libbig.so's symbols
"${NOBODY[@]}" "$CTL" profile --pid "$APID" --seconds 1 --socket "$T/pprofd.sock" -o /dev/null >"$T/u.out" 2>&1 &
UPID=$!
sleep 1.3
root_served
wait $UPID || fail "nobody's request failed: $(cat "$T/u.out")"
kill $APID 2>/dev/null
wait $APID 2>/dev/null
stop_daemon
