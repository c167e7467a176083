// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include <bpf/libbpf.h>

#include "cpus.h"

int online_cpus(bool **online)
{
	int n = libbpf_num_possible_cpus();
	bool *mask;
	char buf[4096], *p;
	FILE *f;

	if (n <= 0)
		return n < 0 ? n : -EINVAL;
	mask = calloc(n, sizeof(*mask));
	if (!mask)
		return -ENOMEM;
	f = fopen("/sys/devices/system/cpu/online", "re");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		/* Unknown: assume every possible CPU; offline ones fail to open. */
		for (int i = 0; i < n; i++)
			mask[i] = true;
	} else {
		/* "0-3,5,7-8" */
		for (p = buf; *p && *p != '\n';) {
			char *end;
			long a = strtol(p, &end, 10), b = a;

			if (end == p)
				break;
			if (*end == '-')
				b = strtol(end + 1, &end, 10);
			for (long i = a; i <= b && i < n; i++)
				if (i >= 0)
					mask[i] = true;
			p = *end == ',' ? end + 1 : end;
		}
	}
	if (f)
		fclose(f);
	*online = mask;
	return n;
}

int percpu_counters_sum(int map_fd, size_t value_size, size_t off, unsigned nr, int ncpus,
			uint64_t *out)
{
	uint8_t *v = calloc(ncpus, value_size);
	uint32_t zero = 0;

	memset(out, 0, nr * sizeof(*out));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &zero, v) == 0)
		for (int i = 0; i < ncpus; i++)
			for (unsigned c = 0; c < nr; c++) {
				uint64_t x;

				memcpy(&x, v + i * value_size + off + c * sizeof(x), sizeof(x));
				out[c] += x;
			}
	free(v);
	return 0;
}
