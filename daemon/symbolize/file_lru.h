/* SPDX-License-Identifier: MIT */
/*
 * What the caches of per-file products (symbols, unwind tables) share: a
 * file's identity, and a table of entries by identity kept in least
 * recently used order, with their count and bytes against two bounds.
 *
 * Entries are the caller's (a struct file_lru_node inside its own entry);
 * the table only links them. What goes when, and what stays while it is
 * loading or held, is each cache's policy: it asks for the coldest entry
 * while the table is over its bounds.
 */
#ifndef PPROFD_FILE_LRU_H
#define PPROFD_FILE_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hashtab.h"

/* A file as it is now: a binary replaced or rewritten in place is another. */
struct file_id {
	uint64_t dev, ino, size, mtime_sec, mtime_nsec;
};

/* The identity of the file open at fd: 0, or errno. */
int file_id__of_fd(int fd, struct file_id *id);
struct stat;
void file_id__from_stat(struct file_id *id, const struct stat *st);

struct file_lru_node {
	struct file_id id;
	size_t bytes;                      /* what it counts against max_bytes */
	struct file_lru_node *prev, *next; /* most recent first */
};

struct file_lru {
	struct hashtab ht;
	struct file_lru_node head; /* sentinel */
	size_t files, bytes;
	size_t max_files, max_bytes;
};

/* 0 for either bound: none. */
void file_lru__init(struct file_lru *l, size_t max_files, size_t max_bytes);
/* Unlinks nothing: the entries are the caller's to free. */
void file_lru__free(struct file_lru *l);

struct file_lru_node *file_lru__find(const struct file_lru *l, const struct file_id *id);
/* n (its id and bytes set) in at the warm end: 0, or -ENOMEM. */
int file_lru__insert(struct file_lru *l, struct file_lru_node *n);
void file_lru__remove(struct file_lru *l, struct file_lru_node *n);
/* To the warm end: just used, or held. */
void file_lru__touch(struct file_lru *l, struct file_lru_node *n);
/* n counts bytes from now on. */
void file_lru__set_bytes(struct file_lru *l, struct file_lru_node *n, size_t bytes);

static inline bool file_lru__over(const struct file_lru *l)
{
	return l->files > l->max_files || l->bytes > l->max_bytes;
}

/* What a trim does with an entry. */
enum file_lru_verdict {
	FILE_LRU_DROP, /* drop() takes it out (file_lru__remove) and frees what it holds */
	FILE_LRU_WARM, /* in use: to the warm end */
	FILE_LRU_PASS, /* stays where it is (being loaded) */
};

/* While over the bounds, looks at entries from the cold end, at most
 * max_steps (0: all), and never at the most recent: it is what the
 * caller is about to use. */
void file_lru__trim(struct file_lru *l, unsigned max_steps,
		    enum file_lru_verdict (*judge)(struct file_lru_node *n, void *ctx),
		    void (*drop)(struct file_lru_node *n, void *ctx), void *ctx);

#endif
