// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent_conf.h"
#include "conffile.h"

struct args {
	char **v;
	int n, cap;
	FILE *err;
};

static int push(struct args *a, char *s)
{
	if (!s)
		return -ENOMEM;
	if (a->n + 1 >= a->cap) {
		int cap = a->cap ? 2 * a->cap : 16;
		char **v = realloc(a->v, cap * sizeof(*v));

		if (!v) {
			free(s);
			return -ENOMEM;
		}
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
	return 0;
}

static int set(void *ctx, const struct option *o, const char *value, const char *from)
{
	struct args *a = ctx;
	char *s = NULL;
	bool on;

	if (o->has_arg == no_argument) {
		if (tcl_conf_bool(value, &on)) {
			fprintf(a->err, "tcl-agent: %s: '%s' is true or false, not '%.64s'\n", from,
				o->name, value);
			return -EINVAL;
		}
		if (!on)
			return 0;
		if (asprintf(&s, "--%s", o->name) < 0)
			return -ENOMEM;
	} else if (asprintf(&s, "--%s=%s", o->name, value) < 0) {
		return -ENOMEM;
	}
	return push(a, s);
}

int tcl_agent_conf_argv(int *argc, char ***argv, const struct option *opts, FILE *err)
{
	static const char *const not_keys[] = { "config", "check-config", "help", NULL };
	const char *path = NULL;
	struct args a = { .err = err };
	struct tcl_conf c = {
		.prog = "tcl-agent",
		.opts = opts,
		.not_keys = not_keys,
		.set = set,
		.ctx = &a,
		.err = err,
	};
	int i, rc;

	for (i = 1; i < *argc && strcmp((*argv)[i], "--"); i++) {
		if (!strcmp((*argv)[i], "--config")) {
			if (i + 1 == *argc) {
				fprintf(err, "tcl-agent: --config needs a file\n");
				return -EINVAL;
			}
			path = (*argv)[++i];
		} else if (!strncmp((*argv)[i], "--config=", 9)) {
			path = (*argv)[i] + 9;
		}
	}
	c.missing_ok = !path;
	rc = push(&a, strdup((*argv)[0]));
	if (!rc)
		rc = tcl_conf_read(&c, path ? path : TCL_AGENT_CONFIG);
	if (rc == -ENOENT && !path)
		rc = 0;
	for (i = 1; !rc && i < *argc; i++)
		rc = push(&a, strdup((*argv)[i]));
	if (rc) {
		for (i = 0; i < a.n; i++)
			free(a.v[i]);
		free(a.v);
		return rc;
	}
	*argc = a.n;
	*argv = a.v;
	return 0;
}
