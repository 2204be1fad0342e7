// SPDX-License-Identifier: GPL-2.0
/* Image references, digests and registry credentials: pure parsers plus the one file and the
 * one environment variable credentials come from.  Grammar: the distribution spec
 * (reference.go) and docker's rule for what names a host. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "diag.h"
#include "fileio.h"
#include "hexb64.h"
#include "imageref.h"

#define SUB "registry"
#define AUTH_FILE_MAX 4096

bool tcl_digest_valid(const char *s)
{
	return s && !strncmp(s, "sha256:", 7) && strnlen(s + 7, 65) == 64 && tcl_is_hex(s + 7, 64);
}

static bool is_lalnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* distribution's path-component grammar, components joined by '/' */
bool tcl_ref_repo_valid(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || n > 255)
		return false;
	for (;;) {
		if (i >= n || !is_lalnum((unsigned char)s[i]))
			return false;
		while (i < n && is_lalnum((unsigned char)s[i]))
			i++;
		if (i == n)
			return true;
		if (s[i] == '/') {
			i++;
			continue;
		}
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i >= n || !is_lalnum((unsigned char)s[i]))
			return false;
	}
}

bool tcl_ref_tag_valid(const char *s, size_t n)
{
	if (n == 0 || n > 128)
		return false;
	if (!isalnum((unsigned char)s[0]) && s[0] != '_')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

bool tcl_ref_host_valid(const char *s, size_t n)
{
	size_t i = 0, hend;

	if (n == 0 || n > 255)
		return false;
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', n);

		if (!rb || rb == s + 1)
			return false;
		for (i = 1; s + i < rb; i++)
			if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
				return false;
		hend = (size_t)(rb - s) + 1;
	} else {
		for (; i < n && s[i] != ':'; i++)
			if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-')
				return false;
		hend = i;
		if (hend == 0 || s[0] == '.' || s[0] == '-')
			return false;
	}
	if (hend == n)
		return true;
	if (s[hend] != ':' || hend + 1 == n || n - hend - 1 > 5)
		return false;
	unsigned long port = 0;

	for (i = hend + 1; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		port = port * 10 + (unsigned long)(s[i] - '0');
	}
	return port >= 1 && port <= 65535;
}

int tcl_ref_parse(const char *s, struct tcl_ref *out)
{
	const char *p, *at, *end, *slash, *colon;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!s)
		return -EINVAL;
	n = strnlen(s, 1025);
	if (n == 0 || n > 1024)
		return -EINVAL;
	p = s;
	if (!strncmp(p, "http://", 7)) {
		strcpy(out->scheme, "http");
		p += 7;
	} else if (!strncmp(p, "https://", 8)) {
		strcpy(out->scheme, "https");
		p += 8;
	}
	end = s + n;
	at = strchr(p, '@');
	if (at) {
		if (!tcl_digest_valid(at + 1))
			return -EINVAL;
		strcpy(out->digest, at + 1);
		end = at;
	}
	slash = memchr(p, '/', (size_t)(end - p));
	if (slash) {
		size_t hl = (size_t)(slash - p);
		bool is_host = out->scheme[0] || memchr(p, '.', hl) || memchr(p, ':', hl) ||
			       (hl == 9 && !strncmp(p, "localhost", 9));

		if (is_host) {
			if (!tcl_ref_host_valid(p, hl))
				return -EINVAL;
			memcpy(out->host, p, hl);
			p = slash + 1;
		}
	}
	if (out->scheme[0] && !out->host[0])
		return -EINVAL;
	colon = memchr(p, ':', (size_t)(end - p));
	if (colon) {
		if (memchr(colon, '/', (size_t)(end - colon)))
			return -EINVAL;
		if (!tcl_ref_tag_valid(colon + 1, (size_t)(end - colon - 1)))
			return -EINVAL;
		memcpy(out->tag, colon + 1, (size_t)(end - colon - 1));
		end = colon;
	}
	if (!tcl_ref_repo_valid(p, (size_t)(end - p)))
		return -EINVAL;
	memcpy(out->repo, p, (size_t)(end - p));
	return 0;
}

static int read_auth_file(const char *path, char **user, char **pass)
{
	char *buf = NULL, *colon;
	size_t n = 0;
	int err;

	err = tcl_read_file(path, AUTH_FILE_MAX, &buf, &n);
	if (err) {
		pr_err(SUB, "auth file %s: %s", path,
		       err == -EFBIG ? "larger than 4 KiB" : strerror(-err));
		return err;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	colon = strchr(buf, ':');
	if (!colon || colon == buf) {
		pr_err(SUB, "auth file %s: expected one line user:password", path);
		err = -EINVAL;
		goto out;
	}
	*colon = '\0';
	*user = strdup(buf);
	*pass = strdup(colon + 1);
	if (!*user || !*pass)
		err = -ENOMEM;
out:
	OPENSSL_cleanse(buf, n);
	free(buf);
	return err;
}

int tcl_registry_auth_load(const char *username, const char *password, const char *auth_file,
			   char **user, char **pass)
{
	const char *env, *colon;

	*user = *pass = NULL;
	if (username) {
		*user = strdup(username);
		*pass = strdup(password ? password : "");
	} else if (auth_file) {
		return read_auth_file(auth_file, user, pass);
	} else {
		env = getenv("TCL_REGISTRY_AUTH");
		colon = env ? strchr(env, ':') : NULL;
		if (!env || !*env)
			return 0;
		if (!colon || colon == env || strlen(env) > AUTH_FILE_MAX) {
			pr_err(SUB, "TCL_REGISTRY_AUTH: expected user:password");
			return -EINVAL;
		}
		*user = strndup(env, (size_t)(colon - env));
		*pass = strdup(colon + 1);
	}
	return *user && *pass ? 0 : -ENOMEM;
}
