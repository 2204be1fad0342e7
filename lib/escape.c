// SPDX-License-Identifier: GPL-2.0
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"

const char *tcl_esc_log(const char *s, char *buf, size_t sz)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		/* room for one escape and the "..." that may follow it */
		if (o + 8 >= sz) {
			memcpy(buf + o, "...", 4);
			return buf;
		}
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}

void tcl_esc_ctrl(const char *in, char *out, size_t cap, int mode)
{
	size_t n = 0;

	for (; in && *in && n + 1 < cap; in++) {
		unsigned char c = (unsigned char)*in;
		bool bad = c < 0x20 || (mode == TCL_ESC_ASCII && c >= 0x7f);

		out[n++] = bad ? '?' : (char)c;
	}
	out[n] = '\0';
}

void tcl_esc_put(FILE *out, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c < 0x20 || *c == 0x7f)
			fprintf(out, "\\x%02x", *c);
		else
			fputc(*c, out);
	}
}

void tcl_esc_utf8(const char *in, size_t max, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, i = 0;

	while (i < max && p[i] && o + 4 < outlen) {
		unsigned char c = p[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
					   (c & 0xf8) == 0xf0 ? 4 : 0;
		bool ok = n > 0 && i + n <= max && !(n == 2 && c < 0xc2) && !(c > 0xf4);

		for (size_t k = 1; ok && k < n; k++)
			ok = (p[i + k] & 0xc0) == 0x80;
		if (ok) {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i += 1;
		}
	}
	out[o] = '\0';
}
