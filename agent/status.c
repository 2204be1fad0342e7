// SPDX-License-Identifier: GPL-2.0
/* tcl-agent's status as one JSON object: mode, scope, policy, the log and the attestor. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <json-c/json.h>

#include "agent.h"
#include "jsonb.h"
#include "status.h"

int agent_status_json(struct agent *a, char *buf, size_t len)
{
	json_object *o = json_object_new_object(), *m;
	struct tcl_measure_status st;
	int n;

	if (!o)
		return -ENOMEM;
	tcl_json_add_int(o, "pid", getpid());
	tcl_json_add_bool(o, "ready", a->ready);
	tcl_json_add_str(o, "mode", a->mode == TCL_MODE_ENFORCE ? "enforce" : "audit");
	tcl_json_add_str(o, "scope", a->scope_arg);
	tcl_json_add_str(o, "policy", a->policy_path ? a->policy_path : "");
	tcl_json_add_int(o, "allow", a->n_allow);
	tcl_json_add_int(o, "containers", tcl_scope_containers(a->scope));
	tcl_json_add_str(o, "started", a->started);
	tcl_json_add_str(o, "pin_dir", a->pin_dir);
	tcl_json_add_bool(o, "reattached", a->bpf->reattached);
	if (a->measure) {
		tcl_measure_status(a->measure, &st);
		m = json_object_new_object();
		tcl_json_add_str(m, "state", tcl_measure_state_name(st.state));
		if (st.why[0])
			tcl_json_add_str(m, "why", st.why);
		tcl_json_add_bool(m, "anchored", st.anchored);
		tcl_json_add_int(m, "pcr", st.pcr);
		tcl_json_add_int(m, "entries", st.entries);
		tcl_json_add_int(m, "extended", st.extended);
		tcl_json_add_int(m, "queued", st.queued);
		tcl_json_add_int(m, "dropped", st.dropped);
		tcl_json_add_int(m, "refused", st.refused);
		/* log offsets: the end, the first kept byte; bytes kept on disk, the bound */
		tcl_json_add_int(m, "bytes", (int64_t)st.log_bytes);
		tcl_json_add_int(m, "start", (int64_t)st.log_start);
		tcl_json_add_int(m, "disk_bytes", (int64_t)st.log_disk_bytes);
		tcl_json_add_int(m, "max_bytes", (int64_t)st.log_max_bytes);
		tcl_json_add_int(m, "segments_deleted", (int64_t)st.segments_deleted);
		tcl_json_add_bool(m, "over_bound", st.log_over_bound);
		tcl_json_add(o, "log", m);
	}
	if (a->attest) {
		struct tcl_attest_worker_status as;

		tcl_attest_worker_status(a->attest, &as);
		m = json_object_new_object();
		tcl_json_add_str(m, "url", as.url);
		tcl_json_add_str(m, "node_id", as.node_id);
		tcl_json_add_bool(m, "enrolled", as.enrolled);
		if (as.verdict[0])
			tcl_json_add_str(m, "verdict", as.verdict);
		if (as.last_error)
			tcl_json_add_str(m, "error", as.reason);
		else if (as.reason[0])
			tcl_json_add_str(m, "reason", as.reason);
		if (as.last_push[0])
			tcl_json_add_str(m, "last_push", as.last_push);
		tcl_json_add_int(m, "pushes", as.pushes);
		tcl_json_add_int(m, "failures", as.failures);
		tcl_json_add_int(m, "acked_offset", as.acked_offset);
		tcl_json_add(o, "attestor", m);
	}
	n = snprintf(buf, len, "%s\n",
		     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return n < (int)len ? n : -E2BIG;
}
