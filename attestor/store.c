// SPDX-License-Identifier: GPL-2.0
/* The attestor's database (store.h): the SQL, written once for both back ends. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/rand.h>

#include "canonjson.h"
#include "diag.h"
#include "fileio.h"
#include "hexb64.h"
#include "jsonb.h"
#include "revocation.h"
#include "store.h"

#define SUB "db"

struct att_db {
	const struct att_db_ops *ops;
	void *h;
	uint8_t id[ATT_NONCE_PREFIX];
	bool in_tx;
	bool revs_stale;	/* re-read the revocation list (a write of it failed) */
};

int64_t att_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool att_db_shared(const struct att_db *db)
{
	return db->ops->shared;
}

const char *att_db_kind(const struct att_db *db)
{
	return db->ops->name;
}

const uint8_t *att_db_id(const struct att_db *db)
{
	return db->id;
}

static int run(struct att_db *db, const char *sql, int np, const char *const *p,
	       att_db_row_fn fn, void *arg)
{
	return db->ops->exec(db->h, sql, np, p, fn, arg);
}

int att_db_begin(struct att_db *db, bool write)
{
	int rc = db->ops->begin(db->h, write);

	db->in_tx = !rc;
	return rc;
}

int att_db_commit(struct att_db *db)
{
	int rc = run(db, "COMMIT", 0, NULL, NULL, NULL);

	if (rc)
		att_db_rollback(db);
	db->in_tx = false;
	return rc;
}

void att_db_rollback(struct att_db *db)
{
	if (db->in_tx)
		run(db, "ROLLBACK", 0, NULL, NULL, NULL);
	db->in_tx = false;
}

/* ---- small row readers ---- */

struct one {
	char v[128];
	bool found;
};

static int first_col(void *arg, int ncols, const char *const *vals)
{
	struct one *o = arg;

	o->found = true;
	snprintf(o->v, sizeof(o->v), "%s", ncols > 0 && vals[0] ? vals[0] : "");
	return 0;
}

static int count_rows(void *arg, int ncols, const char *const *vals)
{
	(*(size_t *)arg)++;
	return 0;
}

/* ---- schema ---- */

static const char *const schema[] = {
	"CREATE TABLE IF NOT EXISTS tcl_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS tcl_nodes (id TEXT PRIMARY KEY, version BIGINT NOT NULL, "
	"last_evidence BIGINT NOT NULL, untrusted TEXT, data TEXT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS tcl_nonces (nonce TEXT PRIMARY KEY, node TEXT NOT NULL, "
	"expires BIGINT NOT NULL)",
	"CREATE INDEX IF NOT EXISTS tcl_nonces_node ON tcl_nonces (node, expires)",
	"CREATE TABLE IF NOT EXISTS tcl_enrolments (node TEXT PRIMARY KEY, expires BIGINT NOT "
	"NULL, data TEXT NOT NULL)",
	/* one row that always exists, so that FOR UPDATE has something to lock */
	"CREATE TABLE IF NOT EXISTS tcl_revocations (k INTEGER PRIMARY KEY CHECK (k = 1), "
	"version BIGINT NOT NULL, data TEXT NOT NULL)",
	"INSERT INTO tcl_revocations (k, version, data) VALUES (1, 0, "
	"'{\"entries\":[],\"version\":0}') ON CONFLICT (k) DO NOTHING",
};

static int meta_get(struct att_db *db, const char *k, struct one *o)
{
	const char *p[] = { k };

	memset(o, 0, sizeof(*o));
	return run(db, "SELECT v FROM tcl_meta WHERE k = $1", 1, p, first_col, o);
}

static int meta_put(struct att_db *db, const char *k, const char *v)
{
	const char *p[] = { k, v };

	return run(db, "INSERT INTO tcl_meta (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE "
		   "SET v = excluded.v", 2, p, NULL, NULL);
}

static int create_schema(struct att_db *db)
{
	char hex[2 * ATT_NONCE_PREFIX + 1], num[16];
	struct one o;
	long ver;
	int rc;

	rc = att_db_begin(db, true);
	if (!rc && db->ops->schema_lock)
		rc = run(db, db->ops->schema_lock, 0, NULL, NULL, NULL);
	for (size_t i = 0; !rc && i < sizeof(schema) / sizeof(schema[0]); i++)
		rc = run(db, schema[i], 0, NULL, NULL, NULL);
	if (!rc)
		rc = meta_get(db, "schema_version", &o);
	if (rc)
		goto fail;
	if (!o.found) {
		uint8_t id[ATT_NONCE_PREFIX];

		if (RAND_bytes(id, sizeof(id)) != 1) {
			rc = -EIO;
			goto fail;
		}
		tcl_hex(id, sizeof(id), hex);
		snprintf(num, sizeof(num), "%d", ATT_DB_SCHEMA);
		rc = meta_put(db, "schema_version", num) ?: meta_put(db, "db_id", hex);
		if (rc)
			goto fail;
		pr_info(SUB, "%s: schema version %d created", db->ops->name, ATT_DB_SCHEMA);
	} else {
		ver = strtol(o.v, NULL, 10);
		/* migrations from older versions go here, each one step up */
		if (ver != ATT_DB_SCHEMA) {
			pr_err(SUB, "the database has schema version %ld, this tcl-attestor knows "
			       "%d: refusing to use it", ver, ATT_DB_SCHEMA);
			rc = -EPROTO;
			goto fail;
		}
	}
	rc = meta_get(db, "db_id", &o);
	if (rc)
		goto fail;
	if (strlen(o.v) != 2 * ATT_NONCE_PREFIX || tcl_unhex(o.v, db->id, ATT_NONCE_PREFIX)) {
		pr_err(SUB, "tcl_meta: db_id is malformed");
		rc = -EBADMSG;
		goto fail;
	}
	return att_db_commit(db);
fail:
	att_db_rollback(db);
	return rc;
}

/* ---- nodes ---- */

int att_db_put_node(struct att_db *db, struct att_node *n)
{
	char *data = NULL, le[24], rbuf[2 * ATT_REASON_MAX];
	const char *reason;
	struct one o = { 0 };
	size_t len;
	int rc;

	rc = att_node_to_json(n, &data, &len);
	if (rc)
		return rc;
	snprintf(le, sizeof(le), "%" PRId64, n->last_evidence);
	/* the stored reason of an untrusted node; the others' verdicts depend on the time */
	if (att_node_verdict(n, 0, 0, &reason, rbuf, sizeof(rbuf)) != ATT_UNTRUSTED)
		reason = NULL;
	{
		const char *p[] = { n->id, le, reason, data };

		rc = run(db, "INSERT INTO tcl_nodes (id, version, last_evidence, untrusted, data) "
			 "VALUES ($1, 1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET version = "
			 "tcl_nodes.version + 1, last_evidence = excluded.last_evidence, "
			 "untrusted = excluded.untrusted, data = excluded.data RETURNING version",
			 4, p, first_col, &o);
	}
	free(data);
	if (!rc)
		n->db_version = strtoll(o.v, NULL, 10);
	return rc;
}

int att_db_del_node(struct att_db *db, const char *id)
{
	const char *p[] = { id };

	return run(db, "DELETE FROM tcl_nodes WHERE id = $1", 1, p, NULL, NULL);
}

struct fresh {
	struct att_state *st;
	const char *id;
	int rc;
	bool found;
};

/* A row (id, version, data or NULL when the cached version is current). */
static int take_row(void *arg, int ncols, const char *const *v)
{
	struct fresh *f = arg;
	struct att_node *n = NULL;
	int rc;

	f->found = true;
	if (!v[2])
		return 0;
	rc = att_node_from_json(v[2], strlen(v[2]), &n);
	if (!rc && strcmp(n->id, v[0]))
		rc = -EBADMSG;
	if (!rc) {
		n->db_version = strtoll(v[1], NULL, 10);
		rc = att_node_replace(f->st, n);
	}
	if (rc) {
		pr_err(SUB, "node %s: cannot use its row: %s", v[0], strerror(-rc));
		att_node_free(n);
	}
	return rc;
}

int att_db_node_fresh(struct att_db *db, struct att_state *st, const char *id, bool lock)
{
	struct att_node *n = att_node_get(st, id);
	struct fresh f = { .st = st, .id = id };
	char ver[24], sql[256];
	int rc;

	if (!db->ops->shared && (!n || n->db_version >= 0))
		return 0;	/* this replica wrote it last, or there is no row */
	snprintf(ver, sizeof(ver), "%" PRId64, n ? n->db_version : -1);
	snprintf(sql, sizeof(sql), "SELECT id, version, CASE WHEN version = $2 THEN NULL ELSE "
		 "data END FROM tcl_nodes WHERE id = $1%s", lock ? db->ops->for_update : "");
	{
		const char *p[] = { id, ver };

		rc = run(db, sql, 2, p, take_row, &f);
	}
	if (!rc && !f.found && n)
		att_node_remove(st, id);
	return rc;
}

void att_db_forget(struct att_state *st, const char *id)
{
	struct att_node *n = att_node_get(st, id);

	if (n)
		n->db_version = -1;
}

struct sync {
	struct att_state *st;
	struct tcl_map seen;
	char **want;
	size_t nwant;
};

static int sync_row(void *arg, int ncols, const char *const *v)
{
	struct sync *s = arg;
	struct att_node *n = att_node_get(s->st, v[0]);
	char **w;

	if (tcl_map_put(&s->seen, v[0], (void *)1))
		return -ENOMEM;
	if (n && n->db_version == strtoll(v[1], NULL, 10))
		return 0;
	w = realloc(s->want, (s->nwant + 1) * sizeof(*w));
	if (!w)
		return -ENOMEM;
	s->want = w;
	s->want[s->nwant] = strdup(v[0]);
	return s->want[s->nwant++] ? 0 : -ENOMEM;
}

struct gone {
	struct tcl_map *seen;
	char **ids;
	size_t n;
	int rc;
};

static void find_gone(void *val, void *arg)
{
	struct att_node *n = val;
	struct gone *g = arg;
	char **ids;

	if (g->rc || tcl_map_get(g->seen, n->id))
		return;
	ids = realloc(g->ids, (g->n + 1) * sizeof(*ids));
	if (!ids) {
		g->rc = -ENOMEM;
		return;
	}
	g->ids = ids;
	g->ids[g->n++] = n->id;
}

int att_db_sync(struct att_db *db, struct att_state *st)
{
	struct sync s = { .st = st };
	struct gone g = { .seen = &s.seen };
	struct fresh f = { .st = st };
	char *list = NULL;
	size_t len = 0;
	int rc;

	if (!db->ops->shared)
		return 0;
	rc = run(db, "SELECT id, version FROM tcl_nodes", 0, NULL, sync_row, &s);
	if (!rc) {
		tcl_map_each(&st->nodes, find_gone, &g);
		rc = g.rc;
	}
	for (size_t i = 0; !rc && i < g.n; i++) {
		char id[ATT_NODE_ID_MAX + 1];

		snprintf(id, sizeof(id), "%s", g.ids[i]);
		att_node_remove(st, id);
	}
	/* the changed rows in one query: {id,id,...} (node ids need no quoting) */
	for (size_t i = 0; !rc && i < s.nwant; i++)
		len += strlen(s.want[i]) + 1;
	if (!rc && s.nwant) {
		list = malloc(len + 2);
		if (!list)
			rc = -ENOMEM;
	}
	if (!rc && s.nwant) {
		char *p = list;
		const char *params[1] = { list };

		*p++ = '{';
		for (size_t i = 0; i < s.nwant; i++)
			p += sprintf(p, "%s%s", i ? "," : "", s.want[i]);
		*p++ = '}';
		*p = '\0';
		rc = run(db, "SELECT id, version, data FROM tcl_nodes WHERE id = ANY($1::text[])",
			 1, params, take_row, &f);
	}
	free(list);
	for (size_t i = 0; i < s.nwant; i++)
		free(s.want[i]);
	free(s.want);
	free(g.ids);
	tcl_map_free(&s.seen, NULL);
	return rc;
}

/* ---- revocations ---- */

struct rrow {
	struct att_state *st;
	int rc;
};

/* (version, data or NULL when the cached version is current) */
static int revs_row(void *arg, int ncols, const char *const *v)
{
	struct rrow *r = arg;
	struct tcl_revocation_list l = { 0 };
	char err[256];

	if (!v[1])
		return 0;
	if (tcl_revocation_list_parse(v[1], strlen(v[1]), &l, err, sizeof(err)) ||
	    l.version != (uint64_t)strtoull(v[0], NULL, 10)) {
		pr_err(SUB, "tcl_revocations: %s", err[0] ? err : "version mismatch");
		tcl_revocation_list_free(&l);
		r->rc = -EBADMSG;
		return r->rc;
	}
	tcl_revocation_list_free(&r->st->revocations);
	r->st->revocations = l;
	return 0;
}

static int revs_read(struct att_db *db, struct att_state *st, bool lock, bool force)
{
	struct rrow r = { .st = st };
	char ver[24], sql[160];
	const char *p[] = { ver };
	int rc;

	snprintf(ver, sizeof(ver), "%lld", force ? -1LL : (long long)st->revocations.version);
	snprintf(sql, sizeof(sql), "SELECT version, CASE WHEN version = $1 THEN NULL ELSE data "
		 "END FROM tcl_revocations WHERE k = 1%s", lock ? db->ops->for_update : "");
	rc = run(db, sql, 1, p, revs_row, &r);
	if (!rc)
		db->revs_stale = false;
	return rc ?: r.rc;
}

int att_db_revocations_fresh(struct att_db *db, struct att_state *st, bool lock)
{
	if (!db->ops->shared && !db->revs_stale)
		return 0;
	return revs_read(db, st, lock, db->revs_stale);
}

void att_db_revocations_forget(struct att_db *db)
{
	db->revs_stale = true;
}

int att_db_put_revocations(struct att_db *db, const struct att_state *st)
{
	char *text = NULL, ver[24];
	size_t len;
	int rc = tcl_revocation_list_text(&st->revocations, &text, &len);

	if (rc)
		return rc;
	snprintf(ver, sizeof(ver), "%llu", (unsigned long long)st->revocations.version);
	{
		const char *p[] = { ver, text };

		rc = run(db, "UPDATE tcl_revocations SET version = $1, data = $2 WHERE k = 1", 2, p,
			 NULL, NULL);
	}
	free(text);
	return rc;
}

static int verdict_row(void *arg, int ncols, const char *const *v)
{
	const char *why = v[2] ? v[2] : "";
	struct att_db_verdict *r = malloc(sizeof(*r) + strlen(why) + 1);

	if (!r)
		return -ENOMEM;
	r->last_evidence = strtoll(v[1], NULL, 10);
	r->untrusted = v[2] != NULL;
	strcpy(r->reason, why);
	if (tcl_map_put(arg, v[0], r)) {
		free(r);
		return -ENOMEM;
	}
	return 0;
}

int att_db_verdicts(struct att_db *db, struct tcl_map *out)
{
	int rc = run(db, "SELECT id, last_evidence, untrusted FROM tcl_nodes", 0, NULL,
		     verdict_row, out);

	if (rc)
		tcl_map_free(out, free);
	return rc;
}

enum att_verdict att_db_verdict_of(const struct att_db_verdict *r, int64_t now,
				   int64_t stale_after, char *reason, size_t len)
{
	enum att_verdict v;
	const char *why;

	if (r->untrusted) {
		snprintf(reason, len, "%s", r->reason);
		return ATT_UNTRUSTED;
	}
	v = att_verdict_of(true, r->last_evidence, now, stale_after, &why, reason, len);
	if (why != reason)
		snprintf(reason, len, "%s", why);
	return v;
}

static int load_row(void *arg, int ncols, const char *const *v)
{
	struct fresh f = { .st = arg };

	return take_row(&f, ncols, v);
}

int att_db_load(struct att_db *db, struct att_state *st)
{
	int rc = att_db_begin(db, false);

	if (!rc)
		rc = run(db, "SELECT id, version, data FROM tcl_nodes", 0, NULL, load_row, st);
	if (!rc)
		rc = revs_read(db, st, false, true);
	if (rc) {
		att_db_rollback(db);
		att_state_drop_nodes(st);
		return rc;
	}
	return att_db_commit(db);
}

/* ---- nonces ---- */

int att_nonce_issue(struct att_db *db, const char *node, int64_t now_ms, int64_t ttl_ms,
		    uint8_t out[ATT_NONCE_LEN])
{
	char hex[2 * ATT_NONCE_LEN + 1], exp[24];
	int rc;

	memcpy(out, db->id, ATT_NONCE_PREFIX);
	if (RAND_bytes(out + ATT_NONCE_PREFIX, ATT_NONCE_LEN - ATT_NONCE_PREFIX) != 1)
		return -EIO;
	tcl_hex(out, ATT_NONCE_LEN, hex);
	snprintf(exp, sizeof(exp), "%" PRId64, now_ms + ttl_ms);
	{
		const char *p[] = { hex, node, exp };
		const char *q[] = { node };

		rc = run(db, "INSERT INTO tcl_nonces (nonce, node, expires) VALUES ($1, $2, $3)",
			 3, p, NULL, NULL);
		/* at most ATT_NONCES outstanding: the one that expires first goes */
		if (!rc)
			rc = run(db, "DELETE FROM tcl_nonces WHERE node = $1 AND nonce NOT IN "
				 "(SELECT nonce FROM tcl_nonces WHERE node = $1 ORDER BY expires "
				 "DESC LIMIT " ATT_NONCES_STR ")", 1, q, NULL, NULL);
	}
	return rc;
}

int att_nonce_take(struct att_db *db, const char *node, const uint8_t nonce[ATT_NONCE_LEN],
		   int64_t now_ms)
{
	char hex[2 * ATT_NONCE_LEN + 1];
	const char *p[] = { hex, node };
	struct one o;
	int rc;

	memset(&o, 0, sizeof(o));
	tcl_hex(nonce, ATT_NONCE_LEN, hex);
	rc = run(db, "DELETE FROM tcl_nonces WHERE nonce = $1 AND node = $2 RETURNING expires",
		 2, p, first_col, &o);
	if (rc)
		return rc;
	if (!o.found)
		return -ENOENT;
	return strtoll(o.v, NULL, 10) <= now_ms ? -ETIME : 0;
}

/* ---- enrolments waiting for activation ---- */

int att_db_pending_put(struct att_db *db, const char *node, const struct att_pending *p)
{
	struct json_object *o = json_object_new_object();
	char exp[24];
	const char *s;
	int rc = 0;

	if (!o)
		return -ENOMEM;
	rc |= tcl_json_add_b64(o, "secret", p->secret, sizeof(p->secret));
	rc |= tcl_json_add_b64(o, "ak_pub", p->ak_pub, p->ak_pub_len);
	rc |= tcl_json_add_str(o, "ek_sha256", p->ek_sha256);
	rc |= tcl_json_add_str(o, "ek_cert", p->ek_cert);
	rc |= tcl_json_add_str(o, "tls_sha256", p->tls_sha256);
	s = rc ? NULL : json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	snprintf(exp, sizeof(exp), "%" PRId64, p->expires);
	if (!s) {
		rc = -ENOMEM;
	} else {
		const char *q[] = { node, exp, s };

		rc = run(db, "INSERT INTO tcl_enrolments (node, expires, data) VALUES ($1, $2, $3) "
			 "ON CONFLICT (node) DO UPDATE SET expires = excluded.expires, data = "
			 "excluded.data", 3, q, NULL, NULL);
	}
	json_object_put(o);
	return rc;
}

struct prow {
	struct att_pending *p;
	bool found;
	int rc;
};

static int b64_field(struct json_object *o, const char *k, uint8_t *dst, size_t cap,
		     size_t *len)
{
	struct json_object *v;
	uint8_t *buf = NULL;
	size_t n = 0;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string) ||
	    tcl_b64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v), cap,
			   &buf, &n))
		return -EBADMSG;
	memcpy(dst, buf, n);
	free(buf);
	*len = n;
	return 0;
}

static int str_field(struct json_object *o, const char *k, char *dst, size_t cap)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) >= cap)
		return -EBADMSG;
	memcpy(dst, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
	return 0;
}

static int pending_row(void *arg, int ncols, const char *const *v)
{
	struct prow *r = arg;
	struct json_object *o = NULL;
	size_t sl = 0;

	r->found = true;
	r->p->expires = strtoll(v[0], NULL, 10);
	if (tcl_json_parse("enrolment", v[1], strlen(v[1]), 65536, &o) ||
	    b64_field(o, "secret", r->p->secret, sizeof(r->p->secret), &sl) ||
	    sl != sizeof(r->p->secret) ||
	    b64_field(o, "ak_pub", r->p->ak_pub, sizeof(r->p->ak_pub), &r->p->ak_pub_len) ||
	    str_field(o, "ek_sha256", r->p->ek_sha256, sizeof(r->p->ek_sha256)) ||
	    str_field(o, "ek_cert", r->p->ek_cert, sizeof(r->p->ek_cert)) ||
	    str_field(o, "tls_sha256", r->p->tls_sha256, sizeof(r->p->tls_sha256)))
		r->rc = -EBADMSG;
	json_object_put(o);
	return 0;
}

int att_db_pending_get(struct att_db *db, const char *node, int64_t now, bool lock,
		       struct att_pending *p)
{
	struct prow r = { .p = p };
	char sql[128];
	const char *q[] = { node };
	int rc;

	memset(p, 0, sizeof(*p));
	snprintf(sql, sizeof(sql), "SELECT expires, data FROM tcl_enrolments WHERE node = $1%s",
		 lock ? db->ops->for_update : "");
	rc = run(db, sql, 1, q, pending_row, &r);
	if (!rc)
		rc = r.rc;
	if (!rc && (!r.found || p->expires < now))
		rc = -ENOENT;
	if (rc != -EBADMSG)
		p->active = !rc;
	return rc;
}

int att_db_pending_del(struct att_db *db, const char *node)
{
	const char *q[] = { node };

	return run(db, "DELETE FROM tcl_enrolments WHERE node = $1", 1, q, NULL, NULL);
}

int att_db_purge(struct att_db *db, int64_t now_ms, int64_t grace_ms)
{
	char a[24], b[24];
	const char *p[] = { a }, *q[] = { b };
	int rc;

	snprintf(a, sizeof(a), "%" PRId64, now_ms - grace_ms);
	snprintf(b, sizeof(b), "%" PRId64, now_ms / 1000);
	rc = att_db_begin(db, true);
	if (!rc)
		rc = run(db, "DELETE FROM tcl_nonces WHERE expires < $1", 1, p, NULL, NULL);
	if (!rc)
		rc = run(db, "DELETE FROM tcl_enrolments WHERE expires < $1", 1, q, NULL, NULL);
	if (rc) {
		att_db_rollback(db);
		return rc;
	}
	return att_db_commit(db);
}

/* ---- open, import ---- */

static int import_json(struct att_db *db, const char *json)
{
	struct att_state st = { 0 };
	char imported[4096];
	size_t count = 0;
	void **vals = NULL;
	size_t n = 0;
	struct one o;
	int rc;

	if (!json || access(json, F_OK))
		return 0;
	snprintf(imported, sizeof(imported), "%s.imported", json);
	rc = att_db_begin(db, true);
	if (!rc)
		rc = meta_get(db, "imported", &o);
	if (!rc)
		rc = run(db, "SELECT id FROM tcl_nodes LIMIT 1", 0, NULL, count_rows, &count);
	if (rc)
		goto fail;
	if (o.found || count) {
		att_db_rollback(db);
		pr_warn(SUB, "%s: not imported, the database holds nodes already%s", json,
			o.found ? " (imported before)" : "");
		return 0;
	}
	rc = att_state_load(json, &st);
	if (rc)
		goto fail;
	if (!rc)
		rc = tcl_map_sorted(&st.nodes, &vals, &n);
	for (size_t i = 0; !rc && i < n; i++)
		rc = att_db_put_node(db, vals[i]);
	free(vals);
	if (!rc)
		rc = att_db_put_revocations(db, &st);
	if (!rc)
		rc = meta_put(db, "imported", json);
	if (rc)
		goto fail;
	rc = att_db_commit(db);
	if (rc)
		goto out;
	if (rename(json, imported)) {
		rc = -errno;
		pr_err(SUB, "cannot rename %s to %s: %s", json, imported, strerror(errno));
		goto out;
	}
	pr_info(SUB, "imported %zu nodes and %zu revocations from %s (now %s)", n,
		st.revocations.n, json, imported);
	goto out;
fail:
	att_db_rollback(db);
	pr_err(SUB, "%s: import failed: %s", json, strerror(-rc));
out:
	att_state_free(&st);
	return rc;
}

int att_db_open(const char *url, const char *json, struct att_db **out)
{
	const struct att_db_ops *ops;
	const char *target;
	struct att_db *db;
	int rc;

	*out = NULL;
	if (!strncmp(url, "sqlite:", 7) && url[7]) {
		ops = &att_db_sqlite;
		target = url + 7;
	} else if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11)) {
		ops = &att_db_pg;
		target = url;
	} else if (!strncmp(url, "postgresql:", 11) && url[11]) {
		ops = &att_db_pg;
		target = url + 11;	/* a libpq conninfo: "host=... dbname=..." */
	} else {
		pr_err(SUB, "--db %.64s: want sqlite:PATH, postgresql://... or "
		       "postgresql:CONNINFO", url);
		return -EINVAL;
	}
	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->ops = ops;
	rc = ops->open(target, &db->h);
	if (!rc)
		rc = create_schema(db);
	if (!rc)
		rc = import_json(db, json);
	if (rc) {
		att_db_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

void att_db_close(struct att_db *db)
{
	if (!db)
		return;
	db->ops->close(db->h);
	free(db);
}
