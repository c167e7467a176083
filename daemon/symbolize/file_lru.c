// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "file_lru.h"

void file_id__from_stat(struct file_id *id, const struct stat *st)
{
	*id = (struct file_id){ (uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size,
				(uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec };
}

int file_id__of_fd(int fd, struct file_id *id)
{
	struct stat st;

	if (fstat(fd, &st))
		return errno;
	file_id__from_stat(id, &st);
	return 0;
}

static bool id_eq(const void *item, const void *key)
{
	return !memcmp(&((const struct file_lru_node *)item)->id, key, sizeof(struct file_id));
}

static uint64_t id_hash(const struct file_id *id)
{
	return hash_bytes(id, sizeof(*id), 0);
}

void file_lru__init(struct file_lru *l, size_t max_files, size_t max_bytes)
{
	*l = (struct file_lru){ .max_files = max_files ? max_files : SIZE_MAX,
				.max_bytes = max_bytes ? max_bytes : SIZE_MAX };
	l->head.prev = l->head.next = &l->head;
}

void file_lru__free(struct file_lru *l)
{
	hashtab__free(&l->ht);
	l->head.prev = l->head.next = &l->head;
	l->files = l->bytes = 0;
}

struct file_lru_node *file_lru__find(const struct file_lru *l, const struct file_id *id)
{
	return hashtab__find(&l->ht, id_hash(id), id_eq, id);
}

static void unlink_node(struct file_lru_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
}

static void push_front(struct file_lru *l, struct file_lru_node *n)
{
	n->next = l->head.next;
	n->prev = &l->head;
	l->head.next->prev = n;
	l->head.next = n;
}

int file_lru__insert(struct file_lru *l, struct file_lru_node *n)
{
	if (hashtab__insert(&l->ht, id_hash(&n->id), n))
		return -ENOMEM;
	push_front(l, n);
	l->files++;
	l->bytes += n->bytes;
	return 0;
}

void file_lru__remove(struct file_lru *l, struct file_lru_node *n)
{
	hashtab__remove(&l->ht, id_hash(&n->id), id_eq, &n->id);
	unlink_node(n);
	l->files--;
	l->bytes -= n->bytes;
}

void file_lru__touch(struct file_lru *l, struct file_lru_node *n)
{
	if (l->head.next == n)
		return; /* the common case: the file of the last lookup */
	unlink_node(n);
	push_front(l, n);
}

void file_lru__set_bytes(struct file_lru *l, struct file_lru_node *n, size_t bytes)
{
	l->bytes += bytes - n->bytes;
	n->bytes = bytes;
}

void file_lru__trim(struct file_lru *l, unsigned max_steps,
		    enum file_lru_verdict (*judge)(struct file_lru_node *n, void *ctx),
		    void (*drop)(struct file_lru_node *n, void *ctx), void *ctx)
{
	struct file_lru_node *n = l->head.prev, *newest = l->head.next;

	for (unsigned steps = 0;
	     file_lru__over(l) && n != &l->head && n != newest && (!max_steps || steps < max_steps);
	     steps++) {
		struct file_lru_node *prev = n->prev;

		switch (judge(n, ctx)) {
		case FILE_LRU_DROP:
			drop(n, ctx);
			break;
		case FILE_LRU_WARM:
			file_lru__touch(l, n);
			break;
		case FILE_LRU_PASS:
			break;
		}
		n = prev;
	}
}
