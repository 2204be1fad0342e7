// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int att_b64_encode(const uint8_t *in, size_t len, char **out, size_t *olen)
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

static int val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int att_b64_decode_buf(const char *in, size_t len, uint8_t *out, size_t cap, size_t *olen)
{
	size_t pad = 0, n, o = 0;

	if (len % 4)
		return -EINVAL;
	if (len && in[len - 1] == '=')
		pad = len > 1 && in[len - 2] == '=' ? 2 : 1;
	n = len / 4 * 3 - pad;
	if (n > cap)
		return -EFBIG;
	for (size_t i = 0; i < len; i += 4) {
		int a = val(in[i]), b = val(in[i + 1]), c, d;
		uint32_t v;
		bool last = i + 4 == len;

		c = last && pad == 2 ? 0 : val(in[i + 2]);
		d = last && pad ? 0 : val(in[i + 3]);
		if (a < 0 || b < 0 || c < 0 || d < 0)
			return -EINVAL;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		/* the bits the padding drops must be zero: one value, one encoding */
		if (last && ((pad == 2 && (v & 0xffff)) || (pad == 1 && (v & 0xff))))
			return -EINVAL;
		out[o++] = v >> 16;
		if (!(last && pad == 2))
			out[o++] = v >> 8 & 0xff;
		if (!(last && pad))
			out[o++] = v & 0xff;
	}
	*olen = o;
	return 0;
}

int att_b64_decode(const char *in, size_t len, size_t max, uint8_t **out, size_t *olen)
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
	rc = att_b64_decode_buf(in, len, *out, cap > max ? max : cap, olen);
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}
