// SPDX-License-Identifier: MIT
#include <stdlib.h>

#include "collection.h"
#include "cpu_ranks.h"
#include "procs.h"
#include "stackagg.h"

static int by_pid(const void *a, const void *b)
{
	const struct cpu_rank *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

void cpu_ranks__window_end(struct cpu_ranks *r, const struct collection *c, int64_t duration_ns)
{
	struct cpu_rank *v = calloc(c->nr_ims + 1, sizeof(*v));
	unsigned n = 0, kept = 0;

	free(r->prev.r);
	r->prev = r->last;
	r->last = (struct cpu_window_ranks){ .duration_ns = duration_ns };
	if (!v)
		return;
	for (unsigned i = 0; i < c->nr_ims; i++) {
		const struct stackagg *a = c->ims[i].agg;
		const struct stack_entry *e;
		uint64_t samples = 0;

		hashtab__for_each(&((struct stackagg *)a)->ht, e) samples += e->values[0];
		if (samples)
			v[n++] = (struct cpu_rank){ c->ims[i].img->pid, samples };
	}
	/* a process's images (before and after an exec) are one process */
	qsort(v, n, sizeof(*v), by_pid);
	for (unsigned i = 1, j = 0; i < n; i++) {
		if (v[i].pid == v[j].pid) {
			v[j].samples += v[i].samples;
			v[i].samples = 0;
		} else {
			j = i;
		}
	}
	/* by pid, without the merged ones: the page looks each process up */
	for (unsigned i = 0; i < n; i++)
		if (v[i].samples)
			v[kept++] = v[i];
	n = kept;
	r->last.r = v;
	r->last.n = n;
}

uint64_t cpu_ranks__samples(const struct cpu_window_ranks *w, uint32_t pid)
{
	struct cpu_rank key = { .pid = pid };
	const struct cpu_rank *hit = w->n ? bsearch(&key, w->r, w->n, sizeof(key), by_pid) : NULL;

	return hit ? hit->samples : 0;
}

void cpu_ranks__free(struct cpu_ranks *r)
{
	free(r->last.r);
	free(r->prev.r);
	*r = (struct cpu_ranks){ 0 };
}
