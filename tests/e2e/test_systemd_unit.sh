#!/usr/bin/env bash
# The unit (SPEC §7): `systemd-analyze verify` passes, and the offline
# security analysis scores at most 2.5. No systemd PID 1 is needed: verify
# a copy whose ExecStart is the built binary (the installed one may not be
# there), and score the file as it is shipped.
. "$(dirname "$0")/lib.sh"
UNIT=$ROOT/systemd/pprofd.service
MAX_SCORE=2.5

command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (Debian package systemd)"
grep -q '^ExecStart=/usr/local/sbin/pprofd ' "$UNIT" || fail "ExecStart is not /usr/local/sbin/pprofd (make install rewrites that path)"

# 1. verify, with the paths of this build
mkdir -p "$T/unit"
sed "s|/usr/local/sbin/pprofd|$PPROFD|g" "$UNIT" >"$T/unit/pprofd.service"
systemd-analyze verify "$T/unit/pprofd.service" >"$T/verify.out" 2>&1 ||
	{ cat "$T/verify.out"; fail "systemd-analyze verify failed"; }
[ ! -s "$T/verify.out" ] || { cat "$T/verify.out"; fail "systemd-analyze verify complained"; }
ok "systemd-analyze verify: clean"

# 2. the exposure score
systemd-analyze security --offline=yes --no-pager "$UNIT" >"$T/security.out" 2>&1
score=$(sed -n 's/.*Overall exposure level for pprofd.service: \([0-9.]*\).*/\1/p' "$T/security.out")
[ -n "$score" ] || { cat "$T/security.out"; fail "no overall exposure level in the analysis"; }
python3 -c "import sys; sys.exit(0 if $score <= $MAX_SCORE else 1)" ||
	{ grep '✗' "$T/security.out"; fail "exposure $score is above $MAX_SCORE"; }
ok "systemd-analyze security --offline=yes: $score (at most $MAX_SCORE)"

# 3. what the README says is what the unit has
grep -q "exposure level.*$score" "$ROOT/README.md" || fail "the README does not record the score $score"
for cap in $(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT"); do
	grep -q "\`$cap\`" "$ROOT/README.md" || fail "the README does not explain $cap"
done
ok "the README records the score and explains every capability"
