// SPDX-License-Identifier: GPL-2.0
/* tclctl top: per container, the exec records, the denials and the last denial, from the
 * agent's event stream ("events follow": the backlog gives the starting picture, then the
 * live records).  On a terminal the table is redrawn in place every --interval seconds
 * (ANSI clear + home, no curses); with --once or when stdout is not a terminal it collects
 * for --interval seconds, prints one table and exits. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cmds.h"
#include "diag.h"
#include "escape.h"
#include "evstream.h"
#include "evview.h"

enum { OPT_INTERVAL = CTL_VIEW_OPT_END, OPT_ONCE };

#define TOP_MAX_ROWS 65536
#define TOP_BUF (64u << 10)
#define W_WHO 48
#define W_IMAGE 40

static const char help[] =
	"Usage: tclctl top [--interval SECONDS] [--once] [--container ID] [--pod NAME]\n"
	"                  [--namespace NS] [--image REF] [--color auto|always|never]\n"
	"Per container: its image, the exec records the agent reported (first use of each\n"
	"digest, and every refused exec), its denials (deny, and audit: would have been\n"
	"denied) and the last one (local time and path), sorted by denials, then execs.  The\n"
	"agent's backlog gives the starting picture.  On a terminal the table is redrawn every\n"
	"--interval seconds (default 2) until interrupted; with --once, or when stdout is not a\n"
	"terminal, records are collected for --interval seconds, one table is printed, and\n"
	"tclctl exits.  The filters are those of tclctl events.\n";

struct row {
	char key[80];		/* container id, or cgroup:ID */
	char who[256];		/* escaped */
	char image[256];	/* escaped */
	uint64_t execs, denials;
	int64_t last_ns;
	char last_path[256];	/* escaped */
};

struct top {
	struct row *rows;
	size_t n, cap;
	uint64_t records, dropped;
	bool full;
};

static struct row *row_for(struct top *t, const char *key)
{
	struct row *r;

	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->rows[i].key, key))
			return &t->rows[i];
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;

		if (cap > TOP_MAX_ROWS || !(r = realloc(t->rows, cap * sizeof(*r)))) {
			t->full = true;
			return NULL;
		}
		t->rows = r;
		t->cap = cap;
	}
	r = &t->rows[t->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->key, sizeof(r->key), "%s", key);
	return r;
}

static void feed(struct top *t, json_object *o)
{
	const char *type = ctl_ev_str(o, "type"), *verdict = ctl_ev_str(o, "verdict");
	const char *cid = ctl_ev_str(o, "container_id"), *img = ctl_ev_str(o, "image");
	const char *ts, *path;
	json_object *v;
	char key[80];
	struct row *r;

	t->records++;
	if (type && !strcmp(type, "drop")) {
		if (json_object_object_get_ex(o, "count", &v))
			t->dropped += (uint64_t)json_object_get_int64(v);
		return;
	}
	if (cid)
		snprintf(key, sizeof(key), "%.64s", cid);
	else if (json_object_object_get_ex(o, "cgroup_id", &v))
		snprintf(key, sizeof(key), "cgroup:%lld", (long long)json_object_get_int64(v));
	else
		return; /* the agent's own records */
	r = row_for(t, key);
	if (!r)
		return;
	ctl_ev_who(o, r->who, sizeof(r->who));
	if (img)
		tcl_esc_log(img, r->image, sizeof(r->image));
	if (type && !strcmp(type, "exec"))
		r->execs++;
	if (verdict && (!strcmp(verdict, "deny") || !strcmp(verdict, "audit")) && type &&
	    strcmp(type, "image_verify")) {
		r->denials++;
		ts = ctl_ev_str(o, "ts");
		if (!ts || ctl_parse_rfc3339(ts, &r->last_ns))
			r->last_ns = -1;
		path = ctl_ev_str(o, "path");
		tcl_esc_log(path ? path : "-", r->last_path, sizeof(r->last_path));
	}
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->denials != y->denials)
		return x->denials > y->denials ? -1 : 1;
	if (x->execs != y->execs)
		return x->execs > y->execs ? -1 : 1;
	return strcmp(x->who, y->who);
}

static void print_table(struct top *t, bool tty, bool color, const char *source)
{
	int ww = 9, wi = 5, max = INT32_MAX;
	struct winsize ws;
	char when[40], now[40];
	size_t i;

	qsort(t->rows, t->n, sizeof(*t->rows), cmp_row);
	for (i = 0; i < t->n; i++) {
		int a = (int)strlen(t->rows[i].who), b = (int)strlen(t->rows[i].image);

		ww = a > ww ? (a < W_WHO ? a : W_WHO) : ww;
		wi = b > wi ? (b < W_IMAGE ? b : W_IMAGE) : wi;
	}
	if (tty) {
		if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row > 4)
			max = ws.ws_row - 4;
		fputs("\033[H\033[2J", stdout);
	}
	ctl_local_time(ctl_now_ns(), now, sizeof(now));
	printf("tclctl top  %s  %s  %zu containers, %llu records, %llu lost%s\n", source, now,
	       t->n, (unsigned long long)t->records, (unsigned long long)t->dropped,
	       t->full ? " (table full)" : "");
	printf("%-*s  %-*s  %7s  %7s  %s\n", ww, "CONTAINER", wi, "IMAGE", "EXECS", "DENIALS",
	       "LAST DENIAL");
	for (i = 0; i < t->n && (int)i < max; i++) {
		struct row *r = &t->rows[i];
		bool hot = color && r->denials;

		if (r->denials && r->last_ns >= 0)
			ctl_local_time(r->last_ns, when, sizeof(when));
		else
			snprintf(when, sizeof(when), "-");
		printf("%-*.*s  %-*.*s  %7llu  %s%7llu%s  %s%s%s\n", ww, ww, r->who, wi, wi,
		       r->image[0] ? r->image : "-", (unsigned long long)r->execs,
		       hot ? "\033[1;31m" : "", (unsigned long long)r->denials, hot ? "\033[0m" : "",
		       when, r->denials ? " " : "", r->denials ? r->last_path : "");
	}
	if (i < t->n)
		printf("... %zu more\n", t->n - i);
	fflush(stdout);
}

/* Reads what is there into @buf and feeds every complete line.  0, or 1 at EOF. */
static int drain(int fd, struct top *t, const struct ctl_evfilter *f, char *buf, size_t cap,
		 size_t *fill)
{
	ssize_t n = read(fd, buf + *fill, cap - *fill);
	char *p, *nl;

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : 1;
	if (n == 0)
		return 1;
	*fill += (size_t)n;
	p = buf;
	while ((nl = memchr(p, '\n', *fill - (size_t)(p - buf)))) {
		json_object *o;

		*nl = '\0';
		o = json_tokener_parse(p);
		if (o && ctl_evfilter_match(f, o))
			feed(t, o);
		json_object_put(o);
		p = nl + 1;
	}
	*fill -= (size_t)(p - buf);
	memmove(buf, p, *fill);
	if (*fill == cap) /* a line longer than any record: skip it */
		*fill = 0;
	return 0;
}

int tcl_cmd_top(int argc, char **argv)
{
	static const struct option opts[] = { { "interval", required_argument, NULL, OPT_INTERVAL },
					      { "once", no_argument, NULL, OPT_ONCE },
					      { "help", no_argument, NULL, 'h' },
					      CTL_VIEW_OPTIONS,
					      {} };
	struct ctl_evfilter f = { 0 };
	int c, fd, color = CTL_COLOR_AUTO, rc = 0;
	long interval = 2;
	bool once = false, tty, eof = false;
	struct top t = { 0 };
	size_t fill = 0;
	int64_t next;
	char *buf;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_INTERVAL:
			if (ctl_parse_seconds(optarg, 3600, &interval))
				return EXIT_USAGE;
			break;
		case OPT_ONCE:
			once = true;
			break;
		case 'h':
			fputs(help, stdout);
			return 0;
		default:
			if (ctl_view_option(c, optarg, &f, &color) != 1)
				return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: top: unexpected argument \"%s\" (--help)\n", tcl_prog,
			argv[optind]);
		return EXIT_USAGE;
	}
	tty = isatty(STDOUT_FILENO) && !once;
	fd = tcl_evstream_request(ctl_socket, "events follow\n");
	if (fd < 0) {
		fprintf(stderr, "%s: cannot reach the agent at %s: %s\n", tcl_prog, ctl_socket,
			strerror(-fd));
		return 1;
	}
	buf = malloc(TOP_BUF);
	if (!buf) {
		close(fd);
		return 1;
	}
	next = ctl_now_ns() + (int64_t)interval * 1000000000;
	for (;;) {
		int64_t now = ctl_now_ns();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int wait_ms = now >= next ? 0 : (int)((next - now) / 1000000) + 1;

		if (!eof && poll(&p, 1, wait_ms) > 0)
			eof = drain(fd, &t, &f, buf, TOP_BUF, &fill);
		else if (eof && now < next)
			usleep((useconds_t)wait_ms * 1000);
		if (ctl_now_ns() < next && !(eof && !tty))
			continue;
		print_table(&t, tty, ctl_use_color(color, STDOUT_FILENO), ctl_socket);
		if (!tty)
			break;
		if (eof) {
			fprintf(stderr, "%s: the agent closed the stream\n", tcl_prog);
			rc = 1;
			break;
		}
		next = ctl_now_ns() + (int64_t)interval * 1000000000;
	}
	free(buf);
	free(t.rows);
	close(fd);
	return rc;
}
