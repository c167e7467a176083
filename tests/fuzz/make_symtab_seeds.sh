#!/bin/sh
# Regenerates tests/fuzz/seeds-symtab/: tiny ELF files (executable, shared
# library, stripped with a .gnu_debuglink, its debug file), a kallsyms
# snippet and mangled names, small so the fuzzer mutates them quickly.
. "$(dirname "$0")/seeds_common.sh"
seeds_dir symtab
cd "$tmp"
cat > tiny.c <<'SRC'
int sink;
__attribute__((noinline)) int a1(int x) { return x + sink; }
__attribute__((noinline)) static int a2(int x) { return a1(x) * 3; }
void _ZN2ns5Klass6methodEi(void) { sink++; }
void _start(void) { sink = a2(sink); for (;;); }
SRC
gcc -Os -nostdlib -static -Wl,--build-id -Wl,-n tiny.c -o tiny 2>/dev/null
gcc -Os -nostdlib -shared -fPIC -Wl,--build-id -Wl,-z,noseparate-code,-z,max-page-size=0x10 \
	tiny.c -o tiny.so 2>/dev/null
objcopy --only-keep-debug tiny tiny.debug
strip -s -o tiny.stripped tiny
objcopy --add-gnu-debuglink=tiny.debug tiny.stripped
cp tiny tiny.so tiny.debug tiny.stripped "$out"/
printf 'ffffffff81000000 T _stext\nffffffff81000010 t helper\nffffffff81000020 D data\nffffffffc0000000 t mod_fn\t[mymod]\n' > "$out"/kallsyms
printf '_ZNSt6vectorIiSaIiEE9push_backERKi' > "$out"/cxx
printf '_ZN66_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$core..ops..drop..Drop$GT$4drop17h0123456789abcdefE' > "$out"/rust
