/* SPDX-License-Identifier: GPL-2.0 */
/* The attestor's state: enrolled nodes (AK, EK binding, TLS client certificate), where each
 * node's log stands (offset, replayed PCR value, TPM reset count), containers seen in the logs,
 * findings (offending entries and failed evidence, with reasons) and verdicts.
 *
 * Kept in a database (store.h: SQLite, or PostgreSQL shared by replicas), one row per node
 * holding the node in the JSON form of the former state file (format in docs/attestor.md), which
 * an existing install's state file is imported from once.  This model is each replica's cache
 * of it.  Nonces and enrolments in progress live in the database too (store.h).
 *
 * state.c the model and verdicts, state_json.c its JSON forms, state_persist.c the strict
 * loader of the JSON forms (a node's row, the state file to import).
 *
 * Verdicts are derived, never stored on their own:
 *   untrusted  any finding on the node or on one of its containers (sticky until the node
 *              re-enrols or its TPM resets, i.e. it reboots and starts a new log); a
 *              container's refusals (code the kernel refused to run under enforce mode)
 *              untrust that container only
 *   unknown    enrolled (or not) but no evidence accepted yet
 *   stale      trusted, but the last accepted evidence is older than stale_after
 *   trusted    otherwise */
#ifndef ATT_STATE_H
#define ATT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hashmap.h"
#include "log.h"
#include "revocation.h"

#define ATT_NODE_ID_MAX		253	/* a Kubernetes node name (DNS subdomain) */
#define ATT_CID_MAX		128
#define ATT_IMAGE_MAX		512
#define ATT_REASON_MAX		512
#define ATT_FINDINGS_KEPT	64	/* per node and per container; the rest are counted */
#define ATT_CONTAINERS_MAX	4096	/* per node; stopped trusted ones are dropped first */
#define ATT_NONCES		8	/* outstanding challenges per node */
#define ATT_NONCES_STR		"8"
#define ATT_NONCE_LEN		32
#define ATT_STATE_MAX_BYTES	(1024u << 20)
#define ATT_AK_PUB_MAX		1024

enum att_verdict { ATT_UNKNOWN, ATT_TRUSTED, ATT_UNTRUSTED, ATT_STALE };

/* The node agent's enforcement mode at the point of its log the attestor has reached: set by
 * agent_start records, unknown at the start of a log (and in states saved before it was kept). */
enum att_mode { ATT_MODE_UNKNOWN, ATT_MODE_AUDIT, ATT_MODE_ENFORCE };

const char *att_mode_name(enum att_mode m);	/* "unknown", "audit", "enforce" */

const char *att_verdict_name(enum att_verdict v);

/* An offending log entry, or a failed piece of evidence (offset = ATT_NO_OFFSET). */
#define ATT_NO_OFFSET UINT64_MAX
struct att_finding {
	uint64_t offset;	/* log offset of the entry */
	int64_t time;		/* unix seconds when it was found */
	char *name;		/* entry name (file or event), NULL if none */
	char *digest;		/* "sha256:<hex>", NULL if none */
	char *container_id;	/* NULL for host entries and evidence failures */
	char *reason;
};

struct att_findings {
	struct att_finding *v;	/* the first ATT_FINDINGS_KEPT */
	size_t n;
	uint64_t total;		/* including those not kept */
};

struct att_container {
	char id[ATT_CID_MAX + 1];
	char image[ATT_IMAGE_MAX + 1];
	char image_digest[72];		/* "" when the container_start record had none */
	char golden_sha256[65];		/* manifest that appraised it, "" when not verified */
	char golden_keyid[65];
	uint64_t start_offset;
	int64_t started;		/* unix seconds of the evidence that reported the start */
	bool stopped;
	uint64_t files;			/* file entries appraised */
	struct att_findings findings;
	/* exec_refused entries under enforce mode: the kernel refused code in this container.
	 * The container (and its pod) is untrusted; its node is not, since nothing ran. */
	struct att_findings refusals;
};

struct att_pending {			/* an enrolment waiting for the credential's secret */
	bool active;
	int64_t expires;		/* wall seconds */
	uint8_t secret[32];
	uint8_t ak_pub[ATT_AK_PUB_MAX];
	size_t ak_pub_len;
	char ek_sha256[65];
	char ek_cert[16];
	char tls_sha256[65];
};

struct att_node {
	char id[ATT_NODE_ID_MAX + 1];
	bool enrolled;
	/* enrolment */
	uint8_t ak_pub[ATT_AK_PUB_MAX];	/* marshalled TPM2B_PUBLIC */
	size_t ak_pub_len;
	char *ak_pem;			/* derived from ak_pub */
	char ak_name[2 * 68 + 1];	/* hex TPM name */
	char ek_sha256[65];		/* SHA-256 of the EK TPM2B_PUBLIC */
	char ek_cert[16];		/* "verified" (chain checked), "unchecked" or "none" */
	char tls_sha256[65];		/* SHA-256 of the client certificate DER */
	int64_t enrolled_at;
	/* where the log stands */
	bool have_reset_count;
	uint32_t reset_count;
	uint64_t log_offset;
	uint64_t log_entries;
	uint8_t pcr[TCL_LOG_DIGEST_MAX];	/* replayed up to log_offset, in bank pcr_bank */
	enum tcl_log_alg pcr_bank;	/* sha256 unless --pcr-bank; persisted as the length of
					 * "pcr"; chosen anew when the log restarts */
	enum att_mode mode;		/* the agent's mode at log_offset */
	/* verdict inputs */
	int64_t last_evidence;		/* unix seconds of the last accepted evidence, 0: never */
	uint64_t evidence_ok, evidence_failed;
	uint64_t unappraised;		/* host entries with no host allowlist configured */
	struct att_findings findings;	/* evidence failures and host entries */
	struct tcl_map containers;	/* id -> struct att_container */
	size_t untrusted_containers;
	/* memory only */
	int64_t db_version;		/* of the row it was read from or written to; -1: re-read */
};

struct att_state {
	char *path;			/* the state file loaded (messages), NULL */
	struct tcl_map nodes;		/* id -> struct att_node */
	/* revoked image digests and signing keys; version grows with every change and the
	 * id of a new entry is the version it made (ids are never reused) */
	struct tcl_revocation_list revocations;
};

bool att_node_id_valid(const char *s);		/* [a-z0-9]([-a-z0-9.]*[a-z0-9])?, <= 253 */
bool att_container_id_valid(const char *s);	/* [A-Za-z0-9_.-]{1,128} */

/* Load @path (absent file: empty state).  -EBADMSG with a message naming the problem when the
 * file is malformed: the attestor refuses to start rather than forget enrolments. */
int att_state_load(const char *path, struct att_state *st);
void att_state_free(struct att_state *st);
/* Frees every node and revocation (the loader's "none on error"); the path stays. */
void att_state_drop_nodes(struct att_state *st);
/* Serialise in the state file's form; *out malloc'd. */
int att_state_to_json(const struct att_state *st, char **out, size_t *len);
/* Adds the nodes in @buf to @st (all of them, or none on error). */
int att_state_from_json(const char *buf, size_t len, struct att_state *st);
/* One node in the state file's form (a database row); from_json: -EBADMSG when malformed. */
int att_node_to_json(const struct att_node *n, char **out, size_t *len);
int att_node_from_json(const char *buf, size_t len, struct att_node **out);
/* Put @n in @st, replacing (and freeing) the node of that id; -ENOMEM leaves @n the caller's. */
int att_node_replace(struct att_state *st, struct att_node *n);
void att_node_free(struct att_node *n);

/* Revocations (the caller writes the list to the database, store.h).  add: a new entry from a
 * request (kind, value, reason), stamped with a new id and @now; -EEXIST when the same kind and
 * value is revoked already (*out: that entry); -ENOSPC past TCL_REVOKE_MAX.  del: 0 or
 * -ENOENT. */
int att_revocation_add(struct att_state *st, const struct tcl_revocation *req, int64_t now,
		       const struct tcl_revocation **out);
int att_revocation_del(struct att_state *st, uint64_t id);
const struct tcl_revocation_list *att_revocations(const struct att_state *st);
const struct tcl_revocation *att_revocation_get(const struct att_state *st, uint64_t id);

struct att_node *att_node_get(struct att_state *st, const char *id);
/* Existing node or a new one (not enrolled).  -ENOSPC when @max nodes exist already. */
int att_node_get_or_add(struct att_state *st, const char *id, size_t max, struct att_node **n);
void att_node_remove(struct att_state *st, const char *id);
/* Forget what the log said: offset 0, PCR zero, containers and findings cleared. */
void att_node_reset_log(struct att_node *n);
/* Set ak_pub and derive ak_pem and ak_name. */
int att_node_set_ak(struct att_node *n, const uint8_t *pub, size_t len);

struct att_container *att_container_get(struct att_node *n, const char *id);
/* New or existing container; -ENOSPC when the node holds ATT_CONTAINERS_MAX and none can be
 * dropped. */
int att_container_add(struct att_node *n, const char *id, struct att_container **c);

/* Record a finding (strings copied, NULL allowed except reason). */
int att_finding_add(struct att_findings *f, uint64_t offset, int64_t now, const char *name,
		    const char *digest, const char *container_id, const char *reason);
int att_node_finding(struct att_node *n, uint64_t offset, int64_t now, const char *name,
		     const char *digest, const char *reason);
int att_container_finding(struct att_node *n, struct att_container *c, uint64_t offset,
			  int64_t now, const char *name, const char *digest, const char *reason);
/* A refused attempt (exec_refused under enforce mode): untrusts @c, not its node. */
int att_container_refusal(struct att_container *c, uint64_t offset, int64_t now,
			  const char *name, const char *digest, const char *reason);
void att_findings_free(struct att_findings *f);

/* Reported verdicts; *reason (may be NULL) gets a short human reason. */
/* The verdict of a node without findings (its row's columns are enough). */
enum att_verdict att_verdict_of(bool enrolled, int64_t last_evidence, int64_t now,
				int64_t stale_after, const char **reason, char *buf, size_t buflen);
enum att_verdict att_node_verdict(const struct att_node *n, int64_t now, int64_t stale_after,
				  const char **reason, char *buf, size_t buflen);
enum att_verdict att_container_verdict(const struct att_node *n, const struct att_container *c,
				       int64_t now, int64_t stale_after, char *buf,
				       size_t buflen);

struct json_object;
/* JSON views for the API (new objects). */
struct json_object *att_findings_json(const struct att_findings *f);
struct json_object *att_node_json(const struct att_node *n, int64_t now, int64_t stale_after);
struct json_object *att_container_json(const struct att_node *n, const struct att_container *c,
				       int64_t now, int64_t stale_after);

#define ATT_NONCE_PREFIX 8	/* nonces start with the database's id (store.h) */

/* Clocks used throughout: wall seconds (persisted), monotonic seconds / milliseconds. */
int64_t att_now(void);
int64_t att_mono(void);
int64_t att_mono_ms(void);

#endif
