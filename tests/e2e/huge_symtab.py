#!/usr/bin/env python3
"""An ELF file with N function symbols over the 4 KiB of code at 0x1000,
which is a spin loop: a process maps it executable and runs in it, so that
pprofd loads its symbol table (what any user can make pprofd read).

    huge_symtab.py OUT N
"""
import struct
import sys

out, n = sys.argv[1], int(sys.argv[2])
# spin(rdi): dec %rdi; jnz spin; ret -- at every 8th byte, filled with nops
spin = b"\x48\xff\xcf\x75\xfb\xc3\x90\x90"
text = spin * 512
names = bytearray(b"\0")
syms = bytearray(b"\0" * 24)
for i in range(n):
    off = len(names)
    names += b"f%d\0" % i
    # st_name, GLOBAL FUNC, st_other, .text, value, size
    syms += struct.pack("<IBBHQQ", off, 0x12, 0, 1, 0x1000 + 8 * (i % 512), 8)
shstr = b"\0.text\0.symtab\0.strtab\0.shstrtab\0"
text_off = 0x1000
sym_off = text_off + len(text)
str_off = sym_off + len(syms)
shs_off = str_off + len(names)
sh_off = (shs_off + len(shstr) + 7) & ~7
ehdr = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + b"\0" * 9, 3, 62, 1, 0, 64,
                   sh_off, 0, 64, 56, 1, 64, 5, 4)
end = text_off + len(text)
phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, 0, 0, end, end, 0x1000)


def shdr(name, typ, flags, addr, off, size, link=0, info=0, align=1, ent=0):
    return struct.pack("<IIQQQQIIQQ", name, typ, flags, addr, off, size, link, info, align, ent)


shdrs = (shdr(0, 0, 0, 0, 0, 0) + shdr(1, 1, 6, 0x1000, text_off, len(text), align=16) +
         shdr(7, 2, 0, 0, sym_off, len(syms), link=3, info=1, align=8, ent=24) +
         shdr(15, 3, 0, 0, str_off, len(names)) + shdr(23, 3, 0, 0, shs_off, len(shstr)))
with open(out, "wb") as f:
    f.write(ehdr + phdr)
    f.write(b"\0" * (text_off - f.tell()))
    f.write(text + syms + names + shstr)
    f.write(b"\0" * (sh_off - f.tell()))
    f.write(shdrs)
