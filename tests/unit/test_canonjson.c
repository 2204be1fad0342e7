// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "canonjson.h"
#include "diag.h"

/* Parse text (leniently, as json-c does) and return its canonical form. */
static char *canon_of(const char *text, int *rc)
{
	struct json_object *o = json_tokener_parse(text);
	char *out = NULL;
	size_t len = 0;

	assert_non_null(o);
	*rc = tcl_canon_json(o, &out, &len);
	if (!*rc)
		assert_int_equal(len, strlen(out));
	json_object_put(o);
	return out;
}

static void expect_canon(const char *in, const char *want)
{
	int rc;
	char *out = canon_of(in, &rc);

	assert_int_equal(rc, 0);
	assert_string_equal(out, want);
	free(out);
}

static void test_key_order(void **state)
{
	expect_canon("{ \"b\": 1, \"a\": 2, \"B\": 3, \"aa\": 4, \"\": 5 }",
		     "{\"\":5,\"B\":3,\"a\":2,\"aa\":4,\"b\":1}");
	/* byte order: U+00E9 (c3 a9) sorts after 'z', U+20AC (e2 82 ac) after that */
	expect_canon("{\"\\u20ac\":1,\"z\":2,\"\\u00e9\":3}",
		     "{\"z\":2,\"\xc3\xa9\":3,\"\xe2\x82\xac\":1}");
	expect_canon("{\"x\":{\"d\":[3,{\"z\":1,\"y\":2}],\"c\":null}}",
		     "{\"x\":{\"c\":null,\"d\":[3,{\"y\":2,\"z\":1}]}}");
}

static void test_scalars(void **state)
{
	expect_canon("[true,false,null,0,-1,9223372036854775807,-9223372036854775808]",
		     "[true,false,null,0,-1,9223372036854775807,-9223372036854775808]");
	expect_canon("[18446744073709551615]", "[18446744073709551615]");
	expect_canon("[ ]", "[]");
	expect_canon("{ }", "{}");
}

static void test_escaping(void **state)
{
	expect_canon("[\"a\\\"b\\\\c\\/d\"]", "[\"a\\\"b\\\\c/d\"]");
	expect_canon("[\"\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\"]",
		     "[\"\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\"]");
	expect_canon("[\"\\u00e9\\u20ac\\ud83d\\ude00\"]",
		     "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]");
}

static void test_embedded_nul(void **state)
{
	struct json_object *o = json_object_new_string_len("a\0b", 3);
	char *out;
	size_t len;

	assert_int_equal(tcl_canon_json(o, &out, &len), 0);
	assert_int_equal(len, 10);
	assert_memory_equal(out, "\"a\\u0000b\"", 10);
	free(out);
	json_object_put(o);
}

static void test_rejects(void **state)
{
	struct json_object *o;
	char *out = (char *)1;
	size_t len;
	int rc, i;

	out = canon_of("[1.5]", &rc);
	assert_int_equal(rc, -EINVAL);
	assert_null(out);
	out = canon_of("{\"a\":1e3}", &rc);
	assert_int_equal(rc, -EINVAL);

	o = json_object_new_string_len("\xff", 1);
	assert_int_equal(tcl_canon_json(o, &out, &len), -EINVAL);
	json_object_put(o);
	o = json_object_new_string_len("\xc0\xaf", 2);	/* overlong '/' */
	assert_int_equal(tcl_canon_json(o, &out, &len), -EINVAL);
	json_object_put(o);
	o = json_object_new_string_len("\xed\xa0\x80", 3);	/* surrogate */
	assert_int_equal(tcl_canon_json(o, &out, &len), -EINVAL);
	json_object_put(o);
	o = json_object_new_object();
	json_object_object_add(o, "\xe2\x82", json_object_new_int(1));
	assert_int_equal(tcl_canon_json(o, &out, &len), -EINVAL);
	json_object_put(o);

	o = json_object_new_array();
	for (i = 0; i < TCL_CANON_MAX_DEPTH + 2; i++) {
		struct json_object *p = json_object_new_array();

		json_object_array_add(p, o);
		o = p;
	}
	assert_int_equal(tcl_canon_json(o, &out, &len), -ELOOP);
	json_object_put(o);
}

static void test_idempotent(void **state)
{
	const char *in = "{\"files\":{\"/b\":\"x\",\"/a\":\"\\u0002\\\"\"},\"version\":1,"
			 "\"arr\":[{\"k\":[],\"j\":{}}],\"s\":\"\xe2\x82\xac\"}";
	struct json_object *o1, *o2;
	char *c1, *c2;
	size_t l1, l2;

	o1 = json_tokener_parse(in);
	assert_int_equal(tcl_canon_json(o1, &c1, &l1), 0);
	assert_int_equal(tcl_json_parse("t", c1, l1, 1 << 20, &o2), 0);
	assert_int_equal(tcl_canon_json(o2, &c2, &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(c1, c2, l1);
	free(c1);
	free(c2);
	json_object_put(o1);
	json_object_put(o2);
}

static void test_parse_strict(void **state)
{
	struct json_object *o;

	assert_int_equal(tcl_json_parse("t", "{\"a\":1}  \n", 10, 100, &o), 0);
	json_object_put(o);
	assert_int_equal(tcl_json_parse("t", "{\"a\":1}", 7, 6, &o), -EFBIG);
	assert_null(o);
	assert_int_equal(tcl_json_parse("t", "{\"a\":1} x", 9, 100, &o), -EINVAL);
	assert_int_equal(tcl_json_parse("t", "{\"a\":1", 6, 100, &o), -EINVAL);
	assert_int_equal(tcl_json_parse("t", "{\"a\":1,}", 8, 100, &o), -EINVAL);
	assert_int_equal(tcl_json_parse("t", "{'a':1}", 7, 100, &o), -EINVAL);
	assert_int_equal(tcl_json_parse("t", "{\"a\":\"\0\"}", 9, 100, &o), -EINVAL);
	assert_int_equal(tcl_json_parse("t", "{\"a\":\"\xff\"}", 9, 100, &o), -EINVAL);
	assert_int_equal(tcl_json_parse("t", "\"str\"", 5, 100, &o), -EINVAL);
	assert_int_equal(tcl_json_parse("t", "", 0, 100, &o), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_order),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_idempotent),
		cmocka_unit_test(test_parse_strict),
	};

	tcl_prog = "test_canonjson";
	tcl_verbosity = TCL_ERR - 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
