// SPDX-License-Identifier: GPL-2.0
/* Unit tests for revocations: the shared format (lib/revocation.c: parsing, the strict checks,
 * matching by image digest and by signing key), the attestor's list in its state
 * (attestor/state.c: ids, versions, persistence round trip, the loader's checks) and what a
 * revocation reaches (attestor/revoke.c); the agent's copy (agent/revocations.c: the keys that
 * verified its images, its state file, updates). */
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
#include <json-c/json.h>

#include "fileio.h"
#include "revocation.h"
#include "revoke.h"	/* attestor/revoke.h: what a revocation reaches */
#include "revocations.h"	/* agent/: the agent's revocations and image keys */
#include "state.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define K1 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define K2 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static int parse_req(const char *text, struct tcl_revocation *r, char *err, size_t len)
{
	struct json_object *o = json_tokener_parse(text);
	int rc;

	assert_non_null(o);
	rc = tcl_revocation_from_json(o, true, r, err, len);
	json_object_put(o);
	return rc;
}

static void test_request(void **state)
{
	struct tcl_revocation r;
	char err[256];

	(void)state;
	assert_int_equal(parse_req("{\"kind\":\"image\",\"digest\":\"" D1 "\",\"reason\":\"cve\"}",
				   &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, TCL_REVOKE_IMAGE);
	assert_string_equal(r.value, D1);
	assert_string_equal(r.reason, "cve");
	/* a key's bare id is normalised to its fingerprint */
	assert_int_equal(parse_req("{\"kind\":\"key\",\"fingerprint\":\"" K1 "\",\"reason\":\"x\"}",
				   &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, TCL_REVOKE_KEY);
	assert_string_equal(r.value, "sha256:" K1);

	static const struct {
		const char *body, *says;
	} bad[] = {
		{ "{\"kind\":\"tag\",\"digest\":\"" D1 "\",\"reason\":\"x\"}", "\"kind\" must be" },
		{ "{\"digest\":\"" D1 "\",\"reason\":\"x\"}", "\"kind\"" },
		{ "{\"kind\":\"image\",\"digest\":\"sha256:11\",\"reason\":\"x\"}", "\"digest\" must" },
		{ "{\"kind\":\"image\",\"digest\":\"sha256:" K1 "A\",\"reason\":\"x\"}",
		  "\"digest\" must" },
		{ "{\"kind\":\"image\",\"digest\":\"sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
		  "\"reason\":\"x\"}", "lower-case" },
		{ "{\"kind\":\"image\",\"fingerprint\":\"" D1 "\",\"reason\":\"x\"}", "no other name" },
		{ "{\"kind\":\"image\",\"digest\":\"" D1 "\"}", "\"reason\" is required" },
		{ "{\"kind\":\"image\",\"digest\":\"" D1 "\",\"reason\":\"\"}", "\"reason\" is required" },
		{ "{\"kind\":\"image\",\"digest\":\"" D1 "\",\"reason\":\"x\",\"id\":3}", "unknown key" },
		{ "{\"kind\":\"image\",\"digest\":\"" D1 "\",\"reason\":\"x\",\"colour\":1}",
		  "unknown key \"colour\"" },
		{ "[1]", "JSON object" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(parse_req(bad[i].body, &r, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].says))
			fail_msg("%s: error \"%s\" does not say \"%s\"", bad[i].body, err,
				 bad[i].says);
	}
	/* a reason over the limit */
	{
		char body[600];

		snprintf(body, sizeof(body), "{\"kind\":\"image\",\"digest\":\"%s\",\"reason\":\"%0*d\"}",
			 D1, TCL_REVOKE_REASON_MAX + 1, 0);
		assert_int_equal(parse_req(body, &r, err, sizeof(err)), -EINVAL);
	}
}

static void test_list_round_trip(void **state)
{
	struct tcl_revocation_list l = { .version = 7 }, l2;
	struct tcl_revocation r = { .id = 3, .kind = TCL_REVOKE_IMAGE, .value = D1,
				    .reason = "cve", .created = 100 };
	char *text = NULL, *text2 = NULL, err[256];
	size_t len, len2;

	(void)state;
	assert_int_equal(tcl_revocation_list_add(&l, &r), 0);
	r = (struct tcl_revocation){ .id = 5, .kind = TCL_REVOKE_KEY, .value = "sha256:" K1,
				     .reason = "leak", .created = 200 };
	assert_int_equal(tcl_revocation_list_add(&l, &r), 0);
	assert_int_equal(tcl_revocation_list_text(&l, &text, &len), 0);
	assert_int_equal(tcl_revocation_list_parse(text, len, &l2, err, sizeof(err)), 0);
	assert_int_equal(l2.version, 7);
	assert_int_equal(l2.n, 2);
	assert_int_equal(l2.v[1].id, 5);
	assert_string_equal(l2.v[1].value, "sha256:" K1);
	assert_int_equal(l2.v[1].created, 200);
	assert_int_equal(tcl_revocation_list_text(&l2, &text2, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(text, text2, len);
	free(text2);
	tcl_revocation_list_free(&l2);

	/* strict: repeated ids, stored entries without id, unknown keys, not JSON */
	static const char *const bad[] = {
		"{\"version\":1,\"entries\":[{\"id\":1,\"kind\":\"image\",\"digest\":\"" D1
		"\",\"reason\":\"a\",\"created\":1},{\"id\":1,\"kind\":\"image\",\"digest\":\"" D2
		"\",\"reason\":\"b\",\"created\":1}]}",
		"{\"version\":1,\"entries\":[{\"kind\":\"image\",\"digest\":\"" D1
		"\",\"reason\":\"a\",\"created\":1}]}",
		"{\"version\":1,\"entries\":[],\"extra\":true}",
		"{\"version\":-1,\"entries\":[]}",
		"{\"entries\":[]}",
		"{\"version\":1,\"entries\":{}}",
		"{\"version\":1,\"entries\":[]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(tcl_revocation_list_parse(bad[i], strlen(bad[i]), &l2, err,
							       sizeof(err)), 0);
		assert_int_equal(l2.n, 0);
		assert_null(l2.v);
	}
	/* delete */
	assert_int_equal(tcl_revocation_list_del(&l, 3), 0);
	assert_int_equal(tcl_revocation_list_del(&l, 3), -ENOENT);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].id, 5);
	free(text);
	tcl_revocation_list_free(&l);
}

static void test_match(void **state)
{
	struct tcl_revocation_list l = { 0 };
	struct tcl_revocation r = { .id = 1, .kind = TCL_REVOKE_IMAGE, .value = D1 };
	const struct tcl_revocation *m;

	(void)state;
	assert_null(tcl_revocation_match(&l, D1, K1));
	assert_int_equal(tcl_revocation_list_add(&l, &r), 0);
	r = (struct tcl_revocation){ .id = 2, .kind = TCL_REVOKE_KEY, .value = "sha256:" K2 };
	assert_int_equal(tcl_revocation_list_add(&l, &r), 0);

	m = tcl_revocation_match(&l, D1, NULL);
	assert_non_null(m);
	assert_int_equal(m->id, 1);
	assert_null(tcl_revocation_match(&l, D2, K1));		/* another image, another key */
	assert_null(tcl_revocation_match(&l, D2, NULL));	/* verified by the policy */
	assert_null(tcl_revocation_match(&l, NULL, NULL));
	assert_null(tcl_revocation_match(&l, "", ""));
	/* the key, named bare or as a fingerprint */
	m = tcl_revocation_match(&l, D2, K2);
	assert_non_null(m);
	assert_int_equal(m->id, 2);
	m = tcl_revocation_match(&l, D2, "sha256:" K2);
	assert_non_null(m);
	assert_int_equal(m->id, 2);
	/* an image digest given without its algorithm still matches */
	m = tcl_revocation_match(&l, D1 + 7, NULL);
	assert_non_null(m);
	/* a digest is not a key: the key id K2 as an image digest matches nothing */
	assert_null(tcl_revocation_match(&l, "sha256:" K2, NULL));
	assert_null(tcl_revocation_match(&l, "garbage", "garbage"));
	tcl_revocation_list_free(&l);
}

static void test_state(void **state)
{
	struct att_state st = { 0 }, st2 = { 0 };
	struct tcl_revocation req = { .kind = TCL_REVOKE_IMAGE, .value = D1, .reason = "cve" };
	const struct tcl_revocation *r;
	struct att_container *c;
	struct att_node *n;
	struct json_object *o, *v;
	size_t nodes, ctrs, len;
	char *j = NULL;

	(void)state;
	assert_int_equal(att_revocation_add(&st, &req, 1000, &r), 0);
	assert_int_equal(r->id, 1);
	assert_int_equal(r->created, 1000);
	assert_int_equal(att_revocations(&st)->version, 1);
	assert_int_equal(att_revocation_add(&st, &req, 1001, &r), -EEXIST);
	assert_int_equal(r->id, 1);
	req = (struct tcl_revocation){ .kind = TCL_REVOKE_KEY, .value = "sha256:" K1,
				       .reason = "leak" };
	assert_int_equal(att_revocation_add(&st, &req, 1002, &r), 0);
	assert_int_equal(r->id, 2);
	assert_int_equal(att_revocation_del(&st, 1), 0);
	assert_int_equal(att_revocation_del(&st, 1), -ENOENT);
	assert_int_equal(att_revocations(&st)->version, 3);
	assert_null(att_revocation_get(&st, 1));
	req.value[7] = 'c';	/* another key */
	assert_int_equal(att_revocation_add(&st, &req, 1003, &r), 0);
	assert_int_equal(r->id, 4);	/* never reused */

	/* what it reaches: a node with a container whose manifest key K1 signed, one stopped */
	assert_int_equal(att_node_get_or_add(&st, "n1", 10, &n), 0);
	n->enrolled = true;
	assert_int_equal(att_container_add(n, "c1", &c), 0);
	snprintf(c->image_digest, sizeof(c->image_digest), "%s", D2);
	snprintf(c->golden_keyid, sizeof(c->golden_keyid), "%s", K1);
	assert_int_equal(att_container_add(n, "c2", &c), 0);
	snprintf(c->golden_keyid, sizeof(c->golden_keyid), "%s", K1);
	c->stopped = true;
	assert_int_equal(att_container_add(n, "c3", &c), 0);
	snprintf(c->golden_keyid, sizeof(c->golden_keyid), "%s", K2);
	r = att_revocation_get(&st, 2);
	assert_true(att_revocation_affects(r, att_container_get(n, "c1")));
	assert_false(att_revocation_affects(r, att_container_get(n, "c3")));
	att_revocation_count(&st, r, &nodes, &ctrs);
	assert_int_equal(nodes, 1);
	assert_int_equal(ctrs, 1);	/* running ones */
	o = att_revocation_affected(&st, r, true, 1);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "count", &v));
	assert_int_equal(json_object_get_int(v), 2);
	assert_true(json_object_object_get_ex(o, "containers", &v));
	assert_int_equal(json_object_array_length(v), 1);	/* max 1 */
	assert_true(json_object_object_get_ex(o, "truncated", &v));
	json_object_put(o);

	/* persisted with the state, version and ids as they were (the node, with no AK, is
	 * no enrolled node to persist) */
	att_node_remove(&st, "n1");
	assert_int_equal(att_state_to_json(&st, &j, &len), 0);
	assert_int_equal(att_state_from_json(j, len, &st2), 0);
	assert_int_equal(att_revocations(&st2)->version, 4);
	assert_int_equal(att_revocations(&st2)->n, 2);
	assert_non_null(att_revocation_get(&st2, 2));
	assert_non_null(att_revocation_get(&st2, 4));
	assert_string_equal(att_revocation_get(&st2, 2)->reason, "leak");
	att_state_free(&st2);
	free(j);

	/* an id beyond the version cannot have been made by this attestor: refused */
	{
		static const char bad[] = "{\"version\":1,\"nodes\":[],\"revocations\":{\"version\":1,"
			"\"entries\":[{\"id\":2,\"kind\":\"image\",\"digest\":\"" D1 "\","
			"\"reason\":\"r\",\"created\":1}]}}";

		memset(&st2, 0, sizeof(st2));
		assert_int_equal(att_state_from_json(bad, strlen(bad), &st2), -EBADMSG);
		assert_int_equal(att_revocations(&st2)->n, 0);
		att_state_free(&st2);
	}
	att_state_free(&st);
}

static void test_agent(void **state)
{
	char dir[] = "/tmp/tcl-arev.XXXXXX", path[64], err[256];
	struct tcl_revocation_list l = { .version = 2 };
	struct tcl_revocation r = { .id = 2, .kind = TCL_REVOKE_KEY, .value = "sha256:" K1,
				    .reason = "leak", .created = 5 };
	struct tcl_arev *a, *b;
	const struct tcl_revocation *m;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/rev.json", dir);
	assert_int_equal(tcl_arev_open(path, &a, err, sizeof(err)), 0);	/* absent: empty */
	assert_int_equal(tcl_arev_list(a)->n, 0);
	assert_null(tcl_arev_match(a, D1));
	/* D1 verified by K1, D2 by K2; the key revoked reaches D1 only */
	assert_int_equal(tcl_arev_remember_key(a, D1, K1), 0);
	assert_int_equal(tcl_arev_remember_key(a, D2, K2), 0);
	assert_int_equal(tcl_arev_remember_key(a, "sha256:zz", K2), 0);	/* ignored */
	assert_string_equal(tcl_arev_key_of(a, D1), K1);
	assert_int_equal(tcl_revocation_list_add(&l, &r), 0);
	assert_int_equal(tcl_arev_update(a, &l), 1);
	assert_null(l.v);					/* taken */
	m = tcl_arev_match(a, D1);
	assert_non_null(m);
	assert_int_equal(m->id, 2);
	assert_null(tcl_arev_match(a, D2));
	/* the same list again: no change */
	l = (struct tcl_revocation_list){ .version = 2 };
	assert_int_equal(tcl_revocation_list_add(&l, &r), 0);
	assert_int_equal(tcl_arev_update(a, &l), 0);
	/* kept across a restart: list and keys */
	assert_int_equal(tcl_arev_open(path, &b, err, sizeof(err)), 0);
	assert_int_equal(tcl_arev_list(b)->version, 2);
	m = tcl_arev_match(b, D1);
	assert_non_null(m);
	assert_string_equal(m->reason, "leak");
	assert_string_equal(tcl_arev_key_of(b, D2), K2);
	tcl_arev_free(b);
	/* withdrawn: an empty list of a later version lifts it */
	l = (struct tcl_revocation_list){ .version = 3 };
	assert_int_equal(tcl_arev_update(a, &l), 1);
	assert_null(tcl_arev_match(a, D1));
	tcl_arev_free(a);
	/* a damaged file is an error with a reason, never an empty list */
	{
		static const char bad[] = "{\"version\":1,\"revocations\":{}}";

		assert_int_equal(tcl_write_file_atomic(path, bad, strlen(bad), 0600), 0);
	}
	err[0] = '\0';
	assert_int_equal(tcl_arev_open(path, &a, err, sizeof(err)), -EBADMSG);
	assert_null(a);
	assert_true(strlen(err) > 0);
	assert_int_equal(tcl_write_file_atomic(path, "not json", 8, 0600), 0);
	assert_int_equal(tcl_arev_open(path, &a, err, sizeof(err)), -EBADMSG);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_list_round_trip),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_agent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
