// SPDX-License-Identifier: MIT
/*
 * The pprof builder: what it encodes must decode (protobuf-c) to exactly what
 * was put in, with stable deduplicated ids, and `go tool pprof` must read it
 * without a warning.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "pprof.h"
#include "profile.pb-c.h"
#include "test.h"

typedef Perftools__Profiles__Profile Profile;

#define PERIOD (1000000000LL / 49)
#define TIME_NANOS 1700000000123456789LL
#define DURATION (10LL * 1000000000)

static const struct pprof_value_type cpu_types[] = {
	{ "samples", "count" },
	{ "cpu", "nanoseconds" },
};

static struct pprof *new_cpu(const char *default_type)
{
	struct pprof_params params = {
		.sample_types = cpu_types,
		.nr_sample_types = 2,
		.period_type = { "cpu", "nanoseconds" },
		.period = PERIOD,
		.time_nanos = TIME_NANOS,
		.duration_nanos = DURATION,
		.default_sample_type = default_type,
	};

	return pprof__new(&params);
}

/* Encodes p, checks it is gzip, inflates and unpacks it. NULL on failure. */
static Profile *decode(struct pprof *p)
{
	uint8_t *gz = NULL, *raw = NULL;
	size_t gz_len = 0, cap = 1 << 16;
	z_stream zs = { 0 };
	Profile *prof = NULL;
	int ret;

	if (!ASSERT_OK(pprof__encode_gz(p, &gz, &gz_len)))
		return NULL;
	if (!ASSERT_TRUE(gz_len > 18 && gz[0] == 0x1f && gz[1] == 0x8b, "not gzip"))
		goto out;
	if (!ASSERT_EQ(inflateInit2(&zs, 15 + 16), Z_OK))
		goto out;
	zs.next_in = gz;
	zs.avail_in = gz_len;
	do {
		uint8_t *n = realloc(raw, cap *= 2);

		if (!n)
			break;
		raw = n;
		zs.next_out = raw + zs.total_out;
		zs.avail_out = cap - zs.total_out;
		ret = inflate(&zs, Z_NO_FLUSH);
	} while (ret == Z_OK);
	if (ASSERT_EQ(ret, Z_STREAM_END) && ASSERT_EQ(zs.avail_in, 0))
		prof = perftools__profiles__profile__unpack(NULL, zs.total_out, raw);
	ASSERT_TRUE(prof != NULL, "unpack failed");
	inflateEnd(&zs);
out:
	free(raw);
	free(gz);
	return prof;
}

/* The string at index i of the decoded table, or NULL if out of range. */
static const char *str(const Profile *prof, int64_t i)
{
	if (i < 0 || (size_t)i >= prof->n_string_table)
		return NULL;
	return prof->string_table[i];
}

/* ---- a cpu profile with everything pprofd puts in one ---- */

struct ids {
	uint64_t m_exe, m_libc, m_kernel;
	uint64_t f_main, f_inner, f_outer, f_libc, f_kernel, f_cxx;
	uint64_t l_inline, l_main, l_libc, l_kernel, l_cxx;
};

static const char *const exe_path = "/usr/bin/pprofd-test-prog";
static const char *const libc_path = "/usr/lib/x86_64-linux-gnu/libc.so.6";

static void build_cpu(struct pprof *p, struct ids *id)
{
	struct pprof_mapping exe = {
		.start = 0x555555554000,
		.limit = 0x555555559000,
		.offset = 0x1000,
		.filename = exe_path,
		.build_id = "0123456789abcdef0123456789abcdef01234567",
		.has_functions = true,
		.has_filenames = true,
		.has_line_numbers = true,
		.has_inline_frames = true,
	};
	struct pprof_mapping libc = {
		.start = 0x7ffff7c00000,
		.limit = 0x7ffff7dbd000,
		.offset = 0x28000,
		.filename = libc_path,
		.build_id = "fedcba9876543210fedcba9876543210fedcba98",
		.has_functions = true,
	};
	struct pprof_mapping kernel = {
		.start = 0xffffffff81000000,
		.limit = 0xffffffffffffffff,
		.filename = "[kernel.kallsyms]",
		.has_functions = true,
	};

	id->m_exe = pprof__mapping(p, &exe);
	id->m_libc = pprof__mapping(p, &libc);
	id->m_kernel = pprof__mapping(p, &kernel);
	id->f_main = pprof__function(p, "main", "main", "/src/prog.c", 10);
	id->f_inner = pprof__function(p, "compute_inner", "compute_inner", "/src/prog.c", 40);
	id->f_outer = pprof__function(p, "compute_outer", "compute_outer", "/src/prog.c", 55);
	id->f_libc =
		pprof__function(p, "__libc_start_call_main", "__libc_start_call_main", NULL, 0);
	id->f_kernel = pprof__function(p, "do_syscall_64", "do_syscall_64", NULL, 0);
	id->f_cxx = pprof__function(p, "ns::Widget::spin(int)", "_ZN2ns6Widget4spinEi",
				    "/src/widget.cc", 7);

	/* innermost inline frame first, then the function it was inlined into */
	struct pprof_line inl[] = { { id->f_inner, 42 }, { id->f_outer, 57 } };
	struct pprof_line l_main[] = { { id->f_main, 15 } };
	struct pprof_line l_libc[] = { { id->f_libc, 0 } };
	struct pprof_line l_kernel[] = { { id->f_kernel, 0 } };
	struct pprof_line l_cxx[] = { { id->f_cxx, 9 } };

	id->l_inline = pprof__location(p, id->m_exe, 0x555555555123, inl, 2);
	id->l_main = pprof__location(p, id->m_exe, 0x555555555200, l_main, 1);
	id->l_libc = pprof__location(p, id->m_libc, 0x7ffff7c29d90, l_libc, 1);
	id->l_kernel = pprof__location(p, id->m_kernel, 0xffffffff81a0007c, l_kernel, 1);
	id->l_cxx = pprof__location(p, id->m_exe, 0x555555555300, l_cxx, 1);

	uint64_t s1[] = { id->l_kernel, id->l_inline, id->l_main, id->l_libc };
	uint64_t s2[] = { id->l_cxx, id->l_main, id->l_libc };
	int64_t v1[] = { 3, 3 * PERIOD }, v2[] = { 1, PERIOD };
	struct pprof_label lab1[] = {
		{ .key = "pid", .num = 4242 },
		{ .key = "tid", .num = 4243 },
		{ .key = "comm", .str = "testprog" },
		{ .key = "thread", .str = "worker-1" },
	};
	struct pprof_label lab2[] = {
		{ .key = "pid", .num = 4242 },
		{ .key = "tid", .num = 4242 },
		{ .key = "comm", .str = "testprog" },
		{ .key = "thread", .str = "testprog" },
	};

	ASSERT_OK(pprof__add_sample(p, s1, 4, v1, lab1, 4));
	ASSERT_OK(pprof__add_sample(p, s2, 3, v2, lab2, 4));
	ASSERT_OK(pprof__add_comment(p, "pprofd unit test profile"));
}

static void check_label_num(const Profile *prof, const Perftools__Profiles__Label *l,
			    const char *key, int64_t num)
{
	ASSERT_STREQ(str(prof, l->key), key);
	ASSERT_EQ(l->str, 0);
	ASSERT_EQ(l->num, num);
	ASSERT_EQ(l->num_unit, 0);
}

static void check_label_str(const Profile *prof, const Perftools__Profiles__Label *l,
			    const char *key, const char *val)
{
	ASSERT_STREQ(str(prof, l->key), key);
	ASSERT_STREQ(str(prof, l->str), val);
	ASSERT_EQ(l->num, 0);
}

/* Checks the function names of a location's lines, and their line numbers. */
static void check_loc(const Profile *prof, uint64_t loc_id, uint64_t mapping_id, uint64_t address,
		      size_t n, const char *const *names, const int64_t *lines)
{
	const Perftools__Profiles__Location *l;

	if (!ASSERT_TRUE(loc_id >= 1 && loc_id <= prof->n_location))
		return;
	l = prof->location[loc_id - 1];
	ASSERT_EQ(l->id, loc_id);
	ASSERT_EQ(l->mapping_id, mapping_id);
	ASSERT_EQ(l->address, address);
	ASSERT_EQ(l->is_folded, 0);
	if (!ASSERT_EQ(l->n_line, n))
		return;
	for (size_t i = 0; i < n; i++) {
		uint64_t fid = l->line[i]->function_id;

		ASSERT_EQ(l->line[i]->line, lines[i]);
		if (ASSERT_TRUE(fid >= 1 && fid <= prof->n_function))
			ASSERT_STREQ(str(prof, prof->function[fid - 1]->name), names[i]);
	}
}

static void test_roundtrip(void)
{
	struct pprof *p = new_cpu("cpu");
	struct ids id;
	Profile *prof;

	if (!ASSERT_TRUE(p != NULL))
		return;
	build_cpu(p, &id);
	ASSERT_EQ(pprof__nr_samples(p), 2);
	prof = decode(p);
	if (!prof)
		goto out;

	ASSERT_STREQ(str(prof, 0), "");
	if (ASSERT_EQ(prof->n_sample_type, 2)) {
		ASSERT_STREQ(str(prof, prof->sample_type[0]->type), "samples");
		ASSERT_STREQ(str(prof, prof->sample_type[0]->unit), "count");
		ASSERT_STREQ(str(prof, prof->sample_type[1]->type), "cpu");
		ASSERT_STREQ(str(prof, prof->sample_type[1]->unit), "nanoseconds");
	}
	if (ASSERT_TRUE(prof->period_type != NULL)) {
		ASSERT_STREQ(str(prof, prof->period_type->type), "cpu");
		ASSERT_STREQ(str(prof, prof->period_type->unit), "nanoseconds");
	}
	ASSERT_EQ(prof->period, PERIOD);
	ASSERT_EQ(prof->time_nanos, TIME_NANOS);
	ASSERT_EQ(prof->duration_nanos, DURATION);
	ASSERT_STREQ(str(prof, prof->default_sample_type), "cpu");
	ASSERT_EQ(prof->drop_frames, 0);
	ASSERT_EQ(prof->keep_frames, 0);
	if (ASSERT_EQ(prof->n_comment, 1))
		ASSERT_STREQ(str(prof, prof->comment[0]), "pprofd unit test profile");

	/* mappings, ids in order */
	if (ASSERT_EQ(prof->n_mapping, 3)) {
		const Perftools__Profiles__Mapping *m;

		ASSERT_EQ(id.m_exe, 1);
		ASSERT_EQ(id.m_libc, 2);
		ASSERT_EQ(id.m_kernel, 3);
		m = prof->mapping[0];
		ASSERT_EQ(m->id, 1);
		ASSERT_EQ(m->memory_start, 0x555555554000);
		ASSERT_EQ(m->memory_limit, 0x555555559000);
		ASSERT_EQ(m->file_offset, 0x1000);
		ASSERT_STREQ(str(prof, m->filename), exe_path);
		ASSERT_STREQ(str(prof, m->build_id), "0123456789abcdef0123456789abcdef01234567");
		ASSERT_TRUE(m->has_functions && m->has_filenames && m->has_line_numbers &&
			    m->has_inline_frames);
		m = prof->mapping[1];
		ASSERT_EQ(m->id, 2);
		ASSERT_EQ(m->memory_start, 0x7ffff7c00000);
		ASSERT_EQ(m->memory_limit, 0x7ffff7dbd000);
		ASSERT_EQ(m->file_offset, 0x28000);
		ASSERT_STREQ(str(prof, m->filename), libc_path);
		ASSERT_STREQ(str(prof, m->build_id), "fedcba9876543210fedcba9876543210fedcba98");
		ASSERT_TRUE(m->has_functions && !m->has_filenames && !m->has_line_numbers &&
			    !m->has_inline_frames);
		m = prof->mapping[2];
		ASSERT_EQ(m->id, 3);
		ASSERT_TRUE(m->memory_start == 0xffffffff81000000ULL);
		ASSERT_TRUE(m->memory_limit == 0xffffffffffffffffULL);
		ASSERT_STREQ(str(prof, m->filename), "[kernel.kallsyms]");
		ASSERT_EQ(m->build_id, 0);
	}

	/* functions */
	if (ASSERT_EQ(prof->n_function, 6)) {
		const Perftools__Profiles__Function *f = prof->function[id.f_cxx - 1];

		for (size_t i = 0; i < 6; i++)
			ASSERT_EQ(prof->function[i]->id, i + 1);
		ASSERT_STREQ(str(prof, f->name), "ns::Widget::spin(int)");
		ASSERT_STREQ(str(prof, f->system_name), "_ZN2ns6Widget4spinEi");
		ASSERT_STREQ(str(prof, f->filename), "/src/widget.cc");
		ASSERT_EQ(f->start_line, 7);
		f = prof->function[id.f_libc - 1];
		ASSERT_STREQ(str(prof, f->name), "__libc_start_call_main");
		ASSERT_EQ(f->filename, 0);
		ASSERT_EQ(f->start_line, 0);
	}

	/* locations, with the inline frames innermost first */
	if (ASSERT_EQ(prof->n_location, 5)) {
		static const char *const inl[] = { "compute_inner", "compute_outer" };
		static const int64_t inl_lines[] = { 42, 57 };
		static const char *const mn[] = { "main" }, *const lc[] = {
			"__libc_start_call_main"
		};
		static const char *const kn[] = { "do_syscall_64" };
		static const int64_t l15[] = { 15 }, l0[] = { 0 };

		check_loc(prof, id.l_inline, id.m_exe, 0x555555555123, 2, inl, inl_lines);
		check_loc(prof, id.l_main, id.m_exe, 0x555555555200, 1, mn, l15);
		check_loc(prof, id.l_libc, id.m_libc, 0x7ffff7c29d90, 1, lc, l0);
		check_loc(prof, id.l_kernel, id.m_kernel, 0xffffffff81a0007c, 1, kn, l0);
	}

	/* samples, leaf first, with their values and labels */
	if (ASSERT_EQ(prof->n_sample, 2)) {
		const Perftools__Profiles__Sample *s = prof->sample[0];

		if (ASSERT_EQ(s->n_location_id, 4)) {
			ASSERT_EQ(s->location_id[0], id.l_kernel);
			ASSERT_EQ(s->location_id[1], id.l_inline);
			ASSERT_EQ(s->location_id[2], id.l_main);
			ASSERT_EQ(s->location_id[3], id.l_libc);
		}
		if (ASSERT_EQ(s->n_value, 2)) {
			ASSERT_EQ(s->value[0], 3);
			ASSERT_EQ(s->value[1], 3 * PERIOD);
		}
		if (ASSERT_EQ(s->n_label, 4)) {
			check_label_num(prof, s->label[0], "pid", 4242);
			check_label_num(prof, s->label[1], "tid", 4243);
			check_label_str(prof, s->label[2], "comm", "testprog");
			check_label_str(prof, s->label[3], "thread", "worker-1");
		}
		s = prof->sample[1];
		if (ASSERT_EQ(s->n_location_id, 3)) {
			ASSERT_EQ(s->location_id[0], id.l_cxx);
			ASSERT_EQ(s->location_id[1], id.l_main);
			ASSERT_EQ(s->location_id[2], id.l_libc);
		}
		if (ASSERT_EQ(s->n_value, 2)) {
			ASSERT_EQ(s->value[0], 1);
			ASSERT_EQ(s->value[1], PERIOD);
		}
		if (ASSERT_EQ(s->n_label, 4)) {
			check_label_num(prof, s->label[0], "pid", 4242);
			check_label_num(prof, s->label[1], "tid", 4242);
			check_label_str(prof, s->label[2], "comm", "testprog");
			check_label_str(prof, s->label[3], "thread", "testprog");
		}
	}

	/* every string once */
	for (size_t i = 0; i < prof->n_string_table; i++)
		for (size_t j = i + 1; j < prof->n_string_table; j++)
			ASSERT_TRUE(strcmp(prof->string_table[i], prof->string_table[j]),
				    "\"%s\" twice", prof->string_table[i]);
	perftools__profiles__profile__free_unpacked(prof, NULL);
out:
	pprof__free(p);
}

/* The same input gives the same id; a different one a new id. */
static void test_dedup(void)
{
	struct pprof *p = new_cpu(NULL);
	struct pprof_mapping m = { .start = 0x1000,
				   .limit = 0x2000,
				   .filename = "/bin/a",
				   .build_id = "aa",
				   .has_functions = true };
	uint64_t m1, m2, f1, f2, l1;
	int64_t s;

	if (!ASSERT_TRUE(p != NULL))
		return;
	s = pprof__string(p, "hello");
	ASSERT_TRUE(s > 0);
	ASSERT_EQ(pprof__string(p, "hello"), s);
	ASSERT_TRUE(pprof__string(p, "hello2") != s);
	ASSERT_EQ(pprof__string(p, ""), 0);
	ASSERT_EQ(pprof__string(p, NULL), 0);

	m1 = pprof__mapping(p, &m);
	ASSERT_EQ(m1, 1);
	ASSERT_EQ(pprof__mapping(p, &m), m1);
	m.has_line_numbers = true; /* every field counts */
	m2 = pprof__mapping(p, &m);
	ASSERT_EQ(m2, 2);
	m.has_line_numbers = false;
	m.build_id = "bb";
	ASSERT_EQ(pprof__mapping(p, &m), 3);
	m.build_id = "aa";
	ASSERT_EQ(pprof__mapping(p, &m), m1);

	f1 = pprof__function(p, "f", "f", "a.c", 1);
	ASSERT_EQ(f1, 1);
	ASSERT_EQ(pprof__function(p, "f", "f", "a.c", 1), f1);
	f2 = pprof__function(p, "f", "f", "a.c", 2);
	ASSERT_EQ(f2, 2);
	ASSERT_EQ(pprof__function(p, "f", "_Z1fv", "a.c", 1), 3);
	ASSERT_EQ(pprof__function(p, "f", "f", NULL, 1), 4);
	ASSERT_EQ(pprof__function(p, "f", NULL, NULL, 1), 5);
	ASSERT_EQ(pprof__function(p, "f", "", "", 1), 5);

	struct pprof_line ln1 = { f1, 3 }, ln2 = { f2, 4 };

	ASSERT_EQ(pprof__find_location(p, m1, 0x1100), 0);
	l1 = pprof__location(p, m1, 0x1100, &ln1, 1);
	ASSERT_EQ(l1, 1);
	ASSERT_EQ(pprof__find_location(p, m1, 0x1100), l1);
	/* keyed on (mapping, address): lines do not matter */
	ASSERT_EQ(pprof__location(p, m1, 0x1100, &ln2, 1), l1);
	ASSERT_EQ(pprof__location(p, m2, 0x1100, &ln1, 1), 2);
	ASSERT_EQ(pprof__location(p, m1, 0x1104, &ln1, 1), 3);
	ASSERT_EQ(pprof__location(p, 0, 0x1100, NULL, 0), 4);
	ASSERT_EQ(pprof__find_location(p, 0, 0x1100), 4);
	ASSERT_EQ(pprof__find_location(p, m2, 0x1104), 0);
	/* address 0 (synthetic frames): told apart by their lines */
	ASSERT_EQ(pprof__location(p, 0, 0, &ln1, 1), 5);
	ASSERT_EQ(pprof__location(p, 0, 0, &ln2, 1), 6);
	ASSERT_EQ(pprof__location(p, 0, 0, &ln1, 1), 5);
	ASSERT_EQ(pprof__find_location(p, 0, 0), 0);

	/* dangling ids are refused */
	ASSERT_EQ(pprof__location(p, 99, 0x10, &ln1, 1), 0);
	struct pprof_line bad = { 99, 1 };
	ASSERT_EQ(pprof__location(p, m1, 0x10, &bad, 1), 0);
	bad.function_id = 0;
	ASSERT_EQ(pprof__location(p, m1, 0x10, &bad, 1), 0);

	/* identical samples merge: values add up, the count says 2 */
	uint64_t stack[] = { l1, 3 };
	int64_t v[] = { 1, 100 };
	struct pprof_label lab[] = { { .key = "pid", .num = 7 } };
	struct pprof_label lab_other[] = { { .key = "pid", .num = 8 } };

	ASSERT_OK(pprof__add_sample(p, stack, 2, v, lab, 1));
	ASSERT_OK(pprof__add_sample(p, stack, 2, v, lab, 1));
	ASSERT_OK(pprof__add_sample(p, stack, 2, v, lab_other, 1));
	ASSERT_OK(pprof__add_sample(p, stack, 1, v, lab, 1));
	ASSERT_EQ(pprof__nr_samples(p), 4);

	/* bad samples are refused and change nothing */
	uint64_t dangling[] = { l1, 77 }, zero[] = { 0 };
	struct pprof_label str_unit[] = { { .key = "k", .str = "v", .unit = "bytes" } };
	struct pprof_label no_key[] = { { .num = 1 } };

	ASSERT_EQ(pprof__add_sample(p, dangling, 2, v, lab, 1), -EINVAL);
	ASSERT_EQ(pprof__add_sample(p, zero, 1, v, lab, 1), -EINVAL);
	ASSERT_EQ(pprof__add_sample(p, stack, 2, v, str_unit, 1), -EINVAL);
	ASSERT_EQ(pprof__add_sample(p, stack, 2, v, no_key, 1), -EINVAL);
	ASSERT_EQ(pprof__add_sample(p, stack, 2, NULL, lab, 1), -EINVAL);
	ASSERT_EQ(pprof__nr_samples(p), 4);

	Profile *prof = decode(p);

	if (prof) {
		ASSERT_EQ(prof->n_mapping, 3);
		ASSERT_EQ(prof->n_function, 5);
		ASSERT_EQ(prof->n_location, 6);
		ASSERT_EQ(prof->default_sample_type, 0);
		if (ASSERT_EQ(prof->n_sample, 3)) {
			ASSERT_EQ(prof->sample[0]->value[0], 2);
			ASSERT_EQ(prof->sample[0]->value[1], 200);
			ASSERT_EQ(prof->sample[1]->label[0]->num, 8);
			ASSERT_EQ(prof->sample[2]->n_location_id, 1);
		}
		perftools__profiles__profile__free_unpacked(prof, NULL);
	}
	pprof__free(p);
}

/* Numeric labels keep their unit; values that would overflow do not merge. */
static void test_units_and_overflow(void)
{
	static const struct pprof_value_type heap_types[] = {
		{ "alloc_objects", "count" },
		{ "alloc_space", "bytes" },
		{ "inuse_objects", "count" },
		{ "inuse_space", "bytes" },
	};
	struct pprof_params params = {
		.sample_types = heap_types,
		.nr_sample_types = 4,
		.period_type = { "space", "bytes" },
		.period = 524288,
		.default_sample_type = "inuse_space",
	};
	struct pprof *p = pprof__new(&params);
	struct pprof_label lab[] = { { .key = "bytes", .num = 4096, .unit = "bytes" } };
	int64_t big[] = { 1, INT64_MAX, 1, 1 }, one[] = { 1, 1, 1, 1 };
	Profile *prof;

	if (!ASSERT_TRUE(p != NULL))
		return;
	ASSERT_OK(pprof__add_sample(p, NULL, 0, big, lab, 1));
	ASSERT_OK(pprof__add_sample(p, NULL, 0, one, lab, 1)); /* would overflow */
	ASSERT_OK(pprof__add_sample(p, NULL, 0, one, lab, 1)); /* merges with the last */
	prof = decode(p);
	if (prof) {
		ASSERT_STREQ(str(prof, prof->default_sample_type), "inuse_space");
		ASSERT_EQ(prof->n_sample_type, 4);
		if (ASSERT_EQ(prof->n_sample, 2)) {
			const Perftools__Profiles__Label *l = prof->sample[0]->label[0];

			ASSERT_STREQ(str(prof, l->key), "bytes");
			ASSERT_EQ(l->num, 4096);
			ASSERT_STREQ(str(prof, l->num_unit), "bytes");
			ASSERT_EQ(prof->sample[0]->value[1], INT64_MAX);
			ASSERT_EQ(prof->sample[1]->value[1], 2);
			ASSERT_EQ(prof->sample[1]->n_location_id, 0);
		}
		perftools__profiles__profile__free_unpacked(prof, NULL);
	}
	pprof__free(p);

	/* a default sample type that is not a sample type, no sample types */
	params.default_sample_type = "cpu";
	errno = 0;
	ASSERT_TRUE(pprof__new(&params) == NULL);
	ASSERT_EQ(errno, EINVAL);
	params.default_sample_type = NULL;
	params.nr_sample_types = 0;
	ASSERT_TRUE(pprof__new(&params) == NULL);
	pprof__free(NULL);
}

/*
 * Many of everything: more than one encoding batch of strings, functions,
 * locations and samples, and many samples merging. Nothing may be lost.
 */
static void test_many(void)
{
	enum { NF = 3000, NS = 60000, NTHREADS = 37 };
	struct pprof *p = new_cpu(NULL);
	struct pprof_mapping m = {
		.start = 0x400000, .limit = 0x800000, .filename = "/bin/big", .has_functions = true
	};
	uint64_t *locs = calloc(NF, sizeof(*locs)), mid;
	int64_t total = 0;
	char name[64];
	Profile *prof;

	if (!ASSERT_TRUE(p != NULL && locs != NULL))
		goto out;
	mid = pprof__mapping(p, &m);
	for (size_t i = 0; i < NF; i++) {
		struct pprof_line ln = { 0, (int64_t)i };

		snprintf(name, sizeof(name), "func_%zu", i);
		ln.function_id = pprof__function(p, name, name, "/src/big.c", 0);
		locs[i] = pprof__location(p, mid, 0x400000 + i * 16, &ln, 1);
		ASSERT_EQ(locs[i], i + 1);
	}
	for (size_t i = 0; i < NS; i++) {
		uint64_t stack[8];
		int64_t v[2] = { 1, PERIOD };
		char thread[16];
		struct pprof_label lab[] = {
			{ .key = "pid", .num = 100 },
			{ .key = "tid", .num = 100 + (int64_t)(i % NTHREADS) },
			{ .key = "comm", .str = "big" },
			{ .key = "thread", .str = thread },
		};

		snprintf(thread, sizeof(thread), "t%zu", i % NTHREADS);
		for (size_t j = 0; j < 8; j++)
			stack[j] = locs[(i % 100 * 7 + j * 131) % NF];
		if (!ASSERT_OK(pprof__add_sample(p, stack, 8, v, lab, 4)))
			break;
	}
	ASSERT_EQ(pprof__nr_samples(p), NS);
	prof = decode(p);
	if (prof) {
		ASSERT_EQ(prof->n_function, NF);
		ASSERT_EQ(prof->n_location, NF);
		ASSERT_TRUE(prof->n_sample > 1000 && prof->n_sample < NS, "%zu samples",
			    prof->n_sample);
		for (size_t i = 0; i < prof->n_sample; i++)
			total += prof->sample[i]->value[0];
		ASSERT_EQ(total, NS);
		for (size_t i = 0; i < prof->n_location; i++)
			ASSERT_EQ(prof->location[i]->id, i + 1);
		snprintf(name, sizeof(name), "func_%d", NF - 1);
		ASSERT_STREQ(str(prof, prof->function[NF - 1]->name), name);
		perftools__profiles__profile__free_unpacked(prof, NULL);
	}
out:
	free(locs);
	pprof__free(p);
}

/* ---- go tool pprof ---- */

static const char *go_binary(void)
{
	static const char *const cands[] = { "/usr/bin/go", "/usr/lib/go/bin/go",
					     "/usr/local/go/bin/go" };

	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
		if (!access(cands[i], X_OK))
			return cands[i];
	return NULL;
}

/* Writes the encoded profile to a fresh temporary file; its path in buf. */
static bool write_profile(struct pprof *p, char *buf)
{
	uint8_t *gz;
	size_t len;
	int fd;
	bool ok;

	strcpy(buf, "/tmp/pprofd-test-XXXXXX");
	fd = mkstemp(buf);
	if (!ASSERT_TRUE(fd >= 0, "mkstemp: %s", strerror(errno)))
		return false;
	if (!ASSERT_OK(pprof__encode_gz(p, &gz, &len))) {
		close(fd);
		unlink(buf);
		return false;
	}
	ok = ASSERT_EQ(write(fd, gz, len), (long long)len);
	close(fd);
	free(gz);
	if (!ok)
		unlink(buf);
	return ok;
}

/*
 * Runs `go tool pprof ARGS FILE`; its stdout in a malloc'ed string, NULL if
 * it failed or printed anything on stderr (pprof's warnings go there).
 */
static char *run_pprof(const char *args, const char *file)
{
	const char *go = go_binary();
	char cmd[1024], errpath[] = "/tmp/pprofd-test-err-XXXXXX";
	char *out = NULL, errbuf[4096];
	size_t len = 0, n;
	FILE *f;
	int fd, status;

	if (!ASSERT_TRUE(go != NULL,
			 "go is not installed: cannot check the profile with go tool pprof"))
		return NULL;
	fd = mkstemp(errpath);
	if (!ASSERT_TRUE(fd >= 0))
		return NULL;
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s tool pprof %s %s 2>%s", go, args, file, errpath);
	f = popen(cmd, "r");
	if (!ASSERT_TRUE(f != NULL, "popen: %s", strerror(errno)))
		goto out;
	for (;;) {
		char *o = realloc(out, len + 65536 + 1);

		if (!o)
			break;
		out = o;
		n = fread(out + len, 1, 65536, f);
		len += n;
		out[len] = 0;
		if (!n)
			break;
	}
	status = pclose(f);
	f = fopen(errpath, "r");
	if (f) {
		n = fread(errbuf, 1, sizeof(errbuf) - 1, f);
		errbuf[n] = 0;
		fclose(f);
		ASSERT_TRUE(n == 0, "%s printed on stderr:\n%s", cmd, errbuf);
		if (n) {
			free(out);
			out = NULL;
		}
	}
	if (!ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s failed: %d", cmd,
			 status)) {
		free(out);
		out = NULL;
	}
out:
	unlink(errpath);
	return out;
}

static void expect_in(const char *out, const char *what, const char *needle)
{
	ASSERT_TRUE(out && strstr(out, needle), "%s output lacks \"%s\":\n%s", what, needle,
		    out ? out : "(none)");
}

static void test_go_pprof(void)
{
	struct pprof *p = new_cpu("cpu");
	char path[64], *out;
	struct ids id;

	if (!ASSERT_TRUE(p != NULL))
		return;
	build_cpu(p, &id);
	if (!write_profile(p, path))
		goto out;

	out = run_pprof("-raw", path);
	expect_in(out, "-raw", "samples/count cpu/nanoseconds");
	expect_in(out, "-raw", "compute_inner");
	expect_in(out, "-raw", "compute_outer");
	expect_in(out, "-raw", "ns::Widget::spin(int)");
	expect_in(out, "-raw", "do_syscall_64");
	expect_in(out, "-raw", "[kernel.kallsyms]");
	expect_in(out, "-raw", exe_path);
	expect_in(out, "-raw", "0123456789abcdef0123456789abcdef01234567");
	expect_in(out, "-raw", "pid:[4242]");
	expect_in(out, "-raw", "tid:[4243]");
	expect_in(out, "-raw", "comm:[testprog]");
	expect_in(out, "-raw", "thread:[worker-1]");
	expect_in(out, "-raw", "pprofd unit test profile");
	free(out);

	out = run_pprof("-top", path);
	expect_in(out, "-top", "Type: cpu");
	expect_in(out, "-top", "compute_inner");
	expect_in(out, "-top", "ns::Widget::spin(int)");
	expect_in(out, "-top", "do_syscall_64");
	expect_in(out, "-top", "Duration: 10s");
	free(out);

	/* labels as pprof shows them with -tags */
	out = run_pprof("-tags", path);
	expect_in(out, "-tags", "worker-1");
	expect_in(out, "-tags", "testprog");
	expect_in(out, "-tags", "4243");
	free(out);
	unlink(path);
out:
	pprof__free(p);
}

/* A window with no samples still gives a profile every reader opens. */
static void test_go_pprof_empty(void)
{
	struct pprof *p = new_cpu(NULL);
	char path[64], *out;
	Profile *prof;

	if (!ASSERT_TRUE(p != NULL))
		return;
	ASSERT_EQ(pprof__nr_samples(p), 0);
	prof = decode(p);
	if (prof) {
		ASSERT_EQ(prof->n_sample, 0);
		ASSERT_EQ(prof->n_sample_type, 2);
		perftools__profiles__profile__free_unpacked(prof, NULL);
	}
	if (write_profile(p, path)) {
		out = run_pprof("-top", path);
		expect_in(out, "-top", "Type: cpu");
		free(out);
		out = run_pprof("-raw", path);
		expect_in(out, "-raw", "samples/count cpu/nanoseconds");
		free(out);
		unlink(path);
	}
	pprof__free(p);
}

int main(void)
{
	RUN_TEST(test_roundtrip);
	RUN_TEST(test_dedup);
	RUN_TEST(test_units_and_overflow);
	RUN_TEST(test_many);
	RUN_TEST(test_go_pprof);
	RUN_TEST(test_go_pprof_empty);
	return TEST_MAIN_END();
}
