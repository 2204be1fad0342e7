/* SPDX-License-Identifier: GPL-2.0 */
/* Diagnostics: one line per message on stderr, "<prog>: <subsystem>: <text>".
 * Log once, where the decision is made; callers further up only propagate -errno. */
#ifndef TCL_DIAG_H
#define TCL_DIAG_H

#include <stdarg.h>

enum tcl_prio { TCL_ERR = 0, TCL_WARN = 1, TCL_INFO = 2, TCL_DEBUG = 3 };

extern const char *tcl_prog;   /* set by main(); default "tcl" */
extern int tcl_verbosity;      /* messages with prio <= this are printed; default TCL_INFO */

void tcl_logf(int prio, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define pr_err(subsys, ...) tcl_logf(TCL_ERR, subsys, __VA_ARGS__)
#define pr_warn(subsys, ...) tcl_logf(TCL_WARN, subsys, __VA_ARGS__)
#define pr_info(subsys, ...) tcl_logf(TCL_INFO, subsys, __VA_ARGS__)
#define pr_debug(subsys, ...) tcl_logf(TCL_DEBUG, subsys, __VA_ARGS__)

#endif
