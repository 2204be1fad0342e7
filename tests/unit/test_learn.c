// SPDX-License-Identifier: GPL-2.0
/* ctl/learn.c, the merge of tclctl golden learn: which records count, the counts, first/last
 * and containers of each addition, the conflicts that are reported and not added, and the
 * proposal (the old manifest plus the additions, canonical, parsing as a golden manifest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "diag.h"
#include "golden.h"
#include "learn.h"

#define H(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
	     c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define IMG "sha256:" H("1")
#define OTHER "sha256:" H("2")
#define SH H("a")	/* /bin/sh, golden */
#define GEN H("b")	/* a generated script */
#define GEN2 H("c")
#define TOOL H("d")	/* /bin/tool in the image */
#define CID1 H("e")
#define CID2 H("f")

static const char old[] = "{\"config_digest\":\"sha256:" H("3") "\",\"files\":{\"/bin/sh\":\"" SH
			  "\",\"/bin/tool\":\"" TOOL "\"},\"image\":\"127.0.0.1:5000/shop:1.0\","
			  "\"manifest_digest\":\"" IMG "\",\"version\":1}";

static struct tcl_golden *g;

static int setup(void **state)
{
	tcl_verbosity = -1;
	setenv("TZ", "UTC", 1);
	return tcl_golden_parse(old, strlen(old), &g);
}

static int teardown(void **state)
{
	tcl_golden_free(g);
	return 0;
}

/* One exec record; NULL leaves a key out. */
static void feed(struct ctl_learn *l, const char *ts, const char *verdict, const char *reason,
		 const char *type, const char *path, const char *sha, const char *cid,
		 const char *pod, const char *digest)
{
	char line[2048];

	snprintf(line, sizeof(line),
		 "{\"ts\":\"%s\",\"type\":\"%s\",\"verdict\":\"%s\",\"reason\":\"%s\",\"path\":\"%s\","
		 "\"sha256\":\"%s\",\"cgroup_id\":7,\"container_id\":\"%s\",\"pod\":\"%s\","
		 "\"namespace\":\"default\",\"container\":\"c\",\"image_digest\":\"%s\"}\n",
		 ts, type, verdict, reason, path, sha, cid, pod, digest);
	assert_int_equal(ctl_learn_record(l, line, strlen(line)), 0);
}

#define T0 "2026-12-02T10:00:00Z"
#define T1 "2026-12-02T10:00:01.5Z"
#define T2 "2026-12-02T10:05:00Z"
#define SINCE 1796205600000000000LL /* 2026-12-02T10:00:00Z */

static void test_merge(void **state)
{
	struct ctl_learn_stats st;
	struct ctl_learn *l;
	struct tcl_golden *p;
	char *out = NULL, *rep = NULL;
	size_t n, rn;
	FILE *f;
	unsigned char raw[32];

	assert_int_equal(ctl_learn_new(g, IMG, SINCE, &l), 0);
	/* counted: the generated script in two containers, three times, and through mmap */
	feed(l, T1, "audit", "not_allowed", "exec", "/tmp/gen.sh", GEN, CID1, "web-1", IMG);
	feed(l, T2, "audit", "not_allowed", "exec", "/tmp/gen.sh", GEN, CID2, "web-2", IMG);
	feed(l, T0, "audit", "not_allowed", "mmap", "/tmp/gen.sh", GEN, CID1, "web-1", IMG);
	/* a deleted file keeps its path */
	feed(l, T1, "audit", "not_allowed", "exec", "/run/x (deleted)", GEN2, CID1, "web-1", IMG);
	/* not counted */
	feed(l, T1, "deny", "not_allowed", "exec", "/tmp/d", H("9"), CID1, "web-1", IMG);
	feed(l, T1, "allow", "not_allowed", "exec", "/tmp/d", H("9"), CID1, "web-1", IMG);
	feed(l, T1, "audit", "open_for_write", "exec", "/tmp/d", H("9"), CID1, "web-1", IMG);
	feed(l, T1, "audit", "not_allowed", "open", "/tmp/d", H("9"), CID1, "web-1", IMG);
	feed(l, T1, "audit", "not_allowed", "exec", "/tmp/d", H("9"), CID1, "web-1", OTHER);
	feed(l, "2026-12-02T09:59:59.999Z", "audit", "not_allowed", "exec", "/tmp/d", H("9"), CID1,
	     "web-1", IMG);
	feed(l, "yesterday", "audit", "not_allowed", "exec", "/tmp/d", H("9"), CID1, "web-1", IMG);
	/* matched, but already golden (at another path too) */
	feed(l, T1, "audit", "not_allowed", "exec", "/tmp/sh-copy", SH, CID1, "web-1", IMG);
	/* matched, unusable */
	feed(l, T1, "audit", "not_allowed", "exec", "tmp/rel", H("8"), CID1, "web-1", IMG);
	feed(l, T1, "audit", "not_allowed", "exec", "/tmp/../etc/x", H("8"), CID1, "web-1", IMG);
	feed(l, T1, "audit", "not_allowed", "exec", "/tmp//x", H("8"), CID1, "web-1", IMG);
	feed(l, T1, "audit", "not_allowed", "exec", "/tmp/x", "ABC", CID1, "web-1", IMG);
	feed(l, T1, "audit", "not_allowed", "exec", "/tmp/x", H("A"), CID1, "web-1", IMG);
	/* conflicts: a path with two digests; a path the image holds with another digest */
	feed(l, T1, "audit", "not_allowed", "exec", "/var/cache/run", H("4"), CID1, "web-1", IMG);
	feed(l, T1, "audit", "not_allowed", "exec", "/var/cache/run", H("5"), CID1, "web-1", IMG);
	feed(l, T1, "audit", "not_allowed", "exec", "/bin/tool", H("6"), CID1, "web-1", IMG);
	assert_int_equal(ctl_learn_record(l, "not json\n", 9), 0);
	assert_int_equal(ctl_learn_record(l, "\n", 1), 0);
	assert_int_equal(ctl_learn_record(l, "[1]", 3), 0);

	assert_int_equal(ctl_learn_propose(l, old, strlen(old), &out, &n), 0);
	ctl_learn_stats(l, &st);
	assert_int_equal(st.records, 22);
	assert_int_equal(st.bad, 2);
	assert_int_equal(st.matched, 13);
	assert_int_equal(st.golden, 1);
	assert_int_equal(st.unusable, 5);
	assert_int_equal(st.added, 2);
	assert_int_equal(st.refused, 3);

	assert_int_equal(tcl_golden_parse(out, n, &p), 0);
	assert_int_equal(p->nfiles, 4);
	assert_string_equal(p->manifest_digest, IMG);
	assert_string_equal(p->image, "127.0.0.1:5000/shop:1.0");
	assert_non_null(tcl_golden_find(p, "/tmp/gen.sh"));
	assert_non_null(tcl_golden_find(p, "/run/x"));
	assert_null(tcl_golden_find(p, "/var/cache/run"));
	memset(raw, 0xdd, sizeof(raw));
	assert_memory_equal(tcl_golden_find(p, "/bin/tool")->sha256, raw, 32); /* unchanged */
	memset(raw, 0xbb, sizeof(raw));
	assert_memory_equal(tcl_golden_find(p, "/tmp/gen.sh")->sha256, raw, 32);
	assert_non_null(strstr(out, "\"/tmp/gen.sh\":\"" GEN "\""));
	tcl_golden_free(p);

	f = open_memstream(&rep, &rn);
	ctl_learn_report(l, f);
	fclose(f);
	assert_non_null(strstr(rep, "+ /run/x\n    sha256:" GEN2 "\n    ran 1 time, first "
				    "2026-12-02 10:00:01.500, last 2026-12-02 10:00:01.500\n"
				    "    in default/web-1/c (eeeeeeeeeeee)\n"));
	assert_non_null(strstr(rep, "+ /tmp/gen.sh\n    sha256:" GEN "\n    ran 3 times, first "
				    "2026-12-02 10:00:00.000, last 2026-12-02 10:05:00.000\n"
				    "    in default/web-1/c (eeeeeeeeeeee), default/web-2/c "
				    "(ffffffffffff)\n"));
	assert_non_null(strstr(rep, "! /bin/tool\n"));
	assert_non_null(strstr(rep, "not added: the image has another file at this path"));
	assert_non_null(strstr(rep, "not added: seen with several digests"));
	/* additions first */
	assert_true(strstr(rep, "+ /tmp/gen.sh") < strstr(rep, "! /bin/tool"));
	free(rep);
	free(out);
	ctl_learn_free(l);
}

static void test_nothing(void **state)
{
	struct ctl_learn *l;
	char *out = NULL;
	size_t n;

	assert_int_equal(ctl_learn_new(g, IMG, INT64_MIN, &l), 0);
	assert_int_equal(ctl_learn_propose(l, old, strlen(old), &out, &n), -ENODATA);
	feed(l, T1, "audit", "not_allowed", "exec", "/bin/sh", SH, CID1, "web-1", IMG);
	feed(l, T1, "audit", "not_allowed", "exec", "/bin/tool", GEN, CID1, "web-1", IMG);
	assert_int_equal(ctl_learn_propose(l, old, strlen(old), &out, &n), -ENODATA);
	assert_null(out);
	ctl_learn_free(l);
}

static void test_escaped_report(void **state)
{
	struct ctl_learn *l;
	char *out = NULL, *rep = NULL;
	size_t n, rn;
	FILE *f;

	assert_int_equal(ctl_learn_new(g, IMG, INT64_MIN, &l), 0);
	feed(l, T1, "audit", "not_allowed", "exec", "/tmp/a\\u001b[31m", GEN, CID1,
	     "p\\u001b]0;x\\u0007", IMG);
	assert_int_equal(ctl_learn_propose(l, old, strlen(old), &out, &n), 0);
	f = open_memstream(&rep, &rn);
	ctl_learn_report(l, f);
	fclose(f);
	assert_non_null(strstr(rep, "+ /tmp/a\\x1b[31m\n"));
	assert_non_null(strstr(rep, "default/p\\x1b]0;x\\x07/c"));
	assert_null(strchr(rep, '\033'));
	free(rep);
	free(out);
	ctl_learn_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_nothing),
		cmocka_unit_test(test_escaped_report),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
