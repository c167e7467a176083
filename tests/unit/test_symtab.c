// SPDX-License-Identifier: MIT
/*
 * symtab: builds small programs with gcc/g++ into a temporary directory and
 * checks that every known function is found from the file offset a
 * /proc/PID/maps entry would give, for PIE, non-PIE, shared libraries,
 * stripped files with separate debug info, C++; that broken files are
 * refused without a crash; and kallsyms.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file_cache.h"
#include "symtab.h"
#include "elf_probe.h"
#include "test.h"

static char tmp[PATH_MAX];
static bool have_tools;

static const char *c_src =
	"#include <stdio.h>\n"
	"volatile int sink;\n"
	"__attribute__((noinline)) int alpha(int x) { sink += x; return x * 3 + sink; }\n"
	"__attribute__((noinline)) int beta(int x)\n"
	"{\n"
	"	int s = 0;\n"
	"	for (int i = 0; i < x; i++)\n"
	"		s += alpha(i) ^ i;\n"
	"	sink = s;\n"
	"	return s + sink * 2;\n"
	"}\n"
	"__attribute__((noinline)) static int gamma_fn(int x) { sink ^= x; return beta(x) + sink; }\n"
	"#ifdef FAR\n"
	"__attribute__((noinline, section(\".farcode\")))\n"
	"#else\n"
	"__attribute__((noinline))\n"
	"#endif\n"
	"int delta(int x) { sink += x * 5; return gamma_fn(x) - sink; }\n"
	/* aliases at one address: the global one must win */
	"__attribute__((noinline)) int epsilon(int x) { sink -= x; return sink + 11; }\n"
	"static int epsilon_local(int) __attribute__((alias(\"epsilon\"), used));\n"
	"int epsilon_weak(int) __attribute__((weak, alias(\"epsilon\")));\n"
	/* an assembly function: no type, no size */
	"__asm__(\".text\\n.globl asm_fn\\nasm_fn:\\n\\tnop\\n\\tnop\\n\\tret\\n\");\n"
	"#ifndef LIB\n"
	"int main(int argc, char **argv) { printf(\"%d\\n\", delta(argc)); return 0; }\n"
	"#endif\n";

static const char *cxx_src =
	"namespace ns {\n"
	"struct Klass {\n"
	"	int v;\n"
	"	__attribute__((noinline)) int method(int x);\n"
	"};\n"
	"int Klass::method(int x) { v += x; return v * 7; }\n"
	"}\n"
	"template <typename T> __attribute__((noinline)) T tmpl(T x) { volatile T y = x; return y + 1; }\n"
	"int main(int argc, char **) { ns::Klass k{argc}; return k.method(argc) + (int)tmpl<long>(argc); }\n";

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(p, 1, n, f) != n || fclose(f))
		fprintf(stderr, "cannot write %s\n", path);
}

static char *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(len + 1);
	if (buf && fread(buf, 1, len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*n = len;
	return buf;
}

static struct symtab *load(const char *file, const char *root, const char *path)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct symtab *s;

	if (fd < 0)
		return NULL;
	s = symtab__load(fd, root, path ? path : file);
	close(fd);
	return s;
}

/* name (as nm lists it, from symfile) is found at its start, inside and at
 * its last byte, as want (demangled) and raw. */
static void check_fn(struct symtab *s, const char *symfile, const char *raw, const char *want)
{
	uint64_t addr = 0, size = 0, off;
	uint64_t probes[3];
	struct sym_result r;

	if (!ASSERT_TRUE(nm_sym(symfile, raw, &addr, &size), "nm finds %s in %s", raw, symfile) ||
	    !ASSERT_TRUE(size > 0, "%s has a size", raw))
		return;
	probes[0] = 0;
	probes[1] = size / 2;
	probes[2] = size - 1;
	for (int i = 0; i < 3; i++) {
		if (!ASSERT_TRUE(vaddr_to_off(symfile, addr + probes[i], &off), "segment of %s",
				 raw))
			return;
		memset(&r, 0, sizeof(r));
		if (!ASSERT_OK(symtab__lookup(s, off, &r)))
			continue;
		ASSERT_STREQ(r.name, want);
		ASSERT_STREQ(r.raw_name, raw);
		ASSERT_EQ(r.start, addr);
		ASSERT_EQ(r.vaddr, addr + probes[i]);
	}
}

static void check_absent(struct symtab *s, const char *symfile, const char *raw)
{
	uint64_t addr = 0, size = 0, off = 0;
	struct sym_result r;

	if (!ASSERT_TRUE(nm_sym(symfile, raw, &addr, &size), "nm finds %s", raw) ||
	    !ASSERT_TRUE(vaddr_to_off(symfile, addr, &off)))
		return;
	if (symtab__lookup(s, off, &r) == 0)
		ASSERT_TRUE(strcmp(r.raw_name, raw), "%s found though it should not be", raw);
}

static void check_c_program(struct symtab *s, const char *symfile)
{
	uint64_t a = 0, sz, off;
	struct sym_result r;

	check_fn(s, symfile, "alpha", "alpha");
	check_fn(s, symfile, "beta", "beta");
	check_fn(s, symfile, "gamma_fn", "gamma_fn");
	check_fn(s, symfile, "delta", "delta");
	check_fn(s, symfile, "epsilon", "epsilon");
	/* unsized: found up to the next symbol */
	if (ASSERT_TRUE(nm_sym(symfile, "asm_fn", &a, &sz), "nm finds asm_fn") &&
	    ASSERT_TRUE(vaddr_to_off(symfile, a + 2, &off)) &&
	    ASSERT_OK(symtab__lookup(s, off, &r))) {
		ASSERT_STREQ(r.name, "asm_fn");
		ASSERT_EQ(r.start, a);
	}
}

static bool build(void)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/prog.c", tmp);
	write_file(p, c_src, strlen(c_src));
	snprintf(p, sizeof(p), "%s/prog.cc", tmp);
	write_file(p, cxx_src, strlen(cxx_src));
	return !sh(
		"cd %s && mkdir -p d4 d4/.debug d4b d4c root5/bin && "
		"gcc -O1 -g -fPIE -pie prog.c -o pie && "
		"gcc -O1 -g -fno-pie -no-pie -DFAR -Wl,--section-start=.farcode=0x10000000 prog.c -o nopie && "
		"gcc -O1 -g -shared -fPIC -DLIB prog.c -o lib.so && "
		/* debuglink, no build ID: found by name and CRC, in .debug/ */
		"gcc -O1 -g -Wl,--build-id=none prog.c -o d4/full && "
		"objcopy --only-keep-debug d4/full d4/.debug/prog4.debug && "
		"strip -s -o d4/prog4 d4/full && "
		"(cd d4/.debug && objcopy --add-gnu-debuglink=prog4.debug ../prog4) && "
		/* debuglink in the same directory, with build IDs */
		"gcc -O1 -g -Wl,--build-id=sha1 prog.c -o d4b/full && "
		"objcopy --only-keep-debug d4b/full d4b/prog4b.debug && "
		"strip -s -o d4b/prog4b d4b/full && "
		"(cd d4b && objcopy --add-gnu-debuglink=prog4b.debug prog4b) && "
		/* debuglink to a debug file with the wrong CRC */
		"gcc -O1 -g -Wl,--build-id=none prog.c -o d4c/full && "
		"objcopy --only-keep-debug d4c/full d4c/prog4c.debug && "
		"strip -s -o d4c/prog4c d4c/full && "
		"(cd d4c && objcopy --add-gnu-debuglink=prog4c.debug prog4c) && "
		"gcc -O0 -g -Wl,--build-id=none -DLIB -shared -fPIC prog.c -o d4c/other && "
		"objcopy --only-keep-debug d4c/other d4c/prog4c.debug && "
		/* build-ID debug file, inside a root directory */
		"gcc -O1 -g -Wl,--build-id=sha1 prog.c -o full5 && "
		"strip -s -o root5/bin/prog5 full5 && "
		"g++ -O1 -g prog.cc -o cxx",
		tmp);
}

static void test_pie(void)
{
	char f[PATH_MAX + 16];
	struct symtab *s;

	snprintf(f, sizeof(f), "%s/pie", tmp);
	s = load(f, "/", NULL);
	if (!ASSERT_TRUE(s, "load %s: %s", f, strerror(errno)))
		return;
	ASSERT_TRUE(symtab__has_functions(s));
	ASSERT_TRUE(strlen(symtab__build_id(s)) == 40, "build id \"%s\"", symtab__build_id(s));
	ASSERT_STREQ(symtab__path(s), f);
	check_c_program(s, f);
	symtab__put(s);
}

static void test_nopie_two_exec_segments(void)
{
	char f[PATH_MAX + 16];
	struct sym_result r;
	struct symtab *s;
	uint64_t a, sz;

	snprintf(f, sizeof(f), "%s/nopie", tmp);
	s = load(f, "/", NULL);
	if (!ASSERT_TRUE(s, "load %s: %s", f, strerror(errno)))
		return;
	check_c_program(s, f);
	/* delta is in its own executable segment at 0x10000000 */
	if (ASSERT_TRUE(nm_sym(f, "delta", &a, &sz)))
		ASSERT_EQ(a, 0x10000000);
	/* an offset in no segment */
	ASSERT_EQ(symtab__lookup(s, 1ULL << 40, &r), -ENOENT);
	symtab__put(s);
}

static void test_shared_library(void)
{
	char f[PATH_MAX + 16];
	struct symtab *s;

	snprintf(f, sizeof(f), "%s/lib.so", tmp);
	s = load(f, "/", NULL);
	if (!ASSERT_TRUE(s, "load %s: %s", f, strerror(errno)))
		return;
	check_c_program(s, f);
	symtab__put(s);
}

/*
 * A library stripped to .dynsym (as Debian ships them): its static
 * function has no symbol and is named by its FDE, "libstripped.so+0xSTART",
 * at its start, inside and at its last byte, START as nm (of the unstripped
 * file) and readelf's FDE say; its exported functions keep their names.
 */
static void test_stripped_fde_names(void)
{
	char f[PATH_MAX + 32], full[PATH_MAX + 32], want[64], cmd[2 * PATH_MAX + 128];
	struct symtab *s, *unstripped;
	uint64_t a = 0, sz = 0, off;
	struct sym_result r;

	if (!ASSERT_OK(sh("cd %s && strip --strip-unneeded -o libstripped.so lib.so", tmp)))
		return;
	snprintf(full, sizeof(full), "%s/lib.so", tmp);
	snprintf(f, sizeof(f), "%s/libstripped.so", tmp);
	s = load(f, "/", NULL);
	if (!ASSERT_TRUE(s, "load %s: %s", f, strerror(errno)))
		return;
	if (ASSERT_TRUE(nm_sym(full, "gamma_fn", &a, &sz) && sz > 1, "nm finds gamma_fn")) {
		uint64_t probes[3] = { 0, sz / 2, sz - 1 };

		snprintf(want, sizeof(want), "libstripped.so+0x%" PRIx64, a);
		for (int i = 0; i < 3; i++) {
			memset(&r, 0, sizeof(r));
			if (ASSERT_TRUE(vaddr_to_off(f, a + probes[i], &off)) &&
			    ASSERT_OK(symtab__lookup(s, off, &r))) {
				ASSERT_STREQ(r.name, want);
				ASSERT_EQ(r.start, a);
			}
		}
		/* readelf has an FDE from that address */
		snprintf(cmd, sizeof(cmd),
			 "readelf --debug-dump=frames %s | grep -q 'pc=0*%" PRIx64 "\\.\\.'", f, a);
		ASSERT_EQ(system(cmd), 0);
	}
	/* the exported ones by their names, and no FDE name covers them */
	check_fn(s, full, "alpha", "alpha");
	check_fn(s, full, "beta", "beta");
	check_fn(s, full, "delta", "delta");
	ASSERT_TRUE(symtab__nr_fde_names(s) >= 1);
	/* with .symtab, every function has its symbol: none named by FDE */
	unstripped = load(full, "/", NULL);
	if (ASSERT_TRUE(unstripped))
		ASSERT_EQ(symtab__nr_fde_names(unstripped), 0);
	symtab__put(unstripped);
	symtab__put(s);
}

/* MiniDebugInfo as Fedora's find-debuginfo makes it: the .symtab of what
 * .dynsym lacks, xz'd into .gnu_debugdata of the stripped file. */
static void test_minidebuginfo(void)
{
	char f[PATH_MAX + 32], full[PATH_MAX + 32];
	struct symtab *s;

	if (!ASSERT_OK(sh(
		    "cd %s && nm -D lib.so --format=posix --defined-only | awk '{print $1}' "
		    "| sort > dynsyms && nm lib.so --format=posix --defined-only | "
		    "awk '$2 ~ /^[Tt]$/ {print $1}' | sort > funcsyms && "
		    "comm -13 dynsyms funcsyms > keep && grep -qx gamma_fn keep && "
		    "objcopy --only-keep-debug lib.so mini.debug && "
		    "objcopy -S --remove-section .comment --keep-symbols=keep mini.debug mini && "
		    "xz -f mini && strip --strip-all -o libmini.so lib.so && "
		    "objcopy --add-section .gnu_debugdata=mini.xz libmini.so && "
		    "head -c 3000 /dev/urandom > junk && strip --strip-all -o libjunk.so lib.so && "
		    "objcopy --add-section .gnu_debugdata=junk libjunk.so",
		    tmp)))
		return;
	snprintf(full, sizeof(full), "%s/lib.so", tmp);
	snprintf(f, sizeof(f), "%s/libmini.so", tmp);
	s = load(f, "/", NULL);
	if (ASSERT_TRUE(s, "load %s: %s", f, strerror(errno))) {
		ASSERT_TRUE(symtab__from_minidebug(s));
		check_fn(s, full, "gamma_fn", "gamma_fn"); /* static: from .gnu_debugdata */
		check_fn(s, full, "alpha", "alpha");       /* exported: .dynsym */
		ASSERT_EQ(symtab__nr_fde_names(s), 0);
		symtab__put(s);
	}
	/* .gnu_debugdata that is not xz: FDE names, as without it */
	snprintf(f, sizeof(f), "%s/libjunk.so", tmp);
	s = load(f, "/", NULL);
	if (ASSERT_TRUE(s, "load %s: %s", f, strerror(errno))) {
		ASSERT_TRUE(!symtab__from_minidebug(s));
		ASSERT_TRUE(symtab__nr_fde_names(s) >= 1);
		check_fn(s, full, "alpha", "alpha");
		symtab__put(s);
	}
}

static void test_debuglink(void)
{
	char f[PATH_MAX + 32], full[PATH_MAX + 32];
	struct symtab *s;

	/* in .debug/, checked by CRC (no build ID) */
	snprintf(f, sizeof(f), "%s/d4/prog4", tmp);
	snprintf(full, sizeof(full), "%s/d4/full", tmp);
	s = load(f, "/", NULL);
	if (ASSERT_TRUE(s, "load %s: %s", f, strerror(errno))) {
		ASSERT_STREQ(symtab__build_id(s), "");
		check_c_program(s, full);
		symtab__put(s);
	}
	/* same directory, build IDs agree */
	snprintf(f, sizeof(f), "%s/d4b/prog4b", tmp);
	snprintf(full, sizeof(full), "%s/d4b/full", tmp);
	s = load(f, "/", NULL);
	if (ASSERT_TRUE(s, "load %s: %s", f, strerror(errno))) {
		check_c_program(s, full);
		symtab__put(s);
	}
	/* the linked file's CRC is wrong: not used */
	snprintf(f, sizeof(f), "%s/d4c/prog4c", tmp);
	snprintf(full, sizeof(full), "%s/d4c/full", tmp);
	s = load(f, "/", NULL);
	if (ASSERT_TRUE(s, "load %s: %s", f, strerror(errno))) {
		check_absent(s, full, "alpha");
		check_absent(s, full, "gamma_fn");
		symtab__put(s);
	}
}

static void read_build_id_readelf(const char *file, char *out, size_t n)
{
	char cmd[PATH_MAX + 64], line[512];
	FILE *p;

	out[0] = '\0';
	snprintf(cmd, sizeof(cmd), "readelf -n '%s'", file);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		char *b = strstr(line, "Build ID: ");

		if (b) {
			snprintf(out, n, "%s", b + 10);
			out[strcspn(out, "\n")] = '\0';
		}
	}
	if (p)
		pclose(p);
}

static void test_build_id_in_root(void)
{
	char f[PATH_MAX + 32], full[PATH_MAX + 32], root[PATH_MAX + 32], bid[256];
	struct symtab *s;

	snprintf(f, sizeof(f), "%s/root5/bin/prog5", tmp);
	snprintf(full, sizeof(full), "%s/full5", tmp);
	snprintf(root, sizeof(root), "%s/root5", tmp);
	read_build_id_readelf(f, bid, sizeof(bid));
	if (!ASSERT_TRUE(strlen(bid) == 40, "readelf build ID \"%s\"", bid))
		return;
	/* Before the debug file is there: no local functions. */
	s = load(f, root, "/bin/prog5");
	if (ASSERT_TRUE(s)) {
		ASSERT_STREQ(symtab__build_id(s), bid);
		check_absent(s, full, "gamma_fn");
		symtab__put(s);
	}
	if (sh("cd %s && mkdir -p usr/lib/debug/.build-id/%.2s && "
	       "objcopy --only-keep-debug ../full5 usr/lib/debug/.build-id/%.2s/%s.debug",
	       root, bid, bid, bid + 2))
		ASSERT_TRUE(false, "placing the debug file");
	s = load(f, root, "/bin/prog5");
	if (!ASSERT_TRUE(s, "load %s: %s", f, strerror(errno)))
		return;
	ASSERT_STREQ(symtab__build_id(s), bid);
	check_c_program(s, full);
	symtab__put(s);
	/* Not on the host: the root is where it is. */
	s = load(f, "/", "/bin/prog5");
	if (ASSERT_TRUE(s)) {
		check_absent(s, full, "gamma_fn");
		symtab__put(s);
	}
}

static void test_cxx_demangling(void)
{
	char f[PATH_MAX + 16];
	struct symtab *s;

	snprintf(f, sizeof(f), "%s/cxx", tmp);
	s = load(f, "/", NULL);
	if (!ASSERT_TRUE(s, "load %s: %s", f, strerror(errno)))
		return;
	check_fn(s, f, "_ZN2ns5Klass6methodEi", "ns::Klass::method(int)");
	check_fn(s, f, "_Z4tmplIlET_S0_", "long tmpl<long>(long)");
	check_fn(s, f, "main", "main");
	symtab__put(s);
}

static void test_demangle(void)
{
	struct {
		const char *in, *want;
	} cases[] = {
		{ "_ZN2ns5Klass6methodEi", "ns::Klass::method(int)" },
		{ "_ZNSt6vectorIiSaIiEE9push_backERKi",
		  "std::vector<int, std::allocator<int> >::push_back(int const&)" },
		{ "_ZN3foo3barEv.cold", "foo::bar() [clone .cold]" },
		/* Rust legacy: hash dropped, escapes decoded */
		{ "_ZN4core3fmt5write17h0123456789abcdefE", "core::fmt::write" },
		{ "_ZN66_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$core..ops..drop..Drop$GT$4drop17h0123456789abcdefE",
		  "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop" },
		{ "main", NULL },
		{ "_Z", NULL },
		{ "_Zfoo_not_mangled", NULL },
		/* Rust v0 (as c++filt prints them, without the disambiguators) */
		{ "_RNvCs15kBYyAo9fc_7mycrate7example", "mycrate::example" },
		{ "_RNvNtCs1234_7mycrate3foo3bar", "mycrate::foo::bar" },
		{ "_RINvNtC3std3mem8align_ofjEC3foo", "std::mem::align_of::<usize>" },
		{ "_RNvC", NULL },
		{ "", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *d = demangle(cases[i].in);

		if (cases[i].want)
			ASSERT_STREQ(d, cases[i].want);
		else
			ASSERT_TRUE(!d, "\"%s\" gave \"%s\"", cases[i].in, d);
		free(d);
	}
	ASSERT_TRUE(!demangle(NULL));
}

/* A "demangler bomb": each level names B<X, X> of the level before, so the
 * demangled text doubles per level (this one would be ~2^40 bytes). It must
 * be refused at once, not demangled. */
static void test_demangle_bomb(void)
{
	static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char name[4096], *p = name, *d;
	time_t t0 = time(NULL);

	p += sprintf(p, "_Z1fI1A1BIS0_S0_E");
	for (int i = 2; i < 42; i++)
		p += sprintf(p, "S1_IS%c%c_S%c%c_E", digits[i / 36], digits[i % 36], digits[i / 36],
			     digits[i % 36]);
	sprintf(p, "Evv");
	/* the first levels are a normal name */
	d = demangle("_Z1fI1A1BIS0_S0_ES1_IS2_S2_EEvv");
	ASSERT_STREQ(d, "void f<A, B<A, A>, B<B<A, A>, B<A, A> > >()");
	free(d);
	d = demangle(name);
	ASSERT_TRUE(!d, "bomb demangled to %zu bytes", d ? strlen(d) : 0);
	free(d);
	ASSERT_TRUE(time(NULL) - t0 < 2);
}

/* The Rust v0 form: each level is a tuple of two backrefs to the level
 * before (libiberty would print 2^40 tuples); three levels are a name. */
static void test_demangle_bomb_rust(void)
{
	static const char b62[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char name[4096], ref[8], *d;
	size_t len, pos = 8; /* after "_R": INvC1a1f, then the first tuple */
	time_t t0 = time(NULL);

	len = (size_t)sprintf(name, "_RINvC1a1fTuuE");
	for (int i = 0; i < 40; i++) {
		size_t at = len - 2, n = pos - 1; /* B_ is 0, B0_ is 1 */

		snprintf(ref, sizeof(ref), "%c%c_", b62[n / 62 % 62], b62[n % 62]);
		if (n < 62)
			memmove(ref, ref + 1, 3);
		if (!pos)
			strcpy(ref, "_");
		len += (size_t)sprintf(name + len, "TB%sB%sE", ref, ref);
		pos = at;
		if (i == 2) {
			strcpy(name + len, "E");
			d = demangle(name);
			ASSERT_STREQ(
				d, "a::f::<((), ()), (((), ()), ((), ())), ((((), ()), ((), ())), "
				   "(((), ()), ((), ()))), (((((), ()), ((), ())), (((), ()), ((), "
				   "()))), ((((), ()), ((), ())), (((), ()), ((), ()))))>");
			free(d);
		}
	}
	strcpy(name + len, "E");
	d = demangle(name);
	ASSERT_TRUE(!d, "bomb demangled to %zu bytes", d ? strlen(d) : 0);
	free(d);
	ASSERT_TRUE(time(NULL) - t0 < 2);
}

/* A file from bytes. */
static struct symtab *load_bytes(const void *p, size_t n, int *err)
{
	char f[PATH_MAX + 16];
	struct symtab *s;

	snprintf(f, sizeof(f), "%s/bad", tmp);
	write_file(f, p, n);
	errno = 0;
	s = load(f, "/", NULL);
	*err = errno;
	return s;
}

static void poke_lookups(struct symtab *s)
{
	struct sym_result r;

	for (uint64_t off = 0; off < 0x20000; off += 7)
		if (!symtab__lookup(s, off, &r))
			ASSERT_TRUE(r.name && r.raw_name && r.vaddr >= r.start);
}

static Elf64_Shdr *shdr_of_type(char *img, size_t n, uint32_t type)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;

	for (unsigned i = 0; i < eh->e_shnum; i++) {
		Elf64_Shdr *sh = (Elf64_Shdr *)(img + eh->e_shoff) + i;

		if (eh->e_shoff + (i + 1) * sizeof(*sh) <= n && sh->sh_type == type)
			return sh;
	}
	return NULL;
}

static void test_malformed(void)
{
	char f[PATH_MAX + 16], junk[4096];
	size_t n;
	char *img, *copy;
	struct symtab *s;
	int err;
	Elf64_Shdr *sh;
	uint64_t rnd = 0x9e3779b97f4a7c15ULL;

	/* not ELF at all */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 131 + 7);
	s = load_bytes(junk, sizeof(junk), &err);
	ASSERT_TRUE(!s && err == ENOEXEC, "err %d", err);
	s = load_bytes("", 0, &err);
	ASSERT_TRUE(!s);
	s = load_bytes("\177ELF", 4, &err);
	ASSERT_TRUE(!s);

	snprintf(f, sizeof(f), "%s/pie", tmp);
	img = read_file(f, &n);
	if (!ASSERT_TRUE(img))
		return;
	copy = malloc(n);

	/* truncated anywhere: an error or a partial table */
	for (size_t len = 0; len < n; len += len < 256 ? 8 : len / 3) {
		s = load_bytes(img, len, &err);
		if (s)
			poke_lookups(s);
		symtab__put(s);
	}

	/* bogus section sizes, links, entry sizes, unterminated names */
	for (int c = 0; c < 6; c++) {
		memcpy(copy, img, n);
		sh = shdr_of_type(copy, n, SHT_SYMTAB);
		if (!ASSERT_TRUE(sh))
			break;
		switch (c) {
		case 0:
			sh->sh_size = 0xffffffffffffff00ULL;
			break;
		case 1:
			sh->sh_link = 9999;
			break;
		case 2:
			sh->sh_entsize = 1;
			break;
		case 3:
			sh->sh_offset = n - 8;
			break;
		case 4: {
			Elf64_Shdr *str =
				(Elf64_Shdr *)(copy + ((Elf64_Ehdr *)copy)->e_shoff) + sh->sh_link;

			if (str->sh_offset + str->sh_size <= n)
				memset(copy + str->sh_offset, 'A', str->sh_size);
			break;
		}
		case 5:
			((Elf64_Ehdr *)copy)->e_shoff = n - 100;
			break;
		}
		s = load_bytes(copy, n, &err);
		if (s) {
			poke_lookups(s);
			if (c == 4)
				ASSERT_TRUE(symtab__nr_symbols(s) < 10, "%zu symbols",
					    symtab__nr_symbols(s));
		}
		symtab__put(s);
	}
	/* garbage program headers */
	memcpy(copy, img, n);
	((Elf64_Ehdr *)copy)->e_phoff = n + 4096;
	s = load_bytes(copy, n, &err);
	ASSERT_TRUE(!s, "no segments: an error");
	symtab__put(s);

	/* random bytes flipped in the headers and symbol table */
	for (int it = 0; it < 300; it++) {
		memcpy(copy, img, n);
		for (int k = 0; k < 16; k++) {
			size_t at;

			rnd ^= rnd << 13;
			rnd ^= rnd >> 7;
			rnd ^= rnd << 17;
			at = (k & 1) ? rnd % (n < 4096 ? n : 4096) : rnd % n;
			copy[at] = (char)(rnd >> 32);
		}
		s = load_bytes(copy, n, &err);
		if (s)
			poke_lookups(s);
		symtab__put(s);
	}
	free(copy);
	free(img);
}

/* The global symbol wins over a weak alias at its address, whatever their
 * order in .symtab (tie-breaks put later entries first: swap them). */
static void test_alias_preference(void)
{
	char f[PATH_MAX + 16];
	Elf64_Sym *sy, *glob = NULL, *weak = NULL;
	Elf64_Shdr *sh, *str;
	struct sym_result r;
	struct symtab *s;
	uint64_t a, sz, off;
	size_t n;
	char *img;
	int err;

	snprintf(f, sizeof(f), "%s/pie", tmp);
	img = read_file(f, &n);
	if (!ASSERT_TRUE(img) || !ASSERT_TRUE((sh = shdr_of_type(img, n, SHT_SYMTAB))))
		goto out;
	str = (Elf64_Shdr *)(img + ((Elf64_Ehdr *)img)->e_shoff) + sh->sh_link;
	sy = (Elf64_Sym *)(img + sh->sh_offset);
	for (size_t i = 0; i < sh->sh_size / sizeof(*sy); i++) {
		const char *name = img + str->sh_offset + sy[i].st_name;

		if (!strcmp(name, "epsilon"))
			glob = &sy[i];
		else if (!strcmp(name, "epsilon_weak"))
			weak = &sy[i];
	}
	if (!ASSERT_TRUE(glob && weak) || !ASSERT_TRUE(nm_sym(f, "epsilon", &a, &sz)) ||
	    !ASSERT_TRUE(vaddr_to_off(f, a, &off)))
		goto out;
	for (int swap = 0; swap < 2; swap++) {
		if (swap) {
			Elf64_Sym t = *glob;

			*glob = *weak;
			*weak = t;
		}
		s = load_bytes(img, n, &err);
		if (ASSERT_TRUE(s) && ASSERT_OK(symtab__lookup(s, off, &r)))
			ASSERT_STREQ(r.name, "epsilon");
		symtab__put(s);
	}
out:
	free(img);
}

/*
 * 150,000 aliases at each of two addresses (issue 12: a quadratic sort of
 * them held the daemon for seconds). The choice is the one of the small
 * cases: the global beats the locals at g; among the equal locals at l,
 * the one listed last in .symtab.
 */
static void test_many_aliases(void)
{
	enum { N = 150000 };
	char f[PATH_MAX + 16], want[32] = "";
	uint64_t a, sz, off;
	struct sym_result r;
	struct symtab *s = NULL;
	Elf64_Shdr *symsh, *str;
	Elf64_Sym *sy;
	size_t n, last = 0;
	char *img = NULL;
	FILE *out;

	snprintf(f, sizeof(f), "%s/many.S", tmp);
	out = fopen(f, "w");
	if (!ASSERT_TRUE(out))
		return;
	fprintf(out, "\t.section .note.GNU-stack,\"\",@progbits\n\t.text\n"
		     "\t.globl g\n\t.type g,@function\ng:\n\tnop\n\tret\n\t.size g,2\n"
		     "\t.type l,@function\nl:\n\tnop\n\tret\n\t.size l,2\n");
	for (int i = 0; i < N; i++)
		fprintf(out,
			"\t.type ga%d,@function\n\t.set ga%d,g\n\t.size ga%d,2\n"
			"\t.type la%d,@function\n\t.set la%d,l\n\t.size la%d,2\n",
			i, i, i, i, i, i);
	if (!ASSERT_OK(fclose(out)) ||
	    !ASSERT_OK(sh("cd %s && gcc -shared -nostdlib -o many.so many.S", tmp)))
		return;
	snprintf(f, sizeof(f), "%s/many.so", tmp);
	s = load(f, "/", NULL);
	if (!ASSERT_TRUE(s, "load %s", f))
		return;
	if (ASSERT_TRUE(nm_sym(f, "g", &a, &sz)) && ASSERT_TRUE(vaddr_to_off(f, a, &off)) &&
	    ASSERT_OK(symtab__lookup(s, off, &r)))
		ASSERT_STREQ(r.name, "g");
	/* the last of the locals at l, from the file itself */
	img = read_file(f, &n);
	if (!ASSERT_TRUE(img) || !ASSERT_TRUE((symsh = shdr_of_type(img, n, SHT_SYMTAB))) ||
	    !ASSERT_TRUE(nm_sym(f, "la0", &a, &sz)) || !ASSERT_TRUE(vaddr_to_off(f, a, &off)))
		goto out;
	str = (Elf64_Shdr *)(img + ((Elf64_Ehdr *)img)->e_shoff) + symsh->sh_link;
	sy = (Elf64_Sym *)(img + symsh->sh_offset);
	for (size_t i = 1; i < symsh->sh_size / sizeof(*sy); i++)
		if (sy[i].st_value == a)
			last = i;
	snprintf(want, sizeof(want), "%s", img + str->sh_offset + sy[last].st_name);
	ASSERT_TRUE(strncmp(want, "la", 2) == 0 || strcmp(want, "l") == 0, "last at l: %s", want);
	if (ASSERT_OK(symtab__lookup(s, off, &r)))
		ASSERT_STREQ(r.name, want);
out:
	free(img);
	symtab__put(s);
}

/* The files the cache tests load: three ELF files and one that is not. */
struct cache_files {
	char a[PATH_MAX + 16], b[PATH_MAX + 16], c[PATH_MAX + 16], bad[PATH_MAX + 16];
	int fa, fb, fc, fbad;
};

static void cache_files_open(struct cache_files *f)
{
	snprintf(f->a, sizeof(f->a), "%s/pie", tmp);
	snprintf(f->b, sizeof(f->b), "%s/nopie", tmp);
	snprintf(f->c, sizeof(f->c), "%s/lib.so", tmp);
	snprintf(f->bad, sizeof(f->bad), "%s/prog.c", tmp);
	f->fa = open(f->a, O_RDONLY);
	f->fb = open(f->b, O_RDONLY);
	f->fc = open(f->c, O_RDONLY);
	f->fbad = open(f->bad, O_RDONLY);
}

static void cache_files_close(struct cache_files *f)
{
	close(f->fa);
	close(f->fb);
	close(f->fc);
	close(f->fbad);
}

static struct file_cache *cache_new(size_t max_files, size_t symbol_bytes)
{
	return file_cache__new(&(struct file_cache_limits){ .max_files = max_files,
							    .symbol_bytes = symbol_bytes });
}

static void test_cache(void)
{
	struct cache_files f;
	struct file_cache *cache = cache_new(2, 0);
	struct file_cache_stats st;
	struct symtab *s1, *s2, *s3;

	cache_files_open(&f);

	s1 = file_cache__load_symbols(cache, f.fa, "/", f.a);
	s2 = file_cache__load_symbols(cache, f.fa, "/", f.a);
	ASSERT_TRUE(s1 && s1 == s2, "second get is the same symtab");
	file_cache__stats(cache, &st);
	ASSERT_EQ(st.sym.misses, 1);
	ASSERT_EQ(st.sym.hits, 1);
	ASSERT_EQ(st.sym.files, 1);
	ASSERT_TRUE(st.sym.bytes > 0);
	symtab__put(s2);

	/* files held elsewhere are not evicted: a second process that maps
	 * one gets the same symtab, not a second load */
	s2 = file_cache__load_symbols(cache, f.fb, "/", f.b);
	s3 = file_cache__load_symbols(cache, f.fc, "/", f.c);
	ASSERT_TRUE(s2 && s3);
	file_cache__stats(cache, &st);
	ASSERT_EQ(st.sym.evictions, 0);
	ASSERT_EQ(st.sym.files, 3);
	ASSERT_EQ(st.files, 3);
	ASSERT_TRUE(file_cache__load_symbols(cache, f.fa, "/", f.a) == s1,
		    "a held file is a hit over the limit");
	symtab__put(s1);
	/* let go, the coldest (b) goes at the next use */
	symtab__put(s2);
	symtab__put(file_cache__load_symbols(cache, f.fc, "/", f.c));
	file_cache__stats(cache, &st);
	ASSERT_EQ(st.sym.evictions, 1);
	ASSERT_EQ(st.sym.files, 2);
	ASSERT_EQ(st.files, 2);
	ASSERT_EQ(st.sym.misses, 3);
	check_fn(s1, f.a, "beta", "beta");
	symtab__put(s1);
	symtab__put(s3);

	/* failures are remembered */
	errno = 0;
	ASSERT_TRUE(!file_cache__load_symbols(cache, f.fbad, "/", f.bad));
	ASSERT_EQ(errno, ENOEXEC);
	errno = 0;
	ASSERT_TRUE(!file_cache__load_symbols(cache, f.fbad, "/", f.bad));
	ASSERT_EQ(errno, ENOEXEC);
	file_cache__stats(cache, &st);
	ASSERT_EQ(st.sym.failures, 1);
	ASSERT_EQ(st.sym.misses, 4);
	ASSERT_EQ(st.sym.hits, 4);

	/* a byte bound evicts the symbols of every file but the latest used */
	symtab__put(file_cache__load_symbols(cache, f.fc, "/", f.c));
	file_cache__set_symbol_bytes(cache, 1);
	file_cache__stats(cache, &st);
	ASSERT_EQ(st.sym.files, 1);
	file_cache__free(cache);
	cache_files_close(&f);
}

/* The entry of fd's file, for a test that holds it as a mapping does. */
static struct cached_file *cache_file(struct file_cache *c, int fd)
{
	struct cached_file *e = file_cache__file(c, fd);

	ASSERT_TRUE(e != NULL, "no entry: %s", strerror(errno));
	return e;
}

static int derive_reads;

/* file_cache__derived's reader: the fd's number, or ctx's error. */
static int derive(int fd, void *out, void *ctx)
{
	derive_reads++;
	*(int *)out = fd;
	return ctx ? *(int *)ctx : 0;
}

/* What a reader derives from a file (the heap sampler's probe sites) is
 * read once per entry and key, its error too. */
static void test_cache_derived(void)
{
	struct cache_files f;
	struct file_cache *cache = cache_new(4, 0);
	struct file_cache_stats st;
	struct cached_file *a, *a2, *b;
	int out = -1, enoent = -ENOENT;

	cache_files_open(&f);
	a = cache_file(cache, f.fa);
	b = cache_file(cache, f.fb);
	ASSERT_EQ(file_cache__derived(cache, a, 1, f.fa, &out, sizeof(out), derive, NULL), 0);
	ASSERT_EQ(out, f.fa);
	out = -1;
	a2 = cache_file(cache, f.fa);
	ASSERT_TRUE(a2 == a, "one entry per file");
	ASSERT_EQ(file_cache__derived(cache, a2, 1, f.fa, &out, sizeof(out), derive, NULL), 0);
	ASSERT_EQ(out, f.fa);
	ASSERT_EQ(derive_reads, 1);
	/* another key reads again; an error is kept as well */
	ASSERT_EQ(file_cache__derived(cache, a, 2, f.fa, &out, sizeof(out), derive, &enoent),
		  -ENOENT);
	ASSERT_EQ(file_cache__derived(cache, a, 2, f.fa, &out, sizeof(out), derive, NULL), -ENOENT);
	ASSERT_EQ(file_cache__derived(cache, b, 2, f.fb, &out, sizeof(out), derive, NULL), 0);
	ASSERT_EQ(derive_reads, 3);
	file_cache__stats(cache, &st);
	ASSERT_EQ(st.derived.misses, 3);
	ASSERT_EQ(st.derived.hits, 2);
	cached_file__put(a);
	cached_file__put(a2);
	cached_file__put(b);
	file_cache__free(cache);
	cache_files_close(&f);
}

/* fd's file's symbols asked for without waiting: NULL, errno. */
static int ask_symbols(struct file_cache *c, struct cached_file *e, int fd, const char *path)
{
	struct file_src src = { .fd = fd, .root = "/", .path = path };
	struct symtab *s;

	errno = 0;
	s = e ? file_cache__symbols(c, e, &src, 0) : NULL;
	if (s) {
		symtab__put(s);
		return 0;
	}
	return errno;
}

/* A file loaded in the thread, over the byte budget on its own, is kept
 * until the mapping waiting for it takes it, though other files are used
 * meanwhile (it was evicted as it came in, and loaded again for ever). */
static void test_cache_loader_keeps_settled(void)
{
	struct file_cache *cache = cache_new(8, 1);
	struct cached_file *ea = NULL, *eb = NULL;
	struct cache_files f;
	struct symtab *sa, *sb;

	cache_files_open(&f);
	if (!ASSERT_OK(file_cache__start_loaders(cache)))
		goto out;
	ea = cache_file(cache, f.fa);
	eb = cache_file(cache, f.fb);
	if (!ea || !eb)
		goto out;
	ASSERT_EQ(ask_symbols(cache, ea, f.fa, f.a), EAGAIN);
	ASSERT_EQ(ask_symbols(cache, eb, f.fb, f.b), EAGAIN);
	sb = file_cache__symbols(cache, eb, NULL, UINT64_MAX); /* a settles meanwhile, or next */
	symtab__put(sb);
	sb = file_cache__symbols(cache, eb, NULL, UINT64_MAX); /* used again: a is colder */
	symtab__put(sb);
	sa = file_cache__symbols(cache, ea, NULL, UINT64_MAX);
	ASSERT_TRUE(sa != NULL, "the waiting mapping gets its file (%s)", strerror(errno));
	symtab__put(sa);
out:
	file_cache__free(cache);
	cached_file__put(ea);
	cached_file__put(eb);
	cache_files_close(&f);
}

/* With the loader threads: a miss returns at once and loads in the
 * thread; only collect (here: a wait) takes a load in, so the states seen
 * below do not depend on how fast the thread is. */
static void test_cache_loader(void)
{
	struct cache_files f;
	struct file_cache *cache = cache_new(2, 0);
	struct cached_file *ea, *eb = NULL, *ec = NULL, *ebad;
	struct file_cache_stats st;
	struct symtab *s1, *s2, *s3;

	cache_files_open(&f);
	ASSERT_EQ(file_cache__start_loaders(cache), 0);
	ASSERT_TRUE(file_cache__symbols_fd(cache) >= 0);
	ea = cache_file(cache, f.fa);
	ebad = cache_file(cache, f.fbad);
	if (!ea || !ebad)
		goto out;

	ASSERT_EQ(ask_symbols(cache, ea, f.fa, f.a), EAGAIN);
	/* not taken in yet: a second ask and one without a file say so */
	ASSERT_EQ(ask_symbols(cache, ea, f.fa, f.a), EAGAIN);
	errno = 0;
	ASSERT_TRUE(!file_cache__symbols(cache, ea, NULL, 0));
	ASSERT_EQ(errno, EAGAIN);
	s1 = file_cache__symbols(cache, ea, NULL, UINT64_MAX);
	ASSERT_TRUE(s1 != NULL, "the load is in after a wait");
	if (s1)
		check_fn(s1, f.a, "beta", "beta");
	ASSERT_EQ(ask_symbols(cache, ea, f.fa, f.a), 0); /* a loaded file is a hit */
	file_cache__stats(cache, &st);
	ASSERT_EQ(st.sym.misses, 1);
	ASSERT_EQ(st.sym.hits, 2);

	/* a file that does not load: its error, remembered */
	ASSERT_EQ(ask_symbols(cache, ebad, f.fbad, f.bad), EAGAIN);
	errno = 0;
	ASSERT_TRUE(!file_cache__symbols(cache, ebad, NULL, UINT64_MAX));
	ASSERT_EQ(errno, ENOEXEC);
	ASSERT_EQ(ask_symbols(cache, ebad, f.fbad, f.bad), ENOEXEC);

	/* files nobody holds make room for new ones; loading ones stay */
	symtab__put(s1);
	cached_file__put(ea);
	cached_file__put(ebad);
	eb = cache_file(cache, f.fb);
	ec = cache_file(cache, f.fc);
	if (!eb || !ec)
		goto out;
	ASSERT_EQ(ask_symbols(cache, eb, f.fb, f.b), EAGAIN);
	ASSERT_EQ(ask_symbols(cache, ec, f.fc, f.c), EAGAIN);
	file_cache__stats(cache, &st);
	ASSERT_EQ(st.files, 2);
	ASSERT_EQ(st.sym.evictions, 1); /* a's; bad had none */
	s2 = file_cache__symbols(cache, eb, NULL, UINT64_MAX);
	s3 = file_cache__symbols(cache, ec, NULL, UINT64_MAX);
	ASSERT_TRUE(s2 && s3, "held files keep their loads");
	file_cache__stats(cache, &st);
	ASSERT_EQ(st.sym.files, 2);
	symtab__put(s2);
	symtab__put(s3);

	/* the synchronous get waits for a load in the thread */
	ea = cache_file(cache, f.fa);
	ASSERT_EQ(ask_symbols(cache, ea, f.fa, f.a), EAGAIN);
	s1 = file_cache__load_symbols(cache, f.fa, "/", f.a);
	ASSERT_TRUE(s1 != NULL, "get waits for the thread's load");
	symtab__put(s1);
	file_cache__stats(cache, &st);
	ASSERT_EQ(st.sym.misses, 5);
	cached_file__put(ea);

	/* freed with loads queued: nothing leaks (ASan) */
	file_cache__forget_symbols(cache, eb);
	ASSERT_EQ(ask_symbols(cache, eb, f.fb, f.b), EAGAIN);
	ebad = cache_file(cache, f.fbad);
	ASSERT_EQ(ask_symbols(cache, ebad, f.fbad, f.bad), EAGAIN); /* evicted: loaded again */
	file_cache__free(cache);
	cache = NULL;
	cached_file__put(ebad);
out:
	file_cache__free(cache);
	cached_file__put(eb);
	cached_file__put(ec);
	cache_files_close(&f);
}

/* Every function libc exports is found at its own address. */
static void test_libc_dynsym(void)
{
	const char *libc = "/lib/x86_64-linux-gnu/libc.so.6";
	char cmd[256], line[1024];
	size_t n = 0, bad = 0;
	struct symtab *s;
	FILE *p;

	if (access(libc, R_OK)) {
		TEST_SKIP("no libc.so.6 where Debian has it");
		return;
	}
	s = load(libc, "/", NULL);
	if (!ASSERT_TRUE(s))
		return;
	snprintf(cmd, sizeof(cmd), "nm -D -S --defined-only %s", libc);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		unsigned long long a, sz;
		char t, name[512];
		struct sym_result r;
		uint64_t off;

		if (sscanf(line, "%llx %llx %c %511s", &a, &sz, &t, name) != 4 ||
		    (t != 'T' && t != 'W' && t != 'i') || !sz || !vaddr_to_off(libc, a, &off))
			continue;
		n++;
		if (symtab__lookup(s, off + sz / 2, &r) || r.start != a) {
			if (bad++ < 5)
				fprintf(stderr, "libc %s at %llx: got %s\n", name, a, r.name);
		}
	}
	if (p)
		pclose(p);
	ASSERT_TRUE(n > 1000, "%zu functions", n);
	ASSERT_EQ(bad, 0);
	symtab__put(s);
}

static void test_kallsyms_fake(void)
{
	static const char txt[] = "ffffffff81000000 T _stext\n"
				  "ffffffff81000000 t alias_local\n"
				  "ffffffff81000100 T do_thing\n"
				  "ffffffff81000200 t helper\n"
				  "ffffffff81000300 D some_data\n"
				  "ffffffff81000400 W weak_fn\n"
				  "garbage line\n"
				  "ffffffff81000500 Tmissing_space\n"
				  "ffffffffc0000000 t mod_fn\t[mymod]\n"
				  "ffffffffc0000100 T mod_fn2\t[mymod]\n";
	static const char hidden[] = "0000000000000000 T _stext\n0000000000000000 T schedule\n";
	char f[PATH_MAX + 16];
	struct kallsyms *k;
	uint64_t st = 0, lo, hi;
	char nb[KSYM_NAME_MAX];

	snprintf(f, sizeof(f), "%s/kallsyms", tmp);
	write_file(f, txt, sizeof(txt) - 1);
	k = kallsyms__load(f);
	if (!ASSERT_TRUE(k))
		return;
	ASSERT_STREQ(kallsyms__lookup(k, 0xffffffff81000050, &st, nb, sizeof(nb)), "_stext");
	ASSERT_EQ(st, 0xffffffff81000000);
	ASSERT_STREQ(kallsyms__lookup(k, 0xffffffff81000100, NULL, nb, sizeof(nb)), "do_thing");
	ASSERT_STREQ(kallsyms__lookup(k, 0xffffffff81000310, NULL, nb, sizeof(nb)),
		     "helper"); /* data skipped */
	ASSERT_STREQ(kallsyms__lookup(k, 0xffffffff81000401, NULL, nb, sizeof(nb)), "weak_fn");
	ASSERT_STREQ(kallsyms__lookup(k, 0xffffffffc0000010, NULL, nb, sizeof(nb)),
		     "mod_fn [mymod]");
	ASSERT_STREQ(kallsyms__lookup(k, 0xffffffffc0000100, NULL, nb, sizeof(nb)),
		     "mod_fn2 [mymod]");
	ASSERT_TRUE(!kallsyms__lookup(k, 0xffffffff80000000, NULL, nb, sizeof(nb)));
	kallsyms__range(k, &lo, &hi);
	ASSERT_EQ(lo, 0xffffffff81000000);
	ASSERT_EQ(hi, 0xffffffffc0000100);
	ASSERT_TRUE(kallsyms__mem_size(k) > 6 * 4 &&
		    kallsyms__mem_size(k) < 2000); /* with 16 inflated blocks of 74 bytes */
	kallsyms__free(k);

	/* a symbol over 4 GiB above the first is left out, not misplaced */
	static const char far[] = "ffffffff81000000 T _stext\n"
				  "00000000a0000000 T too_low_first\n"
				  "ffffffffc0000000 T far_fn\n";
	write_file(f, far, sizeof(far) - 1);
	k = kallsyms__load(f);
	if (!ASSERT_TRUE(k))
		return;
	ASSERT_STREQ(kallsyms__lookup(k, 0xa0000010, NULL, nb, sizeof(nb)), "too_low_first");
	ASSERT_TRUE(!kallsyms__lookup(k, 0xffffffffc0000010, NULL, nb, sizeof(nb)));
	ASSERT_TRUE(!kallsyms__lookup(k, 0xffffffff81000010, NULL, nb, sizeof(nb)));
	kallsyms__free(k);

	write_file(f, hidden, sizeof(hidden) - 1);
	errno = 0;
	ASSERT_TRUE(!kallsyms__load(f));
	ASSERT_EQ(errno, EPERM);
	errno = 0;
	ASSERT_TRUE(!kallsyms__load("/nonexistent/kallsyms"));
	ASSERT_EQ(errno, ENOENT);
}

static bool proc_kallsyms_addr(const char *name, uint64_t *addr)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen("/proc/kallsyms", "r");

	while (f && !found && fgets(line, sizeof(line), f)) {
		unsigned long long a;
		char t, n[512];

		if (sscanf(line, "%llx %c %511s", &a, &t, n) == 3 && !strcmp(n, name) &&
		    (t == 'T' || t == 't') && a) {
			*addr = a;
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/* Every text symbol of /proc/kallsyms starts an entry of k, under its own
 * name where no other symbol shares its address (the names come out of
 * their deflated blocks right, block edges included). */
static void every_kernel_symbol(const struct kallsyms *k)
{
	char line[1024], name[KSYM_NAME_MAX], prev[KSYM_NAME_MAX] = "", nb[KSYM_NAME_MAX];
	unsigned long long a, pa = 0;
	uint64_t st;
	size_t n = 0, exact = 0, bad = 0;
	bool prev_shared = true;
	char type, mod[160];
	FILE *f = fopen("/proc/kallsyms", "re");

	if (!ASSERT_TRUE(f))
		return;
	/* a name is checked when the line after it shows its address unshared */
	while (fgets(line, sizeof(line), f)) {
		int r = sscanf(line, "%llx %c %511s [%127[^]]]", &a, &type, name, mod);

		if (r < 3 || !strchr("tTwW", type) || !a)
			continue;
		if (r == 4)
			snprintf(name + strlen(name), sizeof(name) - strlen(name), " [%s]", mod);
		if (pa && a != pa && !prev_shared) {
			if (!kallsyms__lookup(k, pa, &st, nb, sizeof(nb)) || st != pa ||
			    strcmp(nb, prev))
				bad++;
			exact++;
		}
		prev_shared = a == pa;
		if (!kallsyms__lookup(k, a, &st, nb, sizeof(nb)) || st != a)
			bad++;
		n++;
		pa = a;
		snprintf(prev, sizeof(prev), "%s", name);
	}
	fclose(f);
	ASSERT_TRUE(n > 1000 && exact > n / 2, "%zu symbols, %zu checked by name", n, exact);
	ASSERT_EQ(bad, 0);
}

static void test_kallsyms_proc(void)
{
	const char *names[] = { "schedule", "do_syscall_64" };
	struct kallsyms *k = kallsyms__load("/proc/kallsyms");
	char nb[KSYM_NAME_MAX];

	if (!k) {
		ASSERT_TRUE(errno == EPERM, "kallsyms: %s", strerror(errno));
		TEST_SKIP("/proc/kallsyms addresses hidden");
		return;
	}
	for (size_t i = 0; i < 2; i++) {
		uint64_t a, st = 0;

		if (!proc_kallsyms_addr(names[i], &a))
			continue;
		ASSERT_STREQ(kallsyms__lookup(k, a, &st, nb, sizeof(nb)), names[i]);
		ASSERT_EQ(st, a);
		ASSERT_STREQ(kallsyms__lookup(k, a + 4, NULL, nb, sizeof(nb)), names[i]);
	}
	every_kernel_symbol(k);
	kallsyms__free(k);
}

int main(void)
{
	char t[] = "/tmp/test_symtab.XXXXXX";

	if (!mkdtemp(t)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tmp, sizeof(tmp), "%s", t);
	have_tools = build();
	if (!have_tools) {
		fprintf(stderr, "building the test programs failed\n");
		return 1;
	}
	RUN_TEST(test_pie);
	RUN_TEST(test_nopie_two_exec_segments);
	RUN_TEST(test_shared_library);
	RUN_TEST(test_stripped_fde_names);
	RUN_TEST(test_minidebuginfo);
	RUN_TEST(test_debuglink);
	RUN_TEST(test_build_id_in_root);
	RUN_TEST(test_cxx_demangling);
	RUN_TEST(test_demangle);
	RUN_TEST(test_demangle_bomb);
	RUN_TEST(test_demangle_bomb_rust);
	RUN_TEST(test_malformed);
	RUN_TEST(test_alias_preference);
	RUN_TEST(test_many_aliases);
	RUN_TEST(test_cache);
	RUN_TEST(test_cache_loader);
	RUN_TEST(test_cache_loader_keeps_settled);
	RUN_TEST(test_cache_derived);
	RUN_TEST(test_libc_dynsym);
	RUN_TEST(test_kallsyms_fake);
	RUN_TEST(test_kallsyms_proc);
	if (!getenv("KEEP_TMP"))
		sh("rm -rf '%s'", tmp);
	return TEST_MAIN_END();
}
