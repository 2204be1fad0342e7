// SPDX-License-Identifier: GPL-2.0
/* Stand-in for tclctl's dispatch until it exists: regtool image|golden ARGS... */
#include <stdio.h>
#include <string.h>

#include "cmd_registry.h"
#include "diag.h"

int main(int argc, char **argv)
{
	tcl_prog = "tclctl";
	if (argc >= 2 && !strcmp(argv[1], "image"))
		return tcl_cmd_image(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "golden"))
		return tcl_cmd_golden_registry(argc - 2, argv + 2);
	fprintf(stderr, "usage: regtool image|golden ...\n");
	return 2;
}
