#!/usr/bin/env bash
# asan: no
# The man pages (issue 18): pprofd(8), pprofctl(1), pprofd.conf(5) render
# without a warning (groff -ww, and man --warnings as lintian runs it);
# they agree with the programs: every option of `pprofd --help` in
# pprofd(8)'s OPTIONS, every option of `pprofctl --help` in pprofctl(1)'s
# GLOBAL OPTIONS and of `pprofctl CMD --help` in that command's subsection,
# and no page names an option its program does not know (examples
# included); every key of daemon/config.c (each one checked to be known to
# the built pprofd) is in pprofd.conf(5), with the default that
# systemd/pprofd.conf shows, and the page names no key pprofd does not
# know; the page's example config passes --check-config.
. "$(dirname "$0")/lib.sh"
MAN=$ROOT/man
PPROFCTL=$ROOT/$BUILD/pprofctl

# roff MODE PAGE [ARG...]: what a page says, read from its source with the
# escapes and fonts taken out (so that hyphenation and line filling cannot
# hide a name):
#   opts PAGE PROG [SH [SS-WORD]]  the options (--long, -s) named in section
#       SH (all when empty), in the subsection whose title has SS-WORD; in
#       examples (.EX) only on command lines of PROG
#   keys PAGE                      the .TP tags of section KEYS, first word
#   default PAGE KEY               what "Default: X." says in KEY's entry
#   example PAGE                   the first example block of EXAMPLES
#   subsections PAGE SH            the .SS titles of section SH
roff() {
	python3 - "$@" <<'PY'
import re, sys

mode, page = sys.argv[1], sys.argv[2]
args = sys.argv[3:]
ALT = {"BR", "BI", "IB", "IR", "RB", "RI"}


def plain(s):
    s = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", s)
    for a, b in (("\\-", "-"), ("\\~", " "), ("\\&", ""), ("\\%", ""), ("\\|", ""),
                 ("\\(aq", "'"), ("\\(dq", '"'), ("\\(lq", '"'), ("\\(rq", '"'),
                 ("\\e", "\\"), ("\\ ", " ")):
        s = s.replace(a, b)
    return s


def macro_args(rest):
    return [m.group(1).replace('""', '"') if m.group(1) is not None else m.group(2)
            for m in re.finditer(r'"((?:[^"]|"")*)"|(\S+)', rest)]


# (SH, SS, kind, text, in_example): kind is tag for a .TP tag line
lines, sh, ss, tag_next, in_ex = [], "", "", False, False
for raw in open(page, encoding="utf-8").read().split("\n"):
    if raw.startswith('.\\"') or raw.startswith("'\\\""):
        continue
    kind = "tag" if tag_next else "body"
    tag_next = False
    if raw.startswith("."):
        name, _, rest = raw[1:].partition(" ")
        a = [plain(x) for x in macro_args(rest)]
        if name == "SH":
            sh, ss = " ".join(a), ""
            continue
        if name == "SS":
            ss = " ".join(a)
            continue
        if name == "TP":
            tag_next = True
            continue
        if name == "EX":
            in_ex = True
            continue
        if name == "EE":
            in_ex = False
            continue
        if name == "OP":
            text = "[" + " ".join(a) + "]"
        elif name in ALT:
            text = "".join(a)
        elif name in ("B", "I", "SY"):
            text = " ".join(a)
        else:
            text = ""
    else:
        text = plain(raw)
    lines.append((sh, ss, kind, text, in_ex))


def opts(prog, want_sh="", ss_word=""):
    found, cmd, prev_ex = set(), "", False
    for sh, ss, kind, text, ex in lines:
        if want_sh and sh != want_sh:
            continue
        if ss_word and ss_word not in re.split(r"[ ,|]+", ss):
            continue
        if ex:
            # a command line (with its continuations) counts when it is PROG's
            if not (prev_ex and cmd.endswith("\\")):
                cmd = text.strip()
                mine = cmd.split()[:1] == [prog]
            else:
                cmd = text.strip()
            prev_ex = True
            if not mine:
                continue
        else:
            prev_ex = False
        found.update(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text))
        found.update(re.findall(r"(?<![\w-])-[A-Za-z](?![\w-])", text))
    return found


def entries():
    """KEYS' .TP entries: key -> its text"""
    out, key = {}, None
    for sh, ss, kind, text, ex in lines:
        if sh != "KEYS":
            key = None
            continue
        if kind == "tag":
            key = text.split()[0] if text.split() else ""
            out[key] = ""
        elif key is not None:
            out[key] += " " + text
    return out


if mode == "opts":
    print("\n".join(sorted(opts(*args))))
elif mode == "keys":
    print("\n".join(sorted(entries())))
elif mode == "default":
    m = re.search(r"Default: (.*?)\.(?:\s|$)", entries().get(args[0], "") + " ")
    print(m.group(1) if m else "")
elif mode == "example":
    block, started = [], False
    for sh, ss, kind, text, ex in lines:
        if sh == "EXAMPLES" and ex:
            block.append(text)
            started = True
        elif started:
            break
    print("\n".join(block))
elif mode == "subsections":
    print("\n".join(sorted({ss for sh, ss, *_ in lines if sh == args[0] and ss})))
PY
}

# long and short options of a --help text on stdin
help_opts() {
	local t
	t=$(cat)
	{
		grep -oE -- '(^|[^A-Za-z0-9-])--[a-z][a-z0-9-]*' <<<"$t" | grep -oE -- '--[a-z][a-z0-9-]*'
		grep -oE -- '^ +-[A-Za-z],' <<<"$t" | grep -oE -- '-[A-Za-z]'
	} | sort -u
}

# missing WHAT HAVE WANT: fails with the elements of list WANT not in HAVE
missing() {
	local lack
	lack=$(comm -13 <(sort -u <<<"$2") <(sort -u <<<"$3"))
	[ -z "$lack" ] || fail "$1: $(echo $lack)"
}

for p in pprofd.8 pprofctl.1 pprofd.conf.5; do
	[ -f "$MAN/$p" ] || fail "man/$p is missing"
done

# 1. rendered without a warning: groff -ww (man and mandoc macros), and as
# lintian renders them (man --warnings, 80 columns, UTF-8)
for p in pprofd.8 pprofctl.1 pprofd.conf.5; do
	for m in -man -mandoc; do
		out=$(groff -ww -z "$m" "$MAN/$p" 2>&1) || fail "groff $m $p failed: $out"
		[ -z "$out" ] || fail "groff -ww -z $m $p: $out"
	done
	if command -v man >/dev/null; then
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$MAN/$p" 2>&1 >/dev/null)
		[ -z "$out" ] || fail "man --warnings $p: $out"
	fi
done
ok "groff -ww -z: no warnings on the three pages"

# 2a. pprofd: every option of --help in OPTIONS; none unknown anywhere
"$PPROFD" --help >"$T/pprofd.help" || fail "pprofd --help failed"
want=$(help_opts <"$T/pprofd.help")
[ "$(wc -l <<<"$want")" -ge 10 ] || fail "too few options read from pprofd --help: $(echo $want)"
missing "pprofd(8) OPTIONS lacks" "$(roff opts "$MAN/pprofd.8" pprofd OPTIONS)" "$want"
missing "pprofd(8) names options pprofd does not know" "$want" "$(roff opts "$MAN/pprofd.8" pprofd)"
missing "pprofd.conf(5) names options pprofd does not know" "$want" "$(roff opts "$MAN/pprofd.conf.5" pprofd)"
ok "pprofd(8): the $(wc -l <<<"$want") options of pprofd --help, and no other"

# 2b. pprofctl: the global options in GLOBAL OPTIONS, each command's in its
# subsection (the commands read from pprofctl --help)
"$PPROFCTL" --help >"$T/pprofctl.help" || fail "pprofctl --help failed"
all=$(help_opts <"$T/pprofctl.help")
# the global ones: the lines that start with an option (the others are
# the commands' synopses)
global=$(grep -E '^ +-' "$T/pprofctl.help" | help_opts)
[ -n "$global" ] || fail "no global option read from pprofctl --help"
missing "pprofctl(1) GLOBAL OPTIONS lacks" "$(roff opts "$MAN/pprofctl.1" pprofctl "GLOBAL OPTIONS")" "$global"
cmds=$(sed -n '/^Usage/,/^$/d; s/^  \([a-z][a-z|]*\) .*/\1/p' "$T/pprofctl.help" | tr '|' '\n' | sort -u)
[ "$(wc -l <<<"$cmds")" -ge 8 ] || fail "too few commands read from pprofctl --help: $(echo $cmds)"
subs=$(roff subsections "$MAN/pprofctl.1" COMMANDS)
for c in $cmds; do
	grep -qE "(^|[ ,|])$c([ ,|]|$)" <<<"$subs" || fail "pprofctl(1) COMMANDS has no subsection for '$c'"
	"$PPROFCTL" "$c" --help >"$T/cmd.help" || fail "pprofctl $c --help failed"
	copts=$(help_opts <"$T/cmd.help")
	[ -n "$copts" ] || fail "no option read from pprofctl $c --help"
	missing "pprofctl(1), command $c, lacks" "$(roff opts "$MAN/pprofctl.1" pprofctl COMMANDS "$c")" "$copts"
	all+=$'\n'$copts
done
missing "pprofctl(1) names options pprofctl does not know" "$all" "$(roff opts "$MAN/pprofctl.1" pprofctl)"
ok "pprofctl(1): $(echo $cmds | wc -w) commands, each with the options of its --help; $(sort -u <<<"$all" | wc -l) options known, no other named"

# 3. the config keys: daemon/config.c's table, each one known to pprofd
keys=$(sed -n '/^static const struct key keys\[\] = {/,/^};/p' "$ROOT/daemon/config.c" |
	sed -n 's/^[[:space:]]*{ "\([a-z_]*\)",.*/\1/p' | sort -u)
[ "$(wc -l <<<"$keys")" -ge 20 ] || fail "too few keys read from daemon/config.c: $(echo $keys)"
check() { # KEY VALUE: pprofd --check-config's message on a file of that one line
	printf '%s = %s\n' "$1" "$2" >"$T/k.conf"
	"$PPROFD" --config "$T/k.conf" --check-config 2>&1
}
check no_such_key_at_all 1 | grep -q "unknown key 'no_such_key_at_all'" ||
	fail "pprofd --check-config does not report an unknown key as the test expects"
for k in $keys; do
	check "$k" '%bad%' | grep -q "unknown key" && fail "key '$k' read from config.c is unknown to pprofd"
done
documented=$(roff keys "$MAN/pprofd.conf.5")
missing "pprofd.conf(5) lacks keys" "$documented" "$keys"
missing "pprofd.conf(5) documents keys pprofd does not know" "$keys" "$documented"

# the defaults: as systemd/pprofd.conf shows them (every key there,
# commented out at its default; the target lists have none)
for k in $keys; do
	case $k in
	heap_target | lock_target) want=none ;;
	*)
		grep -q "^#$k = " "$ROOT/systemd/pprofd.conf" ||
			fail "systemd/pprofd.conf does not show key $k with its default"
		want=$(sed -n "s/^#$k = \(.*\)/\1/p" "$ROOT/systemd/pprofd.conf" | head -1 | sed 's/^"\(.*\)"$/\1/; s/[[:space:]]*$//')
		[ -n "$want" ] || want=none
		;;
	esac
	have=$(roff default "$MAN/pprofd.conf.5" "$k")
	[ "$have" = "$want" ] || fail "pprofd.conf(5): $k's default is '${have:-not said}', systemd/pprofd.conf says '$want'"
done
roff example "$MAN/pprofd.conf.5" >"$T/example.conf"
grep -q '=' "$T/example.conf" || fail "no example config in pprofd.conf(5)"
"$PPROFD" --config "$T/example.conf" --check-config >"$T/check.out" 2>&1 ||
	fail "pprofd.conf(5)'s example config: $(cat "$T/check.out")"
ok "pprofd.conf(5): the $(wc -l <<<"$keys") keys of config.c with their defaults, and no other; its example passes --check-config"
