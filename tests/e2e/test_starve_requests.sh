#!/usr/bin/env bash
# asan: yes
# Issue 12, attack 3: an unprivileged user asking for eight 60 s profiles of
# its own process over the control socket, and eight more over HTTP, cannot
# fill max_concurrent_requests: a user has a share, some slots are kept for
# root, and the requests refused are told why.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
PORT=$(free_port)
chmod 755 "$T"
start_daemon --interval 600 --http 127.0.0.1:$PORT
"${NOBODY[@]}" sleep 120 &
OWN=$!
pids=()
for i in $(seq 8); do
	"${NOBODY[@]}" "$CTL" profile --pid "$OWN" --seconds 60 --socket "$T/pprofd.sock" \
		-o /dev/null 2>"$T/ctl.$i.err" &
	pids+=($!)
	"${NOBODY[@]}" curl -s -o /dev/null -w '%{http_code}\n' \
		"http://127.0.0.1:$PORT/debug/pprof/profile?pid=$OWN&seconds=60" >"$T/http.$i.code" &
	pids+=($!)
done
trap 'kill ${pids[*]} $OWN 2>/dev/null; cleanup' EXIT
sleep 1.5
root_served "$PORT"
cat "$T"/ctl.*.err | sort | uniq -c
grep -q 'too many concurrent requests from uid 65534' "$T"/ctl.*.err ||
	fail "the user's extra requests were not told why"
n=$(cat "$T"/http.*.code | grep -c '^429$')
[ "$n" -ge 1 ] || fail "no HTTP request of the user refused with 429"
ok "the user's requests over its share were refused with the reason ($n HTTP 429)"
kill "${pids[@]}" 2>/dev/null
stop_daemon
