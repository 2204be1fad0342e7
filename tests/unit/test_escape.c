// SPDX-License-Identifier: GPL-2.0
/* lib/escape.c: every variant on control bytes, quotes, UTF-8 and truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "escape.h"

static void test_log(void **state)
{
	char buf[64], small[16];

	assert_string_equal(tcl_esc_log("a/b c", buf, sizeof(buf)), "a/b c");
	assert_string_equal(tcl_esc_log("a\"b\\c\n\x7f\xc3\xa9", buf, sizeof(buf)),
			    "a\\x22b\\x5cc\\x0a\\x7f\\xc3\\xa9");
	assert_string_equal(tcl_esc_log("0123456789abcdef", small, sizeof(small)),
			    "01234567...");
	assert_string_equal(tcl_esc_log("", buf, sizeof(buf)), "");
}

static void test_ctrl(void **state)
{
	char buf[8];

	tcl_esc_ctrl("a\tb\x7f\xc3\xa9", buf, sizeof(buf), TCL_ESC_C0);
	assert_string_equal(buf, "a?b\x7f\xc3\xa9");
	tcl_esc_ctrl("a\tb\x7f\xc3\xa9", buf, sizeof(buf), TCL_ESC_ASCII);
	assert_string_equal(buf, "a?b???");
	tcl_esc_ctrl("0123456789", buf, sizeof(buf), TCL_ESC_ASCII);
	assert_string_equal(buf, "0123456");
	tcl_esc_ctrl(NULL, buf, sizeof(buf), TCL_ESC_ASCII);
	assert_string_equal(buf, "");
}

static void test_put(void **state)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	assert_non_null(f);
	tcl_esc_put(f, "a b\n\"\x7f\xc3\xa9");
	fclose(f);
	assert_string_equal(s, "a b\\x0a\"\\x7f\xc3\xa9");
	free(s);
}

static void test_utf8(void **state)
{
	char out[32];

	tcl_esc_utf8("h\xc3\xa9!", 16, out, sizeof(out));
	assert_string_equal(out, "h\xc3\xa9!");
	tcl_esc_utf8("a\xff" "b", 16, out, sizeof(out));
	assert_string_equal(out, "a\xef\xbf\xbd" "b");
	tcl_esc_utf8("\xc0\xaf", 16, out, sizeof(out));	/* overlong */
	assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd");
	tcl_esc_utf8("ab\xc3\xa9", 3, out, sizeof(out));	/* cut inside a character */
	assert_string_equal(out, "ab\xef\xbf\xbd");
	tcl_esc_utf8("abcdefgh", 8, out, 6);
	assert_string_equal(out, "ab");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_ctrl),
		cmocka_unit_test(test_put),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
