/* SPDX-License-Identifier: GPL-2.0 */
/* The errno values the hooks and helpers return, negated (vmlinux.h carries types, no macros). */
#ifndef TCL_ERRNO_BPF_H
#define TCL_ERRNO_BPF_H

#define EPERM 1
#define ENOENT 2
#define EAGAIN 11
#define ETXTBSY 26
#define EOPNOTSUPP 95

#endif
