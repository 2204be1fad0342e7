/* SPDX-License-Identifier: GPL-2.0 */
/* The one reader of tcl's config files (tcl-agent's and tcl-attestor's): `key = value` lines,
 * the keys being a program's long option names without "--"; blanks around key and value are
 * ignored, blank lines and lines starting with '#' too.  What a value means is the program's to
 * say, through a callback; which of a key's settings wins (the command line over the file) too. */
#ifndef TCL_CONFFILE_H
#define TCL_CONFFILE_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

/* A config file is small: a larger one is refused. */
#define TCL_CONF_MAX_BYTES (64u << 10)

struct tcl_conf {
	const char *prog;		/* prefix of every message */
	const struct option *opts;	/* the keys: the long names, NULL-terminated */
	const char *const *not_keys;	/* long names that are not keys ("config", "help"), NULL-
					 * terminated; NULL: none */
	bool missing_ok;		/* a missing file: -ENOENT without a message */
	/* One setting; @value is never empty, @from is "FILE:LINE" for messages.  0, or what
	 * tcl_conf_read returns at once (after the callback's own message). */
	int (*set)(void *ctx, const struct option *o, const char *value, const char *from);
	void *ctx;
	FILE *err;			/* where messages go */
};

/* Read @path and call c->set for each setting, in file order.  0, -ENOENT (missing_ok), or
 * -errno after a message on @err: "PROG: config FILE: why" when the file cannot be read,
 * "PROG: FILE:LINE: unknown key 'x'" (or another reason) for a bad line, or c->set's error. */
int tcl_conf_read(const struct tcl_conf *c, const char *path);

/* A boolean value: true/yes/1/on or false/no/0/off.  0 or -EINVAL. */
int tcl_conf_bool(const char *value, bool *out);

#endif
