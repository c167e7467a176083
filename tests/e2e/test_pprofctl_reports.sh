#!/usr/bin/env bash
# asan: yes
# pprofctl's offline reports, no daemon needed: `pprofctl top` agrees with
# `go tool pprof -top` on every function's flat and cum (CPU profile in
# nanoseconds, heap profile with four sample types), `pprofctl flamegraph`
# writes a well-formed SVG with every function and true widths, and broken
# files (garbage, truncated gzip, ids that point nowhere) get a clear error
# and a non-zero exit, never a crash.
. "$(dirname "$0")/lib.sh"

CTL=$ROOT/$BUILD/pprofctl
[ -x "$CTL" ] || fail "no $CTL: run make first"
command -v xmllint >/dev/null || fail "no xmllint: apt-get install -y libxml2-utils"
# Test profiles from the daemon's own builder (tests/tools/gen_profile.c).
GEN=$ROOT/$BUILD/tools/gen_profile
[ -x "$GEN" ] || GEN=$ROOT/build/tools/gen_profile
[ -x "$GEN" ] || fail "gen_profile not built (make build/tools/gen_profile)"
cp "$GEN" "$T/gen"
"$T/gen" cpu "$T/cpu.pb.gz" || fail "gen cpu"
"$T/gen" heap "$T/heap.pb.gz" || fail "gen heap"

# "name<TAB>flat<TAB>cum" per function of a -top report, sorted.
values() {
	awk '/^ *flat  *flat%/ { on = 1; next }
	     on { name = $0; sub(/^ *[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+  /, "", name);
		  print name "\t" $1 "\t" $4 }' "$1" | LC_ALL=C sort
}

# compare FILE PPROFCTL-ARGS -- PPROF-ARGS
# (FILE may be several, in quotes: "a b", merged by both)
compare() {
	local f=($1) mine=() theirs=()
	shift
	while [ "$1" != -- ]; do mine+=("$1"); shift; done
	shift
	theirs=("$@")
	"$CTL" top "${f[@]}" "${mine[@]}" >"$T/mine.txt" 2>"$T/mine.err" ||
		fail "pprofctl top ${mine[*]} ${f[*]}: $(cat "$T/mine.err")"
	pprof -top -symbolize=none "${theirs[@]}" "${f[@]}" >"$T/go.txt" 2>"$T/go.err" ||
		fail "go tool pprof -top ${theirs[*]}: $(cat "$T/go.err")"
	values "$T/mine.txt" >"$T/mine.val"
	values "$T/go.txt" >"$T/go.val"
	[ "$(wc -l <"$T/go.val")" -gt 3 ] || fail "too few functions in the pprof report"
	diff "$T/go.val" "$T/mine.val" >"$T/val.diff" ||
		{ head -20 "$T/val.diff" >&2; fail "flat/cum differ from pprof (${mine[*]})"; }
	# the whole report, header included, but for pprof's trailing blanks
	diff <(sed 's/ *$//' "$T/go.txt") "$T/mine.txt" >"$T/all.diff" ||
		{ head -20 "$T/all.diff" >&2; fail "report differs from pprof's (${mine[*]})"; }
	ok "top ${mine[*]} ${f[*]##*/}: $(wc -l <"$T/mine.val") functions as pprof"
}

compare "$T/cpu.pb.gz" --nodecount=1000 -- -nodecount=1000
compare "$T/cpu.pb.gz" -- 
compare "$T/cpu.pb.gz" --nodefraction=0 -- -nodefraction=0
compare "$T/cpu.pb.gz" --sample-index=samples -- -sample_index=samples
compare "$T/heap.pb.gz" --nodecount=1000 -- -nodecount=1000
compare "$T/heap.pb.gz" --sample-index=alloc_space --nodefraction=0 -- -sample_index=alloc_space -nodefraction=0
compare "$T/heap.pb.gz" --sample-index=0 -- -sample_index=0
compare "$T/heap.pb.gz" --sample-index=inuse_objects --nodecount=5 -- -sample_index=inuse_objects -nodecount=5
"$CTL" top "$T/cpu.pb.gz" | grep -q '^Type: cpu$' || fail "cpu (the last type) is not the default"
"$CTL" top "$T/heap.pb.gz" | grep -q '^Type: inuse_space$' || fail "default_sample_type not honoured"
grep -q 'Showing top 5 nodes out of' "$T/mine.txt" || fail "no 'Showing top 5' line"
"$CTL" top "$T/cpu.pb.gz" | grep -Eq '^ +[0-9.]+s +[0-9.]+% .* inl_helper \(inline\)$' ||
	fail "no inline frame"

# plain protobuf, and gzip in two members, read the same
gzip -dc "$T/cpu.pb.gz" >"$T/plain.pb"
n=$(stat -c %s "$T/plain.pb")
{ head -c $((n / 3)) "$T/plain.pb" | gzip; tail -c +$((n / 3 + 1)) "$T/plain.pb" | gzip; } >"$T/multi.pb.gz"
"$CTL" top "$T/cpu.pb.gz" >"$T/a.txt" || fail "top cpu"
for f in plain.pb multi.pb.gz; do
	"$CTL" top "$T/$f" >"$T/b.txt" || fail "top $f"
	cmp -s "$T/a.txt" "$T/b.txt" || fail "$f does not read as the gzip file does"
done
ok "plain and multi-member gzip files"

# several files merged, as pprof merges them: a window's files of a
# process, and two different profiles of one kind
"$T/gen" cpu-small "$T/cpu2.pb.gz" || fail "gen cpu-small"
compare "$T/cpu.pb.gz $T/plain.pb" --nodefraction=0 -- -nodefraction=0
compare "$T/cpu.pb.gz $T/cpu2.pb.gz $T/multi.pb.gz" --
"$CTL" top "$T/cpu.pb.gz" "$T/heap.pb.gz" >/dev/null 2>"$T/err" && fail "a cpu and a heap profile merged"
grep -q 'do not merge' "$T/err" || fail "kinds that do not merge: $(cat "$T/err")"

# --- flamegraph ------------------------------------------------------------
"$CTL" flamegraph "$T/cpu.pb.gz" -o "$T/cpu.svg" 2>"$T/fg.err" || fail "flamegraph: $(cat "$T/fg.err")"
xmllint --noout "$T/cpu.svg" || fail "the SVG is not well-formed XML"
grep -q '<script type="text/ecmascript"><!\[CDATA\[' "$T/cpu.svg" || fail "no inline script"
grep -Eq '(href|src)="(http|//)' "$T/cpu.svg" && fail "an external resource in the SVG"
# every function pprof shows is drawn (the file is capped; these are not tiny)
pprof -top -symbolize=none "$T/cpu.pb.gz" 2>/dev/null | values /dev/stdin | cut -f1 |
	grep -E '^[A-Za-z0-9_]+$' >"$T/names.txt"
[ "$(wc -l <"$T/names.txt")" -gt 10 ] || fail "too few names"
while read -r name; do
	grep -q "<title>$name (" "$T/cpu.svg" || fail "function $name not in the flame graph"
done <"$T/names.txt"
grep -q '<title>a&lt;b&gt;&amp;c (' "$T/cpu.svg" || fail "a hostile name is not escaped"
grep -q '<script>alert' "$T/cpu.svg" && fail "a name's markup reached the SVG"
grep -q 'fill="hsl(2[0-2][0-9],' "$T/cpu.svg" || fail "kernel frames have no hue of their own"
# the widest root-level frame (depth 1, above "all") has pprof's cum share
read -r fw fname total px < <(python3 - "$T/cpu.svg" <<'EOF'
import re, sys
svg = open(sys.argv[1], encoding="utf-8").read()
total = int(re.search(r'data-total="(\d+)"', svg).group(1))
best = None
for m in re.finditer(r'<g class="f" data-x="\d+" data-w="(\d+)" data-d="1"><title>([^<]*) \([^<]*</title><rect [^>]*width="([\d.]+)"', svg):
    w = int(m.group(1))
    if best is None or w > best[0]:
        best = (w, m.group(2), float(m.group(3)))
print(best[0], best[1], total, best[2])
EOF
)
cum=$(pprof -top -symbolize=none -nodefraction=0 -unit=ns "$T/cpu.pb.gz" 2>/dev/null |
	awk -v n="$fname" '$6 == n && NF == 6 { sub(/ns$/, "", $4); print $4 }')
[ -n "$cum" ] || fail "no pprof cum for $fname"
total_go=$(pprof -top -symbolize=none -unit=ns "$T/cpu.pb.gz" 2>/dev/null |
	sed -n 's/.* of \([0-9]*\)ns total/\1/p')
[ "$fw" = "$cum" ] || fail "root frame $fname: width $fw, pprof's cum $cum"
[ "$total" = "$total_go" ] || fail "flame graph total $total, pprof's $total_go"
awk -v px="$px" -v w="$fw" -v t="$total" 'BEGIN { d = px / 1180 - w / t; exit !(d < 0.001 && d > -0.001) }' ||
	fail "root frame $fname drawn $px px wide for a share of $fw/$total"
ok "flamegraph: well-formed, every function, $fname at $fw/$total = ${px}px of 1180"

"$CTL" flamegraph "$T/heap.pb.gz" --sample-index=alloc_space -o "$T/heap.svg" || fail "heap flamegraph"
xmllint --noout "$T/heap.svg" || fail "heap SVG is not well-formed"
grep -q 'B, [0-9.]*%)</title>' "$T/heap.svg" || fail "heap flame graph values are not bytes"

# --- broken input ----------------------------------------------------------
head -c 4096 /dev/urandom >"$T/garbage"
printf 'hello, I am not a profile\n' >"$T/text"
: >"$T/empty"
head -c $(($(stat -c %s "$T/cpu.pb.gz") / 2)) "$T/cpu.pb.gz" >"$T/truncated.pb.gz"
{ cat "$T/cpu.pb.gz"; printf 'trailing junk'; } >"$T/junk.pb.gz"
head -c 1000 "$T/plain.pb" >"$T/truncated.pb"
bad=(garbage text empty truncated.pb.gz junk.pb.gz truncated.pb missing)
for how in bad-location bad-function bad-mapping bad-string dup-id zero-id bad-values; do
	"$T/gen" "$how" "$T/$how.pb" || fail "gen $how"
	# (pprof takes an unknown mapping id for "no mapping"; we refuse it)
	[ $how = bad-mapping ] || ! pprof -top "$T/$how.pb" >/dev/null 2>&1 ||
		fail "pprof reads $how: not a broken profile"
	bad+=("$how.pb")
done
for f in "${bad[@]}" /; do
	[ "$f" = / ] && p=/ || p=$T/$f
	for cmd in top flamegraph; do
		if [ $cmd = top ]; then
			"$CTL" top "$p" >/dev/null 2>"$T/err"
		else
			"$CTL" flamegraph "$p" -o "$T/bad.svg" >/dev/null 2>"$T/err"
		fi
		rc=$?
		[ $rc -eq 1 ] || { cat "$T/err" >&2; fail "$cmd $f: exit $rc, want 1"; }
		grep -q "^pprofctl $cmd: cannot read $p: ..." "$T/err" ||
			{ cat "$T/err" >&2; fail "$cmd $f: unclear error"; }
		grep -qE 'Sanitizer|runtime error' "$T/err" && { cat "$T/err" >&2; fail "$cmd $f: sanitizer"; }
	done
	[ -e "$T/bad.svg" ] && fail "flamegraph left an SVG for $f"
	echo "  $f: $(cat "$T/err")"
done
ok "broken files: clear errors, exit 1"

# --- what pprofd wrote, chosen by process and age ----------------------------
# OUTPUT_DIR/<comm>-<pid>/<kind>-<time>.pb.gz: two recent windows and an old
# one of xz, one of another process, a heap file of xz
O=$T/out
mkdir -p "$O/xz-100" "$O/xz-200" "$O/python3-300" "$O/xz-short"
cp "$T/cpu.pb.gz" "$O/xz-100/cpu-20261207T100000Z.pb.gz"
cp "$T/cpu2.pb.gz" "$O/xz-200/cpu-20261207T100100Z.pb.gz"
cp "$T/cpu.pb.gz" "$O/xz-100/cpu-20261207T080000Z.pb.gz"
touch -d '2 hours ago' "$O/xz-100/cpu-20261207T080000Z.pb.gz"
cp "$T/cpu.pb.gz" "$O/python3-300/cpu-20261207T100000Z.pb.gz"
cp "$T/heap.pb.gz" "$O/xz-100/heap-20261207T100000Z.pb.gz"
cp "$T/cpu2.pb.gz" "$O/xz-short/cpu-20261207T100200Z.pb.gz"   # short-lived xz processes
"$CTL" top --dir "$O" --comm xz --since 1h >"$T/sel.txt" || fail "top --comm xz --since 1h"
"$CTL" top "$O/xz-100/cpu-20261207T100000Z.pb.gz" "$O/xz-200/cpu-20261207T100100Z.pb.gz" \
	"$O/xz-short/cpu-20261207T100200Z.pb.gz" >"$T/want.txt"
diff "$T/want.txt" "$T/sel.txt" || fail "--comm xz --since 1h is not the recent xz windows (and short-lived xz) merged"
"$CTL" top --dir "$O" --comm xz >"$T/sel3.txt" || fail "top --comm xz"
"$CTL" top "$O"/xz-[0-9s]*/cpu-*.pb.gz >"$T/want3.txt"
diff "$T/want3.txt" "$T/sel3.txt" || fail "--comm xz is not every xz window merged"
"$CTL" flamegraph --dir "$O" --pid 200 | xmllint --noout - || fail "flamegraph --pid 200"
"$CTL" top --dir "$O" --comm xz --kind heap | grep -q '^Type: inuse_space' || fail "--kind heap"
"$CTL" top --dir "$O" --comm nginx 2>"$T/err"; [ $? -eq 1 ] || fail "no such process's files: want exit 1"
grep -q "no cpu profile of nginx in $O" "$T/err" || fail "no files: $(cat "$T/err")"
"$CTL" top --dir "$O" --since 1h 2>"$T/err"; [ $? -eq 2 ] || fail "--since alone: want exit 2"
"$CTL" top --dir "$O" --comm xz "$T/cpu.pb.gz" 2>"$T/err"; [ $? -eq 2 ] || fail "files and --comm: want exit 2"
"$CTL" top --comm xz --since 1y 2>"$T/err"; [ $? -eq 2 ] && grep -q -- "--since wants" "$T/err" || fail "--since 1y: $(cat "$T/err")"
ok "top/flamegraph --comm/--pid/--since/--kind over pprofd's output directory"

# --- usage -----------------------------------------------------------------
"$CTL" top --help | grep -q 'Usage: pprofctl top' || fail "top --help"
"$CTL" flamegraph --help | grep -q 'Usage: pprofctl flamegraph' || fail "flamegraph --help"
"$CTL" top >/dev/null 2>&1; [ $? -eq 2 ] || fail "top without a file: want exit 2"
"$CTL" flamegraph "$T/cpu.pb.gz" | xmllint --noout - || fail "flamegraph to a pipe: not an SVG"
"$CTL" flamegraph "$T/cpu.pb.gz" "$T/plain.pb" | grep -q '<svg' || fail "flamegraph of two files"
# to a terminal, without -o: refused (script gives it one)
script -qec "$CTL flamegraph $T/cpu.pb.gz" /dev/null >"$T/tty.out" 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q 'give -o' "$T/tty.out" || fail "flamegraph to a terminal: rc $rc, $(head -c 300 "$T/tty.out")"
# graphviz, for go tool pprof -http and -svg (make deps installs it)
pprof -svg "$T/cpu.pb.gz" >"$T/dot.svg" 2>"$T/dot.err" && grep -q '<svg' "$T/dot.svg" ||
	fail "go tool pprof -svg: $(head -3 "$T/dot.err")"
"$CTL" top --sample-index=nope "$T/cpu.pb.gz" 2>"$T/err"; [ $? -eq 1 ] || fail "a bad sample index: want exit 1"
grep -q 'must be one of: samples cpu' "$T/err" || fail "a bad sample index: $(cat "$T/err")"
"$CTL" flamegraph "$T/cpu.pb.gz" -o /nonexistent/dir/x.svg 2>"$T/err"; [ $? -eq 1 ] || fail "unwritable output: want exit 1"
grep -q 'cannot write /nonexistent/dir/x.svg' "$T/err" || fail "unwritable output: $(cat "$T/err")"
ok "usage and errors"
