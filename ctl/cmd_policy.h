/* SPDX-License-Identifier: GPL-2.0 */
/* tclctl policy generate|check. argv[0] is the subcommand. Return: 0 ok, 1 failure, 2 usage. */
#ifndef TCL_CMD_POLICY_H
#define TCL_CMD_POLICY_H

int tcl_cmd_policy(int argc, char **argv);

#endif
