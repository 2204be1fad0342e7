// SPDX-License-Identifier: GPL-2.0
/* Canonical JSON serialiser and a strict bounded parser; see canonjson.h for the form. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "canonjson.h"
#include "diag.h"

struct sbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	size_t need, cap;
	char *np;

	if (b->err)
		return;
	if (n > SIZE_MAX / 2 - b->len) {
		b->err = -ENOMEM;
		return;
	}
	need = b->len + n + 1;
	if (need > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < need)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_putc(struct sbuf *b, char c)
{
	sb_put(b, &c, 1);
}

/* Length of the valid UTF-8 sequence at s, or 0: no overlongs, no surrogates, <= U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)
			return 0;
		if (c == 0xed && s[1] >= 0xa0)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)
			return 0;
		if (c == 0xf4 && s[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

bool tcl_utf8_valid(const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = utf8_seq((const unsigned char *)s + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

static int put_string(struct sbuf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0, k;
	char esc[7];

	sb_putc(b, '"');
	while (i < n) {
		unsigned char c = s[i];
		const char *e = NULL;

		switch (c) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof(esc), "\\u00%c%c", hex[c >> 4], hex[c & 15]);
				e = esc;
			}
		}
		if (e) {
			sb_put(b, str + run, i - run);
			sb_put(b, e, strlen(e));
			run = ++i;
			continue;
		}
		k = utf8_seq(s + i, n - i);
		if (!k) {
			pr_err("canonjson", "string is not valid UTF-8 (byte %zu)", i);
			return -EINVAL;
		}
		i += k;
	}
	sb_put(b, str + run, i - run);
	sb_putc(b, '"');
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int put_value(struct sbuf *b, struct json_object *o, int depth);

static int put_object(struct sbuf *b, struct json_object *o, int depth)
{
	struct json_object_iterator it, end;
	const char **keys = NULL;
	size_t n, i = 0;
	int rc = 0;

	n = (size_t)json_object_object_length(o);
	if (n) {
		keys = calloc(n, sizeof(*keys));
		if (!keys)
			return -ENOMEM;
	}
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end) && i < n; json_object_iter_next(&it))
		keys[i++] = json_object_iter_peek_name(&it);
	n = i;
	if (n)
		qsort(keys, n, sizeof(*keys), cmp_key);
	sb_putc(b, '{');
	for (i = 0; i < n && !rc; i++) {
		if (i)
			sb_putc(b, ',');
		rc = put_string(b, keys[i], strlen(keys[i]));
		if (rc)
			break;
		sb_putc(b, ':');
		rc = put_value(b, json_object_object_get(o, keys[i]), depth + 1);
	}
	sb_putc(b, '}');
	free(keys);
	return rc;
}

static int put_value(struct sbuf *b, struct json_object *o, int depth)
{
	char num[32];
	int64_t i;
	size_t k, n;
	int rc = 0;

	if (depth > TCL_CANON_MAX_DEPTH) {
		pr_err("canonjson", "nesting deeper than %d levels", TCL_CANON_MAX_DEPTH);
		return -ELOOP;
	}
	switch (json_object_get_type(o)) {
	case json_type_null:
		sb_put(b, "null", 4);
		break;
	case json_type_boolean:
		if (json_object_get_boolean(o))
			sb_put(b, "true", 4);
		else
			sb_put(b, "false", 5);
		break;
	case json_type_int:
		/* json-c keeps values above INT64_MAX as uint64; get_int64 saturates them. */
		i = json_object_get_int64(o);
		if (i == INT64_MAX)
			snprintf(num, sizeof(num), "%" PRIu64, json_object_get_uint64(o));
		else
			snprintf(num, sizeof(num), "%" PRId64, i);
		sb_put(b, num, strlen(num));
		break;
	case json_type_double:
		pr_err("canonjson", "floating point numbers have no canonical form here");
		return -EINVAL;
	case json_type_string:
		rc = put_string(b, json_object_get_string(o),
				(size_t)json_object_get_string_len(o));
		break;
	case json_type_array:
		n = json_object_array_length(o);
		sb_putc(b, '[');
		for (k = 0; k < n && !rc; k++) {
			if (k)
				sb_putc(b, ',');
			rc = put_value(b, json_object_array_get_idx(o, k), depth + 1);
		}
		sb_putc(b, ']');
		break;
	case json_type_object:
		rc = put_object(b, o, depth);
		break;
	default:
		return -EINVAL;
	}
	return rc;
}

int tcl_canon_json(struct json_object *o, char **out, size_t *len)
{
	struct sbuf b = { 0 };
	int rc;

	*out = NULL;
	*len = 0;
	rc = put_value(&b, o, 0);
	if (!rc)
		rc = b.err;
	if (rc) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

/* json-c's strict mode still takes single-quoted keys; outside strings, RFC 8259 text has only
 * structure, whitespace, number characters and the letters of true/false/null. */
static int lex_ok(const char *buf, size_t len, size_t *bad)
{
	bool in_str = false, esc = false;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = buf[i];

		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (!strchr(" \t\r\n{}[],:-+.0123456789eEtrufalsn", c)) {
			*bad = i;
			return 0;
		}
	}
	return 1;
}

int tcl_json_parse(const char *what, const char *buf, size_t len, size_t max,
		   struct json_object **out)
{
	struct json_tokener *tok = NULL;
	struct json_object *o = NULL;
	enum json_tokener_error jerr;
	size_t end;
	int rc = -EINVAL;

	*out = NULL;
	if (max > INT_MAX - 1)
		max = INT_MAX - 1;
	if (len > max) {
		pr_err("json", "%s: %zu bytes, limit %zu", what, len, max);
		return -EFBIG;
	}
	if (memchr(buf, '\0', len)) {
		pr_err("json", "%s: contains a NUL byte", what);
		return -EINVAL;
	}
	if (!lex_ok(buf, len, &end)) {
		pr_err("json", "%s: invalid JSON at byte %zu", what, end);
		return -EINVAL;
	}
	tok = json_tokener_new_ex(TCL_CANON_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		pr_err("json", "%s: truncated JSON", what);
		goto out;
	}
	if (jerr != json_tokener_success || !o) {
		pr_err("json", "%s: invalid JSON at byte %zu: %s", what,
		       json_tokener_get_parse_end(tok), json_tokener_error_desc(jerr));
		goto out;
	}
	if (!json_object_is_type(o, json_type_object) && !json_object_is_type(o, json_type_array)) {
		pr_err("json", "%s: top level is not an object or array", what);
		goto out;
	}
	for (end = json_tokener_get_parse_end(tok); end < len; end++) {
		if (!strchr(" \t\r\n", buf[end])) {
			pr_err("json", "%s: trailing data at byte %zu", what, end);
			goto out;
		}
	}
	*out = o;
	o = NULL;
	rc = 0;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return rc;
}
