// SPDX-License-Identifier: GPL-2.0
/* tclctl's image and golden nouns alone, built with sanitizers by test_registry.sh:
 * regtool image|golden VERB ARGS... */
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "diag.h"

int main(int argc, char **argv)
{
	tcl_prog = "tclctl";
	/* the handlers take argv[0] as the word that selected them */
	if (argc >= 2 && !strcmp(argv[1], "image"))
		return tcl_cmd_image(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "golden"))
		return tcl_cmd_golden(argc - 1, argv + 1);
	fprintf(stderr, "usage: regtool image|golden ...\n");
	return 2;
}
