#!/usr/bin/env bash
# build.sh OUT: builds main.go against the google/pprof and demangle
# sources in GOROOT/src/cmd/vendor, offline, into OUT.
set -euo pipefail
out=$(realpath -m "$1")
here=$(cd "$(dirname "$0")" && pwd)
vendor=$(go env GOROOT)/src/cmd/vendor/github.com
work=$out.src
rm -rf "$work"
mkdir -p "$work/main"
cp -r "$vendor/google/pprof" "$work/pprof"
cp -r "$vendor/ianlancetaylor/demangle" "$work/demangle"
printf 'module github.com/ianlancetaylor/demangle\n\ngo 1.19\n' >"$work/demangle/go.mod"
printf '%s\n' 'module github.com/google/pprof' '' 'go 1.19' '' \
	'require github.com/ianlancetaylor/demangle v0.0.0' '' \
	'replace github.com/ianlancetaylor/demangle => ../demangle' >"$work/pprof/go.mod"
printf '%s\n' 'module google_pprof' '' 'go 1.19' '' \
	'require (' '	github.com/google/pprof v0.0.0' '	github.com/ianlancetaylor/demangle v0.0.0' ')' '' \
	'replace github.com/google/pprof => ../pprof' '' \
	'replace github.com/ianlancetaylor/demangle => ../demangle' >"$work/main/go.mod"
cp "$here/main.go" "$work/main/"
cd "$work/main"
GOFLAGS=-mod=mod GOPROXY=off GOCACHE="$work/cache" go build -o "$out" .
rm -rf "$work"
