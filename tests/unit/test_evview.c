// SPDX-License-Identifier: GPL-2.0
/* ctl/evview.c: the readable line of tclctl events (fields, colour, escaping, truncation),
 * the filters of events/top, who a record is about, and the times of --since. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "evview.h"

#define CID "aaaa111122223333444455556666777788889999aaaabbbbccccddddeeeeffff"
#define DIG "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define SHA "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static const char deny_rec[] =
	"{\"ts\":\"2026-12-02T10:00:03.123456789Z\",\"type\":\"exec\",\"verdict\":\"deny\","
	"\"reason\":\"not_allowed\",\"path\":\"/tmp/e\\u001b[2J\\u009b1m.sh\",\"sha256\":\"" SHA
	"\",\"cgroup_id\":501,\"container_id\":\"" CID "\",\"pod\":\"web-1\",\"namespace\":"
	"\"shop\",\"container\":\"nginx\",\"image\":\"127.0.0.1:5000/shop:1.0\",\"image_digest\":\""
	DIG "\"}";

static int setup(void **state)
{
	setenv("TZ", "UTC", 1);
	return 0;
}

static void test_line(void **state)
{
	json_object *o = json_tokener_parse(deny_rec);
	char buf[1024], small[40];
	int n;

	assert_non_null(o);
	n = ctl_ev_line(o, false, buf, sizeof(buf));
	assert_string_equal(buf, "2026-12-02 10:00:03.123 DENY  exec            shop/web-1/nginx "
				 "/tmp/e\\x1b[2J\\xc2\\x9b1m.sh fedcba987654 not_allowed\n");
	assert_int_equal(n, (int)strlen(buf));
	/* no control byte, C1 included, reaches the terminal */
	for (const char *p = buf; *p; p++)
		assert_true(*p == '\n' || ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f));
	n = ctl_ev_line(o, true, buf, sizeof(buf));
	assert_non_null(strstr(buf, " \033[1;31mDENY \033[0m exec "));
	assert_int_equal(ctl_ev_line(o, false, small, sizeof(small)), -E2BIG);
	json_object_put(o);

	o = json_tokener_parse("{\"ts\":\"2026-12-02T10:00:00Z\",\"type\":\"agent\",\"verdict\":"
			       "\"allow\",\"reason\":\"started\",\"message\":\"a \\\"b\\\"\\n\"}");
	ctl_ev_line(o, true, buf, sizeof(buf));
	assert_string_equal(buf, "2026-12-02 10:00:00.000 allow agent           - started "
				 "\"a \\x22b\\x22\\x0a\"\n");
	json_object_put(o);

	o = json_tokener_parse("{\"type\":\"exec\",\"verdict\":\"audit\",\"cgroup_id\":9,"
			       "\"path\":\"/x\"}");
	ctl_ev_line(o, false, buf, sizeof(buf));
	assert_string_equal(buf, "-                       AUDIT exec            cgroup:9 /x\n");
	json_object_put(o);
}

static void test_who(void **state)
{
	json_object *o;
	char buf[64];

	o = json_tokener_parse("{\"pod\":\"p\",\"container\":\"c\"}");
	ctl_ev_who(o, buf, sizeof(buf));
	assert_string_equal(buf, "-/p/c");
	json_object_put(o);
	o = json_tokener_parse("{\"container\":\"web\\u0007\",\"container_id\":\"" CID "\"}");
	ctl_ev_who(o, buf, sizeof(buf));
	assert_string_equal(buf, "web\\x07");
	json_object_put(o);
	o = json_tokener_parse("{\"container_id\":\"" CID "\",\"cgroup_id\":5}");
	ctl_ev_who(o, buf, sizeof(buf));
	assert_string_equal(buf, "aaaa11112222");
	json_object_put(o);
	o = json_tokener_parse("{\"type\":\"drop\"}");
	ctl_ev_who(o, buf, sizeof(buf));
	assert_string_equal(buf, "-");
	json_object_put(o);
}

static void test_filter(void **state)
{
	json_object *o = json_tokener_parse(deny_rec);
	json_object *drop = json_tokener_parse("{\"type\":\"drop\",\"count\":1}");
	struct ctl_evfilter f = { 0 };

	assert_true(ctl_evfilter_match(&f, o));
	f.pod = "web-1";
	f.namespace_ = "shop";
	f.container = "aaaa1111";
	f.verdict = "deny";
	f.type = "exec";
	assert_true(ctl_evfilter_match(&f, o));
	f.pod = "web";
	assert_false(ctl_evfilter_match(&f, o));
	assert_false(ctl_evfilter_match(&f, drop)); /* a drop has no verdict nor type exec */
	f.verdict = NULL;
	f.type = NULL;
	assert_true(ctl_evfilter_match(&f, drop)); /* drops concern every container */
	f.type = "drop";
	assert_true(ctl_evfilter_match(&f, drop));
	memset(&f, 0, sizeof(f));
	f.namespace_ = "cart";
	assert_false(ctl_evfilter_match(&f, o));
	f.namespace_ = NULL;
	f.container = "aaab";
	assert_false(ctl_evfilter_match(&f, o));
	f.container = NULL;
	const char *yes[] = { "127.0.0.1:5000/shop:1.0", "127.0.0.1:5000/shop", DIG,
			      "127.0.0.1:5000/shop@" DIG, "other/name@" DIG };
	const char *no[] = { "127.0.0.1:5000/sho", "127.0.0.1:5000/shop:1.1", "127.0.0.1:5000",
			     "shop", "sha256:11" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		f.image = yes[i];
		assert_true(ctl_evfilter_match(&f, o));
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++) {
		f.image = no[i];
		assert_false(ctl_evfilter_match(&f, o));
	}
	json_object_put(o);
	json_object_put(drop);
}

static void test_times(void **state)
{
	int64_t ns, now = 1764670000LL * 1000000000;
	char buf[40];

	assert_int_equal(ctl_parse_rfc3339("2026-12-02T10:00:03.123456789Z", &ns), 0);
	assert_true(ns == 1796205603123456789LL);
	assert_int_equal(ctl_parse_rfc3339("2026-12-02T12:00:03.5+02:00", &ns), 0);
	assert_true(ns == 1796205603500000000LL);
	assert_int_equal(ctl_parse_rfc3339("2026-12-02t05:30:03-04:30", &ns), 0);
	assert_true(ns == 1796205603000000000LL);
	const char *bad[] = { "", "2026-12-02", "2026-12-02T10:00:03", "2026-13-02T10:00:03Z",
			      "2026-02-30T10:00:03Z", "2026-12-02T10:00:03.Z",
			      "2026-12-02T10:00:03Zx", "2026-12-02T24:00:00Z", "2026-12-02T10:00:03+2:00" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(ctl_parse_rfc3339(bad[i], &ns), -EINVAL);

	assert_int_equal(ctl_parse_since("10m", now, &ns), 0);
	assert_true(ns == now - 600LL * 1000000000);
	assert_int_equal(ctl_parse_since("2h", now, &ns), 0);
	assert_true(ns == now - 7200LL * 1000000000);
	assert_int_equal(ctl_parse_since("1d", now, &ns), 0);
	assert_true(ns == now - 86400LL * 1000000000);
	assert_int_equal(ctl_parse_since("30s", now, &ns), 0);
	assert_true(ns == now - 30LL * 1000000000);
	assert_int_equal(ctl_parse_since("2026-12-02T10:00:03Z", now, &ns), 0);
	assert_true(ns == 1796205603000000000LL);
	const char *badsince[] = { "", "m", "10", "10x", "10mm", "-5m", "99999999999999999999d",
				   "1000000000d" };
	for (size_t i = 0; i < sizeof(badsince) / sizeof(*badsince); i++)
		assert_int_equal(ctl_parse_since(badsince[i], now, &ns), -EINVAL);

	ctl_local_time(1796205603123456789LL, buf, sizeof(buf));
	assert_string_equal(buf, "2026-12-02 10:00:03.123");
}

static void test_color(void **state)
{
	int m = -1;

	assert_int_equal(ctl_parse_color("always", &m), 0);
	assert_int_equal(m, CTL_COLOR_ALWAYS);
	assert_int_equal(ctl_parse_color("never", &m), 0);
	assert_int_equal(m, CTL_COLOR_NEVER);
	assert_int_equal(ctl_parse_color("auto", &m), 0);
	assert_int_equal(m, CTL_COLOR_AUTO);
	assert_int_equal(ctl_parse_color("yes", &m), -EINVAL);
	assert_true(ctl_use_color(CTL_COLOR_ALWAYS, -1));
	assert_false(ctl_use_color(CTL_COLOR_NEVER, -1));
	assert_false(ctl_use_color(CTL_COLOR_AUTO, -1)); /* not a terminal */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_who),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_color),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
