#!/usr/bin/env bash
# asan: yes
# JIT frames (issue 15): node --perf-basic-prof writes /tmp/perf-PID.map as
# it compiles; a hot JavaScript function runs from anonymous executable
# memory, and its samples are named from that map: the function is the leaf
# of most of the profile, in a mapping pprof does not try to open. A perf
# map planted for another user's process (anyone can write /tmp) is not
# read, and says so in pprofctl status.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
command -v node >/dev/null || fail "node is not installed (make deps installs nodejs)"

chmod 755 "$T"
cat >"$T/hot.js" <<'JS'
function pprofdHotLoop(n) {
	let s = 0;
	for (let i = 0; i < n; i++) s = (s * 31 + i) % 1000003;
	return s;
}
const end = Date.now() + 1000 * Number(process.argv[2]);
let t = 0;
while (Date.now() < end) t += pprofdHotLoop(100000);
console.log(t);
JS
chmod 644 "$T/hot.js"

start_daemon --interval 600
cd "$T" # node --perf-basic-prof leaves its isolate-*-v8.log where it runs
node --perf-basic-prof "$T/hot.js" 5 >/dev/null &
pid=$!
sleep 1
"$CTL" profile --pid "$pid" --seconds 3 --hz 199 --socket "$T/pprofd.sock" -o "$T/c.pb.gz" ||
	fail "pprofctl profile failed"
wait "$pid"
rm -f "/tmp/perf-$pid.map"
pprof -top -nodecount=10 "$T/c.pb.gz" >"$T/top.txt" 2>"$T/err.txt" || fail "pprof cannot read the profile"
grep -q "Local symbolization failed" "$T/err.txt" && { cat "$T/err.txt"; fail "pprof tried to open a mapping"; }
share=$(awk '$6 ~ /^JS:\*pprofdHotLoop$/ {sub("%", "", $2); print $2; exit}' "$T/top.txt")
python3 -c "import sys; sys.exit(0 if float('${share:-0}') >= 50 else 1)" ||
	{ cat "$T/top.txt"; fail "JS:*pprofdHotLoop has ${share:-no} % of the samples as their leaf (want >= 50)"; }
raw_profile "$T/c.pb.gz"
grep -q '\[anon:exec\]' "$T/raw.txt" || fail "no [anon:exec] mapping in the profile"
"$CTL" status --socket "$T/pprofd.sock" >"$T/status.txt"
read_maps=$(awk '$1 == "jit_perf_maps_read" {print $2}' "$T/status.txt")
[ "${read_maps:-0}" -gt 0 ] || fail "jit_perf_maps_read is ${read_maps:-missing}"
ok "node's JIT: JS:*pprofdHotLoop named from its perf map, $share % of the samples ($read_maps reads)"

# nobody's node, and a map planted for it by another user (uid 1, daemon)
setpriv --reuid=65534 --regid=65534 --clear-groups node "$T/hot.js" 4 >/dev/null &
pid=$!
printf '0 7fffffffffff PLANTED_BY_ANOTHER_USER\n' >"/tmp/perf-$pid.map"
chown 1:1 "/tmp/perf-$pid.map"
sleep 1
"$CTL" profile --pid "$pid" --seconds 2 --hz 199 --socket "$T/pprofd.sock" -o "$T/n.pb.gz" ||
	fail "pprofctl profile failed"
wait "$pid"
rm -f "/tmp/perf-$pid.map"
pprof -top "$T/n.pb.gz" 2>/dev/null | grep -q PLANTED && fail "a planted perf map named frames"
"$CTL" status --socket "$T/pprofd.sock" >"$T/status.txt"
refused=$(awk '$1 == "jit_perf_maps_refused" {print $2}' "$T/status.txt")
[ "${refused:-0}" -gt 0 ] || fail "jit_perf_maps_refused is ${refused:-missing}"
grep -q "perf map is not its own" "$T/daemon.log" || fail "the refusal is not in the log"
ok "a perf map planted by another user for nobody's node: not read ($refused refused)"
stop_daemon
