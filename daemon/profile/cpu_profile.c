// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>

#include "cpu_profile.h"
#include "pprof.h"
#include "stack_profile.h"

static const struct pprof_value_type cpu_types[] = {
	{ "samples", "count" },
	{ "cpu", "nanoseconds" },
};

struct pprof *cpu_profile__new(unsigned hz, int64_t time_nanos, int64_t duration_nanos)
{
	struct pprof_params params = {
		.sample_types = cpu_types,
		.nr_sample_types = 2,
		.period_type = { "cpu", "nanoseconds" },
		.period = 1000000000ll / (hz ? hz : 1),
		.time_nanos = time_nanos,
		.duration_nanos = duration_nanos,
	};

	return pprof__new(&params);
}

int cpu_profile__add_image(struct pprof *p, struct procs *procs, const struct kallsyms *ksyms,
			   struct image *img, const struct stackagg *agg)
{
	return stack_profile__add(p, procs, ksyms, img, agg, true);
}
