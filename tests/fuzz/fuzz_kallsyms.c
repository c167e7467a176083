// SPDX-License-Identifier: MIT
/* libFuzzer: kallsyms-format text (module names come from whoever loaded
 * the module) through kallsyms__load, from a memfd as from /proc/kallsyms,
 * then lookups at the range's ends and inside it. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "symtab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("kallsyms", MFD_CLOEXEC);
	char path[64];
	struct kallsyms *k;
	uint64_t lo = 0, hi = 0, start;
	char nb[KSYM_NAME_MAX];

	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	k = kallsyms__load(path);
	if (k) {
		kallsyms__range(k, &lo, &hi);
		kallsyms__lookup(k, lo, &start, nb, sizeof(nb));
		kallsyms__lookup(k, hi, &start, nb, sizeof(nb));
		kallsyms__lookup(k, lo + (hi - lo) / 2, &start, nb, sizeof(nb));
		kallsyms__lookup(k, 0, &start, nb, sizeof(nb));
		kallsyms__free(k);
	}
	close(fd);
	return 0;
}
