// SPDX-License-Identifier: MIT
/*
 * Kernel symbols from /proc/kallsyms (symtab.h): text symbols sorted by
 * address, aliases resolved, every line checked. Kept small (a daemon's
 * RSS target is 32 MiB, and a Debian kernel has 121,000 text symbols,
 * 3 MiB of names): 4 bytes an address, and the names deflated in blocks
 * of KSYM_BLOCK (0.7 MiB); a lookup inflates one block (~5 us) unless
 * it is among the last KSYM_CACHED inflated.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "log.h"
#include "symtab.h"
#include "upper_bound.h"

#define KSYMS_MAX (8u << 20)
#define KSYM_EXTENT_MAX (1u << 20) /* no kernel function is larger */
#define KSYM_NAMES_MAX (1u << 30)  /* the name blob */
#define KSYM_BLOCK 64              /* names deflated together */
#define KSYM_CACHED 16             /* blocks kept inflated (hot kernel paths) */

struct ksym {
	uint64_t addr;
	uint32_t name;
	uint32_t key; /* larger is preferred among aliases */
};

/* What is kept: the addresses as offsets from the lowest (the kernel's
 * text and its modules lie within 4 GiB of it), and the names of each
 * KSYM_BLOCK symbols in address order, NUL-terminated and deflated. */
struct kallsyms {
	struct ksym *v; /* while loading */
	char *names;    /* while loading */
	size_t names_len;
	uint32_t *off; /* from base */
	size_t n;
	uint64_t base;
	unsigned char *z;      /* the blocks */
	uint32_t *zoff;        /* block b is z[zoff[b]..zoff[b + 1]) */
	size_t zlen, zraw_max; /* the blocks' bytes; the largest inflated */
	struct kblock_cache *cache;
};

/* Blocks inflated lately, least recently used replaced; lookups may come
 * from more than one thread. */
struct kblock_cache {
	pthread_mutex_t mu;
	uint64_t clock;
	struct {
		size_t block; /* + 1; 0: empty */
		uint64_t used;
		size_t len;
		char *data;
	} e[KSYM_CACHED];
};

/* The names of v[from..to) into the deflated blob. */
static int deflate_block(struct kallsyms *k, size_t *zcap, size_t from, size_t to)
{
	size_t raw = 0;
	char *buf;
	uLongf zl;
	int err = 0;

	for (size_t i = from; i < to; i++)
		raw += strlen(k->names + k->v[i].name) + 1;
	buf = malloc(raw);
	if (!buf)
		return ENOMEM;
	raw = 0;
	for (size_t i = from; i < to; i++) {
		size_t l = strlen(k->names + k->v[i].name) + 1;

		memcpy(buf + raw, k->names + k->v[i].name, l);
		raw += l;
	}
	zl = compressBound(raw);
	if (k->zlen + zl > *zcap) {
		size_t nc = *zcap ? *zcap * 2 : 1 << 16;
		unsigned char *nz;

		while (nc < k->zlen + zl)
			nc *= 2;
		nz = realloc(k->z, nc);
		if (!nz) {
			free(buf);
			return ENOMEM;
		}
		k->z = nz;
		*zcap = nc;
	}
	if (compress2(k->z + k->zlen, &zl, (const Bytef *)buf, raw, Z_BEST_COMPRESSION) != Z_OK)
		err = EINVAL;
	else
		k->zlen += zl;
	if (raw > k->zraw_max)
		k->zraw_max = raw;
	free(buf);
	return err;
}

/* The sorted symbols, aliases gone (the preferred one sorts first), into
 * their kept form. */
static int compact(struct kallsyms *k)
{
	size_t m = 0, zcap = 0, nb;
	unsigned char *nz;
	int err;

	k->base = k->v[0].addr;
	for (size_t i = 0; i < k->n; i++) {
		if (m && k->v[i].addr == k->v[m - 1].addr)
			continue;
		if (k->v[i].addr - k->base > UINT32_MAX) {
			log_warn("kallsyms: symbols from %#" PRIx64 " on are over 4 GiB above "
				 "the first (%#" PRIx64 "): left out",
				 k->v[i].addr, k->base);
			break;
		}
		k->v[m++] = k->v[i];
	}
	k->n = m;
	nb = (m + KSYM_BLOCK - 1) / KSYM_BLOCK;
	k->off = malloc(m * sizeof(*k->off));
	k->zoff = malloc((nb + 1) * sizeof(*k->zoff));
	k->cache = calloc(1, sizeof(*k->cache));
	if (!k->off || !k->zoff || !k->cache)
		return ENOMEM;
	pthread_mutex_init(&k->cache->mu, NULL);
	for (size_t i = 0; i < m; i++)
		k->off[i] = (uint32_t)(k->v[i].addr - k->base);
	for (size_t b = 0; b < nb; b++) {
		k->zoff[b] = (uint32_t)k->zlen;
		err = deflate_block(k, &zcap, b * KSYM_BLOCK,
				    b + 1 < nb ? (b + 1) * KSYM_BLOCK : m);
		if (err)
			return err;
	}
	k->zoff[nb] = (uint32_t)k->zlen;
	nz = realloc(k->z, k->zlen ? k->zlen : 1);
	if (nz)
		k->z = nz;
	free(k->v);
	k->v = NULL;
	free(k->names);
	k->names = NULL;
	return 0;
}

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->key > y->key ? -1 : x->key < y->key;
}

static int names_append(char **blob, size_t *len, size_t *cap, const char *p, size_t n,
			const char *mod, size_t mn)
{
	size_t need = n + (mn ? mn + 3 : 0) + 1;

	if (*len + need > *cap) {
		size_t nc = *cap ? *cap * 2 : 1 << 16;
		char *nb;

		while (nc < *len + need)
			nc *= 2;
		nb = realloc(*blob, nc);
		if (!nb)
			return -ENOMEM;
		*blob = nb;
		*cap = nc;
	}
	memcpy(*blob + *len, p, n);
	*len += n;
	if (mn) {
		(*blob)[(*len)++] = ' ';
		(*blob)[(*len)++] = '[';
		memcpy(*blob + *len, mod, mn);
		*len += mn;
		(*blob)[(*len)++] = ']';
	}
	(*blob)[(*len)++] = '\0';
	return 0;
}

struct kallsyms *kallsyms__load(const char *path)
{
	struct kallsyms *k = calloc(1, sizeof(*k));
	size_t cap = 0, ncap = 0, lines = 0, len = 0, zeros = 0;
	char *line = NULL;
	ssize_t r;
	FILE *f;
	int err = 0;

	if (!k)
		return NULL;
	f = fopen(path, "re");
	if (!f) {
		err = errno;
		goto fail;
	}
	while ((r = getline(&line, &len, f)) > 0) {
		char *p = line, *end, *name, *mod = NULL;
		size_t nl, ml = 0;
		uint64_t addr;
		char type;

		if (++lines > KSYMS_MAX)
			break;
		if (line[r - 1] == '\n')
			line[--r] = '\0';
		addr = strtoull(p, &end, 16);
		if (end == p || end[0] != ' ' || !end[1] || end[2] != ' ')
			continue;
		type = end[1];
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (!addr) {
			zeros++;
			continue;
		}
		name = end + 3;
		nl = strcspn(name, "\t ");
		if (!nl || nl > 512)
			continue;
		if (name[nl] == '\t' && name[nl + 1] == '[') {
			mod = name + nl + 2;
			ml = strcspn(mod, "]");
			if (mod[ml] != ']' || ml > 128)
				ml = 0;
		}
		if (k->n >= ncap) {
			size_t nc = ncap ? ncap * 2 : 4096;
			struct ksym *nv = realloc(k->v, nc * sizeof(*nv));

			if (!nv) {
				err = ENOMEM;
				goto fail;
			}
			k->v = nv;
			ncap = nc;
		}
		if (k->names_len + nl + ml + 4 > KSYM_NAMES_MAX)
			break;
		k->v[k->n].addr = addr;
		k->v[k->n].name = (uint32_t)k->names_len;
		/* Global over weak over local, then plain names over _-prefixed
		 * ones, then the first listed. */
		k->v[k->n].key = (uint32_t)(type == 'T') << 26 | (uint32_t)(type == 'W') << 25 |
				 (uint32_t)(type == 't') << 24 | (uint32_t)(name[0] != '_') << 23 |
				 (uint32_t)(KSYMS_MAX - lines);
		if (names_append(&k->names, &k->names_len, &cap, name, nl, mod, ml)) {
			err = ENOMEM;
			goto fail;
		}
		k->n++;
	}
	free(line);
	line = NULL;
	fclose(f);
	f = NULL;
	if (!k->n) {
		/* All zero: kptr_restrict hides the addresses from us. */
		err = zeros ? EPERM : ENOENT;
		goto fail;
	}
	qsort(k->v, k->n, sizeof(*k->v), ksym_cmp);
	err = compact(k);
	if (err)
		goto fail;
	return k;
fail:
	free(line);
	if (f)
		fclose(f);
	kallsyms__free(k);
	errno = err;
	return NULL;
}

void kallsyms__free(struct kallsyms *k)
{
	if (!k)
		return;
	free(k->v);
	free(k->names);
	free(k->off);
	free(k->z);
	free(k->zoff);
	if (k->cache) {
		for (unsigned i = 0; i < KSYM_CACHED; i++)
			free(k->cache->e[i].data);
		pthread_mutex_destroy(&k->cache->mu);
		free(k->cache);
	}
	free(k);
}

/* Block b's names, inflated, in a slot of the cache (called with its
 * lock held), or NULL. */
static const char *cached_block(const struct kallsyms *k, size_t b, size_t *len)
{
	struct kblock_cache *c = k->cache;
	unsigned v = 0;
	uLongf raw = k->zraw_max;

	for (unsigned i = 0; i < KSYM_CACHED; i++) {
		if (c->e[i].block == b + 1) {
			c->e[i].used = ++c->clock;
			*len = c->e[i].len;
			return c->e[i].data;
		}
		if (c->e[i].used < c->e[v].used)
			v = i;
	}
	if (!c->e[v].data && !(c->e[v].data = malloc(k->zraw_max)))
		return NULL;
	c->e[v].block = 0;
	if (uncompress((Bytef *)c->e[v].data, &raw, k->z + k->zoff[b],
		       k->zoff[b + 1] - k->zoff[b]) != Z_OK)
		return NULL;
	c->e[v] = (__typeof__(c->e[v])){ b + 1, ++c->clock, raw, c->e[v].data };
	*len = raw;
	return c->e[v].data;
}

const char *kallsyms__lookup(const struct kallsyms *k, uint64_t addr, uint64_t *sym_start,
			     char *buf, size_t size)
{
	const char *p, *end, *name = NULL;
	uint64_t off;
	size_t lo, len, skip;

	if (!size || !k->n || addr < k->base || addr - k->base > UINT32_MAX)
		return NULL;
	off = addr - k->base;
	lo = UPPER_BOUND(k->off, k->n, , off);
	/* No sizes in kallsyms: the nearest below, if not absurdly far. */
	if (!lo || off - k->off[lo - 1] >= KSYM_EXTENT_MAX)
		return NULL;
	pthread_mutex_lock(&k->cache->mu);
	p = cached_block(k, (lo - 1) / KSYM_BLOCK, &len);
	if (p) {
		end = p + len;
		for (skip = (lo - 1) % KSYM_BLOCK; skip && p < end; skip--)
			p += strnlen(p, end - p) + 1;
		if (p < end) {
			snprintf(buf, size, "%.*s", (int)strnlen(p, end - p), p);
			name = buf;
		}
	}
	pthread_mutex_unlock(&k->cache->mu);
	if (name && sym_start)
		*sym_start = k->base + k->off[lo - 1];
	return name;
}

void kallsyms__range(const struct kallsyms *k, uint64_t *lo, uint64_t *hi)
{
	*lo = k->n ? k->base : 0;
	*hi = k->n ? k->base + k->off[k->n - 1] : 0;
}

size_t kallsyms__mem_size(const struct kallsyms *k)
{
	return k ? k->n * sizeof(*k->off) + (k->n / KSYM_BLOCK + 2) * sizeof(*k->zoff) + k->zlen +
			       KSYM_CACHED * k->zraw_max
		 : 0;
}
