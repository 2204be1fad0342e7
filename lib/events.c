// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "events.h"
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
	}
	return NULL; /* allow records carry no reason */
}

/* JSON strings must be UTF-8: kernel paths and comms are bytes. Invalid sequences become U+FFFD. */
static void utf8_sanitize(const char *in, size_t max, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, i = 0;

	while (i < max && p[i] && o + 4 < outlen) {
		unsigned char c = p[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
					   (c & 0xf8) == 0xf0 ? 4 : 0;
		bool ok = n > 0 && i + n <= max && !(n == 2 && c < 0xc2) && !(c > 0xf4);

		for (size_t k = 1; ok && k < n; k++)
			ok = (p[i + k] & 0xc0) == 0x80;
		if (ok) {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i += 1;
		}
	}
	out[o] = '\0';
}

static void add_str(json_object *o, const char *key, const char *val)
{
	if (val && *val)
		json_object_object_add(o, key, json_object_new_string(val));
}

static void add_meta(json_object *o, const struct tcl_event_meta *m)
{
	if (!m)
		return;
	add_str(o, "container_id", m->container_id);
	add_str(o, "pod_uid", m->pod_uid);
	add_str(o, "pod", m->pod);
	add_str(o, "namespace", m->namespace_);
	add_str(o, "container", m->container);
	add_str(o, "image", m->image);
	add_str(o, "image_digest", m->image_digest);
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
	json_object_object_add(o, "ts", json_object_new_string(t));
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
	json_object_object_add(o, "ts", json_object_new_string(t));
	json_object_object_add(o, "type", json_object_new_string(tcl_hook_type(e->hook)));
	json_object_object_add(o, "verdict", json_object_new_string(tcl_verdict_name(e->verdict)));
	add_str(o, "reason", tcl_reason_name(e->reason));
	json_object_object_add(o, "pid", json_object_new_int64(e->pid));
	json_object_object_add(o, "ppid", json_object_new_int64(e->ppid));
	json_object_object_add(o, "uid", json_object_new_int64(e->uid));
	utf8_sanitize(e->comm, sizeof(e->comm), s, sizeof(s));
	add_str(o, "comm", s);
	utf8_sanitize(e->path, sizeof(e->path), s, sizeof(s));
	add_str(o, "path", s);
	/* Records without a digest: hash failures, refused write-opens, guard refusals. */
	if (tcl_event_has_digest(e)) {
		tcl_hex(e->sha256, TCL_SHA256_LEN, s);
		json_object_object_add(o, "sha256", json_object_new_string(s));
	}
	json_object_object_add(o, "cgroup_id", json_object_new_uint64(e->cgroup_id));
	add_meta(o, m);
	add_str(o, "hook", tcl_hook_name(e->hook));
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
	json_object_object_add(o, "type", json_object_new_string(type));
	add_str(o, "verdict", verdict);
	add_str(o, "reason", reason);
	if (count >= 0)
		json_object_object_add(o, "count", json_object_new_int64(count));
	add_meta(o, m);
	add_str(o, "message", message);
	return finish(o, buf, len);
}
