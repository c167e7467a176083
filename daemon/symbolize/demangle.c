// SPDX-License-Identifier: MIT
/*
 * C++ and Rust names demangled (symtab.h), through libiberty's
 * cplus_demangle_v3 (C++, Rust legacy: the demangler libstdc++'s
 * __cxa_demangle is, without linking libstdc++, ~1 MiB of RSS) and
 * rust_demangle (Rust v0), with bounds on what they are given and may
 * return.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libiberty/demangle.h>

#include "symtab.h"

#define DEMANGLE_IN_MAX 4096
#define DEMANGLE_OUT_MAX 16384
#define DEMANGLE_BOUND_MAX (8u << 20) /* see demangle_bound() */

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Rust legacy symbols escape what C++ identifiers cannot hold ($LT$ for <,
 * .. for ::, $u20$ for a space); the C++ demangler leaves those as they are. */
static void rust_unescape(char *s)
{
	static const struct {
		const char *esc;
		char c;
	} tbl[] = { { "$SP$", '@' }, { "$BP$", '*' }, { "$RF$", '&' }, { "$LT$", '<' },
		    { "$GT$", '>' }, { "$LP$", '(' }, { "$RP$", ')' }, { "$C$", ',' } };
	char *w = s;

	for (const char *r = s; *r;) {
		bool done = false;

		if (r[0] == '_' && r[1] == '$' &&
		    (r == s || (r >= s + 2 && r[-1] == ':' && r[-2] == ':'))) {
			r++; /* "_$" starts a component that begins with an escape */
			continue;
		}
		if (r[0] == '$') {
			for (size_t i = 0; i < sizeof(tbl) / sizeof(tbl[0]); i++) {
				size_t n = strlen(tbl[i].esc);

				if (!strncmp(r, tbl[i].esc, n)) {
					*w++ = tbl[i].c;
					r += n;
					done = true;
					break;
				}
			}
			if (!done && r[1] == 'u' && is_hex(r[2]) && is_hex(r[3]) && r[4] == '$') {
				int v = (r[2] <= '9' ? r[2] - '0' : r[2] - 'a' + 10) * 16 +
					(r[3] <= '9' ? r[3] - '0' : r[3] - 'a' + 10);

				if (v >= 0x20 && v < 0x7f) {
					*w++ = (char)v;
					r += 5;
					done = true;
				}
			}
		} else if (r[0] == '.' && r[1] == '.') {
			*w++ = ':';
			*w++ = ':';
			r += 2;
			done = true;
		}
		if (!done)
			*w++ = *r++;
	}
	*w = '\0';
}

/* Strips Rust's "::h<16 hex>" hash; true when the name had one. */
static bool strip_rust_hash(char *d)
{
	char *p = d;

	while ((p = strstr(p, "::h"))) {
		char *q = p + 3;
		int i = 0;

		while (i < 16 && is_hex(q[i]))
			i++;
		if (i == 16 && (q[16] == '\0' || q[16] == ' ')) {
			memmove(p, q + 16, strlen(q + 16) + 1);
			return true;
		}
		p += 3;
	}
	return false;
}

/*
 * An upper bound on the length of the C++ demangler's output for name, to turn
 * away "demangler bombs": names of a few hundred bytes whose back-references
 * (S<n>_, T<n>_) nest so that the output doubles with each one, up to
 * gigabytes and minutes of CPU in the demangler, which has no limit of its
 * own. A reference may repeat all the output so far, so it doubles the
 * bound (so do ctor/dtor names, which repeat their class's name); a source
 * name prints as itself plus at most 32 ("(anonymous namespace)"), literal
 * digits as themselves, anything else as at most 32 characters. Loose for
 * heavily templated names, which then stay mangled (pprof demangles a name
 * it is given mangled), but never below the real length.
 */
static uint64_t demangle_bound(const char *s, uint64_t limit)
{
	uint64_t b = 0;
	size_t ident = 0; /* characters of a source name still to come */
	char prev = 0;

	while (*s && b <= limit) {
		const char *p = s + 1;

		if (*s == 'S' || *s == 'T') {
			while ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z'))
				p++;
			if (*p == '_') {
				b = 2 * b + 32;
				ident = ident > (size_t)(p + 1 - s) ? ident - (p + 1 - s) : 0;
				prev = '_';
				s = p + 1;
				continue;
			}
		}
		if (!ident && (*s == 'C' || *s == 'D') && s[1] >= '0' && s[1] <= '9') {
			b = 2 * b + 32;
			prev = s[1];
			s += 2;
			continue;
		}
		if (!ident && *s >= '0' && *s <= '9') {
			size_t v = 0, left;

			p = s;
			while (*p >= '0' && *p <= '9' && v < (1u << 20))
				v = v * 10 + (*p++ - '0');
			left = strnlen(p, v + 1);
			/* A length is followed by its name; an index or a
			 * discriminator (A10_, Ut3_, fp2_, _12_) by '_'. */
			if (*p != 'E' && v <= left &&
			    !(*p == '_' && prev && strchr("AEFpt_hvn", prev)))
				ident = v;
			b += 32 * (p - s);
			prev = p[-1];
			s = p;
			continue;
		}
		b += ident ? 1 : 32;
		if (ident)
			ident--;
		prev = *s++;
	}
	return b;
}

/*
 * The same bound for a Rust v0 name: a backref (B<base62>_) prints again a
 * path or type printed before it, so it may double the output; any other
 * character prints as at most 8 ("usize, "). libiberty's demangler has no
 * limit of its own: 22 nested tuple backrefs in 219 bytes are 100 MB and
 * 3.5 s of its time. Names with over a dozen backrefs stay mangled.
 */
static uint64_t rust_v0_bound(const char *s, uint64_t limit)
{
	uint64_t b = 0;

	for (; *s && b <= limit; s++) {
		const char *p = s + 1;

		if (*s == 'B') {
			while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
			       (*p >= 'A' && *p <= 'Z'))
				p++;
			if (*p == '_') {
				b = 2 * b + 32;
				s = p;
				continue;
			}
		}
		b += 8;
	}
	return b;
}

/*
 * C++ and Rust legacy (_ZN...17h<hash>E) names go through the C++
 * demangler (as __cxa_demangle: parameters and types); Rust v0 names (_R...) through libiberty's (binutils'),
 * which drops their hashes as rustc-demangle does by default.
 */
char *demangle(const char *name)
{
	char *d;

	if (!name || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return NULL;
	if (strnlen(name, DEMANGLE_IN_MAX + 1) > DEMANGLE_IN_MAX)
		return NULL;
	if (name[1] == 'R') {
		if (rust_v0_bound(name, DEMANGLE_BOUND_MAX) > DEMANGLE_BOUND_MAX)
			return NULL;
		d = rust_demangle(name, 0);
		if (d && strlen(d) > DEMANGLE_OUT_MAX)
			d[DEMANGLE_OUT_MAX] = '\0';
		return d;
	}
	if (demangle_bound(name, DEMANGLE_BOUND_MAX) > DEMANGLE_BOUND_MAX)
		return NULL;
	d = cplus_demangle_v3(name, DMGL_PARAMS | DMGL_TYPES);
	if (!d)
		return NULL;
	if (strlen(d) > DEMANGLE_OUT_MAX)
		d[DEMANGLE_OUT_MAX] = '\0';
	if (name[2] == 'N' && strip_rust_hash(d))
		rust_unescape(d);
	return d;
}
