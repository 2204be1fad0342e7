// SPDX-License-Identifier: GPL-2.0
/* The JSON forms of the state: the API's views and the state file's serialisation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "canonjson.h"
#include "hexb64.h"
#include "jsonb.h"
#include "state.h"

static struct json_object *finding_json(const struct att_finding *f)
{
	struct json_object *o = json_object_new_object();
	int rc = 0;

	if (!o)
		return NULL;
	if (f->offset != ATT_NO_OFFSET)
		rc |= tcl_json_add_int(o, "offset", (int64_t)f->offset);
	rc |= tcl_json_add_int(o, "time", f->time);
	if (f->name)
		rc |= tcl_json_add_str(o, "name", f->name);
	if (f->digest)
		rc |= tcl_json_add_str(o, "digest", f->digest);
	if (f->container_id)
		rc |= tcl_json_add_str(o, "container_id", f->container_id);
	rc |= tcl_json_add_str(o, "reason", f->reason);
	if (rc) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *att_findings_json(const struct att_findings *f)
{
	struct json_object *a = json_object_new_array();

	if (!a)
		return NULL;
	for (size_t i = 0; i < f->n; i++) {
		struct json_object *x = finding_json(&f->v[i]);

		if (tcl_json_push(a, x)) {
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

static int findings_to(struct json_object *o, const struct att_findings *f)
{
	return tcl_json_add(o, "findings", att_findings_json(f)) |
	       tcl_json_add_int(o, "findings_total", (int64_t)f->total);
}

/* The persisted fields of a container; the API adds its verdict. */
static struct json_object *container_obj(const struct att_container *c)
{
	struct json_object *o = json_object_new_object();
	int rc = 0;

	if (!o)
		return NULL;
	rc |= tcl_json_add_str(o, "id", c->id);
	rc |= tcl_json_add_str(o, "image", c->image);
	rc |= tcl_json_add_str(o, "image_digest", c->image_digest);
	rc |= tcl_json_add_str(o, "golden_sha256", c->golden_sha256);
	rc |= tcl_json_add_str(o, "golden_keyid", c->golden_keyid);
	rc |= tcl_json_add_int(o, "start_offset", (int64_t)c->start_offset);
	rc |= tcl_json_add_int(o, "started", c->started);
	rc |= tcl_json_add_bool(o, "stopped", c->stopped);
	rc |= tcl_json_add_int(o, "files", (int64_t)c->files);
	rc |= findings_to(o, &c->findings);
	rc |= tcl_json_add(o, "refusals", att_findings_json(&c->refusals));
	rc |= tcl_json_add_int(o, "refusals_total", (int64_t)c->refusals.total);
	if (rc) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *node_obj(const struct att_node *n, bool api)
{
	struct json_object *o = json_object_new_object(), *cs = json_object_new_array();
	char pcr[2 * TCL_LOG_DIGEST_MAX + 1];
	void **vals = NULL;
	size_t nc = 0;
	int rc = 0;

	if (!o || !cs || tcl_map_sorted(&n->containers, &vals, &nc))
		goto fail;
	tcl_hex(n->pcr, tcl_log_alg_size(n->pcr_bank), pcr);
	rc |= tcl_json_add_str(o, "id", n->id);
	rc |= tcl_json_add_int(o, "enrolled_at", n->enrolled_at);
	if (!api)
		rc |= tcl_json_add_b64(o, "ak_pub", n->ak_pub, n->ak_pub_len);
	rc |= tcl_json_add_str(o, "ak_name", n->ak_name);
	rc |= tcl_json_add_str(o, "ek_sha256", n->ek_sha256);
	rc |= tcl_json_add_str(o, "ek_cert", n->ek_cert);
	rc |= tcl_json_add_str(o, "tls_sha256", n->tls_sha256);
	if (n->have_reset_count)
		rc |= tcl_json_add_int(o, "reset_count", n->reset_count);
	rc |= tcl_json_add_int(o, "log_offset", (int64_t)n->log_offset);
	rc |= tcl_json_add_int(o, "log_entries", (int64_t)n->log_entries);
	rc |= tcl_json_add_str(o, "pcr", pcr);
	rc |= tcl_json_add_str(o, "agent_mode", att_mode_name(n->mode));
	rc |= tcl_json_add_int(o, "last_evidence", n->last_evidence);
	rc |= tcl_json_add_int(o, "evidence_ok", (int64_t)n->evidence_ok);
	rc |= tcl_json_add_int(o, "evidence_failed", (int64_t)n->evidence_failed);
	rc |= tcl_json_add_int(o, "unappraised", (int64_t)n->unappraised);
	rc |= findings_to(o, &n->findings);
	for (size_t i = 0; i < nc && !rc; i++) {
		struct json_object *c = container_obj(vals[i]);

		if (tcl_json_push(cs, c))
			rc = -ENOMEM;
	}
	free(vals);
	if (rc)
		goto fail;
	rc = tcl_json_add(o, "containers", cs);
	cs = NULL;
	if (rc)
		goto fail;
	return o;
fail:
	json_object_put(cs);
	json_object_put(o);
	return NULL;
}

static int add_verdict(struct json_object *o, enum att_verdict v, const char *reason)
{
	int rc = tcl_json_add_str(o, "verdict", att_verdict_name(v));

	if (reason && *reason)
		rc |= tcl_json_add_str(o, "reason", reason);
	return rc;
}

struct json_object *att_container_json(const struct att_node *n, const struct att_container *c,
				       int64_t now, int64_t stale_after)
{
	struct json_object *o = container_obj(c);
	char buf[2 * ATT_REASON_MAX];
	enum att_verdict v;

	if (!o)
		return NULL;
	v = att_container_verdict(n, c, now, stale_after, buf, sizeof(buf));
	if (add_verdict(o, v, buf) || tcl_json_add_str(o, "node", n->id)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *att_node_json(const struct att_node *n, int64_t now, int64_t stale_after)
{
	struct json_object *o = node_obj(n, true), *cs;
	char buf[2 * ATT_REASON_MAX];
	const char *reason;
	enum att_verdict v;
	size_t len;

	if (!o)
		return NULL;
	v = att_node_verdict(n, now, stale_after, &reason, buf, sizeof(buf));
	if (add_verdict(o, v, reason) || tcl_json_add_bool(o, "enrolled", n->enrolled))
		goto fail;
	/* each container with its own verdict */
	cs = json_object_object_get(o, "containers");
	len = json_object_array_length(cs);
	for (size_t i = 0; i < len; i++) {
		struct json_object *c = json_object_array_get_idx(cs, i);
		const struct att_container *ct =
			tcl_map_get(&n->containers, json_object_get_string(
							    json_object_object_get(c, "id")));
		enum att_verdict cv;

		if (!ct)
			continue;
		cv = att_container_verdict(n, ct, now, stale_after, buf, sizeof(buf));
		if (add_verdict(c, cv, buf))
			goto fail;
	}
	return o;
fail:
	json_object_put(o);
	return NULL;
}

int att_node_to_json(const struct att_node *n, char **out, size_t *len)
{
	struct json_object *o = node_obj(n, false);
	const char *s;

	*out = NULL;
	s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					       JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;
	if (s) {
		*len = strlen(s);
		*out = strdup(s);
	}
	json_object_put(o);
	return *out ? 0 : -ENOMEM;
}

int att_state_to_json(const struct att_state *st, char **out, size_t *len)
{
	struct json_object *o = json_object_new_object(), *ns = json_object_new_array();
	void **vals = NULL;
	size_t n = 0;
	int rc = -ENOMEM;

	*out = NULL;
	if (!o || !ns || tcl_map_sorted(&st->nodes, &vals, &n))
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct att_node *nd = vals[i];
		struct json_object *x;

		if (!nd->enrolled)	/* an enrolment in progress is memory only */
			continue;
		x = node_obj(nd, false);
		if (tcl_json_push(ns, x))
			goto out;
	}
	if (tcl_json_add_int(o, "version", 1))
		goto out;
	rc = tcl_json_add(o, "nodes", ns);
	ns = NULL;
	if (!rc && st->revocations.version)
		rc = tcl_json_add(o, "revocations", tcl_revocation_list_json(&st->revocations));
	if (!rc)
		rc = tcl_canon_json(o, out, len);
out:
	free(vals);
	json_object_put(ns);
	json_object_put(o);
	return rc;
}
