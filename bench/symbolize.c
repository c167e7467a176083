// SPDX-License-Identifier: MIT
/*
 * Symbolization benchmark: function names for N random addresses inside the
 * function symbols of one large binary, with our symtab (timed from a new,
 * empty cache, so the time includes loading the file's symbols), with
 * llvm-symbolizer (all N addresses, one process, load included) and with
 * addr2line (a subset, extrapolated: it is slow). Checks that our names
 * agree with llvm-symbolizer's.
 *
 *   symbolize [-n N] [-m N_ADDR2LINE] [-s SEED] FILE
 *
 * Exits 1 when a target is missed: >= 1 M addresses/s, >= 2x
 * llvm-symbolizer, >= 99 % agreement.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "file_cache.h"
#include "symtab.h"

struct fn {
	uint64_t addr, size;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: seeded, so every run picks the same addresses */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

struct seg {
	uint64_t off, vaddr, filesz;
};

/* The sized function symbols (from .symtab, else .dynsym) and the PT_LOAD
 * segments, read independently of daemon/symbolize/symtab.c. */
static int read_elf(const char *file, struct fn **fns, size_t *nfns, struct seg *segs,
		    size_t *nsegs)
{
	int fd = open(file, O_RDONLY);
	Elf_Scn *scn = NULL, *best = NULL;
	size_t n = 0, cap = 0, nph;
	GElf_Shdr sh;
	Elf *e;

	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_getphdrnum(e, &nph)) {
		close(fd);
		return -1;
	}
	*nsegs = 0;
	for (size_t i = 0; i < nph && *nsegs < 64; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, i, &ph) && ph.p_type == PT_LOAD)
			segs[(*nsegs)++] = (struct seg){ ph.p_offset, ph.p_vaddr, ph.p_filesz };
	}
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB || (sh.sh_type == SHT_DYNSYM && !best))
			best = scn;
	}
	*fns = NULL;
	if (best && gelf_getshdr(best, &sh)) {
		Elf_Data *d = elf_getdata(best, NULL);
		size_t cnt = d && sh.sh_entsize ? d->d_size / sh.sh_entsize : 0;

		for (size_t i = 0; i < cnt; i++) {
			GElf_Sym s;

			if (!gelf_getsym(d, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
			    s.st_shndx == SHN_UNDEF || !s.st_size || !s.st_value)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 65536;
				*fns = realloc(*fns, cap * sizeof(**fns));
			}
			(*fns)[n++] = (struct fn){ s.st_value, s.st_size };
		}
	}
	*nfns = n;
	elf_end(e);
	close(fd);
	return n ? 0 : -1;
}

static bool to_offset(const struct seg *segs, size_t nsegs, uint64_t va, uint64_t *off)
{
	for (size_t i = 0; i < nsegs; i++)
		if (va - segs[i].vaddr < segs[i].filesz) {
			*off = va - segs[i].vaddr + segs[i].off;
			return true;
		}
	return false;
}

/* Runs argv with stdin from in and stdout to out; the wall time, or < 0. */
static double run(char *const argv[], const char *in, const char *out)
{
	double t0 = now();
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		int i = open(in, O_RDONLY), o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (i < 0 || o < 0 || dup2(i, 0) < 0 || dup2(o, 1) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	return now() - t0;
}

/* The first line of each answer: llvm-symbolizer separates answers with a
 * blank line, addr2line -f prints two lines per address. */
static char **read_names(const char *file, size_t n, bool blank_separated)
{
	char **names = calloc(n, sizeof(*names));
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t len = 0, i = 0, k = 0;
	ssize_t r;

	while (f && i < n && (r = getline(&line, &len, f)) >= 0) {
		if (r && line[r - 1] == '\n')
			line[--r] = '\0';
		if (blank_separated) {
			if (!r) {
				k = 0;
				continue;
			}
			if (k++ == 0)
				names[i++] = strdup(line);
		} else if (k++ % 2 == 0) {
			names[i++] = strdup(line);
		}
	}
	free(line);
	if (f)
		fclose(f);
	return names;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* Ours: a new, empty cache each run, so the time is the load plus every
 * lookup (the file's pages are in the page cache, as for the others). */
static double run_ours(const char *file, const uint64_t *off, size_t n, const char **names,
		       const char **raw, size_t *found, double *t_load, size_t *nsyms, size_t *mem)
{
	struct file_cache *cache;
	double t0 = now(), t;
	struct symtab *s;
	int fd;

	cache = file_cache__new(&(struct file_cache_limits){ .max_files = 16 });
	fd = open(file, O_RDONLY | O_CLOEXEC);
	s = file_cache__load_symbols(cache, fd, "/", file);
	*t_load = now() - t0;
	if (!s) {
		fprintf(stderr, "symtab: %s: %s\n", file, strerror(errno));
		exit(1);
	}
	*found = 0;
	for (size_t i = 0; i < n; i++) {
		struct sym_result r;

		if (!symtab__lookup(s, off[i], &r)) {
			/* copied: the strings die with the symtab below */
			names[i] = r.name;
			raw[i] = r.raw_name;
			(*found)++;
		} else {
			names[i] = raw[i] = NULL;
		}
	}
	t = now() - t0;
	for (size_t i = 0; i < n; i++) {
		names[i] = names[i] ? strdup(names[i]) : NULL;
		raw[i] = raw[i] ? strdup(raw[i]) : NULL;
	}
	*nsyms = symtab__nr_symbols(s);
	*mem = symtab__mem_size(s);
	symtab__put(s);
	file_cache__free(cache);
	close(fd);
	return t;
}

/* With DWARF: load, DWARF load, then every address's frames (lines and
 * inline chain) through symtab__lookup_frames. Returns the lookup time. */
static double run_frames(const char *file, const uint64_t *off, size_t n, double *t_dwarf,
			 size_t *with_line, size_t *frames, size_t *mem)
{
	struct symtab_cache *cache =
		file_cache__new(&(struct file_cache_limits){ .max_files = 16 });
	struct sym_frames *fr = malloc(sizeof(*fr));
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct symtab *s = file_cache__load_symbols(cache, fd, "/", file);
	double t0, t = -1;

	*with_line = *frames = 0;
	if (s) {
		t0 = now();
		if (symtab__has_lines(s)) {
			*t_dwarf = now() - t0;
			t0 = now();
			for (size_t i = 0; i < n; i++) {
				if (symtab__lookup_frames(s, off[i], fr))
					continue;
				*frames += fr->n;
				*with_line += fr->f[0].line > 0;
			}
			t = now() - t0;
			*mem = symtab__mem_size(s);
		}
		symtab__put(s);
	}
	file_cache__free(cache);
	free(fr);
	close(fd);
	return t;
}

int main(int argc, char **argv)
{
	enum { RUNS = 3 };
	size_t n = 100000, m = 2000, nfns, nsegs, found = 0, agree = 0, agree_text = 0, shown = 0,
	       mangled = 0;
	size_t nsyms = 0, mem = 0;
	const char *llvm = getenv("LLVM_SYMBOLIZER") ? getenv("LLVM_SYMBOLIZER")
						     : "llvm-symbolizer";
	char tmpl[] = "/tmp/bench_symbolize.XXXXXX", addrs[64], addrs_m[64], out_llvm[64],
	     out_raw[64], out_a2l[64], cmd[256], obj[4096];
	double t_ours = 1e9, t_load = 0, t_llvm = 1e9, t_a2l, rate_ours, rate_llvm, rate_a2l;
	uint64_t seed = 1, *va, *off;
	const char **ours, **ours_raw;
	struct seg segs[64];
	struct fn *fns;
	struct stat st;
	char **ln = NULL, **lr = NULL;
	const char *file;
	bool ok = true;
	FILE *f;
	int c;

	while ((c = getopt(argc, argv, "n:m:s:")) != -1) {
		if (c == 'n')
			n = strtoul(optarg, NULL, 0);
		else if (c == 'm')
			m = strtoul(optarg, NULL, 0);
		else if (c == 's')
			seed = strtoull(optarg, NULL, 0);
		else
			return 2;
	}
	if (optind != argc - 1 || !n) {
		fprintf(stderr, "usage: %s [-n N] [-m N_ADDR2LINE] [-s SEED] FILE\n", argv[0]);
		return 2;
	}
	if (m > n)
		m = n;
	file = argv[optind];
	if (stat(file, &st) || read_elf(file, &fns, &nfns, segs, &nsegs)) {
		fprintf(stderr, "%s: no function symbols\n", file);
		return 2;
	}
	rng_state = seed * 0x9e3779b97f4a7c15ULL + 1;
	va = malloc(n * sizeof(*va));
	off = malloc(n * sizeof(*off));
	ours = calloc(n, sizeof(*ours));
	ours_raw = calloc(n, sizeof(*ours_raw));
	for (size_t i = 0; i < n; i++) {
		const struct fn *fn;

		do {
			fn = &fns[rnd() % nfns];
			va[i] = fn->addr + rnd() % fn->size;
		} while (!to_offset(segs, nsegs, va[i], &off[i]));
	}
	printf("binary: %s (%.1f MB, %zu sized function symbols)\n", file, st.st_size / 1e6, nfns);
	printf("addresses: %zu random ones inside function symbols (seed %llu); times are the best of %d runs\n",
	       n, (unsigned long long)seed, RUNS);

	for (int r = 0; r < RUNS; r++) {
		double tl, t;

		for (size_t i = 0; i < n; i++) {
			free((void *)ours[i]);
			free((void *)ours_raw[i]);
		}
		t = run_ours(file, off, n, ours, ours_raw, &found, &tl, &nsyms, &mem);
		if (t < t_ours) {
			t_ours = t;
			t_load = tl;
		}
	}
	rate_ours = n / t_ours;
	printf("pprofd symtab:   %zu addresses in %7.1f ms = %.2f M/s (load %.1f ms included; %zu symbols, "
	       "%.1f MB after the run; %zu found)\n",
	       n, t_ours * 1e3, rate_ours / 1e6, t_load * 1e3, nsyms, mem / 1e6, found);
	{
		double td = 0, tf, best = 1e9, best_td = 0;
		size_t wl = 0, nf = 0, dmem = 0;

		for (int r = 0; r < RUNS; r++) {
			tf = run_frames(file, off, n, &td, &wl, &nf, &dmem);
			if (tf < 0)
				break;
			if (tf < best) {
				best = tf;
				best_td = td;
			}
		}
		if (best < 1e9)
			printf("pprofd DWARF:    %zu addresses in %7.1f ms = %.3f M/s, %.2f us each (DWARF load "
			       "%.1f ms not included; %.2f frames an address, %zu with a line; %.1f MB after)\n",
			       n, best * 1e3, n / best / 1e6, best / n * 1e6, best_td * 1e3,
			       (double)nf / n, wl, dmem / 1e6);
		else
			printf("pprofd DWARF:    none in this file\n");
	}

	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(addrs, sizeof(addrs), "%s/addrs", tmpl);
	snprintf(addrs_m, sizeof(addrs_m), "%s/addrs_m", tmpl);
	snprintf(out_llvm, sizeof(out_llvm), "%s/llvm", tmpl);
	snprintf(out_raw, sizeof(out_raw), "%s/llvm_raw", tmpl);
	snprintf(out_a2l, sizeof(out_a2l), "%s/a2l", tmpl);
	f = fopen(addrs, "w");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "0x%llx\n", (unsigned long long)va[i]);
	fclose(f);
	f = fopen(addrs_m, "w");
	for (size_t i = 0; i < m; i++)
		fprintf(f, "0x%llx\n", (unsigned long long)va[i]);
	fclose(f);

	snprintf(obj, sizeof(obj), "--obj=%s", file);
	{
		char *av[] = { (char *)llvm, obj, "--no-inlines", "--functions=linkage", NULL };
		char *av_raw[] = { (char *)llvm,    obj, "--no-inlines", "--functions=linkage",
				   "--no-demangle", NULL };

		for (int r = 0; r < RUNS; r++) {
			double t = run(av, addrs, out_llvm);

			if (t < 0) {
				fprintf(stderr, "%s failed\n", llvm);
				return 1;
			}
			if (t < t_llvm)
				t_llvm = t;
		}
		rate_llvm = n / t_llvm;
		printf("llvm-symbolizer: %zu addresses in %7.1f ms = %.2f M/s (%s --no-inlines --functions=linkage)\n",
		       n, t_llvm * 1e3, rate_llvm / 1e6, llvm);
		ln = read_names(out_llvm, n, true);
		if (run(av_raw, addrs, out_raw) >= 0) /* untimed: the mangled names */
			lr = read_names(out_raw, n, true);
	}
	{
		char *av[] = { "addr2line", "-f", "-e", (char *)file, NULL };

		t_a2l = run(av, addrs_m, out_a2l);
		if (t_a2l > 0) {
			rate_a2l = m / t_a2l;
			printf("addr2line:       %zu addresses in %7.1f ms = %.1f k/s "
			       "(a subset, one run; extrapolated to %zu: %.1f s)\n",
			       m, t_a2l * 1e3, rate_a2l / 1e3, n, n / rate_a2l);
		} else {
			printf("addr2line:       failed or missing\n");
		}
	}

	/*
	 * Agreement is on the function: the same symbol, compared by its ELF
	 * name. The demangled text is compared too, but it differs by design
	 * where GNU's demangler (ours, c++filt's, gdb's, perf's) and LLVM's
	 * spell a name differently: "[clone .isra.0]" / "(.isra.0)",
	 * "{lambda(int)#1}" / "'lambda'(int)".
	 */
	for (size_t i = 0; i < n; i++) {
		const char *o = ours[i] ? ours[i] : "??", *orw = ours_raw[i] ? ours_raw[i] : "??";
		const char *l = ln[i] ? ln[i] : "(none)";
		bool same = lr ? lr[i] && !strcmp(orw, lr[i]) : !strcmp(o, l);

		agree += same;
		agree_text += !strcmp(o, l);
		/* left mangled on purpose: see demangle_bound() in daemon/symbolize/symtab.c */
		mangled += same && ours[i] && !strcmp(o, orw) && !strncmp(o, "_Z", 2) &&
			   strcmp(o, l);
		if (getenv("SYMBOLIZE_DIFFS") && strcmp(o, l))
			fprintf(stderr, "%s\n%s\n\n", o, l);
		if (!same && shown++ < 5)
			printf("  differs at 0x%llx: ours \"%s\", llvm-symbolizer \"%s\"\n",
			       (unsigned long long)va[i], orw, lr && lr[i] ? lr[i] : l);
	}
	printf("ratio ours/llvm-symbolizer: %.2fx\n", rate_ours / rate_llvm);
	printf("agreement with llvm-symbolizer: %.2f %% same function (%zu/%zu); %.2f %% same demangled "
	       "text, %.2f %% left mangled by our demangler-bomb guard, the rest GNU vs LLVM demangler style\n",
	       100.0 * agree / n, agree, n, 100.0 * agree_text / n, 100.0 * mangled / n);

#define TARGET(cond, what)                                                   \
	do {                                                                 \
		printf("target %-36s %s\n", what, (cond) ? "PASS" : "FAIL"); \
		ok &= (cond);                                                \
	} while (0)
	TARGET(rate_ours >= 1e6, ">= 1 M addresses/s:");
	TARGET(rate_ours >= 2 * rate_llvm, ">= 2x llvm-symbolizer:");
	TARGET(agree * 100 >= n * 99, ">= 99 % agreement:");

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", tmpl);
	for (size_t i = 0; i < n; i++) {
		free((void *)ours[i]);
		free((void *)ours_raw[i]);
	}
	free_names(ln, n);
	free_names(lr, n);
	free(ours);
	free(ours_raw);
	free(va);
	free(off);
	free(fns);
	return ok ? 0 : 1;
}
