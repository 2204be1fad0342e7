// SPDX-License-Identifier: GPL-2.0
/* Unit tests for attestor/evidence.c: the bounded, strict parsers of what nodes send
 * (evidence, enrolment, activation), linked from libtcl-attestor.a. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "diag.h"
#include "state.h"
#include "evidence.h"

#define NONCE "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static char err[512];

static int setup(void **state)
{
	tcl_verbosity = -1;
	return 0;
}

/* A valid evidence body with one field replaced (key "" = none). */
static char *evidence(const char *key, const char *raw)
{
	struct {
		const char *k, *v;
	} f[] = {
		{ "nonce", "\"" NONCE "\"" }, { "attest", "\"YXR0ZXN0\"" },
		{ "sig", "\"c2ln\"" }, { "bank", "\"sha256\"" }, { "pcr_mask", "8191" },
		{ "pcr_values", "\"AAAA\"" }, { "log_offset", "0" }, { "log", "\"\"" },
	};
	char *s = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&s, &len);

	fputc('{', m);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		const char *v = key && !strcmp(key, f[i].k) ? raw : f[i].v;

		if (!v)
			continue;
		fprintf(m, "%s\"%s\":%s", ftell(m) > 1 ? "," : "", f[i].k, v);
	}
	fputc('}', m);
	fclose(m);
	return s;
}

static int parse_ev(const char *key, const char *raw, struct att_evidence *ev)
{
	char *s = evidence(key, raw);
	int rc = att_evidence_parse(s, strlen(s), 1 << 20, 1 << 16, ev, err, sizeof(err));

	free(s);
	return rc;
}

static void test_evidence_ok(void **state)
{
	struct att_evidence ev;

	assert_int_equal(parse_ev(NULL, NULL, &ev), 0);
	assert_int_equal(ev.nonce[0], 0x00);
	assert_int_equal(ev.nonce[31], 0xff);
	assert_int_equal(ev.attest_len, 6);
	assert_memory_equal(ev.attest, "attest", 6);
	assert_int_equal(ev.sig_len, 3);
	assert_int_equal(ev.bank, TCL_TPM_ALG_SHA256);
	assert_int_equal(ev.pcr_mask, 8191);
	assert_int_equal(ev.pcr_values_len, 3);
	assert_int_equal(ev.log_offset, 0);
	assert_non_null(ev.log);	/* empty, not NULL */
	assert_int_equal(ev.log_len, 0);
	att_evidence_free(&ev);
	assert_int_equal(parse_ev("log", "\"AQID\"", &ev), 0);
	assert_int_equal(ev.log_len, 3);
	assert_int_equal(ev.log[2], 3);
	att_evidence_free(&ev);
	assert_int_equal(parse_ev("log_offset", "9007199254740993", &ev), 0);
	assert_int_equal(ev.log_offset, 9007199254740993ull);
	att_evidence_free(&ev);
}

static void expect_bad(const char *key, const char *raw, int rc, const char *msg)
{
	struct att_evidence ev;

	assert_int_equal(parse_ev(key, raw, &ev), rc);
	if (!strstr(err, msg))
		fail_msg("%s=%s: error \"%s\", want \"%s\"", key, raw ? raw : "(none)", err, msg);
	assert_null(ev.log);
}

static void test_evidence_bad(void **state)
{
	expect_bad("nonce", NULL, -EINVAL, "\"nonce\" is missing");
	expect_bad("nonce", "\"00\"", -EINVAL, "\"nonce\" is not 64 lowercase hex digits");
	expect_bad("nonce", "\"00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\"",
		   -EINVAL, "lowercase hex");
	expect_bad("nonce", "7", -EINVAL, "\"nonce\" is not a string");
	expect_bad("attest", "\"YXR0ZXN0\\n\"", -EINVAL, "\"attest\" is not non-empty base64");
	expect_bad("attest", "\"\"", -EINVAL, "\"attest\" is not non-empty base64");
	expect_bad("sig", "null", -EINVAL, "\"sig\" is not a string");
	expect_bad("bank", "\"sm3_256\"", -EINVAL, "\"bank\" must be \"sha256\", \"sha1\"");
	expect_bad("pcr_mask", "0", -EINVAL, "\"pcr_mask\" is out of range");
	expect_bad("pcr_mask", "16777216", -EINVAL, "\"pcr_mask\" is out of range");
	expect_bad("pcr_mask", "1.5", -EINVAL, "\"pcr_mask\" is not an integer");
	expect_bad("pcr_mask", "\"8191\"", -EINVAL, "\"pcr_mask\" is not an integer");
	expect_bad("log_offset", "-1", -EINVAL, "\"log_offset\" is out of range");
	expect_bad("log_offset", "99999999999999999999999", -EINVAL, "log_offset");
	expect_bad("log", "\"AQI\"", -EINVAL, "\"log\" is not base64");
	expect_bad("log", "[]", -EINVAL, "\"log\" is not a string");
	/* bounds: the log after decoding, the attestation and PCR fields by TPM sizes */
	{
		char *s = malloc((1 << 16) / 3 * 4 + 16);
		size_t n = ((1 << 16) + 3) / 3 * 4;

		s[0] = '"';
		memset(s + 1, 'A', n);
		strcpy(s + 1 + n, "\"");
		expect_bad("log", s, -EFBIG, "\"log\" decodes to more than 65536 bytes");
		free(s);
	}
	{
		char *s = malloc(1800 / 3 * 4 + 8);

		s[0] = '"';
		memset(s + 1, 'A', 1800 / 3 * 4);
		strcpy(s + 1 + 1800 / 3 * 4, "\"");
		expect_bad("attest", s, -EFBIG, "\"attest\" decodes to more than 1024 bytes");
		expect_bad("pcr_values", s, -EFBIG, "decodes to more than 1536 bytes");
		free(s);
	}
}

static void test_evidence_shape(void **state)
{
	struct att_evidence ev;
	char *s;

	s = evidence("log", "\"\",\"mystery\":1");
	assert_int_equal(att_evidence_parse(s, strlen(s), 1 << 20, 1 << 16, &ev, err,
					    sizeof(err)), -EINVAL);
	assert_string_equal(err, "evidence: unknown key \"mystery\"");
	assert_int_equal(att_evidence_parse(s, strlen(s), 10, 1 << 16, &ev, err, sizeof(err)),
			 -EFBIG);
	assert_non_null(strstr(err, "over the limit of 10"));
	free(s);
	assert_int_equal(att_evidence_parse("[]", 2, 100, 100, &ev, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "evidence: body is not a JSON object");
	assert_int_equal(att_evidence_parse("{\"a\":1}x", 8, 100, 100, &ev, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not valid JSON"));
	assert_int_equal(att_evidence_parse("{\"a\0\":1}", 8, 100, 100, &ev, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(att_evidence_parse("", 0, 100, 100, &ev, err, sizeof(err)), -EINVAL);
	/* a key with control characters is not echoed raw */
	assert_int_equal(att_evidence_parse("{\"\\u001b[31m\":1}", 15, 100, 100, &ev, err,
					    sizeof(err)), -EINVAL);
	assert_null(strchr(err, 0x1b));
}

static void test_enrol(void **state)
{
	struct att_enrol_req r;
	char body[1024];

	snprintf(body, sizeof(body), "{\"node_id\":\"node-a\",\"ek_pub\":\"AAEC\",\"ak_pub\":"
		 "\"AAED\",\"tls_cert_sha256\":\"%s\"}", NONCE);
	assert_int_equal(att_enrol_parse(body, strlen(body), &r, err, sizeof(err)), 0);
	assert_string_equal(r.node_id, "node-a");
	assert_int_equal(r.ek_pub_len, 3);
	assert_int_equal(r.ak_pub_len, 3);
	assert_string_equal(r.tls_sha256, NONCE);
	assert_null(r.ek_cert);
	att_enrol_free(&r);
	snprintf(body, sizeof(body), "{\"node_id\":\"node-a\",\"ek_pub\":\"AAEC\",\"ak_pub\":"
		 "\"AAED\",\"tls_cert_sha256\":\"%s\",\"ek_cert\":\"MIIB\"}", NONCE);
	assert_int_equal(att_enrol_parse(body, strlen(body), &r, err, sizeof(err)), 0);
	assert_int_equal(r.ek_cert_len, 3);
	att_enrol_free(&r);
	snprintf(body, sizeof(body), "{\"node_id\":\"Node_A\",\"ek_pub\":\"AAEC\",\"ak_pub\":"
		 "\"AAED\",\"tls_cert_sha256\":\"%s\"}", NONCE);
	assert_int_equal(att_enrol_parse(body, strlen(body), &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "\"node_id\" is not a node name"));
	snprintf(body, sizeof(body), "{\"node_id\":\"a\\u0000b\",\"ek_pub\":\"AAEC\",\"ak_pub\":"
		 "\"AAED\",\"tls_cert_sha256\":\"%s\"}", NONCE);
	assert_int_equal(att_enrol_parse(body, strlen(body), &r, err, sizeof(err)), -EINVAL);
	assert_int_equal(att_enrol_parse("{\"node_id\":\"a\"}", 15, &r, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "\"ek_pub\" is missing"));
	/* an EK certificate over 8 KiB */
	{
		size_t n = 12000, o;
		char *big = malloc(n + 300);

		o = (size_t)sprintf(big, "{\"node_id\":\"a\",\"ek_pub\":\"AAEC\",\"ak_pub\":\"AAED\","
				    "\"tls_cert_sha256\":\"%s\",\"ek_cert\":\"", NONCE);
		memset(big + o, 'A', n);
		strcpy(big + o + n, "\"}");
		assert_int_equal(att_enrol_parse(big, strlen(big), &r, err, sizeof(err)), -EFBIG);
		assert_non_null(strstr(err, "\"ek_cert\" decodes to more than 8192 bytes"));
		free(big);
	}
	/* the whole body is bounded */
	{
		char *big = calloc(1, 70000);

		memset(big, ' ', 69999);
		big[0] = '{';
		big[69998] = '}';
		assert_int_equal(att_enrol_parse(big, strlen(big), &r, err, sizeof(err)), -EFBIG);
		free(big);
	}
}

static void test_activate(void **state)
{
	struct att_activate_req r;

	assert_int_equal(att_activate_parse("{\"secret\":\"AAECAw==\"}", 21, &r, err,
					    sizeof(err)), 0);
	assert_int_equal(r.secret_len, 4);
	assert_int_equal(r.secret[3], 3);
	assert_int_equal(att_activate_parse("{\"secret\":\"\"}", 13, &r, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(att_activate_parse("{}", 2, &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "activation: \"secret\" is missing");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evidence_ok),
		cmocka_unit_test(test_evidence_bad),
		cmocka_unit_test(test_evidence_shape),
		cmocka_unit_test(test_enrol),
		cmocka_unit_test(test_activate),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
