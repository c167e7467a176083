#!/bin/sh
# Regenerates tests/fuzz/seeds-debuglink/: a tiny stripped binary (with a
# build ID, or without one so that the CRC of .gnu_debuglink decides) and
# its debug file, packed as fuzz_debuglink reads them (a flags byte saying
# where the debug file goes, the binary's length, the binary, the debug
# file), one seed per place and kind of file; and a binary that keeps its
# .symtab, whose DWARF is found by build ID.
. "$(dirname "$0")/seeds_common.sh"
seeds_dir debuglink
cd "$tmp"
cat > tiny.c <<'SRC'
int sink;
static inline int twice(int x) { return 2 * x + sink; }
__attribute__((noinline)) int a1(int x) { return twice(x) + 1; }
void _start(void) { sink = a1(sink); for (;;); }
SRC
for v in bid nobid; do
	[ $v = bid ] && id=--build-id || id=--build-id=none
	gcc -g -O1 -nostdlib -static -Wl,$id -Wl,-n tiny.c -o $v 2>/dev/null
	objcopy --only-keep-debug $v $v.debug
	strip -s -o $v.stripped $v
	objcopy --add-gnu-debuglink=$v.debug $v.stripped
done
strip -g -o bid.symtab bid
# pack FLAGS BINARY DEBUG NAME
pack() {
	python3 - "$@" <<'PY'
import struct, sys
flags, binary, debug, name = int(sys.argv[1], 0), sys.argv[2], sys.argv[3], sys.argv[4]
b, d = open(binary, 'rb').read(), open(debug, 'rb').read()
open(name, 'wb').write(struct.pack('<BH', flags, len(b)) + b + d)
PY
}
pack 0x00 bid.stripped bid.debug "$out/build-id"
pack 0x01 bid.stripped bid.debug "$out/link-dir"
pack 0x0a bid.stripped bid.debug "$out/link-dot-debug-host"
pack 0x0b bid.stripped bid.debug "$out/link-usr-lib-debug-host"
pack 0x01 nobid.stripped nobid.debug "$out/crc-dir"
pack 0x03 nobid.stripped nobid.debug "$out/crc-usr-lib-debug"
pack 0x00 bid.symtab bid.debug "$out/dwarf-build-id"
pack 0x11 bid.stripped bid.debug "$out/hard-link"
pack 0x21 bid.stripped bid.debug "$out/fifo"
pack 0x31 nobid.stripped nobid.debug "$out/symlink"
ls -l "$out"
