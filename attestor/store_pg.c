// SPDX-License-Identifier: GPL-2.0
/* The PostgreSQL back end of store.h (libpq): one connection per replica, READ COMMITTED, rows
 * locked with SELECT ... FOR UPDATE, statements prepared once per connection; a lost connection
 * is re-established on the next request (the request that saw it fails with 503 and the node
 * retries). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "diag.h"
#include "hashmap.h"
#include "store.h"

#define SUB "db"

struct pg {
	PGconn *c;
	char *target;
	struct tcl_map prepared;	/* SQL text -> statement number (as a pointer) */
	size_t nprep;
};

static void pg_close(void *h)
{
	struct pg *p = h;

	if (!p)
		return;
	PQfinish(p->c);
	tcl_map_free(&p->prepared, NULL);
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
	tcl_map_free(&p->prepared, NULL);	/* statements live as long as their connection */
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
	/* statements with parameters are prepared once (parse and plan), the others sent as
	 * they are (BEGIN, COMMIT, DDL) */
	if (np) {
		char name[24];
		size_t k = (size_t)(uintptr_t)tcl_map_get(&p->prepared, sql);

		if (!k) {
			k = p->nprep + 1;
			snprintf(name, sizeof(name), "tcl%zu", k);
			r = PQprepare(p->c, name, sql, np, NULL);
			if (PQresultStatus(r) != PGRES_COMMAND_OK) {
				pr_err(SUB, "postgresql: prepare %.80s: %s", sql, PQerrorMessage(p->c));
				rc = PQstatus(p->c) != CONNECTION_OK ? -ECONNRESET : -EIO;
				PQclear(r);
				return rc;
			}
			PQclear(r);
			if (tcl_map_put(&p->prepared, sql, (void *)(uintptr_t)k))
				return -ENOMEM;
			p->nprep = k;
		}
		snprintf(name, sizeof(name), "tcl%zu", k);
		r = PQexecPrepared(p->c, name, np, params, NULL, NULL, 0);
	} else {
		r = PQexecParams(p->c, sql, 0, NULL, NULL, NULL, NULL, 0);
	}
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
