// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonb.h"
#include "policy.h"
#include "util.h"

struct parse_ctx {
	const char *text;
	size_t len;
	const char *origin;
	char *err;
	size_t errlen;
};

/* json-c keeps no source positions: find the line of the first "key" occurrence. */
static int line_of_key(const struct parse_ctx *c, const char *key)
{
	char needle[300];
	const char *hit;
	int line = 1;

	snprintf(needle, sizeof(needle), "\"%s\"", key);
	hit = memmem(c->text, c->len, needle, strlen(needle));
	if (!hit)
		return 0;
	for (const char *p = c->text; p < hit; p++)
		line += *p == '\n';
	return line;
}

static int line_of_offset(const struct parse_ctx *c, size_t off)
{
	int line = 1;

	for (size_t i = 0; i < off && i < c->len; i++)
		line += c->text[i] == '\n';
	return line;
}

__attribute__((format(printf, 3, 4))) static int fail(const struct parse_ctx *c, int line,
							const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(c->err, c->errlen, "%s:%d: %s", c->origin, line, what);
	else
		snprintf(c->err, c->errlen, "%s: %s", c->origin, what);
	return -EINVAL;
}

static int parse_entries(const struct parse_ctx *c, json_object *arr, const char *where,
			 struct tcl_policy_entry **out, size_t *n_out)
{
	struct tcl_policy_entry *v;
	size_t n;

	if (!json_object_is_type(arr, json_type_array))
		return fail(c, line_of_key(c, "allow"), "%s.allow must be an array", where);
	n = json_object_array_length(arr);
	if (n > TCL_POLICY_MAX_ENTRIES)
		return fail(c, line_of_key(c, "allow"), "%s.allow has %zu entries (max %u)", where, n,
			    TCL_POLICY_MAX_ENTRIES);
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	/* Zeroed entries are safe to free: count them all now so a failure frees everything. */
	*out = v;
	*n_out = n;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i), *sha = NULL;

		if (!json_object_is_type(e, json_type_object))
			return fail(c, 0, "%s.allow[%zu] must be an object", where, i);
		json_object_object_foreach(e, key, val)
		{
			if (!strcmp(key, "sha256")) {
				sha = val;
			} else if (!strcmp(key, "path")) {
				if (!json_object_is_type(val, json_type_string))
					return fail(c, line_of_key(c, key),
						    "%s.allow[%zu].path must be a string", where, i);
				v[i].path = strdup(json_object_get_string(val));
				if (!v[i].path)
					return -ENOMEM;
			} else {
				return fail(c, line_of_key(c, key), "unknown key \"%s\" in %s.allow[%zu]",
					    key, where, i);
			}
		}
		if (!sha || !json_object_is_type(sha, json_type_string))
			return fail(c, 0, "%s.allow[%zu] needs \"sha256\": \"<64 hex digits>\"", where,
				    i);
		if (json_object_get_string_len(sha) != 64 ||
		    tcl_unhex(json_object_get_string(sha), v[i].sha256, 32))
			return fail(c, line_of_key(c, json_object_get_string(sha)),
				    "%s.allow[%zu].sha256 is not 64 hex digits: \"%.80s\"", where, i,
				    json_object_get_string(sha));
	}
	return 0;
}

static int parse_images(const struct parse_ctx *c, json_object *obj, struct tcl_policy *p)
{
	size_t n = 0;

	if (!json_object_is_type(obj, json_type_object))
		return fail(c, line_of_key(c, "images"), "\"images\" must be an object");
	p->images = calloc(json_object_object_length(obj) + 1, sizeof(*p->images));
	if (!p->images)
		return -ENOMEM;
	json_object_object_foreach(obj, name, img)
	{
		struct tcl_policy_image *im = &p->images[n];
		char where[300];
		int ret;

		if (!*name || strlen(name) > 255)
			return fail(c, 0, "image name must be 1-255 characters");
		snprintf(where, sizeof(where), "images[\"%s\"]", name);
		if (!json_object_is_type(img, json_type_object))
			return fail(c, line_of_key(c, name), "%s must be an object", where);
		im->name = strdup(name);
		if (!im->name)
			return -ENOMEM;
		p->n_images = ++n;
		json_object_object_foreach(img, key, val)
		{
			if (strcmp(key, "allow"))
				return fail(c, line_of_key(c, key), "unknown key \"%s\" in %s", key,
					    where);
			ret = parse_entries(c, val, where, &im->allow, &im->n_allow);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int tcl_policy_parse(const char *text, size_t len, const char *origin, struct tcl_policy **out,
		     char *err, size_t errlen)
{
	struct parse_ctx c = { text, len, origin, err, errlen };
	struct json_tokener *tok = NULL;
	struct tcl_policy *p = NULL;
	json_object *root = NULL, *version = NULL;
	int ret;

	err[0] = '\0';
	if (len > TCL_POLICY_MAX_BYTES) {
		snprintf(err, errlen, "%s: policy is %zu bytes (max %u)", origin, len,
			 TCL_POLICY_MAX_BYTES);
		return -E2BIG;
	}
	if (memchr(text, '\0', len)) {
		ret = fail(&c, line_of_offset(&c, (const char *)memchr(text, '\0', len) - text),
			   "NUL byte in policy");
		goto out;
	}
	tok = json_tokener_new_ex(64);
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) < len) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);
		size_t at = json_tokener_get_parse_end(tok);

		/* Trailing whitespace after the document is fine. */
		if (root && jerr == json_tokener_success) {
			size_t i = at;

			while (i < len && strchr(" \t\r\n", text[i]))
				i++;
			if (i == len)
				goto parsed;
			ret = fail(&c, line_of_offset(&c, i), "trailing data after the JSON document");
			goto out;
		}
		ret = fail(&c, line_of_offset(&c, at), "invalid JSON: %s",
			   jerr == json_tokener_continue ? "unexpected end of input" :
							   json_tokener_error_desc(jerr));
		goto out;
	}
parsed:
	if (!json_object_is_type(root, json_type_object)) {
		ret = fail(&c, 1, "policy must be a JSON object");
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		ret = -ENOMEM;
		goto out;
	}
	json_object_object_foreach(root, key, val)
	{
		if (!strcmp(key, "version")) {
			version = val;
		} else if (!strcmp(key, "allow")) {
			ret = parse_entries(&c, val, "policy", &p->allow, &p->n_allow);
			if (ret)
				goto out;
		} else if (!strcmp(key, "images")) {
			ret = parse_images(&c, val, p);
			if (ret)
				goto out;
		} else {
			ret = fail(&c, line_of_key(&c, key), "unknown key \"%s\"", key);
			goto out;
		}
	}
	if (!version || !json_object_is_type(version, json_type_int) ||
	    json_object_get_int64(version) != 1) {
		ret = fail(&c, line_of_key(&c, "version"), "\"version\" must be 1");
		goto out;
	}
	p->version = 1;
	*out = p;
	p = NULL;
	ret = 0;
out:
	tcl_policy_free(p);
	json_object_put(root);
	if (tok)
		json_tokener_free(tok);
	if (ret == -ENOMEM && !err[0])
		snprintf(err, errlen, "%s: out of memory", origin);
	return ret;
}

int tcl_policy_load(const char *path, struct tcl_policy **out, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = tcl_read_file(path, TCL_POLICY_MAX_BYTES, &text, &len);
	if (ret) {
		snprintf(err, errlen, "%s: %s", path,
			 ret == -EFBIG ? "policy larger than 64 MiB" : strerror(-ret));
		return ret;
	}
	ret = tcl_policy_parse(text, len, path, out, err, errlen);
	free(text);
	return ret;
}

static void free_entries(struct tcl_policy_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

void tcl_policy_free(struct tcl_policy *p)
{
	if (!p)
		return;
	free_entries(p->allow, p->n_allow);
	for (size_t i = 0; i < p->n_images; i++) {
		free(p->images[i].name);
		free_entries(p->images[i].allow, p->images[i].n_allow);
	}
	free(p->images);
	free(p);
}

int tcl_policy_add(struct tcl_policy *p, const uint8_t sha256[32], const char *path)
{
	struct tcl_policy_entry *v;

	if (p->n_allow >= TCL_POLICY_MAX_ENTRIES)
		return -E2BIG;
	v = realloc(p->allow, (p->n_allow + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->allow = v;
	memcpy(v[p->n_allow].sha256, sha256, 32);
	v[p->n_allow].path = path ? strdup(path) : NULL;
	if (path && !v[p->n_allow].path)
		return -ENOMEM;
	p->n_allow++;
	return 0;
}

static json_object *entries_json(const struct tcl_policy_entry *v, size_t n)
{
	json_object *arr = json_object_new_array_ext(n);

	for (size_t i = 0; arr && i < n; i++) {
		json_object *e = json_object_new_object();

		tcl_json_add_hex(e, "sha256", v[i].sha256, 32);
		if (v[i].path)
			tcl_json_add_str(e, "path", v[i].path);
		tcl_json_push(arr, e);
	}
	return arr;
}

int tcl_policy_to_json(const struct tcl_policy *p, char **out)
{
	json_object *root = json_object_new_object(), *images;
	int ret = 0;

	if (!root)
		return -ENOMEM;
	tcl_json_add_int(root, "version", 1);
	tcl_json_add(root, "allow", entries_json(p->allow, p->n_allow));
	if (p->n_images) {
		images = json_object_new_object();
		for (size_t i = 0; i < p->n_images; i++) {
			json_object *im = json_object_new_object();

			tcl_json_add(im, "allow", entries_json(p->images[i].allow,
							       p->images[i].n_allow));
			tcl_json_add(images, p->images[i].name, im);
		}
		tcl_json_add(root, "images", images);
	}
	*out = strdup(json_object_to_json_string_ext(
		root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	if (!*out)
		ret = -ENOMEM;
	json_object_put(root);
	return ret;
}

const struct tcl_policy_image *tcl_policy_image(const struct tcl_policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_images; i++)
		if (!strcmp(p->images[i].name, name))
			return &p->images[i];
	return NULL;
}
