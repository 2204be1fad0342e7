/* SPDX-License-Identifier: GPL-2.0 */
/* tcl-agent's config file (--config FILE, default /etc/tcl/agent.conf): `key = value` lines read
 * by lib/conffile.c, the keys being the agent's long option names.  Its settings become options
 * put before the command line's, so that the command line wins (a repeatable option such as
 * trust-key takes the values of both). */
#ifndef TCL_AGENT_CONF_H
#define TCL_AGENT_CONF_H

#include <getopt.h>
#include <stdio.h>

#define TCL_AGENT_CONFIG "/etc/tcl/agent.conf"

/* Find --config FILE (or --config=FILE) in @argv, else use TCL_AGENT_CONFIG, which may be
 * missing; read it and replace *@argc and *@argv with argv[0], the file's settings as "--key=value"
 * ("--key" for a flag set to true, nothing for false), then the rest of @argv.  The new vector
 * lives as long as the process.  0, or -errno after a message on @err (FILE:LINE: why). */
int tcl_agent_conf_argv(int *argc, char ***argv, const struct option *opts, FILE *err);

#endif
