// SPDX-License-Identifier: GPL-2.0
/*
 * Runs every row of tests/unit/data/cgroup_cases.h through the BPF build of the cgroup grammar
 * (BPF_PROG_TEST_RUN of a SEC("syscall") program) and prints "N passed, N failed".
 * usage: cgroup_grammar_test OBJECT.bpf.o
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroup_grammar_test.h"
#include "data/cgroup_cases.h"

static int run_case(int prog_fd, const struct tcl_cg_case *c, char *why, size_t why_len)
{
	struct tcl_cg_test_args args = {};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args, .ctx_size_in = sizeof(args));
	const char *name, *parent;
	int len, plen, kind, rt, id, ret;

	tcl_cg_case_split(c->path, &name, &len, &parent, &plen);
	if (len >= (int)sizeof(args.name) || plen >= (int)sizeof(args.parent)) {
		/* the kernel reads a parent's name truncated to the buffer as well */
		if (len >= (int)sizeof(args.name))
			return snprintf(why, why_len, "name too long for the test"), -EINVAL;
		plen = sizeof(args.parent) - 1;
	}
	memcpy(args.name, name, len);
	memcpy(args.parent, parent, plen);
	ret = bpf_prog_test_run_opts(prog_fd, &opts);
	if (ret)
		return snprintf(why, why_len, "test run: %s", strerror(errno)), -errno;
	if ((int)opts.retval < 0)
		return snprintf(why, why_len, "program returned %d", (int)opts.retval), -EIO;
	kind = opts.retval & 0xf;
	rt = (opts.retval >> 4) & 0xf;
	id = (opts.retval >> 8) & 0xff;
	if (kind != c->kind || (kind == TCL_CG_CONTAINER &&
				(rt != c->rt || id + TCL_CG_ID_LEN > len ||
				 strncmp(name + id, c->id, TCL_CG_ID_LEN)))) {
		snprintf(why, why_len, "got kind %d rt %d id@%d, want kind %d rt %d id %.12s", kind,
			 rt, id, c->kind, c->rt, c->id);
		return -EPROTO;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_program *prog;
	struct bpf_object *obj;
	unsigned passed = 0, failed = 0;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OBJECT.bpf.o\n", argv[0]);
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	err = bpf_object__load(obj);
	prog = bpf_object__find_program_by_name(obj, "tcl_cg_grammar_test");
	if (err || !prog) {
		fprintf(stderr, "load %s: %s\n", argv[1], strerror(err ? -err : ENOENT));
		bpf_object__close(obj);
		return 1;
	}
	for (size_t i = 0; i < TCL_CG_N_CASES; i++) {
		char why[160] = "";

		if (run_case(bpf_program__fd(prog), &tcl_cg_cases[i], why, sizeof(why))) {
			printf("FAIL case %zu %s: %s\n", i, tcl_cg_cases[i].path, why);
			failed++;
		} else {
			passed++;
		}
	}
	printf("%u passed, %u failed\n", passed, failed);
	bpf_object__close(obj);
	return failed || !passed;
}
