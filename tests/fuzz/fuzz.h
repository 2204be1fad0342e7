/* SPDX-License-Identifier: GPL-2.0 */
/* What the fuzz targets share: quiet logging, the seeds they write, resealed log entries.  Each target is one .c
 * file that run.sh builds on its own, so the helpers are static inline, here. */
#ifndef TCL_FUZZ_H
#define TCL_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "diag.h"

/* Seed file @dir/seed-@name: the byte @mode first unless it is negative, then @len bytes. */
static inline void fuzz_seed(const char *dir, const char *name, int mode, const void *p,
			     size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return;
	if (mode >= 0)
		fputc(mode, f);
	fwrite(p, 1, len, f);
	fclose(f);
}

/* Random bytes almost never carry a valid template SHA-1: fix up the SHA-1 of every IMA log
 * entry, from the start, whose template name (at most @name_max bytes) and data lengths fit in
 * the input, so that the fuzzer reaches the parsers past the hash check. */
static inline void fuzz_reseal(uint8_t *p, size_t len, uint32_t name_max)
{
	size_t off = 0;

	while (len - off >= 32) {
		uint32_t tlen = p[off + 24] | p[off + 25] << 8 | p[off + 26] << 16 |
				(uint32_t)p[off + 27] << 24;
		uint32_t dlen;

		if (tlen > name_max || len - off - 32 < tlen)
			return;
		dlen = p[off + 28 + tlen] | p[off + 29 + tlen] << 8 | p[off + 30 + tlen] << 16 |
		       (uint32_t)p[off + 31 + tlen] << 24;
		if (dlen > len - off - 32 - tlen)
			return;
		EVP_Digest(p + off + 32 + tlen, dlen, p + off + 4, NULL, EVP_sha1(), NULL);
		off += 32 + tlen + dlen;
	}
}

/* LLVMFuzzerInitialize's first step: expected errors stay quiet unless TCL_FUZZ_VERBOSE is
 * set.  Returns where to write the seeds (TCL_FUZZ_SEED_DIR), or NULL. */
static inline const char *fuzz_init(void)
{
	tcl_verbosity = getenv("TCL_FUZZ_VERBOSE") ? TCL_DEBUG : -1;
	return getenv("TCL_FUZZ_SEED_DIR");
}

#endif
