#!/usr/bin/env bash
# asan: yes
# debuginfod (issue 15): a library stripped to .dynsym whose hot code is
# two static functions, and its debug file on a real debuginfod server
# (Debian's) on loopback, which pprofd is configured to ask. The first
# profile names them by their FDEs (libhot.so+0x...): the debug file is
# fetched in the background, never while a profile is made; from a later
# profile on they are hot_a and hot_b. pprofctl status counts the fetch,
# the file is in the cache under the output directory, and the program's
# own executable (no DWARF, not on the server) is counted as not found.
# Without debuginfod_urls nothing is asked.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"

hot_sources
mkdir -p "$T/lib" "$T/srv" || fail "mkdir"
gcc -O2 -g -fPIC -shared -Wl,--build-id -o "$T/libhot.full.so" "$T/hot.c" &&
	objcopy --only-keep-debug "$T/libhot.full.so" "$T/srv/libhot.debug" &&
	strip --strip-unneeded -o "$T/lib/libhot.so" "$T/libhot.full.so" &&
	gcc -O2 -o "$T/hot" "$T/main.c" -L"$T/lib" -lhot -Wl,-rpath,"$T/lib" ||
	fail "cannot build the workload"
readelf -S "$T/lib/libhot.so" | grep -q '\.symtab' && fail "libhot.so still has .symtab"
bid=$(readelf -n "$T/lib/libhot.so" | awk '/Build ID/ {print $3}')
[ -n "$bid" ] || fail "libhot.so has no build ID"

# The server, on a free loopback port, until it serves the debug file.
port=$(free_port)
debuginfod -p "$port" -F -d "$T/srv.sqlite" -t 1 "$T/srv" >"$T/debuginfod.log" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null; cleanup' EXIT
served=
for i in $(seq 100); do
	# (a cache of its own each time: libdebuginfod remembers a miss)
	if DEBUGINFOD_URLS="http://127.0.0.1:$port" DEBUGINFOD_CACHE_PATH="$T/probe$i" \
		debuginfod-find debuginfo "$bid" >/dev/null 2>&1; then
		served=1
		break
	fi
	sleep 0.2
done
[ -n "$served" ] || fail "the server never served build ID $bid: $(tail -3 "$T/debuginfod.log")"

share() { awk -v n="$1" '$6 == n {sub(/%/, "", $2); print $2; exit}' "$2"; }

printf 'debuginfod_urls = http://127.0.0.1:%s\n' "$port" >"$T/pprofd.conf"
start_daemon --config "$T/pprofd.conf" --interval 600
grep -q "debuginfod: files without symbols" "$T/daemon.log" || fail "debuginfod is not on"
"$T/hot" 30 &
wl=$!
named=
for i in $(seq 10); do
	"$CTL" profile --pid "$wl" --seconds 1 --hz 499 --socket "$T/pprofd.sock" \
		-o "$T/cpu$i.pb.gz" || fail "pprofctl profile failed"
	pprof -top "$T/cpu$i.pb.gz" 2>/dev/null >"$T/top$i.txt"
	if [ -n "$(share hot_a "$T/top$i.txt")" ] && [ -n "$(share hot_b "$T/top$i.txt")" ]; then
		named=$i
		break
	fi
done
kill "$wl"
wait "$wl" 2>/dev/null
[ -n "$named" ] || { cat "$T/top10.txt"; fail "hot_a and hot_b never named"; }
# the first profile was made before the file came: named by the FDEs
grep -q 'hot_a\|hot_b' "$T/top1.txt" && [ "$named" = 1 ] &&
	echo "(the file came before the first profile was made)"
"$CTL" status --socket "$T/pprofd.sock" >"$T/status.txt"
grep '^debuginfod_' "$T/status.txt"
get() { awk -v k="$1" '$1 == k {print $2}' "$T/status.txt"; }
[ "$(get debuginfod_fetched)" -ge 1 ] || fail "no fetch counted"
[ "$(get debuginfod_not_found)" -ge 1 ] || fail "the executable's build ID was not counted as not found"
[ "$(get debuginfod_cache_bytes)" -gt 0 ] || fail "the cache's bytes are not counted"
[ -s "$T/profiles/.debuginfod/$bid/debuginfo" ] || fail "the debug file is not in the cache"
ok "hot_a $(share hot_a "$T/top$named.txt") %, hot_b $(share hot_b "$T/top$named.txt") % from profile $named on; $(get debuginfod_fetched) fetched, $(get debuginfod_cache_bytes) bytes cached"
stop_daemon

# Without URLs (and without DEBUGINFOD_URLS): nothing asked.
DEBUGINFOD_URLS= start_daemon --interval 600
"$T/hot" 3 &
wl=$!
"$CTL" profile --pid "$wl" --seconds 1 --socket "$T/pprofd.sock" -o "$T/off.pb.gz" ||
	fail "pprofctl profile failed"
wait "$wl"
"$CTL" status --socket "$T/pprofd.sock" >"$T/status.txt"
[ "$(get debuginfod_on)" = 0 ] && [ "$(get debuginfod_asked)" = 0 ] ||
	fail "debuginfod asked without URLs"
ok "without debuginfod_urls: nothing asked"
stop_daemon
