// SPDX-License-Identifier: MIT
#include <unistd.h>

#include "cont_list.h"
#include "log.h"
#include "procs.h"
#include "target_match.h"

struct cont *cont_list__find(const struct cont_list *l, uint32_t pid)
{
	for (struct cont *c = l->head; c; c = c->next)
		if (c->pid == pid && !c->img->end_ns)
			return c;
	return NULL;
}

struct cont *cont_list__named(const struct cont_list *l, uint32_t pid)
{
	struct cont *c = cont_list__find(l, pid);

	return c && !c->released ? c : NULL;
}

bool cont_list__wants(const struct cont_list *l, const struct config_target *t, size_t n,
		      uint32_t pid, const char *comm, struct cont **released)
{
	struct cont *c;

	*released = NULL;
	if (!n || pid == (uint32_t)getpid())
		return false;
	c = cont_list__find(l, pid);
	if (c && !c->released)
		return false; /* profiled already */
	if (!targets_match(t, n, pid, comm))
		return false;
	*released = c;
	return true;
}

void cont_list__add(struct cont_list *l, struct cont *c)
{
	c->next = l->head;
	l->head = c;
}

void cont_list__scan(struct cont_list *l, const struct config_target *t, size_t n,
		     void (*consider)(void *ctx, uint32_t pid))
{
	for (struct cont *c = l->head; c; c = c->next) {
		if (c->released || c->img->end_ns || targets_match(t, n, c->pid, NULL))
			continue;
		l->release(l->ctx, c);
		c->released = true;
		log_info("%s: pid %u is no longer named by %s: detached", l->kind, c->pid, l->key);
	}
	if (n)
		for_each_process(consider, l->ctx);
}

int cont_list__write(struct cont_list *l, const struct cont_window *win,
		     int (*write)(void *ctx, struct cont *c, const struct cont_window *win))
{
	struct cont **at = &l->head;
	int sum = 0;

	while (*at) {
		struct cont *c = *at;

		sum += write(l->ctx, c, win);
		if (c->img->end_ns || c->released) {
			*at = c->next;
			l->free(l->ctx, c);
		} else {
			at = &c->next;
		}
	}
	return sum;
}

void cont_list__free(struct cont_list *l)
{
	while (l->head) {
		struct cont *c = l->head;

		l->head = c->next;
		l->free(l->ctx, c);
	}
}
