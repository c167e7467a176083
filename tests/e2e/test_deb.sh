#!/usr/bin/env bash
# asan: no
# The Debian package (issue 18): `make deb` builds build/pprofd_<v>_amd64.deb
# (reused when newer than every file of the tree), lintian finds no error
# or warning in it; `dpkg -i` puts every file in its place, the config a
# conffile, the unit enabled the Debian way (on a host without systemd
# running, its start a no-op), and the programs run; a rebuilt package of
# a higher version, its example config changed, upgrades it keeping the
# edited config (the new one beside it); `dpkg -r` leaves the config and
# the profiles, `dpkg -P` takes them and the unit's enablement, so that the
# host is as it was. A host that has pprofd installed already is skipped:
# not the test's to touch.
. "$(dirname "$0")/lib.sh"
export DEBIAN_FRONTEND=noninteractive
ARCH=$(dpkg --print-architecture)
V1=$(cd "$ROOT" && dpkg-parsechangelog -S Version)
V2=$V1+test1
START=$(date +%s)

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "dpkg -i needs root"
for t in dpkg-buildpackage dh lintian fakeroot; do
	command -v "$t" >/dev/null || skip "$t is missing (make deps installs it)"
done
state=$(dpkg-query -W -f='${db:Status-Abbrev}' pprofd 2>/dev/null)
[ -z "$state" ] || [ "$state" = "un " ] ||
	skip "a pprofd package is on this host ($state $(dpkg-query -W -f='${Version}' pprofd)): not the test's to upgrade or purge"
for f in /etc/pprofd /var/lib/pprofd /usr/sbin/pprofd /usr/bin/pprofctl /usr/lib/pprofd \
	/lib/systemd/system/pprofd.service /etc/systemd/system/pprofd.service \
	/etc/systemd/system/multi-user.target.wants/pprofd.service; do
	[ -e "$f" ] || [ -L "$f" ] && skip "$f exists: the package would overwrite or purge it"
done

# what the package's scripts may touch, as it is now (compared after purge)
host_state() {
	find /etc/systemd /var/lib/systemd/deb-systemd-helper-enabled \
		/var/lib/systemd/deb-systemd-helper-masked /var/lib/systemd/deb-systemd-user-helper-enabled \
		/etc/pprofd /var/lib/pprofd /usr/lib/pprofd /usr/share/doc/pprofd 2>/dev/null | sort
}
host_state >"$T/before"

INSTALLED=
purge_on_exit() {
	if [ -n "$INSTALLED" ]; then
		dpkg -P pprofd >"$T/purge.out" 2>&1 || cat "$T/purge.out"
	fi
	cleanup
}
trap purge_on_exit EXIT

# 1. the package: reused if newer than every file of the tree, else built
DEB=$ROOT/build/pprofd_${V1}_$ARCH.deb
CHANGES=$ROOT/build/deb/pprofd_${V1}_$ARCH.changes
newest=$(cd "$ROOT" && git ls-files -z -co --exclude-standard | xargs -0 stat -c %Y 2>/dev/null | sort -n | tail -1)
# the second one, from a copy of the tree (working-tree state) with a
# changelog entry of a higher version and a changed example config, is
# built meanwhile
mkdir -p "$T/src2"
(cd "$ROOT" && git ls-files -z -co --exclude-standard |
	tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$T/src2"
{
	printf 'pprofd (%s) unstable; urgency=medium\n\n  * A rebuild to test upgrades.\n\n' "$V2"
	printf ' -- %s  %s\n\n' "$(cd "$ROOT" && dpkg-parsechangelog -S Maintainer)" "$(date -R)"
	cat "$ROOT/debian/changelog"
} >"$T/src2/debian/changelog"
echo "# a line the upgrade's example config has" >>"$T/src2/systemd/pprofd.conf"
make -C "$ROOT" --no-print-directory deps >/dev/null || fail "make deps failed"
make -C "$T/src2" --no-print-directory deb >"$T/deb2.out" 2>&1 &
BUILD2=$!
if [ -f "$DEB" ] && [ -f "$CHANGES" ] && [ "$(stat -c %Y "$DEB")" -ge "$newest" ]; then
	ok "reusing $DEB (newer than every file of the tree)"
else
	t0=$(date +%s)
	make -C "$ROOT" --no-print-directory deb >"$T/deb1.out" 2>&1 || { cat "$T/deb1.out"; fail "make deb failed"; }
	[ -f "$DEB" ] || { cat "$T/deb1.out"; fail "make deb made no $DEB"; }
	ok "make deb: build/$(basename "$DEB") in $(($(date +%s) - t0)) s"
fi
# what dpkg-buildpackage makes where it runs, and beside: only in build/deb/
for f in debian/pprofd debian/.debhelper debian/files debian/debhelper-build-stamp \
	debian/pprofd.substvars debian/pprofd.debhelper.log ../pprofd_"$V1"_"$ARCH".deb \
	../pprofd_"$V1"_"$ARCH".changes ../pprofd_"$V1"_"$ARCH".buildinfo; do
	[ ! -e "$ROOT/$f" ] || fail "make deb left $f in the tree"
done

# 2. lintian: no error, no warning (on the .changes: the .deb, its dbgsym
# package, the .buildinfo)
lintian --fail-on error,warning --display-info "$CHANGES" >"$T/lintian.out" 2>&1 ||
	{ cat "$T/lintian.out"; fail "lintian --fail-on error,warning $(basename "$CHANGES")"; }
grep -E '^[EW]: ' "$T/lintian.out" && fail "lintian complained"
ok "lintian --fail-on error,warning: clean; at info level: $(sed -n 's/^I: //p' "$T/lintian.out" | tr '\n' ';')"

# 3. install
INSTALLED=1
dpkg -i "$DEB" </dev/null >"$T/install.out" 2>&1 || { cat "$T/install.out"; fail "dpkg -i $(basename "$DEB") failed"; }
[ "$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' pprofd)" = "ii $V1" ] ||
	fail "pprofd $V1 is not installed: $(dpkg-query -W -f='${db:Status-Abbrev}${Version}' pprofd)"
files=(/usr/sbin/pprofd /usr/bin/pprofctl /usr/lib/pprofd/libpprofd_heap.so
	/lib/systemd/system/pprofd.service /etc/pprofd/pprofd.conf
	/usr/share/man/man8/pprofd.8.gz /usr/share/man/man1/pprofctl.1.gz
	/usr/share/man/man5/pprofd.conf.5.gz /usr/share/doc/pprofd/README.md
	/usr/share/doc/pprofd/copyright /usr/share/doc/pprofd/changelog.gz)
for f in "${files[@]}"; do [ -f "$f" ] || fail "$f is not installed"; done
[ -x /usr/sbin/pprofd ] && [ -x /usr/bin/pprofctl ] || fail "the programs are not executable"
dpkg-query -W -f='${Conffiles}\n' pprofd | grep -q '^ /etc/pprofd/pprofd.conf ' ||
	fail "/etc/pprofd/pprofd.conf is not a conffile: $(dpkg-query -W -f='${Conffiles}' pprofd)"
cmp -s /etc/pprofd/pprofd.conf "$ROOT/systemd/pprofd.conf" || fail "the installed config is not systemd/pprofd.conf"
[ "$(/usr/sbin/pprofd --version)" = "pprofd $V1" ] || fail "pprofd --version: $(/usr/sbin/pprofd --version)"
[ "$(pprofctl --version)" = "pprofctl $V1" ] || fail "pprofctl --version: $(pprofctl --version)"
pprofctl --help | grep -q flamegraph || fail "pprofctl --help"
/usr/sbin/pprofd --check-config >"$T/check.out" 2>&1 || fail "the installed config: $(cat "$T/check.out")"
grep -q '^ExecStart=/usr/sbin/pprofd ' /lib/systemd/system/pprofd.service || fail "ExecStart is not /usr/sbin/pprofd"
systemd-analyze verify /lib/systemd/system/pprofd.service >"$T/verify.out" 2>&1 && [ ! -s "$T/verify.out" ] ||
	{ cat "$T/verify.out"; fail "the installed unit does not verify"; }
for p in pprofd pprofctl pprofd.conf; do
	man -w "$p" 2>/dev/null | grep -q '^/usr/share/man/' || fail "man -w $p: $(man -w "$p" 2>&1)"
done
man pprofd.conf 2>/dev/null | grep -q 'heap_target' || fail "man pprofd.conf does not render"
readelf -n /usr/lib/pprofd/libpprofd_heap.so | grep -q 'Name: alloc' ||
	fail "libpprofd_heap.so lost its USDT probes (stripped?)"
# enabled the Debian way; started only where systemd runs
[ -L /etc/systemd/system/multi-user.target.wants/pprofd.service ] || fail "the unit is not enabled"
[ -e /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/pprofd.service ] ||
	fail "deb-systemd-helper has no record of enabling the unit"
if [ -d /run/systemd/system ]; then
	systemctl is-active --quiet pprofd || fail "systemd runs, and pprofd was not started"
	started="started"
else
	started="not started: no systemd running here ($(cat /proc/1/comm) is PID 1), the start a no-op"
fi
ok "dpkg -i: ${#files[@]} files in place, the config a conffile, pprofd $V1 runs, man pages found, the unit enabled, $started"

# 4. upgrade, the config edited, the profiles there
echo "# edited by test_deb" >>/etc/pprofd/pprofd.conf
cp /etc/pprofd/pprofd.conf "$T/edited.conf"
mkdir -m 0700 /var/lib/pprofd && mkdir -m 0700 /var/lib/pprofd/sh-1 &&
	echo profile >/var/lib/pprofd/sh-1/cpu-20260101T000000Z.pb.gz
wait "$BUILD2" || { cat "$T/deb2.out"; fail "make deb of $V2 failed"; }
DEB2=$T/src2/build/pprofd_${V2}_$ARCH.deb
[ -f "$DEB2" ] || { cat "$T/deb2.out"; fail "no $DEB2"; }
dpkg -i --force-confdef --force-confold "$DEB2" </dev/null >"$T/upgrade.out" 2>&1 ||
	{ cat "$T/upgrade.out"; fail "dpkg -i (upgrade to $V2) failed"; }
[ "$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' pprofd)" = "ii $V2" ] || fail "not upgraded to $V2"
[ "$(/usr/sbin/pprofd --version)" = "pprofd $V2" ] || fail "pprofd --version after the upgrade: $(/usr/sbin/pprofd --version)"
cmp -s /etc/pprofd/pprofd.conf "$T/edited.conf" || fail "the upgrade did not keep the edited config"
grep -q "a line the upgrade's example config has" /etc/pprofd/pprofd.conf.dpkg-dist ||
	fail "the upgrade's config is not beside it as pprofd.conf.dpkg-dist"
[ -f /var/lib/pprofd/sh-1/cpu-20260101T000000Z.pb.gz ] || fail "the upgrade lost the profiles"
[ -L /etc/systemd/system/multi-user.target.wants/pprofd.service ] || fail "the upgrade disabled the unit"
ok "upgrade to $V2: the edited config kept (the new one as pprofd.conf.dpkg-dist), profiles kept, still enabled"

# 5. remove: the programs go, the config and the profiles stay
dpkg -r pprofd </dev/null >"$T/remove.out" 2>&1 || { cat "$T/remove.out"; fail "dpkg -r failed"; }
[ "$(dpkg-query -W -f='${db:Status-Abbrev}' pprofd)" = "rc " ] || fail "after dpkg -r: $(dpkg-query -W -f='${db:Status-Abbrev}' pprofd)"
for f in "${files[@]}"; do
	case $f in /etc/*) continue ;; esac
	[ ! -e "$f" ] || fail "dpkg -r left $f"
done
cmp -s /etc/pprofd/pprofd.conf "$T/edited.conf" || fail "dpkg -r took the config"
[ -f /var/lib/pprofd/sh-1/cpu-20260101T000000Z.pb.gz ] || fail "dpkg -r took the profiles"
ok "dpkg -r: the programs, unit, man pages gone; the config and the profiles stay"

# 6. purge: the config, the state directory, the unit's enablement
dpkg -P pprofd </dev/null >"$T/purge.out" 2>&1 || { cat "$T/purge.out"; fail "dpkg -P failed"; }
INSTALLED=
state=$(dpkg-query -W -f='${db:Status-Abbrev}' pprofd 2>/dev/null)
[ -z "$state" ] || [ "$state" = "un " ] || fail "after dpkg -P: '$state'"
for f in /etc/pprofd /var/lib/pprofd /usr/lib/pprofd /usr/share/doc/pprofd; do
	[ ! -e "$f" ] || fail "dpkg -P left $f: $(find "$f" | head -5)"
done
host_state >"$T/after"
diff "$T/before" "$T/after" >"$T/diff" || { cat "$T/diff"; fail "the host is not as it was before the install"; }
ok "dpkg -P: config, /var/lib/pprofd and the unit's enablement gone; the host as it was"
ok "test_deb took $(($(date +%s) - START)) s"
