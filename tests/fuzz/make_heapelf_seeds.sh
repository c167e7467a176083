#!/bin/sh
# Regenerates tests/fuzz/seeds-heapelf/: tiny shared libraries that export
# the allocator entry points the heap sampler probes, each beginning with
# the first bytes of that function in the installed glibc, jemalloc and
# tcmalloc (their code's prefix is what decides where a probe lands);
# aliases stay aliases, and an entry that is a jump stays a jump to the
# same entry, or through the PLT to free (jemalloc's delete). And
# libpprofd_heap.so as built, for its USDT probes.
. "$(dirname "$0")/seeds_common.sh"
seeds_dir heapelf
lib=/usr/lib/x86_64-linux-gnu
names="malloc calloc realloc memalign aligned_alloc valloc posix_memalign free sdallocx
dallocx free_sized free_aligned_sized tc_free_sized _Znwm _Znam _ZnwmRKSt9nothrow_t
_ZnamRKSt9nothrow_t _ZnwmSt11align_val_t _ZnamSt11align_val_t
_ZnwmSt11align_val_tRKSt9nothrow_t _ZnamSt11align_val_tRKSt9nothrow_t _ZdlPv _ZdaPv _ZdlPvm
_ZdaPvm _ZdlPvRKSt9nothrow_t _ZdaPvRKSt9nothrow_t _ZdlPvSt11align_val_t _ZdaPvSt11align_val_t
_ZdlPvmSt11align_val_t _ZdaPvmSt11align_val_t _ZdlPvSt11align_val_tRKSt9nothrow_t
_ZdaPvSt11align_val_tRKSt9nothrow_t"
for pair in glibc:/lib/x86_64-linux-gnu/libc.so.6 jemalloc:$lib/libjemalloc.so.2 \
	tcmalloc:$lib/libtcmalloc_minimal.so.4; do
	name=${pair%%:*} so=${pair#*:}
	[ -e "$so" ] || { echo "skipping $name: no $so" >&2; continue; }
	nm -D -S --defined-only "$so" >"$tmp/nm"
	readelf -lW "$so" >"$tmp/phdrs"
	python3 - "$so" "$tmp/nm" "$tmp/phdrs" "$names" >"$tmp/$name.s" <<'PY'
import struct, sys
so, nm, phdrs, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
data = open(so, 'rb').read()
loads = []
for l in open(phdrs):
    f = l.split()
    if f and f[0] == 'LOAD':
        loads.append((int(f[1], 16), int(f[2], 16), int(f[4], 16)))  # offset, vaddr, filesz
syms = {}
for l in open(nm):
    f = l.split()
    if len(f) == 4 and f[3].split('@')[0] in names and f[2] in 'TtWi':
        syms.setdefault(f[3].split('@')[0], (int(f[0], 16), int(f[1], 16)))
def off(va):
    for o, v, sz in loads:
        if v <= va < v + sz:
            return va - v + o
by_addr = {}
print('\t.text')
for n in names:
    if n not in syms:
        continue
    va, size = syms[n]
    print(f'\t.globl {n}\n\t.type {n},@function')
    if va in by_addr:
        print(f'\t.set {n}, {by_addr[va]}')
        continue
    by_addr[va] = n
    b = data[off(va):off(va) + min(size, 96)]
    at = 4 if b[:4] == b'\xf3\x0f\x1e\xfa' else 0
    print(f'{n}:')
    if b[at] in (0xe9, 0xeb) and len(b) >= at + 5:
        to = va + at + (5 + struct.unpack_from('<i', b, at + 1)[0] if b[at] == 0xe9
                        else 2 + struct.unpack_from('<b', b, at + 1)[0])
        target = [m for m in syms if syms[m][0] == to]
        if at:
            print('\tendbr64')
        print(f'\tjmp {target[0] if target else "free@PLT"}')
    else:
        print('\t.byte ' + ','.join(str(x) for x in b))
    print(f'\t.size {n}, .-{n}')
PY
	gcc -shared -nostdlib -Wl,--build-id=none -Wl,-z,noseparate-code,-z,max-page-size=0x10 \
		"$tmp/$name.s" -o "$out/$name.so"
done
# the in-process sampler, for its USDT probes (.note.stapsdt), stripped
lib=$(dirname "$0")/../../build/libpprofd_heap.so
if [ -e "$lib" ]; then strip -o "$out/pprofd_heap.so" "$lib"; else echo "skipping pprofd_heap: make first" >&2; fi
ls -l "$out"
