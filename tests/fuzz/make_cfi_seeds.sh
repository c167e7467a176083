#!/bin/sh
# Regenerates tests/fuzz/seeds-cfi/: small ELF files whose .eh_frame the
# fuzzer mutates. libc's own .eh_frame_hdr and .eh_frame repackaged at their
# vaddrs in a file without the code (whole, and cut to its first FDEs; with
# and without section headers), hand-written CFI with every op we read, and
# a small -O2 library.
. "$(dirname "$0")/seeds_common.sh"
seeds_dir cfi
libc=${LIBC:-/lib/x86_64-linux-gnu/libc.so.6}
python3 - "$libc" "$out" <<'PY'
import struct, sys
libc, out = sys.argv[1], sys.argv[2]
b = open(libc, 'rb').read()
shoff, = struct.unpack_from('<Q', b, 0x28)
shentsize, shnum, shstrndx = struct.unpack_from('<HHH', b, 0x3a)
secs = [struct.unpack_from('<IIQQQQIIQQ', b, shoff + i * shentsize) for i in range(shnum)]
strtab = secs[shstrndx]
def name(s):
    o = strtab[4] + s[0]
    return b[o:b.index(b'\0', o)].decode()
sec = {name(s): s for s in secs}
hdr, eh = sec['.eh_frame_hdr'], sec['.eh_frame']
text = sec['.text']
hdr_va, hdr_off, hdr_sz = hdr[3], hdr[4], hdr[5]
eh_va, eh_off, eh_sz = eh[3], eh[4], eh[5]

def records(limit):
    """.eh_frame cut after the first `limit` records, then a terminator"""
    o, n = 0, 0
    while o + 4 <= eh_sz and n < limit:
        l, = struct.unpack_from('<I', b, eh_off + o)
        if l == 0 or l == 0xffffffff:
            break
        o += 4 + l
        n += 1
    return b[eh_off:eh_off + o] + b'\0' * 4

def elf(path, hdr_bytes, eh_bytes, with_sections):
    phnum = 4
    data_off = 64 + 56 * phnum
    h_off = data_off
    e_off = (h_off + len(hdr_bytes) + 7) & ~7
    end = e_off + len(eh_bytes)
    shstr = b'\0.eh_frame_hdr\0.eh_frame\0.shstrtab\0'
    s_off = end
    sh_off = (s_off + len(shstr) + 7) & ~7
    total = sh_off + (4 * 64 if with_sections else 0)
    ph = b''
    # the code's vaddrs over the whole file, so lookups by offset land in FDEs
    ph += struct.pack('<IIQQQQQQ', 1, 5, 0, text[3], text[3], total, total, 16)
    ph += struct.pack('<IIQQQQQQ', 1, 4, h_off, hdr_va, hdr_va, len(hdr_bytes), len(hdr_bytes), 4)
    ph += struct.pack('<IIQQQQQQ', 1, 4, e_off, eh_va, eh_va, len(eh_bytes), len(eh_bytes), 8)
    ph += struct.pack('<IIQQQQQQ', 0x6474e550, 4, h_off, hdr_va, hdr_va, len(hdr_bytes), len(hdr_bytes), 4)
    eh_ = b'\x7fELF' + bytes([2, 1, 1, 0]) + b'\0' * 8
    eh_ += struct.pack('<HHIQQQIHHHHHH', 3, 62, 1, 0, 64, sh_off if with_sections else 0, 0, 64, 56,
                       phnum, 64, 4 if with_sections else 0, 3 if with_sections else 0)
    f = bytearray(total)
    f[0:64] = eh_
    f[64:data_off] = ph
    f[h_off:h_off + len(hdr_bytes)] = hdr_bytes
    f[e_off:e_off + len(eh_bytes)] = eh_bytes
    if with_sections:
        f[s_off:s_off + len(shstr)] = shstr
        shs = b'\0' * 64
        shs += struct.pack('<IIQQQQIIQQ', 1, 1, 2, hdr_va, h_off, len(hdr_bytes), 0, 0, 4, 0)
        shs += struct.pack('<IIQQQQIIQQ', 15, 1, 2, eh_va, e_off, len(eh_bytes), 0, 0, 8, 0)
        shs += struct.pack('<IIQQQQIIQQ', 25, 3, 0, 0, s_off, len(shstr), 0, 0, 1, 0)
        f[sh_off:sh_off + len(shs)] = shs
    open(path, 'wb').write(bytes(f))

hdr_head = b[hdr_off:hdr_off + 12]  # version, encodings, eh_frame_ptr, fde_count; no table
elf(out + '/libc-eh', b[hdr_off:hdr_off + hdr_sz], b[eh_off:eh_off + eh_sz], True)
elf(out + '/libc-eh-40', hdr_head, records(40), False)
elf(out + '/libc-eh-40-sections', hdr_head, records(40), True)

# ustack records (bpf/ustack.h), pcs as libc file offsets (fuzz_cfi.c takes
# them so): qsort_r's body (CFA rbp+16) under msort frames in the copy, and
# the frame records past it.
def record(ip, sp, bp, fps, snap):
    r = struct.pack('<QQQHHI', ip, sp, bp, len(fps), len(snap), 0)
    for a, ret in fps:
        r += struct.pack('<QQ', a, ret)
    return r + snap
sp = 0x7ffd10000000
snap = bytearray(struct.pack('<Q', 0x3f9a4) * 128)  # msort returning into msort
struct.pack_into('<QQ', snap, 0x40, sp + 0x100, 0x3f9a4)   # a frame record: next, ret
struct.pack_into('<QQ', snap, 0x100, sp + 0x200, 0x3fd36)
struct.pack_into('<Q', snap, 0x1f8, 0x3f9a4)                 # a return address for CFI
open(out + '/record-join', 'wb').write(record(0x3fc93, sp, sp + 0x40,
    [(sp + 0x40, 0x3f9a4), (sp + 0x100, 0x3fd36), (sp + 0x2000, 0x3fd36), (sp + 0x3000, 0x27000)], bytes(snap)))
open(out + '/record-small', 'wb').write(record(0x98930, sp, 0, [], bytes(snap[:256])))
PY
cd "$tmp"
cat > cfi.s <<'ASM'
.text
f1:
.cfi_startproc
push %rbp
.cfi_def_cfa_offset 16
.cfi_offset %rbp,-16
mov %rsp,%rbp
.cfi_def_cfa_register %rbp
nop
.cfi_remember_state
leave
.cfi_def_cfa %rsp,8
.cfi_restore %rbp
ret
.cfi_restore_state
nop
.cfi_escape 0x0f,0x03,0x77,0x08,0x06
nop
.cfi_escape 0x10,0x06,0x02,0x77,0x00
nop
.cfi_val_offset %rbp,-16
nop
.cfi_same_value %rbp
nop
.cfi_register %rbp,%rbx
nop
.cfi_escape 0x11,0x06,0x03,0x2e,0x10,0x2f,0x06,0x02,0x12,0x07,0x7e,0x13,0x7f
nop
.cfi_undefined %rip
nop
ret
.cfi_endproc
.p2align 4
f2:
.cfi_startproc
.cfi_personality 0x9b,DW.ref.f2
.cfi_lsda 0x1b,lsda
.cfi_escape 0x0f,0x0b,0x77,0x08,0x80,0x00,0x3f,0x1a,0x3b,0x2a,0x33,0x24,0x22
.rept 16
nop
.endr
ret
.cfi_endproc
f3:
.cfi_startproc
.cfi_signal_frame
.cfi_def_cfa_offset 24
nop
ret
.cfi_endproc
.section .rodata
lsda: .long 0
.section .data.rel.local.DW.ref.f2,"awG",@progbits,DW.ref.f2,comdat
.hidden DW.ref.f2
DW.ref.f2: .quad f2
ASM
small='-shared -nostdlib -Wl,-z,max-page-size=0x10 -Wl,-z,noseparate-code -Wl,--build-id=none'
gcc $small -o "$out"/cfi-ops.so cfi.s
cat > lib.c <<'SRC'
int sink;
__attribute__((noinline)) int a1(int x) { int v[8]; for (int i = 0; i < 8; i++) v[i] = x ^ i; return v[x & 7] + sink; }
__attribute__((noinline)) int a2(int x) { return a1(x) * 3 + a1(x + 1); }
int a3(int x, int y) { int s = 0; for (int i = 0; i < x; i++) s += a2(i ^ y); return s; }
SRC
gcc -O2 -fPIC $small -o "$out"/o2.so lib.c
ls -la "$out"
