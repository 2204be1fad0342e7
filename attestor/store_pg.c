// SPDX-License-Identifier: GPL-2.0
/* The PostgreSQL back end of store.h (libpq): one connection per replica, READ COMMITTED, rows
 * locked with SELECT ... FOR UPDATE; a lost connection is re-established on the next request
 * (the request that saw it fails with 503 and the node retries). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "diag.h"
#include "store.h"

#define SUB "db"

struct pg {
	PGconn *c;
	char *target;
};

static void pg_close(void *h)
{
	struct pg *p = h;

	if (!p)
		return;
	PQfinish(p->c);
	free(p->target);
	free(p);
}

static void quiet(void *arg, const PGresult *res)
{
	(void)arg;
	(void)res;	/* NOTICEs ("relation already exists, skipping") are not news */
}

static int connect_db(struct pg *p)
{
	PQfinish(p->c);
	p->c = PQconnectdb(p->target);
	if (!p->c)
		return -ENOMEM;
	if (PQstatus(p->c) != CONNECTION_OK) {
		pr_err(SUB, "postgresql: cannot connect: %s", PQerrorMessage(p->c));
		PQfinish(p->c);
		p->c = NULL;
		return -ECONNREFUSED;
	}
	PQsetNoticeReceiver(p->c, quiet, NULL);
	return 0;
}

static int pg_exec(void *h, const char *sql, int np, const char *const *params,
		   att_db_row_fn fn, void *arg)
{
	struct pg *p = h;
	const char *vals[16];
	PGresult *r;
	int rc = 0, nrow, ncol;

	/* reconnect between transactions only: inside one, the transaction is gone anyway */
	if ((!p->c || PQstatus(p->c) != CONNECTION_OK) && !strncmp(sql, "BEGIN", 5)) {
		rc = connect_db(p);
		if (rc)
			return rc;
	}
	if (!p->c)
		return -ECONNRESET;
	r = PQexecParams(p->c, sql, np, NULL, params, NULL, NULL, 0);
	switch (PQresultStatus(r)) {
	case PGRES_COMMAND_OK:
		break;
	case PGRES_TUPLES_OK:
		nrow = PQntuples(r);
		ncol = PQnfields(r);
		if (ncol > 16) {
			rc = -E2BIG;
			break;
		}
		for (int i = 0; i < nrow && !rc; i++) {
			for (int j = 0; j < ncol; j++)
				vals[j] = PQgetisnull(r, i, j) ? NULL : PQgetvalue(r, i, j);
			if (fn)
				rc = fn(arg, ncol, vals);
		}
		break;
	default: {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

		pr_err(SUB, "postgresql: %.80s: %s", sql, PQerrorMessage(p->c));
		/* 23505 unique violation; 40001/40P01 serialisation failure, deadlock */
		rc = !r ? -ENOMEM : state && !strcmp(state, "23505") ? -EEXIST :
		     state && !strncmp(state, "40", 2) ? -EBUSY :
		     PQstatus(p->c) != CONNECTION_OK ? -ECONNRESET : -EIO;
	}
	}
	PQclear(r);
	return rc;
}

static int pg_begin(void *h, bool write)
{
	(void)write;	/* rows are locked as they are read (FOR UPDATE) */
	return pg_exec(h, "BEGIN", 0, NULL, NULL, NULL);
}

static int pg_open(const char *target, void **out)
{
	struct pg *p = calloc(1, sizeof(*p));
	int rc;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->target = strdup(target);
	if (!p->target) {
		pg_close(p);
		return -ENOMEM;
	}
	rc = connect_db(p);
	if (rc) {
		pg_close(p);
		return rc;
	}
	*out = p;
	return 0;
}

const struct att_db_ops att_db_pg = {
	.name = "postgresql",
	.shared = true,
	.open = pg_open,
	.close = pg_close,
	.begin = pg_begin,
	.exec = pg_exec,
	.schema_lock = "SELECT pg_advisory_xact_lock(7415161)",
	.for_update = " FOR UPDATE",
};
