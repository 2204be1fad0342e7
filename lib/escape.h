/* SPDX-License-Identifier: GPL-2.0 */
/* The one place untrusted strings (kernel paths and comms, registry replies, image content,
 * peers' JSON keys) are made safe to show.  Pick by destination:
 *   tcl_esc_log    one log line, reversible: printable ASCII, the rest as \xNN, cut with "..."
 *   tcl_esc_ctrl   short text in a message or header: unwanted bytes become '?'
 *   tcl_esc_put    a stream whose format keeps bytes >= 0x80 (the IMA ascii log): controls \xNN
 *   tcl_esc_utf8   a JSON string: valid UTF-8, invalid sequences as U+FFFD */
#ifndef TCL_ESCAPE_H
#define TCL_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* Printable ASCII other than '"' and '\\' is kept, every other byte becomes \xNN (so the text
 * can be quoted and read back); when @buf (@sz >= 8) fills up, the text is cut and ends in "...".
 * Returns @buf, for use in a printf. */
const char *tcl_esc_log(const char *s, char *buf, size_t sz);

/* For tcl_esc_ctrl: which bytes become '?'. */
enum {
	TCL_ESC_C0 = 0,		/* bytes below 0x20 only (UTF-8 passes through) */
	TCL_ESC_ASCII = 1,	/* also DEL and every byte >= 0x80 */
};
/* Copy of @in (NULL reads as "") cut to @cap - 1 bytes, unwanted bytes as '?'. */
void tcl_esc_ctrl(const char *in, char *out, size_t cap, int mode);

/* Writes @s with bytes below 0x20 and DEL as \xNN, every other byte verbatim. */
void tcl_esc_put(FILE *out, const char *s);

/* At most @max bytes of @in (stops at a NUL) as valid UTF-8 into @out (@outlen >= 5): invalid
 * sequences become U+FFFD; stops before a character that would not fit. */
void tcl_esc_utf8(const char *in, size_t max, char *out, size_t outlen);

#endif
