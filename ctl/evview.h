/* SPDX-License-Identifier: GPL-2.0 */
/* tclctl's views of the agent's event records (docs/events.md), shared by events, top and
 * golden learn: filters, the one-line readable form, who a record is about, and times.
 * Every string taken from a record is untrusted: what reaches a terminal goes through
 * tcl_esc_log (printable ASCII only, the rest \xNN), so no record can inject an escape. */
#ifndef TCL_CTL_EVVIEW_H
#define TCL_CTL_EVVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/* NULL members match everything. */
struct ctl_evfilter {
	const char *verdict;
	const char *type;
	const char *container;	/* full or leading container id */
	const char *pod;
	const char *namespace_;
	const char *image;	/* the image reference, its name without tag/digest, or its digest */
};

/* Does record @o pass @f?  A drop record concerns every container and passes the container,
 * pod, namespace and image filters. */
bool ctl_evfilter_match(const struct ctl_evfilter *f, struct json_object *o);

/* The string value of @key, NULL when absent or not a string. */
const char *ctl_ev_str(struct json_object *o, const char *key);

/* Who the record is about, escaped: "NAMESPACE/POD/CONTAINER" (a missing part as "-"), the
 * container name or the first 12 characters of its id when it is in no pod, "cgroup:ID" for
 * a process no container claims, "-" for the agent's own records. */
void ctl_ev_who(struct json_object *o, char *buf, size_t len);

/* One readable line, ending in '\n': local time, verdict (DENY/AUDIT upper case, in bold
 * red/yellow when @color), type, who, then what the record carries of path (or image), the
 * first 12 hex digits of sha256, reason, count and message.  Length, or -E2BIG. */
int ctl_ev_line(struct json_object *o, bool color, char *buf, size_t len);

/* "YYYY-MM-DD HH:MM:SS.mmm" in local time for @ns since the epoch. */
void ctl_local_time(int64_t ns, char *buf, size_t len);

/* RFC 3339 ("2026-12-02T15:19:06.123456789Z", or an offset "+02:00") -> ns since the epoch.
 * 0 or -EINVAL. */
int ctl_parse_rfc3339(const char *s, int64_t *ns);
/* --since: RFC 3339, or a duration back from @now_ns: N followed by s, m, h or d. */
int ctl_parse_since(const char *s, int64_t now_ns, int64_t *ns);
/* Now, in ns since the epoch (CLOCK_REALTIME). */
int64_t ctl_now_ns(void);

/* --color=auto|always|never and -o text|json. */
enum { CTL_COLOR_AUTO, CTL_COLOR_ALWAYS, CTL_COLOR_NEVER };
int ctl_parse_color(const char *s, int *mode);
/* always: true; never: false; auto: @fd is a terminal, NO_COLOR is unset or empty and TERM is
 * not "dumb". */
bool ctl_use_color(int mode, int fd);

/* The options tclctl events and tclctl top share: --container (c), --pod, --namespace, --image
 * and --color. A command's own long-only options start at CTL_VIEW_OPT_END. */
enum { CTL_VIEW_OPT_POD = 0x100, CTL_VIEW_OPT_NAMESPACE, CTL_VIEW_OPT_IMAGE, CTL_VIEW_OPT_COLOR,
       CTL_VIEW_OPT_END };
/* clang-format off */
#define CTL_VIEW_OPTIONS                                                    \
	{ "container", required_argument, NULL, 'c' },                      \
	{ "pod", required_argument, NULL, CTL_VIEW_OPT_POD },               \
	{ "namespace", required_argument, NULL, CTL_VIEW_OPT_NAMESPACE },   \
	{ "image", required_argument, NULL, CTL_VIEW_OPT_IMAGE },           \
	{ "color", required_argument, NULL, CTL_VIEW_OPT_COLOR }
/* clang-format on */
/* Applies getopt's @c with @arg: 1 when it was a shared option, 0 when not, -EINVAL (after a
 * message) for a bad --color value. */
int ctl_view_option(int c, const char *arg, struct ctl_evfilter *f, int *color);

#endif
