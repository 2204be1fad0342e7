/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one table of container-cgroup cases, run against the grammar (lib/cgroup_grammar.h) on the
 * host by tests/unit/test_cgroup.c and in the guest against its BPF build by
 * tests/guest/grammar/cgroup_grammar_test.c (BPF_PROG_TEST_RUN).
 *
 * path: the cgroup, relative to the cgroup2 root. The kernel sees only its last component (the
 *       name) and the one before (the parent): tcl_cg_classify() gets those two.
 * kind, rt, id: what tcl_cg_classify() says (id: the id it points at, "" when none); at
 *       cgroup_mkdir only TCL_CG_CONTAINER joins the scope.
 * user: what tcl_cgroup_parse() returns for the whole path (0, -ENOENT, -EPROTO). A kernel
 *       "container" is never host to user space: 0 or -EPROTO (podman: in scope, unattributed).
 */
#ifndef TCL_CGROUP_CASES_H
#define TCL_CGROUP_CASES_H

#include <errno.h>

#include "cgroup_grammar.h"

#define CGC_ID "8b8cdc1f2c3b4a5d6e7f80912a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d"
#define CGC_ID2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CGC_ID63 "8b8cdc1f2c3b4a5d6e7f80912a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5"
#define CGC_ID65 CGC_ID "e"
#define CGC_IDUP "8B8CDC1F2C3B4A5D6E7F80912A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D"
#define CGC_UID "5f1d7b3e-09a2-4c6e-8d4f-7a1b2c3d4e5f"
#define CGC_UID_ "5f1d7b3e_09a2_4c6e_8d4f_7a1b2c3d4e5f"
#define CGC_BURST                                                                            \
	"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" CGC_UID_ ".slice"
#define CGC_BEST                                                                             \
	"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" CGC_UID_ ".slice"
#define CGC_GUAR "/kubepods.slice/kubepods-pod" CGC_UID_ ".slice"
#define CGC_A10 "aaaaaaaaaa"
#define CGC_A50 CGC_A10 CGC_A10 CGC_A10 CGC_A10 CGC_A10
/* 255 bytes: the longest name a cgroup can have */
#define CGC_A255 CGC_A50 CGC_A50 CGC_A50 CGC_A50 CGC_A50 "aaaaa"

struct tcl_cg_case {
	const char *path;
	int kind;
	int rt;
	const char *id;
	int user;
};

#define CGC_C TCL_CG_CONTAINER
#define CGC_N TCL_CG_NONE
#define CGC_M TCL_CG_CONMON
#define CGC_B TCL_CG_BAD

static const struct tcl_cg_case tcl_cg_cases[] = {
	/* systemd driver: <rt>-<id>.scope */
	{ CGC_BURST "/cri-containerd-" CGC_ID ".scope", CGC_C, TCL_CG_RT_CONTAINERD, CGC_ID, 0 },
	{ CGC_BEST "/crio-" CGC_ID ".scope", CGC_C, TCL_CG_RT_CRIO, CGC_ID, 0 },
	{ CGC_BURST "/docker-" CGC_ID ".scope", CGC_C, TCL_CG_RT_DOCKER, CGC_ID, 0 },
	{ CGC_GUAR "/cri-containerd-" CGC_ID ".scope", CGC_C, TCL_CG_RT_CONTAINERD, CGC_ID, 0 },
	{ "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" CGC_UID_ ".slice/crio-"
	  CGC_ID ".scope", CGC_C, TCL_CG_RT_CRIO, CGC_ID, 0 },
	{ "/system.slice/docker-" CGC_ID ".scope", CGC_C, TCL_CG_RT_DOCKER, CGC_ID, 0 },
	/* the kernel does not know the parents: user space finds no layout it knows */
	{ "/kubepods.slice/cri-containerd-" CGC_ID ".scope", CGC_C, TCL_CG_RT_CONTAINERD, CGC_ID,
	  -EPROTO },

	/* cgroupfs driver: below a pod directory */
	{ "/kubepods/burstable/pod" CGC_UID "/" CGC_ID, CGC_C, TCL_CG_RT_BARE, CGC_ID, 0 },
	{ "/kubepods/pod" CGC_UID "/" CGC_ID, CGC_C, TCL_CG_RT_BARE, CGC_ID, 0 },
	{ "/kubepods/pod" CGC_UID "/crio-" CGC_ID, CGC_C, TCL_CG_RT_CRIO, CGC_ID, 0 },
	{ "/kubepods/besteffort/pod" CGC_UID "/crio-" CGC_ID, CGC_C, TCL_CG_RT_CRIO, CGC_ID, 0 },
	{ "/kubepods/burstable/pod" CGC_UID "/cri-containerd-" CGC_ID, CGC_C, TCL_CG_RT_CONTAINERD,
	  CGC_ID, 0 },
	{ "/kubepods/burstable/pod" CGC_UID "/docker-" CGC_ID, CGC_C, TCL_CG_RT_DOCKER, CGC_ID, 0 },
	{ "/kubepods/burstable/pod" CGC_UID "/cri-containerd-" CGC_ID ".scope", CGC_C,
	  TCL_CG_RT_CONTAINERD, CGC_ID, 0 },
	{ "/kubepods/burstable/pod" CGC_UID_ "/" CGC_ID, CGC_C, TCL_CG_RT_BARE, CGC_ID, -EPROTO },
	/* docker's cgroupfs driver */
	{ "/docker/" CGC_ID, CGC_C, TCL_CG_RT_DOCKER, CGC_ID, 0 },

	/* literal colons: "<slice>:<rt>:<id>" */
	{ "/system.slice/containerd.service/kubepods-burstable-pod" CGC_UID_
	  ".slice:cri-containerd:" CGC_ID, CGC_C, TCL_CG_RT_CONTAINERD, CGC_ID, 0 },
	{ "/kubepods-pod" CGC_UID_ ".slice:crio:" CGC_ID, CGC_C, TCL_CG_RT_CRIO, CGC_ID, 0 },
	{ "/system.slice:docker:" CGC_ID, CGC_C, TCL_CG_RT_DOCKER, CGC_ID, 0 },
	{ CGC_BEST "/kubepods-burstable-pod" CGC_UID_ ".slice:cri-containerd:" CGC_ID, CGC_C,
	  TCL_CG_RT_CONTAINERD, CGC_ID, -EPROTO },
	/* a <slice> that is none: a container in an unknown layout */
	{ "/kubepods-burstable-pod" CGC_UID_ ".service:crio:" CGC_ID, CGC_C, TCL_CG_RT_CRIO, CGC_ID,
	  -EPROTO },
	{ "/system.slice/runc:docker:" CGC_ID, CGC_C, TCL_CG_RT_DOCKER, CGC_ID, -EPROTO },

	/* podman: systemd manager (rootful, rootless, in a pod), cgroupfs manager */
	{ "/machine.slice/libpod-" CGC_ID ".scope", CGC_C, TCL_CG_RT_PODMAN, CGC_ID, -EPROTO },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" CGC_ID ".scope", CGC_C,
	  TCL_CG_RT_PODMAN, CGC_ID, -EPROTO },
	{ "/machine.slice/machine-libpod_pod_" CGC_ID2 ".slice/libpod-" CGC_ID ".scope", CGC_C,
	  TCL_CG_RT_PODMAN, CGC_ID, -EPROTO },
	{ "/libpod_parent/libpod-" CGC_ID, CGC_C, TCL_CG_RT_PODMAN, CGC_ID, -EPROTO },

	/* monitors: CRI-O's and podman's conmon */
	{ CGC_BURST "/crio-conmon-" CGC_ID ".scope", CGC_M, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/system.slice/crio-conmon-" CGC_ID ".scope", CGC_M, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/kubepods/pod" CGC_UID "/crio-conmon-" CGC_ID, CGC_M, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/machine.slice/libpod-conmon-" CGC_ID ".scope", CGC_M, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-conmon-" CGC_ID ".scope",
	  CGC_M, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/libpod_parent/conmon", CGC_M, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/libpod_parent/libpod-conmon-" CGC_ID, CGC_M, TCL_CG_RT_NONE, "", -ENOENT },

	/* a runtime's name with a malformed id: not in the kernel's scope, unknown to user space */
	{ CGC_BURST "/cri-containerd-" CGC_ID63 ".scope", CGC_B, TCL_CG_RT_NONE, "", -EPROTO },
	{ CGC_BURST "/cri-containerd-" CGC_ID65 ".scope", CGC_B, TCL_CG_RT_NONE, "", -EPROTO },
	{ "/system.slice/docker-" CGC_IDUP ".scope", CGC_B, TCL_CG_RT_NONE, "", -EPROTO },
	{ "/kubepods/burstable/pod" CGC_UID "/crio-" CGC_ID65, CGC_B, TCL_CG_RT_NONE, "", -EPROTO },
	{ "/kubepods-burstable-pod" CGC_UID_ ".slice:cri-containerd:" CGC_ID63, CGC_B,
	  TCL_CG_RT_NONE, "", -EPROTO },

	{ "/machine.slice/libpod-" CGC_ID63 ".scope", CGC_B, TCL_CG_RT_NONE, "", -EPROTO },
	{ "/libpod_parent/libpod-" CGC_ID65, CGC_B, TCL_CG_RT_NONE, "", -EPROTO },
	{ "/machine.slice/crio-conmon-x.scope", CGC_B, TCL_CG_RT_NONE, "", -EPROTO },

	/* host and Kubernetes levels */
	{ "/init.scope", CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/system.slice/containerd.service", CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/system.slice/docker-registry.service", CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/user.slice/user-0.slice/session-3.scope", CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/kubepods.slice", CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	{ CGC_BURST, CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/kubepods/besteffort/pod" CGC_UID, CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/docker", CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/libpod_parent", CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/libpod_parent/user-made", CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/tcl-unit/docker", CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/system.slice/" CGC_A255, CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	/* a runtime's spelling in the wrong place is not a container */
	{ "/system.slice/docker-" CGC_ID, CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/system.slice/foo_docker-" CGC_ID ".scope", CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/system.slice/xcrio-" CGC_ID ".scope", CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/a:b.slice:crio:" CGC_ID, CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/system.slice/cri-containerd:" CGC_ID, CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	{ "/tcl/pod1/" CGC_ID ".scope", CGC_N, TCL_CG_RT_NONE, "", -ENOENT },
	/* kernel: no (it sees too little); user space: a container-ish layout it does not know */
	{ CGC_BURST "/" CGC_ID, CGC_N, TCL_CG_RT_NONE, "", -EPROTO },
	{ "/docker/" CGC_ID ".scope", CGC_N, TCL_CG_RT_NONE, "", -EPROTO },
	{ "/docker/not-an-id", CGC_N, TCL_CG_RT_NONE, "", -EPROTO },
	{ "/k8s.io/" CGC_ID, CGC_N, TCL_CG_RT_NONE, "", -EPROTO },
};

#define TCL_CG_N_CASES (sizeof(tcl_cg_cases) / sizeof(tcl_cg_cases[0]))

/* The name (last component) and parent (the one before, "" at the root) of a case's path. */
static inline void tcl_cg_case_split(const char *path, const char **name, int *len,
				     const char **parent, int *plen)
{
	const char *end = path, *slash = 0, *pslash = 0;

	while (*end)
		end++;
	for (const char *p = path; p < end; p++) {
		if (*p == '/') {
			pslash = slash;
			slash = p;
		}
	}
	*name = slash ? slash + 1 : path;
	*len = (int)(end - *name);
	if (!slash) {
		*parent = "";
		*plen = 0;
		return;
	}
	*parent = pslash ? pslash + 1 : path;
	*plen = (int)(slash - *parent);
}

#endif
