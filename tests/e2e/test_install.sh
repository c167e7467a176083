#!/usr/bin/env bash
# `make install` (SPEC §2) into a DESTDIR, with PREFIX honoured: binaries,
# the unit (ExecStart at the installed binary, where systemd looks for
# units), the man pages, the example config in /etc/pprofd; the installed
# programs run, the installed config passes --check-config, the installed
# unit verifies; a second install keeps an edited config.
. "$(dirname "$0")/lib.sh"

install_to() { # DESTDIR PREFIX
	make -C "$ROOT" --no-print-directory install DESTDIR="$1" PREFIX="$2" >"$T/make.out" 2>&1 ||
		{ cat "$T/make.out"; fail "make install DESTDIR=$1 PREFIX=$2 failed"; }
}

check_tree() { # DESTDIR PREFIX UNITDIR
	local d=$1 p=$2 unit=$1$3/pprofd.service f
	for f in "$p/sbin/pprofd" "$p/bin/pprofctl"; do
		[ -x "$d$f" ] || fail "$f not installed (PREFIX=$p)"
	done
	for f in "$3/pprofd.service" /etc/pprofd/pprofd.conf "$p/share/doc/pprofd/README.md" \
		"$p/share/man/man8/pprofd.8" "$p/share/man/man1/pprofctl.1" "$p/share/man/man5/pprofd.conf.5"; do
		[ -f "$d$f" ] || fail "$f not installed (PREFIX=$p)"
	done
	[ "$(stat -c %a "$unit")" = 644 ] || fail "the unit's mode is $(stat -c %a "$unit")"
	[ "$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")" = "$p/sbin/pprofd" ] ||
		fail "ExecStart is not $p/sbin/pprofd: $(grep ^ExecStart "$unit")"
	grep '^ExecReload=' "$unit" | grep -v "^ExecReload=$p/sbin/pprofd \|^ExecReload=/bin/kill " &&
		fail "ExecReload names a binary not installed"
	grep -q "^Documentation=file:$p/share/doc/pprofd/README.md$" "$unit" || fail "Documentation= not at $p"
	# the unit as installed verifies, its binary seen at the DESTDIR path
	sed "s|$p/sbin/pprofd|$d$p/sbin/pprofd|g" "$unit" >"$T/verify.service"
	systemd-analyze verify "$T/verify.service" >"$T/verify.out" 2>&1 && [ ! -s "$T/verify.out" ] ||
		{ cat "$T/verify.out"; fail "the installed unit does not verify"; }
	"$d$p/sbin/pprofd" --help >"$T/help1" || fail "pprofd --help exited non-zero"
	"$d$p/bin/pprofctl" --help >"$T/help2" || fail "pprofctl --help exited non-zero"
	grep -q -- '--config' "$T/help1" && grep -q 'profile' "$T/help2" || fail "--help texts lack their options"
	"$d$p/sbin/pprofd" --config "$d/etc/pprofd/pprofd.conf" --check-config >/dev/null ||
		fail "the installed config does not pass --check-config"
}

# 1. PREFIX=/usr/local: the unit in /usr/local/lib/systemd/system
install_to "$T/d1" /usr/local
check_tree "$T/d1" /usr/local /usr/local/lib/systemd/system
cmp -s "$T/d1/etc/pprofd/pprofd.conf" "$ROOT/systemd/pprofd.conf" || fail "the config is not the example"
ok "PREFIX=/usr/local: $(cd "$T/d1" && find . -type f | sort | tr '\n' ' ')"

# 2. PREFIX=/opt/pprofd: the unit in /etc/systemd/system, ExecStart rewritten
install_to "$T/d2" /opt/pprofd
check_tree "$T/d2" /opt/pprofd /etc/systemd/system
ok "PREFIX=/opt/pprofd: ExecStart=$(sed -n 's/^ExecStart=//p' "$T/d2/etc/systemd/system/pprofd.service")"

# 3. again over an edited config: kept, the new example beside it
echo "interval = 30" >>"$T/d1/etc/pprofd/pprofd.conf"
install_to "$T/d1" /usr/local
tail -1 "$T/d1/etc/pprofd/pprofd.conf" | grep -qx 'interval = 30' || fail "make install overwrote an edited config"
cmp -s "$T/d1/etc/pprofd/pprofd.conf.example" "$ROOT/systemd/pprofd.conf" || fail "no pprofd.conf.example beside it"
ok "an edited config is kept on reinstall"
