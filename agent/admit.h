/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The requests tcl-agent answers on its socket (lib/evstream.h): "status", and "container {...}"
 * from tcl-hook, which asks whether a container being created may run (its admission).
 */
#ifndef TCL_AGENT_ADMIT_H
#define TCL_AGENT_ADMIT_H

#include <stddef.h>

/* A tcl_request_fn; ctx is the struct agent. */
int agent_handle_request(void *ctx, const char *req, char *buf, size_t len);
/* A tcl_reverify_fn (agent/scope.h) for containers found running at start; ctx the agent. */
int agent_reverify(void *ctx, const char *image, const char *digest, char *out, size_t outlen);

#endif
