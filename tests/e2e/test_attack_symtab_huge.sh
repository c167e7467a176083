#!/usr/bin/env bash
# asan: yes
# Issue 12, attack 2 at the size limit: a user's process runs code in a
# file whose .symtab holds 4 M symbols (130 MB, any user can write one) and
# asks for its own CPU profile. Loading them takes seconds, which the event
# loop must not wait for: root's status and requests are answered
# meanwhile (they waited 2.4 s when symbols loaded in the loop), and the
# user's profile names the file's function once the load is in.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"

start_daemon --interval 600
chmod 755 "$T"
mkdir "$T/u"
python3 "$ROOT/tests/e2e/huge_symtab.py" "$T/u/libhuge.so" 4000000 || fail "cannot write the file"
cat >"$T/u/main.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	int fd = open(argv[1], O_RDONLY);
	char *base = fd < 0 ? MAP_FAILED : mmap(NULL, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	void (*spin)(unsigned long);

	if (base == MAP_FAILED) {
		perror(argv[1]);
		return 1;
	}
	spin = (void (*)(unsigned long))(base + 0x1000);
	alarm(120);
	for (;;)
		spin(100000000UL);
}
C
gcc -O2 -o "$T/u/huge" "$T/u/main.c" || fail "cannot build the workload"
chmod -R a+rX "$T/u"
mkdir -m 777 "$T/u/out"
"${NOBODY[@]}" "$T/u/huge" "$T/u/libhuge.so" &
APID=$!
sleep 0.3
# nobody asks for its own profile: its first sample in the file starts the load
"${NOBODY[@]}" "$CTL" profile --pid "$APID" --seconds 6 --socket "$T/pprofd.sock" \
	-o "$T/u/out/own.pb.gz" >"$T/u.out" 2>&1 &
UPID=$!
sleep 0.5
root_served
root_served
wait $UPID || fail "nobody's request failed: $(cat "$T/u.out")"
grep 'still loading' "$T/daemon.log"
# The load takes seconds (more under ASan, on a loaded machine): the
# function is named in the profiles asked for once it is in.
named=
for i in $(seq 30); do
	top=$(pprof -top "$T/u/out/own.pb.gz" 2>/dev/null)
	if grep -q ' f[0-9]*$' <<<"$top"; then named=$i; break; fi
	"${NOBODY[@]}" "$CTL" profile --pid "$APID" --seconds 2 --socket "$T/pprofd.sock" \
		-o "$T/u/out/own.pb.gz" >"$T/u.out" 2>&1 || fail "nobody's request failed: $(cat "$T/u.out")"
done
kill $APID 2>/dev/null
wait $APID 2>/dev/null
[ -n "$named" ] || fail "the user's profile does not name the file's function after 60 s:
$top"
ok "the file's function is named once its symbols are in (profile $named)"
stop_daemon
