/* SPDX-License-Identifier: GPL-2.0 */
/* Base64 (RFC 4648, standard alphabet, '=' padding) for the attestor's JSON fields.
 * Decoding is strict: no whitespace, no missing or extra padding, no non-zero pad bits, so a
 * value has exactly one encoding. */
#ifndef ATT_B64_H
#define ATT_B64_H

#include <stddef.h>
#include <stdint.h>

/* *out malloc'd and NUL-terminated. */
int att_b64_encode(const uint8_t *in, size_t len, char **out, size_t *olen);
/* *out malloc'd (at least 1 byte, so an empty value is not NULL).  -EINVAL not base64,
 * -EFBIG decodes to more than @max bytes. */
int att_b64_decode(const char *in, size_t len, size_t max, uint8_t **out, size_t *olen);
/* Decode into a caller buffer of @cap bytes (-EFBIG if it does not fit). */
int att_b64_decode_buf(const char *in, size_t len, uint8_t *out, size_t cap, size_t *olen);

#endif
