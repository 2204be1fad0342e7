// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "escape.h"
#include "events.h"
#include "jsonb.h"
#include "util.h"

const char *tcl_hook_name(unsigned int hook)
{
	switch (hook) {
	case TCL_HOOK_EXEC:
		return "bprm_check_security";
	case TCL_HOOK_MMAP:
		return "mmap_file";
	case TCL_HOOK_MPROTECT:
		return "file_mprotect";
	case TCL_HOOK_OPEN:
		return "file_open";
	case TCL_HOOK_GUARD:
		return "guard";
	}
	return NULL;
}

bool tcl_event_has_digest(const struct tcl_event *e)
{
	return e->reason != TCL_REASON_HASH_FAILED && !e->hash_err && e->hook != TCL_HOOK_OPEN &&
	       e->hook != TCL_HOOK_GUARD;
}

const char *tcl_hook_type(unsigned int hook)
{
	switch (hook) {
	case TCL_HOOK_EXEC:
		return "exec";
	case TCL_HOOK_MMAP:
	case TCL_HOOK_MPROTECT:
		return "mmap";
	case TCL_HOOK_OPEN:
		return "open";
	case TCL_HOOK_GUARD:
		return "guard";
	}
	return "unknown";
}

const char *tcl_verdict_name(unsigned int verdict)
{
	switch (verdict) {
	case TCL_VERDICT_ALLOW:
		return "allow";
	case TCL_VERDICT_DENY:
		return "deny";
	case TCL_VERDICT_AUDIT:
		return "audit";
	}
	return "unknown";
}

const char *tcl_reason_name(unsigned int reason)
{
	switch (reason) {
	case TCL_REASON_NOT_ALLOWED:
		return "not_allowed";
	case TCL_REASON_HASH_FAILED:
		return "hash_failed";
	case TCL_REASON_WRITERS:
		return "open_for_write";
	case TCL_REASON_NO_IMAGE:
		return "no_image_set";
	case TCL_REASON_UNSEALED:
		return "unsealed";
	case TCL_REASON_UNSTABLE_FS:
		return "unstable_fs";
	case TCL_REASON_MAPPED_WRITE:
		return "mapped_exec";
	case TCL_REASON_SCOPE_FULL:
		return "scope_full";
	case TCL_REASON_TAMPER:
		return "tamper";
	case TCL_REASON_INJECT:
		return "code_injection";
	case TCL_REASON_REVOKED:
		return "revoked";
	}
	return NULL; /* allow records carry no reason */
}

static void add_meta(json_object *o, const struct tcl_event_meta *m)
{
	if (!m)
		return;
	tcl_json_add_str_opt(o, "container_id", m->container_id);
	tcl_json_add_str_opt(o, "pod_uid", m->pod_uid);
	tcl_json_add_str_opt(o, "pod", m->pod);
	tcl_json_add_str_opt(o, "namespace", m->namespace_);
	tcl_json_add_str_opt(o, "container", m->container);
	tcl_json_add_str_opt(o, "image", m->image);
	tcl_json_add_str_opt(o, "image_digest", m->image_digest);
}

static int finish(json_object *o, char *buf, size_t len)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(s);
	int ret;

	if (n + 2 > len) {
		ret = -E2BIG;
	} else {
		memcpy(buf, s, n);
		buf[n] = '\n';
		buf[n + 1] = '\0';
		ret = (int)n + 1;
	}
	json_object_put(o);
	return ret;
}

static void add_ts_now(json_object *o)
{
	struct timespec ts;
	char t[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	tcl_rfc3339(ts.tv_sec, ts.tv_nsec, t, sizeof(t));
	tcl_json_add_str(o, "ts", t);
}

int tcl_event_format(const struct tcl_event *e, const struct tcl_event_meta *m, char *buf,
		     size_t len)
{
	json_object *o = json_object_new_object();
	char t[40], s[TCL_PATH_LEN * 3 + 8];
	int64_t sec;
	long nsec;

	if (!o)
		return -ENOMEM;
	tcl_boot_to_wall(e->ts_boot_ns, &sec, &nsec);
	tcl_rfc3339(sec, nsec, t, sizeof(t));
	tcl_json_add_str(o, "ts", t);
	tcl_json_add_str(o, "type", tcl_hook_type(e->hook));
	tcl_json_add_str(o, "verdict", tcl_verdict_name(e->verdict));
	tcl_json_add_str_opt(o, "reason", tcl_reason_name(e->reason));
	tcl_json_add_int(o, "pid", e->pid);
	tcl_json_add_int(o, "ppid", e->ppid);
	tcl_json_add_int(o, "uid", e->uid);
	tcl_esc_utf8(e->comm, sizeof(e->comm), s, sizeof(s));
	tcl_json_add_str_opt(o, "comm", s);
	tcl_esc_utf8(e->path, sizeof(e->path), s, sizeof(s));
	tcl_json_add_str_opt(o, "path", s);
	/* Records without a digest: hash failures, refused write-opens, guard refusals. */
	if (tcl_event_has_digest(e))
		tcl_json_add_hex(o, "sha256", e->sha256, TCL_SHA256_LEN);
	tcl_json_add(o, "cgroup_id", json_object_new_uint64(e->cgroup_id));
	add_meta(o, m);
	tcl_json_add_str_opt(o, "hook", tcl_hook_name(e->hook));
	return finish(o, buf, len);
}

int tcl_event_format_simple(const char *type, const char *verdict, const char *reason,
			    const char *message, int64_t count, const struct tcl_event_meta *m,
			    char *buf, size_t len)
{
	json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	add_ts_now(o);
	tcl_json_add_str(o, "type", type);
	tcl_json_add_str_opt(o, "verdict", verdict);
	tcl_json_add_str_opt(o, "reason", reason);
	if (count >= 0)
		tcl_json_add_int(o, "count", count);
	add_meta(o, m);
	tcl_json_add_str_opt(o, "message", message);
	return finish(o, buf, len);
}
