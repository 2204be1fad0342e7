// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "diag.h"
#include "events.h"
#include "evstream.h"
#include "util.h"

struct client {
	int fd;
	bool streaming; /* request read; follow mode */
	bool close_when_flushed;
	char req[TCL_EVSTREAM_REQ_MAX];
	size_t req_len;
	char *out;
	size_t out_len, out_off, out_cap; /* sent: [0, out_off); pending: [out_off, out_len) */
	long long dropped;
};

struct tcl_evstream {
	int listen_fd;
	char path[PATH_MAX];
	tcl_request_fn handler;
	void *ctx;
	char *backlog[TCL_EVSTREAM_BACKLOG];
	size_t backlog_len[TCL_EVSTREAM_BACKLOG];
	size_t backlog_head, backlog_count;
	struct client clients[TCL_EVSTREAM_MAX_CLIENTS];
	int n_clients;
};

int tcl_evstream_open(const char *path, tcl_request_fn handler, void *ctx,
		      struct tcl_evstream **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tcl_evstream *s;
	char dir[PATH_MAX];
	int ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("socket", "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->handler = handler;
	s->ctx = ctx;
	snprintf(s->path, sizeof(s->path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	tcl_mkdir_p(dirname(dir), 0755);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0) {
		ret = -errno;
		goto fail;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, 0600) || listen(s->listen_fd, 16)) {
		ret = -errno;
		pr_err("socket", "cannot listen on %s: %s", path, strerror(errno));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	free(s);
	return ret;
}

static void client_drop(struct tcl_evstream *s, int i)
{
	close(s->clients[i].fd);
	free(s->clients[i].out);
	s->clients[i] = s->clients[--s->n_clients];
}

void tcl_evstream_close(struct tcl_evstream *s)
{
	if (!s)
		return;
	while (s->n_clients)
		client_drop(s, 0);
	close(s->listen_fd);
	unlink(s->path);
	for (size_t i = 0; i < TCL_EVSTREAM_BACKLOG; i++)
		free(s->backlog[i]);
	free(s);
}

/*
 * Queue bytes for a client; false when its buffer is full (the record is lost for it). The
 * buffer grows by doubling up to the limit, and what was sent is dropped from its front only
 * when the record would not fit otherwise: one copy per record, not a realloc.
 */
static bool client_queue(struct client *c, const char *buf, size_t len)
{
	size_t pending = c->out_len - c->out_off, cap;
	char *nb;

	if (pending + len > TCL_EVSTREAM_CLIENT_BUF)
		return false;
	if (c->out_len + len > c->out_cap && c->out_off) {
		memmove(c->out, c->out + c->out_off, pending);
		c->out_len = pending;
		c->out_off = 0;
	}
	if (c->out_len + len > c->out_cap) {
		for (cap = c->out_cap ? c->out_cap : 4096; cap < c->out_len + len; cap *= 2)
			;
		nb = realloc(c->out, cap);
		if (!nb)
			return false;
		c->out = nb;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	return true;
}

static void client_send(struct tcl_evstream *s, struct client *c, const char *line, size_t len)
{
	char drop[256];
	int n;

	if (c->dropped) {
		n = tcl_event_format_simple("drop", NULL, "client_slow", NULL, c->dropped, NULL,
					    drop, sizeof(drop));
		if (n > 0 && client_queue(c, drop, n))
			c->dropped = 0;
	}
	if (c->dropped || !client_queue(c, line, len))
		c->dropped++;
}

/* Returns false when the client is gone. */
static bool client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (w < 0)
			return errno == EAGAIN || errno == EINTR;
		c->out_off += w;
	}
	c->out_off = c->out_len = 0;
	return !c->close_when_flushed;
}

void tcl_evstream_publish(struct tcl_evstream *s, const char *line, size_t len)
{
	size_t slot = (s->backlog_head + s->backlog_count) % TCL_EVSTREAM_BACKLOG;
	char *copy = malloc(len);

	if (copy) {
		memcpy(copy, line, len);
		if (s->backlog_count == TCL_EVSTREAM_BACKLOG) {
			slot = s->backlog_head;
			s->backlog_head = (s->backlog_head + 1) % TCL_EVSTREAM_BACKLOG;
		} else {
			s->backlog_count++;
		}
		free(s->backlog[slot]);
		s->backlog[slot] = copy;
		s->backlog_len[slot] = len;
	}
	for (int i = 0; i < s->n_clients; i++) {
		struct client *c = &s->clients[i];

		if (c->streaming)
			client_send(s, c, line, len);
	}
}

static void handle_request(struct tcl_evstream *s, struct client *c)
{
	char buf[TCL_EVENT_JSON_MAX];
	int n;

	c->req[c->req_len] = '\0';
	c->req[strcspn(c->req, "\r\n")] = '\0';
	if (!strcmp(c->req, "events") || !strcmp(c->req, "events follow")) {
		for (size_t i = 0; i < s->backlog_count; i++) {
			size_t slot = (s->backlog_head + i) % TCL_EVSTREAM_BACKLOG;

			client_send(s, c, s->backlog[slot], s->backlog_len[slot]);
		}
		if (!strcmp(c->req, "events follow"))
			c->streaming = true;
		else
			c->close_when_flushed = true;
		return;
	}
	if (s->handler && (n = s->handler(s->ctx, c->req, buf, sizeof(buf))) > 0) {
		client_queue(c, buf, n);
	} else {
		n = snprintf(buf, sizeof(buf), "{\"error\":\"unknown request\"}\n");
		client_queue(c, buf, n);
	}
	c->close_when_flushed = true;
}

int tcl_evstream_pollfds(struct tcl_evstream *s, struct pollfd *fds, int max)
{
	int n = 0;

	if (max < 1)
		return 0;
	fds[n++] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
	for (int i = 0; i < s->n_clients && n < max; i++) {
		struct client *c = &s->clients[i];
		short ev = POLLIN;

		if (c->out_len > c->out_off)
			ev |= POLLOUT;
		fds[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
	}
	return n;
}

void tcl_evstream_handle(struct tcl_evstream *s, const struct pollfd *fds, int n)
{
	/* Walk clients backwards by fd: client_drop reorders the array. */
	for (int k = n - 1; k >= 1; k--) {
		int i;

		for (i = 0; i < s->n_clients && s->clients[i].fd != fds[k].fd; i++)
			;
		if (i == s->n_clients || !fds[k].revents)
			continue;
		struct client *c = &s->clients[i];

		if (fds[k].revents & POLLIN) {
			char tmp[1024];
			ssize_t r = recv(c->fd, tmp, sizeof(tmp), 0);

			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
				client_drop(s, i);
				continue;
			}
			if (r > 0 && !c->streaming && !c->close_when_flushed) {
				size_t take = (size_t)r;

				if (c->req_len + take >= sizeof(c->req)) {
					client_drop(s, i);
					continue;
				}
				memcpy(c->req + c->req_len, tmp, take);
				c->req_len += take;
				if (memchr(c->req, '\n', c->req_len))
					handle_request(s, c);
			}
		}
		if ((fds[k].revents & (POLLERR | POLLHUP)) && !(fds[k].revents & POLLIN)) {
			client_drop(s, i);
			continue;
		}
		if (!client_flush(c))
			client_drop(s, i);
	}
	if (fds[0].revents & POLLIN) {
		int fd;

		while ((fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
			if (s->n_clients == TCL_EVSTREAM_MAX_CLIENTS) {
				close(fd);
				pr_warn("socket", "too many clients (%d): refusing one",
					TCL_EVSTREAM_MAX_CLIENTS);
				continue;
			}
			s->clients[s->n_clients++] = (struct client){ .fd = fd };
		}
	}
	/* Clients that got data queued by publish() but were not polled for POLLOUT yet. */
	for (int i = s->n_clients - 1; i >= 0; i--)
		if (s->clients[i].out_len > s->clients[i].out_off && !client_flush(&s->clients[i]))
			client_drop(s, i);
}

int tcl_evstream_request(const char *socket_path, const char *request)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(request);
	int fd, err;

	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    write(fd, request, len) != (ssize_t)len) {
		err = -errno;
		close(fd);
		return err ? err : -EIO;
	}
	return fd;
}
