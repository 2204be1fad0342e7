// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "canonjson.h"
#include "filter.h"
#include "jsonb.h"

struct out {
	struct json_object *names, *failed, *unres;
	att_verdict_fn fn;
	void *arg;
};

/* Judge one node; true when it is kept. */
static int judge(struct out *o, const char *name, size_t len, bool *keep)
{
	char reason[2 * ATT_REASON_MAX], msg[2 * ATT_REASON_MAX + 64];
	enum att_verdict v;

	*keep = false;
	if (len != strlen(name) || !att_node_id_valid(name)) {
		snprintf(msg, sizeof(msg), "tcl: not a valid node name");
	} else {
		reason[0] = '\0';
		v = o->fn(o->arg, name, reason, sizeof(reason));
		if (v == ATT_TRUSTED) {
			*keep = true;
			return tcl_json_push(o->names, json_object_new_string(name));
		}
		snprintf(msg, sizeof(msg), "tcl: node is %s%s%s", att_verdict_name(v),
			 reason[0] ? ": " : "", reason);
	}
	return tcl_json_add_str(o->failed, name, msg) ?: tcl_json_add_str(o->unres, name, msg);
}

static int bad_args(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -EINVAL;
}

int att_filter(const char *body, size_t len, size_t max, att_verdict_fn fn, void *arg,
	       char **out, size_t *olen, char *err, size_t errlen)
{
	struct json_object *in = NULL, *res = NULL, *nodes = NULL, *names = NULL, *items = NULL;
	struct json_object *kept = NULL, *outnodes = NULL;
	struct out o = { .fn = fn, .arg = arg };
	const char *s;
	int rc;

	*out = NULL;
	rc = tcl_json_parse("scheduler filter", body, len, max, &in);
	if (rc == -EFBIG) {
		snprintf(err, errlen, "ExtenderArgs larger than %zu bytes", max);
		return rc;
	}
	if (rc)
		return bad_args(err, errlen, "ExtenderArgs is not valid JSON");
	rc = -EINVAL;
	if (!json_object_is_type(in, json_type_object)) {
		bad_args(err, errlen, "ExtenderArgs is not a JSON object");
		goto out;
	}
	if (json_object_object_get_ex(in, "Nodes", &nodes) && nodes) {
		if (!json_object_is_type(nodes, json_type_object) ||
		    !json_object_object_get_ex(nodes, "items", &items) ||
		    !(json_object_is_type(items, json_type_array) || !items)) {
			bad_args(err, errlen, "ExtenderArgs.Nodes is not a NodeList with items");
			goto out;
		}
	} else {
		nodes = NULL;
	}
	if (json_object_object_get_ex(in, "NodeNames", &names) && names &&
	    !json_object_is_type(names, json_type_array)) {
		bad_args(err, errlen, "ExtenderArgs.NodeNames is not an array of strings");
		goto out;
	}
	if (!nodes && !names) {
		bad_args(err, errlen, "ExtenderArgs has neither Nodes nor NodeNames");
		goto out;
	}
	if ((items && json_object_array_length(items) > ATT_FILTER_MAX_NODES) ||
	    (names && json_object_array_length(names) > ATT_FILTER_MAX_NODES)) {
		snprintf(err, errlen, "more than %d nodes", ATT_FILTER_MAX_NODES);
		goto out;
	}
	rc = -ENOMEM;
	res = json_object_new_object();
	o.names = json_object_new_array();
	o.failed = json_object_new_object();
	o.unres = json_object_new_object();
	if (!res || !o.names || !o.failed || !o.unres)
		goto out;
	if (nodes) {
		kept = json_object_new_array();
		if (!kept)
			goto out;
		for (size_t i = 0; items && i < json_object_array_length(items); i++) {
			struct json_object *it = json_object_array_get_idx(items, i), *md, *nm;
			bool keep;

			if (!json_object_is_type(it, json_type_object) ||
			    !json_object_object_get_ex(it, "metadata", &md) ||
			    !json_object_is_type(md, json_type_object) ||
			    !json_object_object_get_ex(md, "name", &nm) ||
			    !json_object_is_type(nm, json_type_string)) {
				rc = bad_args(err, errlen, "a node in ExtenderArgs.Nodes.items has no "
					  "metadata.name");
				goto out;
			}
			rc = judge(&o, json_object_get_string(nm),
				   (size_t)json_object_get_string_len(nm), &keep);
			if (rc)
				goto out;
			if (keep && json_object_array_add(kept, json_object_get(it))) {
				rc = -ENOMEM;
				goto out;
			}
		}
		/* The caller's NodeList, items replaced by the kept ones. */
		outnodes = json_object_new_object();
		if (!outnodes)
			goto out;
		json_object_object_foreach(nodes, k, val) {
			if (!strcmp(k, "items"))
				continue;
			if (json_object_object_add(outnodes, k, json_object_get(val)))
				goto out;
		}
		rc = json_object_object_add(outnodes, "items", kept) ? -ENOMEM : 0;
		kept = NULL;
		if (rc)
			goto out;
	} else {
		for (size_t i = 0; i < json_object_array_length(names); i++) {
			struct json_object *nm = json_object_array_get_idx(names, i);
			bool keep;

			if (!json_object_is_type(nm, json_type_string)) {
				rc = bad_args(err, errlen, "ExtenderArgs.NodeNames holds a non-string");
				goto out;
			}
			rc = judge(&o, json_object_get_string(nm),
				   (size_t)json_object_get_string_len(nm), &keep);
			if (rc)
				goto out;
		}
	}
	rc = -ENOMEM;
	if (json_object_object_add(res, "Nodes", outnodes))
		goto out;
	outnodes = NULL;
	if (json_object_object_add(res, "NodeNames", o.names))
		goto out;
	o.names = NULL;
	if (json_object_object_add(res, "FailedNodes", o.failed))
		goto out;
	o.failed = NULL;
	if (json_object_object_add(res, "FailedAndUnresolvableNodes", o.unres))
		goto out;
	o.unres = NULL;
	if (json_object_object_add(res, "Error", json_object_new_string("")))
		goto out;
	s = json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		goto out;
	*olen = strlen(s);
	*out = strdup(s);
	rc = *out ? 0 : -ENOMEM;
out:
	json_object_put(kept);
	json_object_put(outnodes);
	json_object_put(o.names);
	json_object_put(o.failed);
	json_object_put(o.unres);
	json_object_put(res);
	json_object_put(in);
	return rc;
}
