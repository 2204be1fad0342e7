// SPDX-License-Identifier: GPL-2.0
/* The verb dispatcher and the helpers every noun of tclctl shares; see cmds.h. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpf_loader.h"
#include "cmds.h"
#include "diag.h"
#include "evstream.h"
#include "log.h"
#include "fileio.h"

const char *ctl_pin_dir = TCL_DEFAULT_PIN_DIR;
const char *ctl_socket = TCL_DEFAULT_SOCKET;

static bool is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h") || !strcmp(arg, "help");
}

int cmd_select(const struct cmd *cmds, const char *noun, int argc, char **argv,
	       void (*usage)(FILE *f))
{
	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (is_help(argv[0])) {
		usage(stdout);
		return 0;
	}
	for (; cmds->name; cmds++) {
		if (strcmp(argv[0], cmds->name))
			continue;
		optind = 0; /* glibc: a full rescan, whatever parsed argv before */
		return cmds->fn(argc, argv);
	}
	if (noun)
		fprintf(stderr, "%s: %s: unknown subcommand \"%s\"\n", tcl_prog, noun, argv[0]);
	else
		fprintf(stderr, "%s: unknown command '%s'\n", tcl_prog, argv[0]);
	usage(stderr);
	return EXIT_USAGE;
}

int ctl_read_input(const char *what, const char *path, size_t max, char **buf, size_t *len)
{
	bool in = !strcmp(path, "-");
	int rc = in ? tcl_read_fd(STDIN_FILENO, max, buf, len) : tcl_read_file(path, max, buf, len);

	if (rc == -EFBIG)
		fprintf(stderr, "%s: %s%s%s: larger than the limit of %zu bytes\n", tcl_prog,
			what ? what : "", what ? " " : "", in ? "stdin" : path, max);
	else if (rc)
		fprintf(stderr, "%s: %s%s%s: %s\n", tcl_prog, what ? what : "", what ? " " : "",
			in ? "stdin" : path, strerror(-rc));
	return rc;
}

int ctl_read_regular(const char *path, size_t max, char **buf, size_t *len)
{
	int rc = tcl_read_regular_file(path, max, buf, len);

	if (rc == -EINVAL)
		fprintf(stderr, "%s: %s: not a regular file\n", tcl_prog, path);
	else if (rc == -EFBIG)
		fprintf(stderr, "%s: %s: larger than the limit of %zu bytes\n", tcl_prog, path, max);
	else if (rc)
		fprintf(stderr, "%s: %s: %s\n", tcl_prog, path, strerror(-rc));
	return rc;
}

int ctl_write_output(const char *path, const void *buf, size_t len)
{
	int rc;

	if (!strcmp(path, "-")) {
		if (fwrite(buf, 1, len, stdout) != len || fflush(stdout)) {
			fprintf(stderr, "%s: writing to stdout failed\n", tcl_prog);
			return -EIO;
		}
		return 0;
	}
	rc = tcl_write_file_atomic(path, buf, len, 0644);
	if (rc)
		fprintf(stderr, "%s: cannot write %s: %s\n", tcl_prog, path, strerror(-rc));
	return rc;
}

int ctl_split_oci(const char *arg, char **dir, const char **tag)
{
	const char *colon = strrchr(arg, ':');
	struct stat st;

	*tag = NULL;
	if (!colon || strchr(colon, '/') || (!stat(arg, &st) && S_ISDIR(st.st_mode))) {
		*dir = strdup(arg);
	} else {
		*dir = strndup(arg, (size_t)(colon - arg));
		*tag = colon[1] ? colon + 1 : NULL;
	}
	return *dir ? 0 : -ENOMEM;
}

int ctl_parse_pcr(const char *s, uint32_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v >= TCL_LOG_NR_PCRS) {
		fprintf(stderr, "%s: --pcr wants a PCR number 0-23, not \"%s\"\n", tcl_prog, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int ctl_parse_seconds(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > max) {
		fprintf(stderr, "%s: --timeout wants 1..%ld seconds\n", tcl_prog, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}
