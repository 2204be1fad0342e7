// SPDX-License-Identifier: GPL-2.0
/* The attestor's protocol, apart from HTTP: what a request's body asks, what the attestor does
 * about it and what it answers (an HTTP status and a JSON body). api.c carries it over HTTP. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "diag.h"
#include "evidence.h"
#include "jsonb.h"
#include "protocol.h"
#include "tpm.h"

#define SUB "api"

struct json_object *att_verror(const char *fmt, va_list ap)
{
	struct json_object *o = json_object_new_object();
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (o && tcl_json_add_str(o, "error", msg)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

static int __attribute__((format(printf, 3, 4))) answer_err(struct json_object **out, int code,
							     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*out = att_verror(fmt, ap);
	va_end(ap);
	return code;
}

/* ---- challenge and evidence ---- */

uint32_t att_quote_mask(const struct att_api *a)
{
	return 0x3ffu | 1u << a->cfg->pcr;
}

/* The bank a node is asked to quote: --pcr-bank, except for a node whose log was replayed in
 * another bank so far (--pcr-bank changed since): that one goes on until its log restarts. */
enum tcl_log_alg att_node_bank(const struct att_api *a, const struct att_node *n)
{
	return n->log_offset ? n->pcr_bank : (enum tcl_log_alg)a->cfg->pcr_bank;
}

/* Evidence that fails verification: the node is untrusted from now on (until it re-enrols or
 * its TPM resets), and the reason is kept as a finding. */
static int __attribute__((format(printf, 5, 6))) reject(struct att_api *a, struct att_node *n,
							struct json_object **out,
							enum att_reject why, const char *fmt, ...)
{
	struct json_object *o;
	char msg[ATT_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	a->m.evidence_rejected[why]++;
	a->m.findings++;
	n->evidence_failed++;
	att_node_finding(n, ATT_NO_OFFSET, att_now(), NULL, NULL, msg);
	pr_warn(SUB, "node %s: evidence rejected (%s): %s; node is untrusted", n->id,
		att_reject_name(why), msg);
	o = json_object_new_object();
	tcl_json_add_str(o, "error", msg);
	tcl_json_add_str(o, "reason", att_reject_name(why));
	tcl_json_add_str(o, "verdict", "untrusted");
	*out = o;
	return 422;
}

/* A quote that does not verify (tcl_tpm_verify_quote_sw's errors): why and what is said. */
static const struct {
	int rc;
	enum att_reject why;
	const char *msg;
} bad_quote[] = {
	{ -EKEYREJECTED, ATT_REJ_SIGNATURE,
	  "quote signature does not verify with the enrolled AK (forged quote)" },
	{ -ESTALE, ATT_REJ_BINDING,
	  "quote is not over SHA-256(nonce || this TLS client certificate): replayed or "
	  "relayed evidence" },
	{ -EILSEQ, ATT_REJ_PCR_DIGEST,
	  "PCR values do not match the quote's PCR selection and digest" },
	{ -EBADMSG, ATT_REJ_QUOTE,
	  "quote is malformed (not a TPMS_ATTEST quote with a TPMT_SIGNATURE)" },
};

/* Evidence whose quote verified, between its appraisals (protocol.h). */
struct att_evidence_job {
	struct att_evidence ev;
	char id[ATT_NODE_ID_MAX + 1];
	char ak_name[sizeof(((struct att_node *)0)->ak_name)];	/* the AK that quoted */
	char tls_sha256[65];					/* the enrolment's certificate */
	enum tcl_log_alg bank;
	struct tcl_tpm_quote_info info;
	unsigned rounds;
};

/* Rounds of fetches one evidence may wait for: a manifest evicted again before its evidence
 * came back (more than the cache holds fetched meanwhile) is not fetched for ever. */
#define ATT_EVIDENCE_ROUNDS 4

void att_evidence_job_free(struct att_evidence_job *j)
{
	if (!j)
		return;
	att_evidence_free(&j->ev);
	free(j);
}

/* The evidence against the node as it is now (its reset count, its offset), then its log: the
 * appraisal and the verdict.  0 when the appraisal waits for golden manifests (@w). */
static int appraise_job(struct att_api *a, struct att_node *n, struct att_evidence_job *j,
			struct att_gc_waiter *w, struct json_object **out)
{
	struct att_evidence *ev = &j->ev;
	struct att_appraise_cfg acfg;
	struct att_appraise_res res;
	struct json_object *o;
	const uint8_t *quoted;
	enum tcl_log_alg bank = j->bank;
	size_t dl = tcl_log_alg_size(bank);
	char rbuf[2 * ATT_REASON_MAX];
	const char *reason, *id = j->id;
	enum att_verdict v;
	int rc;

	if (n->have_reset_count && j->info.reset_count != n->reset_count) {
		if (ev->log_offset) {
			a->m.evidence_rejected[ATT_REJ_OFFSET]++;
			o = json_object_new_object();
			tcl_json_add_str(o, "error", "the TPM was reset (reboot) since the last "
					 "evidence: send the new log from offset 0");
			tcl_json_add_int(o, "expected_offset", 0);
			*out = o;
			return 409;
		}
		if (!j->rounds)
			pr_info(SUB, "node %s: TPM reset count %u -> %u: a new boot, a new log", id,
				n->reset_count, j->info.reset_count);
		att_node_reset_log(n);
	}
	if (ev->log_offset != n->log_offset) {
		a->m.evidence_rejected[ATT_REJ_OFFSET]++;
		o = json_object_new_object();
		tcl_json_add_str(o, "error", "log_offset is not where the attestor stands: "
				 "resend from expected_offset");
		tcl_json_add_int(o, "expected_offset", (int64_t)n->log_offset);
		*out = o;
		return 409;
	}
	/* PCR values in ascending order: 0-9, then the log PCR (--pcr is 10 or above) */
	quoted = ev->pcr_values + 10 * dl;
	acfg = (struct att_appraise_cfg){ .pcr = a->cfg->pcr, .bank = bank,
		.max_entries = a->cfg->max_entries,
		.host_allow = a->have_host_allow ? &a->host_allow : NULL,
		.golden = a->gc ? att_goldcache_get : NULL, .golden_arg = a->gc };
	if (a->gc) {
		att_goldcache_epoch(a->gc);
		att_goldcache_wait(a->gc, w);
	}
	/* boot_aggregate is SHA-256 over the sha256 bank: another bank's quote cannot check it */
	rc = att_appraise(&acfg, n, ev->log, ev->log_len, quoted,
			  bank == TCL_LOG_SHA256 ? ev->pcr_values : NULL, att_now(), &res);
	if (a->gc)
		att_goldcache_wait(a->gc, NULL);
	if (rc == -EINPROGRESS && w && w->waiting && ++j->rounds <= ATT_EVIDENCE_ROUNDS) {
		pr_debug(SUB, "node %s: evidence waits: %s", id, res.error);
		return 0;
	}
	if (rc && w && a->gc)
		att_goldcache_unwait(a->gc, w);
	switch (rc) {
	case 0:
		break;
	case -EBADMSG:
		return reject(a, n, out, ATT_REJ_LOG_MALFORMED, "%s", res.error);
	case -EILSEQ:
		return reject(a, n, out, ATT_REJ_LOG_REPLAY, "%s", res.error);
	case -E2BIG:
		a->m.evidence_rejected[ATT_REJ_MALFORMED]++;
		return answer_err(out, 413, "%s (--max-entries)", res.error);
	case -EXDEV:
		a->m.evidence_rejected[ATT_REJ_MALFORMED]++;
		return answer_err(out, 409, "%s: get a new challenge", res.error);
	case -EAGAIN:
	case -EINPROGRESS:
		a->m.evidence_rejected[ATT_REJ_UNAVAILABLE]++;
		pr_warn(SUB, "node %s: evidence deferred: %s", id, res.error);
		return answer_err(out, 503, "%s; retry later", res.error);
	default:
		return answer_err(out, 500, "%s", res.error[0] ? res.error : strerror(-rc));
	}
	n->have_reset_count = true;
	n->reset_count = j->info.reset_count;
	n->last_evidence = att_now();
	n->evidence_ok++;
	a->m.evidence_accepted++;
	a->m.entries_appraised += res.accepted_entries;
	a->m.findings += res.findings;
	a->m.refusals += res.refusals;
	v = att_node_verdict(n, att_now(), a->cfg->stale_after, &reason, rbuf, sizeof(rbuf));
	if (res.findings)
		pr_warn(SUB, "node %s: %zu offending log entries; node is %s: %s", id,
			res.findings, att_verdict_name(v), reason);
	else
		pr_debug(SUB, "node %s: %zu entries appraised, node is %s", id,
			 res.accepted_entries, att_verdict_name(v));
	o = json_object_new_object();
	tcl_json_add_str(o, "verdict", att_verdict_name(v));
	if (*reason)
		tcl_json_add_str(o, "reason", reason);
	tcl_json_add_int(o, "log_offset", (int64_t)n->log_offset);
	tcl_json_add_int(o, "accepted_entries", (int64_t)res.accepted_entries);
	tcl_json_add_int(o, "pending_entries", (int64_t)res.pending_entries);
	tcl_json_add_int(o, "findings", (int64_t)res.findings);
	tcl_json_add_int(o, "refusals", (int64_t)res.refusals);
	tcl_json_add_int(o, "unappraised", (int64_t)res.unappraised);
	/* every accepted evidence carries the whole list: a node learns a revocation at its
	 * next push, and one that missed an answer learns it at the one after */
	tcl_json_add(o, "revocations", tcl_revocation_list_json(att_revocations(a->st)));
	/* every accepted evidence carries the whole list: a node learns a revocation at its
	 * next push, and one that missed an answer learns it at the one after */
	tcl_json_add(o, "revocations", tcl_revocation_list_json(att_revocations(a->st)));
	*out = o;
	return 200;
}

int att_evidence_answer(struct att_api *a, struct att_node *n, const char *id,
			const uint8_t binding[32], const char *body, size_t len,
			struct att_gc_waiter *w, struct att_evidence_job **job,
			struct json_object **out)
{
	struct att_evidence_job *j = calloc(1, sizeof(*j));
	struct att_evidence *ev;
	uint8_t qual[32], buf[ATT_NONCE_LEN + 32];
	enum tcl_log_alg bank;
	size_t dl;
	char err[512];
	int rc, status;

	*out = NULL;
	if (job)
		*job = NULL;
	if (!j)
		return answer_err(out, 500, "out of memory");
	ev = &j->ev;
	rc = att_evidence_parse(body, len, a->cfg->max_body, a->cfg->max_body, ev, err,
				sizeof(err));
	if (rc) {
		free(j);
		a->m.evidence_rejected[ATT_REJ_MALFORMED]++;
		return answer_err(out, rc == -EFBIG ? 413 : 400, "%s", err);
	}
	if (ev->pcr_mask != att_quote_mask(a)) {
		a->m.evidence_rejected[ATT_REJ_MALFORMED]++;
		status = answer_err(out, 400, "pcr_mask must be 0x%x (PCRs 0-9 and %u)",
				    att_quote_mask(a), a->cfg->pcr);
		goto out;
	}
	/* the bank asked for in the challenge, or --pcr-bank (a node moving to it) */
	bank = tcl_log_alg_from_name(tcl_tpm_alg_name(ev->bank));
	if (bank != att_node_bank(a, n) && (int)bank != a->cfg->pcr_bank) {
		a->m.evidence_rejected[ATT_REJ_MALFORMED]++;
		status = answer_err(out, 400, "bank must be %s",
				    tcl_log_alg_name(att_node_bank(a, n)));
		goto out;
	}
	dl = tcl_log_alg_size(bank);
	if (ev->pcr_values_len != 11 * dl) {
		a->m.evidence_rejected[ATT_REJ_MALFORMED]++;
		status = answer_err(out, 400, "pcr_values must hold 11 %s values",
				    tcl_log_alg_name(bank));
		goto out;
	}
	rc = att_nonce_take(a->db, n->id, ev->nonce, att_now_ms());
	if (rc == -ENOENT && memcmp(ev->nonce, att_db_id(a->db), ATT_NONCE_PREFIX)) {
		/* issued against another database (the attestor's state was replaced): not the
		 * node's fault */
		a->m.evidence_rejected[ATT_REJ_NONCE_UNKNOWN]++;
		status = answer_err(out, 409, "the nonce is from another database of the "
				    "attestor: get a new challenge");
		goto out;
	}
	if (rc && rc != -ENOENT && rc != -ETIME) {
		a->m.evidence_rejected[ATT_REJ_UNAVAILABLE]++;
		status = answer_err(out, 503, "the attestor's database is unavailable; retry "
				    "later");
		goto out;
	}
	if (rc == -ENOENT) {
		status = reject(a, n, out, ATT_REJ_NONCE_UNKNOWN, "nonce was never issued to this "
				"node or was already used (replayed evidence)");
		goto out;
	}
	if (rc == -ETIME) {
		status = reject(a, n, out, ATT_REJ_NONCE_EXPIRED, "nonce expired (challenges are "
				"valid for %lld s)", (long long)a->cfg->nonce_ttl);
		goto out;
	}
	/* qualifying data = SHA-256(nonce || SHA-256(client certificate DER)) */
	memcpy(buf, ev->nonce, ATT_NONCE_LEN);
	memcpy(buf + ATT_NONCE_LEN, binding, 32);
	EVP_Digest(buf, sizeof(buf), qual, NULL, EVP_sha256(), NULL);
	rc = tcl_tpm_verify_quote_sw(n->ak_pem, ev->attest, ev->attest_len, ev->sig,
				     ev->sig_len, qual, sizeof(qual), ev->bank, ev->pcr_mask,
				     ev->pcr_values, ev->pcr_values_len, &j->info);
	for (size_t i = 0; rc && i < sizeof(bad_quote) / sizeof(bad_quote[0]); i++) {
		if (rc == bad_quote[i].rc) {
			status = reject(a, n, out, bad_quote[i].why, "%s", bad_quote[i].msg);
			goto out;
		}
	}
	if (rc) {
		status = answer_err(out, 500, "cannot verify the quote: %s", strerror(-rc));
		goto out;
	}
	j->bank = bank;
	snprintf(j->id, sizeof(j->id), "%s", id);
	memcpy(j->ak_name, n->ak_name, sizeof(j->ak_name));
	memcpy(j->tls_sha256, n->tls_sha256, sizeof(j->tls_sha256));
	status = appraise_job(a, n, j, job ? w : NULL, out);
	if (!status) {
		*job = j;
		return 0;
	}
out:
	att_evidence_job_free(j);
	return status;
}

int att_evidence_resume(struct att_api *a, struct att_evidence_job *j, struct att_gc_waiter *w,
			struct json_object **out)
{
	struct att_node *n = att_node_get(a->st, j->id);

	*out = NULL;
	if (w->rc) {
		a->m.evidence_rejected[ATT_REJ_UNAVAILABLE]++;
		pr_warn(SUB, "node %s: evidence deferred: %s", j->id, w->err);
		return answer_err(out, 503, "%s; retry later", w->err);
	}
	/* the node that sent it, still enrolled with the AK that quoted it */
	if (!n || !n->enrolled || strcmp(n->ak_name, j->ak_name) ||
	    strcmp(n->tls_sha256, j->tls_sha256)) {
		a->m.evidence_rejected[ATT_REJ_AUTH]++;
		return answer_err(out, 409, "node %s was enrolled again or removed while its "
				  "evidence waited for the registry: get a new challenge", j->id);
	}
	return appraise_job(a, n, j, w, out);
}
