// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "file_cache.h"
#include "procs.h"
#include "symtab.h"
#include "test.h"

static void test_parse_proc_maps(void)
{
	const char *text =
		"55d0c0a00000-55d0c0a01000 r--p 00000000 fd:01 1234 /usr/bin/x\n"
		"55d0c0a01000-55d0c0a05000 r-xp 00001000 fd:01 1234 /usr/bin/x\n"
		"7f0000000000-7f0000001000 r-xp 00000000 00:00 0 \n"
		"7f0000002000-7f0000003000 r-xp 00002000 fd:01 99 /tmp/with space (deleted)\n"
		"garbage line\n"
		"7fff0000-7ffe0000 r-xp 0 0:0 0 /backwards\n"
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]";
	struct mapping *m = NULL;
	int n = parse_proc_maps(text, strlen(text), &m, 100);

	ASSERT_EQ(n, 4); /* [vsyscall] is executable too */
	if (n != 4)
		return;
	ASSERT_EQ(m[0].start, 0x55d0c0a01000);
	ASSERT_EQ(m[0].end, 0x55d0c0a05000);
	ASSERT_EQ(m[0].pgoff, 0x1000);
	ASSERT_EQ(m[0].maj, 0xfd);
	ASSERT_EQ(m[0].min, 1);
	ASSERT_EQ(m[0].ino, 1234);
	ASSERT_STREQ(m[0].path, "/usr/bin/x");
	ASSERT_STREQ(m[1].path, "");
	ASSERT_STREQ(m[2].path, "/tmp/with space (deleted)");
	ASSERT_STREQ(m[3].path, "[vsyscall]");
	for (int i = 0; i < n; i++)
		free(m[i].path);
	free(m);
	/* the cap holds */
	n = parse_proc_maps(text, strlen(text), &m, 1);
	ASSERT_EQ(n, 1);
	free(m[0].path);
	free(m);
}

static struct sb_event mmap_ev(uint32_t pid, uint64_t t, uint64_t addr, uint64_t len, uint64_t off,
			       const char *file)
{
	struct sb_event e = { .type = SB_MMAP, .time_ns = t, .pid = pid, .tid = pid };

	e.mmap.addr = addr;
	e.mmap.len = len;
	e.mmap.pgoff = off;
	e.mmap.filename = file;
	return e;
}

/* fork -> exec -> mmaps -> exit: samples find the image of their time, an
 * mmap over part of another trims it, and gc frees what ended. */
static void test_images_and_mappings(void)
{
	struct file_cache *c = file_cache__new(&(struct file_cache_limits){ .max_files = 4 });
	struct procs *p = procs__new(100, c);
	struct sb_event e = { .type = SB_FORK, .time_ns = 1000, .pid = 4000000, .tid = 4000000 };
	struct image *pre, *post;
	struct mapping *m;

	/* parent unknown (pid 1 never seen as an image here) */
	e.fork.ppid = 3999999;
	procs__apply(p, &e);
	e = (struct sb_event){ .type = SB_COMM, .time_ns = 2000, .pid = 4000000, .tid = 4000000 };
	e.comm.exec = true;
	strcpy(e.comm.comm, "newprog");
	procs__apply(p, &e);
	e = mmap_ev(4000000, 2100, 0x400000, 0x10000, 0, "/nonexistent/newprog");
	procs__apply(p, &e);
	e = mmap_ev(4000000, 2200, 0x404000, 0x2000, 0x9000, "/nonexistent/lib.so");
	procs__apply(p, &e);

	pre = procs__image_at(p, 4000000, 1500);
	post = procs__image_at(p, 4000000, 2500);
	ASSERT_TRUE(pre && post && pre != post, "exec starts a new image");
	if (!pre || !post)
		goto out;
	ASSERT_STREQ(post->comm, "newprog");
	ASSERT_EQ(post->nr_maps, 3); /* left part, the new one, right part */
	m = procs__find_mapping(p, post, 0x405000);
	ASSERT_TRUE(m && !strcmp(m->path, "/nonexistent/lib.so"));
	ASSERT_EQ(m ? m->pgoff : 0, 0x9000);
	m = procs__find_mapping(p, post, 0x407000);
	ASSERT_TRUE(m && !strcmp(m->path, "/nonexistent/newprog"));
	ASSERT_EQ(m ? m->pgoff : 0, 0x6000); /* trimmed: offset moves with start */
	ASSERT_TRUE(m && m->resolved && !m->symtab, "a missing file resolves to no symbols");
	ASSERT_TRUE(procs__find_mapping(p, post, 0x500000) == NULL);

	/* exit, then gc after the grace period frees both images */
	e = (struct sb_event){ .type = SB_EXIT, .time_ns = 3000, .pid = 4000000, .tid = 4000000 };
	procs__apply(p, &e);
	ASSERT_TRUE(post->exited);
	e = (struct sb_event){ .type = SB_EXIT, .time_ns = 10ull * 1000000000, .pid = 1, .tid = 2 };
	procs__apply(p, &e); /* a thread exit elsewhere moves time on */
	procs__gc(p);
	{
		struct procs_stats st;

		procs__stats(p, &st);
		ASSERT_EQ(st.images, 0);
	}
out:
	procs__free(p);
	file_cache__free(c);
}

/* A process running before pprofd: read from /proc on its first sample. */
static void test_preexisting_from_proc(void)
{
	struct file_cache *c = file_cache__new(&(struct file_cache_limits){ .max_files = 4 });
	struct procs *p = procs__new(100, c);
	struct image *img = procs__image_at(p, getpid(), 5);
	struct mapping *m;

	ASSERT_TRUE(img != NULL);
	if (img) {
		ASSERT_TRUE(img->nr_maps > 0, "mappings of ourselves from /proc");
		m = procs__find_mapping(p, img, (uint64_t)(uintptr_t)test_preexisting_from_proc);
		ASSERT_TRUE(m && m->symtab, "our own code is in a mapping with symbols");
		if (m && m->symtab) {
			struct sym_result r;
			uint64_t a = (uint64_t)(uintptr_t)test_preexisting_from_proc;

			ASSERT_OK(symtab__lookup(m->symtab, a - m->start + m->pgoff, &r));
			ASSERT_STREQ(r.name, "test_preexisting_from_proc");
		}
	}
	procs__free(p);
	file_cache__free(c);
}

/* An address in no mapping reads /proc again; what /proc says goes over
 * the mappings known, whose uncovered parts stay (earlier samples may be
 * in them), in one pass: 3,000 new mappings at once. */
static void test_reread_merges(void)
{
	enum { NEW = 3000 };
	struct file_cache *c = file_cache__new(&(struct file_cache_limits){ .max_files = 4 });
	struct procs *p = procs__new(100, c);
	uint64_t self = (uint64_t)(uintptr_t)test_reread_merges, lo = 0;
	struct image *img = procs__image_at(p, getpid(), 5);
	struct mapping *m;
	void *fresh[NEW];
	struct sb_event e;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	unsigned n = 0;

	if (!ASSERT_TRUE(img && fd >= 0) || !ASSERT_TRUE((m = procs__find_mapping(p, img, self))))
		goto out;
	lo = m->start;
	/* an old mapping /proc does not have, and one over part of our text */
	e = mmap_ev(getpid(), 6, 0x10000, 0x10000, 0, "/fake/old");
	procs__apply(p, &e);
	e = mmap_ev(getpid(), 7, lo, 0x1000, 0, "/fake/over");
	procs__apply(p, &e);
	for (n = 0; n < NEW; n++) {
		fresh[n] = mmap(NULL, 4096, n % 2 ? PROT_READ : PROT_READ | PROT_EXEC, MAP_PRIVATE,
				fd, 0);
		if (fresh[n] == MAP_FAILED)
			break;
	}
	ASSERT_EQ(n, NEW);
	m = procs__find_mapping(p, img, (uint64_t)(uintptr_t)fresh[0]);
	ASSERT_TRUE(m && m->path && strstr(m->path, "test_procs"), "a new mapping from /proc");
	m = procs__find_mapping(p, img, 0x18000);
	ASSERT_TRUE(m && !strcmp(m->path, "/fake/old"), "an old one /proc does not cover stays");
	m = procs__find_mapping(p, img, lo);
	ASSERT_TRUE(m && strcmp(m->path, "/fake/over"), "what /proc covers is /proc's");
	ASSERT_TRUE(img->nr_maps >= NEW / 2, "%u mappings", img->nr_maps);
	for (unsigned i = 0; i < img->nr_maps; i++) {
		ASSERT_TRUE(img->maps[i].start < img->maps[i].end);
		if (i &&
		    !ASSERT_TRUE(img->maps[i - 1].end <= img->maps[i].start, "sorted, disjoint"))
			break;
	}
	while (n--)
		munmap(fresh[n], 4096);
out:
	if (fd >= 0)
		close(fd);
	procs__free(p);
	file_cache__free(c);
}

/* With the symbol cache's loader: a mapping's symbols load in its thread
 * (the mapping says so) and are taken at the first wait for them. */
static void test_symbols_in_loader(void)
{
	struct file_cache *c = file_cache__new(&(struct file_cache_limits){ .max_files = 4 });
	struct procs *p = procs__new(100, c);
	uint64_t a = (uint64_t)(uintptr_t)test_symbols_in_loader;
	struct procs_stats st;
	struct image *img;
	struct mapping *m;

	ASSERT_EQ(file_cache__start_loaders(c), 0);
	img = procs__image_at(p, getpid(), 5);
	ASSERT_TRUE(img != NULL);
	if (!img)
		goto out;
	m = procs__find_mapping(p, img, a);
	ASSERT_TRUE(m && !m->symtab && m->sym_pending, "the load went to the thread");
	/* asked again before the thread's load is collected: still pending */
	m = procs__find_mapping(p, img, a);
	ASSERT_TRUE(m && m->sym_pending);
	if (m)
		procs__await_symbols(p, img, m);
	ASSERT_TRUE(m && m->symtab && !m->sym_pending, "taken in by the wait");
	if (m && m->symtab) {
		struct sym_result r;

		ASSERT_OK(symtab__lookup(m->symtab, a - m->start + m->pgoff, &r));
		ASSERT_STREQ(r.name, "test_symbols_in_loader");
	}
	procs__stats(p, &st);
	ASSERT_EQ(st.files.symtab_not_ready, 0);
out:
	procs__free(p);
	file_cache__free(c);
}

/* The table's limit holds and is counted. */
static void test_limit(void)
{
	struct procs *p = procs__new(2, NULL);
	struct sb_event e = { .type = SB_FORK, .time_ns = 1 };
	struct procs_stats st;

	for (uint32_t i = 0; i < 5; i++) {
		e.pid = e.tid = 5000000 + i;
		e.fork.ppid = 3999998; /* no such process */
		procs__apply(p, &e);
	}
	procs__stats(p, &st);
	ASSERT_EQ(st.images, 2);
	ASSERT_EQ(st.over_limit, 3);
	procs__free(p);
}

int main(void)
{
	RUN_TEST(test_parse_proc_maps);
	RUN_TEST(test_images_and_mappings);
	RUN_TEST(test_preexisting_from_proc);
	RUN_TEST(test_reread_merges);
	RUN_TEST(test_symbols_in_loader);
	RUN_TEST(test_limit);
	return TEST_MAIN_END();
}
