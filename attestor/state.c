// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/rand.h>

#include "hexb64.h"
#include "jsonb.h"
#include "canonjson.h"
#include "diag.h"
#include "state.h"
#include "tpm.h"
#include "util.h"

const char *att_verdict_name(enum att_verdict v)
{
	switch (v) {
	case ATT_TRUSTED:
		return "trusted";
	case ATT_UNTRUSTED:
		return "untrusted";
	case ATT_STALE:
		return "stale";
	default:
		return "unknown";
	}
}

int64_t att_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

int64_t att_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t att_mono(void)
{
	return att_mono_ms() / 1000;
}

bool att_node_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > ATT_NODE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && ((c != '-' && c != '.') || i == 0 || i == n - 1))
			return false;
	}
	return true;
}

bool att_container_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > ATT_CID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* ---- findings ---- */

static void finding_free(struct att_finding *f)
{
	free(f->name);
	free(f->digest);
	free(f->container_id);
	free(f->reason);
}

void att_findings_free(struct att_findings *f)
{
	for (size_t i = 0; i < f->n; i++)
		finding_free(&f->v[i]);
	free(f->v);
	memset(f, 0, sizeof(*f));
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

int att_finding_add(struct att_findings *f, uint64_t offset, int64_t now, const char *name,
		    const char *digest, const char *container_id, const char *reason)
{
	struct att_finding x = { .offset = offset, .time = now };

	f->total++;
	if (f->n >= ATT_FINDINGS_KEPT)
		return 0;
	if (!f->v) {
		f->v = calloc(ATT_FINDINGS_KEPT, sizeof(*f->v));
		if (!f->v)
			return -ENOMEM;
	}
	if (dup_opt(name, &x.name) || dup_opt(digest, &x.digest) ||
	    dup_opt(container_id, &x.container_id) || dup_opt(reason ? reason : "?", &x.reason)) {
		finding_free(&x);
		return -ENOMEM;
	}
	f->v[f->n++] = x;
	return 0;
}

int att_node_finding(struct att_node *n, uint64_t offset, int64_t now, const char *name,
		     const char *digest, const char *reason)
{
	return att_finding_add(&n->findings, offset, now, name, digest, NULL, reason);
}

int att_container_finding(struct att_node *n, struct att_container *c, uint64_t offset,
			  int64_t now, const char *name, const char *digest, const char *reason)
{
	if (!c->findings.total)
		n->untrusted_containers++;
	return att_finding_add(&c->findings, offset, now, name, digest, c->id, reason);
}

/* ---- nodes and containers ---- */

static void container_free(void *p)
{
	struct att_container *c = p;

	att_findings_free(&c->findings);
	free(c);
}

static void node_free(void *p)
{
	struct att_node *n = p;

	if (!n)
		return;
	att_findings_free(&n->findings);
	tcl_map_free(&n->containers, container_free);
	free(n->ak_pem);
	free(n);
}

struct att_node *att_node_get(struct att_state *st, const char *id)
{
	return tcl_map_get(&st->nodes, id);
}

int att_node_get_or_add(struct att_state *st, const char *id, size_t max, struct att_node **out)
{
	struct att_node *n = tcl_map_get(&st->nodes, id);
	int rc;

	*out = n;
	if (n)
		return 0;
	if (!att_node_id_valid(id))
		return -EINVAL;
	if (st->nodes.n >= max)
		return -ENOSPC;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	strcpy(n->id, id);
	strcpy(n->ek_cert, "none");
	rc = tcl_map_put(&st->nodes, id, n);
	if (rc) {
		free(n);
		return rc;
	}
	*out = n;
	return 0;
}

void att_node_remove(struct att_state *st, const char *id)
{
	node_free(tcl_map_del(&st->nodes, id));
}

void att_node_reset_log(struct att_node *n)
{
	n->have_reset_count = false;
	n->reset_count = 0;
	n->log_offset = 0;
	n->log_entries = 0;
	memset(n->pcr, 0, sizeof(n->pcr));
	n->last_evidence = 0;
	n->unappraised = 0;
	att_findings_free(&n->findings);
	tcl_map_free(&n->containers, container_free);
	n->untrusted_containers = 0;
	memset(n->nonces, 0, sizeof(n->nonces));
}

int att_node_set_ak(struct att_node *n, const uint8_t *pub, size_t len)
{
	uint8_t name[TCL_TPM_NAME_MAX];
	size_t nl = sizeof(name);
	char *pem = NULL;
	int rc;

	if (len > sizeof(n->ak_pub))
		return -EFBIG;
	rc = tcl_tpm_ak_check_sw(pub, len, name, &nl);
	if (!rc)
		rc = tcl_tpm_pub_pem_sw(pub, len, &pem);
	if (rc)
		return rc;
	memcpy(n->ak_pub, pub, len);
	n->ak_pub_len = len;
	free(n->ak_pem);
	n->ak_pem = pem;
	tcl_hex(name, nl, n->ak_name);
	return 0;
}

struct att_container *att_container_get(struct att_node *n, const char *id)
{
	return tcl_map_get(&n->containers, id);
}

struct victim {
	struct att_container *c;
};

static void pick_victim(void *val, void *arg)
{
	struct att_container *c = val;
	struct victim *v = arg;

	/* A stopped container whose verdict carries no finding: nothing is lost with it. */
	if (!c->stopped || c->findings.total)
		return;
	if (!v->c || c->start_offset < v->c->start_offset)
		v->c = c;
}

int att_container_add(struct att_node *n, const char *id, struct att_container **out)
{
	struct att_container *c = tcl_map_get(&n->containers, id);
	int rc;

	*out = c;
	if (c)
		return 0;
	if (!att_container_id_valid(id))
		return -EINVAL;
	if (n->containers.n >= ATT_CONTAINERS_MAX) {
		struct victim v = { NULL };

		tcl_map_each(&n->containers, pick_victim, &v);
		if (!v.c)
			return -ENOSPC;
		container_free(tcl_map_del(&n->containers, v.c->id));
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	strcpy(c->id, id);
	rc = tcl_map_put(&n->containers, id, c);
	if (rc) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* ---- verdicts ---- */

struct first_bad {
	const struct att_container *c;
};

static void find_bad(void *val, void *arg)
{
	const struct att_container *c = val;
	struct first_bad *b = arg;

	if (c->findings.n && (!b->c || c->findings.v[0].time < b->c->findings.v[0].time ||
				  (c->findings.v[0].time == b->c->findings.v[0].time &&
				   strcmp(c->id, b->c->id) < 0)))
		b->c = c;
}

enum att_verdict att_node_verdict(const struct att_node *n, int64_t now, int64_t stale_after,
				  const char **reason, char *buf, size_t buflen)
{
	const char *r;
	enum att_verdict v;

	if (n->findings.total) {
		v = ATT_UNTRUSTED;
		r = n->findings.n ? n->findings.v[0].reason : "findings";
	} else if (n->untrusted_containers) {
		struct first_bad b = { NULL };

		tcl_map_each(&n->containers, find_bad, &b);
		v = ATT_UNTRUSTED;
		if (b.c && b.c->findings.n) {
			snprintf(buf, buflen, "container %s: %s", b.c->id,
				 b.c->findings.v[0].reason);
			r = buf;
		} else {
			r = "a container is untrusted";
		}
	} else if (!n->enrolled) {
		v = ATT_UNKNOWN;
		r = "not enrolled";
	} else if (!n->last_evidence) {
		v = ATT_UNKNOWN;
		r = "no evidence accepted yet";
	} else if (stale_after > 0 && now - n->last_evidence > stale_after) {
		v = ATT_STALE;
		snprintf(buf, buflen, "last evidence %" PRId64 " s ago (stale after %" PRId64 " s)",
			 now - n->last_evidence, stale_after);
		r = buf;
	} else {
		v = ATT_TRUSTED;
		r = "";
	}
	if (reason)
		*reason = r;
	return v;
}

enum att_verdict att_container_verdict(const struct att_node *n, const struct att_container *c,
				       int64_t now, int64_t stale_after, char *buf, size_t buflen)
{
	const char *r;
	char nb[ATT_REASON_MAX + 64];
	enum att_verdict v;

	if (c->findings.total) {
		snprintf(buf, buflen, "%s", c->findings.n ? c->findings.v[0].reason : "findings");
		return ATT_UNTRUSTED;
	}
	v = att_node_verdict(n, now, stale_after, &r, nb, sizeof(nb));
	switch (v) {
	case ATT_UNTRUSTED:
		snprintf(buf, buflen, "node %s is untrusted: %s", n->id, r);
		break;
	case ATT_STALE:
		snprintf(buf, buflen, "node %s: %s", n->id, r);
		break;
	case ATT_UNKNOWN:
		snprintf(buf, buflen, "node %s: %s", n->id, r);
		break;
	default:
		buf[0] = '\0';
	}
	return v;
}

/* ---- JSON ---- */

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
	if (rc) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *node_obj(const struct att_node *n, bool api)
{
	struct json_object *o = json_object_new_object(), *cs = json_object_new_array();
	char pcr[65];
	void **vals = NULL;
	size_t nc = 0;
	int rc = 0;

	if (!o || !cs || tcl_map_sorted(&n->containers, &vals, &nc))
		goto fail;
	tcl_hex(n->pcr, sizeof(n->pcr), pcr);
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
	if (!rc)
		rc = tcl_canon_json(o, out, len);
out:
	free(vals);
	json_object_put(ns);
	json_object_put(o);
	return rc;
}

/* ---- loading ---- */

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
	"findings_total", NULL };
static const char *const node_keys[] = { "id", "enrolled_at", "ak_pub", "ak_name", "ek_sha256",
	"ek_cert", "tls_sha256", "reset_count", "log_offset", "log_entries", "pcr",
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

static void load_findings(struct rd *r, struct json_object *o, struct att_findings *f)
{
	struct json_object *a = want(r, o, "findings", json_type_array, true);
	size_t n = a ? json_object_array_length(a) : 0;
	int64_t total = get_int(r, o, "findings_total", 0, INT64_MAX);

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
	load_findings(r, x, &c->findings);
	if (c->findings.total)
		n->untrusted_containers++;
}

static void load_node(struct rd *r, struct json_object *x, struct att_state *st)
{
	struct json_object *v, *cs;
	struct att_node *n = NULL;
	char id[ATT_NODE_ID_MAX + 1], what[ATT_NODE_ID_MAX + 32], pcr[65];
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
	get_str(r, x, "pcr", pcr, sizeof(pcr), 64, false);
	if (!r->rc && tcl_unhex(pcr, n->pcr, 32))
		r->rc = -EBADMSG;
	n->last_evidence = get_int(r, x, "last_evidence", 0, INT64_MAX);
	n->evidence_ok = (uint64_t)get_int(r, x, "evidence_ok", 0, INT64_MAX);
	n->evidence_failed = (uint64_t)get_int(r, x, "evidence_failed", 0, INT64_MAX);
	n->unappraised = (uint64_t)get_int(r, x, "unappraised", 0, INT64_MAX);
	load_findings(r, x, &n->findings);
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
		static const char *const top[] = { "version", "nodes", NULL };

		only_keys(&r, o, top);
	}
	if (get_int(&r, o, "version", 1, 1) != 1 && !r.rc) {
		r.rc = -EBADMSG;
	}
	ns = want(&r, o, "nodes", json_type_array, true);
	for (size_t i = 0; ns && i < json_object_array_length(ns) && !r.rc; i++)
		load_node(&r, json_object_array_get_idx(ns, i), st);
out:
	json_object_put(o);
	if (r.rc)	/* all or nothing */
		tcl_map_free(&st->nodes, node_free);
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
	pr_info("state", "loaded %zu enrolled nodes from %s", st->nodes.n, path);
	return 0;
}

int att_state_save(struct att_state *st)
{
	char *buf = NULL;
	size_t len;
	int rc;

	if (!st->path) {
		st->dirty = false;
		return 0;
	}
	rc = att_state_to_json(st, &buf, &len);
	if (!rc)
		rc = tcl_write_file_atomic(st->path, buf, len, 0600);
	free(buf);
	if (rc) {
		pr_err("state", "cannot write %s: %s", st->path, strerror(-rc));
		return rc;
	}
	st->dirty = false;
	return 0;
}

void att_state_free(struct att_state *st)
{
	tcl_map_free(&st->nodes, node_free);
	free(st->path);
	st->path = NULL;
}

/* ---- nonces ---- */

int att_nonce_issue(struct att_node *n, int64_t now_ms, int64_t ttl_ms,
		    const uint8_t prefix[ATT_NONCE_PREFIX], uint8_t out[ATT_NONCE_LEN])
{
	struct att_nonce *slot = NULL;

	/* A free slot, else the one that expires first: expired nonces stay as long as possible
	 * so that a late answer is told "expired" rather than "unknown". */
	for (size_t i = 0; i < ATT_NONCES && !slot; i++)
		if (!n->nonces[i].expires)
			slot = &n->nonces[i];
	if (!slot) {
		slot = &n->nonces[0];
		for (size_t i = 1; i < ATT_NONCES; i++)
			if (n->nonces[i].expires < slot->expires)
				slot = &n->nonces[i];
	}
	memcpy(slot->v, prefix, ATT_NONCE_PREFIX);
	if (RAND_bytes(slot->v + ATT_NONCE_PREFIX, ATT_NONCE_LEN - ATT_NONCE_PREFIX) != 1)
		return -EIO;
	slot->expires = now_ms + ttl_ms;
	memcpy(out, slot->v, ATT_NONCE_LEN);
	return 0;
}

int att_nonce_take(struct att_node *n, const uint8_t nonce[ATT_NONCE_LEN], int64_t now_ms)
{
	for (size_t i = 0; i < ATT_NONCES; i++) {
		struct att_nonce *s = &n->nonces[i];
		int rc;

		if (!s->expires || memcmp(s->v, nonce, ATT_NONCE_LEN))
			continue;
		rc = s->expires <= now_ms ? -ETIME : 0;
		memset(s, 0, sizeof(*s));
		return rc;
	}
	return -ENOENT;
}
