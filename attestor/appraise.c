// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "appraise.h"
#include "canonjson.h"
#include "diag.h"
#include "escape.h"
#include "golden.h"
#include "log.h"
#include "policy.h"
#include "registry.h"
#include "util.h"

/* ---- host allowlist ---- */

static int cmp32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

int att_allow_from_policy(const struct tcl_policy *p, struct att_allow *a)
{
	size_t k = 0;

	memset(a, 0, sizeof(*a));
	if (!p->n_allow)
		return 0;
	a->d = malloc(p->n_allow * sizeof(*a->d));
	if (!a->d)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_allow; i++)
		memcpy(a->d[i], p->allow[i].sha256, 32);
	qsort(a->d, p->n_allow, sizeof(*a->d), cmp32);
	for (size_t i = 0; i < p->n_allow; i++)
		if (!k || memcmp(a->d[k - 1], a->d[i], 32))
			memcpy(a->d[k++], a->d[i], 32);
	a->n = k;
	return 0;
}

bool att_allow_has(const struct att_allow *a, const uint8_t d[32])
{
	return a && a->n && bsearch(d, a->d, a->n, sizeof(*a->d), cmp32);
}

void att_allow_free(struct att_allow *a)
{
	free(a->d);
	memset(a, 0, sizeof(*a));
}

/* ---- helpers ---- */

/* snprintf that may truncate: reasons are bounded on purpose */
static void __attribute__((format(printf, 3, 4))) say(char *buf, size_t len, const char *fmt,
						      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* Each bank's digest fetched once: an implicit fetch per digest (EVP_sha256()) takes OpenSSL's
 * global locks, which showed up in profiles of 10,000-entry evidence.  One event loop, one
 * caller. */
static void bank_hash(enum tcl_log_alg bank, const void *p, size_t len, uint8_t *out)
{
	static EVP_MD *md[TCL_LOG_NR_ALGS];

	if (!md[bank])
		md[bank] = EVP_MD_fetch(NULL, tcl_log_alg_name(bank), NULL);
	if (md[bank])
		EVP_Digest(p, len, out, NULL, md[bank], NULL);
	else
		EVP_Digest(p, len, out, NULL, EVP_get_digestbyname(tcl_log_alg_name(bank)), NULL);
}

/* PCR_Extend in @bank: pcr = H(pcr || d) */
static void bank_extend(enum tcl_log_alg bank, uint8_t *pcr, const uint8_t *d)
{
	size_t dl = tcl_log_alg_size(bank);
	uint8_t buf[2 * TCL_LOG_DIGEST_MAX];

	memcpy(buf, pcr, dl);
	memcpy(buf + dl, d, dl);
	bank_hash(bank, buf, 2 * dl, pcr);
}

/* Parse the entry at @off; on failure res->error says where and why. */
static int entry_at(const uint8_t *log, size_t len, size_t off, uint64_t base,
		    struct tcl_log_entry *e, size_t *sz, struct att_appraise_res *res)
{
	const char *why = NULL;
	int rc = tcl_log_parse_entry(log + off, len - off, e, sz, &why);

	if (rc == -ENODATA)
		say(res->error, sizeof(res->error),
			 "log entry at offset %llu is incomplete (%zu bytes left)",
			 (unsigned long long)(base + off), len - off);
	else if (rc)
		say(res->error, sizeof(res->error), "log entry at offset %llu is malformed: %s",
			 (unsigned long long)(base + off), why ? why : "?");
	return rc ? -EBADMSG : 0;
}

static void digest_str(const struct tcl_log_entry *e, char *out, size_t cap)
{
	char hex[2 * TCL_LOG_DIGEST_MAX + 1];

	tcl_hex(e->digest, e->digest_len, hex);
	say(out, cap, "%s:%s", e->digest_algo, hex);
}

/* A parsed ima-buf record: the fields the attestor uses. */
struct record {
	struct json_object *o;
	const char *container_id, *image, *image_digest, *result, *golden_manifest, *keyid;
};

static const char *rec_str(struct json_object *o, const char *k, bool *bad)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v))
		return NULL;
	if (!json_object_is_type(v, json_type_string) ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v)) {
		*bad = true;
		return NULL;
	}
	/* the agent leaves empty values out; an empty one says nothing either */
	return json_object_get_string_len(v) ? json_object_get_string(v) : NULL;
}

/* 0 or -EINVAL with @why set.  The image reference, when present, must fit ATT_IMAGE_MAX. */
static int record_parse(const struct tcl_log_entry *e, struct record *r, const char **why)
{
	bool bad = false;

	memset(r, 0, sizeof(*r));
	if (e->buf_len > ATT_RECORD_MAX) {
		*why = "record larger than 64 KiB";
		return -EINVAL;
	}
	/* tcl_json_parse logs; a hostile node could make it log a lot, but only once per
	 * record it also pays a TPM extend for. */
	if (tcl_json_parse("ima-buf record", (const char *)e->buf, e->buf_len, ATT_RECORD_MAX,
			   &r->o) || !json_object_is_type(r->o, json_type_object)) {
		*why = "record is not a JSON object";
		goto bad;
	}
	r->container_id = rec_str(r->o, "container_id", &bad);
	r->image = rec_str(r->o, "image", &bad);
	r->image_digest = rec_str(r->o, "image_digest", &bad);
	r->result = rec_str(r->o, "result", &bad);
	r->golden_manifest = rec_str(r->o, "golden_manifest", &bad);
	r->keyid = rec_str(r->o, "keyid", &bad);
	if (bad) {
		*why = "a field is not a string";
		goto bad;
	}
	if (r->container_id && !att_container_id_valid(r->container_id)) {
		*why = "container_id is not [A-Za-z0-9_.-]{1,128}";
		goto bad;
	}
	if (r->image && strlen(r->image) > ATT_IMAGE_MAX) {
		*why = "image reference longer than 512 bytes";
		goto bad;
	}
	if (r->image_digest && !tcl_digest_valid(r->image_digest)) {
		*why = "image_digest is not sha256:<64 hex>";
		goto bad;
	}
	return 0;
bad:
	json_object_put(r->o);
	r->o = NULL;
	return -EINVAL;
}

static void record_free(struct record *r)
{
	json_object_put(r->o);
	r->o = NULL;
}

/* Split "<cid>:<path>"; false when the name is neither that nor "/path". */
static bool split_name(const char *name, char cid[ATT_CID_MAX + 1], const char **path)
{
	const char *colon;

	cid[0] = '\0';
	if (name[0] == '/') {
		*path = name;
		return true;
	}
	colon = strchr(name, ':');
	if (!colon || colon == name || colon - name > ATT_CID_MAX || colon[1] != '/')
		return false;
	memcpy(cid, name, colon - name);
	cid[colon - name] = '\0';
	*path = colon + 1;
	return att_container_id_valid(cid);
}

/* ---- per evidence ---- */

/* What one evidence knows about a container's golden manifest. */
struct cgold {
	const struct tcl_golden *g;
	const char *keyid;
	int rc;
	char err[ATT_REASON_MAX];
};

struct run {
	const struct att_appraise_cfg *cfg;
	struct att_node *n;
	const uint8_t *log;
	uint64_t base;
	int64_t now;
	const uint8_t *pcr0_9;
	struct att_appraise_res *res;
	struct tcl_map gold;		/* image digest -> struct cgold, for this evidence */
	int rc;				/* -ENOMEM while appraising */
};

static void cgold_free(void *p)
{
	free(p);
}

static struct cgold *gold_of(struct run *r, const char *image, const char *digest)
{
	struct cgold *cg = tcl_map_get(&r->gold, digest);

	if (cg)
		return cg;
	cg = calloc(1, sizeof(*cg));
	if (!cg || tcl_map_put(&r->gold, digest, cg)) {
		free(cg);
		return NULL;
	}
	cg->rc = r->cfg->golden ? r->cfg->golden(r->cfg->golden_arg, image ? image : "", digest,
						 &cg->g, &cg->keyid, cg->err, sizeof(cg->err))
				: -ENOENT;
	if (!r->cfg->golden)
		say(cg->err, sizeof(cg->err), "no registry configured");
	return cg;
}

static void node_find(struct run *r, uint64_t off, const char *name, const char *digest,
		      const char *reason)
{
	if (att_node_finding(r->n, r->base + off, r->now, name, digest, reason))
		r->rc = -ENOMEM;
	r->res->findings++;
}

static void cont_find(struct run *r, struct att_container *c, uint64_t off, const char *name,
		      const char *digest, const char *reason)
{
	if (att_container_finding(r->n, c, r->base + off, r->now, name, digest, reason))
		r->rc = -ENOMEM;
	r->res->findings++;
}

/* The golden manifest of container @c's image; NULL when there is none to appraise with: the
 * image is not verified (a finding of the entry at @off, "<@unverified><why>"), or out of memory
 * (r->rc). */
static struct cgold *cont_gold(struct run *r, struct att_container *c, uint64_t off,
			       const char *name, const char *digest, const char *unverified)
{
	struct cgold *cg = gold_of(r, c->image, c->image_digest);
	char why[ATT_REASON_MAX];

	if (!cg) {
		r->rc = -ENOMEM;
		return NULL;
	}
	if (cg->rc) {
		say(why, sizeof(why), "%s%s", unverified, cg->err);
		cont_find(r, c, off, name, digest, why);
		return NULL;
	}
	return cg;
}

static void on_file(struct run *r, const struct tcl_log_entry *e, uint64_t off)
{
	char cid[ATT_CID_MAX + 1], dg[16 + 2 * TCL_LOG_DIGEST_MAX], why[ATT_REASON_MAX];
	const char *path;
	struct att_container *c;
	struct cgold *cg;

	digest_str(e, dg, sizeof(dg));
	if (!strcmp(e->name, "boot_aggregate")) {
		uint8_t agg[32];

		if (r->base + off != 0) {
			node_find(r, off, e->name, dg, "boot_aggregate after the start of the log");
			return;
		}
		r->n->mode = ATT_MODE_UNKNOWN;	/* a new log: no agent_start seen yet */
		if (r->pcr0_9) {
			tcl_log_boot_aggregate((const uint8_t (*)[32])r->pcr0_9, agg);
			if (e->digest_len != 32 || strcmp(e->digest_algo, "sha256") ||
			    memcmp(agg, e->digest, 32))
				node_find(r, off, e->name, dg,
					  "boot_aggregate does not match the quoted PCRs 0-9");
		}
		return;
	}
	if (r->base + off == 0)
		node_find(r, off, e->name, dg, "the log does not start with boot_aggregate");
	if (!split_name(e->name, cid, &path)) {
		node_find(r, off, e->name, dg,
			  "entry name is neither /PATH nor <container-id>:/PATH");
		return;
	}
	if (strcmp(e->digest_algo, "sha256") || e->digest_len != 32) {
		node_find(r, off, e->name, dg, "file digest is not sha256: cannot be appraised");
		return;
	}
	if (!cid[0]) {
		if (!r->cfg->host_allow) {
			r->n->unappraised++;
			r->res->unappraised++;
		} else if (!att_allow_has(r->cfg->host_allow, e->digest)) {
			node_find(r, off, path, dg, "host file is not in the host allowlist");
		}
		return;
	}
	c = att_container_get(r->n, cid);
	if (!c) {
		/* the runtime (runc init) runs in the container's cgroup before the start is
		 * recorded: only the host allowlist can vouch for it */
		if (att_allow_has(r->cfg->host_allow, e->digest))
			return;
		say(why, sizeof(why), "file entry for container %s, which has no "
			 "container_start before it", cid);
		node_find(r, off, path, dg, why);
		return;
	}
	c->files++;
	if (att_allow_has(r->cfg->host_allow, e->digest))
		return;
	if (!c->image_digest[0]) {
		cont_find(r, c, off, path, dg, "executed in a container with no image digest");
		return;
	}
	cg = cont_gold(r, c, off, path, dg,
		       "executed in a container whose image is not verified: ");
	if (!cg)
		return;
	if (!tcl_golden_has_digest(cg->g, e->digest)) {
		say(why, sizeof(why), "not in the golden manifest of %s@%s", c->image,
			 c->image_digest);
		cont_find(r, c, off, path, dg, why);
	}
}

static void on_start(struct run *r, const struct record *rec, uint64_t off, const char *dg)
{
	struct att_container *c = NULL;
	char why[ATT_REASON_MAX];
	struct cgold *cg;
	int rc;

	if (!rec->container_id) {
		node_find(r, off, "container_start", dg, "container_start without container_id");
		return;
	}
	rc = att_container_add(r->n, rec->container_id, &c);
	if (rc) {
		say(why, sizeof(why), "container %s: %s", rec->container_id,
			 rc == -ENOSPC ? "too many containers on this node" : strerror(-rc));
		node_find(r, off, "container_start", dg, why);
		return;
	}
	if (c->started && (strcmp(c->image_digest, rec->image_digest ? rec->image_digest : "") ||
			   strcmp(c->image, rec->image ? rec->image : ""))) {
		cont_find(r, c, off, "container_start", dg,
			  "a second container_start names another image");
		return;
	}
	say(c->image, sizeof(c->image), "%s", rec->image ? rec->image : "");
	say(c->image_digest, sizeof(c->image_digest), "%s",
		 rec->image_digest ? rec->image_digest : "");
	if (!c->started) {
		c->start_offset = r->base + off;
		c->started = r->now;
	}
	c->stopped = false;
	if (!rec->image_digest) {
		cont_find(r, c, off, "container_start", dg,
			  "container_start has no image_digest: the image cannot be appraised");
		return;
	}
	say(why, sizeof(why), "image %s@%s is not verified: ", c->image, c->image_digest);
	cg = cont_gold(r, c, off, "container_start", dg, why);
	if (!cg)
		return;
	say(c->golden_sha256, sizeof(c->golden_sha256), "%s", cg->g->sha256);
	say(c->golden_keyid, sizeof(c->golden_keyid), "%s", cg->keyid ? cg->keyid : "");
}

static void on_verify(struct run *r, const struct record *rec, uint64_t off, const char *dg)
{
	struct att_container *c = rec->container_id ? att_container_get(r->n, rec->container_id)
						    : NULL;
	char why[ATT_REASON_MAX];
	struct cgold *cg;

	if (!rec->image_digest || !rec->result) {
		node_find(r, off, "image_verify", dg, "image_verify without image_digest or result");
		return;
	}
	if (strcmp(rec->result, "verified"))
		return;		/* a refusal: the container never ran */
	cg = gold_of(r, rec->image, rec->image_digest);
	if (!cg) {
		r->rc = -ENOMEM;
		return;
	}
	why[0] = '\0';
	if (cg->rc)
		say(why, sizeof(why), "the node verified %s@%s, the attestor cannot: %s",
			 rec->image ? rec->image : "", rec->image_digest, cg->err);
	else if (rec->golden_manifest && strcmp(rec->golden_manifest, cg->g->sha256))
		say(why, sizeof(why), "the node verified %s against golden manifest %.64s, "
			 "the registry's is %s", rec->image_digest, rec->golden_manifest,
			 cg->g->sha256);
	else if (rec->keyid && cg->keyid && strcmp(rec->keyid, cg->keyid))
		say(why, sizeof(why), "the node says key %.64s signed the golden manifest "
			 "of %s, the attestor found key %s", rec->keyid, rec->image_digest,
			 cg->keyid);
	if (!why[0])
		return;
	if (c)
		cont_find(r, c, off, "image_verify", dg, why);
	else
		node_find(r, off, "image_verify", dg, why);
}

/* records_lost: the node's kernel or agent could not log some records, so whatever they
 * measured (what ran) may be missing from the log.  A node finding whatever the record says:
 * even a malformed one admits a gap. */
static void on_lost(struct run *r, const struct tcl_log_entry *e, uint64_t off, const char *dg)
{
	struct json_object *o = NULL, *v;
	const char *src = NULL;
	char why[ATT_REASON_MAX];
	int64_t count = 0;

	if (e->buf_len <= ATT_RECORD_MAX &&
	    !tcl_json_parse("records_lost record", (const char *)e->buf, e->buf_len,
			    ATT_RECORD_MAX, &o) && json_object_is_type(o, json_type_object)) {
		if (json_object_object_get_ex(o, "count", &v) &&
		    json_object_is_type(v, json_type_int))
			count = json_object_get_int64(v);
		if (json_object_object_get_ex(o, "source", &v) &&
		    json_object_is_type(v, json_type_string))
			src = json_object_get_string(v);
	}
	if (src && strcmp(src, "kernel") && strcmp(src, "agent"))
		src = NULL;
	if (count > 0 && src)
		say(why, sizeof(why), "incomplete log: %lld records lost (%s): what ran may be "
		    "missing", (long long)count, !strcmp(src, "kernel") ?
		    "by the kernel, ring buffer full" : "by the agent, measurement queue full");
	else
		say(why, sizeof(why), "incomplete log: records lost (malformed records_lost "
		    "record): what ran may be missing");
	node_find(r, off, e->name, dg, why);
	json_object_put(o);
}

/* agent_start: the agent's enforcement mode from here on ("enforce" or "audit"; anything else,
 * or a record that does not parse, reads as unknown: not enforce). */
static void on_agent_start(struct run *r, const struct tcl_log_entry *e)
{
	struct json_object *o = NULL, *v;
	const char *mode = NULL;

	if (e->buf_len <= ATT_RECORD_MAX &&
	    !tcl_json_parse("agent_start record", (const char *)e->buf, e->buf_len,
			    ATT_RECORD_MAX, &o) && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "mode", &v) && json_object_is_type(v, json_type_string))
		mode = json_object_get_string(v);
	r->n->mode = mode && !strcmp(mode, "enforce") ? ATT_MODE_ENFORCE :
		     mode && !strcmp(mode, "audit") ? ATT_MODE_AUDIT : ATT_MODE_UNKNOWN;
	json_object_put(o);
}

/* exec_refused: the kernel refused to run a file (docs/measurement-log.md).  Nothing ran, so
 * under enforce mode it is a refusal of the container's (the container is untrusted, its node
 * is not); outside enforce mode, on the host, or malformed, the log cannot show that nothing
 * ran: a node finding. */
static void on_refused(struct run *r, const struct tcl_log_entry *e, uint64_t off, const char *dg)
{
	const char *cid = NULL, *digest = NULL, *path = NULL, *hook = NULL, *reason = NULL;
	char why[ATT_REASON_MAX], name[ATT_REFUSED_NAME_MAX + 1], esc[256];
	struct att_container *c = NULL;
	struct json_object *o = NULL;
	const char *w = NULL;
	bool bad = false;
	int rc;

	if (e->buf_len > ATT_RECORD_MAX ||
	    tcl_json_parse("exec_refused record", (const char *)e->buf, e->buf_len, ATT_RECORD_MAX,
			   &o) || !json_object_is_type(o, json_type_object)) {
		w = "record is not a JSON object";
	} else {
		cid = rec_str(o, "container_id", &bad);
		digest = rec_str(o, "digest", &bad);
		path = rec_str(o, "path", &bad);
		hook = rec_str(o, "hook", &bad);
		reason = rec_str(o, "reason", &bad);
		if (bad)
			w = "a field is not a string";
		else if (!digest || !tcl_digest_valid(digest))
			w = "digest is not sha256:<64 hex>";
		else if (!path)
			w = "no path";
		else if (cid && !att_container_id_valid(cid))
			w = "container_id is not [A-Za-z0-9_.-]{1,128}";
	}
	if (w) {
		say(why, sizeof(why), "malformed exec_refused record: %s", w);
		node_find(r, off, e->name, dg, why);
		goto out;
	}
	tcl_esc_utf8(path, strlen(path), name, sizeof(name));
	if (!cid) {
		say(why, sizeof(why), "host process: %s refused (%s): foreign code was tried "
		    "outside any container", hook ? hook : "exec", reason ? reason : "?");
		node_find(r, off, name, digest, why);
		goto out;
	}
	if (r->n->mode != ATT_MODE_ENFORCE) {
		say(why, sizeof(why), "container %s: %s refused (%s) while the agent's mode is %s, "
		    "not enforce: the log cannot show that it did not run", cid,
		    hook ? hook : "exec", reason ? reason : "?", att_mode_name(r->n->mode));
		node_find(r, off, name, digest, why);
		goto out;
	}
	rc = att_container_add(r->n, cid, &c);
	if (rc) {
		say(why, sizeof(why), "container %s: %s", cid,
		    rc == -ENOSPC ? "too many containers on this node" : strerror(-rc));
		node_find(r, off, name, digest, why);
		goto out;
	}
	say(why, sizeof(why), "%s refused by the kernel (enforce mode): %s", hook ? hook : "exec",
	    reason ? reason : "not allowed");
	if (att_container_refusal(c, r->base + off, r->now, name, digest, why))
		r->rc = -ENOMEM;
	r->res->refusals++;
	if (c->refusals.total <= ATT_FINDINGS_KEPT)
		pr_warn("alert", "node %s container %s: %s of %s (%s) refused%s", r->n->id, cid,
			hook ? hook : "exec", tcl_esc_log(name, esc, sizeof(esc)), digest,
			c->refusals.total == ATT_FINDINGS_KEPT ? "; further refusals in this "
			"container are counted, not logged" : "");
out:
	json_object_put(o);
}

static void on_buf(struct run *r, const struct tcl_log_entry *e, uint64_t off)
{
	char dg[16 + 2 * TCL_LOG_DIGEST_MAX], why[ATT_REASON_MAX];
	const char *w = NULL;
	struct record rec;
	bool start = !strcmp(e->name, "container_start");
	bool stop = !strcmp(e->name, "container_stop");
	bool verify = !strcmp(e->name, "image_verify");

	if (!strcmp(e->name, "records_lost")) {
		digest_str(e, dg, sizeof(dg));
		on_lost(r, e, off, dg);
		return;
	}
	if (!strcmp(e->name, "agent_start")) {
		on_agent_start(r, e);
		return;
	}
	if (!strcmp(e->name, "exec_refused")) {
		digest_str(e, dg, sizeof(dg));
		on_refused(r, e, off, dg);
		return;
	}
	if (!start && !stop && !verify)
		return;
	digest_str(e, dg, sizeof(dg));
	if (record_parse(e, &rec, &w)) {
		say(why, sizeof(why), "malformed %s record: %s", e->name, w);
		node_find(r, off, e->name, dg, why);
		return;
	}
	if (start) {
		on_start(r, &rec, off, dg);
	} else if (stop) {
		struct att_container *c = rec.container_id ?
			att_container_get(r->n, rec.container_id) : NULL;

		if (c)
			c->stopped = true;
	} else {
		on_verify(r, &rec, off, dg);
	}
	record_free(&rec);
}

/* A parsed entry of this evidence; the pointers in it point into the evidence's log. */
struct ent {
	struct tcl_log_entry e;
	size_t off;
};

/* One manifest prefetch needs: 0 (cached, or a lasting failure the appraisal reports), -ENOMEM,
 * -EAGAIN (unreachable: the evidence is refused); being fetched sets *pending = -EINPROGRESS. */
static int want_gold(struct run *r, const char *image, const char *digest, int *pending)
{
	struct cgold *cg = gold_of(r, image, digest);

	if (!cg)
		return -ENOMEM;
	if (cg->rc == -EAGAIN) {
		say(r->res->error, sizeof(r->res->error), "%s", cg->err);
		return -EAGAIN;
	}
	if (cg->rc == -EINPROGRESS && !*pending) {
		say(r->res->error, sizeof(r->res->error), "%s", cg->err);
		*pending = -EINPROGRESS;
	}
	return 0;
}

/* Golden manifests the accepted prefix needs (images of the containers it starts, verifies or
 * runs files in), fetched before anything changes, so that an unreachable registry refuses the
 * evidence as a whole, and one that is still being fetched (-EINPROGRESS, every missing one
 * asked for) leaves the node as it was for a later try. */
static int prefetch(struct run *r, const struct ent *ents, size_t n)
{
	char cid[ATT_CID_MAX + 1];
	const struct att_container *c;
	const char *w, *path;
	struct record rec;
	int rc = 0, pending = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		const struct tcl_log_entry *e = &ents[i].e;

		if (!e->buf) {
			/* a file of a container that an earlier evidence started */
			if (!split_name(e->name, cid, &path) || !cid[0])
				continue;
			c = att_container_get(r->n, cid);
			if (c && c->image_digest[0])
				rc = want_gold(r, c->image, c->image_digest, &pending);
			continue;
		}
		if (strcmp(e->name, "container_start") && strcmp(e->name, "image_verify"))
			continue;
		if (record_parse(e, &rec, &w))
			continue;
		if (rec.image_digest)
			rc = want_gold(r, rec.image, rec.image_digest, &pending);
		record_free(&rec);
	}
	return rc ? rc : pending;
}

int att_appraise(const struct att_appraise_cfg *cfg, struct att_node *n, const uint8_t *log,
		 size_t len, const uint8_t *quoted, const uint8_t *pcr0_9, int64_t now,
		 struct att_appraise_res *res)
{
	enum tcl_log_alg bank = cfg->bank;
	size_t dl = tcl_log_alg_size(bank);
	struct run r = { .cfg = cfg, .n = n, .log = log, .base = n->log_offset, .now = now,
			 .pcr0_9 = pcr0_9, .res = res };
	size_t off = 0, sz, count = 0, cap = 0, match_len = 0;
	struct ent *ents = NULL;
	struct tcl_log_entry e;
	uint8_t d[TCL_LOG_DIGEST_MAX];
	bool matched;
	char qh[2 * TCL_LOG_DIGEST_MAX + 1], rh[2 * TCL_LOG_DIGEST_MAX + 1];
	int rc;

	memset(res, 0, sizeof(*res));
	if (!dl) {
		say(res->error, sizeof(res->error), "unknown PCR bank %d", (int)bank);
		return -EINVAL;
	}
	if (n->log_offset && bank != n->pcr_bank) {
		say(res->error, sizeof(res->error), "the log of this node was replayed in the %s "
		    "bank up to offset %llu: a quote over the %s bank cannot continue it",
		    tcl_log_alg_name(n->pcr_bank), (unsigned long long)n->log_offset,
		    tcl_log_alg_name(bank));
		return -EXDEV;
	}
	/* a log that starts here starts from a zero PCR in the bank asked for */
	if (!n->log_offset)
		memset(res->pcr, 0, sizeof(res->pcr));
	else
		memcpy(res->pcr, n->pcr, dl);
	matched = !memcmp(res->pcr, quoted, dl);
	/* one parse per entry (it checks the template SHA-1); the entries are kept for the
	 * appraisal passes, pointing into @log */
	while (!matched && off < len) {
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct ent *ne;

			if (ncap > cfg->max_entries + 1)
				ncap = cfg->max_entries + 1;
			ne = realloc(ents, ncap * sizeof(*ents));
			if (!ne) {
				rc = -ENOMEM;
				say(res->error, sizeof(res->error), "out of memory");
				goto out;
			}
			ents = ne;
			cap = ncap;
		}
		rc = entry_at(log, len, off, r.base, &ents[count].e, &sz, res);
		if (rc)
			goto out;
		ents[count].off = off;
		if (++count > cfg->max_entries) {
			say(res->error, sizeof(res->error),
			    "more than %zu log entries in one evidence", cfg->max_entries);
			rc = -E2BIG;
			goto out;
		}
		if (ents[count - 1].e.pcr != cfg->pcr) {
			say(res->error, sizeof(res->error),
			    "log entry at offset %llu extends PCR %u, not PCR %u",
			    (unsigned long long)(r.base + off), ents[count - 1].e.pcr, cfg->pcr);
			rc = -EBADMSG;
			goto out;
		}
		/* each bank is extended with its own hash of the template data, as IMA does */
		bank_hash(bank, ents[count - 1].e.data, ents[count - 1].e.data_len, d);
		bank_extend(bank, res->pcr, d);
		off += sz;
		if (!memcmp(res->pcr, quoted, dl)) {
			matched = true;
			match_len = off;
		}
	}
	if (!matched) {
		tcl_hex(res->pcr, dl, rh);
		tcl_hex(quoted, dl, qh);
		say(res->error, sizeof(res->error),
		    "the log from offset %llu (%zu entries) replays PCR %u to %s, the quote "
		    "says %s", (unsigned long long)r.base, count, cfg->pcr, rh, qh);
		rc = -EILSEQ;
		goto out;
	}
	/* what comes after the quoted prefix: complete entries the next evidence will carry */
	for (off = match_len; off < len && res->pending_entries < cfg->max_entries; off += sz) {
		if (tcl_log_parse_entry(log + off, len - off, &e, &sz, NULL))
			break;
		res->pending_entries++;
	}
	rc = prefetch(&r, ents, count);
	if (rc)
		goto out;
	for (size_t i = 0; i < count && !r.rc; i++) {
		if (ents[i].e.buf)
			on_buf(&r, &ents[i].e, ents[i].off);
		else
			on_file(&r, &ents[i].e, ents[i].off);
	}
	if (r.rc) {
		rc = r.rc;
		say(res->error, sizeof(res->error), "out of memory while appraising");
		goto out;
	}
	res->accepted_len = match_len;
	res->accepted_entries = count;
	n->log_offset += match_len;
	n->log_entries += count;
	memset(n->pcr, 0, sizeof(n->pcr));
	memcpy(n->pcr, quoted, dl);
	n->pcr_bank = bank;
	rc = 0;
out:
	free(ents);
	tcl_map_free(&r.gold, cgold_free);
	return rc;
}
