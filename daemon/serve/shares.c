// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shares.h"

struct holder {
	char peer[SHARES_PEER_MAX];
	unsigned n; /* 0: a free entry */
};

struct shares {
	unsigned total, reserved, per_peer;
	unsigned used, used_unpriv;
	/* one entry per unprivileged peer holding slots: at most total of them,
	 * so a linear scan stays small */
	struct holder *h;
};

struct shares *shares__new(unsigned total, unsigned reserved, unsigned per_peer)
{
	struct shares *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->h = calloc(total ? total : 1, sizeof(*s->h));
	if (!s->h) {
		free(s);
		return NULL;
	}
	s->total = total;
	s->reserved = reserved < total ? reserved : 0;
	s->per_peer = per_peer ? per_peer : 1;
	return s;
}

void shares__free(struct shares *s)
{
	if (!s)
		return;
	free(s->h);
	free(s);
}

static struct holder *find(struct shares *s, const char *peer, bool add)
{
	struct holder *free_h = NULL;

	for (unsigned i = 0; i < s->total; i++) {
		if (s->h[i].n && !strcmp(s->h[i].peer, peer))
			return &s->h[i];
		if (!s->h[i].n && !free_h)
			free_h = &s->h[i];
	}
	if (add && free_h)
		snprintf(free_h->peer, sizeof(free_h->peer), "%s", peer);
	return add ? free_h : NULL;
}

int shares__take(struct shares *s, const char *peer, bool privileged)
{
	struct holder *h;

	if (s->used >= s->total)
		return -ENOSPC;
	if (privileged) {
		s->used++;
		return 0;
	}
	if (s->used_unpriv >= s->total - s->reserved)
		return -EBUSY;
	h = find(s, peer, true);
	if (!h) /* cannot happen: fewer holders than unprivileged slots */
		return -EBUSY;
	if (h->n >= s->per_peer)
		return -EUSERS;
	h->n++;
	s->used++;
	s->used_unpriv++;
	return 0;
}

void shares__give(struct shares *s, const char *peer, bool privileged)
{
	struct holder *h;

	if (!s->used)
		return;
	s->used--;
	if (privileged)
		return;
	h = find(s, peer, false);
	if (h && h->n)
		h->n--;
	if (s->used_unpriv)
		s->used_unpriv--;
}

void shares__why(const struct shares *s, int err, const char *peer, const char *what, char *buf,
		 size_t len)
{
	if (err == -EUSERS)
		snprintf(buf, len,
			 "too many concurrent %s from %s (%u, the most one user may "
			 "have); try again later",
			 what, peer, s->per_peer);
	else if (err == -EBUSY)
		snprintf(buf, len,
			 "too many concurrent %s (%u; the other %u are kept for root); "
			 "try again later",
			 what, s->total - s->reserved, s->reserved);
	else
		snprintf(buf, len, "too many concurrent %s (%u); try again later", what, s->total);
}

unsigned shares__used(const struct shares *s)
{
	return s->used;
}
