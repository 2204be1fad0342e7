// SPDX-License-Identifier: GPL-2.0
/* Event encoding: the JSON line contract of docs/events.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "events.h"

static struct tcl_event sample(void)
{
	struct tcl_event e;
	struct timespec bt;

	memset(&e, 0, sizeof(e));
	clock_gettime(CLOCK_BOOTTIME, &bt);
	e.ts_boot_ns = (uint64_t)bt.tv_sec * 1000000000ULL + bt.tv_nsec;
	e.cgroup_id = 12345;
	e.pid = 42;
	e.ppid = 1;
	e.uid = 1000;
	e.hook = TCL_HOOK_EXEC;
	e.verdict = TCL_VERDICT_DENY;
	e.reason = TCL_REASON_NOT_ALLOWED;
	for (int i = 0; i < 32; i++)
		e.sha256[i] = (uint8_t)i;
	strcpy(e.comm, "sh");
	strcpy(e.path, "/tmp/x/evil");
	return e;
}

static json_object *parse_line(const char *buf, int n)
{
	assert_true(n > 0);
	assert_int_equal(buf[n - 1], '\n');
	assert_null(memchr(buf, '\n', n - 1)); /* exactly one line */
	return json_tokener_parse(buf);
}

static const char *str(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static void test_deny_record(void **state)
{
	struct tcl_event e = sample();
	char buf[TCL_EVENT_JSON_MAX];
	int n = tcl_event_format(&e, NULL, buf, sizeof(buf));
	json_object *o = parse_line(buf, n);

	assert_non_null(o);
	assert_string_equal(str(o, "type"), "exec");
	assert_string_equal(str(o, "verdict"), "deny");
	assert_string_equal(str(o, "reason"), "not_allowed");
	assert_string_equal(str(o, "hook"), "bprm_check_security");
	assert_string_equal(str(o, "path"), "/tmp/x/evil");
	assert_string_equal(str(o, "comm"), "sh");
	assert_string_equal(str(o, "pid"), "42");
	assert_string_equal(str(o, "ppid"), "1");
	assert_string_equal(str(o, "uid"), "1000");
	assert_string_equal(str(o, "cgroup_id"), "12345");
	assert_string_equal(str(o, "sha256"),
			    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	/* RFC 3339 UTC with nanoseconds */
	assert_int_equal(strlen(str(o, "ts")), 30);
	assert_int_equal(str(o, "ts")[29], 'Z');
	assert_int_equal(str(o, "ts")[10], 'T');
	/* Absent values are omitted, never invented. */
	assert_null(str(o, "container_id"));
	assert_null(str(o, "pod"));
	assert_null(strstr(buf, "\\/"));
	json_object_put(o);
}

static void test_allow_has_no_reason_and_meta(void **state)
{
	struct tcl_event e = sample();
	struct tcl_event_meta m = { .container_id = "abc", .pod = "web-0", .namespace_ = "prod",
				    .pod_uid = "", .image = "reg/web:1" };
	char buf[TCL_EVENT_JSON_MAX];
	json_object *o;

	e.verdict = TCL_VERDICT_ALLOW;
	e.reason = TCL_REASON_FIRST_SEEN;
	e.hook = TCL_HOOK_MPROTECT;
	o = parse_line(buf, tcl_event_format(&e, &m, buf, sizeof(buf)));
	assert_null(str(o, "reason"));
	assert_string_equal(str(o, "type"), "mmap");
	assert_string_equal(str(o, "hook"), "file_mprotect");
	assert_string_equal(str(o, "container_id"), "abc");
	assert_string_equal(str(o, "namespace"), "prod");
	assert_string_equal(str(o, "image"), "reg/web:1");
	assert_null(str(o, "pod_uid")); /* empty string = absent */
	json_object_put(o);
}

static void test_hash_failure_has_no_digest(void **state)
{
	struct tcl_event e = sample();
	char buf[TCL_EVENT_JSON_MAX];
	json_object *o;

	e.reason = TCL_REASON_HASH_FAILED;
	e.hash_err = -5;
	o = parse_line(buf, tcl_event_format(&e, NULL, buf, sizeof(buf)));
	assert_string_equal(str(o, "reason"), "hash_failed");
	assert_null(str(o, "sha256"));
	json_object_put(o);
}

static void test_hostile_strings(void **state)
{
	struct tcl_event e = sample();
	char buf[TCL_EVENT_JSON_MAX];
	json_object *o;

	/* Quotes, newlines, control bytes and invalid UTF-8 in a path and comm; no NUL in
	 * the whole path buffer either. */
	memset(e.path, 0xff, sizeof(e.path));
	memcpy(e.path, "/a\"b\n\x01\xc3\x28\xe2\x82\xac", 12);
	memset(e.comm, 'x', sizeof(e.comm));
	o = parse_line(buf, tcl_event_format(&e, NULL, buf, sizeof(buf)));
	assert_non_null(o);
	assert_memory_equal(str(o, "path"), "/a\"b\n\x01\xef\xbf\xbd(\xe2\x82\xac", 13);
	assert_int_equal(strlen(str(o, "comm")), sizeof(e.comm));
	json_object_put(o);
}

static void test_simple_and_small_buffer(void **state)
{
	char buf[TCL_EVENT_JSON_MAX], tiny[16];
	json_object *o, *v;

	o = parse_line(buf, tcl_event_format_simple("drop", NULL, "ringbuf_full", NULL, 17, NULL,
						    buf, sizeof(buf)));
	assert_string_equal(str(o, "type"), "drop");
	assert_true(json_object_object_get_ex(o, "count", &v));
	assert_int_equal(json_object_get_int64(v), 17);
	assert_null(str(o, "verdict"));
	json_object_put(o);
	o = parse_line(buf, tcl_event_format_simple("agent", NULL, "started", "hello", -1, NULL,
						    buf, sizeof(buf)));
	assert_false(json_object_object_get_ex(o, "count", &v));
	assert_string_equal(str(o, "message"), "hello");
	json_object_put(o);
	assert_int_equal(tcl_event_format_simple("agent", NULL, "x", "long message", -1, NULL, tiny,
						 sizeof(tiny)),
			 -E2BIG);
}

/* A refused write-open and a guard refusal hash nothing: no digest, their own type and reason. */
static void test_open_and_guard_records(void **state)
{
	struct tcl_event e = sample();
	char buf[TCL_EVENT_JSON_MAX];
	json_object *o;

	e.hook = TCL_HOOK_OPEN;
	e.reason = TCL_REASON_MAPPED_WRITE;
	memset(e.sha256, 0, sizeof(e.sha256));
	o = parse_line(buf, tcl_event_format(&e, NULL, buf, sizeof(buf)));
	assert_string_equal(str(o, "type"), "open");
	assert_string_equal(str(o, "reason"), "mapped_exec");
	assert_string_equal(str(o, "hook"), "file_open");
	assert_null(str(o, "sha256"));
	json_object_put(o);

	e.hook = TCL_HOOK_GUARD;
	e.reason = TCL_REASON_INJECT;
	o = parse_line(buf, tcl_event_format(&e, NULL, buf, sizeof(buf)));
	assert_string_equal(str(o, "type"), "guard");
	assert_string_equal(str(o, "reason"), "code_injection");
	assert_null(str(o, "sha256"));
	json_object_put(o);
}

static void test_names(void **state)
{
	assert_string_equal(tcl_hook_type(TCL_HOOK_MMAP), "mmap");
	assert_string_equal(tcl_hook_name(TCL_HOOK_MMAP), "mmap_file");
	assert_string_equal(tcl_verdict_name(TCL_VERDICT_AUDIT), "audit");
	assert_string_equal(tcl_reason_name(TCL_REASON_WRITERS), "open_for_write");
	assert_string_equal(tcl_reason_name(TCL_REASON_NO_IMAGE), "no_image_set");
	assert_string_equal(tcl_reason_name(TCL_REASON_UNSEALED), "unsealed");
	assert_string_equal(tcl_reason_name(TCL_REASON_UNSTABLE_FS), "unstable_fs");
	assert_string_equal(tcl_reason_name(TCL_REASON_SCOPE_FULL), "scope_full");
	assert_string_equal(tcl_reason_name(TCL_REASON_TAMPER), "tamper");
	/* Every reason the kernel can send has a name. */
	for (unsigned int r = TCL_REASON_NOT_ALLOWED; r <= TCL_REASON_INJECT; r++)
		if (r != TCL_REASON_FIRST_SEEN)
			assert_non_null(tcl_reason_name(r));
	assert_null(tcl_hook_name(99));
	assert_string_equal(tcl_verdict_name(99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deny_record),
		cmocka_unit_test(test_allow_has_no_reason_and_meta),
		cmocka_unit_test(test_hash_failure_has_no_digest),
		cmocka_unit_test(test_hostile_strings),
		cmocka_unit_test(test_simple_and_small_buffer),
		cmocka_unit_test(test_open_and_guard_records),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
