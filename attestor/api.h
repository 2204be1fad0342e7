/* SPDX-License-Identifier: GPL-2.0 */
/* The attestor's HTTP API (JSON over HTTPS; formats in docs/attestor.md):
 *   POST /v1/nodes                      enrol: AK + EK (+ EK certificate), returns a credential
 *   POST /v1/nodes/{id}/activate        the credential's secret: enrolment complete
 *   GET  /v1/nodes/{id}/challenge       fresh single-use nonce (expires after --nonce-ttl)
 *   POST /v1/nodes/{id}/evidence        quote + PCRs + log since the last offset
 *   GET  /v1/nodes, /v1/nodes/{id}      verdicts (trusted|untrusted|unknown|stale), findings
 *   GET  /v1/containers/{id}            a container's verdict
 *   POST /scheduler/filter              kube-scheduler extender filter
 *   GET  /metrics                       Prometheus text format
 *   GET  /v1/revocations                revoked image digests and signing keys (readers)
 *   POST /v1/revocations                revoke one (admin certificate, --admin-ca)
 *   GET  /v1/revocations/{id}[/affected] one, the containers it reaches (readers)
 *   DELETE /v1/revocations/{id}         withdraw one (admin)
 *   GET  /healthz                       "ok"
 * Node calls need the node's client certificate (subject CN = node id; after enrolment, the
 * very certificate that enrolled). */
#ifndef ATT_API_H
#define ATT_API_H

#include <stdbool.h>
#include <stdint.h>

#include "appraise.h"
#include "config.h"
#include "goldcache.h"
#include "metrics.h"
#include "state.h"
#include "store.h"

struct evhttp_request;
struct parked;
typedef struct x509_store_st X509_STORE;

struct att_api {
	const struct att_config *cfg;
	struct att_state *st;		/* the cache of db (store.h) */
	struct att_db *db;
	struct att_goldcache *gc;
	struct att_allow host_allow;
	bool have_host_allow;
	X509_STORE *ek_store;		/* NULL: EK certificates optional, chain not checked */
	X509_STORE *admin_store;	/* --admin-ca; NULL: no admin calls */
	struct att_metrics m;
	struct tcl_map *verdicts;	/* during a filter call on a shared database: its rows */
	int64_t purged;			/* monotonic seconds of the last att_db_purge */
	struct parked *parked;		/* evidence waiting for golden manifest fetches */
	size_t n_parked;
};

/* Evidence requests that may wait for golden manifest fetches at a time; beyond, one that
 * needs a manifest not cached is answered 503 at once.  Every 503 says Retry-After. */
#define ATT_MAX_PARKED		256
/* Golden manifest fetches: worker threads, and fetches running or queued at a time. */
#define ATT_FETCH_THREADS	4
#define ATT_MAX_FETCHES		64
#define ATT_RETRY_AFTER		"10"

/* Loads --host-policy and --ek-ca. */
int att_api_init(struct att_api *a, const struct att_config *cfg, struct att_state *st,
		 struct att_db *db, struct att_goldcache *gc);
void att_api_free(struct att_api *a);
void att_api_handle(struct evhttp_request *req, void *arg);
/* Periodic housekeeping (every second): once a minute, nonces and enrolments long expired go
 * from the database.  Every request that changes the state commits it before its answer. */
void att_api_tick(struct att_api *a);

#endif
