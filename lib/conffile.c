// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "fileio.h"

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static const struct option *find_key(const struct tcl_conf *c, const char *k)
{
	const struct option *o;

	for (const char *const *n = c->not_keys; n && *n; n++)
		if (!strcmp(*n, k))
			return NULL;
	for (o = c->opts; o->name; o++)
		if (!strcmp(o->name, k))
			return o;
	return NULL;
}

static int read_lines(const struct tcl_conf *c, const char *path, char *buf)
{
	char *line, *next, from[PATH_MAX + 32];
	size_t lineno = 0;
	int rc;

	for (line = buf; line; line = next) {
		const struct option *o;
		char *eq, *k, *v;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		snprintf(from, sizeof(from), "%s:%zu", path, lineno);
		line = trim(line);
		if (!*line || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			fprintf(c->err, "%s: %s: expected 'key = value'\n", c->prog, from);
			return -EINVAL;
		}
		*eq = '\0';
		k = trim(line);
		v = trim(eq + 1);
		o = find_key(c, k);
		if (!o) {
			fprintf(c->err, "%s: %s: unknown key '%.64s'\n", c->prog, from, k);
			return -EINVAL;
		}
		if (!*v) {
			fprintf(c->err, "%s: %s: '%s' has no value\n", c->prog, from, k);
			return -EINVAL;
		}
		rc = c->set(c->ctx, o, v, from);
		if (rc)
			return rc;
	}
	return 0;
}

int tcl_conf_read(const struct tcl_conf *c, const char *path)
{
	char *buf = NULL;
	size_t len;
	int rc;

	rc = tcl_read_file(path, TCL_CONF_MAX_BYTES, &buf, &len);
	if (rc == -ENOENT && c->missing_ok)
		return rc;
	if (rc) {
		fprintf(c->err, "%s: config %s: %s\n", c->prog, path,
			rc == -EFBIG ? "larger than 64 KiB" : strerror(-rc));
		return rc;
	}
	if (memchr(buf, '\0', len)) {
		fprintf(c->err, "%s: config %s: contains a NUL byte\n", c->prog, path);
		rc = -EINVAL;
	} else {
		rc = read_lines(c, path, buf);
	}
	free(buf);
	return rc;
}

int tcl_conf_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "true", "yes", "1", "on" };
	static const char *const no[] = { "false", "no", "0", "off" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(v, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(v, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}
