/* SPDX-License-Identifier: GPL-2.0 */
/* tclctl image verify: the agent's local-mode verification, from the command line. */
#ifndef TCL_CMD_VERIFY_H
#define TCL_CMD_VERIFY_H

int tcl_cmd_image_verify(int argc, char **argv);

#endif
