/* SPDX-License-Identifier: GPL-2.0 */
/* Image references, digests and registry credentials.  The parsers do no I/O. */
#ifndef TCL_IMAGEREF_H
#define TCL_IMAGEREF_H

#include <stdbool.h>
#include <stddef.h>

#define TCL_DIGEST_LEN		71	/* "sha256:" + 64 hex */

/* "sha256:" + exactly 64 lower-case hex digits; the only algorithm we accept. */
bool tcl_digest_valid(const char *s);

/* [scheme://][host[:port]/]repo[:tag][@sha256:hex].  The first component is a host when it holds
 * '.' or ':' or is "localhost" (docker's rule), or when a scheme was given.  Repo components follow
 * the distribution grammar ([a-z0-9]+ joined by '.', '_', '__' or '-'), at most 255; tag
 * [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.  Missing parts are empty strings; scheme is "", "http" or
 * "https". */
struct tcl_ref {
	char scheme[8];
	char host[256];
	char repo[256];
	char tag[129];
	char digest[TCL_DIGEST_LEN + 1];
};
int tcl_ref_parse(const char *s, struct tcl_ref *out);

/* The parts of that grammar, on @n bytes of @s (no NUL needed).  A host is a name or [IPv6]
 * with an optional :port (1-65535). */
bool tcl_ref_repo_valid(const char *s, size_t n);
bool tcl_ref_tag_valid(const char *s, size_t n);
bool tcl_ref_host_valid(const char *s, size_t n);

/* Registry credentials (malloc'd; *user NULL: none): @username and @password when a username is
 * given, else the one line "user:pass" of @auth_file (at most 4 KiB), else the environment's
 * TCL_REGISTRY_AUTH=user:pass.  On failure the caller frees what *user and *pass hold. */
int tcl_registry_auth_load(const char *username, const char *password, const char *auth_file,
			   char **user, char **pass);

#endif
