/* SPDX-License-Identifier: GPL-2.0 */
/* Canonical JSON, so that one value always serialises to the same bytes (what gets hashed,
 * measured and signed).  Close to RFC 8785 (JCS) with two deliberate differences:
 *  - numbers: integers only (int64 or uint64, plain decimal); a floating point value is -EINVAL,
 *    because float formatting is where canonical forms go wrong;
 *  - object keys are sorted by their UTF-8 bytes (memcmp order = code point order), not by
 *    UTF-16 code units; the two differ only for keys beyond U+FFFF mixed with U+E000..U+FFFF.
 * Output: no whitespace; strings escape only '"', '\\' and U+0000..U+001F (\b \f \n \r \t, else
 * \u00xx lowercase); everything else, '/' and non-ASCII included, is copied.  Strings and keys must
 * be valid UTF-8 (else -EINVAL).  Nesting deeper than TCL_CANON_MAX_DEPTH is -ELOOP. */
#ifndef TCL_CANONJSON_H
#define TCL_CANONJSON_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

#define TCL_CANON_MAX_DEPTH 64

/* *out is malloc'd and NUL-terminated; *len excludes the NUL. On error *out is NULL. */
int tcl_canon_json(struct json_object *o, char **out, size_t *len);

/* Valid UTF-8 as the serialiser demands it (no overlongs, surrogates or values > U+10FFFF). */
bool tcl_utf8_valid(const char *s, size_t n);

/* Strict bounded parse of untrusted JSON text: at most max bytes (else -EFBIG), no NUL bytes,
 * valid UTF-8, RFC 8259 syntax only, one top-level object or array and nothing after it but
 * whitespace (else -EINVAL).  what names the input in the one error message it logs. */
int tcl_json_parse(const char *what, const char *buf, size_t len, size_t max,
		   struct json_object **out);

#endif
