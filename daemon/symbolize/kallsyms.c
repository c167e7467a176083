// SPDX-License-Identifier: MIT
/*
 * Kernel symbols from /proc/kallsyms (symtab.h): text symbols sorted by
 * address, aliases resolved, every line checked.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "symtab.h"
#include "upper_bound.h"

#define KSYMS_MAX (8u << 20)
#define KSYM_EXTENT_MAX (1u << 20) /* no kernel function is larger */
#define KSYM_NAMES_MAX (1u << 30)  /* the name blob */

struct ksym {
	uint64_t addr;
	uint32_t name;
	uint32_t key; /* larger is preferred among aliases */
};

/* What is kept, 8 bytes a symbol (121,000 on a Debian kernel): the
 * kernel's text and its modules lie within 4 GiB of the lowest symbol. */
struct kent {
	uint32_t off; /* from base */
	uint32_t name;
};

struct kallsyms {
	struct ksym *v; /* while loading */
	struct kent *e;
	size_t n;
	uint64_t base;
	char *names;
	size_t names_len;
};

/* The sorted symbols, aliases gone, into their kept form; the names' blob
 * to its length. */
static int compact(struct kallsyms *k)
{
	size_t m = 0;
	char *nb;

	k->e = malloc(k->n * sizeof(*k->e));
	if (!k->e)
		return ENOMEM;
	k->base = k->v[0].addr;
	for (size_t i = 0; i < k->n; i++) {
		if (m && k->v[i].addr == k->base + k->e[m - 1].off)
			continue; /* an alias: the preferred one came first */
		if (k->v[i].addr - k->base > UINT32_MAX) {
			log_warn("kallsyms: symbols from %#" PRIx64 " on are over 4 GiB above "
				 "the first (%#" PRIx64 "): left out",
				 k->v[i].addr, k->base);
			break;
		}
		k->e[m++] = (struct kent){ (uint32_t)(k->v[i].addr - k->base), k->v[i].name };
	}
	k->n = m;
	free(k->v);
	k->v = NULL;
	nb = realloc(k->names, k->names_len);
	if (nb)
		k->names = nb;
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
	free(k->e);
	free(k->names);
	free(k);
}

const char *kallsyms__lookup(const struct kallsyms *k, uint64_t addr, uint64_t *sym_start)
{
	uint64_t off;
	size_t lo;

	if (addr < k->base || addr - k->base > UINT32_MAX)
		return NULL;
	off = addr - k->base;
	lo = UPPER_BOUND(k->e, k->n, .off, off);
	/* No sizes in kallsyms: the nearest below, if not absurdly far. */
	if (!lo || off - k->e[lo - 1].off >= KSYM_EXTENT_MAX)
		return NULL;
	if (sym_start)
		*sym_start = k->base + k->e[lo - 1].off;
	return k->names + k->e[lo - 1].name;
}

void kallsyms__range(const struct kallsyms *k, uint64_t *lo, uint64_t *hi)
{
	*lo = k->n ? k->base : 0;
	*hi = k->n ? k->base + k->e[k->n - 1].off : 0;
}

size_t kallsyms__mem_size(const struct kallsyms *k)
{
	return k ? k->n * sizeof(*k->e) + k->names_len : 0;
}
