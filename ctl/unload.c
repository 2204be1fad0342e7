// SPDX-License-Identifier: GPL-2.0
/* tclctl unload --yes: detach and remove every pinned program and map. */
#include <stdio.h>
#include <string.h>

#include "bpf_loader.h"
#include "cmds.h"

int tcl_cmd_unload(int argc, char **argv)
{
	struct tcl_bpf_link_state st[TCL_NUM_PROGS];
	int n;

	if (argc != 2 || strcmp(argv[1], "--yes")) {
		fprintf(stderr, "tclctl unload removes tcl's programs: nothing is enforced or measured\n"
				"afterwards. Run `tclctl unload --yes` to do it.\n");
		return EXIT_USAGE;
	}
	n = tcl_bpf_links(ctl_pin_dir, st);
	tcl_bpf_unload(ctl_pin_dir);
	if (tcl_bpf_links(ctl_pin_dir, st)) {
		fprintf(stderr, "tclctl: programs still attached after unload\n");
		return 1;
	}
	printf("unloaded: %d programs detached, pins under %s removed\n", n, ctl_pin_dir);
	return 0;
}
