// SPDX-License-Identifier: GPL-2.0
/* tcl-agent's outputs: event lines to --events and the socket, records to the measurement log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "agent.h"
#include "canonjson.h"
#include "diag.h"
#include "evstream.h"
#include "jsonb.h"

void emit_line(struct agent *a, const char *line, int len)
{
	if (len <= 0)
		return;
	if (a->events_out && !a->events_out_failed) {
		if (fwrite(line, 1, len, a->events_out) != (size_t)len || fflush(a->events_out)) {
			a->events_out_failed = true;
			pr_err("events", "cannot write events to %s: %s (socket stream continues)",
			       a->events_path, strerror(errno));
		}
	}
	if (a->stream)
		tcl_evstream_publish(a->stream, line, len);
}

/* Measure a canonical JSON record built from key/value pairs (strings; NULL values skipped). */
void measure_record(struct agent *a, const char *event, const char *const *kv)
{
	json_object *o = json_object_new_object();
	char *text = NULL;
	size_t len;
	int ret;

	if (!a->measure || !o)
		goto out;
	for (; kv[0]; kv += 2)
		if (kv[1] && *kv[1])
			tcl_json_add_str(o, kv[0], kv[1]);
	if (tcl_canon_json(o, &text, &len))
		goto out;
	ret = tcl_measure_buf(a->measure, event, text);
	if (ret && ret != -ENOTRECOVERABLE)
		pr_warn("measure", "%s not measured: %s", event, strerror(-ret));
out:
	free(text);
	json_object_put(o);
}
