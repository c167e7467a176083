// SPDX-License-Identifier: MIT
/* libFuzzer: /proc/PID/maps text is written by the kernel but names files a
 * hostile process chose; the parser must take anything. */
#include <stdint.h>
#include <stdlib.h>

#include "procs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mapping *m = NULL;
	int n = parse_proc_maps((const char *)data, size, &m, 1024);

	for (int i = 0; i < n; i++)
		free(m[i].path);
	free(m);
	return 0;
}
