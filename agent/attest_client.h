/* SPDX-License-Identifier: GPL-2.0 */
/* Agent side of remote attestation: talks to tcl-attestor over HTTPS (libcurl, TLS 1.3, the
 * node's client certificate) — enrolment with credential activation, challenge, quote,
 * evidence — and remembers on disk how much of the measurement log the attestor has
 * acknowledged, so nothing is lost while the attestor is down.
 *
 * Protocol (attestor side in attestor/, formats in docs/attestor.md):
 *   enrol:    POST /v1/nodes {node_id, ek_pub, [ek_cert], ak_pub, tls_cert_sha256}
 *             -> {credential_blob, encrypted_secret}; TPM2_ActivateCredential;
 *             POST /v1/nodes/ID/activate {secret}
 *   push:     GET /v1/nodes/ID/challenge -> {nonce, pcr_mask, log_offset}
 *             TPM2_Quote(PCRs 0-9 + the log PCR, qualifying data = SHA-256(nonce ||
 *             SHA-256(client certificate DER))), then the log from the offset (read after the
 *             quote, so it covers at least what the quote covers; the attestor takes the
 *             prefix that replays to the quote), POST /v1/nodes/ID/evidence.
 *
 * State file (JSON, written atomically): attestor URL, node id, AK name, client certificate
 * hash, acknowledged log offset and the log file's identity (device, inode).  A log with
 * another identity, or shorter than the acknowledged offset, is a new log: sent from 0.
 *
 * Retries: network errors, HTTP 5xx and 409 (offset or nonce out of date) are retried with
 * exponential backoff and jitter (retry_min_ms doubling up to retry_max_ms, max_attempts
 * tries); a 404 "not enrolled" on push enrols again once (the attestor lost its state).
 * Everything else is final.  Returns: 0, or
 *   -EKEYREJECTED  the attestor refused the evidence or activation (r->reason says why; the
 *                  node is now untrusted)
 *   -EACCES        401/403 (certificate not accepted or not the enrolled one)
 *   -EINVAL        400/413 (a bug or a limit: r->reason)
 *   -ECANCELED     *stop became non-zero
 *   -EFBIG         the log not yet acknowledged is larger than max_log_bytes: it cannot be
 *                  sent in parts (a part does not replay to the quoted PCR)
 *   -ESPIPE        the attestor stands beyond the end of the log (log replaced without a
 *                  reboot): enrol again
 *   -ETIMEDOUT, -ECONNREFUSED, -EPROTO (TLS, unexpected status), -EAGAIN (503): the last
 *                  transient error once the attempts are used up
 * A struct tcl_attest is not thread safe: serialise calls (the agent calls it from one
 * thread); the struct tcl_tpm may be shared (it locks itself). */
#ifndef TCL_ATTEST_CLIENT_H
#define TCL_ATTEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpm.h"

/* Kubernetes names node N's client certificate (the kubelet's) "system:node:N". */
#define TCL_KUBELET_CN_PREFIX "system:node:"

struct tcl_attest_opts {
	const char *url;		/* https://HOST:PORT of tcl-attestor */
	const char *node_id;		/* NULL: the client certificate's subject CN, without
					 * a "system:node:" prefix (kubelet certificates) */
	const char *cert;		/* client certificate (PEM, CN = node id) */
	const char *key;		/* its private key (PEM) */
	const char *ca_file;		/* CA bundle for the attestor's certificate; NULL: system */
	const char *state_path;		/* e.g. /var/lib/tcl/attest.json */
	const char *log_path;		/* the measurement log */
	uint32_t ak_handle;		/* 0: TCL_TPM_AK_HANDLE */
	long timeout_s;			/* per request; 0: 30 */
	unsigned int retry_min_ms;	/* 0: 500 */
	unsigned int retry_max_ms;	/* 0: 60000 */
	unsigned int max_attempts;	/* per call; 0: 5 */
	size_t max_log_bytes;		/* log bytes per evidence; 0: 32 MiB (the attestor's
					 * --max-body must hold 4/3 of it) */
	const volatile int *stop;	/* may be NULL */
};

struct tcl_attest;

struct tcl_attest_result {
	int http_status;		/* of the last request, 0 if none reached the attestor */
	char verdict[16];		/* "trusted", "untrusted", ... ("" when none) */
	char reason[512];		/* the attestor's reason or error text */
	uint64_t log_offset;		/* acknowledged offset after the call */
	uint64_t accepted_entries;
	uint64_t pending_entries;	/* sent but not yet covered by a quote */
	uint64_t findings;
	/* the attestor's revocation list in the answer (revocation.h; the list itself is
	 * taken with tcl_attest_take_revocations) */
	bool have_revocations;
	uint64_t revocations_version;
	size_t revocations;
	char revocations_error[256];	/* the list in the answer did not parse */
};

/* Loads the AK (tcl_tpm_ak_ensure), the certificate and the state file.  @tpm stays the
 * caller's. */
int tcl_attest_open(const struct tcl_attest_opts *o, struct tcl_tpm *tpm,
		    struct tcl_attest **out);
void tcl_attest_close(struct tcl_attest *a);
const char *tcl_attest_node_id(const struct tcl_attest *a);
bool tcl_attest_enrolled(const struct tcl_attest *a);
uint64_t tcl_attest_acked_offset(const struct tcl_attest *a);

/* Enrol, unless the state file says this AK and certificate are enrolled with this attestor
 * (@force: enrol anyway; the attestor then starts the node's log over from offset 0). */
int tcl_attest_enrol(struct tcl_attest *a, bool force, struct tcl_attest_result *r);

/* One attestation round (see above), retried as described.  0 means the attestor took the
 * evidence; r->verdict is its verdict, which may be "untrusted". */
int tcl_attest_push(struct tcl_attest *a, struct tcl_attest_result *r);

/* The revocation list of the last accepted evidence's answer, if one came since the last
 * call: moved to *out (the caller frees it), true.  false: nothing new. */
struct tcl_revocation_list;
bool tcl_attest_take_revocations(struct tcl_attest *a, struct tcl_revocation_list *out);

/* ---- building blocks, for tests that have to misbehave on purpose ---- */

struct tcl_attest_challenge {
	uint8_t nonce[32];
	uint32_t pcr_mask;
	uint16_t bank;			/* TCL_TPM_ALG_*: the challenge's "bank", sha256
					 * when an older attestor does not say */
	uint64_t log_offset;		/* where the attestor stands in this node's log */
	long expires_in;
};

/* One try each, no retry. */
int tcl_attest_get_challenge(struct tcl_attest *a, struct tcl_attest_challenge *c,
			     struct tcl_attest_result *r);
/* SHA-256(nonce || SHA-256 of the client certificate DER): the quote's qualifying data. */
void tcl_attest_bind(const uint8_t nonce[32], const uint8_t cert_sha256[32], uint8_t out[32]);
const uint8_t *tcl_attest_cert_sha256(const struct tcl_attest *a);
/* Complete entries of the log at @path from @off, at most @max bytes (malloc'd; *len may be
 * 0).  -ESPIPE when @off is beyond the end of the log. */
int tcl_attest_read_log(const char *path, uint64_t off, size_t max, uint8_t **buf,
			size_t *len);
/* The evidence body; *json malloc'd. */
int tcl_attest_evidence_json(const uint8_t nonce[32], const struct tcl_tpm_quote *q,
			     uint64_t log_offset, const uint8_t *log, size_t log_len, char **json,
			     size_t *len);
/* POST it once; on 200 the acknowledged offset is stored.  409 gives -EAGAIN with
 * r->log_offset = the attestor's expected offset. */
int tcl_attest_post_evidence(struct tcl_attest *a, const char *json, size_t len,
			     struct tcl_attest_result *r);

#endif
