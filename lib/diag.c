// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>

#include "diag.h"

const char *tcl_prog = "tcl";
int tcl_verbosity = TCL_INFO;

void tcl_logf(int prio, const char *subsys, const char *fmt, ...)
{
	static const char *const tag[] = { "error: ", "warning: ", "", "debug: " };
	char line[1024];
	va_list ap;

	if (prio > tcl_verbosity)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s: %s%s\n", tcl_prog, subsys, tag[prio & 3], line);
}
