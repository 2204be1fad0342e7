// SPDX-License-Identifier: GPL-2.0
/* The strict loader of the JSON forms: the state file (all or nothing; imported into the
 * database once) and one node (a database row). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "canonjson.h"
#include "diag.h"
#include "fileio.h"
#include "state.h"
#include "util.h"

struct rd {
	const char *what;	/* for messages */
	int rc;
};

static struct json_object *want(struct rd *r, struct json_object *o, const char *k,
				enum json_type t, bool required)
{
	struct json_object *v;

	if (r->rc)
		return NULL;
	if (!json_object_object_get_ex(o, k, &v)) {
		if (required) {
			pr_err("state", "%s: \"%s\" missing", r->what, k);
			r->rc = -EBADMSG;
		}
		return NULL;
	}
	if (!json_object_is_type(v, t)) {
		pr_err("state", "%s: \"%s\" has the wrong type", r->what, k);
		r->rc = -EBADMSG;
		return NULL;
	}
	return v;
}

static int64_t get_int(struct rd *r, struct json_object *o, const char *k, int64_t min,
		       int64_t max)
{
	struct json_object *v = want(r, o, k, json_type_int, true);
	int64_t x;

	if (!v)
		return 0;
	x = json_object_get_int64(v);
	if (x < min || x > max) {
		pr_err("state", "%s: \"%s\" out of range", r->what, k);
		r->rc = -EBADMSG;
		return 0;
	}
	return x;
}

/* Copy a string of at most cap-1 bytes; @hexlen > 0: exactly that many hex digits (or empty
 * when @empty_ok). */
static void get_str(struct rd *r, struct json_object *o, const char *k, char *dst, size_t cap,
		    size_t hexlen, bool empty_ok)
{
	struct json_object *v = want(r, o, k, json_type_string, true);
	const char *s;
	size_t len;

	dst[0] = '\0';
	if (!v)
		return;
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len >= cap || strlen(s) != len || (!len && !empty_ok) ||
	    (hexlen && len && (len != hexlen || !tcl_is_hex(s, len)))) {
		pr_err("state", "%s: \"%s\" is malformed", r->what, k);
		r->rc = -EBADMSG;
		return;
	}
	memcpy(dst, s, len + 1);
}

static const char *const finding_keys[] = { "offset", "time", "name", "digest", "container_id",
					     "reason", NULL };
static const char *const container_keys[] = { "id", "image", "image_digest", "golden_sha256",
	"golden_keyid", "start_offset", "started", "stopped", "files", "findings",
	"findings_total", "refusals", "refusals_total", NULL };
static const char *const node_keys[] = { "id", "enrolled_at", "ak_pub", "ak_name", "ek_sha256",
	"ek_cert", "tls_sha256", "reset_count", "log_offset", "log_entries", "pcr", "agent_mode",
	"last_evidence", "evidence_ok", "evidence_failed", "unappraised", "findings",
	"findings_total", "containers", NULL };

static void only_keys(struct rd *r, struct json_object *o, const char *const *keys)
{
	json_object_object_foreach(o, k, v) {
		size_t i;

		(void)v;
		for (i = 0; keys[i]; i++)
			if (!strcmp(keys[i], k))
				break;
		if (!keys[i] && !r->rc) {
			pr_err("state", "%s: unknown key \"%.64s\"", r->what, k);
			r->rc = -EBADMSG;
		}
	}
}

static const char *opt_str(struct rd *r, struct json_object *o, const char *k, size_t max)
{
	struct json_object *v = want(r, o, k, json_type_string, false);
	const char *s;

	if (!v)
		return NULL;
	s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) > max || strlen(s) > max) {
		pr_err("state", "%s: \"%s\" too long", r->what, k);
		r->rc = -EBADMSG;
		return NULL;
	}
	return s;
}

/* @key ("findings", "refusals") and @key_total */
static void load_findings(struct rd *r, struct json_object *o, struct att_findings *f,
			  const char *key, const char *key_total)
{
	struct json_object *a = want(r, o, key, json_type_array, true);
	size_t n = a ? json_object_array_length(a) : 0;
	int64_t total = get_int(r, o, key_total, 0, INT64_MAX);

	if (n > ATT_FINDINGS_KEPT && !r->rc) {
		pr_err("state", "%s: more than %d findings", r->what, ATT_FINDINGS_KEPT);
		r->rc = -EBADMSG;
	}
	for (size_t i = 0; i < n && !r->rc; i++) {
		struct json_object *x = json_object_array_get_idx(a, i);
		const char *reason;
		int64_t off = -1;

		if (!json_object_is_type(x, json_type_object)) {
			r->rc = -EBADMSG;
			pr_err("state", "%s: finding is not an object", r->what);
			break;
		}
		only_keys(r, x, finding_keys);
		if (json_object_object_get_ex(x, "offset", NULL))
			off = get_int(r, x, "offset", 0, INT64_MAX);
		reason = opt_str(r, x, "reason", 4096);
		if (!reason && !r->rc) {
			pr_err("state", "%s: finding without a reason", r->what);
			r->rc = -EBADMSG;
		}
		if (r->rc)
			break;
		if (att_finding_add(f, off < 0 ? ATT_NO_OFFSET : (uint64_t)off,
				    get_int(r, x, "time", 0, INT64_MAX),
				    opt_str(r, x, "name", TCL_SHA256_HEX_LEN + 4352),
				    opt_str(r, x, "digest", 16 + 2 * 64),
				    opt_str(r, x, "container_id", ATT_CID_MAX), reason))
			r->rc = -ENOMEM;
	}
	if (!r->rc && (uint64_t)total < f->n) {
		pr_err("state", "%s: findings_total below the findings listed", r->what);
		r->rc = -EBADMSG;
	}
	f->total = (uint64_t)total;
}

static void load_container(struct rd *r, struct json_object *x, struct att_node *n)
{
	struct att_container *c = NULL;
	char id[ATT_CID_MAX + 1];

	if (!json_object_is_type(x, json_type_object)) {
		pr_err("state", "%s: container is not an object", r->what);
		r->rc = -EBADMSG;
		return;
	}
	only_keys(r, x, container_keys);
	get_str(r, x, "id", id, sizeof(id), 0, false);
	if (r->rc)
		return;
	if (!att_container_id_valid(id) || tcl_map_get(&n->containers, id)) {
		pr_err("state", "%s: container id \"%s\" invalid or repeated", r->what, id);
		r->rc = -EBADMSG;
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || tcl_map_put(&n->containers, id, c)) {
		free(c);
		r->rc = -ENOMEM;
		return;
	}
	strcpy(c->id, id);
	get_str(r, x, "image", c->image, sizeof(c->image), 0, true);
	get_str(r, x, "image_digest", c->image_digest, sizeof(c->image_digest), 0, true);
	get_str(r, x, "golden_sha256", c->golden_sha256, sizeof(c->golden_sha256), 64, true);
	get_str(r, x, "golden_keyid", c->golden_keyid, sizeof(c->golden_keyid), 64, true);
	c->start_offset = (uint64_t)get_int(r, x, "start_offset", 0, INT64_MAX);
	c->started = get_int(r, x, "started", 0, INT64_MAX);
	if (want(r, x, "stopped", json_type_boolean, true))
		c->stopped = json_object_get_boolean(json_object_object_get(x, "stopped"));
	c->files = (uint64_t)get_int(r, x, "files", 0, INT64_MAX);
	load_findings(r, x, &c->findings, "findings", "findings_total");
	/* refusals: absent in states written before refusals were kept */
	if (json_object_object_get_ex(x, "refusals", NULL) ||
	    json_object_object_get_ex(x, "refusals_total", NULL))
		load_findings(r, x, &c->refusals, "refusals", "refusals_total");
	if (c->findings.total)
		n->untrusted_containers++;
}

static void load_node(struct rd *r, struct json_object *x, struct att_state *st)
{
	struct json_object *v, *cs;
	struct att_node *n = NULL;
	char id[ATT_NODE_ID_MAX + 1], what[ATT_NODE_ID_MAX + 32], pcr[2 * TCL_LOG_DIGEST_MAX + 1];
	const char *what0 = r->what;
	uint8_t *ak = NULL;
	size_t ak_len = 0;

	if (!json_object_is_type(x, json_type_object)) {
		pr_err("state", "%s: node is not an object", r->what);
		r->rc = -EBADMSG;
		return;
	}
	get_str(r, x, "id", id, sizeof(id), 0, false);
	if (r->rc)
		return;
	if (!att_node_id_valid(id) || tcl_map_get(&st->nodes, id)) {
		pr_err("state", "%s: node id \"%s\" invalid or repeated", r->what, id);
		r->rc = -EBADMSG;
		return;
	}
	snprintf(what, sizeof(what), "%s: node %s", what0, id);
	r->what = what;
	only_keys(r, x, node_keys);
	if (r->rc || att_node_get_or_add(st, id, SIZE_MAX, &n)) {
		r->rc = r->rc ? r->rc : -ENOMEM;
		goto out;
	}
	n->enrolled = true;
	n->enrolled_at = get_int(r, x, "enrolled_at", 0, INT64_MAX);
	v = want(r, x, "ak_pub", json_type_string, true);
	if (v && (tcl_b64_decode(json_object_get_string(v),
				 (size_t)json_object_get_string_len(v), ATT_AK_PUB_MAX, &ak,
				 &ak_len) ||
		  att_node_set_ak(n, ak, ak_len))) {
		pr_err("state", "%s: \"ak_pub\" is not an attestation key", r->what);
		r->rc = -EBADMSG;
	}
	free(ak);
	get_str(r, x, "ek_sha256", n->ek_sha256, sizeof(n->ek_sha256), 64, true);
	get_str(r, x, "ek_cert", n->ek_cert, sizeof(n->ek_cert), 0, false);
	get_str(r, x, "tls_sha256", n->tls_sha256, sizeof(n->tls_sha256), 64, false);
	if (json_object_object_get_ex(x, "reset_count", NULL)) {
		n->reset_count = (uint32_t)get_int(r, x, "reset_count", 0, UINT32_MAX);
		n->have_reset_count = true;
	}
	n->log_offset = (uint64_t)get_int(r, x, "log_offset", 0, INT64_MAX);
	n->log_entries = (uint64_t)get_int(r, x, "log_entries", 0, INT64_MAX);
	/* the bank follows from the length: states written before --pcr-bank hold sha256 */
	get_str(r, x, "pcr", pcr, sizeof(pcr), 0, false);
	n->pcr_bank = strlen(pcr) == 40 ? TCL_LOG_SHA1 : strlen(pcr) == 96 ? TCL_LOG_SHA384 :
		      strlen(pcr) == 128 ? TCL_LOG_SHA512 : TCL_LOG_SHA256;
	if (!r->rc && (strlen(pcr) != 2 * tcl_log_alg_size(n->pcr_bank) ||
		       tcl_unhex(pcr, n->pcr, tcl_log_alg_size(n->pcr_bank)))) {
		pr_err("state", "%s: \"pcr\" is not 40, 64, 96 or 128 hex digits", r->what);
		r->rc = -EBADMSG;
	}
	/* agent_mode: absent in states written before it was kept (unknown: not enforce) */
	if (json_object_object_get_ex(x, "agent_mode", NULL)) {
		const char *mode = opt_str(r, x, "agent_mode", 16);

		if (mode && !strcmp(mode, "enforce"))
			n->mode = ATT_MODE_ENFORCE;
		else if (mode && !strcmp(mode, "audit"))
			n->mode = ATT_MODE_AUDIT;
		else if (!r->rc && (!mode || strcmp(mode, "unknown"))) {
			pr_err("state", "%s: \"agent_mode\" is malformed", r->what);
			r->rc = -EBADMSG;
		}
	}
	n->last_evidence = get_int(r, x, "last_evidence", 0, INT64_MAX);
	n->evidence_ok = (uint64_t)get_int(r, x, "evidence_ok", 0, INT64_MAX);
	n->evidence_failed = (uint64_t)get_int(r, x, "evidence_failed", 0, INT64_MAX);
	n->unappraised = (uint64_t)get_int(r, x, "unappraised", 0, INT64_MAX);
	load_findings(r, x, &n->findings, "findings", "findings_total");
	cs = want(r, x, "containers", json_type_array, true);
	if (cs && json_object_array_length(cs) > ATT_CONTAINERS_MAX) {
		pr_err("state", "%s: more than %d containers", r->what, ATT_CONTAINERS_MAX);
		r->rc = -EBADMSG;
	}
	for (size_t i = 0; cs && i < json_object_array_length(cs) && !r->rc; i++)
		load_container(r, json_object_array_get_idx(cs, i), n);
out:
	r->what = what0;
}

int att_state_from_json(const char *buf, size_t len, struct att_state *st)
{
	struct rd r = { .what = st->path ? st->path : "state" };
	struct json_object *o = NULL, *ns;
	int rc;

	rc = tcl_json_parse(r.what, buf, len, ATT_STATE_MAX_BYTES, &o);
	if (rc)
		return rc == -ENOMEM ? rc : -EBADMSG;
	if (!json_object_is_type(o, json_type_object)) {
		pr_err("state", "%s: not a JSON object", r.what);
		r.rc = -EBADMSG;
		goto out;
	}
	{
		static const char *const top[] = { "version", "nodes", "revocations", NULL };

		only_keys(&r, o, top);
	}
	if (get_int(&r, o, "version", 1, 1) != 1 && !r.rc) {
		r.rc = -EBADMSG;
	}
	ns = want(&r, o, "nodes", json_type_array, true);
	for (size_t i = 0; ns && i < json_object_array_length(ns) && !r.rc; i++)
		load_node(&r, json_object_array_get_idx(ns, i), st);
	/* revocations: absent in states written before any was made */
	if (!r.rc && json_object_object_get_ex(o, "revocations", &ns)) {
		char err[256];

		if (tcl_revocation_list_from_json(ns, &st->revocations, err, sizeof(err))) {
			pr_err("state", "%s: %s", r.what, err);
			r.rc = -EBADMSG;
		}
		for (size_t i = 0; !r.rc && i < st->revocations.n; i++) {
			if (st->revocations.v[i].id > st->revocations.version) {
				pr_err("state", "%s: revocation id %llu beyond the list's version",
				       r.what, (unsigned long long)st->revocations.v[i].id);
				r.rc = -EBADMSG;
			}
		}
	}
out:
	json_object_put(o);
	if (r.rc)	/* all or nothing */
		att_state_drop_nodes(st);
	return r.rc;
}

int att_state_load(const char *path, struct att_state *st)
{
	char *buf = NULL;
	size_t len;
	int rc;

	memset(st, 0, sizeof(*st));
	st->path = strdup(path);
	if (!st->path)
		return -ENOMEM;
	rc = tcl_read_file(path, ATT_STATE_MAX_BYTES, &buf, &len);
	if (rc == -ENOENT) {
		pr_info("state", "%s does not exist yet: starting with no nodes", path);
		return 0;
	}
	if (rc) {
		pr_err("state", "cannot read %s: %s", path, strerror(-rc));
		return rc;
	}
	rc = att_state_from_json(buf, len, st);
	free(buf);
	if (rc) {
		pr_err("state", "%s is not a valid attestor state file; refusing to start with "
		       "a partial state (move it away to start empty)", path);
		return rc;
	}
	pr_info("state", "loaded %zu enrolled nodes and %zu revocations from %s", st->nodes.n,
		st->revocations.n, path);
	return 0;
}

int att_node_from_json(const char *buf, size_t len, struct att_node **out)
{
	struct rd r = { .what = "database row" };
	struct att_state st = { 0 };
	struct json_object *o = NULL;
	int rc;

	*out = NULL;
	rc = tcl_json_parse(r.what, buf, len, ATT_STATE_MAX_BYTES, &o);
	if (rc)
		return rc == -ENOMEM ? rc : -EBADMSG;
	load_node(&r, o, &st);
	json_object_put(o);
	if (!r.rc && st.nodes.n == 1) {
		void **vals = NULL;
		size_t n = 0;

		r.rc = tcl_map_sorted(&st.nodes, &vals, &n);
		if (!r.rc)
			*out = tcl_map_del(&st.nodes, ((struct att_node *)vals[0])->id);
		free(vals);
	} else if (!r.rc) {
		r.rc = -EBADMSG;
	}
	att_state_free(&st);
	return r.rc;
}
