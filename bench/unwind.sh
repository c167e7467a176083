#!/bin/sh
# Unwinding benchmark: bench/unwind.sh BUILD_DIR [FILE]
# The time to load FILE's CFI table (default libc) and to unwind one real
# stack through libc from a ustack record (see bench/unwind.c).
set -eu
build=${1:-build}
shift || true
if [ ! -x "$build/bench/unwind" ]; then
	make --no-print-directory -C "$(dirname "$0")/.." "$build/bench/unwind" >&2
fi
exec "$build/bench/unwind" "$@"
