// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF build of the container-cgroup grammar (lib/cgroup_grammar.h) under BPF_PROG_TEST_RUN:
 * the context carries a name and its parent's name, read into a map value the way
 * tcl_cgroup_mkdir reads them from kernfs; the return value packs tcl_cg_classify's answer.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "cgroup_grammar.h"
#include "cgroup_grammar_test.h"

char LICENSE[] SEC("license") = "GPL";

struct tcl_cg_names names;

SEC("syscall")
int tcl_cg_grammar_test(struct tcl_cg_test_args *args)
{
	struct tcl_cg_match m = {};
	long len, plen;
	int kind;

	__builtin_memset(&names, 0, sizeof(names));
	len = bpf_probe_read_kernel_str(names.name, TCL_CG_NAME_MAX, args->name);
	plen = bpf_probe_read_kernel_str(names.parent, sizeof(names.parent), args->parent);
	if (len < 1 || plen < 1)
		return -1;
	kind = tcl_cg_classify(names.name, len - 1, names.parent, plen - 1, &m);
	return tcl_cg_test_pack(kind, m.rt, m.id);
}
