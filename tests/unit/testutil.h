/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the unit tests share, all static inline (each test is one program: nothing to link, no
 * Makefile change): a temporary directory for a group of tests, and paths in it. Include after
 * <cmocka.h>.
 */
#ifndef TCL_TESTUTIL_H
#define TCL_TESTUTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "diag.h"

/* The group's directory: /tmp/<program>.XXXXXX, made unique by tu_group_setup. */
static char tu_dir[256];

/* cmocka group setup: diagnostics quiet (the tests expect errors), a fresh directory. */
static inline int tu_group_setup(void **state)
{
	tcl_verbosity = -1;
	snprintf(tu_dir, sizeof(tu_dir), "/tmp/%s.XXXXXX",
		 program_invocation_short_name);
	assert_non_null(mkdtemp(tu_dir));
	return 0;
}

/* cmocka group teardown: the directory and everything in it. */
static inline int tu_group_teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tu_dir);
	return system(cmd);
}

/* <directory>/<name>, in one of four buffers used in turn: up to four paths at once. */
static inline const char *tu_path(const char *name)
{
	static char p[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", tu_dir, name);
	return p[i];
}

#endif
