#!/usr/bin/env bash
# asan: yes
# The Go-compatible HTTP front end (SPEC §5), as its users use it:
# `go tool pprof` straight from a /debug/pprof URL, the host-wide profile a
# fleet scraper takes, the index page, errors, and who may ask for what.
. "$(dirname "$0")/lib.sh"
PORT=$((20000 + RANDOM % 20000))
URL=http://127.0.0.1:$PORT/debug/pprof
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }

"$PPROFD" --output-dir "$T/profiles" --socket "$T/pprofd.sock" --http 127.0.0.1:$PORT \
	--interval 2 >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "$URL/" && break; sleep 0.1; done

"$WL/cpu_shares" 30 >"$T/wl.out" &
WLPID=$!
sleep 0.3
pid=$(awk '/^pid/ {print $2}' "$T/wl.out")

# 1. go tool pprof straight from the URL
pprof -top "$URL/profile?pid=$pid&seconds=3" >"$T/top.txt" 2>"$T/top.err" || fail "pprof from the URL: $(cat "$T/top.err")"
grep -q ' alpha$' "$T/top.txt" || { cat "$T/top.txt"; fail "alpha not in the profile from HTTP"; }
ok "go tool pprof -top from $URL/profile?pid=$pid&seconds=3"
# a browser saves it as the process's and the kind's, not as "profile"
comm=$(cat "/proc/$pid/comm")
curl -s -D "$T/hdr" -o /dev/null "$URL/profile?pid=$pid&seconds=1" || fail "profile download"
grep -qi "^content-disposition: attachment; filename=\"$comm-$pid-cpu.pb.gz\"" "$T/hdr" ||
	fail "download name: $(grep -i disposition "$T/hdr")"
curl -s -D "$T/hdr" -o /dev/null "$URL/goroutine?pid=$pid" || fail "goroutine download"
grep -qi "filename=\"$comm-$pid-threads.pb.gz\"" "$T/hdr" || fail "threads download name: $(grep -i disposition "$T/hdr")"
ok "downloads named $comm-$pid-cpu.pb.gz"

# 2. the whole host, with pid and comm labels on every sample
curl -sf -o "$T/host.pb.gz" "$URL/profile?seconds=2" || fail "host-wide profile failed"
pprof -raw "$T/host.pb.gz" 2>/dev/null | python3 -c '
import sys; sys.path.insert(0, "'"$ROOT"'/tests/e2e"); import pprof_raw
s = pprof_raw.parse(sys.stdin.read())
pids = {x["labels"].get("pid") for x in s}
assert s and all("pid" in x["labels"] and "comm" in x["labels"] for x in s), "labels missing"
assert "'"$pid"'" in pids, "workload missing"
print(f"host profile: {len(s)} samples from {len(pids)} processes")' || fail "host-wide profile lacks processes or labels"
# named after the host, not after whichever process came first; nothing
# pprof would try to open ("Local symbolization failed for anon")
pprof -top "$T/host.pb.gz" >"$T/host.top" 2>"$T/host.err" || fail "pprof -top of the host: $(cat "$T/host.err")"
grep -q '^File: \[host\]$' "$T/host.top" || fail "host-wide profile's File: $(grep '^File' "$T/host.top")"
grep -qi 'symbolization failed\|no such file' "$T/host.err" && fail "pprof on the host's profile: $(head -3 "$T/host.err")"
ok "host-wide profile"

# 3. the index page lists processes with links
curl -sf "$URL/" >"$T/index.html" || fail "no index page"
grep -q "cpu_shares" "$T/index.html" || fail "index page does not list cpu_shares"
grep -q "profile?pid=$pid" "$T/index.html" || fail "index page has no profile link for $pid"
# / is where a person starts: the same page
curl -sfL "http://127.0.0.1:$PORT/" | grep -q 'id="filter"' || fail "/ does not lead to the index page"
# ranked by pprofd's windows: the busy workload first, kernel threads apart
# and without the kinds that need user code, a filter box
python3 - "$URL/" "$pid" <<'PY' || fail "index page ranking"
import re, sys, time, urllib.request
url, pid = sys.argv[1], sys.argv[2]
for _ in range(100):                      # until a window (2 s) has ended
    page = urllib.request.urlopen(url).read().decode()
    main, _, rest = page.partition("</table>")
    rows = re.findall(r"<tr><td class=n>(\d+)</td><td>([^<]*)</td><td class=n>([^<]*)</td>", main)
    if rows and rows[0][2] not in ("-", "0"):
        break
    time.sleep(0.2)
assert rows[0][0] == pid and rows[0][1] == "cpu_shares", f"first row {rows[0]}, want {pid} cpu_shares"
assert rows[0][2].endswith("%"), rows[0]
assert 'id="filter"' in page, "no filter box"
if open("/proc/2/comm").read().strip() == "kthreadd":
    assert "kernel threads</summary>" in rest, "no kernel threads section"
    assert not any(r[0] == "2" for r in rows), "kthreadd among the processes"
    assert "heap?pid=2&" not in page, "a heap link on a kernel thread"
print(f"index: {rows[0][1]} first at {rows[0][2]} of a CPU; {len(rows)} processes")
PY
# the kinds where they apply: no heap link for a static binary (no
# allocator pprofd probes), one for a program on glibc's malloc
printf '#include <unistd.h>\nint main(void) { pause(); return 0; }\n' >"$T/static.c"
cc -static -o "$T/static" "$T/static.c" || fail "cannot build a static binary"
"$T/static" & SPID=$!
sleep 0.2
curl -sf "$URL/" >"$T/index2.html" || fail "no index page"
kill $SPID
grep -q "mutex?pid=$SPID&" "$T/index2.html" || fail "no mutex link for the static binary"
grep -q "heap?pid=$SPID&" "$T/index2.html" && fail "a heap link for a static binary"
grep -q "heap?pid=$pid&" "$T/index2.html" || fail "no heap link for cpu_shares (glibc's malloc)"
ok "index page"

# 3b. the page's flame graphs: the last window, the last hour, a fresh
# request; SVG a browser shows, titled with the process
svg_check() { # URL WHAT
	[ "$(code "$1")" = 200 ] || fail "$2: $(cat "$T/body")"
	xmllint --noout "$T/body" || fail "$2: not well-formed SVG"
	grep -q '<title>alpha (' "$T/body" || fail "$2: alpha not in the flame graph"
	grep -q "<text id=\"title\"[^>]*>cpu_shares (pid $pid)" "$T/body" ||
		fail "$2: title $(grep -o '<text id="title"[^<]*' "$T/body")"
}
svg_check "$URL/flamegraph?pid=$pid&window=last" "last window"
svg_check "$URL/flamegraph?pid=$pid&window=hour" "last hour"
svg_check "$URL/flamegraph?pid=$pid&seconds=1" "a fresh request"
curl -s -D "$T/hdr" -o /dev/null "$URL/flamegraph?pid=$pid" || fail "flame graph headers"
grep -qi '^content-type: image/svg+xml' "$T/hdr" || fail "flame graph type: $(grep -i content-type "$T/hdr")"
[ "$(code "$URL/flamegraph?window=last")" = 400 ] || fail "flame graph without pid: want 400"
[ "$(code "$URL/flamegraph?pid=$pid&window=day")" = 400 ] || fail "window=day: want 400"
[ "$(code "$URL/flamegraph?pid=3999999&window=last")" = 404 ] || fail "flame graph of no process: want 404"
sleep 30 & SLPID=$!
[ "$(code "$URL/flamegraph?pid=$SLPID&window=last")" = 404 ] || fail "flame graph of a process never sampled: want 404"
grep -q 'no profile of pid' "$T/body" || fail "unclear: $(cat "$T/body")"
kill $SLPID
ok "flame graphs of the last window, the last hour and a fresh request"

# 4. errors as a Go pprof server sends them
[ "$(code "$URL/profile?pid=3999999&seconds=1")" = 404 ] || fail "unknown pid: want 404, got $(cat "$T/body")"
[ "$(code "$URL/profile?pid=$pid&seconds=abc")" = 400 ] || fail "seconds=abc: want 400"
[ "$(code "$URL/profile?pid=$pid&seconds=100000")" = 400 ] || fail "seconds out of range: want 400"
grep -q 'max_request_seconds' "$T/body" || fail "seconds out of range: the limit's key unnamed: $(cat "$T/body")"
[ "$(code "$URL/profile?pid=$pid&seconds=0")" = 400 ] || fail "seconds=0: want 400"
grep -q 'seconds must be 1\.\.' "$T/body" || fail "seconds=0: not pprofctl's rule: $(cat "$T/body")"
[ "$(code "$URL/nonexistent")" = 404 ] || fail "unknown path: want 404"
[ "$(code "$URL/profile?seconds=1&hz=999")" = 400 ] || fail "host-wide hz above the rate: want 400"
ok "404 for no such process, 400 for bad parameters"

# 5. a non-root user: 403 for root's process, its own is served
[ "$(setpriv --reuid=65534 --regid=65534 --clear-groups curl -s -o /dev/null -w '%{http_code}' "$URL/profile?pid=$pid&seconds=1")" = 403 ] ||
	fail "nobody got root's process over HTTP"
setpriv --reuid=65534 --regid=65534 --clear-groups "$WL/cpu_shares" 30 >"$T/wl2.out" &
NPID=$!
sleep 0.3
pid2=$(awk '/^pid/ {print $2}' "$T/wl2.out")
[ "$(setpriv --reuid=65534 --regid=65534 --clear-groups curl -s -o "$T/own.pb.gz" -w '%{http_code}' "$URL/profile?pid=$pid2&seconds=1")" = 200 ] ||
	fail "nobody could not profile its own process over HTTP"
[ "$(setpriv --reuid=65534 --regid=65534 --clear-groups curl -s -o /dev/null -w '%{http_code}' "$URL/profile?seconds=1")" = 403 ] ||
	fail "nobody got the host-wide profile"
# it sees its own processes in the page, not root's, and no host-wide link
for _ in $(seq 50); do ls "$T"/profiles/cpu_shares-"$pid2"/cpu-*.pb.gz >/dev/null 2>&1 && break; sleep 0.2; done
setpriv --reuid=65534 --regid=65534 --clear-groups curl -sf "$URL/" >"$T/nobody.html" || fail "nobody's index page"
grep -q "<td class=n>$pid2</td>" "$T/nobody.html" || fail "nobody's page lacks its own process"
grep -q "<td class=n>$pid</td>" "$T/nobody.html" && fail "nobody's page lists root's process"
grep -q 'href="profile?seconds=30"' "$T/nobody.html" && fail "nobody's page has the host-wide link"
grep -q 'processes of other users not listed' "$T/nobody.html" || fail "nobody's page does not say what it hides"
# and the windows pprofd wrote: its own, not root's
[ "$(setpriv --reuid=65534 --regid=65534 --clear-groups curl -s -o /dev/null -w '%{http_code}' "$URL/flamegraph?pid=$pid&window=hour")" = 403 ] ||
	fail "nobody got the flame graph of root's process windows"
[ "$(setpriv --reuid=65534 --regid=65534 --clear-groups curl -s -o /dev/null -w '%{http_code}' "$URL/flamegraph?pid=$pid2&window=last")" = 200 ] ||
	fail "nobody could not see its own process's last window"
kill "$NPID"
ok "non-root over HTTP: 403 for others' processes, their windows and the host, 200 for its own; the page lists its own"

# 6. a non-loopback listener needs a token: refused as a bad config (as
# at a SIGHUP, the same check), at --check-config and at start before
# anything loads: exit 2
rc=0
"$PPROFD" --output-dir "$T/p2" --http 0.0.0.0:$((PORT + 1)) --check-config >"$T/c2.log" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--check-config with --http 0.0.0.0 and no token: exit $rc, want 2: $(cat "$T/c2.log")"
grep -qi "token" "$T/c2.log" || fail "--check-config: no word about the token: $(cat "$T/c2.log")"
rc=0
timeout 10 "$PPROFD" --output-dir "$T/p2" --socket "$T/p2.sock" --http 0.0.0.0:$((PORT + 1)) >"$T/d2.log" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "pprofd with --http 0.0.0.0 and no token: exit $rc, want 2 at once: $(cat "$T/d2.log")"
grep -q "listening on 0.0.0.0" "$T/d2.log" && fail "pprofd listened on 0.0.0.0 without a token"
grep -qi token "$T/d2.log" || fail "no word about the token: $(cat "$T/d2.log")"
grep -qi "bpf\|loaded" "$T/d2.log" && fail "pprofd loaded something before refusing: $(cat "$T/d2.log")"
ok "non-loopback listener without a token refused"

kill "$WLPID" 2>/dev/null
stop_daemon
