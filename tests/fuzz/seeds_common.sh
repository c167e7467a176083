# Sourced by the make_*_seeds.sh scripts: `seeds_dir NAME` sets $out to
# tests/fuzz/seeds-NAME (made if missing) and $tmp to a scratch directory
# removed at exit.
set -eu
seeds_dir() {
	out=$(cd "$(dirname "$0")" && pwd)/seeds-$1
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$out"
}
