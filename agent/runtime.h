/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host's container runtime binaries (runc, crun) and the shared objects they load. Their
 * digests join the global allowlist: `runc init` runs inside the container's cgroup and re-execs
 * itself (from a memfd copy, since CVE-2019-5736), so a container could not start without them.
 */
#ifndef TCL_RUNTIME_H
#define TCL_RUNTIME_H

#include "policy.h"

/* Add every runtime binary found, and its ELF dependencies, to p's global allowlist.
 * Returns the number of files added (>= 0) or -errno. */
int tcl_runtime_allow(struct tcl_policy *p);
/* Add path and (recursively) its DT_NEEDED libraries and ELF interpreter. */
int tcl_runtime_allow_elf(struct tcl_policy *p, const char *path);

#endif
