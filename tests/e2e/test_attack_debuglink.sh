#!/usr/bin/env bash
# asan: yes
# Issue 12, attack 5: a user's stripped binary names a debug file in its
# .gnu_debuglink, and the user makes that name a symlink to a root-only
# file. Looking for the binary's symbols, root must not open the file
# (nor anything a user's symlink points at: a FIFO, a device); an inotify
# watch on it sees every open.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"

start_daemon --interval 600
chmod 755 "$T"
mkdir -m 700 "$T/secret" && echo secret >"$T/secret/file"
mkdir "$T/u"
cat >"$T/u/spin.c" <<'C'
#include <unistd.h>
__attribute__((noinline)) void spin(void)
{
	for (volatile unsigned long i = 0; i < 100000000UL; i++)
		;
}
int main(void)
{
	alarm(20);
	for (;;)
		spin();
}
C
(cd "$T/u" && gcc -O1 -g -Wl,--build-id=none -o full spin.c &&
	objcopy --only-keep-debug full spin.debug && strip -s -o spin full &&
	objcopy --add-gnu-debuglink=spin.debug spin && rm spin.debug full) ||
	fail "cannot build the workload"
chown -R 65534:65534 "$T/u"
"${NOBODY[@]}" ln -s "$T/secret/file" "$T/u/spin.debug"

python3 - "$T/secret/file" "$T/opens.txt" <<'PY' &
import ctypes, os, select, sys, time
libc = ctypes.CDLL(None, use_errno=True)
IN_OPEN, IN_ACCESS = 0x20, 0x1
fd = libc.inotify_init1(os.O_NONBLOCK)
if fd < 0 or libc.inotify_add_watch(fd, sys.argv[1].encode(), IN_OPEN | IN_ACCESS) < 0:
    sys.exit("inotify: " + os.strerror(ctypes.get_errno()))
open(sys.argv[2], "w").write("watching\n")
end = time.time() + 15
while time.time() < end:
    if select.select([fd], [], [], 0.2)[0]:
        ev = os.read(fd, 4096)
        open(sys.argv[2], "a").write("opened, mask %#x\n" % int.from_bytes(ev[4:8], "little"))
PY
WATCH=$!
for _ in $(seq 50); do [ -s "$T/opens.txt" ] && break; sleep 0.1; done
grep -q watching "$T/opens.txt" || fail "the inotify watch did not start"

"${NOBODY[@]}" "$T/u/spin" &
SPID=$!
sleep 0.5
"${NOBODY[@]}" "$CTL" profile --pid "$SPID" --seconds 1 --socket "$T/pprofd.sock" -o "$T/u/u.pb.gz" >"$T/u.out" 2>&1 ||
	fail "nobody's own request failed: $(cat "$T/u.out")"
root_served
sleep 0.5
kill $WATCH 2>/dev/null
grep -q opened "$T/opens.txt" && fail "root opened the file a user's symlink points at: $(cat "$T/opens.txt")"
ok "the root-only file behind the user's debug link was never opened"
kill $SPID 2>/dev/null
wait $SPID 2>/dev/null
stop_daemon
