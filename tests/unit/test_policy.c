// SPDX-License-Identifier: GPL-2.0
/* Policy parser: accepted forms, every error path names what is wrong and where. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <cmocka.h>

#include "policy.h"

#define D1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define D2 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

static int parse(const char *text, struct tcl_policy **p, char *err)
{
	return tcl_policy_parse(text, strlen(text), "p.json", p, err, 512);
}

static void test_minimal(void **state)
{
	struct tcl_policy *p = NULL;
	char err[512];

	assert_int_equal(parse("{\"version\":1}", &p, err), 0);
	assert_int_equal(p->n_allow, 0);
	assert_int_equal(p->n_images, 0);
	tcl_policy_free(p);
}

static void test_full(void **state)
{
	const char *text = "{\"version\": 1,\n"
			   " \"allow\": [{\"sha256\": \"" D1 "\", \"path\": \"/bin/x\"},\n"
			   "            {\"sha256\": \"" D2 "\"}],\n"
			   " \"images\": {\"reg/app@sha256:aa\": {\"allow\": [{\"sha256\": \"" D2
			   "\"}]},\n"
			   "            \"busybox\": {\"allow\": []}}}\n\n";
	struct tcl_policy *p = NULL;
	const struct tcl_policy_image *im;
	char err[512];

	assert_int_equal(parse(text, &p, err), 0);
	assert_int_equal(p->n_allow, 2);
	assert_int_equal(p->allow[0].sha256[0], 0x01);
	assert_int_equal(p->allow[0].sha256[31], 0xef);
	assert_string_equal(p->allow[0].path, "/bin/x");
	assert_null(p->allow[1].path);
	assert_int_equal(p->n_images, 2);
	im = tcl_policy_image(p, "reg/app@sha256:aa");
	assert_non_null(im);
	assert_int_equal(im->n_allow, 1);
	assert_int_equal(im->allow[0].sha256[5], 0xff);
	assert_non_null(tcl_policy_image(p, "busybox"));
	assert_null(tcl_policy_image(p, "nope"));
	tcl_policy_free(p);
}

static void test_uppercase_hex(void **state)
{
	struct tcl_policy *p = NULL;
	char err[512], text[256];

	snprintf(text, sizeof(text), "{\"version\":1,\"allow\":[{\"sha256\":\"%s\"}]}",
		 "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF");
	assert_int_equal(parse(text, &p, err), 0);
	assert_int_equal(p->allow[0].sha256[7], 0xef);
	tcl_policy_free(p);
}

struct bad_case {
	const char *text;
	const char *want; /* substring of the error */
};

static void test_errors(void **state)
{
	static const struct bad_case cases[] = {
		{ "", "p.json:1: invalid JSON" },
		{ "{", "unexpected end of input" },
		{ "[]", "must be a JSON object" },
		{ "{\"version\":2}", "\"version\" must be 1" },
		{ "{\"version\":\"1\"}", "\"version\" must be 1" },
		{ "{}", "\"version\" must be 1" },
		{ "{\"version\":1,\n\"alow\":[]}", "p.json:2: unknown key \"alow\"" },
		{ "{\"version\":1,\"allow\":{}}", "allow must be an array" },
		{ "{\"version\":1,\"allow\":[1]}", "allow[0] must be an object" },
		{ "{\"version\":1,\"allow\":[{}]}", "needs \"sha256\"" },
		{ "{\"version\":1,\"allow\":[{\"sha256\":5}]}", "needs \"sha256\"" },
		{ "{\"version\":1,\"allow\":[{\"sha256\":\"abc\"}]}", "not 64 hex digits" },
		{ "{\"version\":1,\"allow\":[{\"sha256\":\"" D1 "0\"}]}", "not 64 hex digits" },
		{ "{\"version\":1,\"allow\":[{\"sha256\":\"" D1 "\",\n\n\"extra\":1}]}",
		  "p.json:3: unknown key \"extra\" in policy.allow[0]" },
		{ "{\"version\":1,\"allow\":[{\"sha256\":\"" D1 "\",\"path\":7}]}",
		  "path must be a string" },
		{ "{\"version\":1,\"images\":[]}", "\"images\" must be an object" },
		{ "{\"version\":1,\"images\":{\"a\":1}}", "images[\"a\"] must be an object" },
		{ "{\"version\":1,\"images\":{\"a\":{\"deny\":[]}}}", "unknown key \"deny\" in images[\"a\"]" },
		{ "{\"version\":1,\"images\":{\"\":{}}}", "image name must be" },
		{ "{\"version\":1} x", "trailing data" },
		{ "{\"version\":1,\"allow\":[{\"sha256\":\"zz" D1 "\"}]}", "not 64 hex digits" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tcl_policy *p = NULL;
		char err[512];
		int ret = parse(cases[i].text, &p, err);

		if (ret == 0 || !strstr(err, cases[i].want))
			fail_msg("case %zu: ret %d, err \"%s\", want \"%s\"", i, ret, err,
				 cases[i].want);
		assert_null(p);
	}
}

static void test_nul_byte(void **state)
{
	const char text[] = "{\"version\":1}\0junk";
	struct tcl_policy *p = NULL;
	char err[512];

	assert_int_not_equal(tcl_policy_parse(text, sizeof(text) - 1, "p", &p, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "NUL"));
}

static void test_roundtrip_and_add(void **state)
{
	struct tcl_policy *p = NULL, *q = NULL;
	uint8_t d[32];
	char err[512], *json = NULL;

	assert_int_equal(parse("{\"version\":1,\"allow\":[{\"sha256\":\"" D1
			       "\",\"path\":\"/a/b\"}],\"images\":{\"i\":{\"allow\":[{\"sha256\":\"" D2
			       "\"}]}}}",
			       &p, err),
			 0);
	memset(d, 0x42, sizeof(d));
	assert_int_equal(tcl_policy_add(p, d, "/usr/sbin/runc"), 0);
	assert_int_equal(tcl_policy_to_json(p, &json), 0);
	assert_non_null(strstr(json, "/a/b"));
	assert_null(strstr(json, "\\/")); /* paths are not slash-escaped */
	assert_int_equal(tcl_policy_parse(json, strlen(json), "rt", &q, err, sizeof(err)), 0);
	assert_int_equal(q->n_allow, 2);
	assert_memory_equal(q->allow[1].sha256, d, 32);
	assert_string_equal(q->allow[1].path, "/usr/sbin/runc");
	assert_int_equal(q->n_images, 1);
	free(json);
	tcl_policy_free(p);
	tcl_policy_free(q);
}

static void test_load_missing_and_big(void **state)
{
	struct tcl_policy *p = NULL;
	char err[512], path[] = "/tmp/tcl-policy-XXXXXX";
	int fd;

	assert_int_not_equal(tcl_policy_load("/nonexistent/policy.json", &p, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "/nonexistent/policy.json"));
	/* A file over the limit is refused without being parsed. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, TCL_POLICY_MAX_BYTES + 1), 0);
	close(fd);
	assert_int_equal(tcl_policy_load(path, &p, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "larger than"));
	unlink(path);
}

/* Random mutations of a valid policy must never crash or leak (run under ASan). */
static void test_mutations(void **state)
{
	const char *base = "{\"version\":1,\"allow\":[{\"sha256\":\"" D1 "\",\"path\":\"/x\"}],"
			   "\"images\":{\"a\":{\"allow\":[{\"sha256\":\"" D2 "\"}]}}}";
	size_t n = strlen(base);
	char *buf = malloc(n + 1);
	unsigned int seed = 1;

	for (int iter = 0; iter < 20000; iter++) {
		struct tcl_policy *p = NULL;
		char err[512];
		size_t len = n;

		memcpy(buf, base, n + 1);
		for (int k = 0; k < 1 + iter % 4; k++) {
			seed = seed * 1103515245 + 12345;
			buf[(seed >> 8) % n] = (char)(seed >> 16);
		}
		if (iter % 7 == 0)
			len = (seed >> 4) % n;
		if (tcl_policy_parse(buf, len, "m", &p, err, sizeof(err)) == 0)
			tcl_policy_free(p);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),	      cmocka_unit_test(test_full),
		cmocka_unit_test(test_uppercase_hex), cmocka_unit_test(test_errors),
		cmocka_unit_test(test_nul_byte),      cmocka_unit_test(test_roundtrip_and_add),
		cmocka_unit_test(test_load_missing_and_big), cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
