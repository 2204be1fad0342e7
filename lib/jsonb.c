// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>

#include "hexb64.h"
#include "jsonb.h"

int tcl_json_add(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v || !o || json_object_object_add(o, key, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

int tcl_json_add_str(struct json_object *o, const char *key, const char *s)
{
	return tcl_json_add(o, key, json_object_new_string(s));
}

int tcl_json_add_str_opt(struct json_object *o, const char *key, const char *s)
{
	return s && *s ? tcl_json_add_str(o, key, s) : 0;
}

int tcl_json_add_int(struct json_object *o, const char *key, int64_t v)
{
	return tcl_json_add(o, key, json_object_new_int64(v));
}

int tcl_json_add_bool(struct json_object *o, const char *key, bool v)
{
	return tcl_json_add(o, key, json_object_new_boolean(v));
}

int tcl_json_add_hex(struct json_object *o, const char *key, const uint8_t *p, size_t len)
{
	char *s;
	int rc;

	if (len > (SIZE_MAX - 1) / 2)
		return -ENOMEM;
	s = malloc(2 * len + 1);
	if (!s)
		return -ENOMEM;
	tcl_hex(p, len, s);
	rc = tcl_json_add_str(o, key, s);
	free(s);
	return rc;
}

int tcl_json_add_b64(struct json_object *o, const char *key, const uint8_t *p, size_t len)
{
	char *s;
	int rc;

	if (tcl_b64_encode(p, len, &s, NULL))
		return -ENOMEM;
	rc = tcl_json_add_str(o, key, s);
	free(s);
	return rc;
}

int tcl_json_push(struct json_object *a, struct json_object *v)
{
	if (!v || !a || json_object_array_add(a, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}
