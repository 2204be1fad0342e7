/* SPDX-License-Identifier: GPL-2.0 */
/* Log replay and appraisal: the heart of the attestor, with no I/O of its own (golden manifests
 * come through a callback), so unit tests and the fuzzer drive it directly.
 *
 * The node sends the log bytes from its last accepted offset.  They are replayed (in the bank of
 * the quote: sha256 unless --pcr-bank; each bank is extended with that bank's hash of the
 * template data) from the node's stored PCR value; the shortest prefix whose replay equals
 * the quoted PCR is accepted (the agent appends and fsyncs an entry before it extends the PCR,
 * and the client reads the log after quoting, so the bytes may run ahead of the quote; those
 * entries come back next time).  Every accepted entry is appraised:
 *   boot_aggregate (ima-ng, first entry only)  = SHA-256 of the quoted PCRs 0-9 (sha256
 *                                              bank; a quote in another bank cannot check it)
 *   "<container-id>:<path>" (ima-ng)           digest in the golden manifest of the image that
 *                                              the container's container_start named, or in
 *                                              the host allowlist (runtime binaries; before
 *                                              the container_start only the host allowlist)
 *   "<path>" (ima-ng, host file)               in the host allowlist; without one: unappraised
 *   container_start (ima-buf)                  JSON with container_id, image, image_digest:
 *                                              the image's golden manifest must verify
 *   container_stop (ima-buf)                   JSON with container_id: marks it stopped
 *   image_verify (ima-buf)                     JSON with image, image_digest, result
 *                                              ("verified"|"not_verified"), golden_manifest
 *                                              (hex SHA-256 of the manifest), keyid: when the
 *                                              node says verified, the attestor must agree
 *   records_lost (ima-buf)                     JSON with count, source ("kernel"|"agent"):
 *                                              always a node finding ("incomplete log: N
 *                                              records lost ..."): what ran may be missing
 *   agent_start (ima-buf)                      JSON with mode: the node's mode from here on
 *                                              (reset by boot_aggregate; unknown until then)
 *   exec_refused (ima-buf)                     JSON with container_id, digest, hook, path,
 *                                              reason: the kernel refused the file.  Under
 *                                              enforce mode a refusal of the container's
 *                                              (container untrusted, node not); host,
 *                                              malformed or not enforce: a node finding
 *   other ima-buf events                       recorded, not appraised
 * Anything else is a finding (an offending entry with its reason). */
#ifndef ATT_APPRAISE_H
#define ATT_APPRAISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state.h"

struct tcl_golden;
struct tcl_policy;

#define ATT_RECORD_MAX	(64u << 10)	/* ima-buf JSON records the attestor parses */
#define ATT_REFUSED_NAME_MAX	4096	/* bytes of an exec_refused path kept in a refusal */

/* Sorted SHA-256 digests (the host allowlist). */
struct att_allow {
	uint8_t (*d)[32];
	size_t n;
};
int att_allow_from_policy(const struct tcl_policy *p, struct att_allow *a);
bool att_allow_has(const struct att_allow *a, const uint8_t d[32]);
void att_allow_free(struct att_allow *a);

/* The golden manifest of @image_digest ("sha256:<hex>"; @image is the reference, for the
 * repository name).  0: *g (and *keyid, the signer) stay valid until the next evidence;
 * -EAGAIN: temporarily unavailable (registry down) — the evidence is refused and retried;
 * -EINPROGRESS: being fetched — the caller appraises again when it is;
 * other -errno: no valid golden manifest, @err says why. */
typedef int (*att_golden_fn)(void *arg, const char *image, const char *image_digest,
			     const struct tcl_golden **g, const char **keyid, char *err,
			     size_t errlen);

struct att_appraise_cfg {
	uint32_t pcr;				/* the PCR the log is extended into */
	enum tcl_log_alg bank;			/* the quote's bank: the replay's */
	size_t max_entries;			/* per evidence */
	const struct att_allow *host_allow;	/* NULL: host files are unappraised */
	att_golden_fn golden;
	void *golden_arg;
};

struct att_appraise_res {
	uint64_t accepted_len;		/* bytes of the prefix that replays to the quote */
	size_t accepted_entries;
	size_t pending_entries;		/* complete entries after that prefix, not yet quoted */
	uint8_t pcr[TCL_LOG_DIGEST_MAX];	/* the replayed value (= the quoted one on success),
					 * tcl_log_alg_size(cfg->bank) bytes */
	size_t findings;		/* new findings (node + containers) */
	size_t refusals;		/* new container refusals (exec_refused, enforce mode) */
	size_t unappraised;		/* new host entries without an allowlist */
	char error[ATT_REASON_MAX];	/* why, on failure */
};

/*
 * Replay @log (the node's bytes from n->log_offset) from n->pcr in bank cfg->bank and appraise
 * the prefix that replays to @quoted (tcl_log_alg_size(cfg->bank) bytes).  A node whose log
 * starts here (offset 0) takes cfg->bank as its n->pcr_bank; past offset 0 the banks must be
 * the same (-EXDEV otherwise).  @pcr0_9: the quoted sha256 PCRs 0-9 (10 x 32 bytes) for
 * boot_aggregate, NULL when the quote does not cover them.  On success the node moves on
 * (offset, entries, PCR, containers, findings).  Errors leave @n untouched (-ENOMEM while
 * appraising excepted):
 *   -EBADMSG  a malformed entry before the match (res->error names the offset and why)
 *   -EILSEQ   no prefix replays to @quoted
 *   -E2BIG    more than max_entries entries
 *   -EAGAIN   a golden manifest is temporarily unavailable
 *   -EINPROGRESS  golden manifests are being fetched (every one missing was asked for):
 *             appraise the same evidence again when they are
 *   -EXDEV    cfg->bank is not the bank the node's log was replayed in so far
 */
int att_appraise(const struct att_appraise_cfg *cfg, struct att_node *n, const uint8_t *log,
		 size_t len, const uint8_t *quoted, const uint8_t *pcr0_9, int64_t now,
		 struct att_appraise_res *res);

#endif
