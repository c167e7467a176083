// SPDX-License-Identifier: MIT
/* libFuzzer: side-band records are the kernel's, but their file names and
 * comms are what a hostile process chose, and a bug in our reading of the
 * layout (sizes, the trailer, a record cut short) must not become an
 * over-read: every byte sequence goes through the drain's own code. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sideband.h"

static size_t sink;

static void on_event(const struct sb_event *ev, void *ctx)
{
	(void)ctx;
	sink += ev->type + ev->pid + ev->tid + ev->time_ns;
	if (ev->type == SB_MMAP)
		sink += strlen(ev->mmap.filename) + ev->mmap.addr + ev->mmap.len;
	else if (ev->type == SB_COMM)
		sink += strnlen(ev->comm.comm, sizeof(ev->comm.comm));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sideband *sb;

	if (!sb && !(sb = sideband__new(0)))
		abort();
	sideband__feed(sb, data, size, on_event, NULL);
	return 0;
}
