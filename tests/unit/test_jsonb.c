// SPDX-License-Identifier: GPL-2.0
/* lib/jsonb.c */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "jsonb.h"

static void test_add(void **state)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	const uint8_t b[] = { 0xde, 0xad, 0xbe, 0xef };

	assert_int_equal(tcl_json_add_str(o, "s", "x"), 0);
	assert_int_equal(tcl_json_add_str_opt(o, "e", ""), 0);
	assert_int_equal(tcl_json_add_str_opt(o, "n", NULL), 0);
	assert_int_equal(tcl_json_add_int(o, "i", -5), 0);
	assert_int_equal(tcl_json_add_bool(o, "b", true), 0);
	assert_int_equal(tcl_json_add_hex(o, "h", b, sizeof(b)), 0);
	assert_int_equal(tcl_json_add_b64(o, "64", b, sizeof(b)), 0);
	assert_int_equal(tcl_json_push(a, json_object_new_int(1)), 0);
	assert_int_equal(tcl_json_add(o, "a", a), 0);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
			    "{\"s\":\"x\",\"i\":-5,\"b\":true,\"h\":\"deadbeef\","
			    "\"64\":\"3q2+7w==\",\"a\":[1]}");
	/* a missing value or object is an allocation failure, and nothing leaks */
	assert_int_equal(tcl_json_add(o, "z", NULL), -ENOMEM);
	assert_int_equal(tcl_json_add(NULL, "z", json_object_new_int(1)), -ENOMEM);
	assert_int_equal(tcl_json_push(NULL, json_object_new_int(1)), -ENOMEM);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
