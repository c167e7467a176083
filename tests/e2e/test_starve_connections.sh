#!/usr/bin/env bash
# asan: yes
# Issue 12, attack 4: an unprivileged user holding 70 idle control-socket
# connections (renewed as pprofd closes them) and 70 slowloris HTTP
# connections cannot starve root: each user has a share of the connections
# and some are kept for root. The connections refused are told why;
# root's pprofctl, CPU request and HTTP index are answered within 1 s.
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
chmod 755 "$T"
start_daemon --interval 600 --http 127.0.0.1:$PORT
"${NOBODY[@]}" /usr/bin/python3 "$ROOT/tests/e2e/hog_conns.py" unix "$T/pprofd.sock" 70 12 >"$T/unix.said" &
HOG1=$!
"${NOBODY[@]}" /usr/bin/python3 "$ROOT/tests/e2e/hog_conns.py" tcp "$PORT" 70 12 >"$T/tcp.said" &
HOG2=$!
trap 'kill $HOG1 $HOG2 2>/dev/null; cleanup' EXIT
sleep 2
root_served "$PORT"
sleep 4 # past the control socket's 5 s request deadline: renewed connections
root_served "$PORT"
wait $HOG1 $HOG2
grep -q 'too many concurrent connections to pprofd from uid 65534' "$T/unix.said" ||
	fail "refused control connections were not told why: $(head -3 "$T/unix.said")"
grep -q '503.*too many concurrent connections.* from uid 65534' "$T/tcp.said" ||
	fail "refused HTTP connections were not told why: $(head -3 "$T/tcp.said")"
ok "the attacker's extra connections were told why ($(wc -l <"$T/unix.said") control, $(wc -l <"$T/tcp.said") HTTP)"
stop_daemon
