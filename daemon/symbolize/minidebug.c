// SPDX-License-Identifier: MIT
#include <errno.h>
#include <lzma.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fdio.h"
#include "minidebug.h"

/* The decoder's own memory: xz's default presets need 9 MiB at most. */
#define DECODER_MEM_MAX (64u << 20)

int minidebug__decompress(const void *in, size_t len, void **out, size_t *out_len)
{
	lzma_stream z = LZMA_STREAM_INIT;
	size_t cap = len < (1u << 16) ? 1u << 18 : len * 4;
	uint8_t *buf = NULL;
	bool over = false;
	lzma_ret r;

	*out = NULL;
	*out_len = 0;
	if (len > MINIDEBUG_IN_MAX)
		return -EFBIG;
	if (cap > MINIDEBUG_OUT_MAX)
		cap = MINIDEBUG_OUT_MAX;
	if (lzma_stream_decoder(&z, DECODER_MEM_MAX, 0) != LZMA_OK)
		return -ENOMEM;
	z.next_in = in;
	z.avail_in = len;
	for (;;) {
		if (!buf || z.avail_out == 0) {
			size_t used = buf ? (size_t)(z.next_out - buf) : 0;
			uint8_t *nb;

			if (buf && cap == MINIDEBUG_OUT_MAX) {
				over = true; /* more than we take */
				r = LZMA_BUF_ERROR;
				break;
			}
			if (buf)
				cap = cap > MINIDEBUG_OUT_MAX / 2 ? MINIDEBUG_OUT_MAX : cap * 2;
			nb = realloc(buf, cap);
			if (!nb) {
				r = LZMA_MEM_ERROR;
				break;
			}
			buf = nb;
			z.next_out = buf + used;
			z.avail_out = cap - used;
		}
		r = lzma_code(&z, LZMA_FINISH);
		if (r != LZMA_OK)
			break;
	}
	if (r == LZMA_STREAM_END) {
		*out = buf;
		*out_len = (size_t)(z.next_out - buf);
		lzma_end(&z);
		return 0;
	}
	lzma_end(&z);
	free(buf);
	if (r == LZMA_MEM_ERROR)
		return -ENOMEM;
	return over ? -EFBIG : -EINVAL;
}

int minidebug__open(struct elf_file *mini, const struct elf_file *exe)
{
	GElf_Shdr sh;
	Elf_Scn *scn = elf_file__find_section_named(exe, ".gnu_debugdata", &sh);
	Elf_Data *d;
	void *elf;
	size_t len;
	int fd, err;

	mini->fd = -1;
	if (!scn || sh.sh_type != SHT_PROGBITS)
		return -ENOENT;
	if (sh.sh_size > MINIDEBUG_IN_MAX)
		return -EFBIG;
	d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf || !d->d_size)
		return -ENOENT;
	err = minidebug__decompress(d->d_buf, d->d_size, &elf, &len);
	if (err)
		return err;
	/* libelf reads files: the ELF inside goes to a memfd */
	fd = memfd_create("pprofd-minidebug", MFD_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		free(elf);
		return err;
	}
	err = write_all(fd, elf, len);
	free(elf);
	if (!err)
		err = elf_file__open(mini, fd, ELF_FILE_SECTIONS);
	if (err) {
		close(fd);
		mini->fd = -1;
		return err;
	}
	return 0;
}
