/* SPDX-License-Identifier: GPL-2.0 */
/* systemd's service notification protocol (sd_notify(3)) without libsystemd. */
#ifndef TCL_SDNOTIFY_H
#define TCL_SDNOTIFY_H

/* Send @state ("READY=1", "STOPPING=1", "STATUS=...", newline-separated) as one datagram to
 * $NOTIFY_SOCKET: a socket path, or an abstract name when it starts with '@'.  0 when sent or
 * when there is no $NOTIFY_SOCKET (not started by systemd as Type=notify); -errno otherwise. */
int tcl_sd_notify(const char *state);

#endif
