/* SPDX-License-Identifier: GPL-2.0 */
/* What the grammar test program and its loader exchange through BPF_PROG_TEST_RUN. */
#ifndef TCL_CGROUP_GRAMMAR_TEST_H
#define TCL_CGROUP_GRAMMAR_TEST_H

struct tcl_cg_test_args {
	char name[256];
	char parent[16];
};

/* kind in bits 0-3, rt in 4-7, id offset in 8-15 (all < 256) */
static inline int tcl_cg_test_pack(int kind, int rt, int id)
{
	return (kind & 0xf) | (rt & 0xf) << 4 | (id & 0xff) << 8;
}

#endif
