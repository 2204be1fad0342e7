/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The agent's local socket (default /run/tcl/events.sock, mode 0600). A client sends one request
 * line and reads JSON lines back:
 *   "events\n"         the backlog (last TCL_EVSTREAM_BACKLOG records), then EOF
 *   "events follow\n"  the backlog, then every new record as it happens
 *   "status\n"         one JSON object describing the agent, then EOF
 *   "container {...}\n" from tcl-hook: {"id","pid","bundle"} of a container being created;
 *                      one JSON object back: {"verified":bool,"enforce":bool,"reason":...}
 * A client that cannot keep up loses records; it is then sent a "drop" record with the count.
 */
#ifndef TCL_EVSTREAM_H
#define TCL_EVSTREAM_H

#include <poll.h>
#include <stddef.h>

#define TCL_DEFAULT_SOCKET "/run/tcl/events.sock"
#define TCL_EVSTREAM_BACKLOG 4096
#define TCL_EVSTREAM_CLIENT_BUF (8u << 20)
#define TCL_EVSTREAM_MAX_CLIENTS 64

struct tcl_evstream;
#define TCL_EVSTREAM_REQ_MAX 8192

/* Answers a request other than "events": writes one JSON line into buf, returns its length. */
typedef int (*tcl_request_fn)(void *ctx, const char *req, char *buf, size_t len);

int tcl_evstream_open(const char *path, tcl_request_fn handler, void *ctx,
		      struct tcl_evstream **out);
void tcl_evstream_close(struct tcl_evstream *s);
void tcl_evstream_publish(struct tcl_evstream *s, const char *line, size_t len);
/* Fill pollfds (at most max); returns how many were used. */
int tcl_evstream_pollfds(struct tcl_evstream *s, struct pollfd *fds, int max);
/* Handle the revents of the fds given by tcl_evstream_pollfds. */
void tcl_evstream_handle(struct tcl_evstream *s, const struct pollfd *fds, int n);

/* Client side: connect to the agent's socket and send one request line. fd or -errno. */
int tcl_evstream_request(const char *socket_path, const char *request);

#endif
