#!/bin/sh
# Regenerates tests/fuzz/seeds-dwlines/: tiny ELF files with DWARF (-g -O2,
# an inlined static function; DWARF 4 and 5; compressed sections), small so
# the fuzzer mutates them quickly.
. "$(dirname "$0")/seeds_common.sh"
seeds_dir dwlines
cd "$tmp"
cat > t.c <<'SRC'
int sink;
static inline __attribute__((always_inline)) int in2(int x) { return x * 7 + sink; }
static inline __attribute__((always_inline)) int in1(int x) { return in2(x) ^ 3; }
__attribute__((noinline)) int f(int x) { int s = 0; for (int i = 0; i < x; i++) s += in1(i); return s; }
void _start(void) { sink = f(sink); for (;;); }
SRC
flags="-O2 -nostdlib -static -Wl,--build-id -Wl,-n"
gcc $flags -g -gdwarf-5 t.c -o dw5 2>/dev/null
gcc $flags -g -gdwarf-4 t.c -o dw4 2>/dev/null
gcc $flags -g -gdwarf-5 -Wl,--compress-debug-sections=zlib t.c -o dw5z 2>/dev/null
cp t.c t.cc
g++ $flags -g -fno-exceptions t.cc -o cxx 2>/dev/null
clang $flags -g t.c -o clang 2>/dev/null || true
for f in dw5 dw4 dw5z cxx clang; do [ -f "$f" ] && cp "$f" "$out/$f"; done
ls -la "$out"
