/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Event records as JSON lines (docs/events.md): stable keys, absent values omitted.
 * ts type verdict reason pid ppid uid comm path sha256 cgroup_id container_id pod_uid pod
 * namespace container image image_digest hook (+ count for drop, message for agent).
 */
#ifndef TCL_EVENTS_H
#define TCL_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcl_abi.h"

#define TCL_EVENT_JSON_MAX 4096

/* Container attribution of a record; any field may be NULL or "". */
struct tcl_event_meta {
	const char *container_id;
	const char *pod_uid;
	const char *pod;
	const char *namespace_;
	const char *container;
	const char *image;
	const char *image_digest;
};

const char *tcl_hook_name(unsigned int hook);
/* Does the record carry a file digest? (Not when hashing failed, nor for refused write-opens
 * and guard refusals.) */
bool tcl_event_has_digest(const struct tcl_event *e);
const char *tcl_hook_type(unsigned int hook);
const char *tcl_verdict_name(unsigned int verdict);
const char *tcl_reason_name(unsigned int reason);

/* Encode a kernel record. Returns the line length (without NUL, with '\n') or -E2BIG. */
int tcl_event_format(const struct tcl_event *e, const struct tcl_event_meta *m, char *buf,
		     size_t len);
/* Encode a user-space record: type is "agent", "drop", "container_start"...; count < 0 omits
 * the count key; message and reason may be NULL. */
int tcl_event_format_simple(const char *type, const char *verdict, const char *reason,
			    const char *message, int64_t count, const struct tcl_event_meta *m,
			    char *buf, size_t len);

#endif
