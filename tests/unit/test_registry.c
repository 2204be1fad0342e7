// SPDX-License-Identifier: GPL-2.0
/* Pure parsers of the registry client: references, WWW-Authenticate, digests, golden tag. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "registry.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DIG "sha256:" HEX64

static void test_digest_valid(void **state)
{
	assert_true(tcl_digest_valid(DIG));
	assert_false(tcl_digest_valid(NULL));
	assert_false(tcl_digest_valid(""));
	assert_false(tcl_digest_valid("sha256:"));
	assert_false(tcl_digest_valid("sha256:" HEX64 "0"));		/* too long */
	assert_false(tcl_digest_valid("sha256:" HEX64 "\n"));
	assert_false(tcl_digest_valid(DIG + 1));
	assert_false(tcl_digest_valid("sha512:" HEX64));
	assert_false(tcl_digest_valid("SHA256:" HEX64));
	/* upper case hex is not canonical: registries and our tags use lower case */
	assert_false(tcl_digest_valid("sha256:0123456789ABCDEF0123456789abcdef"
				      "0123456789abcdef0123456789abcdef"));
	assert_false(tcl_digest_valid("sha256:0123456789abcdef0123456789abcdef"
				      "0123456789abcdef0123456789abcde"));	/* 63 */
	assert_false(tcl_digest_valid("sha256:g123456789abcdef0123456789abcdef"
				      "0123456789abcdef0123456789abcdef"));
}

static void test_ref_full(void **state)
{
	struct tcl_ref r;

	assert_int_equal(tcl_ref_parse("127.0.0.1:5000/team/app:v1.2@" DIG, &r), 0);
	assert_string_equal(r.scheme, "");
	assert_string_equal(r.host, "127.0.0.1:5000");
	assert_string_equal(r.repo, "team/app");
	assert_string_equal(r.tag, "v1.2");
	assert_string_equal(r.digest, DIG);

	assert_int_equal(tcl_ref_parse("http://localhost:5000/app", &r), 0);
	assert_string_equal(r.scheme, "http");
	assert_string_equal(r.host, "localhost:5000");
	assert_string_equal(r.repo, "app");
	assert_string_equal(r.tag, "");

	assert_int_equal(tcl_ref_parse("localhost/app", &r), 0);
	assert_string_equal(r.host, "localhost");

	assert_int_equal(tcl_ref_parse("reg.example.com/a/b/c", &r), 0);
	assert_string_equal(r.host, "reg.example.com");
	assert_string_equal(r.repo, "a/b/c");

	assert_int_equal(tcl_ref_parse("[::1]:5000/app:latest", &r), 0);
	assert_string_equal(r.host, "[::1]:5000");
	assert_string_equal(r.tag, "latest");
}

static void test_ref_no_host(void **state)
{
	struct tcl_ref r;

	assert_int_equal(tcl_ref_parse("app", &r), 0);
	assert_string_equal(r.host, "");
	assert_string_equal(r.repo, "app");

	/* first component without '.', ':' and not localhost is part of the repo */
	assert_int_equal(tcl_ref_parse("team/app:v1", &r), 0);
	assert_string_equal(r.host, "");
	assert_string_equal(r.repo, "team/app");
	assert_string_equal(r.tag, "v1");

	assert_int_equal(tcl_ref_parse("team/app@" DIG, &r), 0);
	assert_string_equal(r.repo, "team/app");
	assert_string_equal(r.tag, "");
	assert_string_equal(r.digest, DIG);

	/* a '.' makes the first component a host, and hosts have no '_' */
	assert_int_equal(tcl_ref_parse("a.b_c/x0", &r), -EINVAL);
	assert_int_equal(tcl_ref_parse("a.b-c/x0", &r), 0);
	assert_string_equal(r.host, "a.b-c");
	assert_int_equal(tcl_ref_parse("a_b__c-d--e/x0", &r), 0);
	assert_string_equal(r.repo, "a_b__c-d--e/x0");
}

static void test_ref_bad(void **state)
{
	static const char *const bad[] = {
		"", "/", "app/", "/app", "App", "app:", "app@", "app@sha256:abc",
		"app:v1:v2", "a//b", "a/-b", "a/b-", "a..b", "a___b", "app:-x", "app:.x",
		/* 129-character tag */
		"app:" "0123456789012345678901234567890123456789012345678901234567890123"
		"45678901234567890123456789012345678901234567890123456789012345678",
		"http://app", "https:///app", "127.0.0.1:0/app", "127.0.0.1:65536/app",
		"127.0.0.1:/app", "host:12a/app", "-host.com/app", "[]/app", "[zz]:1/app",
		"app tag", "app\n", "app:v1\r\n", "ho st.com/app", "app@" DIG "x",
		"app@sha512:" HEX64, "app:v1@", "a/b:c/d",
	};
	struct tcl_ref r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tcl_ref_parse(bad[i], &r) != -EINVAL)
			fail_msg("accepted bad reference '%s'", bad[i]);
	}
	assert_int_equal(tcl_ref_parse(NULL, &r), -EINVAL);
}

static void test_ref_bounds(void **state)
{
	struct tcl_ref r;
	char *s = malloc(4096);

	assert_non_null(s);
	/* repo of exactly 255 is fine, 256 is not */
	memset(s, 'a', 255);
	s[255] = '\0';
	assert_int_equal(tcl_ref_parse(s, &r), 0);
	assert_int_equal(strlen(r.repo), 255);
	memset(s, 'a', 256);
	s[256] = '\0';
	assert_int_equal(tcl_ref_parse(s, &r), -EINVAL);
	/* a host that does not fit */
	memset(s, 'h', 300);
	memcpy(s + 300, ".com/app", 9);
	assert_int_equal(tcl_ref_parse(s, &r), -EINVAL);
	/* anything past 1024 characters */
	memset(s, 'a', 4000);
	s[4000] = '\0';
	assert_int_equal(tcl_ref_parse(s, &r), -EINVAL);
	/* 128-character tag */
	memcpy(s, "app:", 4);
	memset(s + 4, 't', 128);
	s[132] = '\0';
	assert_int_equal(tcl_ref_parse(s, &r), 0);
	assert_int_equal(strlen(r.tag), 128);
	free(s);
}

static void test_www_auth_bearer(void **state)
{
	struct tcl_www_auth a;

	assert_int_equal(tcl_www_auth_parse("Bearer realm=\"https://auth.example/token\","
					    "service=\"registry.example\","
					    "scope=\"repository:team/app:pull,push\"", &a), 0);
	assert_string_equal(a.scheme, "Bearer");
	assert_string_equal(a.realm, "https://auth.example/token");
	assert_string_equal(a.service, "registry.example");
	assert_string_equal(a.scope, "repository:team/app:pull,push");

	/* spaces, case-insensitive names, unknown params, token values, escapes */
	assert_int_equal(tcl_www_auth_parse("  bearer  Realm = \"http://127.0.0.1:1/t\" , "
					    "error=\"insufficient_scope\", SERVICE=svc ,"
					    "scope=\"a\\\"b\"", &a), 0);
	assert_string_equal(a.scheme, "bearer");
	assert_string_equal(a.realm, "http://127.0.0.1:1/t");
	assert_string_equal(a.service, "svc");
	assert_string_equal(a.scope, "a\"b");
}

static void test_www_auth_basic(void **state)
{
	struct tcl_www_auth a;

	assert_int_equal(tcl_www_auth_parse("Basic realm=\"tcl-test\"", &a), 0);
	assert_string_equal(a.scheme, "Basic");
	assert_string_equal(a.realm, "tcl-test");
	assert_string_equal(a.scope, "");

	assert_int_equal(tcl_www_auth_parse("Basic", &a), 0);
	assert_string_equal(a.scheme, "Basic");
	assert_string_equal(a.realm, "");

	/* two challenges: the first one is used */
	assert_int_equal(tcl_www_auth_parse("Basic realm=\"a\", Bearer realm=\"b\"", &a), 0);
	assert_string_equal(a.scheme, "Basic");
	assert_string_equal(a.realm, "a");
}

static void test_www_auth_bad(void **state)
{
	static const char *const bad[] = {
		"", "   ", "=x", "\"Bearer\"", "Bearer realm=\"unterminated",
		"Bearer realm=\"x\\", "Bearer realm=\"a\nb\"", "Bearer, realm=x",
		"Bearer realm=\"x\",=y", "Bearer realm=a\"b",
		"ThisSchemeNameIsTooLong realm=x",
	};
	struct tcl_www_auth a;
	char *big;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tcl_www_auth_parse(bad[i], &a) != -EINVAL)
			fail_msg("accepted bad challenge '%s'", bad[i]);
	}
	assert_int_equal(tcl_www_auth_parse(NULL, &a), -EINVAL);

	/* a realm longer than its field is refused, not truncated */
	big = malloc(3000);
	assert_non_null(big);
	strcpy(big, "Bearer realm=\"");
	memset(big + 14, 'r', 1100);
	strcpy(big + 1114, "\"");
	assert_int_equal(tcl_www_auth_parse(big, &a), -EINVAL);
	/* but an overlong parameter we ignore is only skipped */
	strcpy(big, "Bearer error_description=\"");
	memset(big + 26, 'e', 2000);
	strcpy(big + 2026, "\",realm=\"r\"");
	assert_int_equal(tcl_www_auth_parse(big, &a), 0);
	assert_string_equal(a.realm, "r");
	free(big);
}

static void test_golden_tag(void **state)
{
	char tag[80];

	tcl_golden_tag(DIG, tag);
	assert_string_equal(tag, "sha256-" HEX64 ".tcl");
	/* the tag is a valid tag in the distribution grammar */
	{
		struct tcl_ref r;
		char ref[200];

		snprintf(ref, sizeof(ref), "app:%s", tag);
		assert_int_equal(tcl_ref_parse(ref, &r), 0);
		assert_string_equal(r.tag, tag);
	}
}

static void test_open_url(void **state)
{
	struct tcl_registry *reg;

	unsetenv("TCL_REGISTRY_AUTH");
	assert_int_equal(tcl_registry_open("127.0.0.1:5000", NULL, &reg), 0);
	assert_string_equal(tcl_registry_url(reg), "http://127.0.0.1:5000");
	tcl_registry_close(reg);
	assert_int_equal(tcl_registry_open("localhost:5000/", NULL, &reg), 0);
	assert_string_equal(tcl_registry_url(reg), "http://localhost:5000");
	tcl_registry_close(reg);
	assert_int_equal(tcl_registry_open("reg.example.com", NULL, &reg), 0);
	assert_string_equal(tcl_registry_url(reg), "https://reg.example.com");
	tcl_registry_close(reg);
	assert_int_equal(tcl_registry_open("http://reg.example.com:80", NULL, &reg), 0);
	assert_string_equal(tcl_registry_url(reg), "http://reg.example.com:80");
	tcl_registry_close(reg);
	assert_int_equal(tcl_registry_open("https://127.0.0.1:5000", NULL, &reg), 0);
	assert_string_equal(tcl_registry_url(reg), "https://127.0.0.1:5000");
	tcl_registry_close(reg);

	assert_int_equal(tcl_registry_open("ftp://x", NULL, &reg), -EINVAL);
	assert_int_equal(tcl_registry_open("http://x/v2/path", NULL, &reg), -EINVAL);
	assert_int_equal(tcl_registry_open("http://", NULL, &reg), -EINVAL);
	assert_int_equal(tcl_registry_open(NULL, NULL, &reg), -EINVAL);
	assert_null(reg);

	setenv("TCL_REGISTRY_AUTH", "nocolon", 1);
	assert_int_equal(tcl_registry_open("127.0.0.1:5000", NULL, &reg), -EINVAL);
	setenv("TCL_REGISTRY_AUTH", "user:pa:ss", 1);
	assert_int_equal(tcl_registry_open("127.0.0.1:5000", NULL, &reg), 0);
	tcl_registry_close(reg);
	unsetenv("TCL_REGISTRY_AUTH");
}

/* Random strings over the characters the grammars care about: no crash, no overrun (ASan),
 * and whatever is accepted round-trips through the fields it was split into. */
/* http.c: the status table every caller's errno comes from, the distribution error body and
 * the one-document JSON parse. */
static void test_http_helpers(void **state)
{
	static const char body[] = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\","
				   "\"message\":\"manifest\\u0007 unknown\"}]}";
	char out[128];
	json_object *o;

	(void)state;
	assert_int_equal(tcl_http_status_errno(401), -EACCES);
	assert_int_equal(tcl_http_status_errno(403), -EACCES);
	assert_int_equal(tcl_http_status_errno(404), -ENOENT);
	assert_int_equal(tcl_http_status_errno(400), -EBADMSG);
	assert_int_equal(tcl_http_status_errno(405), -EOPNOTSUPP);
	assert_int_equal(tcl_http_status_errno(413), -EFBIG);
	assert_int_equal(tcl_http_status_errno(429), -EAGAIN);
	assert_int_equal(tcl_http_status_errno(502), -EIO);
	assert_int_equal(tcl_http_status_errno(302), -EPROTO);
	assert_string_equal(tcl_http_status_text(404), "Not Found");
	assert_string_equal(tcl_http_status_text(418), "");

	/* control characters from the registry never reach a log line */
	tcl_http_json_error(body, strlen(body), out, sizeof(out));
	assert_string_equal(out, "MANIFEST_UNKNOWN: manifest? unknown");
	tcl_http_json_error("not json", 8, out, sizeof(out));
	assert_string_equal(out, "");
	tcl_http_json_error("{\"errors\":[]}", 13, out, sizeof(out));
	assert_string_equal(out, "");

	o = tcl_http_json_parse("{\"a\":1}", 7);
	assert_non_null(o);
	json_object_put(o);
	assert_null(tcl_http_json_parse("{\"a\":1} {}", 10));
	assert_null(tcl_http_json_parse("{\"a\":", 5));

	assert_true(tcl_http_header_safe("Bearer abc", 64));
	assert_false(tcl_http_header_safe("", 64));
	assert_false(tcl_http_header_safe("a\r\nX-Evil: 1", 64));
	assert_false(tcl_http_header_safe("abcdef", 5));
}

static void test_random_inputs(void **state)
{
	static const char alpha[] = "aZ09:/@._-\"= ,\\\t\r\nsha256:0123456789abcdef[]%";
	unsigned int seed = 12345;
	char s[300];

	for (int i = 0; i < 200000; i++) {
		size_t n = (size_t)(rand_r(&seed) % (sizeof(s) - 1));
		struct tcl_ref r;
		struct tcl_www_auth a;

		for (size_t j = 0; j < n; j++)
			s[j] = alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
		s[n] = '\0';
		if (tcl_ref_parse(s, &r) == 0) {
			char back[1200];

			snprintf(back, sizeof(back), "%s%s%s%s%s%s%s%s%s", r.scheme,
				 r.scheme[0] ? "://" : "", r.host, r.host[0] ? "/" : "", r.repo,
				 r.tag[0] ? ":" : "", r.tag, r.digest[0] ? "@" : "", r.digest);
			assert_string_equal(back, s);
		}
		if (tcl_www_auth_parse(s, &a) == 0) {
			assert_true(strlen(a.scheme) > 0 && strlen(a.scheme) < sizeof(a.scheme));
			assert_true(strlen(a.realm) < sizeof(a.realm));
		}
		(void)tcl_digest_valid(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_valid),
		cmocka_unit_test(test_ref_full),
		cmocka_unit_test(test_ref_no_host),
		cmocka_unit_test(test_ref_bad),
		cmocka_unit_test(test_ref_bounds),
		cmocka_unit_test(test_www_auth_bearer),
		cmocka_unit_test(test_www_auth_basic),
		cmocka_unit_test(test_www_auth_bad),
		cmocka_unit_test(test_golden_tag),
		cmocka_unit_test(test_open_url),
		cmocka_unit_test(test_http_helpers),
		cmocka_unit_test(test_random_inputs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
