/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The attestor's protocol without its transport: a request's body in, an HTTP status and a JSON
 * body out (formats in docs/attestor.md). api.c reads the request, authenticates the node by its
 * TLS client certificate and sends the answer; nothing here knows HTTP's types.
 */
#ifndef ATT_PROTOCOL_H
#define ATT_PROTOCOL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"

struct json_object;

/* {"error": <fmt, ap>}; NULL when out of memory. */
struct json_object *att_verror(const char *fmt, va_list ap);

/* The PCRs a node quotes: 0-9 and --pcr. */
uint32_t att_quote_mask(const struct att_api *a);
/* The bank a node is asked to quote: --pcr-bank, except for a node whose log was replayed in
 * another bank so far (--pcr-bank changed since): that one goes on until its log restarts. */
enum tcl_log_alg att_node_bank(const struct att_api *a, const struct att_node *n);

/* Evidence (POST /v1/nodes/{id}/evidence) from enrolled node @n, authenticated by a TLS client
 * certificate whose DER has SHA-256 @binding: parse, check against the challenge, verify the
 * quote, appraise the log, keep the verdict. Returns the HTTP status; *out is the JSON body the
 * caller sends and releases (NULL: out of memory).
 * With @job (and the waiter @w), the appraisal does not wait for golden manifests on the
 * caller's thread: when some are being fetched it returns 0 and *job holds the evidence (its
 * nonce used, its quote verified, the node unchanged); when w->ready is called, call
 * att_evidence_resume. Without @job, a manifest not cached answers 503. */
struct att_evidence_job;
struct att_gc_waiter;
int att_evidence_answer(struct att_api *a, struct att_node *n, const char *id,
			const uint8_t binding[32], const char *body, size_t len,
			struct att_gc_waiter *w, struct att_evidence_job **job,
			struct json_object **out);
/* The fetches @w waited for have finished: the status and *out as att_evidence_answer (503
 * when the registry could not be reached: w->err), or 0 when the appraisal waits again (a
 * manifest was evicted meanwhile; a few rounds, then 503).  Checks that node is the same
 * enrolment still and that its log did not move on meanwhile (409). */
int att_evidence_resume(struct att_api *a, struct att_evidence_job *job,
			struct att_gc_waiter *w, struct json_object **out);
void att_evidence_job_free(struct att_evidence_job *job);

#endif
