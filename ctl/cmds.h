/* SPDX-License-Identifier: GPL-2.0 */
/* tclctl's commands: a table of nouns, and for each noun a table of its verbs (bpftool's
 * struct cmd and cmd_select()).  One file per noun holds all its verbs (README.md "tclctl").
 *
 * One calling convention everywhere: fn(argc, argv) with argv[0] the word that selected the
 * handler (the noun for a noun, the verb for a verb), so getopt_long() reads argv as it would
 * a program's.  Handlers return tclctl's exit status: 0 ok, 1 failure, 2 (EXIT_USAGE) usage. */
#ifndef TCL_CTL_CMDS_H
#define TCL_CTL_CMDS_H

#include <stddef.h>
#include <stdint.h>
#include <getopt.h>
#include <stdio.h>

#include "registry.h"

#define EXIT_USAGE 2

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};

/* Run the handler in @cmds (ends with a NULL name) named argv[0], with optind reset: a noun's
 * handler calls it with its argc - 1, argv + 1 and @noun its own name; main() with the words
 * after the global options and @noun NULL.  "--help", "-h" and "help" print @usage on stdout
 * (0); no word prints it on stderr (2); an unknown word is named, then @usage on stderr (2). */
int cmd_select(const struct cmd *cmds, const char *noun, int argc, char **argv,
	       void (*usage)(FILE *f));

/* Global options of tclctl (--pin-dir, --socket). */
extern const char *ctl_pin_dir;
extern const char *ctl_socket;

/* The nouns.  golden.c also serves tests/unit/test_golden.c; log.c, quote.c and ak.c
 * tests/unit/test_measure.c and tests/swtpm/measure_tool.c. */
int tcl_cmd_status(int argc, char **argv);
int tcl_cmd_events(int argc, char **argv);
int tcl_cmd_top(int argc, char **argv);
int tcl_cmd_unload(int argc, char **argv);
int tcl_cmd_policy(int argc, char **argv);
int tcl_cmd_image(int argc, char **argv);
int tcl_cmd_golden(int argc, char **argv);
int tcl_cmd_log(int argc, char **argv);
int tcl_cmd_quote(int argc, char **argv);
int tcl_cmd_ak(int argc, char **argv);
int tcl_cmd_k8s(int argc, char **argv);

/* ---- helpers shared by the nouns (cmds.c); each logs its own error as "tclctl: ..." */

/* A whole file, or stdin for "-", of at most @max bytes (NUL-terminated).  @what (may be NULL)
 * prefixes the path in messages ("manifest FILE: ...").  0, -EFBIG or -errno. */
int ctl_read_input(const char *what, const char *path, size_t max, char **buf, size_t *len);
/* A regular file only (never blocks on a FIFO) of at most @max bytes.  0, -EINVAL (not a
 * regular file), -EFBIG or -errno. */
int ctl_read_regular(const char *path, size_t max, char **buf, size_t *len);
/* Write @buf to @path atomically (mode 0644), or to stdout for "-".  0 or -errno. */
int ctl_write_output(const char *path, const void *buf, size_t len);
/* "DIR[:TAG]": the split at the last ':' unless the whole argument is a directory or TAG
 * would contain '/'.  *dir is malloc'd; *tag points into @arg or is NULL (none or empty). */
int ctl_split_oci(const char *arg, char **dir, const char **tag);
/* A PCR number 0-23 for option --pcr. */
int ctl_parse_pcr(const char *s, uint32_t *out);
/* --timeout: whole seconds 1..@max. */
int ctl_parse_seconds(const char *s, long max, long *out);

/* ---- registry options shared by image, golden and k8s (registry_opts.c) */

enum { OPT_REGISTRY = 0x100, OPT_AUTH_FILE, OPT_CA_FILE, OPT_TIMEOUT, OPT_REGISTRY_LAST };

#define CTL_REGISTRY_LONGOPTS                                        \
	{ "registry", required_argument, NULL, OPT_REGISTRY },       \
	{ "auth-file", required_argument, NULL, OPT_AUTH_FILE },     \
	{ "ca-file", required_argument, NULL, OPT_CA_FILE },         \
	{ "timeout", required_argument, NULL, OPT_TIMEOUT }

extern const char ctl_registry_help[];

struct ctl_registry {
	const char *registry;	/* --registry URL, or NULL */
	struct tcl_registry_opts o;
};

/* getopt_long() that takes the registry options into @c itself: the next other option, -1 at
 * the end, or CTL_REGISTRY_BAD for a registry option with a bad value. */
#define CTL_REGISTRY_BAD (-2)
int ctl_registry_getopt(struct ctl_registry *c, int argc, char **argv, const char *shortopts,
			const struct option *longopts);
/* Parse the reference @arg and connect to its registry (--registry, else the reference's
 * host, and the two must agree).  Returns an exit status. */
int ctl_registry_open(const struct ctl_registry *c, const char *arg, struct tcl_ref *ref,
		      struct tcl_registry **reg);
/* The name as the user wrote it, without tag or digest. */
void ctl_ref_name(const struct tcl_ref *ref, char *out, size_t cap);

#endif
