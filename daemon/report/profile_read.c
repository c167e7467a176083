// SPDX-License-Identifier: MIT
/*
 * Loading a pprof profile for the offline reports. Every size is capped and
 * every index checked before use: a bad file gets an error, never a crash.
 * Frames are named as `go tool pprof` names them at its default granularity
 * (functions): the function's name; for a location or function without one,
 * "[base name of the mapping's file]", else "<unknown>".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fdio.h"
#include "hashtab.h"
#include "profile_read.h"

typedef Perftools__Profiles__Profile Profile;

int profile_errf(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/* Reads the whole file (a pipe too), refusing more than max bytes. */
static int read_file(const char *path, uint8_t **out, size_t *out_len, size_t max)
{
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		ret = -EISDIR;
	else
		ret = read_to_end(fd, max, false, (char **)out, out_len);
	close(fd);
	return ret;
}

/*
 * Inflates every gzip member in turn (as Go's reader does: a concatenation
 * of members is one stream), refusing more than PROFILE_MAX_BYTES.
 */
static int gunzip(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len, char *err,
		  size_t errlen)
{
	size_t cap = in_len < PROFILE_MAX_BYTES / 4 ? in_len * 4 + 4096 : PROFILE_MAX_BYTES;
	z_stream zs = { 0 };
	uint8_t *buf, *nbuf;
	int ret, zret;

	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return profile_errf(err, errlen, -ENOMEM, "cannot start zlib");
	buf = malloc(cap);
	if (!buf) {
		inflateEnd(&zs);
		return profile_errf(err, errlen, -ENOMEM, "out of memory");
	}
	zs.next_in = (uint8_t *)in;
	zs.avail_in = in_len;
	zs.next_out = buf;
	zs.avail_out = cap;
	for (;;) {
		if (zs.avail_out == 0) {
			size_t used = cap;

			if (cap >= PROFILE_MAX_BYTES) {
				ret = profile_errf(
					err, errlen, -EFBIG,
					"inflates to more than %u MiB; not a profile pprofctl reads",
					PROFILE_MAX_BYTES >> 20);
				goto fail;
			}
			cap = cap > PROFILE_MAX_BYTES / 2 ? PROFILE_MAX_BYTES : cap * 2;
			nbuf = realloc(buf, cap);
			if (!nbuf) {
				ret = profile_errf(err, errlen, -ENOMEM, "out of memory");
				goto fail;
			}
			buf = nbuf;
			zs.next_out = buf + used;
			zs.avail_out = cap - used;
		}
		zret = inflate(&zs, Z_NO_FLUSH);
		if (zret == Z_STREAM_END) {
			if (zs.avail_in == 0)
				break;
			/* another member follows: its header is checked by zlib */
			if (inflateReset(&zs) != Z_OK) {
				ret = profile_errf(err, errlen, -EINVAL, "bad gzip data");
				goto fail;
			}
			continue;
		}
		if (zret == Z_BUF_ERROR && zs.avail_in == 0) {
			ret = profile_errf(err, errlen, -EINVAL,
					   "truncated gzip data (the file is incomplete)");
			goto fail;
		}
		if (zret != Z_OK && zret != Z_BUF_ERROR) {
			ret = profile_errf(err, errlen, -EINVAL, "bad gzip data: %s",
					   zs.msg ? zs.msg : "corrupt stream");
			goto fail;
		}
	}
	*out_len = zs.next_out - buf; /* total_out restarts with each member */
	inflateEnd(&zs);
	*out = buf;
	return 0;
fail:
	inflateEnd(&zs);
	free(buf);
	return ret;
}

/* An id -> array index lookup: sorted (id, index) pairs. */
struct id_index {
	uint64_t id;
	uint32_t idx;
};

static int cmp_id(const void *a, const void *b)
{
	const struct id_index *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Builds the lookup; -EINVAL on an id 0 or a duplicate (named in *bad). */
static int index_ids(struct id_index **out, size_t n, uint64_t (*id_of)(const void *, size_t),
		     const void *arr, uint64_t *bad)
{
	struct id_index *ix = calloc(n ? n : 1, sizeof(*ix));
	size_t i;

	if (!ix)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		ix[i].id = id_of(arr, i);
		ix[i].idx = i;
		if (!ix[i].id) {
			free(ix);
			*bad = 0;
			return -EINVAL;
		}
	}
	qsort(ix, n, sizeof(*ix), cmp_id);
	for (i = 1; i < n; i++) {
		if (ix[i].id == ix[i - 1].id) {
			*bad = ix[i].id;
			free(ix);
			return -EINVAL;
		}
	}
	*out = ix;
	return 0;
}

/* The array index of id, or -1. */
static int64_t find_id(const struct id_index *ix, size_t n, uint64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ix[mid].id == id)
			return ix[mid].idx;
		if (ix[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static uint64_t mapping_id(const void *arr, size_t i)
{
	return ((Perftools__Profiles__Mapping *const *)arr)[i]->id;
}

static uint64_t function_id(const void *arr, size_t i)
{
	return ((Perftools__Profiles__Function *const *)arr)[i]->id;
}

static uint64_t location_id(const void *arr, size_t i)
{
	return ((Perftools__Profiles__Location *const *)arr)[i]->id;
}

/* A name's key: the names it is looked up among (they move as they grow). */
struct name_key {
	const struct prof_name *names;
	const char *str;
};

static bool name_eq(const void *item, const void *key)
{
	const struct name_key *k = key;

	return !strcmp(k->names[(uintptr_t)item - 1].str, k->str);
}

int name_table__id(struct name_table *t, struct profile *p, const char *s, uint32_t *id)
{
	uint64_t h = hash_str(s);
	struct name_key key = { p->names, s };
	void *item = p->names ? hashtab__find(&t->h, h, name_eq, &key) : NULL;

	if (item) {
		*id = (uint32_t)((uintptr_t)item - 1);
		return 0;
	}
	if (p->nr_names == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 256;
		struct prof_name *nn = realloc(p->names, ncap * sizeof(*nn));

		if (!nn)
			return -ENOMEM;
		p->names = nn;
		t->cap = ncap;
	}
	if (hashtab__insert(&t->h, h, (void *)(uintptr_t)(p->nr_names + 1)))
		return -ENOMEM;
	p->names[p->nr_names] = (struct prof_name){ .str = s };
	*id = (uint32_t)p->nr_names++;
	return 0;
}

void name_table__free(struct name_table *t)
{
	hashtab__free(&t->h);
}

/* Checks a string index; sets *bad on an index out of the table. */
static const char *str_at(const Profile *pb, int64_t idx, bool *bad)
{
	if (idx == 0)
		return ""; /* also in a profile with no string table at all */
	if (idx < 0 || (uint64_t)idx >= pb->n_string_table) {
		*bad = true;
		return "";
	}
	return pb->string_table[idx];
}

/* Like filepath.Base: the last element, trailing slashes dropped. */
static void base_name(const char *path, const char **start, size_t *len)
{
	size_t n = strlen(path);
	const char *s;

	while (n > 1 && path[n - 1] == '/')
		n--;
	s = path + n;
	while (s > path && s[-1] != '/')
		s--;
	if (n == 1 && path[0] == '/')
		s = path;
	*start = s;
	*len = path + n - s;
}

/* All string indices other than names: checked as Go's reader does. */
static bool strings_ok(const Profile *pb)
{
	bool bad = false;
	size_t i, j;

	if (pb->n_string_table && pb->string_table[0][0])
		return false;
	for (i = 0; i < pb->n_sample_type; i++) {
		str_at(pb, pb->sample_type[i]->type, &bad);
		str_at(pb, pb->sample_type[i]->unit, &bad);
	}
	for (i = 0; i < pb->n_sample; i++) {
		for (j = 0; j < pb->sample[i]->n_label; j++) {
			const Perftools__Profiles__Label *l = pb->sample[i]->label[j];

			str_at(pb, l->key, &bad);
			str_at(pb, l->str, &bad);
			str_at(pb, l->num_unit, &bad);
		}
	}
	for (i = 0; i < pb->n_mapping; i++) {
		str_at(pb, pb->mapping[i]->filename, &bad);
		str_at(pb, pb->mapping[i]->build_id, &bad);
	}
	for (i = 0; i < pb->n_function; i++) {
		str_at(pb, pb->function[i]->name, &bad);
		str_at(pb, pb->function[i]->system_name, &bad);
		str_at(pb, pb->function[i]->filename, &bad);
	}
	for (i = 0; i < pb->n_comment; i++)
		str_at(pb, pb->comment[i], &bad);
	str_at(pb, pb->drop_frames, &bad);
	str_at(pb, pb->keep_frames, &bad);
	str_at(pb, pb->default_sample_type, &bad);
	if (pb->period_type) {
		str_at(pb, pb->period_type->type, &bad);
		str_at(pb, pb->period_type->unit, &bad);
	}
	return !bad;
}

struct loader {
	struct profile *p;
	struct name_table names;
	struct id_index *maps, *funcs, *locs;
	uint32_t *map_name;         /* per mapping: name id of "[file]" + 1, 0 = none */
	uint32_t *func_name;        /* per function: name id */
	uint32_t *loc_off, *loc_nr; /* per location: its frames in loc_frames */
	uint32_t *loc_frames;
	bool *map_kernel;
	char *err;
	size_t errlen;
};

static int bad_index(struct loader *l, const char *what, uint64_t id)
{
	return profile_errf(l->err, l->errlen, -EINVAL,
			    "not a valid profile: %s %llu does not exist", what,
			    (unsigned long long)id);
}

/* Names of mappings ("[base]") and of functions. */
static int name_tables(struct loader *l)
{
	struct profile *p = l->p;
	const Profile *pb = p->pb;
	size_t i, total = 0, off = 0;
	bool bad = false;
	int ret;

	l->map_name = calloc(pb->n_mapping + 1, sizeof(*l->map_name));
	l->map_kernel = calloc(pb->n_mapping + 1, sizeof(*l->map_kernel));
	l->func_name = calloc(pb->n_function + 1, sizeof(*l->func_name));
	if (!l->map_name || !l->map_kernel || !l->func_name)
		return -ENOMEM;
	for (i = 0; i < pb->n_mapping; i++)
		total += strlen(str_at(pb, pb->mapping[i]->filename, &bad)) + 3;
	p->name_buf = malloc(total + 1);
	if (!p->name_buf)
		return -ENOMEM;
	for (i = 0; i < pb->n_mapping; i++) {
		const char *file = str_at(pb, pb->mapping[i]->filename, &bad), *b;
		char *s = p->name_buf + off;
		size_t n;
		uint32_t id;

		l->map_kernel[i] = !strncmp(file, "[kernel.kallsyms]", 17);
		if (!file[0])
			continue;
		base_name(file, &b, &n);
		s[0] = '[';
		memcpy(s + 1, b, n);
		s[n + 1] = ']';
		s[n + 2] = 0;
		off += n + 3;
		ret = name_table__id(&l->names, l->p, s, &id);
		if (ret)
			return ret;
		l->map_name[i] = id + 1;
	}
	for (i = 0; i < pb->n_function; i++) {
		const char *name = str_at(pb, pb->function[i]->name, &bad);

		l->func_name[i] = UINT32_MAX; /* nameless: named by its location's mapping */
		if (!name[0])
			continue;
		ret = name_table__id(&l->names, l->p, name, &l->func_name[i]);
		if (ret)
			return ret;
	}
	if (pb->n_mapping) {
		const char *file = str_at(pb, pb->mapping[0]->filename, &bad);
		const char *bid = str_at(pb, pb->mapping[0]->build_id, &bad);
		const char *b;
		size_t n;

		if (file[0]) {
			base_name(file, &b, &n);
			p->main_file = p->main_buf = strndup(b, n);
			if (!p->main_buf)
				return -ENOMEM;
		}
		if (bid[0])
			p->build_id = bid;
	}
	p->comments = calloc(pb->n_comment + 1, sizeof(*p->comments));
	if (!p->comments)
		return -ENOMEM;
	for (size_t i = 0; i < pb->n_comment; i++)
		p->comments[p->nr_comments++] = str_at(pb, pb->comment[i], &bad);
	return 0;
}

/* Each location's frames, innermost first, and which are the kernel's. */
static int location_frames(struct loader *l)
{
	struct profile *p = l->p;
	const Profile *pb = p->pb;
	uint32_t unknown = UINT32_MAX;
	size_t i, j, total = 0, off = 0;
	int ret;

	for (i = 0; i < pb->n_location; i++)
		total += pb->location[i]->n_line ? pb->location[i]->n_line : 1;
	if (total > PROFILE_MAX_FRAMES)
		return profile_errf(l->err, l->errlen, -EFBIG, "too many frames (more than %u)",
				    PROFILE_MAX_FRAMES);
	l->loc_off = calloc(pb->n_location + 1, sizeof(*l->loc_off));
	l->loc_nr = calloc(pb->n_location + 1, sizeof(*l->loc_nr));
	l->loc_frames = calloc(total + 1, sizeof(*l->loc_frames));
	if (!l->loc_off || !l->loc_nr || !l->loc_frames)
		return -ENOMEM;
	for (i = 0; i < pb->n_location; i++) {
		const Perftools__Profiles__Location *loc = pb->location[i];
		int64_t m = -1;
		uint32_t map_name = 0;

		if (loc->mapping_id) {
			m = find_id(l->maps, pb->n_mapping, loc->mapping_id);
			if (m < 0)
				return bad_index(l, "mapping", loc->mapping_id);
			map_name = l->map_name[m];
		}
		l->loc_off[i] = off;
		for (j = 0; j < (loc->n_line ? loc->n_line : 1); j++) {
			uint32_t id;

			if (loc->n_line) {
				int64_t f = find_id(l->funcs, pb->n_function,
						    loc->line[j]->function_id);

				if (f < 0)
					return bad_index(l, "function", loc->line[j]->function_id);
				id = l->func_name[f];
			} else {
				id = UINT32_MAX;
			}
			if (id == UINT32_MAX && map_name) {
				id = map_name - 1;
			} else if (id == UINT32_MAX) {
				if (unknown == UINT32_MAX) {
					ret = name_table__id(&l->names, l->p, "<unknown>",
							     &unknown);
					if (ret)
						return ret;
				}
				id = unknown;
			}
			if (m >= 0 && l->map_kernel[m])
				p->names[id].kernel = true;
			l->loc_frames[off++] = id | (j + 1 < loc->n_line ? PROF_INLINE : 0);
		}
		l->loc_nr[i] = off - l->loc_off[i];
	}
	return 0;
}

/* Keeps p->pid and comm while every sample says the same (first: s is
 * the first sample). Labels' strings were checked. */
static void sample_process(struct profile *p, const Perftools__Profiles__Sample *s, bool first)
{
	const Profile *pb = p->pb;
	const char *comm = NULL;
	int64_t pid = 0;
	bool bad = false;

	for (size_t j = 0; j < s->n_label; j++) {
		const char *key = str_at(pb, s->label[j]->key, &bad);

		if (!strcmp(key, "pid"))
			pid = s->label[j]->num;
		else if (!strcmp(key, "comm"))
			comm = str_at(pb, s->label[j]->str, &bad);
	}
	if (first) {
		p->pid = pid;
		p->comm = comm;
	} else if (pid != p->pid) {
		p->pid = 0;
		p->comm = NULL;
	}
}

/* Samples as frame lists, leaf first. */
static int sample_frames(struct loader *l)
{
	struct profile *p = l->p;
	const Profile *pb = p->pb;
	uint64_t total = 0;
	size_t i, j, off = 0;

	p->samples = calloc(pb->n_sample + 1, sizeof(*p->samples));
	if (!p->samples)
		return -ENOMEM;
	for (i = 0; i < pb->n_sample; i++) {
		const Perftools__Profiles__Sample *s = pb->sample[i];

		if (s->n_value != pb->n_sample_type)
			return profile_errf(
				l->err, l->errlen, -EINVAL,
				"not a valid profile: a sample has %zu values for %zu sample types",
				s->n_value, pb->n_sample_type);
		for (j = 0; j < s->n_location_id; j++) {
			int64_t loc = find_id(l->locs, pb->n_location, s->location_id[j]);

			if (loc < 0)
				return bad_index(l, "location", s->location_id[j]);
			total += l->loc_nr[loc];
		}
		if (total > PROFILE_MAX_FRAMES)
			return profile_errf(l->err, l->errlen, -EFBIG,
					    "too many frames in all samples (more than %u)",
					    PROFILE_MAX_FRAMES);
	}
	p->frame_buf = malloc((total + 1) * sizeof(*p->frame_buf));
	if (!p->frame_buf)
		return -ENOMEM;
	for (i = 0; i < pb->n_sample; i++) {
		const Perftools__Profiles__Sample *s = pb->sample[i];
		struct prof_sample *ps = &p->samples[i];

		sample_process(p, s, i == 0);
		ps->frames = p->frame_buf + off;
		ps->values = s->value;
		for (j = 0; j < s->n_location_id; j++) {
			int64_t loc = find_id(l->locs, pb->n_location, s->location_id[j]);

			memcpy(p->frame_buf + off, l->loc_frames + l->loc_off[loc],
			       l->loc_nr[loc] * sizeof(uint32_t));
			off += l->loc_nr[loc];
		}
		ps->nr_frames = p->frame_buf + off - ps->frames;
	}
	p->nr_samples = pb->n_sample;
	return 0;
}

static int resolve(struct loader *l)
{
	struct profile *p = l->p;
	Profile *pb = p->pb;
	uint64_t bad_id;
	bool bad = false;
	size_t i;
	int ret;

	if (!strings_ok(pb))
		return profile_errf(
			l->err, l->errlen, -EINVAL,
			"not a valid profile: a string index is out of the string table");
	if (pb->n_sample && !pb->n_sample_type)
		return profile_errf(l->err, l->errlen, -EINVAL,
				    "not a valid profile: samples but no sample types");
	ret = index_ids(&l->maps, pb->n_mapping, mapping_id, pb->mapping, &bad_id);
	if (ret == -EINVAL)
		return profile_errf(
			l->err, l->errlen, ret, "not a valid profile: mapping id %llu %s",
			(unsigned long long)bad_id, bad_id ? "used twice" : "is reserved");
	if (ret)
		return ret;
	ret = index_ids(&l->funcs, pb->n_function, function_id, pb->function, &bad_id);
	if (ret == -EINVAL)
		return profile_errf(
			l->err, l->errlen, ret, "not a valid profile: function id %llu %s",
			(unsigned long long)bad_id, bad_id ? "used twice" : "is reserved");
	if (ret)
		return ret;
	ret = index_ids(&l->locs, pb->n_location, location_id, pb->location, &bad_id);
	if (ret == -EINVAL)
		return profile_errf(
			l->err, l->errlen, ret, "not a valid profile: location id %llu %s",
			(unsigned long long)bad_id, bad_id ? "used twice" : "is reserved");
	if (ret)
		return ret;

	p->nr_types = pb->n_sample_type;
	p->types = calloc(p->nr_types + 1, sizeof(*p->types));
	if (!p->types)
		return -ENOMEM;
	for (i = 0; i < p->nr_types; i++) {
		p->types[i].type = str_at(pb, pb->sample_type[i]->type, &bad);
		p->types[i].unit = str_at(pb, pb->sample_type[i]->unit, &bad);
	}
	p->default_type = (int)p->nr_types - 1;
	if (pb->default_sample_type) {
		const char *dst = str_at(pb, pb->default_sample_type, &bad);

		for (i = 0; i < p->nr_types; i++) {
			if (!strcmp(p->types[i].type, dst)) {
				p->default_type = i;
				break;
			}
		}
	}
	p->time_nanos = pb->time_nanos;
	p->duration_nanos = pb->duration_nanos;

	ret = name_tables(l);
	if (!ret)
		ret = location_frames(l);
	if (!ret)
		ret = sample_frames(l);
	return ret;
}

int profile_parse(const uint8_t *data, size_t len, struct profile **out, char *err, size_t errlen)
{
	struct loader l = { .err = err, .errlen = errlen };
	uint8_t *raw = NULL;
	struct profile *p;
	int ret;

	*out = NULL;
	err[0] = 0;
	if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
		size_t raw_len = 0;

		ret = gunzip(data, len, &raw, &raw_len, err, errlen);
		if (ret)
			return ret;
		data = raw;
		len = raw_len;
	} else if (len > PROFILE_MAX_BYTES) {
		return profile_errf(err, errlen, -EFBIG, "larger than %u MiB",
				    PROFILE_MAX_BYTES >> 20);
	}
	if (!len) {
		free(raw);
		return profile_errf(err, errlen, -EINVAL, "the file is empty, not a profile");
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		free(raw);
		return profile_errf(err, errlen, -ENOMEM, "out of memory");
	}
	p->pb = perftools__profiles__profile__unpack(NULL, len, data);
	free(raw);
	if (!p->pb) {
		free(p);
		return profile_errf(err, errlen, -EINVAL,
				    "not a pprof profile (protobuf decoding failed)");
	}
	l.p = p;
	ret = resolve(&l);
	free(l.maps);
	free(l.funcs);
	free(l.locs);
	free(l.map_name);
	free(l.map_kernel);
	free(l.func_name);
	free(l.loc_off);
	free(l.loc_nr);
	free(l.loc_frames);
	name_table__free(&l.names);
	if (ret) {
		if (!err[0])
			profile_errf(err, errlen, ret, "%s", strerror(-ret));
		profile_free(p);
		return ret;
	}
	*out = p;
	return 0;
}

int profile_read(const char *path, struct profile **out, char *err, size_t errlen)
{
	char msg[256];
	uint8_t *data = NULL;
	size_t len = 0;
	int ret;

	*out = NULL;
	ret = read_file(path, &data, &len, PROFILE_MAX_BYTES);
	if (ret == -EFBIG)
		return profile_errf(err, errlen, ret, "cannot read %s: larger than %u MiB", path,
				    PROFILE_MAX_BYTES >> 20);
	if (ret)
		return profile_errf(err, errlen, ret, "cannot read %s: %s", path, strerror(-ret));
	ret = profile_parse(data, len, out, msg, sizeof(msg));
	free(data);
	if (ret)
		return profile_errf(err, errlen, ret, "cannot read %s: %s", path, msg);
	return 0;
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	if (p->pb)
		perftools__profiles__profile__free_unpacked(p->pb, NULL);
	free(p->types);
	free(p->names);
	free(p->samples);
	free(p->frame_buf);
	free(p->name_buf);
	free(p->main_buf);
	free(p->comments);
	for (size_t i = 0; i < p->nr_parts; i++)
		profile_free(p->parts[i]);
	free(p->parts);
	free(p);
}

int profile_sample_index(const struct profile *p, const char *sel, char *err, size_t errlen)
{
	char list[512];
	size_t i, off = 0;
	char *end;
	long n;

	if (!p->nr_types)
		return profile_errf(err, errlen, -EINVAL, "the profile has no sample types");
	if (!sel || !sel[0])
		return p->default_type;
	errno = 0;
	n = strtol(sel, &end, 10);
	if (!*end && !errno) {
		if (n < 0 || (size_t)n >= p->nr_types)
			return profile_errf(err, errlen, -EINVAL,
					    "sample index %s is outside the range [0..%zu]", sel,
					    p->nr_types - 1);
		return n;
	}
	for (i = 0; i < p->nr_types; i++) {
		/* "inuse_space" also selects "space", as pprof's legacy names */
		const char *noinuse = strncmp(sel, "inuse_", 6) ? sel : sel + 6;

		if (!strcmp(p->types[i].type, sel) || !strcmp(p->types[i].type, noinuse))
			return i;
	}
	list[0] = 0;
	for (i = 0; i < p->nr_types && off < sizeof(list); i++) {
		int k = snprintf(list + off, sizeof(list) - off, "%s%s", i ? " " : "",
				 p->types[i].type);

		if (k < 0)
			break;
		off += k;
	}
	return profile_errf(err, errlen, -EINVAL,
			    "sample index '%s' must be one of: %s (or 0..%zu)", sel, list,
			    p->nr_types - 1);
}
