/* SPDX-License-Identifier: GPL-2.0 */
/* tcl-agent's status: the answer to `tclctl status` and the content of /run/tcl/agent.json. */
#ifndef TCL_AGENT_STATUS_H
#define TCL_AGENT_STATUS_H

#include <stddef.h>

struct agent;

/* One JSON object and a newline into buf: its length, or -errno (-E2BIG: buf too small). */
int agent_status_json(struct agent *a, char *buf, size_t len);

#endif
