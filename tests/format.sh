#!/usr/bin/env bash
# The C of the tree in its style (.clang-format, Debian 12's clang-format 14).
#   tests/format.sh          rewrites the files that are not (make format)
#   tests/format.sh --check  lists them and fails (make test runs it)
set -u
cd "$(dirname "$0")/.."
mapfile -t files < <(find bench bpf client daemon preload tests -name '*.[ch]' | sort)
if [ "${1:-}" = --check ]; then
	bad=()
	for f in "${files[@]}"; do
		clang-format "$f" | cmp -s - "$f" || bad+=("$f")
	done
	[ ${#bad[@]} -eq 0 ] && exit 0
	echo "not in the tree's style (make format rewrites them; clang-format --dry-run FILE shows where):"
	printf '  %s\n' "${bad[@]}"
	exit 1
fi
clang-format -i "${files[@]}"
