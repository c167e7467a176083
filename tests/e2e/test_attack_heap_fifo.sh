#!/usr/bin/env bash
# asan: yes
# Issue 12, attack 1: in its own user and mount namespace a user hides its
# process's libc under a FIFO named libc.so.6 and asks for a heap profile.
# The daemon must not block opening it: root is served meanwhile.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
LIBDIR=/usr/lib/x86_64-linux-gnu

start_daemon --interval 600
chmod 755 "$T"
mkdir -p "$T/u/fake"
cat >"$T/u/mall.c" <<'C'
#include <stdlib.h>
#include <unistd.h>
int main(void)
{
	alarm(30);
	for (;;) {
		void *volatile p = malloc(1000);
		free(p);
		usleep(1000);
	}
}
C
gcc -O1 -o "$T/u/mall" "$T/u/mall.c" || fail "cannot build the workload"
mkfifo "$T/u/fake/libc.so.6"
chown -R 65534:65534 "$T/u"
# Whatever happens, the FIFO is opened for writing at the end, so that a
# daemon stuck in open() can stop.
(sleep 15; timeout 2 sh -c "exec 3>'$T/u/fake/libc.so.6'") 2>/dev/null &
UNSTICK=$!

# In the namespace: start the workload (it maps the real libc), then put
# the FIFO in libc's place, then stay so that the namespace lives.
"${NOBODY[@]}" unshare -Urm sh -c '
	"$1/mall" & echo $! >"$1/pid"
	sleep 0.3
	mount --bind "$1/fake" "$2" || exit 1
	echo mounted >"$1/mounted"
	wait' sh "$T/u" "$LIBDIR" &
NS=$!
for _ in $(seq 50); do [ -e "$T/u/mounted" ] && break; sleep 0.1; done
[ -e "$T/u/mounted" ] || fail "the namespace was not set up"
pid=$(cat "$T/u/pid")
grep -q "$LIBDIR/libc.so.6" "/proc/$pid/maps" || fail "the workload does not map libc"
[ -p "/proc/$pid/root$LIBDIR/libc.so.6" ] || fail "no FIFO in the workload's libc place"

"${NOBODY[@]}" "$CTL" heap --pid "$pid" --seconds 3 --socket "$T/pprofd.sock" -o /dev/null >"$T/u.out" 2>&1 &
UPID=$!
sleep 0.7
root_served
wait $UPID && ok "nobody's heap request served (through map_files)" ||
	echo "nobody's heap request refused: $(cat "$T/u.out")"
kill "$pid" 2>/dev/null
wait $NS 2>/dev/null
kill $UNSTICK 2>/dev/null
stop_daemon
