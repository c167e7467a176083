// SPDX-License-Identifier: MIT
/*
 * heapprobe: the heap sampler on one process, without the daemon, for the
 * heap tests and benchmarks.
 *
 *   heapprobe --pid P [--rate BYTES] [--max-live N] [--seconds S] [--verbose]
 *
 * Attaches, prints "attached <allocator library> slow=<n>" (glibc's libc,
 * or jemalloc's or tcmalloc's library when that is the process's malloc;
 * --verbose logs each probe's offset on stderr), collects until the process
 * exits, S seconds pass or SIGINT/SIGTERM, detaches, then prints the BPF
 * counters and one line per allocation site (the function of the first
 * frame, i.e. the caller of malloc) with unbiased totals, as Go's heap
 * profile computes them:
 *
 *   site <function> <caller's caller> fn=<malloc|...> samples=N
 *        alloc_objects=X alloc_space=Y inuse_objects=X inuse_space=Y
 *
 * A process that cannot be probed: the error on stderr, exit 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hashtab.h"
#include "heap_sampler.h"
#include "log.h"
#include "symtab.h"

struct sample {
	uint64_t id, size, rate;
	uint64_t frames[2];
	unsigned nr_frames;
	uint16_t fn;
	bool freed;
};

struct mapping {
	uint64_t start, end, pgoff;
	char path[512];
	struct symtab *st;
	bool tried;
};

static struct hashtab samples;
static uint64_t nr_allocs, nr_frees, nr_free_unknown;
static struct mapping maps[512];
static int nr_maps;
static volatile sig_atomic_t stop;

static bool id_eq(const void *item, const void *key)
{
	return ((const struct sample *)item)->id == *(const uint64_t *)key;
}

static void on_event(const struct heap_event *e, size_t size, void *ctx)
{
	struct sample *s;

	if (e->type == HEAP_EV_FREE) {
		nr_frees++;
		s = hashtab__find(&samples, hash_u64(e->id), id_eq, &e->id);
		if (s)
			s->freed = true;
		else
			nr_free_unknown++;
		return;
	}
	nr_allocs++;
	s = calloc(1, sizeof(*s));
	if (!s)
		return;
	s->id = e->id;
	s->size = e->size;
	s->rate = e->rate;
	s->fn = e->fn;
	if (e->flags & HEAP_F_USTACK) {
		/* The caller's pc, and its caller from the first frame record
		 * (the test programs have frame pointers; the daemon unwinds
		 * by .eh_frame where they do not). */
		const struct ustack_hdr *h = (const void *)e->frames;
		const struct ustack_fp *fp = (const void *)(h + 1);

		s->frames[0] = h->ip;
		s->nr_frames = h->ip ? 1 : 0;
		if (s->nr_frames && h->nr_fp)
			s->frames[s->nr_frames++] = fp[0].ret;
	} else {
		s->nr_frames = e->nr_frames < 2 ? e->nr_frames : 2;
		for (unsigned i = 0; i < s->nr_frames; i++)
			s->frames[i] = e->frames[i];
	}
	/* An untracked block's free will never come: count it as live. */
	hashtab__insert(&samples, hash_u64(s->id), s);
}

static void load_maps(uint32_t pid)
{
	char p[64], line[1024];
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%u/maps", pid);
	f = fopen(p, "re");
	if (!f)
		return;
	while (nr_maps < (int)(sizeof(maps) / sizeof(maps[0])) && fgets(line, sizeof(line), f)) {
		struct mapping *m = &maps[nr_maps];
		char perms[8];
		int n;

		if (sscanf(line, "%lx-%lx %7s %lx %*s %*u %n", &m->start, &m->end, perms, &m->pgoff,
			   &n) < 4 ||
		    !strchr(perms, 'x'))
			continue;
		snprintf(m->path, sizeof(m->path), "%s", line + n);
		m->path[strcspn(m->path, "\n")] = 0;
		if (m->path[0] == '/')
			nr_maps++;
	}
	fclose(f);
}

static const char *symbolize(uint64_t addr, char *buf, size_t len)
{
	/* A return address: look up the call instruction before it. */
	uint64_t a = addr - 1;

	for (int i = 0; i < nr_maps; i++) {
		struct mapping *m = &maps[i];
		struct sym_result r;

		if (a < m->start || a >= m->end)
			continue;
		if (!m->tried) {
			int fd = open(m->path, O_RDONLY | O_CLOEXEC);

			m->tried = true;
			if (fd >= 0) {
				m->st = symtab__load(fd, "/", m->path);
				close(fd);
			}
		}
		if (m->st && symtab__lookup(m->st, m->pgoff + a - m->start, &r) == 0) {
			snprintf(buf, len, "%s", r.name);
			return buf;
		}
		snprintf(buf, len, "%s+%#lx", strrchr(m->path, '/') + 1, m->pgoff + a - m->start);
		return buf;
	}
	snprintf(buf, len, "%#lx", addr);
	return buf;
}

static const char *fn_name(unsigned fn)
{
	static const char *const n[] = { "?",        "malloc",     "calloc",         "realloc",
					 "memalign", "valloc",     "posix_memalign", "free",
					 "new",      "new_aligned" };

	return fn < sizeof(n) / sizeof(n[0]) ? n[fn] : "?";
}

struct site {
	char name[256], caller[256];
	unsigned fn;
	uint64_t samples;
	double ao, as, io, is;
};

static void on_signal(int sig)
{
	stop = 1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pid", 1, NULL, 'p' },      { "rate", 1, NULL, 'r' },
		{ "max-live", 1, NULL, 'm' }, { "seconds", 1, NULL, 's' },
		{ "verbose", 0, NULL, 'v' },  { NULL, 0, NULL, 0 },
	};
	struct heap_sampler_opts o = { .fn = on_event };
	struct heap_sampler *hs;
	struct heap_probes *t;
	struct site *sites = NULL;
	size_t nsites = 0;
	uint32_t pid = 0;
	double seconds = 0;
	uint64_t cnt[HEAP_CNT_NR];
	struct timespec t0, now;
	char err[512], b1[256], b2[256];
	struct sample *s;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			pid = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			o.rate = strtoull(optarg, NULL, 0);
			break;
		case 'm':
			o.max_live = strtoul(optarg, NULL, 0);
			break;
		case 's':
			seconds = atof(optarg);
			break;
		case 'v':
			log_max_level = LOG_LVL_DEBUG;
			break;
		default:
			return 2;
		}
	}
	if (!pid) {
		fprintf(stderr,
			"usage: heapprobe --pid P [--rate BYTES] [--max-live N] [--seconds S]\n");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	hs = heap_sampler__new(&o);
	if (!hs)
		return 1;
	load_maps(pid);
	t = heap_sampler__attach_pid(hs, pid, err, sizeof(err));
	if (!t) {
		fprintf(stderr, "heapprobe: %s\n", err);
		heap_sampler__free(hs);
		return 2;
	}
	printf("attached %s slow=%u\n", heap_probes__libc(t), heap_probes__slow_probes(t));
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop) {
		struct pollfd pfd = { .fd = heap_sampler__fd(hs), .events = POLLIN };

		poll(&pfd, 1, 50);
		heap_sampler__drain(hs);
		if (kill(pid, 0) && errno == ESRCH)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (seconds > 0 &&
		    now.tv_sec - t0.tv_sec + (now.tv_nsec - t0.tv_nsec) / 1e9 >= seconds)
			break;
	}
	heap_sampler__drain(hs);
	heap_probes__free(t);
	heap_sampler__drain(hs);

	heap_sampler__counters(hs, cnt);
	for (int i = 0; i < HEAP_CNT_NR; i++)
		printf("counter %s %llu\n", heap_counter_name(i), (unsigned long long)cnt[i]);
	printf("events alloc=%llu free=%llu free_unknown=%llu malformed=%llu\n",
	       (unsigned long long)nr_allocs, (unsigned long long)nr_frees,
	       (unsigned long long)nr_free_unknown,
	       (unsigned long long)heap_sampler__malformed(hs));

	hashtab__for_each(&samples, s)
	{
		double p = s->rate <= 1 ? 1 : -expm1(-(double)s->size / s->rate);
		struct site *st = NULL;

		symbolize(s->frames[0], b1, sizeof(b1));
		if (s->nr_frames > 1)
			symbolize(s->frames[1], b2, sizeof(b2));
		else
			snprintf(b2, sizeof(b2), "-");
		if (!s->nr_frames)
			snprintf(b1, sizeof(b1), "-");
		for (size_t i = 0; i < nsites && !st; i++)
			if (!strcmp(sites[i].name, b1) && !strcmp(sites[i].caller, b2) &&
			    sites[i].fn == s->fn)
				st = &sites[i];
		if (!st) {
			sites = realloc(sites, (nsites + 1) * sizeof(*sites));
			st = memset(&sites[nsites++], 0, sizeof(*st));
			snprintf(st->name, sizeof(st->name), "%s", b1);
			snprintf(st->caller, sizeof(st->caller), "%s", b2);
			st->fn = s->fn;
		}
		st->samples++;
		if (p <= 0)
			continue;
		st->ao += 1 / p;
		st->as += s->size / p;
		if (!s->freed) {
			st->io += 1 / p;
			st->is += s->size / p;
		}
	}
	for (size_t i = 0; i < nsites; i++)
		printf("site %s %s fn=%s samples=%llu alloc_objects=%.0f alloc_space=%.0f "
		       "inuse_objects=%.0f inuse_space=%.0f\n",
		       sites[i].name, sites[i].caller, fn_name(sites[i].fn),
		       (unsigned long long)sites[i].samples, sites[i].ao, sites[i].as, sites[i].io,
		       sites[i].is);
	free(sites);
	heap_sampler__free(hs);
	return 0;
}
