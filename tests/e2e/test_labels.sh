#!/usr/bin/env bash
# The labels operators filter by (SPEC §4): every sample of a process in a
# systemd unit carries `service`, of a process in a container
# `container_id`, read from its cgroup. The test makes cgroups under cgroup
# v2 named as systemd and the container runtimes name them, runs a
# workload in each, and reads the labels back through go tool pprof, in
# the window files and in a request.
. "$(dirname "$0")/lib.sh"
CG=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
[ -n "$CG" ] || fail "no cgroup v2 mounted"
ID=4f1c9a7e2b3d4c5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b$(printf '%05x' $$)
UNIT=pprofd-test-$$.service
made_slice=
[ -d "$CG/system.slice" ] || { mkdir "$CG/system.slice" && made_slice=1; }
mkdir "$CG/system.slice/$UNIT" "$CG/system.slice/docker-$ID.scope" || fail "cannot make cgroups under $CG"
cleanup_cg() {
	for d in "$CG/system.slice/$UNIT" "$CG/system.slice/docker-$ID.scope"; do
		[ -d "$d" ] || continue
		for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill "$p" 2>/dev/null; done
		for _ in $(seq 50); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
	done
	[ -n "$made_slice" ] && rmdir "$CG/system.slice" 2>/dev/null
	true
}
trap 'cleanup_cg; cleanup' EXIT

start_daemon --interval 2

# each workload moves itself into its cgroup, then becomes cpu_shares
run_in() { # CGROUP OUT
	sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" 8' sh "$1" "$WL/cpu_shares" >"$2" &
}
run_in "$CG/system.slice/$UNIT" "$T/svc.out"
run_in "$CG/system.slice/docker-$ID.scope" "$T/ctr.out"
sleep 0.5
svc=$(awk '/^pid/ {print $2}' "$T/svc.out")
ctr=$(awk '/^pid/ {print $2}' "$T/ctr.out")
[ -n "$svc" ] && [ -n "$ctr" ] || fail "workloads did not start"
grep -q "/system.slice/$UNIT" "/proc/$svc/cgroup" || fail "$svc not in $UNIT: $(cat "/proc/$svc/cgroup")"

"$ROOT/$BUILD/pprofctl" profile --pid "$svc" --seconds 2 --socket "$T/pprofd.sock" -o "$T/req.pb.gz" ||
	fail "request of $svc"
for _ in $(seq 100); do
	ls "$T"/profiles/cpu_shares-"$ctr"/cpu-*.pb.gz "$T"/profiles/cpu_shares-"$svc"/cpu-*.pb.gz >/dev/null 2>&1 && break
	sleep 0.1
done
check() { # FILE KEY VALUE
	pprof -raw "$1" 2>/dev/null | python3 -c '
import sys; sys.path.insert(0, "'"$ROOT"'/tests/e2e"); import pprof_raw
s = pprof_raw.parse(sys.stdin.read())
key, want = sys.argv[1], sys.argv[2]
got = {x["labels"].get(key) for x in s}
assert s and got == {want}, f"{key}: {got}, want {want} on all {len(s)} samples"
other = "container_id" if key == "service" else "service"
assert not any(other in x["labels"] for x in s), f"a {other} label where there is none"
print(f"{len(s)} samples, {key}={want}")' "$2" "$3" || fail "$1: labels"
}
check "$(ls "$T"/profiles/cpu_shares-"$svc"/cpu-*.pb.gz | head -1)" service "$UNIT"
check "$(ls "$T"/profiles/cpu_shares-"$ctr"/cpu-*.pb.gz | head -1)" container_id "$ID"
check "$T/req.pb.gz" service "$UNIT"
# as an operator filters: go tool pprof -tagfocus
pprof -top -tagfocus="service=$UNIT" "$T/req.pb.gz" 2>/dev/null | grep -q ' alpha$' ||
	fail "-tagfocus service=$UNIT keeps nothing"
stop_daemon
ok "service=$UNIT and container_id=${ID:0:12}... on every sample, windows and requests"
