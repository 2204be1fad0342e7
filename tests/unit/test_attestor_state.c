// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the attestor's state (attestor/state.c): JSON round trip and the strict
 * loader, verdicts, container limits (libtcl-attestor.a; the database and nonces are
 * test_attestor_store.c's, the hash map and base64 have their own tests, test_hashmap.c and
 * test_hexb64.c). */
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
#include <openssl/rand.h>

#include "diag.h"
#include "fileio.h"
#include "state.h"

/* A marshalled TPM2B_PUBLIC of an RSA 2048 key with the given attributes. */
static size_t make_pub(uint8_t *b, uint32_t attrs)
{
	size_t o = 2;

	b[o++] = 0x00, b[o++] = 0x01;		/* TPM_ALG_RSA */
	b[o++] = 0x00, b[o++] = 0x0b;		/* nameAlg sha256 */
	b[o++] = attrs >> 24, b[o++] = attrs >> 16, b[o++] = attrs >> 8, b[o++] = attrs;
	b[o++] = 0, b[o++] = 0;			/* authPolicy */
	b[o++] = 0x00, b[o++] = 0x10;		/* symmetric: TPM_ALG_NULL */
	b[o++] = 0x00, b[o++] = 0x14;		/* scheme RSASSA */
	b[o++] = 0x00, b[o++] = 0x0b;		/* with sha256 */
	b[o++] = 0x08, b[o++] = 0x00;		/* 2048 bits */
	memset(b + o, 0, 4);			/* exponent: default */
	o += 4;
	b[o++] = 0x01, b[o++] = 0x00;		/* 256-byte modulus */
	assert_int_equal(RAND_bytes(b + o, 256), 1);
	b[o] |= 0x80;
	b[o + 255] |= 1;
	o += 256;
	b[0] = (o - 2) >> 8;
	b[1] = (o - 2) & 0xff;
	return o;
}

#define AK_ATTRS 0x00050072u	/* fixedTPM fixedParent sensitiveDataOrigin userWithAuth
				 * restricted sign */

static int setup(void **state)
{
	tcl_verbosity = -1;
	return 0;
}

static struct att_node *enrolled(struct att_state *st, const char *id)
{
	struct att_node *n;
	uint8_t ak[400];
	size_t len = make_pub(ak, AK_ATTRS);

	assert_int_equal(att_node_get_or_add(st, id, 100, &n), 0);
	assert_int_equal(att_node_set_ak(n, ak, len), 0);
	n->enrolled = true;
	n->enrolled_at = 1700000000;
	memset(n->ek_sha256, 'e', 64);
	strcpy(n->ek_cert, "verified");
	memset(n->tls_sha256, 'a', 64);
	return n;
}

static void test_node_ids(void **state)
{
	char long_id[300];

	assert_true(att_node_id_valid("node-a"));
	assert_true(att_node_id_valid("ip-10-0-0-1.ec2.internal"));
	assert_true(att_node_id_valid("a"));
	assert_false(att_node_id_valid(""));
	assert_false(att_node_id_valid("-a"));
	assert_false(att_node_id_valid("a-"));
	assert_false(att_node_id_valid("Node"));
	assert_false(att_node_id_valid("a/b"));
	assert_false(att_node_id_valid("a b"));
	memset(long_id, 'a', sizeof(long_id));
	long_id[253] = '\0';
	assert_true(att_node_id_valid(long_id));
	long_id[253] = 'a';
	long_id[254] = '\0';
	assert_false(att_node_id_valid(long_id));
	assert_true(att_container_id_valid("0123abcdef_.-X"));
	assert_false(att_container_id_valid("a:b"));
	assert_false(att_container_id_valid(""));
}

static void test_ak(void **state)
{
	struct att_state st = { 0 };
	struct att_node *n;
	uint8_t k[400];
	size_t len;

	assert_int_equal(att_node_get_or_add(&st, "n1", 100, &n), 0);
	len = make_pub(k, AK_ATTRS);
	assert_int_equal(att_node_set_ak(n, k, len), 0);
	assert_non_null(strstr(n->ak_pem, "BEGIN PUBLIC KEY"));
	assert_int_equal(strlen(n->ak_name), 68);	/* 000b + sha256 */
	assert_memory_equal(n->ak_name, "000b", 4);
	/* a decryption key (an EK) is not an attestation key */
	len = make_pub(k, 0x000300b2u);
	assert_int_equal(att_node_set_ak(n, k, len), -EKEYREJECTED);
	assert_int_equal(att_node_set_ak(n, k, 5), -EBADMSG);
	att_state_free(&st);
}

static void test_roundtrip(void **state)
{
	struct att_state st = { 0 }, st2 = { 0 };
	struct att_container *c;
	struct att_node *n;
	char *j1 = NULL, *j2 = NULL;
	size_t l1, l2;

	n = enrolled(&st, "node-b");
	n->have_reset_count = true;
	n->reset_count = 3;
	n->log_offset = 1234;
	n->log_entries = 9;
	memset(n->pcr, 0xab, 32);
	n->last_evidence = 1700000100;
	n->evidence_ok = 4;
	n->evidence_failed = 1;
	n->unappraised = 2;
	assert_int_equal(att_node_finding(n, ATT_NO_OFFSET, 5, NULL, NULL, "forged \"quote\""), 0);
	assert_int_equal(att_container_add(n, "c1", &c), 0);
	strcpy(c->image, "reg/app:v1");
	strcpy(c->image_digest,
	       "sha256:0000000000000000000000000000000000000000000000000000000000000001");
	memset(c->golden_sha256, 'f', 64);
	c->start_offset = 100;
	c->started = 7;
	c->stopped = true;
	c->files = 3;
	assert_int_equal(att_container_finding(n, c, 200, 8, "/bin/x\n", "sha256:00", "bad"), 0);
	enrolled(&st, "node-a");
	/* an enrolment in progress is not persisted */
	assert_int_equal(att_node_get_or_add(&st, "node-pending", 100, &n), 0);

	/* node-a's log was replayed in the sha384 bank: its 48-byte PCR comes back as such */
	n = att_node_get(&st, "node-a");
	n->pcr_bank = TCL_LOG_SHA384;
	n->log_offset = 77;
	memset(n->pcr, 0xcd, 48);
	assert_int_equal(att_state_to_json(&st, &j1, &l1), 0);
	assert_int_equal(att_state_from_json(j1, l1, &st2), 0);
	assert_int_equal(st2.nodes.n, 2);
	n = att_node_get(&st2, "node-a");
	assert_int_equal(n->pcr_bank, TCL_LOG_SHA384);
	assert_int_equal(n->pcr[47], 0xcd);
	assert_int_equal(n->pcr[48], 0);
	assert_null(att_node_get(&st2, "node-pending"));
	n = att_node_get(&st2, "node-b");
	assert_non_null(n);
	assert_true(n->enrolled && n->have_reset_count && n->reset_count == 3);
	assert_int_equal(n->log_offset, 1234);
	assert_int_equal(n->pcr[31], 0xab);
	assert_int_equal(n->pcr_bank, TCL_LOG_SHA256);
	assert_int_equal(n->untrusted_containers, 1);
	assert_string_equal(n->findings.v[0].reason, "forged \"quote\"");
	assert_int_equal(n->findings.v[0].offset, ATT_NO_OFFSET);
	c = att_container_get(n, "c1");
	assert_non_null(c);
	assert_true(c->stopped);
	assert_string_equal(c->findings.v[0].name, "/bin/x\n");
	assert_int_equal(c->findings.v[0].offset, 200);
	assert_non_null(n->ak_pem);
	/* the same bytes again: nothing lost, nothing reordered */
	assert_int_equal(att_state_to_json(&st2, &j2, &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(j1, j2, l1);
	free(j1);
	free(j2);
	att_state_free(&st);
	att_state_free(&st2);
}

/* Refusals and the agent's mode survive the state file; a state written before them loads. */
static void cut(char *s, const char *what)
{
	char *p = strstr(s, what);

	assert_non_null(p);
	memmove(p, p + strlen(what), strlen(p + strlen(what)) + 1);
}

static void test_refusals_roundtrip(void **state)
{
	struct att_state st = { 0 }, st2 = { 0 };
	struct att_container *c;
	struct att_node *n;
	char *j1 = NULL, *j2 = NULL, *old;
	size_t l1, l2;

	n = enrolled(&st, "node-r");
	n->mode = ATT_MODE_ENFORCE;
	assert_int_equal(att_container_add(n, "c1", &c), 0);
	assert_int_equal(att_container_refusal(c, 300, 9, "/tmp/dropped", "sha256:00",
					       "exec refused by the kernel (enforce mode): x"), 0);
	assert_int_equal(n->untrusted_containers, 0);
	assert_int_equal(att_state_to_json(&st, &j1, &l1), 0);
	assert_non_null(strstr(j1, "\"agent_mode\":\"enforce\""));
	assert_int_equal(att_state_from_json(j1, l1, &st2), 0);
	n = att_node_get(&st2, "node-r");
	assert_int_equal(n->mode, ATT_MODE_ENFORCE);
	assert_int_equal(n->untrusted_containers, 0);
	c = att_container_get(n, "c1");
	assert_int_equal(c->refusals.total, 1);
	assert_int_equal(c->refusals.v[0].offset, 300);
	assert_string_equal(c->refusals.v[0].name, "/tmp/dropped");
	assert_int_equal(att_state_to_json(&st2, &j2, &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(j1, j2, l1);
	att_state_free(&st2);

	/* written before refusals and the mode were kept: loads, mode unknown */
	old = strdup(j1);
	cut(old, "\"agent_mode\":\"enforce\",");
	cut(old, "\"refusals\":[{\"container_id\":\"c1\",\"digest\":\"sha256:00\",\"name\":"
		 "\"/tmp/dropped\",\"offset\":300,\"reason\":\"exec refused by the kernel "
		 "(enforce mode): x\",\"time\":9}],\"refusals_total\":1,");
	assert_null(strstr(old, "refusals"));
	memset(&st2, 0, sizeof(st2));
	assert_int_equal(att_state_from_json(old, strlen(old), &st2), 0);
	n = att_node_get(&st2, "node-r");
	assert_int_equal(n->mode, ATT_MODE_UNKNOWN);
	assert_int_equal(att_container_get(n, "c1")->refusals.total, 0);
	att_state_free(&st2);
	free(old);
	/* strict all the same */
	old = strdup(j1);
	memcpy(strstr(old, "\"enforce\""), "\"enforcX\"", 9);
	memset(&st2, 0, sizeof(st2));
	assert_int_equal(att_state_from_json(old, strlen(old), &st2), -EBADMSG);
	att_state_free(&st2);
	free(old);
	free(j1);
	free(j2);
	att_state_free(&st);
}

static void test_save_load(void **state)
{
	char dir[] = "/tmp/test_attestor_state.XXXXXX", path[200], *buf;
	struct att_state st, st2;
	size_t len;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	assert_int_equal(att_state_load(path, &st), 0);	/* absent: empty */
	assert_int_equal(st.nodes.n, 0);
	enrolled(&st, "node-a");
	assert_int_equal(att_state_to_json(&st, &buf, &len), 0);
	assert_int_equal(tcl_write_file_atomic(path, buf, len, 0600), 0);
	free(buf);
	assert_int_equal(att_state_load(path, &st2), 0);
	assert_non_null(att_node_get(&st2, "node-a"));
	att_state_free(&st2);
	/* a corrupt file is refused, not half-loaded */
	assert_int_equal(tcl_write_file_atomic(path, "{\"version\":1,\"nodes\":[{}]}", 25, 0600), 0);
	assert_int_equal(att_state_load(path, &st2), -EBADMSG);
	assert_int_equal(st2.nodes.n, 0);
	att_state_free(&st2);
	att_state_free(&st);
	unlink(path);
	rmdir(dir);
}

static void bad(const char *json)
{
	struct att_state st = { 0 };

	if (att_state_from_json(json, strlen(json), &st) != -EBADMSG)
		fail_msg("accepted: %s", json);
	att_state_free(&st);
}

static void test_loader_strict(void **state)
{
	struct att_state st = { 0 };
	char *good = NULL, *p, buf[8192];
	size_t len;

	enrolled(&st, "node-a");
	assert_int_equal(att_state_to_json(&st, &good, &len), 0);
	att_state_free(&st);
	bad("");
	bad("[]");
	bad("{\"version\":2,\"nodes\":[]}");
	bad("{\"version\":1}");
	bad("{\"version\":1,\"nodes\":[],\"extra\":1}");
	bad("{\"version\":1,\"nodes\":[1]}");
	/* mutate one field at a time */
	struct {
		const char *from, *to;
	} m[] = {
		{ "\"id\":\"node-a\"", "\"id\":\"Node A\"" },
		{ "\"log_offset\":0", "\"log_offset\":-1" },
		{ "\"log_offset\":0", "\"log_offset\":\"0\"" },
		{ "\"ek_cert\":\"verified\"", "\"ek_cert\":\"\"" },
		{ "\"pcr\":\"0000", "\"pcr\":\"zz00" },
		{ "\"pcr\":\"0000", "\"pcr\":\"000" },	/* 63 hex digits: no bank */
		{ "\"findings_total\":0", "\"findings_total\":0,\"mystery\":1" },
		{ "\"containers\":[]", "\"containers\":[{\"id\":\"x\"}]" },
		{ "\"ak_pub\":\"", "\"ak_pub\":\"A" },
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		p = strstr(good, m[i].from);
		assert_non_null(p);
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - good), good, m[i].to,
			 p + strlen(m[i].from));
		bad(buf);
	}
	/* two nodes with the same id */
	p = strstr(good, "[{");
	snprintf(buf, sizeof(buf), "{\"nodes\":[%.*s,%.*s],\"version\":1}",
		 (int)(strrchr(good, ']') - p - 1), p + 1, (int)(strrchr(good, ']') - p - 1), p + 1);
	bad(buf);
	free(good);
}

static void test_findings_cap(void **state)
{
	struct att_findings f = { 0 };

	for (int i = 0; i < ATT_FINDINGS_KEPT + 10; i++)
		assert_int_equal(att_finding_add(&f, i, 0, NULL, NULL, NULL, "r"), 0);
	assert_int_equal(f.n, ATT_FINDINGS_KEPT);
	assert_int_equal(f.total, ATT_FINDINGS_KEPT + 10);
	att_findings_free(&f);
	assert_int_equal(f.total, 0);
}

static void test_verdicts(void **state)
{
	struct att_state st = { 0 };
	struct att_container *c;
	struct att_node *n;
	const char *r;
	char buf[1024];

	assert_int_equal(att_node_get_or_add(&st, "p", 100, &n), 0);
	assert_int_equal(att_node_verdict(n, 100, 10, &r, buf, sizeof(buf)), ATT_UNKNOWN);
	assert_string_equal(r, "not enrolled");
	n = enrolled(&st, "n");
	assert_int_equal(att_node_verdict(n, 100, 10, &r, buf, sizeof(buf)), ATT_UNKNOWN);
	assert_string_equal(r, "no evidence accepted yet");
	n->last_evidence = 100;
	assert_int_equal(att_node_verdict(n, 110, 10, &r, buf, sizeof(buf)), ATT_TRUSTED);
	assert_int_equal(att_node_verdict(n, 111, 10, &r, buf, sizeof(buf)), ATT_STALE);
	assert_string_equal(r, "last evidence 11 s ago (stale after 10 s)");
	assert_int_equal(att_container_add(n, "c1", &c), 0);
	assert_int_equal(att_container_verdict(n, c, 105, 10, buf, sizeof(buf)), ATT_TRUSTED);
	assert_int_equal(att_container_verdict(n, c, 200, 10, buf, sizeof(buf)), ATT_STALE);
	assert_int_equal(att_container_add(n, "c2", &c), 0);
	att_container_finding(n, c, 5, 1, "/x", NULL, "not golden");
	assert_int_equal(att_node_verdict(n, 105, 10, &r, buf, sizeof(buf)), ATT_UNTRUSTED);
	assert_string_equal(r, "container c2: not golden");
	/* untrusted stays untrusted when old: it is not just stale */
	assert_int_equal(att_node_verdict(n, 1000, 10, &r, buf, sizeof(buf)), ATT_UNTRUSTED);
	assert_int_equal(att_container_verdict(n, att_container_get(n, "c1"), 105, 10, buf,
					       sizeof(buf)), ATT_UNTRUSTED);
	assert_string_equal(buf, "node n is untrusted: container c2: not golden");
	att_node_finding(n, ATT_NO_OFFSET, 2, NULL, NULL, "forged");
	assert_int_equal(att_node_verdict(n, 105, 10, &r, buf, sizeof(buf)), ATT_UNTRUSTED);
	assert_string_equal(r, "forged");
	/* re-enrolment or a new boot starts over */
	att_node_reset_log(n);
	assert_int_equal(att_node_verdict(n, 105, 10, &r, buf, sizeof(buf)), ATT_UNKNOWN);
	assert_int_equal(n->containers.n, 0);
	{
		struct json_object *o = att_node_json(n, 105, 10);

		assert_string_equal(json_object_get_string(json_object_object_get(o, "verdict")),
				    "unknown");
		assert_null(json_object_object_get(o, "ak_pub"));	/* not in the API */
		json_object_put(o);
	}
	att_state_free(&st);
}

static void test_max_nodes(void **state)
{
	struct att_state st = { 0 };
	struct att_node *n;

	assert_int_equal(att_node_get_or_add(&st, "a", 2, &n), 0);
	assert_int_equal(att_node_get_or_add(&st, "b", 2, &n), 0);
	assert_int_equal(att_node_get_or_add(&st, "c", 2, &n), -ENOSPC);
	assert_int_equal(att_node_get_or_add(&st, "a", 2, &n), 0);	/* existing: fine */
	assert_int_equal(att_node_get_or_add(&st, "B", 5, &n), -EINVAL);
	att_node_remove(&st, "a");
	assert_int_equal(att_node_get_or_add(&st, "c", 2, &n), 0);
	att_state_free(&st);
}

static void test_container_cap(void **state)
{
	struct att_state st = { 0 };
	struct att_container *c;
	struct att_node *n;
	char id[32];

	assert_int_equal(att_node_get_or_add(&st, "n", 2, &n), 0);
	for (int i = 0; i < ATT_CONTAINERS_MAX; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		assert_int_equal(att_container_add(n, id, &c), 0);
		c->start_offset = (uint64_t)i;
	}
	assert_int_equal(att_container_add(n, "one-more", &c), -ENOSPC);
	/* a stopped untrusted container keeps its place; a stopped trusted one gives it up */
	c = att_container_get(n, "c1");
	c->stopped = true;
	att_container_finding(n, c, 1, 1, NULL, NULL, "bad");
	att_container_get(n, "c7")->stopped = true;
	att_container_get(n, "c9")->stopped = true;
	assert_int_equal(att_container_add(n, "one-more", &c), 0);
	assert_null(att_container_get(n, "c7"));	/* the oldest stopped trusted one */
	assert_non_null(att_container_get(n, "c9"));
	assert_non_null(att_container_get(n, "c1"));
	/* a stopped one with refusals only gives way when no stopped trusted one is left (never
	 * one with findings): the node's verdict never depended on it */
	c = att_container_get(n, "c3");
	c->stopped = true;
	assert_int_equal(att_container_refusal(c, 3, 1, "/x", NULL, "refused"), 0);
	assert_int_equal(att_container_add(n, "a1", &c), 0);
	assert_null(att_container_get(n, "c9"));	/* trusted and stopped goes first */
	assert_non_null(att_container_get(n, "c3"));
	assert_int_equal(att_container_add(n, "a2", &c), 0);
	assert_null(att_container_get(n, "c3"));
	c = att_container_get(n, "c2");
	assert_int_equal(att_container_refusal(c, 2, 1, "/x", NULL, "refused"), 0);
	assert_int_equal(att_container_add(n, "a3", &c), -ENOSPC);	/* c2 still runs */
	att_container_get(n, "c2")->stopped = true;
	assert_int_equal(att_container_add(n, "a3", &c), 0);
	assert_null(att_container_get(n, "c2"));
	assert_non_null(att_container_get(n, "c1"));
	assert_int_equal(att_container_add(n, "bad:id", &c), -EINVAL);
	att_state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_ids),
		cmocka_unit_test(test_ak),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refusals_roundtrip),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_loader_strict),
		cmocka_unit_test(test_findings_cap),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_max_nodes),
		cmocka_unit_test(test_container_cap),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
