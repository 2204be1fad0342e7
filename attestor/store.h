/* SPDX-License-Identifier: GPL-2.0 */
/* The attestor's database: enrolled nodes (one row each), challenge nonces, enrolments waiting
 * for activation.  Two back ends behind one small interface (struct att_db_ops):
 *   sqlite:PATH            embedded (store_sqlite.c): WAL, synchronous=NORMAL, busy_timeout;
 *                          one replica, whose memory is the truth between its own writes
 *   postgresql://... or a libpq conninfo ("host=... dbname=..."): shared by several replicas
 *                          (store_pg.c); each request re-reads what it decides on
 * Schema (created or migrated at start, version in tcl_meta):
 *   tcl_meta(k, v)                    schema_version, db_id (the nonce prefix), imported
 *   tcl_nodes(id, version, last_evidence, untrusted, data)
 *                                     data = the node in the state file's form (JSON);
 *                                     version += 1 on each write; last_evidence and untrusted
 *                                     (the reason, NULL unless untrusted) answer the
 *                                     scheduler filter without parsing data
 *   tcl_nonces(nonce, node, expires)  single use: taken with DELETE ... RETURNING
 *   tcl_enrolments(node, expires, data)
 *   tcl_revocations(k = 1, version, data)  one row: the revocation list (lib/revocation.h)
 * One transaction per request (att_db_begin .. att_db_commit).  Concurrent evidence for one
 * node is serialised by the row lock of att_db_node_fresh(lock = true) (SELECT ... FOR UPDATE
 * on PostgreSQL; SQLite holds its one write lock for the whole transaction). */
#ifndef ATT_STORE_H
#define ATT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "state.h"

#define ATT_DB_SCHEMA 1
#define ATT_DB_URL_MAX 4096

struct att_db;

/* One row of a query: @vals[i] NULL for SQL NULL. Return nonzero to stop (returned). */
typedef int (*att_db_row_fn)(void *arg, int ncols, const char *const *vals);

/* A back end.  Parameters and columns are text (NULL = SQL NULL); SQL is written once with
 * $1, $2, ... placeholders. */
struct att_db_ops {
	const char *name;
	bool shared;		/* other replicas may write: re-read before deciding */
	int (*open)(const char *target, void **h);
	void (*close)(void *h);
	/* @write: take the write lock now (SQLite BEGIN IMMEDIATE) */
	int (*begin)(void *h, bool write);
	int (*exec)(void *h, const char *sql, int np, const char *const *params,
		    att_db_row_fn fn, void *arg);
	/* serialise schema creation among replicas starting together */
	const char *schema_lock;
	const char *for_update;	/* appended to a SELECT that locks its row ("" if none) */
};

extern const struct att_db_ops att_db_sqlite, att_db_pg;

/* @url as --db takes it; @json: a state file to import once into an empty database (renamed
 * to @json.imported afterwards; absent: nothing to import).  Creates the schema. */
int att_db_open(const char *url, const char *json, struct att_db **out);
void att_db_close(struct att_db *db);
bool att_db_shared(const struct att_db *db);
const char *att_db_kind(const struct att_db *db);
/* The database's id, 8 bytes: the first bytes of each nonce it issues. */
const uint8_t *att_db_id(const struct att_db *db);

/* Every enrolled node into @st (empty). */
int att_db_load(struct att_db *db, struct att_state *st);

int att_db_begin(struct att_db *db, bool write);
int att_db_commit(struct att_db *db);
void att_db_rollback(struct att_db *db);

/* Write @n (enrolled) as its row, version + 1. */
int att_db_put_node(struct att_db *db, struct att_node *n);
int att_db_del_node(struct att_db *db, const char *id);
/* Bring node @id in @st up to the database: a no-op for a node this (unshared) replica wrote
 * last; otherwise the row is read (locked until the end of the transaction when @lock) and
 * replaces the cached node, or the node goes when it has no row.  Inside a transaction. */
int att_db_node_fresh(struct att_db *db, struct att_state *st, const char *id, bool lock);
/* Every node (shared databases only; a no-op otherwise): reads rows whose version differs. */
int att_db_sync(struct att_db *db, struct att_state *st);
/* Mark @id to be re-read before its next use (its write was rolled back). */
void att_db_forget(struct att_state *st, const char *id);

/* The revocation list into @st when the row's version differs from @st's (always on a shared
 * database; on SQLite after a write that failed), its row locked until the end of the
 * transaction when @lock (a change follows).  put: write @st's list. */
int att_db_revocations_fresh(struct att_db *db, struct att_state *st, bool lock);
int att_db_put_revocations(struct att_db *db, const struct att_state *st);
/* A revocation write was rolled back: re-read the list before its next use. */
void att_db_revocations_forget(struct att_db *db);

/* Every node's verdict columns in one query (shared databases: the scheduler filter):
 * @out maps node id -> struct att_db_verdict (free with tcl_map_free(out, free)); a node's
 * verdict from them with att_db_verdict_of. */
struct att_db_verdict {
	int64_t last_evidence;
	bool untrusted;
	char reason[];		/* why it is untrusted */
};
int att_db_verdicts(struct att_db *db, struct tcl_map *out);
enum att_verdict att_db_verdict_of(const struct att_db_verdict *r, int64_t now,
				   int64_t stale_after, char *reason, size_t len);

/* Nonces (wall-clock milliseconds, since replicas share them): issue keeps at most ATT_NONCES
 * per node (the oldest go); take: 0, -ENOENT never issued or already used, -ETIME expired
 * (consumed too). */
int att_nonce_issue(struct att_db *db, const char *node, int64_t now_ms, int64_t ttl_ms,
		    uint8_t out[ATT_NONCE_LEN]);
int att_nonce_take(struct att_db *db, const char *node, const uint8_t nonce[ATT_NONCE_LEN],
		   int64_t now_ms);

/* Enrolments waiting for activation (wall seconds). get: -ENOENT when none or expired. */
int att_db_pending_put(struct att_db *db, const char *node, const struct att_pending *p);
int att_db_pending_get(struct att_db *db, const char *node, int64_t now, bool lock,
		       struct att_pending *p);
int att_db_pending_del(struct att_db *db, const char *node);

/* Housekeeping: nonces expired more than @grace_ms ago, expired enrolments. */
int att_db_purge(struct att_db *db, int64_t now_ms, int64_t grace_ms);

/* Wall-clock milliseconds. */
int64_t att_now_ms(void);

#endif
