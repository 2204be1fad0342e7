// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "hexb64.h"

void tcl_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

int tcl_sha256_hex(const void *in, size_t len, bool prefix, char *out)
{
	unsigned char md[32];

	if (!EVP_Digest(in, len, md, NULL, EVP_sha256(), NULL))
		return -ENOMEM;
	if (prefix) {
		memcpy(out, "sha256:", 7);
		out += 7;
	}
	tcl_hex(md, sizeof(md), out);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tcl_unhex(const char *in, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(in[2 * i]), lo;

		if (hi < 0)
			return -EINVAL;
		lo = hexval(in[2 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		out[i] = hi << 4 | lo;
	}
	return in[2 * len] == '\0' ? 0 : -EINVAL;
}

int tcl_unhex_n(const char *in, size_t inlen, uint8_t *out, size_t len)
{
	if (inlen != 2 * len)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = hi << 4 | lo;
	}
	return 0;
}

bool tcl_is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* ---- base64 ---- */

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int tcl_b64_encode(const uint8_t *in, size_t len, char **out, size_t *olen)
{
	size_t n = (len + 2) / 3 * 4, o = 0;
	char *s;

	*out = NULL;
	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return -EFBIG;
	s = malloc(n + 1);
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t left = len - i;

		if (left > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		s[o++] = alphabet[v >> 18 & 63];
		s[o++] = alphabet[v >> 12 & 63];
		s[o++] = left > 1 ? alphabet[v >> 6 & 63] : '=';
		s[o++] = left > 2 ? alphabet[v & 63] : '=';
	}
	s[o] = '\0';
	*out = s;
	if (olen)
		*olen = o;
	return 0;
}

/* symbol value + 1; 0 for anything that is not in the alphabet */
static const unsigned char table[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8,
	['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15,
	['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
	['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29,
	['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43,
	['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,
	['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
	['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

static int val(unsigned char c)
{
	return (int)table[c] - 1;
}

int tcl_b64_decode_buf(const char *in, size_t len, uint8_t *out, size_t cap, size_t *olen)
{
	const unsigned char *q = (const unsigned char *)in;
	size_t pad = 0, n, o = 0, groups = len / 4;

	if (len % 4)
		return -EINVAL;
	if (len && in[len - 1] == '=')
		pad = len > 1 && in[len - 2] == '=' ? 2 : 1;
	n = groups * 3 - pad;
	if (n > cap)
		return -EFBIG;
	/* every group but the last: four symbols, three bytes, no padding allowed */
	for (size_t g = 0; g + 1 < groups; g++, q += 4) {
		uint32_t a = table[q[0]], b = table[q[1]], c = table[q[2]], d = table[q[3]];

		if (!a || !b || !c || !d)
			return -EINVAL;
		a--, b--, c--, d--;
		out[o++] = (uint8_t)(a << 2 | b >> 4);
		out[o++] = (uint8_t)(b << 4 | c >> 2);
		out[o++] = (uint8_t)(c << 6 | d);
	}
	if (groups) {
		int a = val(q[0]), b = val(q[1]);
		int c = pad == 2 ? 0 : val(q[2]), d = pad ? 0 : val(q[3]);
		uint32_t v;

		if (a < 0 || b < 0 || c < 0 || d < 0)
			return -EINVAL;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		/* the bits the padding drops must be zero: one value, one encoding */
		if ((pad == 2 && (v & 0xffff)) || (pad == 1 && (v & 0xff)))
			return -EINVAL;
		out[o++] = v >> 16;
		if (pad < 2)
			out[o++] = v >> 8 & 0xff;
		if (!pad)
			out[o++] = v & 0xff;
	}
	*olen = o;
	return 0;
}

int tcl_b64_decode(const char *in, size_t len, size_t max, uint8_t **out, size_t *olen)
{
	size_t cap = len / 4 * 3;
	int rc;

	*out = NULL;
	if (len % 4)
		return -EINVAL;
	if (cap > max + 2)
		return -EFBIG;
	*out = malloc(cap ? cap : 1);
	if (!*out)
		return -ENOMEM;
	rc = tcl_b64_decode_buf(in, len, *out, cap > max ? max : cap, olen);
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}
