/* SPDX-License-Identifier: GPL-2.0 */
/* What the fuzz targets share: quiet logging and the seeds they write.  Each target is one .c
 * file that run.sh builds on its own, so the helpers are static inline, here. */
#ifndef TCL_FUZZ_H
#define TCL_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

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

/* LLVMFuzzerInitialize's first step: expected errors stay quiet unless TCL_FUZZ_VERBOSE is
 * set.  Returns where to write the seeds (TCL_FUZZ_SEED_DIR), or NULL. */
static inline const char *fuzz_init(void)
{
	tcl_verbosity = getenv("TCL_FUZZ_VERBOSE") ? TCL_DEBUG : -1;
	return getenv("TCL_FUZZ_SEED_DIR");
}

#endif
