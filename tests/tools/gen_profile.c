// SPDX-License-Identifier: MIT
/*
 * Writes test profiles for pprofctl's offline reports, with the daemon's own
 * builder (daemon/profile/pprof.c), so no daemon or BPF is needed:
 *
 *   gen_profile cpu OUT     samples/count + cpu/nanoseconds: random stacks over
 *                           a few hundred functions, recursion, inline frames,
 *                           kernel frames, unsymbolized frames, hostile names
 *   gen_profile cpu-small OUT  the same with 40 samples (a fuzzing seed)
 *   gen_profile heap OUT    four sample types, default inuse_space, bytes
 *   gen_profile BAD OUT     a cpu profile (plain protobuf) broken one way:
 *                           bad-location bad-function bad-mapping bad-string
 *                           dup-id zero-id bad-values
 *
 * The same arguments always give the same file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pprof.h"
#include "profile.pb-c.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11) % n;
}

#define NR_FUNCS 300
#define MAX_DEPTH 40

struct ids {
	uint64_t m_exe, m_lib, m_kernel;
	uint64_t loc[NR_FUNCS]; /* one location per function */
	uint64_t loc_inline;    /* inl_helper inlined into fn_001 */
	uint64_t loc_kernel[4];
	uint64_t loc_nolines_lib;   /* in libfoo.so, not symbolized */
	uint64_t loc_nolines_nomap; /* no mapping at all */
	uint64_t loc_hostile[6];
	uint64_t loc_main, loc_thread, loc_recurse, loc_dup[2];
};

static const char *hostile[6] = {
	"operator<<(std::ostream&, \"quoted\" 'x')",
	"a<b>&c",
	"ctl\x01\x02\tchars\x7f",
	"bad utf8 \xff\xfe \xc3 end",
	"]]> cdata </svg><script>alert(1)</script>",
	"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e_\xf0\x9f\x94\xa5_unicode",
};

static void setup(struct pprof *p, struct ids *id)
{
	struct pprof_mapping exe = { 0x400000, 0x800000, 0,    "/opt/nonexistent/app",
				     "abc123", true,     true, true,
				     true };
	struct pprof_mapping lib = {
		0x7f0000000000, 0x7f0000100000, 0,    "/opt/nonexistent/libfoo.so", "", false,
		false,          false,          false
	};
	struct pprof_mapping kernel = { 0xffffffff81000000,
					0xffffffff82000000,
					0,
					"[kernel.kallsyms]",
					"",
					true,
					false,
					false,
					false };
	static const char *kfuncs[4] = { "entry_SYSCALL_64", "do_syscall_64", "__x64_sys_write",
					 "ksys_write" };
	struct pprof_line lines[2];
	char name[64];
	int i;

	id->m_exe = pprof__mapping(p, &exe);
	id->m_lib = pprof__mapping(p, &lib);
	id->m_kernel = pprof__mapping(p, &kernel);
	for (i = 0; i < NR_FUNCS; i++) {
		snprintf(name, sizeof(name), "fn_%03d", i);
		lines[0] = (struct pprof_line){ pprof__function(p, name, name, "/src/app.c", i),
						10 + i };
		id->loc[i] = pprof__location(p, id->m_exe, 0x410000 + i * 16, lines, 1);
	}
	lines[0] =
		(struct pprof_line){ pprof__function(p, "inl_helper", "inl_helper", "/src/h.h", 1),
				     3 };
	lines[1] =
		(struct pprof_line){ pprof__function(p, "fn_001", "fn_001", "/src/app.c", 1), 12 };
	id->loc_inline = pprof__location(p, id->m_exe, 0x402000, lines, 2);
	for (i = 0; i < 4; i++) {
		lines[0] =
			(struct pprof_line){ pprof__function(p, kfuncs[i], kfuncs[i], "", 0), 0 };
		id->loc_kernel[i] =
			pprof__location(p, id->m_kernel, 0xffffffff81001000 + i * 64, lines, 1);
	}
	id->loc_nolines_lib = pprof__location(p, id->m_lib, 0x7f0000001234, NULL, 0);
	id->loc_nolines_nomap = pprof__location(p, 0, 0xdeadbeef, NULL, 0);
	for (i = 0; i < 6; i++) {
		lines[0] = (struct pprof_line){ pprof__function(p, hostile[i], "", "", 0), 0 };
		id->loc_hostile[i] = pprof__location(p, id->m_exe, 0x403000 + i * 16, lines, 1);
	}
	lines[0] = (struct pprof_line){ pprof__function(p, "main", "main", "/src/app.c", 1), 5 };
	id->loc_main = pprof__location(p, id->m_exe, 0x404000, lines, 1);
	lines[0] = (struct pprof_line){ pprof__function(p, "start_thread", "", "", 0), 0 };
	id->loc_thread = pprof__location(p, id->m_lib, 0x7f0000002000, lines, 1);
	lines[0] =
		(struct pprof_line){ pprof__function(p, "recurse", "recurse", "/src/app.c", 1), 7 };
	id->loc_recurse = pprof__location(p, id->m_exe, 0x404100, lines, 1);
	/* one name, two functions (different files): pprof shows one node */
	lines[0] = (struct pprof_line){ pprof__function(p, "dup_name", "", "/src/a.c", 1), 1 };
	id->loc_dup[0] = pprof__location(p, id->m_exe, 0x404200, lines, 1);
	lines[0] = (struct pprof_line){ pprof__function(p, "dup_name", "", "/src/b.c", 1), 1 };
	id->loc_dup[1] = pprof__location(p, id->m_exe, 0x404300, lines, 1);
}

/* A random stack, leaf first, ending in main or (a quarter) start_thread. */
static size_t stack(const struct ids *id, uint64_t *locs)
{
	size_t n = 0, depth = 1 + rnd(MAX_DEPTH - 8), i;
	uint32_t kind = rnd(20);

	if (kind == 0) {
		for (i = 0; i < 4; i++)
			locs[n++] = id->loc_kernel[i];
	} else if (kind == 1) {
		locs[n++] = id->loc_nolines_lib;
	} else if (kind == 2) {
		locs[n++] = id->loc_nolines_nomap;
	} else if (kind == 3) {
		locs[n++] = id->loc_hostile[rnd(6)];
	} else if (kind == 4) {
		locs[n++] = id->loc_inline;
	} else if (kind == 5) {
		locs[n++] = id->loc_dup[rnd(2)];
	} else if (kind == 6) {
		/* recursion, directly and through another function */
		for (i = 0; i < 3; i++)
			locs[n++] = id->loc_recurse;
		locs[n++] = id->loc[7];
		locs[n++] = id->loc_recurse;
	}
	/* a skewed choice, so that a few functions are hot and many are cold */
	for (i = 0; i < depth; i++) {
		uint32_t f = rnd(4) ? rnd(12) : rnd(NR_FUNCS);

		locs[n++] = id->loc[f];
	}
	locs[n++] = rnd(4) ? id->loc_main : id->loc_thread;
	return n;
}

static int write_file(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}

static struct pprof *gen_cpu(int nr_samples)
{
	static const struct pprof_value_type types[] = { { "samples", "count" },
							 { "cpu", "nanoseconds" } };
	struct pprof_params params = {
		.sample_types = types,
		.nr_sample_types = 2,
		.period_type = { "cpu", "nanoseconds" },
		.period = 10000000,
		.time_nanos = 1700000000123456789LL,
		.duration_nanos = 30LL * 1000000000,
	};
	struct pprof *p = pprof__new(&params);
	struct ids id;
	uint64_t locs[MAX_DEPTH + 8];
	int i;

	setup(p, &id);
	for (i = 0; i < nr_samples; i++) {
		size_t n = stack(&id, locs);
		int64_t count = 1 + (rnd(10) ? 0 : rnd(50));
		int64_t v[2] = { count, count * 10000000 };
		struct pprof_label l = { "pid", NULL, 1000 + rnd(3), NULL };

		pprof__add_sample(p, locs, n, v, &l, 1);
	}
	pprof__add_comment(p, "generated by tests/tools/gen_profile");
	return p;
}

static struct pprof *gen_heap(void)
{
	static const struct pprof_value_type types[] = {
		{ "alloc_objects", "count" },
		{ "alloc_space", "bytes" },
		{ "inuse_objects", "count" },
		{ "inuse_space", "bytes" },
	};
	struct pprof_params params = {
		.sample_types = types,
		.nr_sample_types = 4,
		.period_type = { "space", "bytes" },
		.period = 524288,
		.time_nanos = 1700000000123456789LL,
		.default_sample_type = "inuse_space",
	};
	struct pprof *p = pprof__new(&params);
	struct ids id;
	uint64_t locs[MAX_DEPTH + 8];
	int i;

	setup(p, &id);
	for (i = 0; i < 2000; i++) {
		size_t n = stack(&id, locs);
		int64_t objs = 1 + rnd(100), size = 16 << rnd(14);
		int64_t v[4] = { objs, objs * size, rnd(3) ? 0 : objs / 2,
				 rnd(3) ? 0 : objs / 2 * size };

		pprof__add_sample(p, locs, n, v, NULL, 0);
	}
	return p;
}

static int gunzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
	size_t cap = 64 << 20;
	z_stream zs = { 0 };

	*out = malloc(cap);
	if (!*out || inflateInit2(&zs, 15 + 16) != Z_OK)
		return -1;
	zs.next_in = (uint8_t *)in;
	zs.avail_in = len;
	zs.next_out = *out;
	zs.avail_out = cap;
	if (inflate(&zs, Z_FINISH) != Z_STREAM_END)
		return -1;
	*out_len = zs.total_out;
	inflateEnd(&zs);
	return 0;
}

/* The cpu profile decoded, broken as asked, written plain. */
static int gen_bad(const char *how, const char *path)
{
	struct pprof *p = gen_cpu(3000);
	Perftools__Profiles__Profile *pb;
	uint8_t *gz, *raw, *out;
	size_t gz_len, raw_len, len;
	int ret;

	if (pprof__encode_gz(p, &gz, &gz_len) || gunzip(gz, gz_len, &raw, &raw_len))
		return 1;
	pb = perftools__profiles__profile__unpack(NULL, raw_len, raw);
	if (!pb)
		return 1;
	if (!strcmp(how, "bad-location"))
		pb->sample[pb->n_sample / 2]->location_id[0] = 999999;
	else if (!strcmp(how, "bad-function"))
		pb->location[3]->line[0]->function_id = 123456;
	else if (!strcmp(how, "bad-mapping"))
		pb->location[5]->mapping_id = 77;
	else if (!strcmp(how, "bad-string"))
		pb->function[2]->name = (int64_t)pb->n_string_table + 5;
	else if (!strcmp(how, "dup-id"))
		pb->location[4]->id = pb->location[3]->id;
	else if (!strcmp(how, "zero-id"))
		pb->function[0]->id = 0;
	else if (!strcmp(how, "bad-values"))
		pb->sample[0]->n_value = 1;
	else
		return 2;
	len = perftools__profiles__profile__get_packed_size(pb);
	out = malloc(len);
	perftools__profiles__profile__pack(pb, out);
	ret = write_file(path, out, len);
	perftools__profiles__profile__free_unpacked(pb, NULL);
	free(out);
	free(raw);
	free(gz);
	pprof__free(p);
	return ret;
}

int main(int argc, char **argv)
{
	struct pprof *p;
	uint8_t *gz;
	size_t len;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: gen_profile cpu|heap|bad-... OUT\n");
		return 2;
	}
	if (!strncmp(argv[1], "bad-", 4) || !strcmp(argv[1], "dup-id") ||
	    !strcmp(argv[1], "zero-id"))
		return gen_bad(argv[1], argv[2]);
	if (!strcmp(argv[1], "cpu"))
		p = gen_cpu(3000);
	else if (!strcmp(argv[1], "cpu-small")) /* a fuzzing seed */
		p = gen_cpu(40);
	else if (!strcmp(argv[1], "heap"))
		p = gen_heap();
	else
		return 2;
	if (pprof__encode_gz(p, &gz, &len)) {
		fprintf(stderr, "gen_profile: encoding failed\n");
		return 1;
	}
	ret = write_file(argv[2], gz, len);
	free(gz);
	pprof__free(p);
	return ret;
}
