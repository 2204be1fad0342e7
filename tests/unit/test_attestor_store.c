// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the attestor's database (attestor/store.c on store_sqlite.c, a temp file):
 * schema and its version, node rows (round trip, versions, re-read after a rolled back write,
 * verdict columns), the revocation list, single-use nonces, enrolments waiting for activation, the one-time import
 * of a JSON state file.  The PostgreSQL back end runs the same SQL in
 * tests/service/test_attestor_replicas.sh. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "diag.h"
#include "fileio.h"
#include "revocation.h"
#include "state.h"
#include "store.h"

struct fx {
	char dir[64];
	char db[128];
	char url[160];
	char json[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	tcl_verbosity = -1;
	assert_non_null(f);
	strcpy(f->dir, "/tmp/test_attestor_store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/state.db", f->dir);
	snprintf(f->url, sizeof(f->url), "sqlite:%s", f->db);
	snprintf(f->json, sizeof(f->json), "%s/state.json", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* A marshalled TPM2B_PUBLIC of an RSA 2048 restricted signing key (an AK). */
static size_t make_ak(uint8_t *b)
{
	static const uint8_t head[] = { 0x00, 0x01, 0x00, 0x0b, 0x00, 0x05, 0x00, 0x72, 0, 0,
		0x00, 0x10, 0x00, 0x14, 0x00, 0x0b, 0x08, 0x00, 0, 0, 0, 0, 0x01, 0x00 };
	size_t o = 2 + sizeof(head);

	memcpy(b + 2, head, sizeof(head));
	assert_int_equal(RAND_bytes(b + o, 256), 1);
	b[o] |= 0x80;
	b[o + 255] |= 1;
	o += 256;
	b[0] = (o - 2) >> 8;
	b[1] = (o - 2) & 0xff;
	return o;
}

static struct att_node *enrolled(struct att_state *st, const char *id)
{
	struct att_node *n;
	uint8_t ak[400];
	size_t len = make_ak(ak);

	assert_int_equal(att_node_get_or_add(st, id, 100, &n), 0);
	assert_int_equal(att_node_set_ak(n, ak, len), 0);
	n->enrolled = true;
	n->enrolled_at = 1700000000;
	memset(n->ek_sha256, 'e', 64);
	strcpy(n->ek_cert, "verified");
	memset(n->tls_sha256, 'a', 64);
	return n;
}

static void sql(const char *path, const char *q)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_open_schema(void **state)
{
	struct fx *f = *state;
	struct att_db *db = NULL;
	uint8_t id[ATT_NONCE_PREFIX];

	assert_int_equal(att_db_open("mysql://x", NULL, &db), -EINVAL);
	assert_int_equal(att_db_open("sqlite:", NULL, &db), -EINVAL);
	assert_int_equal(att_db_open(f->url, f->json, &db), 0);	/* no JSON: nothing to do */
	assert_false(att_db_shared(db));
	assert_string_equal(att_db_kind(db), "sqlite");
	memcpy(id, att_db_id(db), sizeof(id));
	att_db_close(db);
	/* reopened: the same database id (nonces stay valid across a restart) */
	assert_int_equal(att_db_open(f->url, NULL, &db), 0);
	assert_memory_equal(att_db_id(db), id, sizeof(id));
	att_db_close(db);
	/* written by a newer attestor: refused */
	sql(f->db, "UPDATE tcl_meta SET v = '99' WHERE k = 'schema_version'");
	assert_int_equal(att_db_open(f->url, NULL, &db), -EPROTO);
	assert_null(db);
}

static void test_nodes(void **state)
{
	struct fx *f = *state;
	struct att_state st = { 0 }, st2 = { 0 };
	struct att_db *db = NULL;
	struct att_node *n, *m;
	struct att_container *c;
	struct tcl_map vm = { 0 };
	char reason[256];

	assert_int_equal(att_db_open(f->url, NULL, &db), 0);
	n = enrolled(&st, "node-a");
	n->log_offset = 4096;
	n->last_evidence = 1700000100;
	assert_int_equal(att_container_add(n, "c1", &c), 0);
	strcpy(c->image, "reg/app:v1");
	assert_int_equal(att_db_begin(db, true), 0);
	assert_int_equal(att_db_put_node(db, n), 0);
	assert_int_equal(att_db_commit(db), 0);
	assert_int_equal(n->db_version, 1);
	assert_int_equal(att_db_verdicts(db, &vm), 0);
	assert_int_equal(vm.n, 1);
	assert_int_equal(att_db_verdict_of(tcl_map_get(&vm, "node-a"), 1700000110, 300, reason,
					   sizeof(reason)), ATT_TRUSTED);
	assert_int_equal(att_db_verdict_of(tcl_map_get(&vm, "node-a"), 1700009999, 300, reason,
					   sizeof(reason)), ATT_STALE);
	tcl_map_free(&vm, free);
	/* a finding: the row says untrusted, with the reason */
	assert_int_equal(att_node_finding(n, 4096, 1700000200, "/bin/x", NULL, "not allowed"), 0);
	assert_int_equal(att_db_begin(db, true), 0);
	assert_int_equal(att_db_put_node(db, n), 0);
	assert_int_equal(att_db_commit(db), 0);
	assert_int_equal(n->db_version, 2);
	assert_int_equal(att_db_verdicts(db, &vm), 0);
	assert_int_equal(att_db_verdict_of(tcl_map_get(&vm, "node-a"), 1700000210, 300, reason,
					   sizeof(reason)), ATT_UNTRUSTED);
	assert_string_equal(reason, "not allowed");
	tcl_map_free(&vm, free);
	/* a write rolled back: the cached node is re-read from the row before its next use */
	assert_int_equal(att_db_begin(db, true), 0);
	n->log_offset = 9999;
	assert_int_equal(att_db_put_node(db, n), 0);
	att_db_rollback(db);
	att_db_forget(&st, "node-a");
	assert_int_equal(att_db_node_fresh(db, &st, "node-a", true), 0);
	m = att_node_get(&st, "node-a");
	assert_non_null(m);
	assert_int_equal(m->log_offset, 4096);
	assert_int_equal(m->db_version, 2);
	assert_non_null(att_container_get(m, "c1"));
	/* everything again after a restart */
	att_db_close(db);
	assert_int_equal(att_db_open(f->url, NULL, &db), 0);
	assert_int_equal(att_db_load(db, &st2), 0);
	assert_int_equal(st2.nodes.n, 1);
	m = att_node_get(&st2, "node-a");
	assert_non_null(m);
	assert_true(m->enrolled);
	assert_int_equal(m->log_offset, 4096);
	assert_int_equal(m->findings.total, 1);
	assert_string_equal(att_container_get(m, "c1")->image, "reg/app:v1");
	assert_int_equal(att_db_begin(db, true), 0);
	assert_int_equal(att_db_del_node(db, "node-a"), 0);
	assert_int_equal(att_db_commit(db), 0);
	att_state_free(&st2);
	assert_int_equal(att_db_load(db, &st2), 0);
	assert_int_equal(st2.nodes.n, 0);
	/* a row that is not a node: the load fails, nothing half loaded */
	sql(f->db, "INSERT INTO tcl_nodes VALUES ('node-x', 1, 0, NULL, '{\"id\":\"node-x\"}')");
	assert_int_equal(att_db_load(db, &st2), -EBADMSG);
	assert_int_equal(st2.nodes.n, 0);
	att_db_close(db);
	att_state_free(&st);
	att_state_free(&st2);
}

static void test_revocations(void **state)
{
	struct fx *f = *state;
	struct att_state st = { 0 }, st2 = { 0 };
	const struct tcl_revocation *r;
	struct tcl_revocation req = { .kind = TCL_REVOKE_IMAGE };
	struct att_db *db = NULL;

	assert_int_equal(att_db_open(f->url, NULL, &db), 0);
	assert_int_equal(att_db_load(db, &st), 0);
	assert_int_equal(att_revocations(&st)->version, 0);
	strcpy(req.value, "sha256:");
	memset(req.value + 7, 'a', 64);
	strcpy(req.reason, "bad image");
	assert_int_equal(att_db_begin(db, true), 0);
	assert_int_equal(att_db_revocations_fresh(db, &st, true), 0);
	assert_int_equal(att_revocation_add(&st, &req, 1700000000, &r), 0);
	assert_int_equal(att_db_put_revocations(db, &st), 0);
	assert_int_equal(att_db_commit(db), 0);
	/* a change rolled back: forgotten, re-read from the row */
	assert_int_equal(att_db_begin(db, true), 0);
	req.value[7] = 'b';
	assert_int_equal(att_revocation_add(&st, &req, 1700000001, &r), 0);
	assert_int_equal(att_db_put_revocations(db, &st), 0);
	att_db_rollback(db);
	assert_int_equal(att_revocations(&st)->n, 2);
	att_db_revocations_forget(db);
	assert_int_equal(att_db_revocations_fresh(db, &st, false), 0);
	assert_int_equal(att_revocations(&st)->n, 1);
	assert_int_equal(att_revocations(&st)->version, 1);
	/* after a restart */
	att_db_close(db);
	assert_int_equal(att_db_open(f->url, NULL, &db), 0);
	assert_int_equal(att_db_load(db, &st2), 0);
	assert_int_equal(att_revocations(&st2)->version, 1);
	assert_int_equal(att_revocations(&st2)->n, 1);
	assert_string_equal(att_revocations(&st2)->v[0].reason, "bad image");
	/* a row that does not parse: the load fails */
	sql(f->db, "UPDATE tcl_revocations SET data = '{\"version\":1}'");
	att_state_free(&st2);
	assert_int_equal(att_db_load(db, &st2), -EBADMSG);
	att_db_close(db);
	att_state_free(&st);
	att_state_free(&st2);
}

static void test_nonces(void **state)
{
	struct fx *f = *state;
	uint8_t a[ATT_NONCE_LEN], b[ATT_NONCE_LEN], first[ATT_NONCE_LEN];
	struct att_db *db = NULL;

	assert_int_equal(att_db_open(f->url, NULL, &db), 0);
	assert_int_equal(att_nonce_issue(db, "n", 1000, 500, a), 0);
	assert_memory_equal(a, att_db_id(db), ATT_NONCE_PREFIX);
	assert_int_equal(att_nonce_issue(db, "n", 1000, 500, b), 0);
	assert_memory_not_equal(a, b, ATT_NONCE_LEN);
	assert_int_equal(att_nonce_take(db, "m", a, 1499), -ENOENT);	/* another node's */
	assert_int_equal(att_nonce_take(db, "n", a, 1499), 0);
	assert_int_equal(att_nonce_take(db, "n", a, 1499), -ENOENT);	/* single use */
	assert_int_equal(att_nonce_take(db, "n", b, 1500), -ETIME);	/* expired */
	assert_int_equal(att_nonce_take(db, "n", b, 1500), -ENOENT);	/* and gone */
	/* more outstanding challenges than ATT_NONCES: the one that expires first goes */
	assert_int_equal(att_nonce_issue(db, "n", 2000, 500, first), 0);
	for (int i = 1; i < ATT_NONCES; i++)
		assert_int_equal(att_nonce_issue(db, "n", 2000 + i, 500, a), 0);
	assert_int_equal(att_nonce_issue(db, "n", 3000, 500, b), 0);
	assert_int_equal(att_nonce_take(db, "n", first, 3000), -ENOENT);
	assert_int_equal(att_nonce_take(db, "n", b, 3000), 0);
	assert_int_equal(att_nonce_take(db, "n", a, 2100), 0);
	/* purge: long expired ones go, then they are unknown */
	assert_int_equal(att_nonce_issue(db, "n", 4000, 500, a), 0);
	assert_int_equal(att_db_purge(db, 4600, 50), 0);
	assert_int_equal(att_nonce_take(db, "n", a, 4600), -ENOENT);
	att_db_close(db);
}

static void test_pending(void **state)
{
	struct fx *f = *state;
	struct att_pending p = { 0 }, q;
	struct att_db *db = NULL;

	assert_int_equal(att_db_open(f->url, NULL, &db), 0);
	memset(p.secret, 7, sizeof(p.secret));
	p.ak_pub_len = make_ak(p.ak_pub);
	memset(p.ek_sha256, 'e', 64);
	strcpy(p.ek_cert, "none");
	memset(p.tls_sha256, 't', 64);
	p.expires = 1000;
	assert_int_equal(att_db_pending_get(db, "n", 900, false, &q), -ENOENT);
	assert_int_equal(att_db_pending_put(db, "n", &p), 0);
	assert_int_equal(att_db_pending_get(db, "n", 900, false, &q), 0);
	assert_true(q.active);
	assert_memory_equal(q.secret, p.secret, sizeof(p.secret));
	assert_int_equal(q.ak_pub_len, p.ak_pub_len);
	assert_memory_equal(q.ak_pub, p.ak_pub, p.ak_pub_len);
	assert_string_equal(q.ek_sha256, p.ek_sha256);
	assert_string_equal(q.ek_cert, "none");
	assert_string_equal(q.tls_sha256, p.tls_sha256);
	assert_int_equal(att_db_pending_get(db, "n", 1001, false, &q), -ENOENT);	/* expired */
	assert_int_equal(att_db_pending_del(db, "n"), 0);
	assert_int_equal(att_db_pending_get(db, "n", 900, false, &q), -ENOENT);
	/* expired ones are purged */
	assert_int_equal(att_db_pending_put(db, "n", &p), 0);
	assert_int_equal(att_db_purge(db, 1001 * 1000, 0), 0);
	sql(f->db, "UPDATE tcl_enrolments SET expires = 99999");	/* nothing left to update */
	assert_int_equal(att_db_pending_get(db, "n", 900, false, &q), -ENOENT);
	att_db_close(db);
}

static void test_import(void **state)
{
	struct fx *f = *state;
	struct att_state st = { 0 }, st2 = { 0 };
	struct att_db *db = NULL;
	char imported[160], *buf;
	size_t len;

	enrolled(&st, "node-a")->log_offset = 512;
	enrolled(&st, "node-b");
	assert_int_equal(att_state_to_json(&st, &buf, &len), 0);
	/* a corrupt file: refused, the database stays empty, the file stays */
	assert_int_equal(tcl_write_file_atomic(f->json, "{\"version\":1,\"nodes\":[{}]}", 25,
					       0600), 0);
	assert_int_equal(att_db_open(f->url, f->json, &db), -EBADMSG);
	assert_int_equal(access(f->json, F_OK), 0);
	/* imported once, renamed */
	assert_int_equal(tcl_write_file_atomic(f->json, buf, len, 0600), 0);
	assert_int_equal(att_db_open(f->url, f->json, &db), 0);
	snprintf(imported, sizeof(imported), "%s.imported", f->json);
	assert_int_equal(access(imported, F_OK), 0);
	assert_int_equal(access(f->json, F_OK), -1);
	assert_int_equal(att_db_load(db, &st2), 0);
	assert_int_equal(st2.nodes.n, 2);
	assert_int_equal(att_node_get(&st2, "node-a")->log_offset, 512);
	att_db_close(db);
	/* a state file that turns up again is not imported over the database */
	assert_int_equal(tcl_write_file_atomic(f->json, "{\"version\":1,\"nodes\":[]}", 24, 0600),
			 0);
	assert_int_equal(att_db_open(f->url, f->json, &db), 0);
	att_state_free(&st2);
	assert_int_equal(att_db_load(db, &st2), 0);
	assert_int_equal(st2.nodes.n, 2);
	att_db_close(db);
	free(buf);
	att_state_free(&st);
	att_state_free(&st2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revocations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
