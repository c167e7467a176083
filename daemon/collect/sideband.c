// SPDX-License-Identifier: MIT
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cpus.h"
#include "log.h"
#include "sideband.h"

struct sb_rec;

struct sb_ring {
	int fd;
	void *base; /* metadata page, then data pages */
	size_t data_size;
};

struct sideband {
	struct sb_ring *rings;
	int nr_rings;
	int epfd;
	uint64_t lost;
	bool maybe_lost; /* in the last drain */
	char *tmp;       /* a record that wraps the ring end is copied here */
	/* records of one drain, from every ring, before sorting */
	char *buf;
	size_t buf_len, buf_cap;
	struct sb_rec *recs;
	size_t nr_recs, cap_recs;
};

/* The sample_id trailer that sample_id_all appends with TID|TIME. */
struct sb_trailer {
	uint32_t pid, tid;
	uint64_t time;
};

static int open_dummy(int cpu, size_t data_size)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(a),
		.config = PERF_COUNT_SW_DUMMY,
		.sample_period = 1,
		.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME,
		.sample_id_all = 1,
		.mmap = 1,
		.mmap2 = 1,
		.comm = 1,
		.comm_exec = 1,
		.task = 1,
		.use_clockid = 1,
		.clockid = CLOCK_MONOTONIC, /* the clock of bpf_ktime_get_ns() */
		.watermark = 1,
		.wakeup_watermark = data_size / 4,
	};

	return syscall(__NR_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

struct sideband *sideband__new(unsigned ring_pages)
{
	long page = sysconf(_SC_PAGESIZE);
	struct sideband *sb;
	bool *online = NULL;
	int n, err = 0;

	if (ring_pages & (ring_pages - 1)) {
		errno = EINVAL;
		return NULL;
	}
	n = ring_pages ? online_cpus(&online) : 0;
	if (n < 0) {
		errno = -n;
		return NULL;
	}
	sb = calloc(1, sizeof(*sb));
	if (!sb || !(sb->rings = calloc(n ? n : 1, sizeof(*sb->rings))) ||
	    !(sb->tmp = malloc(1 << 16))) {
		err = -ENOMEM;
		goto fail;
	}
	sb->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sb->epfd < 0) {
		err = -errno;
		goto fail;
	}
	for (int cpu = 0; cpu < n; cpu++) {
		struct sb_ring *r = &sb->rings[sb->nr_rings];
		struct epoll_event ev = { .events = EPOLLIN };

		if (!online[cpu])
			continue;
		r->data_size = (size_t)ring_pages * page;
		r->fd = open_dummy(cpu, r->data_size);
		if (r->fd < 0) {
			err = -errno;
			log_err("sideband: perf_event_open on CPU %d: %s", cpu, strerror(errno));
			goto fail;
		}
		r->base = mmap(NULL, page + r->data_size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
			       0);
		if (r->base == MAP_FAILED) {
			err = -errno;
			close(r->fd);
			goto fail;
		}
		sb->nr_rings++;
		if (epoll_ctl(sb->epfd, EPOLL_CTL_ADD, r->fd, &ev) < 0) {
			err = -errno;
			goto fail;
		}
	}
	free(online);
	return sb;
fail:
	free(online);
	sideband__free(sb);
	errno = -err;
	return NULL;
}

void sideband__free(struct sideband *sb)
{
	long page = sysconf(_SC_PAGESIZE);

	if (!sb)
		return;
	for (int i = 0; i < sb->nr_rings; i++) {
		munmap(sb->rings[i].base, page + sb->rings[i].data_size);
		close(sb->rings[i].fd);
	}
	if (sb->epfd > 0)
		close(sb->epfd);
	free(sb->rings);
	free(sb->tmp);
	free(sb->buf);
	free(sb->recs);
	free(sb);
}

int sideband__fd(const struct sideband *sb)
{
	return sb->epfd;
}

bool sideband__maybe_lost(const struct sideband *sb)
{
	return sb->maybe_lost;
}

uint64_t sideband__lost(const struct sideband *sb)
{
	return sb->lost;
}

/* Decodes one record (size already checked >= header) into ev; false when
 * it is of no interest or malformed. */
static bool decode(struct sideband *sb, const struct perf_event_header *h, struct sb_event *ev)
{
	const char *p = (const char *)(h + 1), *end = (const char *)h + h->size;
	const struct sb_trailer *t;

	if (h->size < sizeof(*h) + sizeof(*t))
		return false;
	t = (const struct sb_trailer *)(end - sizeof(*t));
	memset(ev, 0, sizeof(*ev));
	ev->time_ns = t->time;

	switch (h->type) {
	case PERF_RECORD_MMAP2: {
		const struct {
			uint32_t pid, tid;
			uint64_t addr, len, pgoff;
			uint32_t maj, min;
			uint64_t ino, ino_generation;
			uint32_t prot, flags;
		} *m = (const void *)p;
		const char *name = p + sizeof(*m);
		size_t room;

		if ((const char *)t < name)
			return false;
		room = (const char *)t - name;
		if (!memchr(name, 0, room))
			return false; /* the kernel always NUL-terminates; be sure */
		ev->type = SB_MMAP;
		ev->pid = m->pid;
		ev->tid = m->tid;
		ev->mmap.addr = m->addr;
		ev->mmap.len = m->len;
		ev->mmap.pgoff = m->pgoff;
		ev->mmap.prot = m->prot;
		if (h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID)
			return false; /* we never ask for build-ID records */
		ev->mmap.maj = m->maj;
		ev->mmap.min = m->min;
		ev->mmap.ino = m->ino;
		ev->mmap.filename = name;
		return true;
	}
	case PERF_RECORD_COMM: {
		const uint32_t *ids = (const uint32_t *)p;
		const char *name = p + 8;
		size_t room;

		if ((const char *)t < name)
			return false;
		room = (const char *)t - name;
		ev->type = SB_COMM;
		ev->pid = ids[0];
		ev->tid = ids[1];
		ev->comm.exec = h->misc & PERF_RECORD_MISC_COMM_EXEC;
		strncpy(ev->comm.comm, name, room < 15 ? room : 15);
		return true;
	}
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT: {
		const uint32_t *ids = (const uint32_t *)p;

		if ((const char *)t < p + 16)
			return false;
		ev->type = h->type == PERF_RECORD_FORK ? SB_FORK : SB_EXIT;
		ev->pid = ids[0];
		ev->fork.ppid = ids[1];
		ev->tid = ids[2];
		ev->fork.ptid = ids[3];
		return true;
	}
	case PERF_RECORD_LOST: {
		const uint64_t *v = (const uint64_t *)p;

		if ((const char *)t >= p + 16)
			sb->lost += v[1];
		return false;
	}
	default:
		return false;
	}
}

/* One record copied out of its ring, to be applied in time order. */
struct sb_rec {
	uint64_t time;
	size_t off; /* in sb->buf */
};

static int cmp_rec(const void *a, const void *b)
{
	const struct sb_rec *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off; /* stable within a CPU */
}

static int collect(struct sideband *sb, const struct perf_event_header *h)
{
	const struct sb_trailer *t;

	/* the kernel aligns records to 8 bytes: anything else is not one */
	if (h->size < sizeof(*h) + sizeof(*t) || h->size % 8)
		return 0;
	if (sb->nr_recs == sb->cap_recs) {
		size_t cap = sb->cap_recs ? sb->cap_recs * 2 : 256;
		struct sb_rec *nr = realloc(sb->recs, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		sb->recs = nr;
		sb->cap_recs = cap;
	}
	while (sb->buf_len + h->size > sb->buf_cap) {
		size_t cap = sb->buf_cap ? sb->buf_cap * 2 : 65536;
		char *nb = realloc(sb->buf, cap);

		if (!nb)
			return -ENOMEM;
		sb->buf = nb;
		sb->buf_cap = cap;
	}
	t = (const void *)((const char *)h + h->size - sizeof(*t));
	sb->recs[sb->nr_recs].time = t->time;
	sb->recs[sb->nr_recs].off = sb->buf_len;
	sb->nr_recs++;
	memcpy(sb->buf + sb->buf_len, h, h->size);
	sb->buf_len += h->size;
	return 0;
}

/* The records collected, in time order, to fn; how many were applied. */
static int apply(struct sideband *sb, sb_event_fn fn, void *ctx)
{
	int count = 0;

	if (sb->nr_recs) /* recs is NULL until the first record */
		qsort(sb->recs, sb->nr_recs, sizeof(*sb->recs), cmp_rec);
	for (size_t i = 0; i < sb->nr_recs; i++) {
		struct sb_event ev;

		if (decode(sb, (const void *)(sb->buf + sb->recs[i].off), &ev)) {
			fn(&ev, ctx);
			count++;
		}
	}
	return count;
}

int sideband__feed(struct sideband *sb, const void *data, size_t len, sb_event_fn fn, void *ctx)
{
	size_t off = 0;

	sb->nr_recs = sb->buf_len = 0;
	while (off + sizeof(struct perf_event_header) <= len) {
		struct perf_event_header h;

		memcpy(&h, (const char *)data + off, sizeof(h)); /* data may be unaligned */
		if (h.size < sizeof(h) || h.size > len - off)
			break;
		memcpy(sb->tmp, (const char *)data + off, h.size); /* tmp holds 64 KiB */
		if (collect(sb, (const void *)sb->tmp) < 0)
			sb->lost++;
		off += h.size;
	}
	return apply(sb, fn, ctx);
}

/*
 * Each CPU has its own ring, so a fork on one CPU and the exec and mmaps on
 * another arrive in separate streams: they are merged in time order before
 * being applied, or a process's mappings could land on the wrong image.
 */
int sideband__drain(struct sideband *sb, sb_event_fn fn, void *ctx)
{
	int count;
	uint64_t lost = sb->lost;

	sb->nr_recs = sb->buf_len = 0;
	sb->maybe_lost = false;
	for (int i = 0; i < sb->nr_rings; i++) {
		struct sb_ring *r = &sb->rings[i];
		struct perf_event_mmap_page *meta = r->base;
		char *data = (char *)r->base + sysconf(_SC_PAGESIZE);
		uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
		uint64_t tail = meta->data_tail;

		/* less room left than the largest record (a path of PATH_MAX) */
		if (head - tail > r->data_size - 4200)
			sb->maybe_lost = true;

		while (tail + sizeof(struct perf_event_header) <= head) {
			size_t off = tail & (r->data_size - 1);
			struct perf_event_header *h = (void *)(data + off);

			if (off + sizeof(*h) > r->data_size || off + h->size > r->data_size) {
				/* The record wraps the end of the ring: copy it whole. */
				size_t first = r->data_size - off;
				struct perf_event_header hh;

				if (first >= sizeof(hh))
					memcpy(&hh, data + off, sizeof(hh));
				else {
					memcpy(&hh, data + off, first);
					memcpy((char *)&hh + first, data, sizeof(hh) - first);
				}
				if (hh.size < sizeof(hh))
					break;
				memcpy(sb->tmp, data + off, first);
				memcpy(sb->tmp + first, data, hh.size - first);
				h = (void *)sb->tmp;
			}
			if (h->size < sizeof(*h))
				break; /* cannot happen; do not spin */
			if (collect(sb, h) < 0)
				sb->lost++; /* out of memory: counted like a ring overflow */
			tail += h->size;
		}
		__atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
	}
	count = apply(sb, fn, ctx);
	if (sb->lost != lost)
		sb->maybe_lost = true;
	/* Do not keep a burst's worth of memory for ever. */
	if (sb->buf_cap > (1 << 20)) {
		free(sb->buf);
		free(sb->recs);
		sb->buf = NULL;
		sb->recs = NULL;
		sb->buf_cap = sb->cap_recs = 0;
	}
	return count;
}
