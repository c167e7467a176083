#!/usr/bin/env bash
# Runs every test: unit tests (plain and ASan+UBSan builds) and end-to-end
# tests with real BPF. Prints one line per test and closes with
# "N passed, N failed, N skipped". A skipped BPF test is a failure in CI.
#   PPROFD_PART   unit | e2e | asan (both under ASan+UBSan); all when unset
#   PPROFD_TEST   only the unit test binaries or e2e scripts of these names
#   TEST_CASE     only the unit test cases matching that glob (tests/unit/test.h)
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
export PPROFD_BUILD=$BUILD
PART=${PPROFD_PART:-all}
ONLY=${PPROFD_TEST:-}
export TEST_CASE=${TEST_CASE:-}
pass=0 fail=0 skip=0 ran=0
failed=()

case $PART in all | unit | e2e | asan) ;; *) echo "PPROFD_PART: unit, e2e or asan, not '$PART'" >&2; exit 2 ;; esac

# part PART: whether this run includes PART
part() { [ "$PART" = all ] || [ "$PART" = "$1" ]; }
# chosen PATH: whether PPROFD_TEST (names, space-separated) lets it run
chosen() {
	local t
	[ -z "$ONLY" ] && return 0
	for t in $ONLY; do [ "$(basename "$1" .sh)" = "$t" ] && return 0; done
	return 1
}

note() { printf '%-6s %s\n' "$1" "$2"; }

# skipped NAME: a test that could not run here; in CI, a failure
skipped() {
	if [ -n "${CI:-}" ]; then
		fail=$((fail + 1)); note FAIL "$1 (skipped)"; failed+=("$1")
	else
		skip=$((skip + 1)); note SKIP "$1"
	fi
}

run_unit() { # binary
	local bin=$1 out
	chosen "$bin" || return 0
	ran=$((ran + 1))
	out=$("$bin" 2>&1)
	local rc=$?
	while read -r word name; do
		case $word in
		PASS) pass=$((pass + 1)); note PASS "$(basename "$bin"):$name" ;;
		FAIL) fail=$((fail + 1)); note FAIL "$(basename "$bin"):$name"; failed+=("$bin:$name") ;;
		SKIP) skipped "$(basename "$bin"):$name" ;;
		esac
	done <<<"$out"
	# 77: the whole binary could not run here (its SKIP line said why)
	[ $rc -eq 77 ] && rc=0
	if [ $rc -ne 0 ] && ! grep -q '^FAIL' <<<"$out"; then
		fail=$((fail + 1)); note FAIL "$bin (exit $rc)"; failed+=("$bin")
	fi
	if [ $rc -ne 0 ]; then echo "$out" | grep -v '^PASS' | sed 's/^/    /' | head -40; fi
}

# leftovers: what an e2e test left behind that the next one could trip on
# (a daemon or workload still running, a mount of its temporary directory),
# one line each; what is still exiting gets up to 2 s.
leftovers() {
	local p exe out i
	for i in $(seq 10); do
		out=
		for p in /proc/[0-9]*; do
			exe=$(readlink "$p/exe" 2>/dev/null) || continue
			case $exe in
			"$PWD"/build/* | /tmp/pprofd-test."$PPROFD_TEST_TAG"*) out+="process ${p#/proc/} $exe"$'\n' ;;
			esac
		done
		out+=$(awk -v d="/tmp/pprofd-test.$PPROFD_TEST_TAG" 'index($2, d) == 1 {print "mount " $2}' /proc/mounts)
		[ -z "$out" ] && return 0
		sleep 0.2
	done
	printf '%s\n' "$out" | sed '/^$/d'
}

# clear_leftovers: so that one test's leftovers do not fail the next ones.
clear_leftovers() {
	local what id rest
	while read -r what id rest; do
		case $what in
		process) kill -9 "$id" 2>/dev/null ;;
		mount) umount -l "$id" 2>/dev/null ;;
		esac
	done
}

run_e2e() { # script [build]
	local t=$1 b=$2 name log rc left
	chosen "$t" || return 0
	ran=$((ran + 1))
	name="$(basename "$t" .sh)${3:-}"
	log=$(mktemp)
	PPROFD_TEST_TAG=t$$-$RANDOM-
	PPROFD_TEST_TAG=$PPROFD_TEST_TAG PPROFD_BUILD=$b timeout 600 bash "$t" >"$log" 2>&1
	rc=$?
	left=$(leftovers)
	if [ -n "$left" ]; then
		echo "FAIL: left behind:" >>"$log"
		echo "$left" >>"$log"
		clear_leftovers <<<"$left"
		[ $rc -eq 0 ] && rc=1
	fi
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); note PASS "$name"
	elif [ $rc -eq 77 ]; then
		skipped "$name"
	else
		fail=$((fail + 1)); note FAIL "$name (exit $rc)"; failed+=("$name")
		sed 's/^/    /' "$log" | tail -40
	fi
	rm -f "$log"
}

# the C in the tree's style (tests/format.sh), as one unit test
run_format() {
	local out
	chosen format || return 0
	ran=$((ran + 1))
	if out=$(tests/format.sh --check 2>&1); then
		pass=$((pass + 1)); note PASS format
	else
		fail=$((fail + 1)); note FAIL format; failed+=(format)
		echo "$out" | sed 's/^/    /' | head -40
	fi
}

if part unit; then
	run_format
	for t in "$BUILD"/tests/test_*; do [ -x "$t" ] && run_unit "$t"; done
fi
if part asan; then
	for t in build/asan/tests/test_*; do [ -x "$t" ] && run_unit "$t"; done
fi
if part e2e; then
	for t in tests/e2e/test_*.sh; do run_e2e "$t" "$BUILD"; done
fi
# The daemon itself under ASan+UBSan, on the end-to-end tests marked for it.
if part asan && [ -x build/asan/pprofd ]; then
	for t in $(grep -l '^# asan: yes' tests/e2e/test_*.sh); do run_e2e "$t" build/asan " (asan)"; done
fi
if [ -n "$ONLY" ] && [ $ran -eq 0 ]; then
	fail=$((fail + 1)); echo "FAIL no test named '$ONLY' in this part ($PART)"; failed+=("$ONLY")
elif [ -n "$TEST_CASE" ] && [ $((pass + fail)) -eq 0 ]; then
	fail=$((fail + 1)); echo "FAIL no unit test case matches '$TEST_CASE'"; failed+=("$TEST_CASE")
fi

if [ ${#failed[@]} -gt 0 ]; then
	echo "failed:"; printf '  %s\n' "${failed[@]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
