// SPDX-License-Identifier: MIT
/*
 * DWARF lines and inline frames (daemon/symbolize/dwlines.c through symtab.c): builds
 * a program with gcc -g -O2 in which a static function is inlined into
 * another, itself inlined into a known caller, and checks the frames of
 * every address of that caller against the source lines we know and
 * against what `addr2line -i -f` says for the same addresses; then the same
 * file without DWARF (one frame, as before), with its DWARF in a separate
 * build-ID debug file, and broken DWARF.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dwlines.h"
#include "file_cache.h"
#include "symtab.h"
#include "elf_probe.h"
#include "test.h"

static char tmp[PATH_MAX];
static bool built;

/* Line numbers are found by the markers, so the source may change. */
static const char *src = "#include <stdio.h>\n"
			 "#include <stdlib.h>\n"
			 "volatile unsigned sink;\n"
			 "static inline __attribute__((always_inline)) unsigned\n"
			 "inner_mix(unsigned x)\n"
			 "{\n"
			 "	x ^= x >> 7; /* INNER */\n"
			 "	return x * 2654435761u;\n"
			 "}\n"
			 "static inline __attribute__((always_inline)) unsigned\n"
			 "middle_step(unsigned x)\n"
			 "{\n"
			 "	return inner_mix(x + sink) + 3; /* MIDDLE */\n"
			 "}\n"
			 "__attribute__((noinline)) unsigned outer_loop(unsigned n)\n"
			 "{\n"
			 "	unsigned acc = 1;\n"
			 "	for (unsigned i = 0; i < n; i++)\n"
			 "		acc = middle_step(acc ^ i); /* OUTER */\n"
			 "	return acc;\n"
			 "}\n"
			 "int main(int argc, char **argv)\n"
			 "{\n"
			 "	printf(\"%u\\n\", outer_loop(argc > 1 ? atoi(argv[1]) : 10));\n"
			 "	return 0;\n"
			 "}\n";

static int marker_line(const char *marker)
{
	int line = 1;

	for (const char *p = src; *p; p++) {
		if (!strncmp(p, marker, strlen(marker)))
			return line;
		if (*p == '\n')
			line++;
	}
	return -1;
}

static const char *base(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path ? path : "??";
}

static struct symtab *load(const char *file, const char *root)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct symtab *s;

	if (fd < 0)
		return NULL;
	s = symtab__load(fd, root, file);
	close(fd);
	return s;
}

/* addr2line's frames of one address: name and base:line, innermost first. */
struct a2l {
	int n;
	char name[SYM_FRAMES_MAX][128];
	char file[SYM_FRAMES_MAX][128];
	long line[SYM_FRAMES_MAX];
};

/* Runs addr2line -i -f -a on n addresses at once. */
static bool addr2line(const char *file, const uint64_t *va, int n, struct a2l *out)
{
	size_t cap = PATH_MAX + 64 + (size_t)n * 20, len;
	char *cmd = malloc(cap), line[1024];
	int cur = -1;
	bool name_next = true;
	FILE *f;

	if (!cmd)
		return false;
	len = (size_t)snprintf(cmd, cap, "addr2line -i -f -a -e '%s'", file);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(cmd + len, cap - len, " %llx", (unsigned long long)va[i]);
	f = popen(cmd, "r");
	free(cmd);
	if (!f)
		return false;
	memset(out, 0, (size_t)n * sizeof(*out));
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "0x", 2)) {
			cur++;
			name_next = true;
			continue;
		}
		if (cur < 0 || cur >= n)
			continue;
		if (name_next) {
			if (out[cur].n < SYM_FRAMES_MAX)
				snprintf(out[cur].name[out[cur].n], 128, "%.127s", line);
			name_next = false;
		} else {
			char *colon = strrchr(line, ':');

			if (out[cur].n < SYM_FRAMES_MAX) {
				if (colon) {
					*colon = '\0';
					out[cur].line[out[cur].n] = strtol(colon + 1, NULL, 10);
				}
				snprintf(out[cur].file[out[cur].n], 128, "%s", base(line));
				out[cur].n++;
			}
			name_next = true;
		}
	}
	return pclose(f) == 0 && cur == n - 1;
}

static bool build(void)
{
	char p[PATH_MAX + 64];
	FILE *f;

	snprintf(p, sizeof(p), "%s/inl.c", tmp);
	f = fopen(p, "w");
	if (!f)
		return false;
	fputs(src, f);
	fclose(f);
	return !sh("cd %s && gcc -g -O2 -Wl,--build-id=sha1 inl.c -o inl && "
		   "cp inl inl_nodwarf && strip --strip-debug inl_nodwarf && "
		   /* DWARF in a build-ID debug file under a root, the binary stripped */
		   "objcopy --only-keep-debug inl inl.debug && "
		   "cp inl inl_split && strip --strip-debug inl_split && "
		   "id=$(readelf -n inl | sed -n 's/.*Build ID: *//p') && "
		   "mkdir -p root/usr/lib/debug/.build-id/${id%%${id#??}} && "
		   "cp inl.debug root/usr/lib/debug/.build-id/${id%%${id#??}}/${id#??}.debug",
		   tmp);
}

/* Every address of outer_loop: our frames and addr2line's agree, and some
 * address is inner_mix in middle_step in outer_loop at the marked lines. */
static void check_inline_chain(const char *file, const char *root)
{
	enum { MAXA = 4096 };
	uint64_t addr, size, off, *va;
	struct a2l *want;
	struct sym_frames *fr;
	struct symtab *s;
	int n = 0, full = 0, inlined = 0, li = marker_line("INNER"), lm = marker_line("MIDDLE"),
	    lo = marker_line("OUTER");

	if (!ASSERT_TRUE(built, "test program built"))
		return;
	{
		char bin[PATH_MAX + 16];

		snprintf(bin, sizeof(bin), "%s/inl", tmp);
		if (!ASSERT_TRUE(nm_sym(bin, "outer_loop", &addr, &size), "nm finds outer_loop"))
			return;
	}
	if (!ASSERT_TRUE(size > 0 && size < MAXA, "outer_loop has a size (%llu)",
			 (unsigned long long)size))
		return;
	s = load(file, root);
	if (!ASSERT_TRUE(s, "load %s: %s", file, strerror(errno)))
		return;
	ASSERT_TRUE(symtab__has_lines(s), "%s has usable DWARF", file);
	va = calloc(size, sizeof(*va));
	want = calloc(size, sizeof(*want));
	fr = malloc(sizeof(*fr));
	if (!va || !want || !fr)
		abort();
	for (uint64_t a = addr; a < addr + size; a++)
		va[n++] = a;
	{
		char bin[PATH_MAX + 16];

		snprintf(bin, sizeof(bin), "%s/inl", tmp); /* addr2line reads the -g one */
		if (!ASSERT_TRUE(addr2line(bin, va, n, want), "addr2line runs"))
			goto out;
	}
	for (int i = 0; i < n; i++) {
		char why[256];
		bool same;

		if (!ASSERT_TRUE(vaddr_to_off(file, va[i], &off)) ||
		    !ASSERT_OK(symtab__lookup_frames(s, off, fr)))
			continue;
		same = (int)fr->n == want[i].n;
		for (unsigned k = 0; same && k < fr->n; k++) {
			const struct sym_frame *f = &fr->f[k];

			same = !strcmp(f->name, want[i].name[k]) && f->line == want[i].line[k] &&
			       !strcmp(base(f->file), want[i].file[k]);
		}
		snprintf(why, sizeof(why),
			 "0x%llx: ours %u frames (%s %s:%lld ...), addr2line %d (%s %s:%ld ...)",
			 (unsigned long long)va[i], fr->n, fr->f[0].name, base(fr->f[0].file),
			 (long long)fr->f[0].line, want[i].n, want[i].name[0], want[i].file[0],
			 want[i].line[0]);
		ASSERT_TRUE(same, "%s", why);
		ASSERT_STREQ(fr->f[fr->n - 1].name, "outer_loop");
		if (fr->n > 1)
			inlined++;
		if (fr->n == 3 && !strcmp(fr->f[0].name, "inner_mix") && fr->f[0].line == li &&
		    !strcmp(fr->f[1].name, "middle_step") && fr->f[1].line == lm &&
		    fr->f[2].line == lo && !strcmp(base(fr->f[0].file), "inl.c") &&
		    !strcmp(base(fr->f[0].decl_file), "inl.c") && fr->f[0].decl_line == li - 2 &&
		    fr->f[2].decl_line == lo - 4)
			full++;
	}
	ASSERT_TRUE(inlined > 0, "some address of outer_loop has inline frames");
	ASSERT_TRUE(full > 0, "inner_mix:%d <- middle_step:%d <- outer_loop:%d at some address", li,
		    lm, lo);
	ASSERT_TRUE(symtab__mem_size(s) > 0);
out:
	free(va);
	free(want);
	free(fr);
	symtab__put(s);
}

static void test_inline_chain(void)
{
	char bin[PATH_MAX + 16];

	snprintf(bin, sizeof(bin), "%s/inl", tmp);
	check_inline_chain(bin, "/");
}

/* Stripped of DWARF (and no debug file): one frame, the symbol, as before. */
static void test_no_dwarf(void)
{
	char bin[PATH_MAX + 16];
	struct sym_frames *fr = malloc(sizeof(*fr));
	struct sym_result r;
	uint64_t addr, size, off;
	struct symtab *s;

	snprintf(bin, sizeof(bin), "%s/inl_nodwarf", tmp);
	if (!fr || !ASSERT_TRUE(built) || !ASSERT_TRUE(nm_sym(bin, "outer_loop", &addr, &size)))
		goto out;
	s = load(bin, "/nonexistent-root");
	if (!ASSERT_TRUE(s))
		goto out;
	ASSERT_TRUE(!symtab__has_lines(s), "no DWARF in %s", bin);
	for (uint64_t a = addr; a < addr + size; a += 3) {
		if (!ASSERT_TRUE(vaddr_to_off(bin, a, &off)) ||
		    !ASSERT_OK(symtab__lookup(s, off, &r)) ||
		    !ASSERT_OK(symtab__lookup_frames(s, off, fr)))
			continue;
		ASSERT_EQ(fr->n, 1);
		ASSERT_STREQ(fr->f[0].name, r.name);
		ASSERT_TRUE(!fr->f[0].file && !fr->f[0].line && !fr->f[0].decl_file);
		ASSERT_EQ(fr->start, r.start);
	}
	symtab__put(s);
out:
	free(fr);
}

/* Lines loaded in the symbol cache's thread: asked for once; lookups in
 * the meantime give the symbol alone, never wait; awaited, they are in;
 * a file without DWARF is no wait at all. */
static void test_lines_in_loader(void)
{
	char bin[PATH_MAX + 16], nod[PATH_MAX + 16];
	struct file_cache *c = file_cache__new(&(struct file_cache_limits){ .max_files = 8 });
	struct sym_frames *fr = malloc(sizeof(*fr));
	struct symtab *s = NULL, *s2 = NULL;
	uint64_t addr, size, off;
	int fd = -1, fd2 = -1;
	bool inlined = false;

	snprintf(bin, sizeof(bin), "%s/inl", tmp);
	snprintf(nod, sizeof(nod), "%s/inl_nodwarf", tmp);
	if (!fr || !c || !ASSERT_TRUE(built) ||
	    !ASSERT_TRUE(nm_sym(bin, "outer_loop", &addr, &size)) ||
	    !ASSERT_TRUE(vaddr_to_off(bin, addr, &off)) || !ASSERT_OK(file_cache__start_loaders(c)))
		goto out;
	fd = open(bin, O_RDONLY | O_CLOEXEC);
	fd2 = open(nod, O_RDONLY | O_CLOEXEC);
	s = file_cache__load_symbols(c, fd, "/", bin);
	if (!ASSERT_TRUE(s != NULL, "symbols loaded"))
		goto out;
	file_cache__want_lines(c, s);
	file_cache__want_lines(c, s); /* asked once */
	if (!symtab__lines_ready(s)) {
		ASSERT_OK(symtab__lookup_frames(s, off, fr));
		ASSERT_TRUE(fr->n >= 1, "the symbol while lines load");
	}
	ASSERT_TRUE(file_cache__await_lines(c, s, UINT64_MAX), "lines in after a wait");
	ASSERT_TRUE(symtab__lines_ready(s));
	for (uint64_t a = addr; a < addr + size && !inlined; a++)
		if (vaddr_to_off(bin, a, &off) && !symtab__lookup_frames(s, off, fr))
			inlined = fr->n > 1 && fr->f[0].line;
	ASSERT_TRUE(inlined, "inline frames with lines once loaded");

	s2 = file_cache__load_symbols(c, fd2, "/", nod);
	if (!ASSERT_TRUE(s2 != NULL))
		goto out;
	errno = 0;
	ASSERT_TRUE(!file_cache__await_lines(c, s2, 0), "no lines without DWARF");
	ASSERT_EQ(errno, 0);
out:
	symtab__put(s);
	symtab__put(s2);
	file_cache__free(c);
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	free(fr);
}

/* The DWARF in <root>/usr/lib/debug/.build-id/xx/yyyy.debug. */
static void test_build_id_debug_file(void)
{
	char bin[PATH_MAX + 16], root[PATH_MAX + 16];

	snprintf(bin, sizeof(bin), "%s/inl_split", tmp);
	snprintf(root, sizeof(root), "%s/root", tmp);
	check_inline_chain(bin, root);
}

/* Broken DWARF: sections cut or overwritten; never a crash, and the symbol
 * is still found. */
static void test_broken_dwarf(void)
{
	char bin[PATH_MAX + 16];
	struct sym_frames *fr = malloc(sizeof(*fr));
	uint64_t addr, size, off;

	snprintf(bin, sizeof(bin), "%s/inl_broken", tmp);
	if (!fr || !ASSERT_TRUE(built))
		goto out;
	for (int variant = 0; variant < 4; variant++) {
		struct symtab *s;

		/* overwrite .debug_info / .debug_line / .debug_abbrev contents with garbage */
		if (sh("cd %s && cp inl inl_broken && python3 - inl_broken %d <<'EOF'\n"
		       "import sys, subprocess, random\n"
		       "f, v = sys.argv[1], int(sys.argv[2])\n"
		       "out = subprocess.run(['readelf', '-SW', f], capture_output=True, text=True).stdout\n"
		       "secs = {}\n"
		       "for l in out.splitlines():\n"
		       "    p = l.replace('[ ', '[').split()\n"
		       "    if len(p) > 5 and p[1].startswith('.debug_'):\n"
		       "        secs[p[1]] = (int(p[4], 16), int(p[5], 16))\n"
		       "name = ['.debug_info', '.debug_line', '.debug_abbrev', '.debug_info'][v]\n"
		       "off, size = secs[name]\n"
		       "random.seed(v)\n"
		       "b = bytearray(open(f, 'rb').read())\n"
		       "if v == 3:\n"
		       "    b[off:off + 4] = b'\\xff\\xff\\xff\\x7f'\n"
		       "else:\n"
		       "    for i in range(off + 4, off + size):\n"
		       "        b[i] = random.randrange(256)\n"
		       "open(f, 'wb').write(b)\n"
		       "EOF",
		       tmp, variant))
			continue;
		s = load(bin, "/nonexistent-root");
		if (!ASSERT_TRUE(s) || !ASSERT_TRUE(nm_sym(bin, "outer_loop", &addr, &size))) {
			symtab__put(s);
			continue;
		}
		symtab__has_lines(s); /* either way */
		for (uint64_t a = addr; a < addr + size; a++)
			if (ASSERT_TRUE(vaddr_to_off(bin, a, &off)) &&
			    ASSERT_OK(symtab__lookup_frames(s, off, fr)))
				ASSERT_STREQ(fr->f[fr->n - 1].name, "outer_loop");
		symtab__put(s);
	}
out:
	free(fr);
}

/*
 * DWARF moved by dwz into a common file the binary names by path and build
 * ID (.gnu_debugaltlink), as Debian's -dbgsym packages ship it: the same
 * frames as addr2line's through it; without it (moved away, a FIFO in its
 * place, another dwz file there) no lines, never a wait, the symbol kept.
 */
static void test_dwz(void)
{
	char bin[PATH_MAX + 16], common[PATH_MAX + 16];
	struct symtab *s;
	time_t t0;

	if (!ASSERT_TRUE(built) ||
	    !ASSERT_OK(sh(
		    "cd %s && cp inl dz1 && cp inl dz2 && "
		    "dwz -m dwz.common -M %s/dwz.common dz1 dz2 && "
		    "readelf -S dz1 | grep -q gnu_debugaltlink && "
		    "gcc -g -O1 inl.c -o oz1 && cp oz1 oz2 && dwz -m other.common -M %s/other.common oz1 oz2",
		    tmp, tmp, tmp)))
		return;
	snprintf(bin, sizeof(bin), "%s/dz1", tmp);
	snprintf(common, sizeof(common), "%s/dwz.common", tmp);
	check_inline_chain(bin, "/");

	ASSERT_OK(sh("mv %s %s.away", common, common));
	s = load(bin, "/");
	if (ASSERT_TRUE(s)) {
		ASSERT_TRUE(!symtab__has_lines(s), "no lines without the dwz file");
		symtab__put(s);
	}
	/* a FIFO where it was: never opened (it would block) */
	ASSERT_OK(sh("mkfifo %s", common));
	t0 = time(NULL);
	s = load(bin, "/");
	if (ASSERT_TRUE(s)) {
		ASSERT_TRUE(!symtab__has_lines(s), "no lines from a FIFO");
		symtab__put(s);
	}
	ASSERT_TRUE(time(NULL) - t0 < 2);
	/* another dwz file under its name: its build ID is not the one named */
	ASSERT_OK(sh("rm -f %s && cp %s/other.common %s", common, tmp, common));
	s = load(bin, "/");
	if (ASSERT_TRUE(s)) {
		ASSERT_TRUE(!symtab__has_lines(s), "no lines from another dwz file");
		symtab__put(s);
	}
	ASSERT_OK(sh("mv %s.away %s", common, common));
}

/*
 * The DWARF budget: a file with compressed debug sections (gcc -gz) needs
 * what it keeps inflated plus its largest compressed section while that
 * one inflates (libelf frees each compressed copy), less than counting
 * every section both ways; a budget one byte short of it refuses the file
 * (counted over the limit), one of it loads it.
 */
static void test_budget(void)
{
	char bin[PATH_MAX + 16];
	struct dwlines_stats st0, st1;
	struct dwlines *d;
	size_t need = 0;
	int fd;

	if (!ASSERT_TRUE(built) ||
	    !ASSERT_OK(sh("cd %s && gcc -g -O2 -gz=zlib inl.c -o inl_gz && "
			  "readelf -S -W inl_gz | grep debug_info | grep -q ' C '",
			  tmp)))
		return;
	snprintf(bin, sizeof(bin), "%s/inl_gz", tmp);
	fd = open(bin, O_RDONLY | O_CLOEXEC);
	if (!ASSERT_TRUE(fd >= 0))
		return;
	ASSERT_TRUE(dwlines__probe(fd, &need) && need > 0 && need < SIZE_MAX, "probe: %zu", need);
	dwlines__stats(&st0);
	d = dwlines__load(fd, -1, need - 1);
	dwlines__stats(&st1);
	ASSERT_TRUE(!d && errno == EFBIG, "one byte short of %zu: refused", need);
	ASSERT_EQ(st1.over_limit, st0.over_limit + 1);
	dwlines__free(d);
	d = dwlines__load(fd, -1, need);
	ASSERT_TRUE(d, "a budget of %zu loads it", need);
	dwlines__free(d);
	close(fd);
}

int main(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmp, sizeof(tmp), "%s/pprofd-test.dwlines.XXXXXX", t ? t : "/tmp");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	built = build();
	RUN_TEST(test_inline_chain);
	RUN_TEST(test_no_dwarf);
	RUN_TEST(test_lines_in_loader);
	RUN_TEST(test_build_id_debug_file);
	RUN_TEST(test_broken_dwarf);
	RUN_TEST(test_dwz);
	RUN_TEST(test_budget);
	sh("rm -rf '%s'", tmp);
	return TEST_MAIN_END();
}
