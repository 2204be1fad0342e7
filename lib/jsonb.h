/* SPDX-License-Identifier: GPL-2.0 */
/* Building json-c objects.  Every helper returns 0 or -ENOMEM and never leaks: a value that
 * could not be added is freed.  Callers that cannot report an error may ignore the result
 * (the member is then simply missing). */
#ifndef TCL_JSONB_H
#define TCL_JSONB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* Adds @v (its reference is taken in every case; NULL counts as an allocation failure). */
int tcl_json_add(struct json_object *o, const char *key, struct json_object *v);
int tcl_json_add_str(struct json_object *o, const char *key, const char *s);
/* Nothing is added when @s is NULL or empty. */
int tcl_json_add_str_opt(struct json_object *o, const char *key, const char *s);
int tcl_json_add_int(struct json_object *o, const char *key, int64_t v);
int tcl_json_add_bool(struct json_object *o, const char *key, bool v);
/* Lower-case hex / base64 of @len bytes as a string. */
int tcl_json_add_hex(struct json_object *o, const char *key, const uint8_t *p, size_t len);
int tcl_json_add_b64(struct json_object *o, const char *key, const uint8_t *p, size_t len);
/* Appends @v to an array (reference taken in every case). */
int tcl_json_push(struct json_object *a, struct json_object *v);

#endif
