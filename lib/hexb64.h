/* SPDX-License-Identifier: GPL-2.0 */
/* Hex and base64, the one copy of each for the whole tree, and the hex SHA-256 of a buffer.
 * Base64 is RFC 4648 (standard alphabet, '=' padding); decoding is strict: no whitespace, no
 * missing or extra padding, no non-zero pad bits, so a value has exactly one encoding. */
#ifndef TCL_HEXB64_H
#define TCL_HEXB64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lower-case hex of @len bytes into @out (2*len+1 bytes, NUL-terminated). */
void tcl_hex(const uint8_t *in, size_t len, char *out);
/* Parse exactly 2*len lowercase or uppercase hex digits followed by NUL. 0 or -EINVAL. */
int tcl_unhex(const char *in, uint8_t *out, size_t len);
/* The same for a counted string: @inlen must be 2*@len (no NUL needed). 0 or -EINVAL. */
int tcl_unhex_n(const char *in, size_t inlen, uint8_t *out, size_t len);
/* Are the first @len characters of @s all lower-case hex digits? (Digests are compared as
 * text, so upper case would be a second spelling of the same value.) */
bool tcl_is_hex(const char *s, size_t len);
/* Lower-case hex of the SHA-256 of @len bytes into @out (65 bytes, NUL-terminated); with
 * @prefix, "sha256:" first (72 bytes: an OCI digest).  0 or -ENOMEM (OpenSSL failed). */
int tcl_sha256_hex(const void *in, size_t len, bool prefix, char *out);

/* *out malloc'd and NUL-terminated; *olen (may be NULL) its length. 0, -EFBIG or -ENOMEM. */
int tcl_b64_encode(const uint8_t *in, size_t len, char **out, size_t *olen);
/* *out malloc'd (at least 1 byte, so an empty value is not NULL).  -EINVAL not base64,
 * -EFBIG decodes to more than @max bytes, -ENOMEM. */
int tcl_b64_decode(const char *in, size_t len, size_t max, uint8_t **out, size_t *olen);
/* Decode into a caller buffer of @cap bytes (-EFBIG if it does not fit). */
int tcl_b64_decode_buf(const char *in, size_t len, uint8_t *out, size_t cap, size_t *olen);

#endif
