// SPDX-License-Identifier: GPL-2.0
/* lib/hexb64.c: hex and strict base64. */
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

#include "hexb64.h"

static void test_hex(void **state)
{
	const uint8_t in[] = { 0x00, 0x01, 0xab, 0xff };
	uint8_t out[4];
	char s[9];

	tcl_hex(in, 4, s);
	assert_string_equal(s, "0001abff");
	assert_int_equal(tcl_unhex("0001abff", out, 4), 0);
	assert_memory_equal(out, in, 4);
	assert_int_equal(tcl_unhex("0001ABFF", out, 4), 0);
	assert_memory_equal(out, in, 4);
	assert_int_equal(tcl_unhex("0001abff0", out, 4), -EINVAL);	/* trailing */
	assert_int_equal(tcl_unhex("0001abf", out, 4), -EINVAL);	/* short */
	assert_int_equal(tcl_unhex("0001abfg", out, 4), -EINVAL);
	assert_int_equal(tcl_unhex_n("0001abffXX", 8, out, 4), 0);
	assert_memory_equal(out, in, 4);
	assert_int_equal(tcl_unhex_n("0001abff", 7, out, 4), -EINVAL);
	assert_int_equal(tcl_unhex_n("0001 bff", 8, out, 4), -EINVAL);
	assert_true(tcl_is_hex("0123456789abcdef", 16));
	assert_true(tcl_is_hex("ab", 0));
	assert_false(tcl_is_hex("0123456789ABCDEF", 16));
	assert_false(tcl_is_hex("abc", 4));	/* the NUL is not a digit */
	assert_false(tcl_is_hex("ag", 2));
}

static void test_b64(void **state)
{
	uint8_t in[300], *out = NULL, small[4];
	char *enc = NULL;
	size_t el, ol;

	assert_int_equal(RAND_bytes(in, sizeof(in)), 1);
	for (size_t n = 0; n < 40; n++) {
		assert_int_equal(tcl_b64_encode(in, n, &enc, &el), 0);
		assert_int_equal(el % 4, 0);
		assert_int_equal(tcl_b64_decode(enc, el, 1000, &out, &ol), 0);
		assert_int_equal(ol, n);
		assert_memory_equal(out, in, n);
		free(out);
		free(enc);
	}
	assert_int_equal(tcl_b64_decode("Zm9v", 4, 10, &out, &ol), 0);
	assert_int_equal(ol, 3);
	assert_memory_equal(out, "foo", 3);
	free(out);
	assert_int_equal(tcl_b64_decode("Zm8=", 4, 10, &out, &ol), 0);
	assert_memory_equal(out, "fo", 2);
	free(out);
	/* one value, one encoding */
	assert_int_equal(tcl_b64_decode("Zm9=", 4, 10, &out, &ol), -EINVAL);	/* pad bits */
	assert_int_equal(tcl_b64_decode("Zm==", 4, 10, &out, &ol), -EINVAL);
	assert_int_equal(tcl_b64_decode("Zm9v\n", 5, 10, &out, &ol), -EINVAL);
	assert_int_equal(tcl_b64_decode("Zm 9", 4, 10, &out, &ol), -EINVAL);
	assert_int_equal(tcl_b64_decode("Zm9", 3, 10, &out, &ol), -EINVAL);
	assert_int_equal(tcl_b64_decode("=Zm9", 4, 10, &out, &ol), -EINVAL);
	assert_int_equal(tcl_b64_decode("Z=9v", 4, 10, &out, &ol), -EINVAL);
	assert_int_equal(tcl_b64_decode("Zm9v", 4, 2, &out, &ol), -EFBIG);
	assert_int_equal(tcl_b64_decode_buf("Zm9vYmFy", 8, small, sizeof(small), &ol), -EFBIG);
	assert_int_equal(tcl_b64_decode("", 0, 10, &out, &ol), 0);
	assert_int_equal(ol, 0);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_b64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
