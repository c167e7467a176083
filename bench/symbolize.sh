#!/bin/sh
# Symbolization benchmark (SPEC §6): bench/symbolize.sh BUILD_DIR [FILE]
# FILE defaults to /usr/bin/node when it is a large binary, else libnode,
# else libLLVM; llvm-symbolizer and addr2line run on the same addresses.
set -eu
build=${1:-build}
file=${2:-}
if [ -z "$file" ]; then
	for f in /usr/bin/node /usr/lib/x86_64-linux-gnu/libnode.so.* \
		/usr/lib/x86_64-linux-gnu/libLLVM-14.so.1 /usr/lib/x86_64-linux-gnu/libLLVM-*.so.1; do
		# Debian's own node is a small launcher for libnode: skip it.
		if [ -f "$f" ] && [ "$(stat -c %s "$f")" -gt 20000000 ]; then
			file=$f
			break
		fi
	done
fi
if [ -z "$file" ]; then
	echo "no large binary found (apt-get install -y nodejs, or pass a FILE)" >&2
	exit 2
fi
if [ -z "${LLVM_SYMBOLIZER:-}" ]; then
	for s in llvm-symbolizer llvm-symbolizer-16 llvm-symbolizer-15 llvm-symbolizer-14; do
		if command -v "$s" >/dev/null; then
			LLVM_SYMBOLIZER=$s
			break
		fi
	done
fi
export LLVM_SYMBOLIZER=${LLVM_SYMBOLIZER:-llvm-symbolizer}
# bench/run.sh calls this directly: build the benchmark when it is missing.
if [ ! -x "$build/bench/symbolize" ]; then
	make --no-print-directory -C "$(dirname "$0")/.." "$build/bench/symbolize" >&2
fi
exec "$build/bench/symbolize" -n 100000 -m 2000 "$file"
