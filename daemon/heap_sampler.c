// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "heap.skel.h"
#include "heap_sampler.h"
#include "log.h"

/*
 * libbpf 1.1 knows neither uprobe_multi nor uprobe sessions: the programs
 * are loaded as kprobe programs with the expected attach type set by hand,
 * and the links made with BPF_LINK_CREATE directly, with the kernel's uapi
 * layout of link_create.uprobe_multi (6.6+; sessions 6.13+) spelled here.
 */
#define ATTACH_UPROBE_MULTI 48   /* BPF_TRACE_UPROBE_MULTI */
#define ATTACH_UPROBE_SESSION 57 /* BPF_TRACE_UPROBE_SESSION */

struct link_create_uprobe_multi {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t um_flags;
	uint32_t pid;
};

struct heap_sampler {
	struct heap_bpf *skel;
	struct ring_buffer *rb;
	heap_event_fn fn;
	void *ctx;
	uint64_t malformed;
	int ncpus;
};

struct heap_target {
	struct heap_sampler *s;
	uint32_t pid;
	int alloc_link, free_link;
	unsigned slow;
	char libc[4096];
};

static const char *const counter_names[HEAP_CNT_NR] = {
	[HEAP_CNT_ALLOC_CALLS] = "alloc_calls",
	[HEAP_CNT_FREE_CALLS] = "free_calls",
	[HEAP_CNT_SAMPLED] = "sampled",
	[HEAP_CNT_RETURNS] = "returns",
	[HEAP_CNT_ALLOC_EVENTS] = "alloc_events",
	[HEAP_CNT_FREE_EVENTS] = "free_events",
	[HEAP_CNT_ALLOC_FAILED] = "alloc_failed",
	[HEAP_CNT_NESTED] = "nested_skipped",
	[HEAP_CNT_DROP_RINGBUF] = "drop_ringbuf",
	[HEAP_CNT_INUSE_FULL] = "inuse_table_full",
	[HEAP_CNT_NO_THREAD] = "no_thread_state",
	[HEAP_CNT_USTACK_ERR] = "ustack_err",
};

const char *heap_counter_name(enum heap_counter c)
{
	return c < HEAP_CNT_NR ? counter_names[c] : "?";
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct heap_sampler *s = ctx;
	const struct heap_event *e = data;

	/* Trust nothing, even our own kernel half: sizes must agree. */
	if (size < HEAP_FREE_EVENT_SIZE ||
	    (e->type == HEAP_EV_ALLOC &&
	     (size < sizeof(*e) || e->nr_frames > HEAP_MAX_FRAMES ||
	      size < sizeof(*e) + e->nr_frames * 8ul)) ||
	    (e->type != HEAP_EV_ALLOC && e->type != HEAP_EV_FREE)) {
		s->malformed++;
		return 0;
	}
	s->fn(e, size, s->ctx);
	return 0;
}

struct heap_sampler *heap_sampler__new(const struct heap_sampler_opts *o)
{
	struct heap_sampler *s = calloc(1, sizeof(*s));
	uint64_t rb = o->ringbuf_bytes ? o->ringbuf_bytes : 1 << 20;
	int err;

	if (!s)
		return NULL;
	s->fn = o->fn;
	s->ctx = o->ctx;
	s->ncpus = libbpf_num_possible_cpus();
	s->skel = heap_bpf__open();
	if (!s->skel) {
		err = -errno;
		log_err("heap: cannot open BPF object: %s", strerror(errno));
		goto fail;
	}
	s->skel->rodata->rate = o->rate ? o->rate : HEAP_DEFAULT_RATE;
	s->skel->rodata->wakeup_bytes = rb / 4;
	if ((err = bpf_map__set_max_entries(s->skel->maps.events, rb)) ||
	    (err = bpf_map__set_max_entries(s->skel->maps.live, o->max_live ? o->max_live : 32768)))
		goto fail;
	bpf_program__set_type(s->skel->progs.heap_alloc, BPF_PROG_TYPE_KPROBE);
	bpf_program__set_expected_attach_type(s->skel->progs.heap_alloc, ATTACH_UPROBE_SESSION);
	bpf_program__set_type(s->skel->progs.heap_free, BPF_PROG_TYPE_KPROBE);
	bpf_program__set_expected_attach_type(s->skel->progs.heap_free, ATTACH_UPROBE_MULTI);
	err = heap_bpf__load(s->skel);
	if (err) {
		log_err("heap: cannot load BPF programs (uprobe sessions need Linux 6.13+): %s",
			strerror(-err));
		goto fail;
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_record, s, NULL);
	if (!s->rb) {
		err = -errno;
		goto fail;
	}
	return s;
fail:
	heap_sampler__free(s);
	errno = -err;
	return NULL;
}

void heap_sampler__free(struct heap_sampler *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	heap_bpf__destroy(s->skel);
	free(s);
}

int heap_sampler__drain(struct heap_sampler *s)
{
	return ring_buffer__consume(s->rb);
}

int heap_sampler__fd(const struct heap_sampler *s)
{
	return ring_buffer__epoll_fd(s->rb);
}

uint64_t heap_sampler__malformed(const struct heap_sampler *s)
{
	return s->malformed;
}

int heap_sampler__counters(const struct heap_sampler *s, uint64_t out[HEAP_CNT_NR])
{
	int fd = bpf_map__fd(s->skel->maps.scratch);
	struct heap_percpu *v = calloc(s->ncpus, sizeof(*v));
	uint32_t zero = 0;

	if (!v)
		return -ENOMEM;
	memset(out, 0, HEAP_CNT_NR * sizeof(*out));
	if (bpf_map_lookup_elem(fd, &zero, v) == 0)
		for (int i = 0; i < s->ncpus; i++)
			for (int c = 0; c < HEAP_CNT_NR; c++)
				out[c] += v[i].counters[c];
	free(v);
	return 0;
}

/* ---- where to probe ---- */

/* Whether the kernel emulates this instruction rather than single-stepping
 * it (arch/x86/kernel/uprobes.c: push, jmp, jcc, call, nop). */
static bool emulated(const uint8_t *b)
{
	if (b[0] >= 0x50 && b[0] <= 0x57) /* push %reg */
		return true;
	if (b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57) /* push %r8-15 */
		return true;
	if (b[0] >= 0x70 && b[0] <= 0x7f) /* jcc rel8 */
		return true;
	if (b[0] == 0x0f && ((b[1] >= 0x80 && b[1] <= 0x8f) || b[1] == 0x1f)) /* jcc rel32, nopl */
		return true;
	return b[0] == 0xe8 || b[0] == 0xe9 || b[0] == 0xeb || b[0] == 0x90;
}

/*
 * The offset in a function to probe: its first instruction when the kernel
 * emulates it, else the first emulated one after a prefix that we know
 * reads no argument, writes no argument register, rsp or rbp, and that
 * every call of interest passes:
 *
 *   endbr64                      no effect (CET builds)
 *   cmpb $0x0, disp32(%rip)      flags only (glibc's "malloc initialized?"
 *                                test at the top of memalign, valloc,
 *                                posix_memalign)
 *   test %rdi,%rdi; je ...       free only: the jump is free(NULL), which
 *                                has nothing to untrack
 *
 * So at the probe the arguments are still in rdi/rsi/rdx, [rsp] is still
 * the return address and rbp the caller's, as at the entry. In Debian 12's
 * glibc 2.36 this gives: malloc +0 (push %r12), calloc +0 (push %r13),
 * realloc +0 (push %r15), free +9 (push %rbp), memalign = aligned_alloc +7
 * (je), valloc +7 (push %rbx), posix_memalign +7 (push %r12). Anything else
 * falls back to +0: single-stepped (~15 us a call), but still correct.
 */
static uint64_t probe_offset(int fd, uint64_t off, uint64_t size, bool is_free, bool *slow)
{
	uint8_t b[32];
	uint64_t at = 0;

	*slow = false;
	if (pread(fd, b, sizeof(b), off) != (ssize_t)sizeof(b))
		goto fallback;
	if (size > sizeof(b) - 8)
		size = sizeof(b) - 8;
	while (at < size) {
		const uint8_t *p = b + at;

		if (emulated(p))
			return off + at;
		if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
			at += 4;
		else if (p[0] == 0x80 && p[1] == 0x3d && p[6] == 0x00)
			at += 7;
		else if (is_free && at == 0 && p[0] == 0x48 && p[1] == 0x85 && p[2] == 0xff &&
			 p[3] == 0x74)
			at += 5;
		else if (is_free && at == 0 && p[0] == 0x48 && p[1] == 0x85 && p[2] == 0xff &&
			 p[3] == 0x0f && p[4] == 0x84)
			at += 9;
		else
			break;
	}
fallback:
	*slow = true;
	return off;
}

static const struct {
	const char *name;
	enum heap_fn fn;
} probed[] = {
	{ "malloc", HEAP_FN_MALLOC },
	{ "calloc", HEAP_FN_CALLOC },
	{ "realloc", HEAP_FN_REALLOC },
	{ "memalign", HEAP_FN_MEMALIGN },
	{ "aligned_alloc", HEAP_FN_MEMALIGN },
	{ "valloc", HEAP_FN_VALLOC },
	{ "posix_memalign", HEAP_FN_POSIX_MEMALIGN },
	{ "free", HEAP_FN_FREE },
};
#define NR_PROBED (sizeof(probed) / sizeof(probed[0]))

/* The file offsets and sizes of the probed functions defined in an ELF
 * file's .dynsym (offset 0: not defined there); returns how many. */
static int dynsym_offsets(int fd, uint64_t off[NR_PROBED], uint64_t size[NR_PROBED])
{
	Elf *e;
	Elf_Scn *scn = NULL;
	size_t nph;
	int found = 0;

	memset(off, 0, NR_PROBED * sizeof(*off));
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return -EINVAL;
	if (elf_kind(e) != ELF_K_ELF || elf_getphdrnum(e, &nph)) {
		elf_end(e);
		return -EINVAL;
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(d, i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_value)
				continue;
			name = elf_strptr(e, sh.sh_link, sym.st_name);
			if (!name)
				continue;
			for (size_t k = 0; k < NR_PROBED; k++) {
				if (off[k] || strcmp(name, probed[k].name))
					continue;
				/* virtual address -> file offset, by its PT_LOAD */
				for (size_t p = 0; p < nph; p++) {
					GElf_Phdr ph;

					if (!gelf_getphdr(e, p, &ph) || ph.p_type != PT_LOAD ||
					    sym.st_value < ph.p_vaddr ||
					    sym.st_value >= ph.p_vaddr + ph.p_filesz)
						continue;
					off[k] = sym.st_value - ph.p_vaddr + ph.p_offset;
					size[k] = sym.st_size;
					found++;
					break;
				}
			}
		}
	}
	elf_end(e);
	return found;
}

static bool is_libc(const char *base)
{
	return !strcmp(base, "libc.so.6") || (!strncmp(base, "libc-", 5) && strstr(base, ".so"));
}

/* Allocators that replace glibc's, by their library names. */
static const char *other_allocator(const char *base)
{
	static const char *const libs[] = { "libjemalloc", "libtcmalloc", "libmimalloc",
					    "libhoard", "libsnmalloc" };

	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
		if (!strncmp(base, libs[i], strlen(libs[i])))
			return libs[i];
	return NULL;
}

/* Opens a file mapped by pid: through its root (containers), or, when that
 * fails or the file was replaced, through map_files. */
static int open_mapped(uint32_t pid, const char *path, const char *range, unsigned long ino,
		       char *out, size_t outlen)
{
	struct stat st;
	int fd;

	snprintf(out, outlen, "/proc/%u/root%s", pid, path);
	fd = open(out, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == ino)
		return fd;
	if (fd >= 0)
		close(fd);
	snprintf(out, outlen, "/proc/%u/map_files/%s", pid, range);
	return open(out, O_RDONLY | O_CLOEXEC);
}

static int link_create(int prog_fd, unsigned attach_type, const char *path, const uint64_t *offs,
		       const uint64_t *cookies, unsigned cnt, uint32_t pid)
{
	struct link_create_uprobe_multi a;

	memset(&a, 0, sizeof(a));
	a.prog_fd = prog_fd;
	a.attach_type = attach_type;
	a.path = (uint64_t)(uintptr_t)path;
	a.offsets = (uint64_t)(uintptr_t)offs;
	a.cookies = (uint64_t)(uintptr_t)cookies;
	a.cnt = cnt;
	a.pid = pid;
	return syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
}

struct heap_target *heap_sampler__attach_pid(struct heap_sampler *s, uint32_t pid, char *err,
					     size_t errlen)
{
	struct heap_target *t = calloc(1, sizeof(*t));
	char maps[64], line[4096 + 256], exe[4096] = "", libc_path[4096] = "", libc_range[64] = "";
	uint64_t off[NR_PROBED], size[NR_PROBED], aoffs[NR_PROBED], acookies[NR_PROBED];
	unsigned long libc_ino = 0;
	unsigned na = 0;
	int e = 0, fd = -1;
	FILE *f;

	if (!t)
		return NULL;
	t->s = s;
	t->pid = pid;
	t->alloc_link = t->free_link = -1;
	snprintf(maps, sizeof(maps), "/proc/%u/maps", pid);
	f = fopen(maps, "re");
	if (!f) {
		e = ESRCH;
		snprintf(err, errlen, "no process %u", pid);
		goto fail;
	}
	while (fgets(line, sizeof(line), f)) {
		char range[64], perms[8], path[4096] = "";
		unsigned long long pgoff;
		unsigned long ino;
		const char *base, *other;
		int n;

		if (sscanf(line, "%63s %7s %llx %*s %lu %n", range, perms, &pgoff, &ino, &n) < 4)
			continue;
		snprintf(path, sizeof(path), "%s", line + n);
		path[strcspn(path, "\n")] = 0;
		if (path[0] != '/')
			continue;
		if (!exe[0])
			snprintf(exe, sizeof(exe), "%s", path);
		base = strrchr(path, '/') + 1;
		if ((other = other_allocator(base))) {
			e = EOPNOTSUPP;
			snprintf(err, errlen,
				 "process %u uses %s (%s), not glibc's malloc: not supported", pid,
				 other, path);
			fclose(f);
			goto fail;
		}
		if (!libc_ino && is_libc(base)) {
			snprintf(libc_path, sizeof(libc_path), "%s", path);
			snprintf(libc_range, sizeof(libc_range), "%s", range);
			libc_ino = ino;
		}
	}
	fclose(f);
	if (!libc_ino) {
		e = ENOENT;
		snprintf(err, errlen,
			 "process %u does not use glibc's malloc (no libc.so.6 mapped: a static "
			 "binary, or another C library)",
			 pid);
		goto fail;
	}
	/* An executable that defines malloc itself (a linked-in allocator)
	 * takes precedence over libc's. */
	if (exe[0] && strcmp(exe, libc_path)) {
		char p[4200];
		struct stat st;
		uint64_t xo[NR_PROBED], xs[NR_PROBED];

		snprintf(p, sizeof(p), "/proc/%u/exe", pid);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0 && dynsym_offsets(fd, xo, xs) > 0 && xo[0]) {
			e = EOPNOTSUPP;
			snprintf(err, errlen,
				 "process %u defines its own malloc in %s, not glibc's: not supported",
				 pid, exe);
			goto fail;
		}
		if (fd >= 0)
			close(fd);
		fd = -1;
	}

	fd = open_mapped(pid, libc_path, libc_range, libc_ino, t->libc, sizeof(t->libc));
	if (fd < 0 || dynsym_offsets(fd, off, size) <= 0 || !off[0] || !off[NR_PROBED - 1]) {
		e = fd < 0 ? errno : ENOENT;
		snprintf(err, errlen, "process %u: cannot read malloc/free from %s", pid,
			 libc_path);
		goto fail;
	}

	for (size_t k = 0; k + 1 < NR_PROBED; k++) {
		bool slow, dup = false;
		uint64_t o;

		if (!off[k])
			continue;
		o = probe_offset(fd, off[k], size[k], false, &slow);
		/* memalign and aligned_alloc are one function in glibc */
		for (unsigned j = 0; j < na; j++)
			dup |= aoffs[j] == o;
		if (dup)
			continue;
		if (slow) {
			t->slow++;
			log_warn("heap: %s: %s+0 is single-stepped (unknown code), slower",
				 t->libc, probed[k].name);
		}
		aoffs[na] = o;
		acookies[na++] = probed[k].fn;
		log_debug("heap: pid %u: %s at %s+%#llx", pid, probed[k].name, libc_path,
			  (unsigned long long)(o - off[k]));
	}
	{
		bool slow;
		uint64_t fo = probe_offset(fd, off[NR_PROBED - 1], size[NR_PROBED - 1], true, &slow);
		uint64_t fc = HEAP_FN_FREE;

		t->slow += slow;
		if (slow)
			log_warn("heap: %s: free+0 is single-stepped (unknown code), slower", t->libc);
		t->alloc_link = link_create(bpf_program__fd(s->skel->progs.heap_alloc),
					    ATTACH_UPROBE_SESSION, t->libc, aoffs, acookies, na, pid);
		if (t->alloc_link < 0) {
			e = errno;
			snprintf(err, errlen, "process %u: cannot attach uprobes to %s: %s", pid,
				 t->libc, strerror(e));
			goto fail;
		}
		t->free_link = link_create(bpf_program__fd(s->skel->progs.heap_free),
					   ATTACH_UPROBE_MULTI, t->libc, &fo, &fc, 1, pid);
		if (t->free_link < 0) {
			e = errno;
			snprintf(err, errlen, "process %u: cannot attach a uprobe to %s: %s", pid,
				 t->libc, strerror(e));
			goto fail;
		}
	}
	close(fd);
	log_info("heap: profiling pid %u through %s (%u probes single-stepped)", pid, t->libc,
		 t->slow);
	return t;
fail:
	if (fd >= 0)
		close(fd);
	heap_target__free(t);
	errno = e ? e : EINVAL;
	return NULL;
}

/* The process's entries in the live table, so that a reused pid does not
 * find blocks that are not its own. */
static void forget_live(struct heap_sampler *s, uint32_t pid)
{
	struct lk {
		uint64_t ptr;
		uint32_t tgid, pad;
	} k, *prev = NULL, *del = NULL;
	int fd = bpf_map__fd(s->skel->maps.live);
	size_t n = 0, cap = 0;

	/* Collect first: deleting the cursor would restart the walk. */
	while (bpf_map_get_next_key(fd, prev, &k) == 0) {
		if (k.tgid == pid) {
			if (n == cap) {
				struct lk *d = realloc(del, (cap = cap ? 2 * cap : 256) * sizeof(*d));

				if (!d)
					break;
				del = d;
			}
			del[n++] = k;
		}
		prev = &k;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &del[i]);
	free(del);
}

void heap_target__free(struct heap_target *t)
{
	if (!t)
		return;
	if (t->alloc_link >= 0)
		close(t->alloc_link);
	if (t->free_link >= 0)
		close(t->free_link);
	if (t->alloc_link >= 0 || t->free_link >= 0)
		forget_live(t->s, t->pid);
	free(t);
}

const char *heap_target__libc(const struct heap_target *t)
{
	return t->libc;
}

unsigned heap_target__slow_probes(const struct heap_target *t)
{
	return t->slow;
}
