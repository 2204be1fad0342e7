// SPDX-License-Identifier: GPL-2.0
/* Revocations: the shared format (see revocation.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "canonjson.h"
#include "hexb64.h"
#include "jsonb.h"
#include "revocation.h"

#define LIST_MAX_BYTES (4u << 20)

const char *tcl_revoke_kind_name(enum tcl_revoke_kind k)
{
	return k == TCL_REVOKE_IMAGE ? "image" : k == TCL_REVOKE_KEY ? "key" : "unknown";
}

static int __attribute__((format(printf, 3, 4))) fail(char *err, size_t len, const char *fmt,
							 ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "sha256:<64 lower-case hex>" or the 64 hex digits alone: normalised into @out. */
static bool digest_norm(const char *s, char out[72])
{
	if (!strncmp(s, "sha256:", 7))
		s += 7;
	if (strlen(s) != 64 || !tcl_is_hex(s, 64))
		return false;
	for (size_t i = 0; i < 64; i++)
		if (s[i] >= 'A' && s[i] <= 'F')
			return false;
	snprintf(out, 72, "sha256:%s", s);
	return true;
}

int tcl_revocation_from_json(struct json_object *o, bool request, struct tcl_revocation *r,
			     char *err, size_t errlen)
{
	struct json_object *v;
	const char *kind, *field;

	memset(r, 0, sizeof(*r));
	if (!json_object_is_type(o, json_type_object))
		return fail(err, errlen, "a revocation is a JSON object");
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (strcmp(key, "kind") && strcmp(key, "digest") && strcmp(key, "fingerprint") &&
		    strcmp(key, "reason") && (request || (strcmp(key, "id") &&
							   strcmp(key, "created"))))
			return fail(err, errlen, "revocation: unknown key \"%.64s\"", key);
	}
	if (!json_object_object_get_ex(o, "kind", &v) || !json_object_is_type(v, json_type_string))
		return fail(err, errlen, "revocation: \"kind\" (\"image\" or \"key\") is required");
	kind = json_object_get_string(v);
	if (!strcmp(kind, "image")) {
		r->kind = TCL_REVOKE_IMAGE;
		field = "digest";
	} else if (!strcmp(kind, "key")) {
		r->kind = TCL_REVOKE_KEY;
		field = "fingerprint";
	} else {
		return fail(err, errlen, "revocation: \"kind\" must be \"image\" or \"key\", not "
			    "\"%.32s\"", kind);
	}
	if (json_object_object_get_ex(o, r->kind == TCL_REVOKE_IMAGE ? "fingerprint" : "digest",
				      NULL))
		return fail(err, errlen, "revocation: kind %s takes no other name than its own",
			    kind);
	if (!json_object_object_get_ex(o, field, &v) || !json_object_is_type(v, json_type_string) ||
	    !digest_norm(json_object_get_string(v), r->value))
		return fail(err, errlen, "revocation: \"%s\" must be \"sha256:\" and 64 lower-case "
			    "hex digits", field);
	if (!json_object_object_get_ex(o, "reason", &v) || !json_object_is_type(v, json_type_string) ||
	    !json_object_get_string_len(v) ||
	    (size_t)json_object_get_string_len(v) > TCL_REVOKE_REASON_MAX ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		return fail(err, errlen, "revocation: \"reason\" is required (1 to %d bytes)",
			    TCL_REVOKE_REASON_MAX);
	memcpy(r->reason, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
	if (request)
		return 0;
	if (!json_object_object_get_ex(o, "id", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 1)
		return fail(err, errlen, "revocation: \"id\" must be a positive integer");
	r->id = (uint64_t)json_object_get_int64(v);
	if (!json_object_object_get_ex(o, "created", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0)
		return fail(err, errlen, "revocation: \"created\" must be unix seconds");
	r->created = json_object_get_int64(v);
	return 0;
}

struct json_object *tcl_revocation_json(const struct tcl_revocation *r)
{
	struct json_object *o = json_object_new_object();

	if (!o || tcl_json_add_int(o, "id", (int64_t)r->id) ||
	    tcl_json_add_str(o, "kind", tcl_revoke_kind_name(r->kind)) ||
	    tcl_json_add_str(o, r->kind == TCL_REVOKE_IMAGE ? "digest" : "fingerprint", r->value) ||
	    tcl_json_add_str(o, "reason", r->reason) ||
	    tcl_json_add_int(o, "created", r->created)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int tcl_revocation_list_add(struct tcl_revocation_list *l, const struct tcl_revocation *r)
{
	struct tcl_revocation *nv;

	if (l->n >= TCL_REVOKE_MAX)
		return -ENOSPC;
	nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	l->v = nv;
	l->v[l->n++] = *r;
	return 0;
}

int tcl_revocation_list_del(struct tcl_revocation_list *l, uint64_t id)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].id != id)
			continue;
		memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(l->v[0]));
		l->n--;
		return 0;
	}
	return -ENOENT;
}

void tcl_revocation_list_free(struct tcl_revocation_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int tcl_revocation_list_from_json(struct json_object *o, struct tcl_revocation_list *l,
				  char *err, size_t errlen)
{
	struct json_object *v, *es;
	struct tcl_revocation r;
	char e2[256];
	int rc;

	memset(l, 0, sizeof(*l));
	if (!json_object_is_type(o, json_type_object))
		return fail(err, errlen, "a revocation list is a JSON object");
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (strcmp(key, "version") && strcmp(key, "entries"))
			return fail(err, errlen, "revocation list: unknown key \"%.64s\"", key);
	}
	if (!json_object_object_get_ex(o, "version", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0)
		return fail(err, errlen, "revocation list: \"version\" must be an integer >= 0");
	if (!json_object_object_get_ex(o, "entries", &es) ||
	    !json_object_is_type(es, json_type_array))
		return fail(err, errlen, "revocation list: \"entries\" must be an array");
	if (json_object_array_length(es) > TCL_REVOKE_MAX)
		return fail(err, errlen, "revocation list: more than %d entries", TCL_REVOKE_MAX);
	for (size_t i = 0; i < json_object_array_length(es); i++) {
		rc = tcl_revocation_from_json(json_object_array_get_idx(es, i), false, &r, e2,
					      sizeof(e2));
		for (size_t j = 0; !rc && j < l->n; j++)
			if (l->v[j].id == r.id)
				rc = fail(e2, sizeof(e2), "revocation id repeated");
		if (!rc)
			rc = tcl_revocation_list_add(l, &r);
		if (rc) {
			snprintf(err, errlen, "entry %zu: %s", i, rc == -EINVAL ? e2 : strerror(-rc));
			tcl_revocation_list_free(l);
			return rc;
		}
	}
	l->version = (uint64_t)json_object_get_int64(v);
	return 0;
}

int tcl_revocation_list_parse(const char *buf, size_t len, struct tcl_revocation_list *l,
			      char *err, size_t errlen)
{
	struct json_object *o = NULL;
	int rc;

	memset(l, 0, sizeof(*l));
	rc = tcl_json_parse("revocation list", buf, len, LIST_MAX_BYTES, &o);
	if (rc) {
		snprintf(err, errlen, "revocation list: not valid JSON (or over 4 MiB)");
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	rc = tcl_revocation_list_from_json(o, l, err, errlen);
	json_object_put(o);
	return rc;
}

struct json_object *tcl_revocation_list_json(const struct tcl_revocation_list *l)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	int rc;

	if (!o || !a)
		goto fail;
	for (size_t i = 0; i < l->n; i++)
		if (tcl_json_push(a, tcl_revocation_json(&l->v[i])))
			goto fail;
	if (tcl_json_add_int(o, "version", (int64_t)l->version))
		goto fail;
	rc = tcl_json_add(o, "entries", a);
	a = NULL;
	if (rc)
		goto fail;
	return o;
fail:
	json_object_put(a);
	json_object_put(o);
	return NULL;
}

int tcl_revocation_list_text(const struct tcl_revocation_list *l, char **out, size_t *len)
{
	struct json_object *o = tcl_revocation_list_json(l);
	int rc;

	*out = NULL;
	if (!o)
		return -ENOMEM;
	rc = tcl_canon_json(o, out, len);
	json_object_put(o);
	return rc;
}

const struct tcl_revocation *tcl_revocation_match(const struct tcl_revocation_list *l,
						   const char *image_digest, const char *keyid)
{
	char d[72] = "", k[72] = "";

	if (image_digest && *image_digest && !digest_norm(image_digest, d))
		d[0] = '\0';
	if (keyid && *keyid && !digest_norm(keyid, k))
		k[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		const struct tcl_revocation *r = &l->v[i];

		if (r->kind == TCL_REVOKE_IMAGE && d[0] && !strcmp(r->value, d))
			return r;
		if (r->kind == TCL_REVOKE_KEY && k[0] && !strcmp(r->value, k))
			return r;
	}
	return NULL;
}
