// SPDX-License-Identifier: GPL-2.0
/* lib/hashmap.c */
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

#include "hashmap.h"

static void count(void *val, void *arg)
{
	(*(int *)arg)++;
}

static void test_map(void **state)
{
	struct tcl_map m = { 0 };
	void **vals;
	size_t n;
	char k[16];
	int c = 0;

	for (long i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "k%04ld", 999 - i);
		assert_int_equal(tcl_map_put(&m, k, (void *)(i + 1)), 0);
	}
	assert_int_equal(tcl_map_put(&m, "k0001", NULL), -EEXIST);
	assert_int_equal(m.n, 1000);
	assert_ptr_equal(tcl_map_get(&m, "k0000"), (void *)1000);
	assert_null(tcl_map_get(&m, "nope"));
	assert_int_equal(tcl_map_sorted(&m, &vals, &n), 0);
	assert_int_equal(n, 1000);
	for (size_t i = 0; i < n; i++)
		assert_ptr_equal(vals[i], (void *)(1000 - i));
	free(vals);
	assert_ptr_equal(tcl_map_del(&m, "k0500"), (void *)500);
	assert_null(tcl_map_del(&m, "k0500"));
	tcl_map_each(&m, count, &c);
	assert_int_equal(c, 999);
	tcl_map_free(&m, NULL);
	assert_int_equal(tcl_map_sorted(&m, &vals, &n), 0);
	assert_null(vals);
	assert_null(tcl_map_get(&m, "x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
