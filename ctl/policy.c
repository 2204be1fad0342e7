// SPDX-License-Identifier: GPL-2.0
/* tclctl policy generate|check: the agent's policy file from directories, and its check. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmds.h"
#include "policy.h"
#include "util.h"

struct gen_file {
	char *path;
	uint8_t sha256[32];
};

static struct gen_file *gen_files;
static size_t gen_n, gen_cap, gen_errors;

static int gen_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	struct gen_file *nf;
	int fd, ret;

	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		fprintf(stderr, "tclctl: policy: skipping %s: %s\n", path, strerror(errno));
		gen_errors++;
		return 0;
	}
	if (!(st->st_mode & 0111) && !tcl_is_elf(fd)) {
		close(fd);
		return 0;
	}
	if (gen_n == gen_cap) {
		gen_cap = gen_cap ? gen_cap * 2 : 1024;
		nf = realloc(gen_files, gen_cap * sizeof(*nf));
		if (!nf) {
			close(fd);
			return -1;
		}
		gen_files = nf;
	}
	ret = tcl_sha256_fd(fd, gen_files[gen_n].sha256);
	close(fd);
	if (ret) {
		fprintf(stderr, "tclctl: policy: skipping %s: %s\n", path, strerror(-ret));
		gen_errors++;
		return 0;
	}
	gen_files[gen_n].path = strdup(path);
	if (!gen_files[gen_n].path)
		return -1;
	if (gen_n >= TCL_POLICY_MAX_ENTRIES) {
		fprintf(stderr, "tclctl: policy: more than %u files\n", TCL_POLICY_MAX_ENTRIES);
		return -1;
	}
	gen_n++;
	return 0;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct gen_file *)a)->path, ((const struct gen_file *)b)->path);
}

static int policy_generate(int argc, char **argv)
{
	static const struct option opts[] = { { "dir", required_argument, NULL, 'd' },
					      { "output", required_argument, NULL, 'o' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *out = NULL;
	struct tcl_policy p = { .version = 1 };
	char **dirs = calloc(argc + 1, sizeof(char *));
	size_t n_dirs = 0;
	char *json = NULL;
	int c, ret = 1;

	if (!dirs)
		return 1;
	while ((c = getopt_long(argc, argv, "d:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dirs[n_dirs++] = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			printf("Usage: tclctl policy generate --dir DIR [--dir DIR...] [-o FILE]\n"
			       "Allow every regular file under the directories that is ELF or has an\n"
			       "exec bit. Symbolic links are not followed. Writes stdout without -o.\n");
			free(dirs);
			return 0;
		default:
			free(dirs);
			return EXIT_USAGE;
		}
	}
	if (!n_dirs || optind < argc) {
		fprintf(stderr, "tclctl: policy generate needs --dir DIR (see --help)\n");
		free(dirs);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < n_dirs; i++) {
		struct stat st;

		if (stat(dirs[i], &st) || !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "tclctl: policy generate: %s is not a directory\n", dirs[i]);
			goto out;
		}
		if (nftw(dirs[i], gen_visit, 64, FTW_PHYS)) {
			fprintf(stderr, "tclctl: policy generate: walking %s failed\n", dirs[i]);
			goto out;
		}
	}
	qsort(gen_files, gen_n, sizeof(*gen_files), cmp_path);
	p.allow = calloc(gen_n + 1, sizeof(*p.allow));
	if (!p.allow)
		goto out;
	for (size_t i = 0; i < gen_n; i++) {
		memcpy(p.allow[i].sha256, gen_files[i].sha256, 32);
		p.allow[i].path = gen_files[i].path;
	}
	p.n_allow = gen_n;
	if (tcl_policy_to_json(&p, &json))
		goto out;
	if (out) {
		size_t len = strlen(json);

		json[len] = '\n';
		ret = ctl_write_output(out, json, len + 1);
		json[len] = '\0';
		if (ret) {
			ret = 1;
			goto out;
		}
		fprintf(stderr, "tclctl: %zu files allowed in %s%s\n", gen_n, out,
			gen_errors ? " (some files skipped)" : "");
	} else {
		printf("%s\n", json);
	}
	ret = 0;
out:
	free(json);
	free(p.allow);
	for (size_t i = 0; i < gen_n; i++)
		free(gen_files[i].path);
	free(gen_files);
	gen_files = NULL;
	gen_n = gen_cap = 0;
	free(dirs);
	return ret;
}

static int policy_check(int argc, char **argv)
{
	struct tcl_policy *p = NULL;
	char err[1024];
	size_t n_img = 0;

	if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc == 2 ? stdout : stderr,
			"Usage: tclctl policy check FILE\nParse and validate a policy file.\n");
		return argc == 2 ? 0 : EXIT_USAGE;
	}
	if (tcl_policy_load(argv[1], &p, err, sizeof(err))) {
		fprintf(stderr, "tclctl: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < p->n_images; i++)
		n_img += p->images[i].n_allow;
	printf("%s: ok: version %d, %zu global digests, %zu image sets (%zu digests)\n", argv[1],
	       p->version, p->n_allow, p->n_images, n_img);
	tcl_policy_free(p);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: tclctl policy generate --dir DIR... [-o FILE]\n"
		   "       tclctl policy check FILE\n");
}

int tcl_cmd_policy(int argc, char **argv)
{
	static const struct cmd verbs[] = {
		{ "generate", policy_generate },
		{ "check", policy_check },
		{ NULL, NULL },
	};

	return cmd_select(verbs, argv[0], argc - 1, argv + 1, usage);
}
