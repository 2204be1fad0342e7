// SPDX-License-Identifier: GPL-2.0
/* Filters, the readable line and times of event records; see evview.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "diag.h"
#include "escape.h"
#include "evview.h"

#define BOLD_RED "\033[1;31m"
#define BOLD_YELLOW "\033[1;33m"
#define RESET "\033[0m"

const char *ctl_ev_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool eq(struct json_object *o, const char *key, const char *want)
{
	const char *v = ctl_ev_str(o, key);

	return v && !strcmp(v, want);
}

static bool image_match(struct json_object *o, const char *want)
{
	const char *img = ctl_ev_str(o, "image"), *dig = ctl_ev_str(o, "image_digest");
	const char *at = strrchr(want, '@');
	size_t n = strlen(want);

	if (img && !strcmp(img, want))
		return true;
	if (dig && (!strcmp(dig, want) || (at && !strcmp(dig, at + 1))))
		return true;
	/* the name alone: "reg/shop" matches "reg/shop:1.0" and "reg/shop@sha256:..." */
	return img && !strncmp(img, want, n) && (img[n] == ':' || img[n] == '@') &&
	       !strchr(img + n + 1, '/');
}

bool ctl_evfilter_match(const struct ctl_evfilter *f, struct json_object *o)
{
	const char *cid;

	if ((f->verdict && !eq(o, "verdict", f->verdict)) || (f->type && !eq(o, "type", f->type)))
		return false;
	if (eq(o, "type", "drop"))
		return true;
	if (f->container) {
		cid = ctl_ev_str(o, "container_id");
		if (!cid || strncmp(cid, f->container, strlen(f->container)))
			return false;
	}
	if ((f->pod && !eq(o, "pod", f->pod)) ||
	    (f->namespace_ && !eq(o, "namespace", f->namespace_)))
		return false;
	return !f->image || image_match(o, f->image);
}

void ctl_ev_who(struct json_object *o, char *buf, size_t len)
{
	const char *pod = ctl_ev_str(o, "pod"), *ns = ctl_ev_str(o, "namespace");
	const char *name = ctl_ev_str(o, "container"), *cid = ctl_ev_str(o, "container_id");
	struct json_object *cg;
	char a[256], b[256], c[256];

	if (pod) {
		snprintf(buf, len, "%s/%s/%s", ns ? tcl_esc_log(ns, a, sizeof(a)) : "-",
			 tcl_esc_log(pod, b, sizeof(b)), name ? tcl_esc_log(name, c, sizeof(c)) : "-");
	} else if (name) {
		snprintf(buf, len, "%s", tcl_esc_log(name, a, sizeof(a)));
	} else if (cid) {
		snprintf(buf, len, "%.12s", tcl_esc_log(cid, a, sizeof(a)));
	} else if (json_object_object_get_ex(o, "cgroup_id", &cg)) {
		snprintf(buf, len, "cgroup:%lld", (long long)json_object_get_int64(cg));
	} else {
		snprintf(buf, len, "-");
	}
}

void ctl_local_time(int64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	char s[32];

	if (ns < 0 || !localtime_r(&t, &tm) || !strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm)) {
		snprintf(buf, len, "%-23s", "-");
		return;
	}
	snprintf(buf, len, "%s.%03d", s, (int)(ns / 1000000 % 1000));
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -EINVAL;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return 0;
}

int ctl_parse_rfc3339(const char *s, int64_t *ns)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, scale = 1000000000;
	struct tm tm = { 0 };
	time_t t;

	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
	    digits(&s, 2, &d) || (*s != 'T' && *s != 't' && *s != ' ') || !*s++ ||
	    digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi) || *s++ != ':' ||
	    digits(&s, 2, &sec))
		return -EINVAL;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (scale > 1) {
				scale /= 10;
				frac += (*s - '0') * scale;
			}
		}
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != d)
		return -EINVAL;
	t -= sign * (oh * 3600 + om * 60);
	*ns = (int64_t)t * 1000000000 + frac;
	return 0;
}

int ctl_parse_since(const char *s, int64_t now_ns, int64_t *ns)
{
	unsigned long long v;
	int64_t unit;
	char *end;

	if (!ctl_parse_rfc3339(s, ns))
		return 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end[0] == '\0' || end[1] != '\0')
		return -EINVAL;
	switch (*end) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -EINVAL;
	}
	if (v > (unsigned long long)(now_ns / 1000000000 / unit))
		return -EINVAL;
	*ns = now_ns - (int64_t)v * unit * 1000000000;
	return 0;
}

int64_t ctl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int ctl_parse_color(const char *s, int *mode)
{
	if (!strcmp(s, "auto"))
		*mode = CTL_COLOR_AUTO;
	else if (!strcmp(s, "always"))
		*mode = CTL_COLOR_ALWAYS;
	else if (!strcmp(s, "never"))
		*mode = CTL_COLOR_NEVER;
	else
		return -EINVAL;
	return 0;
}

int ctl_view_option(int c, const char *arg, struct ctl_evfilter *f, int *color)
{
	switch (c) {
	case 'c':
		f->container = arg;
		return 1;
	case CTL_VIEW_OPT_POD:
		f->pod = arg;
		return 1;
	case CTL_VIEW_OPT_NAMESPACE:
		f->namespace_ = arg;
		return 1;
	case CTL_VIEW_OPT_IMAGE:
		f->image = arg;
		return 1;
	case CTL_VIEW_OPT_COLOR:
		if (ctl_parse_color(arg, color)) {
			fprintf(stderr, "%s: --color wants auto, always or never, not \"%s\"\n",
				tcl_prog, arg);
			return -EINVAL;
		}
		return 1;
	}
	return 0;
}

bool ctl_use_color(int mode, int fd)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	if (mode != CTL_COLOR_AUTO)
		return mode == CTL_COLOR_ALWAYS;
	return isatty(fd) && (!nc || !*nc) && (!term || strcmp(term, "dumb"));
}

/* Appends to buf at *off; a field that does not fit makes the line -E2BIG. */
__attribute__((format(printf, 4, 5))) static int put(char *buf, size_t len, size_t *off,
						      const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);

	if (n < 0 || (size_t)n >= len - *off)
		return -E2BIG;
	*off += (size_t)n;
	return 0;
}

int ctl_ev_line(struct json_object *o, bool color, char *buf, size_t len)
{
	const char *ts = ctl_ev_str(o, "ts"), *verdict = ctl_ev_str(o, "verdict");
	const char *type = ctl_ev_str(o, "type"), *path = ctl_ev_str(o, "path");
	const char *sha = ctl_ev_str(o, "sha256"), *reason = ctl_ev_str(o, "reason");
	const char *msg = ctl_ev_str(o, "message"), *image = ctl_ev_str(o, "image");
	const char *on = "", *off_ = "";
	char when[40], who[800], v[8], e[1100], ty[40], dig[13];
	struct json_object *cnt;
	int64_t ns;
	size_t off = 0;
	int rc;

	if (ts && !ctl_parse_rfc3339(ts, &ns))
		ctl_local_time(ns, when, sizeof(when));
	else
		snprintf(when, sizeof(when), "%-23s", "-");
	if (!verdict) {
		snprintf(v, sizeof(v), "-");
	} else if (!strcmp(verdict, "deny") || !strcmp(verdict, "audit")) {
		snprintf(v, sizeof(v), "%s", !strcmp(verdict, "deny") ? "DENY" : "AUDIT");
		if (color) {
			on = !strcmp(verdict, "deny") ? BOLD_RED : BOLD_YELLOW;
			off_ = RESET;
		}
	} else {
		tcl_esc_ctrl(verdict, v, sizeof(v), TCL_ESC_ASCII);
	}
	ctl_ev_who(o, who, sizeof(who));
	rc = put(buf, len, &off, "%s ", when);
	rc = rc ?: put(buf, len, &off, "%s", on);
	rc = rc ?: put(buf, len, &off, "%-5s", v);
	rc = rc ?: put(buf, len, &off, "%s ", off_);
	rc = rc ?: put(buf, len, &off, "%-15s %s", type ? tcl_esc_log(type, ty, sizeof(ty)) : "-", who);
	if (path || image)
		rc = rc ?: put(buf, len, &off, " %s", tcl_esc_log(path ? path : image, e, sizeof(e)));
	if (sha) {
		tcl_esc_ctrl(sha, dig, sizeof(dig), TCL_ESC_ASCII);
		rc = rc ?: put(buf, len, &off, " %s", dig);
	}
	if (reason)
		rc = rc ?: put(buf, len, &off, " %s", tcl_esc_log(reason, e, 64));
	if (json_object_object_get_ex(o, "count", &cnt)) {
		snprintf(e, sizeof(e), "%lld", (long long)json_object_get_int64(cnt));
		rc = rc ?: put(buf, len, &off, " count=%s", e);
	}
	if (msg)
		rc = rc ?: put(buf, len, &off, " \"%s\"", tcl_esc_log(msg, e, sizeof(e)));
	rc = rc ?: put(buf, len, &off, "\n");
	return rc ?: (int)off;
}
