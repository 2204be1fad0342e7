// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "api.h"
#include "canonjson.h"
#include "hexb64.h"
#include "jsonb.h"
#include "diag.h"
#include "evidence.h"
#include "filter.h"
#include "policy.h"
#include "protocol.h"
#include "revoke.h"
#include "server.h"
#include "tpm.h"
#include "util.h"

#define SUB "api"
#define AFFECTED_MAX 1000	/* containers listed by GET /v1/revocations/{id}/affected */

struct ctx {
	struct att_api *a;
	struct evhttp_request *req;
	enum att_route route;
	int status;
	const char *body;
	size_t blen;
	struct att_peer peer;
	bool has_peer;
	bool parked;		/* answered later (struct parked) */
};

/* Evidence whose appraisal waits for golden manifests being fetched: the request is kept (an
 * evhttp request lives until it is answered, even when its connection closed) and answered
 * when the fetches have finished. */
struct parked {
	struct att_gc_waiter w;		/* first */
	struct att_api *a;
	struct evhttp_request *req;
	struct att_evidence_job *job;
	char id[ATT_NODE_ID_MAX + 2];
	double t0;
	struct parked *next, **pprev;
};

/* ---- replies ---- */

static const char *phrase(int code)
{
	switch (code) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 507: return "Insufficient Storage";
	case 503: return "Service Unavailable";
	default: return code >= 500 ? "Internal Server Error" : "Error";
	}
}

static void send_text(struct ctx *c, int code, const char *type, const char *s, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);

	c->status = code;
	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (code == 503)
		evhttp_add_header(h, "Retry-After", ATT_RETRY_AFTER);
	if (!b || evbuffer_add(b, s, len)) {
		evbuffer_free(b);
		c->status = 500;
		evhttp_send_error(c->req, 500, NULL);
		return;
	}
	evhttp_send_reply(c->req, code, phrase(code), b);
	evbuffer_free(b);
}

/* Send @o (consumed) as the body. */
static void reply(struct ctx *c, int code, struct json_object *o)
{
	const char *s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;

	if (!s) {
		json_object_put(o);
		send_text(c, 500, "application/json", "{\"error\":\"out of memory\"}", 25);
		return;
	}
	send_text(c, code, "application/json", s, strlen(s));
	json_object_put(o);
}

static void __attribute__((format(printf, 3, 4))) reply_err(struct ctx *c, int code,
							    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply(c, code, att_verror(fmt, ap));
	va_end(ap);
}

/* ---- authentication ---- */

static bool need_peer(struct ctx *c)
{
	if (c->has_peer)
		return true;
	reply_err(c, 401, "a client certificate issued by the attestor's client CA is required");
	return false;
}

/* The node a certificate names: its CN, or N for a kubelet client certificate's
 * "system:node:N" (so that a node can present the kubelet's certificate). */
static const char *cert_node(const char *cn)
{
	static const char kubelet[] = "system:node:";

	return strncmp(cn, kubelet, sizeof(kubelet) - 1) ? cn : cn + sizeof(kubelet) - 1;
}

/* The caller must be node @id: certificate CN = id, and when @pin is set, the enrolled cert. */
static bool is_node(struct ctx *c, const char *id, const char *pin)
{
	if (!need_peer(c))
		return false;
	if (strcmp(cert_node(c->peer.cn), id)) {
		reply_err(c, 403, "client certificate CN \"%.64s\" is not node %s", c->peer.cn, id);
		return false;
	}
	if (pin && strcmp(c->peer.hex, pin)) {
		reply_err(c, 403, "client certificate %s is not the one node %s enrolled with "
			  "(%s); re-enrol after a certificate change", c->peer.hex, id, pin);
		return false;
	}
	return true;
}

/* ---- transactions: one per request that changes the state ---- */

static void db_unavailable(struct ctx *c)
{
	reply_err(c, 503, "the attestor's database is unavailable; retry later");
}

/* Begin, with node @id (when given) as the database holds it, its row locked when @lock. */
static bool tx_begin(struct ctx *c, const char *id, bool lock)
{
	struct att_api *a = c->a;

	if (!att_db_begin(a->db, true) && (!id || !att_db_node_fresh(a->db, a->st, id, lock)))
		return true;
	att_db_rollback(a->db);
	if (id)
		att_db_forget(a->st, id);
	db_unavailable(c);
	return false;
}

/* Write node @n (NULL: none) and commit; on failure the cache of @id is re-read next time. */
static bool tx_commit(struct ctx *c, const char *id, struct att_node *n)
{
	struct att_api *a = c->a;

	if ((!n || !att_db_put_node(a->db, n)) && !att_db_commit(a->db))
		return true;
	att_db_rollback(a->db);
	if (id)
		att_db_forget(a->st, id);
	return false;
}

static void tx_abort(struct ctx *c, const char *id)
{
	att_db_rollback(c->a->db);
	if (id)
		att_db_forget(c->a->st, id);
}

/* A change of the revocation list rolled back: the list is re-read before its next use. */
static void revs_abort(struct ctx *c)
{
	att_db_rollback(c->a->db);
	att_db_revocations_forget(c->a->db);
	att_db_revocations_fresh(c->a->db, c->a->st, false);
}

/* Reads that look at every node: those of other replicas first (shared databases). */
static bool synced(struct ctx *c)
{
	if (!att_db_sync(c->a->db, c->a->st))
		return true;
	db_unavailable(c);
	return false;
}

/* ---- enrolment ---- */

static int ek_chain(struct att_api *a, const uint8_t *der, size_t len, char *why, size_t wl)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	X509_STORE_CTX *sc = NULL;
	int rc = -EKEYREJECTED;

	if (!x || p != der + len) {
		snprintf(why, wl, "EK certificate is not one DER X.509 certificate");
		goto out;
	}
	sc = X509_STORE_CTX_new();
	if (!sc || X509_STORE_CTX_init(sc, a->ek_store, x, NULL) != 1) {
		snprintf(why, wl, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	if (X509_verify_cert(sc) != 1) {
		snprintf(why, wl, "EK certificate does not chain to --ek-ca: %s",
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(sc)));
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(sc);
	X509_free(x);
	return rc;
}

/* Another enrolled node with this AK or this EK: one TPM is one node. */
struct ak_owner {
	const char *name, *ek, *except;
	const struct att_node *ak_owner, *ek_owner;
};

static void find_ak(void *val, void *arg)
{
	const struct att_node *n = val;
	struct ak_owner *o = arg;

	if (!n->enrolled || !strcmp(n->id, o->except))
		return;
	if (!strcmp(n->ak_name, o->name))
		o->ak_owner = n;
	if (!strcmp(n->ek_sha256, o->ek))
		o->ek_owner = n;
}

static void enrol(struct ctx *c)
{
	struct att_api *a = c->a;
	uint8_t name[TCL_TPM_NAME_MAX], blob[TCL_TPM_CRED_BLOB_MAX], enc[TCL_TPM_CRED_SECRET_MAX];
	size_t nl = sizeof(name), bl = sizeof(blob), el = sizeof(enc);
	char err[512], nhex[2 * TCL_TPM_NAME_MAX + 1], ekhex[65], *b1 = NULL, *b2 = NULL;
	char *pem = NULL;
	struct att_enrol_req r;
	struct att_pending p = { 0 };
	struct ak_owner own;
	struct json_object *o;
	uint8_t ek_sha[32];
	const char *ekc;
	bool tx = false;
	int rc;

	if (att_enrol_parse(c->body, c->blen, &r, err, sizeof(err))) {
		a->m.enrol_rejected++;
		reply_err(c, 400, "%s", err);
		return;
	}
	if (!is_node(c, r.node_id, NULL))
		goto rejected;
	if (strcmp(r.tls_sha256, c->peer.hex)) {
		reply_err(c, 403, "tls_cert_sha256 is not the certificate of this connection (%s)",
			  c->peer.hex);
		goto rejected;
	}
	rc = tcl_tpm_ak_check_sw(r.ak_pub, r.ak_pub_len, name, &nl);
	if (rc) {
		reply_err(c, 400, "ak_pub is not an attestation key (restricted signing key, "
			  "fixedTPM, fixedParent, sensitiveDataOrigin, not decrypt)");
		goto rejected;
	}
	if (tcl_tpm_pub_pem_sw(r.ek_pub, r.ek_pub_len, &pem)) {
		reply_err(c, 400, "ek_pub is not a TPM2B_PUBLIC RSA or ECC key");
		goto rejected;
	}
	if (r.ek_cert && tcl_tpm_ek_cert_match_sw(r.ek_cert, r.ek_cert_len, r.ek_pub,
						   r.ek_pub_len)) {
		reply_err(c, 403, "the EK certificate does not certify ek_pub");
		goto rejected;
	}
	if (a->ek_store && !r.ek_cert) {
		reply_err(c, 403, "an EK certificate is required (--ek-ca is set)");
		goto rejected;
	}
	if (a->ek_store && ek_chain(a, r.ek_cert, r.ek_cert_len, err, sizeof(err))) {
		reply_err(c, 403, "%s", err);
		goto rejected;
	}
	ekc = !r.ek_cert ? "none" : a->ek_store ? "verified" : "unchecked";
	tcl_hex(name, nl, nhex);
	EVP_Digest(r.ek_pub, r.ek_pub_len, ek_sha, NULL, EVP_sha256(), NULL);
	tcl_hex(ek_sha, 32, ekhex);
	if (!tx_begin(c, NULL, false))
		goto rejected;
	tx = true;
	if (!synced(c))
		goto rejected;
	own = (struct ak_owner){ .name = nhex, .ek = ekhex, .except = r.node_id };
	tcl_map_each(&a->st->nodes, find_ak, &own);
	if (own.ak_owner || own.ek_owner) {
		reply_err(c, 409, "this %s is already enrolled as node %s",
			  own.ak_owner ? "AK" : "TPM (EK)",
			  (own.ak_owner ? own.ak_owner : own.ek_owner)->id);
		goto rejected;
	}
	if (!att_node_get(a->st, r.node_id) && a->st->nodes.n >= a->cfg->max_nodes) {
		reply_err(c, 503, "the attestor holds --max-nodes nodes");
		goto rejected;
	}
	if (RAND_bytes(p.secret, sizeof(p.secret)) != 1 ||
	    tcl_tpm_make_credential_sw(r.ek_pub, r.ek_pub_len, name, nl, p.secret,
				       sizeof(p.secret), blob, &bl, enc, &el)) {
		reply_err(c, 400, "cannot make a credential for this EK (an RSA EK is needed)");
		goto rejected;
	}
	memcpy(p.ak_pub, r.ak_pub, r.ak_pub_len);
	p.ak_pub_len = r.ak_pub_len;
	memcpy(p.ek_sha256, ekhex, sizeof(ekhex));
	snprintf(p.ek_cert, sizeof(p.ek_cert), "%s", ekc);
	memcpy(p.tls_sha256, c->peer.hex, sizeof(p.tls_sha256));
	p.expires = att_now() + a->cfg->enrol_ttl;
	if (tcl_b64_encode(blob, bl, &b1, NULL) || tcl_b64_encode(enc, el, &b2, NULL)) {
		reply_err(c, 500, "out of memory");
		goto rejected;
	}
	if (att_db_pending_put(a->db, r.node_id, &p)) {
		db_unavailable(c);
		goto rejected;
	}
	tx = false;
	if (!tx_commit(c, NULL, NULL)) {
		db_unavailable(c);
		goto rejected;
	}
	a->m.enrol_started++;
	pr_info(SUB, "node %s: enrolment started (AK %s, EK certificate %s)", r.node_id, nhex,
		ekc);
	o = json_object_new_object();
	tcl_json_add_str(o, "node_id", r.node_id);
	tcl_json_add_str(o, "credential_blob", b1);
	tcl_json_add_str(o, "encrypted_secret", b2);
	tcl_json_add_str(o, "ak_name", nhex);
	tcl_json_add_int(o, "expires_in", a->cfg->enrol_ttl);
	reply(c, 201, o);
	goto out;
rejected:
	a->m.enrol_rejected++;
	if (tx)
		tx_abort(c, NULL);
out:
	OPENSSL_cleanse(&p, sizeof(p));
	free(b1);
	free(b2);
	free(pem);
	att_enrol_free(&r);
}

static void activate(struct ctx *c, const char *id)
{
	struct att_api *a = c->a;
	struct att_activate_req r;
	struct att_pending p;
	struct json_object *o;
	struct att_node *n;
	char err[512];
	bool ok;
	int rc;

	if (!tx_begin(c, id, true))
		return;
	rc = att_db_pending_get(a->db, id, att_now(), true, &p);
	if (rc == -ENOENT) {
		tx_abort(c, id);
		reply_err(c, 404, "no enrolment of node %s is waiting for activation (it may "
			  "have expired: POST /v1/nodes again)", id);
		return;
	}
	if (rc) {
		tx_abort(c, id);
		db_unavailable(c);
		return;
	}
	if (!is_node(c, id, p.tls_sha256)) {
		tx_abort(c, id);
		return;
	}
	if (att_activate_parse(c->body, c->blen, &r, err, sizeof(err))) {
		tx_abort(c, id);
		reply_err(c, 400, "%s", err);
		return;
	}
	/* one try per credential: a wrong secret cannot be retried against the same one */
	ok = r.secret_len == sizeof(p.secret) &&
	     !CRYPTO_memcmp(r.secret, p.secret, sizeof(p.secret));
	OPENSSL_cleanse(&r, sizeof(r));
	if (att_db_pending_del(a->db, id)) {
		tx_abort(c, id);
		db_unavailable(c);
		goto out;
	}
	if (!ok) {
		a->m.enrol_rejected++;
		if (!tx_commit(c, id, NULL)) {
			db_unavailable(c);
			goto out;
		}
		pr_warn(SUB, "node %s: activation failed: wrong credential secret", id);
		reply_err(c, 403, "the secret does not match: the AK and the EK are not in the "
			  "same TPM");
		goto out;
	}
	rc = att_node_get_or_add(a->st, id, a->cfg->max_nodes, &n);
	if (!rc)
		rc = att_node_set_ak(n, p.ak_pub, p.ak_pub_len);
	if (rc) {
		tx_abort(c, id);
		reply_err(c, rc == -ENOSPC ? 503 : 500, "%s", rc == -ENOSPC ?
			  "the attestor holds --max-nodes nodes" : "cannot use the AK");
		goto out;
	}
	att_node_reset_log(n);
	memcpy(n->ek_sha256, p.ek_sha256, sizeof(n->ek_sha256));
	memcpy(n->ek_cert, p.ek_cert, sizeof(n->ek_cert));
	memcpy(n->tls_sha256, p.tls_sha256, sizeof(n->tls_sha256));
	n->enrolled_at = att_now();
	n->enrolled = true;
	n->evidence_ok = n->evidence_failed = 0;
	if (!tx_commit(c, id, n)) {
		db_unavailable(c);
		goto out;
	}
	a->m.enrol_completed++;
	pr_info(SUB, "node %s: enrolled (AK %s)", id, n->ak_name);
	o = json_object_new_object();
	tcl_json_add_str(o, "node_id", id);
	tcl_json_add_str(o, "status", "enrolled");
	tcl_json_add_str(o, "ak_name", n->ak_name);
	tcl_json_add_int(o, "log_offset", 0);
	reply(c, 200, o);
out:
	OPENSSL_cleanse(&p, sizeof(p));
}

/* ---- challenge and evidence ---- */

static struct att_node *enrolled_node(struct ctx *c, const char *id)
{
	struct att_node *n = att_node_get(c->a->st, id);

	if (!n || !n->enrolled) {
		reply_err(c, 404, "node %s is not enrolled", id);
		return NULL;
	}
	return is_node(c, id, n->tls_sha256) ? n : NULL;
}

static void challenge(struct ctx *c, const char *id)
{
	struct att_api *a = c->a;
	struct att_node *n;
	uint8_t nonce[ATT_NONCE_LEN];
	char hex[2 * ATT_NONCE_LEN + 1];
	struct json_object *o;

	if (!tx_begin(c, id, false))
		return;
	n = enrolled_node(c, id);
	if (!n) {
		tx_abort(c, id);
		return;
	}
	if (att_nonce_issue(a->db, id, att_now_ms(), a->cfg->nonce_ttl * 1000, nonce)) {
		tx_abort(c, id);
		db_unavailable(c);
		return;
	}
	if (!tx_commit(c, id, NULL)) {
		db_unavailable(c);
		return;
	}
	tcl_hex(nonce, sizeof(nonce), hex);
	o = json_object_new_object();
	tcl_json_add_str(o, "nonce", hex);
	tcl_json_add_int(o, "expires_in", a->cfg->nonce_ttl);
	tcl_json_add_str(o, "bank", tcl_log_alg_name(att_node_bank(a, n)));
	tcl_json_add_int(o, "pcr", a->cfg->pcr);
	tcl_json_add_int(o, "pcr_mask", att_quote_mask(a));
	tcl_json_add_int(o, "log_offset", (int64_t)n->log_offset);
	reply(c, 200, o);
}

static double secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void parked_free(struct parked *p)
{
	*p->pprev = p->next;
	if (p->next)
		p->next->pprev = p->pprev;
	p->a->n_parked--;
	att_evidence_job_free(p->job);
	free(p);
}

/* The fetches a parked evidence waited for have finished (on the loop): its appraisal, in a
 * transaction of its own (the first committed the nonce it used). */
static void parked_ready(struct att_gc_waiter *w)
{
	struct parked *p = (struct parked *)w;
	struct att_api *a = p->a;
	struct ctx c = { .a = a, .req = p->req, .route = ATT_R_EVIDENCE };
	struct json_object *o = NULL;
	int code;

	if (!tx_begin(&c, p->id, true))
		goto done;
	if (att_db_revocations_fresh(a->db, a->st, false)) {
		tx_abort(&c, p->id);
		a->m.evidence_rejected[ATT_REJ_UNAVAILABLE]++;
		db_unavailable(&c);
		goto done;
	}
	code = att_evidence_resume(a, p->job, w, &o);
	if (!tx_commit(&c, p->id, att_node_get(a->st, p->id))) {
		if (!code)
			att_goldcache_unwait(a->gc, w);
		json_object_put(o);
		a->m.evidence_rejected[ATT_REJ_UNAVAILABLE]++;
		db_unavailable(&c);
		goto done;
	}
	if (!code)
		return;		/* waits again */
	reply(&c, code, o);
done:
	att_metrics_observe(&a->m, c.route, c.status, secs() - p->t0);
	parked_free(p);
}

static void evidence(struct ctx *c, const char *id, double t0)
{
	struct att_api *a = c->a;
	struct parked *p = NULL;
	struct json_object *o;
	struct att_node *n;
	int code;

	/* the row stays locked until the commit: evidence for one node, one at a time, across
	 * replicas too; the second sees the offset the first left */
	if (!tx_begin(c, id, true))
		return;
	n = enrolled_node(c, id);
	if (!n) {
		tx_abort(c, id);
		a->m.evidence_rejected[ATT_REJ_AUTH]++;
		return;
	}
	/* the answer carries the revocation list: the one the database holds now */
	if (att_db_revocations_fresh(a->db, a->st, false)) {
		tx_abort(c, id);
		a->m.evidence_rejected[ATT_REJ_UNAVAILABLE]++;
		db_unavailable(c);
		return;
	}
	/* without room to wait, a manifest not cached answers 503 at once */
	if (a->gc && att_goldcache_fd(a->gc) >= 0 && a->n_parked < ATT_MAX_PARKED)
		p = calloc(1, sizeof(*p));
	if (p) {
		p->w.ready = parked_ready;
		p->a = a;
		p->req = c->req;
		p->t0 = t0;
		snprintf(p->id, sizeof(p->id), "%s", id);
	}
	code = att_evidence_answer(a, n, id, c->peer.sha256, c->body, c->blen, p ? &p->w : NULL,
				   p ? &p->job : NULL, &o);
	/* the node as it now stands (a used nonce, a finding, the new offset); an evidence that
	 * waits for the registry is appraised in a transaction of its own */
	if (!tx_commit(c, id, n)) {
		if (!code) {
			att_goldcache_unwait(a->gc, &p->w);
			att_evidence_job_free(p->job);
		}
		free(p);
		json_object_put(o);
		a->m.evidence_rejected[ATT_REJ_UNAVAILABLE]++;
		db_unavailable(c);
		return;
	}
	if (!code) {
		p->next = a->parked;
		if (p->next)
			p->next->pprev = &p->next;
		p->pprev = &a->parked;
		a->parked = p;
		a->n_parked++;
		c->parked = true;
		return;
	}
	free(p);
	reply(c, code, o);
}

/* ---- verdicts ---- */

/* 404 for what the attestor has no verdict on: {"id", "verdict": "unknown", "reason"}. */
static void reply_unknown(struct ctx *c, const char *id, const char *reason)
{
	struct json_object *o = json_object_new_object();

	tcl_json_add_str(o, "id", id);
	tcl_json_add_str(o, "verdict", "unknown");
	tcl_json_add_str(o, "reason", reason);
	reply(c, 404, o);
}

static bool can_read(struct ctx *c)
{
	return c->a->cfg->open_reads || need_peer(c);
}

static void get_node(struct ctx *c, const char *id)
{
	struct att_node *n;

	if (!can_read(c))
		return;
	if (att_db_node_fresh(c->a->db, c->a->st, id, false)) {
		db_unavailable(c);
		return;
	}
	n = att_node_get(c->a->st, id);
	if (!n) {
		reply_unknown(c, id, "not enrolled");
		return;
	}
	reply(c, 200, att_node_json(n, att_now(), c->a->cfg->stale_after));
}

struct listing {
	struct json_object *a;
	int64_t now, stale;
};

static void list_node(void *val, void *arg)
{
	const struct att_node *n = val;
	struct listing *l = arg;
	struct json_object *o = json_object_new_object();
	char buf[2 * ATT_REASON_MAX];
	const char *reason;
	enum att_verdict v = att_node_verdict(n, l->now, l->stale, &reason, buf, sizeof(buf));

	tcl_json_add_str(o, "id", n->id);
	tcl_json_add_bool(o, "enrolled", n->enrolled);
	tcl_json_add_str(o, "verdict", att_verdict_name(v));
	if (*reason)
		tcl_json_add_str(o, "reason", reason);
	tcl_json_add_int(o, "last_evidence", n->last_evidence);
	if (o && json_object_array_add(l->a, o))
		json_object_put(o);
}

static void get_nodes(struct ctx *c)
{
	struct listing l = { json_object_new_array(), att_now(), c->a->cfg->stale_after };
	struct json_object *o = json_object_new_object();
	void **vals = NULL;
	size_t n = 0;

	if (!can_read(c) || !synced(c)) {
		json_object_put(l.a);
		json_object_put(o);
		return;
	}
	if (l.a && !tcl_map_sorted(&c->a->st->nodes, &vals, &n))
		for (size_t i = 0; i < n; i++)
			list_node(vals[i], &l);
	free(vals);
	tcl_json_add(o, "nodes", l.a);
	reply(c, 200, o);
}

struct cfind {
	const char *id;
	const struct att_node *n[4];
	const struct att_container *c[4];
	size_t count;
};

static void find_container(void *val, void *arg)
{
	struct att_node *n = val;
	struct cfind *f = arg;
	struct att_container *c = n->enrolled ? att_container_get(n, f->id) : NULL;

	if (!c)
		return;
	if (f->count < 4) {
		f->n[f->count] = n;
		f->c[f->count] = c;
	}
	f->count++;
}

static void get_container(struct ctx *c, const char *id)
{
	struct cfind f = { .id = id };
	struct json_object *o;
	int64_t now = att_now();

	if (!can_read(c) || !synced(c))
		return;
	tcl_map_each(&c->a->st->nodes, find_container, &f);
	if (!f.count) {
		reply_unknown(c, id, "no node has reported this container");
		return;
	}
	if (f.count == 1) {
		reply(c, 200, att_container_json(f.n[0], f.c[0], now, c->a->cfg->stale_after));
		return;
	}
	/* the same id from two nodes: someone is lying about a container */
	o = json_object_new_object();
	tcl_json_add_str(o, "id", id);
	tcl_json_add_str(o, "verdict", "untrusted");
	tcl_json_add_str(o, "reason", "more than one node reports this container id");
	{
		struct json_object *arr = json_object_new_array();

		for (size_t i = 0; i < f.count && i < 4; i++) {
			struct json_object *x = att_container_json(f.n[i], f.c[i], now,
								   c->a->cfg->stale_after);

			if (x && json_object_array_add(arr, x))
				json_object_put(x);
		}
		tcl_json_add(o, "instances", arr);
	}
	reply(c, 200, o);
}

static enum att_verdict filter_verdict(void *arg, const char *node, char *reason, size_t len)
{
	struct att_api *a = arg;
	struct att_node *n = att_node_get(a->st, node);
	const char *r;
	enum att_verdict v;

	if (a->verdicts) {
		/* what the database said at the start of this call (its verdict columns) */
		const struct att_db_verdict *row = tcl_map_get(a->verdicts, node);

		if (!row) {
			snprintf(reason, len, "not enrolled with the attestor");
			a->m.filter_failed++;
			return ATT_UNKNOWN;
		}
		v = att_db_verdict_of(row, att_now(), a->cfg->stale_after, reason, len);
		if (v == ATT_TRUSTED)
			a->m.filter_kept++;
		else
			a->m.filter_failed++;
		return v;
	}
	if (!n) {
		snprintf(reason, len, "not enrolled with the attestor");
		a->m.filter_failed++;
		return ATT_UNKNOWN;
	}
	v = att_node_verdict(n, att_now(), a->cfg->stale_after, &r, reason, len);
	if (r != reason)
		snprintf(reason, len, "%s", r);
	if (v == ATT_TRUSTED)
		a->m.filter_kept++;
	else
		a->m.filter_failed++;
	return v;
}

static void filter(struct ctx *c)
{
	struct tcl_map verdicts = { 0 };
	char *out = NULL, err[512];
	size_t len = 0;
	int rc;

	if (!can_read(c))
		return;
	/* shared database: every node's verdict columns in one query, as other replicas left
	 * them; otherwise this replica's memory is the truth */
	if (att_db_shared(c->a->db)) {
		if (att_db_verdicts(c->a->db, &verdicts)) {
			db_unavailable(c);
			return;
		}
		c->a->verdicts = &verdicts;
	}
	rc = att_filter(c->body, c->blen, c->a->cfg->max_body, filter_verdict, c->a, &out, &len,
			err, sizeof(err));
	c->a->verdicts = NULL;
	tcl_map_free(&verdicts, free);
	if (rc) {
		struct json_object *o = json_object_new_object();

		tcl_json_add_str(o, "Error", err);
		reply(c, rc == -ENOMEM ? 500 : 400, o);
		return;
	}
	send_text(c, 200, "application/json", out, len);
	free(out);
}

static void metrics(struct ctx *c)
{
	struct att_goldcache_stats gs;
	char *out = NULL;
	size_t len = 0;

	if (!can_read(c) || !synced(c))
		return;
	if (c->a->gc)
		att_goldcache_stats(c->a->gc, &gs);
	if (att_metrics_render(&c->a->m, c->a->st, c->a->gc ? &gs : NULL, att_now(),
			       c->a->cfg->stale_after, &out, &len)) {
		reply_err(c, 500, "out of memory");
		return;
	}
	send_text(c, 200, "text/plain; version=0.0.4; charset=utf-8", out, len);
	free(out);
}

/* ---- revocations ---- */

/* The caller holds an admin certificate: one that chains to --admin-ca. */
static bool is_admin(struct ctx *c)
{
	if (!c->a->admin_store) {
		reply_err(c, 403, "no admin calls: the attestor runs without --admin-ca");
		return false;
	}
	if (!need_peer(c))
		return false;
	if (!att_peer_verify(c->req, c->a->admin_store)) {
		reply_err(c, 403, "client certificate CN \"%.64s\" is not an admin certificate "
			  "(issued by --admin-ca)", c->peer.cn);
		return false;
	}
	return true;
}

static struct json_object *revocation_view(struct att_api *a, const struct tcl_revocation *r)
{
	struct json_object *o = tcl_revocation_json(r);
	size_t nodes, ctrs;

	att_revocation_count(a->st, r, &nodes, &ctrs);
	tcl_json_add_int(o, "affected_nodes", (int64_t)nodes);
	tcl_json_add_int(o, "affected_containers", (int64_t)ctrs);
	return o;
}

/* The list as the database holds it now (another replica may have changed it), and for the
 * counts of what it reaches, every node. */
static bool revs_synced(struct ctx *c, bool nodes)
{
	if (!att_db_revocations_fresh(c->a->db, c->a->st, false) && (!nodes || synced(c)))
		return true;
	if (!nodes)
		db_unavailable(c);
	return false;
}

static void list_revocations(struct ctx *c)
{
	const struct tcl_revocation_list *l = att_revocations(c->a->st);
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();

	if (!can_read(c) || !revs_synced(c, true)) {
		json_object_put(o);
		json_object_put(arr);
		return;
	}
	for (size_t i = 0; arr && i < l->n; i++)
		tcl_json_push(arr, revocation_view(c->a, &l->v[i]));
	tcl_json_add_int(o, "version", (int64_t)l->version);
	tcl_json_add(o, "entries", arr);
	reply(c, 200, o);
}

static void post_revocation(struct ctx *c)
{
	struct att_api *a = c->a;
	const struct tcl_revocation *r;
	struct tcl_revocation req;
	struct json_object *body = NULL;
	char err[512];
	int rc;

	if (!is_admin(c))
		return;
	rc = tcl_json_parse("revocation", c->body, c->blen, 64 << 10, &body);
	if (rc || tcl_revocation_from_json(body, true, &req, err, sizeof(err))) {
		json_object_put(body);
		if (rc)
			reply_err(c, rc == -EFBIG ? 413 : 400, "the body is not one JSON object "
				  "(at most 64 KiB)");
		else
			reply_err(c, 400, "%s", err);
		return;
	}
	json_object_put(body);
	/* the list's row locked: ids come from its version, one change at a time across
	 * replicas */
	if (!tx_begin(c, NULL, false))
		return;
	if (att_db_revocations_fresh(a->db, a->st, true)) {
		revs_abort(c);
		db_unavailable(c);
		return;
	}
	rc = att_revocation_add(a->st, &req, att_now(), &r);
	if (rc == -EEXIST) {
		tx_abort(c, NULL);
		att_db_sync(a->db, a->st);	/* the counts; the cache's when that fails */
		reply(c, 409, revocation_view(a, r));
		return;
	}
	if (rc) {
		tx_abort(c, NULL);
		reply_err(c, rc == -ENOSPC ? 507 : 500, "%s", rc == -ENOSPC ?
			  "too many revocations" : strerror(-rc));
		return;
	}
	if (att_db_put_revocations(a->db, a->st) || !tx_commit(c, NULL, NULL)) {
		/* not kept: an agent must never learn a revocation a restart would forget */
		revs_abort(c);
		reply_err(c, 503, "cannot persist the revocation (database unavailable)");
		return;
	}
	att_db_sync(a->db, a->st);	/* the counts; the cache's when that fails */
	pr_warn(SUB, "revocation %llu by \"%s\": %s %s (%s); the nodes learn it at their next "
		"evidence", (unsigned long long)r->id, c->peer.cn, tcl_revoke_kind_name(r->kind),
		r->value, r->reason);
	reply(c, 201, revocation_view(a, r));
}

static void one_revocation(struct ctx *c, const char *idstr, const char *verb, bool get,
			   bool del)
{
	struct att_api *a = c->a;
	const struct tcl_revocation *r;
	char *end;
	unsigned long long id;
	bool valid;

	errno = 0;
	id = strtoull(idstr, &end, 10);
	valid = *idstr >= '1' && *idstr <= '9' && !*end && !errno;
	if (!*verb && del) {
		if (!is_admin(c) || !tx_begin(c, NULL, false))
			return;
		if (att_db_revocations_fresh(a->db, a->st, true)) {
			revs_abort(c);
			db_unavailable(c);
			return;
		}
		r = valid ? att_revocation_get(a->st, id) : NULL;
		if (!r) {
			tx_abort(c, NULL);
			reply_err(c, 404, "no revocation %.32s", idstr);
			return;
		}
		att_revocation_del(a->st, id);
		if (att_db_put_revocations(a->db, a->st) || !tx_commit(c, NULL, NULL)) {
			revs_abort(c);
			reply_err(c, 503, "cannot persist the withdrawal (database unavailable)");
			return;
		}
		pr_warn(SUB, "revocation %llu withdrawn by \"%s\"", id, c->peer.cn);
		reply(c, 200, json_object_new_object());
		return;
	}
	if (!get || (*verb && strcmp(verb, "/affected"))) {
		reply_err(c, *verb && strcmp(verb, "/affected") ? 404 : 405,
			  "no such method on /v1/revocations/%.32s%.16s", idstr, verb);
		return;
	}
	if (!can_read(c) || !revs_synced(c, true))
		return;
	r = valid ? att_revocation_get(a->st, id) : NULL;
	if (!r) {
		reply_err(c, 404, "no revocation %.32s", idstr);
		return;
	}
	if (*verb)
		reply(c, 200, att_revocation_affected(a->st, r, true, AFFECTED_MAX));
	else
		reply(c, 200, revocation_view(a, r));
}

/* ---- routing ---- */

/* "/v1/nodes/<id>[/<verb>]": copy the id (bounded) and point *verb at the rest. */
static bool path_id(const char *p, const char *prefix, char *id, size_t cap, const char **verb)
{
	size_t pl = strlen(prefix), n;
	const char *s;

	if (strncmp(p, prefix, pl))
		return false;
	s = p + pl;
	n = strcspn(s, "/");
	if (!n || n >= cap)
		return false;
	memcpy(id, s, n);
	id[n] = '\0';
	*verb = s + n;
	return true;
}

void att_api_handle(struct evhttp_request *req, void *arg)
{
	struct ctx c = { .a = arg, .req = req, .route = ATT_R_OTHER };
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u ? evhttp_uri_get_path(u) : NULL, *verb = NULL;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	char id[ATT_NODE_ID_MAX + 2];
	bool get = m == EVHTTP_REQ_GET, post = m == EVHTTP_REQ_POST;
	double t0 = secs();

	c.has_peer = !att_peer_of(req, &c.peer);
	c.blen = evbuffer_get_length(in);
	c.body = c.blen ? (const char *)evbuffer_pullup(in, -1) : "";
	if (c.blen && !c.body) {
		reply_err(&c, 500, "out of memory");
		goto done;
	}
	if (!path) {
		reply_err(&c, 400, "bad request URI");
		goto done;
	}
	if (!strcmp(path, "/v1/nodes") && post) {
		c.route = ATT_R_ENROL;
		enrol(&c);
	} else if (!strcmp(path, "/v1/nodes") && get) {
		c.route = ATT_R_NODE;
		get_nodes(&c);
	} else if (path_id(path, "/v1/nodes/", id, ATT_NODE_ID_MAX + 1, &verb)) {
		if (!att_node_id_valid(id)) {
			reply_err(&c, 404, "not a node name");
		} else if (!strcmp(verb, "/challenge") && get) {
			c.route = ATT_R_CHALLENGE;
			challenge(&c, id);
		} else if (!strcmp(verb, "/evidence") && post) {
			c.route = ATT_R_EVIDENCE;
			evidence(&c, id, t0);
		} else if (!strcmp(verb, "/activate") && post) {
			c.route = ATT_R_ACTIVATE;
			activate(&c, id);
		} else if (!*verb && get) {
			c.route = ATT_R_NODE;
			get_node(&c, id);
		} else {
			reply_err(&c, *verb && strcmp(verb, "/challenge") &&
				  strcmp(verb, "/evidence") && strcmp(verb, "/activate") ? 404 :
				  405, "no such method on %s", path);
		}
	} else if (path_id(path, "/v1/containers/", id, ATT_CID_MAX + 1, &verb) && !*verb) {
		c.route = ATT_R_CONTAINER;
		if (!get)
			reply_err(&c, 405, "GET only");
		else if (!att_container_id_valid(id))
			reply_err(&c, 404, "not a container id");
		else
			get_container(&c, id);
	} else if (!strcmp(path, "/v1/revocations")) {
		if (get)
			list_revocations(&c);
		else if (post)
			post_revocation(&c);
		else
			reply_err(&c, 405, "GET or POST only");
	} else if (path_id(path, "/v1/revocations/", id, 32, &verb)) {
		one_revocation(&c, id, verb, get, m == EVHTTP_REQ_DELETE);
	} else if (!strcmp(path, "/scheduler/filter")) {
		c.route = ATT_R_FILTER;
		if (post)
			filter(&c);
		else
			reply_err(&c, 405, "POST only");
	} else if (!strcmp(path, "/metrics") && get) {
		c.route = ATT_R_METRICS;
		metrics(&c);
	} else if (!strcmp(path, "/healthz") && get) {
		if (can_read(&c))
			send_text(&c, 200, "text/plain", "ok\n", 3);
	} else {
		reply_err(&c, 404, "no such endpoint");
	}
done:
	if (!c.parked)
		att_metrics_observe(&c.a->m, c.route, c.status, secs() - t0);
}

/* ---- setup ---- */

void att_api_tick(struct att_api *a)
{
	int64_t now = att_mono();

	if (now - a->purged < 60)
		return;
	a->purged = now;
	/* expired nonces stay an hour: a late answer is told "expired" rather than "unknown" */
	att_db_purge(a->db, att_now_ms(), 3600 * 1000);
}

int att_api_init(struct att_api *a, const struct att_config *cfg, struct att_state *st,
		 struct att_db *db, struct att_goldcache *gc)
{
	char err[512];
	int rc;

	memset(a, 0, sizeof(*a));
	a->cfg = cfg;
	a->st = st;
	a->db = db;
	a->gc = gc;
	a->purged = att_mono();
	if (cfg->host_policy) {
		struct tcl_policy *p = NULL;

		rc = tcl_policy_load(cfg->host_policy, &p, err, sizeof(err));
		if (rc) {
			pr_err("config", "--host-policy: %s", err);
			return rc;
		}
		rc = att_allow_from_policy(p, &a->host_allow);
		tcl_policy_free(p);
		if (rc)
			return rc;
		a->have_host_allow = true;
		pr_info("config", "host allowlist: %zu digests from %s", a->host_allow.n,
			cfg->host_policy);
	}
	if (cfg->admin_ca) {
		a->admin_store = X509_STORE_new();
		if (!a->admin_store || X509_STORE_load_file(a->admin_store, cfg->admin_ca) != 1) {
			pr_err("config", "--admin-ca %s: cannot load the CA bundle", cfg->admin_ca);
			ERR_clear_error();
			att_api_free(a);
			return -EINVAL;
		}
	}
	if (cfg->ek_ca) {
		a->ek_store = X509_STORE_new();
		if (!a->ek_store || X509_STORE_load_file(a->ek_store, cfg->ek_ca) != 1) {
			pr_err("config", "--ek-ca %s: cannot load the CA bundle", cfg->ek_ca);
			ERR_clear_error();
			att_api_free(a);
			return -EINVAL;
		}
	}
	return 0;
}

void att_api_free(struct att_api *a)
{
	/* their requests went with the connections (evhttp_free) */
	while (a->parked)
		parked_free(a->parked);
	att_allow_free(&a->host_allow);
	X509_STORE_free(a->ek_store);
	a->ek_store = NULL;
	X509_STORE_free(a->admin_store);
	a->admin_store = NULL;
}
