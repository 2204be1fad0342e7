// SPDX-License-Identifier: GPL-2.0
/* Unit tests for attestor/filter.c: the kube-scheduler extender filter (ExtenderArgs in,
 * ExtenderFilterResult out), and attestor/metrics.c (libtcl-attestor.a). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "canonjson.h"
#include "diag.h"
#include "state.h"
#include "filter.h"
#include "metrics.h"

static int calls;

/* node-good is trusted, node-stale stale, everything else untrusted or unknown */
static enum att_verdict verdict(void *arg, const char *node, char *reason, size_t len)
{
	calls++;
	if (!strcmp(node, "node-good"))
		return ATT_TRUSTED;
	if (!strcmp(node, "node-stale")) {
		snprintf(reason, len, "last evidence 999 s ago");
		return ATT_STALE;
	}
	if (!strcmp(node, "node-bad")) {
		snprintf(reason, len, "quote signature does not verify");
		return ATT_UNTRUSTED;
	}
	snprintf(reason, len, "not enrolled");
	return ATT_UNKNOWN;
}

static struct json_object *run(const char *in, int want_rc)
{
	struct json_object *o = NULL;
	char *out = NULL, err[256] = "";
	size_t len = 0;
	int rc = att_filter(in, strlen(in), 1 << 20, verdict, NULL, &out, &len, err,
			    sizeof(err));

	assert_int_equal(rc, want_rc);
	if (rc) {
		assert_null(out);
		assert_true(err[0]);
		return NULL;
	}
	assert_int_equal(strlen(out), len);
	assert_int_equal(tcl_json_parse("result", out, len, 1 << 20, &o), 0);
	free(out);
	return o;
}

static const char *str(struct json_object *o, const char *k)
{
	return json_object_get_string(json_object_object_get(o, k));
}

static int setup(void **state)
{
	tcl_verbosity = -1;
	return 0;
}

static void test_node_names(void **state)
{
	struct json_object *o = run("{\"Pod\":{\"metadata\":{\"name\":\"p\"}},\"Nodes\":null,"
				    "\"NodeNames\":[\"node-good\",\"node-bad\",\"node-stale\","
				    "\"node-x\",\"Not A Node\"]}", 0);
	struct json_object *names = json_object_object_get(o, "NodeNames");
	struct json_object *failed = json_object_object_get(o, "FailedNodes");

	assert_true(json_object_is_type(json_object_object_get(o, "Nodes"), json_type_null));
	assert_int_equal(json_object_array_length(names), 1);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(names, 0)),
			    "node-good");
	assert_int_equal(json_object_object_length(failed), 4);
	assert_string_equal(str(failed, "node-bad"),
			    "tcl: node is untrusted: quote signature does not verify");
	assert_string_equal(str(failed, "node-stale"), "tcl: node is stale: last evidence 999 s ago");
	assert_string_equal(str(failed, "node-x"), "tcl: node is unknown: not enrolled");
	assert_string_equal(str(failed, "Not A Node"), "tcl: not a valid node name");
	assert_true(json_object_equal(failed,
				      json_object_object_get(o, "FailedAndUnresolvableNodes")));
	assert_string_equal(str(o, "Error"), "");
	json_object_put(o);
}

static void test_nodes(void **state)
{
	struct json_object *o = run("{\"Pod\":{},\"Nodes\":{\"kind\":\"NodeList\",\"metadata\":{},"
				    "\"items\":[{\"metadata\":{\"name\":\"node-bad\"}},"
				    "{\"metadata\":{\"name\":\"node-good\",\"uid\":\"u1\"},"
				    "\"status\":{\"capacity\":{\"cpu\":\"4\"}}}]}}", 0);
	struct json_object *nodes = json_object_object_get(o, "Nodes"), *items, *it;

	assert_string_equal(str(nodes, "kind"), "NodeList");
	items = json_object_object_get(nodes, "items");
	assert_int_equal(json_object_array_length(items), 1);
	it = json_object_array_get_idx(items, 0);
	assert_string_equal(str(json_object_object_get(it, "metadata"), "uid"), "u1");
	assert_non_null(json_object_object_get(it, "status"));
	assert_int_equal(json_object_array_length(json_object_object_get(o, "NodeNames")), 1);
	assert_int_equal(json_object_object_length(json_object_object_get(o, "FailedNodes")), 1);
	json_object_put(o);
	/* nobody passes: an empty list, not null */
	o = run("{\"Nodes\":{\"items\":[{\"metadata\":{\"name\":\"node-bad\"}}]}}", 0);
	items = json_object_object_get(json_object_object_get(o, "Nodes"), "items");
	assert_int_equal(json_object_array_length(items), 0);
	json_object_put(o);
}

static void test_malformed(void **state)
{
	run("", -EINVAL);
	run("[]", -EINVAL);
	run("{\"Pod\":{}}", -EINVAL);
	run("{\"NodeNames\":\"node-good\"}", -EINVAL);
	run("{\"NodeNames\":[1]}", -EINVAL);
	run("{\"Nodes\":[]}", -EINVAL);
	run("{\"Nodes\":{\"items\":[{\"metadata\":{}}]}}", -EINVAL);
	run("{\"Nodes\":{\"items\":[7]}}", -EINVAL);
	run("{\"NodeNames\":[\"node-good\"]", -EINVAL);
	{
		char *out = NULL, err[128];
		size_t len;

		assert_int_equal(att_filter("{\"NodeNames\":[]}", 16, 8, verdict, NULL, &out, &len,
					    err, sizeof(err)), -EFBIG);
	}
}

static void test_limits(void **state)
{
	size_t n = ATT_FILTER_MAX_NODES + 1, o = 0;
	char *big = malloc(n * 12 + 32);
	char *out = NULL, err[128];
	size_t len;

	o += (size_t)sprintf(big, "{\"NodeNames\":[");
	for (size_t i = 0; i < n; i++)
		o += (size_t)sprintf(big + o, "%s\"n%zu\"", i ? "," : "", i);
	strcpy(big + o, "]}");
	calls = 0;
	assert_int_equal(att_filter(big, strlen(big), 16 << 20, verdict, NULL, &out, &len, err,
				    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 100000 nodes"));
	assert_int_equal(calls, 0);
	free(big);
}

static void test_metrics(void **state)
{
	struct att_metrics m = { 0 };
	struct att_state st = { 0 };
	struct att_goldcache_stats gs = { .hits = 5, .fetches = 3, .fetch_failures = 1,
					  .unavailable = 1, .entries = 2 };
	struct att_node *n;
	char *out = NULL;
	size_t len;

	att_metrics_observe(&m, ATT_R_EVIDENCE, 200, 0.003);
	att_metrics_observe(&m, ATT_R_EVIDENCE, 422, 0.2);
	att_metrics_observe(&m, ATT_R_EVIDENCE, 503, 7);
	m.evidence_rejected[ATT_REJ_SIGNATURE] = 2;
	m.evidence_accepted = 1;
	assert_int_equal(att_node_get_or_add(&st, "a", 10, &n), 0);
	n->enrolled = true;
	n->last_evidence = 100;
	assert_int_equal(att_node_get_or_add(&st, "b", 10, &n), 0);
	n->enrolled = true;
	assert_int_equal(att_node_get_or_add(&st, "c", 10, &n), 0);	/* not enrolled */
	assert_int_equal(att_metrics_render(&m, &st, &gs, 100, 10, &out, &len), 0);
	assert_int_equal(strlen(out), len);
	assert_non_null(strstr(out, "\ntcl_attestor_evidence_accepted_total 1\n"));
	assert_non_null(strstr(out, "\ntcl_attestor_evidence_rejected_total{reason=\"signature\"} 2\n"));
	assert_non_null(strstr(out, "\ntcl_attestor_nodes{verdict=\"trusted\"} 1\n"));
	assert_non_null(strstr(out, "\ntcl_attestor_nodes{verdict=\"unknown\"} 1\n"));
	assert_non_null(strstr(out, "\ntcl_attestor_golden_fetches_total{result=\"ok\"} 1\n"));
	assert_non_null(strstr(out, "\ntcl_attestor_requests_total{route=\"evidence\",code=\"4xx\"} 1\n"));
	assert_non_null(strstr(out, "_bucket{route=\"evidence\",le=\"0.005\"} 1\n"));
	assert_non_null(strstr(out, "_bucket{route=\"evidence\",le=\"0.25\"} 2\n"));
	assert_non_null(strstr(out, "_bucket{route=\"evidence\",le=\"5\"} 2\n"));
	assert_non_null(strstr(out, "_bucket{route=\"evidence\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(out, "_count{route=\"evidence\"} 3\n"));
	/* every line is a comment or "name[{labels}] value" */
	for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
		assert_true(l[0] == '#' || (strncmp(l, "tcl_attestor_", 13) == 0 && strchr(l, ' ')));
	free(out);
	att_state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_names),
		cmocka_unit_test(test_nodes),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_metrics),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
