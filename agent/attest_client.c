// SPDX-License-Identifier: GPL-2.0
/* Agent side of remote attestation; see attest_client.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "attest_client.h"
#include "canonjson.h"
#include "diag.h"
#include "fileio.h"
#include "hexb64.h"
#include "http.h"
#include "jsonb.h"
#include "log.h"
#include "logseg.h"
#include "revocation.h"
#include "util.h"

#define SUB "attest"
#define RESP_MAX (64u << 10)
#define STATE_MAX (64u << 10)

struct tcl_attest {
	struct tcl_attest_opts o;
	char *url, *cert, *key, *ca, *state_path, *log_path;
	char node_id[254];
	struct tcl_tpm *tpm;
	struct tcl_tpm_ak ak;
	char ak_name[2 * TCL_TPM_NAME_MAX + 1];
	uint8_t cert_sha[32];
	char cert_hex[65];
	struct tcl_http *http;
	/* state file */
	bool enrolled;
	bool log_new;		/* the log changed identity: send it from 0 until acknowledged */
	uint64_t acked;
	uint64_t log_dev, log_ino;	/* a log without a checkpoint: its file */
	char log_id[TCL_LOGSEG_ID_HEX + 1];	/* a segmented log: its checkpoint's id */
	/* the revocation list of the last answer, until taken */
	struct tcl_revocation_list revs;
	bool revs_new;
};

/* ---- small helpers ---- */

static void __attribute__((format(printf, 3, 4))) say(char *buf, size_t len, const char *fmt,
						      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool jint(struct json_object *o, const char *k, int64_t *out)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

static void result_reset(struct tcl_attest_result *r)
{
	memset(r, 0, sizeof(*r));
}

/* ---- state file ---- */

static int state_save(struct tcl_attest *a)
{
	struct json_object *o = json_object_new_object();
	char *s = NULL;
	size_t len;
	int rc = -ENOMEM;

	if (!o)
		return -ENOMEM;
	if (tcl_json_add_str(o, "attestor", a->url) ||
	    tcl_json_add_str(o, "node_id", a->node_id) ||
	    tcl_json_add_str(o, "ak_name", a->ak_name) ||
	    tcl_json_add_str(o, "tls_cert_sha256", a->cert_hex) ||
	    tcl_json_add_bool(o, "enrolled", a->enrolled) ||
	    tcl_json_add_bool(o, "log_new", a->log_new) ||
	    tcl_json_add_int(o, "acked_offset", (int64_t)a->acked) ||
	    tcl_json_add_int(o, "log_dev", (int64_t)a->log_dev) ||
	    tcl_json_add_int(o, "log_ino", (int64_t)a->log_ino) ||
	    tcl_json_add_str(o, "log_id", a->log_id))
		goto out;
	rc = tcl_canon_json(o, &s, &len);
	if (!rc)
		rc = tcl_write_file_atomic(a->state_path, s, len, 0600);
	if (rc)
		pr_err(SUB, "cannot write %s: %s", a->state_path, strerror(-rc));
out:
	free(s);
	json_object_put(o);
	return rc;
}

/* A state file for another attestor, node, AK or certificate does not apply: start over. */
static int state_load(struct tcl_attest *a)
{
	struct json_object *o = NULL;
	char *buf = NULL;
	const char *s;
	int64_t v;
	size_t len;
	int rc;

	rc = tcl_read_file(a->state_path, STATE_MAX, &buf, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc) {
		pr_err(SUB, "cannot read %s: %s", a->state_path, strerror(-rc));
		return rc;
	}
	rc = tcl_json_parse(a->state_path, buf, len, STATE_MAX, &o);
	free(buf);
	if (rc || !json_object_is_type(o, json_type_object)) {
		pr_warn(SUB, "%s is not a valid state file: enrolling again", a->state_path);
		json_object_put(o);
		return 0;
	}
	if ((s = jstr(o, "attestor")) && !strcmp(s, a->url) &&
	    (s = jstr(o, "node_id")) && !strcmp(s, a->node_id) &&
	    (s = jstr(o, "ak_name")) && !strcmp(s, a->ak_name) &&
	    (s = jstr(o, "tls_cert_sha256")) && !strcmp(s, a->cert_hex) &&
	    json_object_get_boolean(json_object_object_get(o, "enrolled"))) {
		a->enrolled = true;
		a->log_new = json_object_get_boolean(json_object_object_get(o, "log_new"));
		if (jint(o, "acked_offset", &v) && v >= 0)
			a->acked = (uint64_t)v;
		if (jint(o, "log_dev", &v))
			a->log_dev = (uint64_t)v;
		if (jint(o, "log_ino", &v))
			a->log_ino = (uint64_t)v;
		if ((s = jstr(o, "log_id")) && strlen(s) == TCL_LOGSEG_ID_HEX)
			strcpy(a->log_id, s);
	} else {
		pr_info(SUB, "%s is for another attestor, node, AK or certificate: enrolling "
			"again", a->state_path);
	}
	json_object_put(o);
	return 0;
}

/* ---- HTTP ---- */

/* One request.  0 with *status and *json (may be NULL) when the attestor answered;
 * -errno (logged) when it could not be reached. */
static int request(struct tcl_attest *a, const char *path, const char *body, size_t blen,
		   int *status, struct json_object **json, struct tcl_attest_result *r)
{
	struct tcl_http_body b = { .mem = body, .fd = -1, .size = blen };
	struct tcl_http_req rq = {
		.method = body ? "POST" : "GET", .body = body ? &b : NULL, .max = RESP_MAX,
		.ctype = body ? "application/json" : NULL, .expect_continue = true,
		.extra_timeout_s = (long)(blen >> 20),
	};
	char url[1024];
	const char *e;
	int rc;

	*status = 0;
	*json = NULL;
	say(url, sizeof(url), "%s%s", a->url, path);
	rq.url = url;
	rc = tcl_http_perform(a->http, &rq, NULL);
	if (rc) {
		say(r->reason, sizeof(r->reason), "%s: %s", url, tcl_http_req_error(&rq));
		pr_warn(SUB, "%s", r->reason);
		tcl_http_req_clear(&rq);
		return rc;
	}
	*status = (int)rq.status;
	r->http_status = (int)rq.status;
	if (rq.resp_len && !rq.too_big &&
	    (tcl_json_parse("attestor response", (const char *)rq.resp, rq.resp_len, RESP_MAX,
			    json) ||
	     !json_object_is_type(*json, json_type_object))) {
		json_object_put(*json);
		*json = NULL;
	}
	e = jstr(*json, "error");
	if (rq.status >= 300)
		say(r->reason, sizeof(r->reason), "%s: HTTP %ld: %s", path, rq.status,
		    e ? e : rq.too_big ? "response too large" : "no error text");
	tcl_http_req_clear(&rq);
	return 0;
}

/* The attestor protocol's statuses (docs/attestor.md): 409 and 503 are worth a retry, 422 is
 * a verdict; the generic tcl_http_status_errno does not know that. */
static int status_errno(int st)
{
	if (st >= 200 && st < 300)
		return 0;
	switch (st) {
	case 404:
		return -ENOENT;
	case 409:
	case 503:
		return -EAGAIN;
	case 422:
		return -EKEYREJECTED;
	case 401:
	case 403:
		return -EACCES;
	default:
		return st >= 500 ? -EPROTO : -EINVAL;
	}
}

static int call(struct tcl_attest *a, const char *path, const char *body, size_t blen,
		struct json_object **json, struct tcl_attest_result *r)
{
	int st, rc = request(a, path, body, blen, &st, json, r);

	if (rc)
		return rc;
	rc = status_errno(st);
	if (rc && rc != -EAGAIN && rc != -ENOENT)
		pr_warn(SUB, "%s", r->reason);
	return rc;
}

/* ---- open ---- */

static int load_cert(struct tcl_attest *a)
{
	FILE *f = fopen(a->cert, "re");
	unsigned char *der = NULL, *utf8 = NULL;
	X509 *x;
	int len, idx, rc = -EINVAL;

	if (!f) {
		rc = -errno;
		pr_err(SUB, "client certificate %s: %s", a->cert, strerror(-rc));
		return rc;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x) {
		pr_err(SUB, "client certificate %s: not a PEM certificate", a->cert);
		return -EINVAL;
	}
	len = i2d_X509(x, &der);
	if (len <= 0)
		goto out;
	EVP_Digest(der, (size_t)len, a->cert_sha, NULL, EVP_sha256(), NULL);
	tcl_hex(a->cert_sha, 32, a->cert_hex);
	if (a->o.node_id) {
		say(a->node_id, sizeof(a->node_id), "%s", a->o.node_id);
		rc = 0;
		goto out;
	}
	idx = X509_NAME_get_index_by_NID(X509_get_subject_name(x), NID_commonName, -1);
	if (idx >= 0) {
		ASN1_STRING *s = X509_NAME_ENTRY_get_data(
			X509_NAME_get_entry(X509_get_subject_name(x), idx));

		len = ASN1_STRING_to_UTF8(&utf8, s);
		if (len > 0 && (size_t)len < sizeof(a->node_id) && !memchr(utf8, 0, (size_t)len)) {
			const char *cn = (const char *)utf8;

			/* a kubelet client certificate names node N "system:node:N", as the
			 * attestor reads it */
			if (!strncmp(cn, TCL_KUBELET_CN_PREFIX, strlen(TCL_KUBELET_CN_PREFIX)))
				cn += strlen(TCL_KUBELET_CN_PREFIX);
			say(a->node_id, sizeof(a->node_id), "%.*s",
			    len - (int)(cn - (const char *)utf8), cn);
			rc = a->node_id[0] ? 0 : -EINVAL;
		}
	}
	if (rc)
		pr_err(SUB, "client certificate %s has no usable subject CN (the node id)",
		       a->cert);
out:
	OPENSSL_free(utf8);
	OPENSSL_free(der);
	X509_free(x);
	return rc;
}

void tcl_attest_close(struct tcl_attest *a)
{
	if (!a)
		return;
	tcl_http_close(a->http);
	tcl_revocation_list_free(&a->revs);
	free(a->url);
	free(a->cert);
	free(a->key);
	free(a->ca);
	free(a->state_path);
	free(a->log_path);
	free(a);
}

static char *dup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

int tcl_attest_open(const struct tcl_attest_opts *o, struct tcl_tpm *tpm,
		    struct tcl_attest **out)
{
	struct tcl_attest *a;
	size_t n;
	int rc = -ENOMEM;

	*out = NULL;
	if (!o->url || strncmp(o->url, "https://", 8) || !o->cert || !o->key ||
	    !o->state_path || !o->log_path || !tpm) {
		pr_err(SUB, "need an https:// attestor URL, a client certificate and key, a state "
		       "file, the log and a TPM");
		return -EINVAL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->o = *o;
	a->o.timeout_s = o->timeout_s > 0 ? o->timeout_s : 30;
	a->o.retry_min_ms = o->retry_min_ms ? o->retry_min_ms : 500;
	a->o.retry_max_ms = o->retry_max_ms ? o->retry_max_ms : 60000;
	a->o.max_attempts = o->max_attempts ? o->max_attempts : 5;
	a->o.max_log_bytes = o->max_log_bytes ? o->max_log_bytes : 32u << 20;
	a->tpm = tpm;
	a->url = strdup(o->url);
	a->cert = strdup(o->cert);
	a->key = strdup(o->key);
	a->ca = dup0(o->ca_file);
	a->state_path = strdup(o->state_path);
	a->log_path = strdup(o->log_path);
	if (!a->url || !a->cert || !a->key || (o->ca_file && !a->ca) || !a->state_path ||
	    !a->log_path)
		goto fail;
	n = strlen(a->url);
	while (n > 8 && a->url[n - 1] == '/')
		a->url[--n] = '\0';
	rc = load_cert(a);
	if (rc)
		goto fail;
	rc = tcl_tpm_ak_ensure(tpm, o->ak_handle, &a->ak);
	if (rc)
		goto fail;
	tcl_hex(a->ak.name, a->ak.name_len, a->ak_name);
	rc = state_load(a);
	if (rc)
		goto fail;
	{
		struct tcl_http_opts ho = {
			.label = "attestor", .sub = SUB, .protocols = "https", .https = true,
			.user_agent = "tcl-agent/1", .ca_file = a->ca, .cert = a->cert,
			.key = a->key, .tls13 = true, .timeout_s = a->o.timeout_s,
		};

		rc = tcl_http_open(&ho, &a->http);
		if (rc)
			goto fail;
	}
	*out = a;
	return 0;
fail:
	tcl_attest_close(a);
	return rc;
}

const char *tcl_attest_node_id(const struct tcl_attest *a)
{
	return a->node_id;
}

bool tcl_attest_enrolled(const struct tcl_attest *a)
{
	return a->enrolled;
}

uint64_t tcl_attest_acked_offset(const struct tcl_attest *a)
{
	return a->acked;
}

const uint8_t *tcl_attest_cert_sha256(const struct tcl_attest *a)
{
	return a->cert_sha;
}

/* ---- retries ---- */

static bool retryable(int rc)
{
	return rc == -EAGAIN || rc == -EPROTO || rc == -ECONNREFUSED || rc == -ETIMEDOUT ||
	       rc == -EHOSTUNREACH || rc == -EIO || rc == -ECONNRESET;
}

/* Sleep before attempt @n (1-based) in slices, so that *stop is noticed. */
static int backoff(struct tcl_attest *a, unsigned int n)
{
	uint64_t d = a->o.retry_min_ms;
	uint32_t rnd = 0;

	for (unsigned int i = 1; i < n && d < a->o.retry_max_ms; i++)
		d *= 2;
	if (d > a->o.retry_max_ms)
		d = a->o.retry_max_ms;
	/* +-25% jitter, so that nodes do not return in lockstep after an outage */
	RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
	d = d * 3 / 4 + (d / 2 ? rnd % (d / 2 + 1) : 0);
	while (d) {
		uint64_t step = d < 100 ? d : 100;
		struct timespec ts = { 0, (long)step * 1000000L };

		if (a->o.stop && *a->o.stop)
			return -ECANCELED;
		nanosleep(&ts, NULL);
		d -= step;
	}
	return a->o.stop && *a->o.stop ? -ECANCELED : 0;
}

/* ---- enrolment ---- */

static int enrol_once(struct tcl_attest *a, struct tcl_attest_result *r)
{
	uint8_t ek[TCL_TPM_PUB_MAX], blob[TCL_TPM_CRED_BLOB_MAX], enc[TCL_TPM_CRED_SECRET_MAX];
	uint8_t secret[64], *der = NULL;
	size_t ekl = sizeof(ek), derl = 0, bl = 0, el = 0, sl = sizeof(secret);
	struct json_object *o = NULL, *resp = NULL;
	char path[300];
	const char *s, *t;
	int rc;

	rc = tcl_tpm_ek_public(a->tpm, ek, &ekl);
	if (rc)
		return rc;
	rc = tcl_tpm_ek_cert(a->tpm, &der, &derl);
	if (rc && rc != -ENOENT)
		return rc;
	rc = -ENOMEM;
	o = json_object_new_object();
	if (!o || tcl_json_add_str(o, "node_id", a->node_id) ||
	    tcl_json_add_b64(o, "ek_pub", ek, ekl) ||
	    tcl_json_add_b64(o, "ak_pub", a->ak.pub, a->ak.pub_len) ||
	    tcl_json_add_str(o, "tls_cert_sha256", a->cert_hex) ||
	    (der && tcl_json_add_b64(o, "ek_cert", der, derl)))
		goto out;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	rc = call(a, "/v1/nodes", s, strlen(s), &resp, r);
	if (rc)
		goto out;
	s = jstr(resp, "credential_blob");
	t = jstr(resp, "encrypted_secret");
	if (!s || !t || !*s || !*t || tcl_b64_decode_buf(s, strlen(s), blob, sizeof(blob), &bl) ||
	    tcl_b64_decode_buf(t, strlen(t), enc, sizeof(enc), &el)) {
		say(r->reason, sizeof(r->reason), "enrolment answer without a usable credential");
		pr_err(SUB, "%s", r->reason);
		rc = -EPROTO;
		goto out;
	}
	rc = tcl_tpm_activate_credential(a->tpm, blob, bl, enc, el, secret, &sl);
	if (rc) {
		say(r->reason, sizeof(r->reason), "TPM2_ActivateCredential failed: %s",
		    strerror(-rc));
		goto out;
	}
	json_object_put(o);
	json_object_put(resp);
	resp = NULL;
	o = json_object_new_object();
	rc = -ENOMEM;
	if (!o || tcl_json_add_b64(o, "secret", secret, sl))
		goto out;
	OPENSSL_cleanse(secret, sizeof(secret));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	say(path, sizeof(path), "/v1/nodes/%s/activate", a->node_id);
	rc = call(a, path, s, strlen(s), &resp, r);
	if (rc == -ENOENT)	/* the enrolment expired on the way: start over */
		rc = -EAGAIN;
	if (rc)
		goto out;
	a->enrolled = true;
	a->acked = 0;
	a->log_new = false;
	a->log_dev = a->log_ino = 0;
	a->log_id[0] = '\0';
	rc = state_save(a);
	if (!rc)
		pr_info(SUB, "enrolled with %s as node %s (AK %s)", a->url, a->node_id,
			a->ak_name);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	json_object_put(o);
	json_object_put(resp);
	free(der);
	return rc;
}

int tcl_attest_enrol(struct tcl_attest *a, bool force, struct tcl_attest_result *r)
{
	struct tcl_attest_result dummy;
	int rc = 0;

	if (!r)
		r = &dummy;
	result_reset(r);
	if (a->enrolled && !force)
		return 0;
	a->enrolled = false;
	for (unsigned int n = 1; n <= a->o.max_attempts; n++) {
		if (n > 1 && backoff(a, n - 1))
			return -ECANCELED;
		result_reset(r);
		rc = enrol_once(a, r);
		if (!rc || !retryable(rc))
			break;
	}
	return rc;
}

/* ---- evidence ---- */

void tcl_attest_bind(const uint8_t nonce[32], const uint8_t cert_sha256[32], uint8_t out[32])
{
	uint8_t buf[64];

	memcpy(buf, nonce, 32);
	memcpy(buf + 32, cert_sha256, 32);
	EVP_Digest(buf, sizeof(buf), out, NULL, EVP_sha256(), NULL);
}

int tcl_attest_get_challenge(struct tcl_attest *a, struct tcl_attest_challenge *c,
			     struct tcl_attest_result *r)
{
	struct json_object *resp = NULL;
	char path[300];
	const char *nonce, *bank;
	int64_t mask = 0, off = -1, exp = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	say(path, sizeof(path), "/v1/nodes/%s/challenge", a->node_id);
	rc = call(a, path, NULL, 0, &resp, r);
	if (rc)
		goto out;
	nonce = jstr(resp, "nonce");
	if (!nonce || strlen(nonce) != 64 || tcl_unhex(nonce, c->nonce, 32) ||
	    !jint(resp, "pcr_mask", &mask) || mask <= 0 || mask > 0xffffff ||
	    !jint(resp, "log_offset", &off) || off < 0) {
		say(r->reason, sizeof(r->reason), "challenge answer is malformed");
		pr_err(SUB, "%s", r->reason);
		rc = -EPROTO;
		goto out;
	}
	/* the bank the attestor replays the log in; every allocated bank is extended */
	bank = jstr(resp, "bank");
	c->bank = bank ? tcl_tpm_alg_by_name(bank) : TCL_TPM_ALG_SHA256;
	if (!c->bank || !tcl_tpm_alg_size(c->bank)) {
		say(r->reason, sizeof(r->reason), "challenge asks for the unknown bank \"%.16s\"",
		    bank);
		pr_err(SUB, "%s", r->reason);
		rc = -EPROTO;
		goto out;
	}
	jint(resp, "expires_in", &exp);
	c->pcr_mask = (uint32_t)mask;
	c->log_offset = (uint64_t)off;
	c->expires_in = (long)exp;
out:
	json_object_put(resp);
	return rc;
}

int tcl_attest_read_log(const char *path, uint64_t off, size_t max, uint8_t **buf,
			size_t *len)
{
	struct tcl_log_entry e;
	size_t got = 0, pos = 0, n;
	uint8_t *b = NULL;
	int rc;

	*buf = NULL;
	*len = 0;
	rc = tcl_logseg_read(path, off, max, &b, &got);
	if (rc)
		return rc;
	/* only complete, valid entries: a torn or in-progress tail waits for the next round */
	while (pos < got) {
		const char *why = NULL;
		int err = tcl_log_parse_entry(b + pos, got - pos, &e, &n, &why);

		if (err) {
			if (err == -EBADMSG)
				pr_warn(SUB, "%s: bad entry at offset %" PRIu64 ": %s; sending "
					"what comes before it", path, off + pos, why ? why : "?");
			break;
		}
		pos += n;
	}
	*buf = b;
	*len = pos;
	return 0;
}

int tcl_attest_evidence_json(const uint8_t nonce[32], const struct tcl_tpm_quote *q,
			     uint64_t log_offset, const uint8_t *log, size_t log_len, char **json,
			     size_t *len)
{
	struct json_object *o = json_object_new_object();
	char hex[65];
	const char *s;
	int rc = -ENOMEM;

	*json = NULL;
	tcl_hex(nonce, 32, hex);
	if (!o || tcl_json_add_str(o, "nonce", hex) ||
	    tcl_json_add_b64(o, "attest", q->attest, q->attest_len) ||
	    tcl_json_add_b64(o, "sig", q->sig, q->sig_len) ||
	    tcl_json_add(o, "bank", json_object_new_string(tcl_tpm_alg_name(q->bank) ?
						     tcl_tpm_alg_name(q->bank) : "?")) ||
	    tcl_json_add_int(o, "pcr_mask", q->pcr_mask) ||
	    tcl_json_add_b64(o, "pcr_values", q->values, q->values_len) ||
	    tcl_json_add_int(o, "log_offset", (int64_t)log_offset) ||
	    tcl_json_add_b64(o, "log", log, log_len))
		goto out;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		goto out;
	*len = strlen(s);
	*json = strdup(s);
	rc = *json ? 0 : -ENOMEM;
out:
	json_object_put(o);
	return rc;
}

/* The answer's revocation list replaces the one held; one that does not parse leaves it
 * (a bad answer never withdraws a revocation) and is said in r->revocations_error. */
static void take_revocations(struct tcl_attest *a, struct json_object *resp,
			     struct tcl_attest_result *r)
{
	struct tcl_revocation_list l;
	struct json_object *v;

	if (!json_object_object_get_ex(resp, "revocations", &v))
		return;
	if (tcl_revocation_list_from_json(v, &l, r->revocations_error,
					  sizeof(r->revocations_error))) {
		pr_warn(SUB, "the attestor's revocation list is unreadable, the previous one stays: "
			"%s", r->revocations_error);
		return;
	}
	r->have_revocations = true;
	r->revocations_version = l.version;
	r->revocations = l.n;
	tcl_revocation_list_free(&a->revs);
	a->revs = l;
	a->revs_new = true;
}

bool tcl_attest_take_revocations(struct tcl_attest *a, struct tcl_revocation_list *out)
{
	if (!a->revs_new)
		return false;
	*out = a->revs;
	memset(&a->revs, 0, sizeof(a->revs));
	a->revs_new = false;
	return true;
}

int tcl_attest_post_evidence(struct tcl_attest *a, const char *json, size_t len,
			     struct tcl_attest_result *r)
{
	struct json_object *resp = NULL;
	char path[300];
	const char *s;
	int64_t v;
	int st, rc;

	say(path, sizeof(path), "/v1/nodes/%s/evidence", a->node_id);
	rc = request(a, path, json, len, &st, &resp, r);
	if (rc)
		return rc;
	rc = status_errno(st);
	if ((s = jstr(resp, "verdict")))
		say(r->verdict, sizeof(r->verdict), "%s", s);
	if (!rc) {
		if (!jint(resp, "log_offset", &v) || v < 0) {
			say(r->reason, sizeof(r->reason), "evidence answer without log_offset");
			rc = -EPROTO;
			goto out;
		}
		if ((s = jstr(resp, "reason")))
			say(r->reason, sizeof(r->reason), "%s", s);
		r->log_offset = (uint64_t)v;
		if (jint(resp, "accepted_entries", &v))
			r->accepted_entries = (uint64_t)v;
		if (jint(resp, "pending_entries", &v))
			r->pending_entries = (uint64_t)v;
		if (jint(resp, "findings", &v))
			r->findings = (uint64_t)v;
		take_revocations(a, resp, r);
		a->acked = r->log_offset;
		a->log_new = false;
		rc = state_save(a);
	} else if (st == 409) {
		r->log_offset = jint(resp, "expected_offset", &v) && v >= 0 ? (uint64_t)v : 0;
	} else if (rc == -EKEYREJECTED) {
		pr_err(SUB, "the attestor refused the evidence: %s", r->reason);
	} else if (rc != -EAGAIN && rc != -ENOENT) {
		pr_warn(SUB, "%s", r->reason);
	}
out:
	json_object_put(resp);
	return rc;
}

/* Notice a new log (another checkpoint id or file, or shorter than what was acknowledged);
 * @size: the log offset of its end, @start: of its first kept byte. */
static int check_log(struct tcl_attest *a, uint64_t *size, uint64_t *start)
{
	struct tcl_logseg_set set;
	const struct tcl_logseg *live;
	struct stat st;
	bool same;
	int rc;

	rc = tcl_logseg_list(a->log_path, &set);
	memset(&st, 0, sizeof(st));
	/* a segmented log's live file may be between two segments for a moment */
	if (!rc && stat(a->log_path, &st) && (errno != ENOENT || !set.have_ckpt))
		rc = -errno;
	if (rc) {
		pr_err(SUB, "measurement log %s: %s", a->log_path, strerror(-rc));
		tcl_logseg_set_free(&set);
		return rc == -ENOENT ? -EIO : rc;
	}
	live = &set.seg[set.n - 1];
	*size = live->offset + live->size;
	*start = set.seg[0].offset;
	if (set.have_ckpt && !a->log_id[0] && !set.ckpt.offset && st.st_dev == a->log_dev &&
	    st.st_ino == a->log_ino) {
		/* the same log, bounded from now on: it is known by its checkpoint's id */
		strcpy(a->log_id, set.ckpt.id);
		rc = state_save(a);
	}
	same = set.have_ckpt ? !strcmp(set.ckpt.id, a->log_id) :
	       !a->log_id[0] && st.st_dev == a->log_dev && st.st_ino == a->log_ino;
	if (rc || (same && *size >= a->acked))
		goto out;
	if (a->log_dev || a->log_ino || a->log_id[0] || a->acked)
		pr_info(SUB, "%s is a new log: sending it from the start", a->log_path);
	a->log_dev = st.st_dev;
	a->log_ino = st.st_ino;
	snprintf(a->log_id, sizeof(a->log_id), "%s", set.have_ckpt ? set.ckpt.id : "");
	a->acked = 0;
	a->log_new = true;
	rc = state_save(a);
out:
	tcl_logseg_set_free(&set);
	return rc;
}

static int push_once(struct tcl_attest *a, struct tcl_attest_result *r)
{
	struct tcl_attest_challenge ch;
	struct tcl_tpm_quote *q = NULL;
	uint8_t qual[32], *log = NULL;
	uint64_t size = 0, start = 0, from;
	size_t len = 0, jl = 0;
	char *json = NULL;
	int rc;

	rc = check_log(a, &size, &start);
	if (rc)
		return rc;
	rc = tcl_attest_get_challenge(a, &ch, r);
	if (rc)
		return rc;
	from = a->log_new ? 0 : ch.log_offset;
	if (a->log_new && ch.log_offset) {
		/* the attestor expects an old log's offset: only a TPM reset (reboot) starts
		 * it over; the quote below shows whether there was one */
		pr_info(SUB, "new log, the attestor stands at %" PRIu64 " of the old one",
			ch.log_offset);
	}
	if (from > size) {
		say(r->reason, sizeof(r->reason), "the attestor expects log offset %" PRIu64
		    " but %s has %" PRIu64 " bytes: the log was replaced or truncated; "
		    "re-enrol (or reboot) to start over", from, a->log_path, size);
		pr_err(SUB, "%s", r->reason);
		return -ESPIPE;
	}
	if (from < start) {
		say(r->reason, sizeof(r->reason), "the attestor expects log offset %" PRIu64
		    " but %s now starts at %" PRIu64 ": older segments were deleted after an "
		    "acknowledgement the attestor no longer has (its state was lost or rolled "
		    "back); a reboot starts a new log", from, a->log_path, start);
		pr_err(SUB, "%s", r->reason);
		return -ESPIPE;
	}
	if (size - from > a->o.max_log_bytes) {
		/* a part of the backlog cannot replay to the quoted PCR: the attestor would
		 * call that a lying log */
		say(r->reason, sizeof(r->reason), "%" PRIu64 " bytes of log to send, more than "
		    "max_log_bytes (%zu): raise it (and the attestor's --max-body)",
		    size - from, a->o.max_log_bytes);
		pr_err(SUB, "%s", r->reason);
		return -EFBIG;
	}
	if (from != a->acked)
		pr_info(SUB, "the attestor stands at log offset %" PRIu64 ", acknowledged here: %"
			PRIu64 "; sending from the attestor's", from, a->acked);
	q = malloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	tcl_attest_bind(ch.nonce, a->cert_sha, qual);
	rc = tcl_tpm_quote(a->tpm, qual, sizeof(qual), ch.bank, ch.pcr_mask, q);
	if (rc)
		goto out;
	/* after the quote: the bytes cover at least what the PCR covers */
	rc = tcl_attest_read_log(a->log_path, from, a->o.max_log_bytes, &log, &len);
	if (rc) {
		say(r->reason, sizeof(r->reason), "cannot read %s at %" PRIu64 ": %s",
		    a->log_path, from, strerror(-rc));
		pr_err(SUB, "%s", r->reason);
		goto out;
	}
	rc = tcl_attest_evidence_json(ch.nonce, q, from, log, len, &json, &jl);
	if (rc)
		goto out;
	rc = tcl_attest_post_evidence(a, json, jl, r);
	if (rc == -EAGAIN && r->http_status == 409 && a->log_new && r->log_offset) {
		say(r->reason, sizeof(r->reason), "the log was replaced but the TPM was not "
		    "reset: the attestor cannot replay it; re-enrol or reboot");
		pr_err(SUB, "%s", r->reason);
		rc = -ESPIPE;
	}
	if (!rc)
		pr_debug(SUB, "evidence accepted: %" PRIu64 " entries, offset %" PRIu64
			 ", verdict %s", r->accepted_entries, r->log_offset, r->verdict);
out:
	free(json);
	free(log);
	free(q);
	return rc;
}

int tcl_attest_push(struct tcl_attest *a, struct tcl_attest_result *r)
{
	struct tcl_attest_result dummy;
	bool reenrolled = false;
	int rc = 0;

	if (!r)
		r = &dummy;
	result_reset(r);
	if (!a->enrolled) {
		rc = tcl_attest_enrol(a, false, r);
		if (rc)
			return rc;
	}
	for (unsigned int n = 1; n <= a->o.max_attempts; n++) {
		if (n > 1 && r->http_status != 409 && backoff(a, n - 1))
			return -ECANCELED;
		result_reset(r);
		rc = push_once(a, r);
		if (rc == -ENOENT && !reenrolled && r->http_status == 404) {
			/* the attestor does not know this node (its state was lost) */
			pr_warn(SUB, "the attestor does not know node %s: enrolling again",
				a->node_id);
			reenrolled = true;
			rc = tcl_attest_enrol(a, true, r);
			if (rc)
				return rc;
			n--;
			continue;
		}
		if (!rc || !retryable(rc))
			break;
	}
	r->log_offset = rc ? a->acked : r->log_offset;
	return rc;
}
