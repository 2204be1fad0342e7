// SPDX-License-Identifier: GPL-2.0
/* The SQLite back end of store.h: one connection, WAL, synchronous=NORMAL (a commit is durable
 * against a crash of the attestor; a power loss may lose the last commits, which the nodes
 * resend from the older offset), busy_timeout, statements prepared once and kept. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "diag.h"
#include "hashmap.h"
#include "store.h"

#define SUB "db"

struct lite {
	sqlite3 *db;
	struct tcl_map stmts;	/* SQL text -> sqlite3_stmt */
};

static int lite_err(struct lite *l, const char *what)
{
	int code = sqlite3_errcode(l->db);

	pr_err(SUB, "sqlite: %s: %s", what, sqlite3_errmsg(l->db));
	return code == SQLITE_BUSY || code == SQLITE_LOCKED ? -EBUSY :
	       code == SQLITE_NOMEM ? -ENOMEM : code == SQLITE_CONSTRAINT ? -EEXIST : -EIO;
}

static void fin(void *p)
{
	sqlite3_finalize(p);
}

static void lite_close(void *h)
{
	struct lite *l = h;

	if (!l)
		return;
	tcl_map_free(&l->stmts, fin);
	sqlite3_close(l->db);
	free(l);
}

/* SQL with $N placeholders -> SQLite's ?N, prepared once. */
static int stmt(struct lite *l, const char *sql, sqlite3_stmt **out)
{
	sqlite3_stmt *s = tcl_map_get(&l->stmts, sql);
	char *q;
	int rc;

	if (s) {
		*out = s;
		return 0;
	}
	q = strdup(sql);
	if (!q)
		return -ENOMEM;
	for (char *p = q; *p; p++)
		if (*p == '$')
			*p = '?';
	rc = sqlite3_prepare_v2(l->db, q, -1, &s, NULL);
	free(q);
	if (rc != SQLITE_OK)
		return lite_err(l, "prepare");
	rc = tcl_map_put(&l->stmts, sql, s);
	if (rc) {
		sqlite3_finalize(s);
		return rc;
	}
	*out = s;
	return 0;
}

static int lite_exec(void *h, const char *sql, int np, const char *const *params,
		     att_db_row_fn fn, void *arg)
{
	struct lite *l = h;
	const char *vals[16];
	sqlite3_stmt *s = NULL;
	int rc, r, ncol;

	rc = stmt(l, sql, &s);
	if (rc)
		return rc;
	for (int i = 0; i < np; i++) {
		r = params[i] ? sqlite3_bind_text(s, i + 1, params[i], -1, SQLITE_STATIC) :
				sqlite3_bind_null(s, i + 1);
		if (r != SQLITE_OK) {
			rc = lite_err(l, "bind");
			goto out;
		}
	}
	ncol = sqlite3_column_count(s);
	if (ncol > 16) {
		rc = -E2BIG;
		goto out;
	}
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		for (int i = 0; i < ncol; i++)
			vals[i] = (const char *)sqlite3_column_text(s, i);
		if (fn && (rc = fn(arg, ncol, vals)))
			goto out;
	}
	if (r != SQLITE_DONE)
		rc = lite_err(l, sql);
out:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

static int lite_begin(void *h, bool write)
{
	return lite_exec(h, write ? "BEGIN IMMEDIATE" : "BEGIN", 0, NULL, NULL, NULL);
}

static int lite_open(const char *path, void **out)
{
	static const char *const pragmas[] = { "PRAGMA journal_mode=WAL",
		"PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON" };
	struct lite *l = calloc(1, sizeof(*l));
	int rc;

	*out = NULL;
	if (!l)
		return -ENOMEM;
	if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = l->db ? lite_err(l, path) : -ENOMEM;
		goto fail;
	}
	sqlite3_busy_timeout(l->db, 5000);
	for (size_t i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
		if (sqlite3_exec(l->db, pragmas[i], NULL, NULL, NULL) != SQLITE_OK) {
			rc = lite_err(l, pragmas[i]);
			goto fail;
		}
	}
	*out = l;
	return 0;
fail:
	lite_close(l);
	return rc;
}

const struct att_db_ops att_db_sqlite = {
	.name = "sqlite",
	.shared = false,
	.open = lite_open,
	.close = lite_close,
	.begin = lite_begin,
	.exec = lite_exec,
	.schema_lock = NULL,
	.for_update = "",
};
