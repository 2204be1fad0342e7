// SPDX-License-Identifier: GPL-2.0
/* Unit tests for attestor/appraise.c: log replay to a quoted PCR and appraisal of every entry
 * against golden manifests (a fake provider here) and the host allowlist, through the public API
 * of libtcl-attestor.a. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "appraise.h"
#include "canonjson.h"
#include "diag.h"
#include "golden.h"
#include "hexb64.h"
#include "log.h"
#include "policy.h"
#include "state.h"

#define PCR 13
#define D_APP "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D_OTHER "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D_DOWN "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define CID "c0ffee"

static uint8_t hello[32], runc[32], evil[32];
static struct tcl_golden *golden;
static int golden_calls;
static bool fetching;		/* every manifest is being fetched */

/* Fake registry: D_APP has a golden manifest listing /bin/hello; D_DOWN is unreachable;
 * anything else has none. */
static int fake_golden(void *arg, const char *image, const char *digest,
		       const struct tcl_golden **g, const char **keyid, char *err, size_t errlen)
{
	golden_calls++;
	*g = NULL;
	*keyid = NULL;
	if (fetching) {
		snprintf(err, errlen, "golden manifest of %s is being fetched", digest);
		return -EINPROGRESS;
	}
	if (!strcmp(digest, D_APP)) {
		*g = golden;
		*keyid = "k1";
		return 0;
	}
	if (!strcmp(digest, D_DOWN)) {
		snprintf(err, errlen, "registry down");
		return -EAGAIN;
	}
	snprintf(err, errlen, "no golden manifest for %s", digest);
	return -ENOENT;
}

static struct att_allow host;
static struct att_appraise_cfg cfg;

static int setup(void **state)
{
	struct json_object *o = json_object_new_object(), *files = json_object_new_object();
	char hex[65], *text = NULL;
	size_t len;

	tcl_verbosity = -1;
	EVP_Digest("hello", 5, hello, NULL, EVP_sha256(), NULL);
	EVP_Digest("runc", 4, runc, NULL, EVP_sha256(), NULL);
	EVP_Digest("evil", 4, evil, NULL, EVP_sha256(), NULL);
	tcl_hex(hello, 32, hex);
	json_object_object_add(files, "/bin/hello", json_object_new_string(hex));
	json_object_object_add(o, "config_digest", json_object_new_string(D_OTHER));
	json_object_object_add(o, "files", files);
	json_object_object_add(o, "image", json_object_new_string("reg.example/app:v1"));
	json_object_object_add(o, "manifest_digest", json_object_new_string(D_APP));
	json_object_object_add(o, "version", json_object_new_int(1));
	assert_int_equal(tcl_canon_json(o, &text, &len), 0);
	assert_int_equal(tcl_golden_parse(text, len, &golden), 0);
	free(text);
	json_object_put(o);
	host.d = malloc(32);
	memcpy(host.d[0], runc, 32);
	host.n = 1;
	cfg = (struct att_appraise_cfg){ .pcr = PCR, .bank = TCL_LOG_SHA256, .max_entries = 1000,
					 .host_allow = &host, .golden = fake_golden };
	return 0;
}

static int teardown(void **state)
{
	tcl_golden_free(golden);
	att_allow_free(&host);
	return 0;
}

/* ---- log building ---- */

struct lg {
	struct tcl_log_buf b;
	uint8_t pcr[32];	/* replay of everything encoded so far */
	uint8_t at[16][32];	/* replay after each entry */
	size_t off[16];		/* offset of each entry */
	size_t n;
};

/* The PCR replay, written here again so the test does not share appraise.c's. */
static void extend256(uint8_t pcr[32], const uint8_t d[32])
{
	uint8_t buf[64];

	memcpy(buf, pcr, 32);
	memcpy(buf + 32, d, 32);
	SHA256(buf, sizeof(buf), pcr);
}

static void account(struct lg *l, size_t before, const struct tcl_log_digests *d)
{
	extend256(l->pcr, d->sha256);
	l->off[l->n] = before;
	memcpy(l->at[l->n], l->pcr, 32);
	l->n++;
}

static void ng(struct lg *l, const uint8_t d[32], const char *name)
{
	struct tcl_log_digests dg;
	size_t before = l->b.len;

	assert_int_equal(tcl_log_encode_ng(&l->b, PCR, d, name, &dg), 0);
	account(l, before, &dg);
}

static void buf(struct lg *l, const char *name, const char *json)
{
	struct tcl_log_digests dg;
	size_t before = l->b.len;

	assert_int_equal(tcl_log_encode_buf(&l->b, PCR, name, json, strlen(json), &dg), 0);
	account(l, before, &dg);
}

static void boot(struct lg *l)
{
	uint8_t zero[10][32] = { { 0 } }, agg[32];

	tcl_log_boot_aggregate(zero, agg);
	ng(l, agg, "boot_aggregate");
}

static void start(struct lg *l, const char *cid, const char *digest)
{
	char json[512];

	snprintf(json, sizeof(json),
		 "{\"container_id\":\"%s\",\"image\":\"reg.example/app:v1\","
		 "\"image_digest\":\"%s\"}", cid, digest);
	buf(l, "container_start", json);
}

static void exec_(struct lg *l, const char *cid, const char *path, const uint8_t d[32])
{
	char name[256];

	snprintf(name, sizeof(name), "%s:%s", cid, path);
	ng(l, d, name);
}

/* Nodes live in a state of their own, made and freed through the state's public API. */
static struct att_state nodes;

static struct att_node *node(void)
{
	struct att_node *n;

	assert_int_equal(att_node_get_or_add(&nodes, "node-a", 10, &n), 0);
	n->enrolled = true;
	return n;
}

static void node_free_(struct att_node *n)
{
	att_node_remove(&nodes, n->id);
}

static const uint8_t zero10[10 * 32];

static int appraise(struct att_node *n, struct lg *l, const uint8_t *quoted,
		    struct att_appraise_res *res)
{
	return att_appraise(&cfg, n, l->b.p, l->b.len, quoted, zero10, 1000, res);
}

/* ---- tests ---- */

static void test_honest(void **state)
{
	struct att_node *n = node();
	struct att_appraise_res res;
	struct att_container *c;
	struct lg l = { 0 };

	boot(&l);
	ng(&l, runc, "/usr/bin/runc");
	start(&l, CID, D_APP);
	exec_(&l, CID, "/bin/hello", hello);
	exec_(&l, CID, "/usr/bin/runc", runc);	/* runtime binary: host allowlist */
	buf(&l, "container_stop", "{\"container_id\":\"" CID "\"}");
	buf(&l, "agent_start", "{\"version\":\"1\"}");
	assert_int_equal(appraise(n, &l, l.pcr, &res), 0);
	assert_int_equal(res.accepted_entries, 7);
	assert_int_equal(res.accepted_len, l.b.len);
	assert_int_equal(res.pending_entries, 0);
	assert_int_equal(res.findings, 0);
	assert_int_equal(n->log_offset, l.b.len);
	assert_int_equal(n->log_entries, 7);
	assert_memory_equal(n->pcr, l.pcr, 32);
	c = att_container_get(n, CID);
	assert_non_null(c);
	assert_string_equal(c->golden_sha256, golden->sha256);
	assert_string_equal(c->golden_keyid, "k1");
	assert_int_equal(c->files, 2);
	assert_true(c->stopped);
	assert_int_equal(c->start_offset, l.off[2]);
	assert_int_equal(att_node_verdict(n, 1000, 300, NULL, (char[64]){ 0 }, 64), ATT_UNKNOWN);
	n->last_evidence = 1000;
	assert_int_equal(att_node_verdict(n, 1000, 300, NULL, (char[64]){ 0 }, 64), ATT_TRUSTED);
	assert_int_equal(att_node_verdict(n, 1301, 300, NULL, (char[64]){ 0 }, 64), ATT_STALE);
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

static void test_not_in_golden(void **state)
{
	struct att_node *n = node();
	struct att_appraise_res res;
	struct att_container *c;
	char why[512], dg[80];
	struct lg l = { 0 };

	boot(&l);
	start(&l, CID, D_APP);
	exec_(&l, CID, "/tmp/dropped", evil);
	assert_int_equal(appraise(n, &l, l.pcr, &res), 0);
	assert_int_equal(res.findings, 1);
	c = att_container_get(n, CID);
	assert_int_equal(c->findings.total, 1);
	assert_int_equal(c->findings.v[0].offset, l.off[2]);
	assert_string_equal(c->findings.v[0].name, "/tmp/dropped");
	assert_string_equal(c->findings.v[0].container_id, CID);
	tcl_hex(evil, 32, dg + 7);
	memcpy(dg, "sha256:", 7);
	assert_string_equal(c->findings.v[0].digest, dg);
	assert_non_null(strstr(c->findings.v[0].reason, "not in the golden manifest of "
				"reg.example/app:v1@" D_APP));
	n->last_evidence = 1000;
	assert_int_equal(att_node_verdict(n, 1000, 300, NULL, why, sizeof(why)), ATT_UNTRUSTED);
	assert_int_equal(att_container_verdict(n, c, 1000, 300, why, sizeof(why)), ATT_UNTRUSTED);
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

static void test_prefix_and_pending(void **state)
{
	struct att_node *n = node();
	struct att_appraise_res res;
	struct lg l = { 0 };

	boot(&l);
	start(&l, CID, D_APP);
	exec_(&l, CID, "/bin/hello", hello);
	exec_(&l, CID, "/bin/hello2", hello);
	/* the quote covers the first two entries only: the rest is pending */
	assert_int_equal(appraise(n, &l, l.at[1], &res), 0);
	assert_int_equal(res.accepted_entries, 2);
	assert_int_equal(res.pending_entries, 2);
	assert_int_equal(n->log_offset, l.off[2]);
	assert_int_equal(att_container_get(n, CID)->files, 0);
	/* next evidence: the rest, from where the attestor stands */
	assert_int_equal(att_appraise(&cfg, n, l.b.p + l.off[2], l.b.len - l.off[2], l.pcr,
				      zero10, 1000, &res), 0);
	assert_int_equal(res.accepted_entries, 2);
	assert_int_equal(n->log_offset, l.b.len);
	assert_int_equal(n->log_entries, 4);
	assert_int_equal(att_container_get(n, CID)->files, 2);
	/* a PCR that has not moved: nothing to accept, nothing wrong */
	assert_int_equal(att_appraise(&cfg, n, NULL, 0, l.pcr, zero10, 1000, &res), 0);
	assert_int_equal(res.accepted_entries, 0);
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

/* A node quoting its sha384 bank: the log replays in sha384 (SHA-384 of the template data into
 * that bank, as IMA extends it), the node keeps that bank, and a quote over another bank cannot
 * continue its log (-EXDEV) until the log restarts. */
static void test_sha384_bank(void **state)
{
	struct att_appraise_cfg c384 = cfg;
	struct att_node *n = node();
	struct att_appraise_res res;
	uint8_t p384[48] = { 0 }, mid[48], buf2[96], h[48];
	struct tcl_log_entry e;
	struct lg l = { 0 };
	size_t off = 0, sz;

	boot(&l);
	start(&l, CID, D_APP);
	exec_(&l, CID, "/bin/hello", hello);
	for (size_t i = 0; off < l.b.len; i++, off += sz) {
		assert_int_equal(tcl_log_parse_entry(l.b.p + off, l.b.len - off, &e, &sz, NULL), 0);
		SHA384(e.data, e.data_len, h);
		memcpy(buf2, p384, 48);
		memcpy(buf2 + 48, h, 48);
		SHA384(buf2, sizeof(buf2), p384);
		if (i == 1)
			memcpy(mid, p384, 48);
	}
	c384.bank = TCL_LOG_SHA384;
	/* the sha256 value is no sha384 replay */
	assert_int_equal(att_appraise(&c384, n, l.b.p, l.b.len, l.pcr, NULL, 1000, &res), -EILSEQ);
	assert_int_equal(att_appraise(&c384, n, l.b.p, l.off[2], mid, NULL, 1000, &res), 0);
	assert_int_equal(res.accepted_entries, 2);
	assert_int_equal(n->pcr_bank, TCL_LOG_SHA384);
	assert_memory_equal(n->pcr, mid, 48);
	/* a sha256 quote cannot continue a log replayed in sha384 */
	assert_int_equal(att_appraise(&cfg, n, l.b.p + l.off[2], l.b.len - l.off[2], l.pcr, NULL,
				      1000, &res), -EXDEV);
	assert_non_null(strstr(res.error, "replayed in the sha384 bank"));
	assert_int_equal(att_appraise(&c384, n, l.b.p + l.off[2], l.b.len - l.off[2], p384, NULL,
				      1000, &res), 0);
	assert_int_equal(n->log_offset, l.b.len);
	assert_int_equal(att_container_get(n, CID)->files, 1);
	assert_int_equal(n->findings.total, 0);
	/* the log restarts (reboot): any bank again */
	att_node_reset_log(n);
	assert_int_equal(att_appraise(&cfg, n, l.b.p, l.b.len, l.pcr, zero10, 1000, &res), 0);
	assert_int_equal(n->pcr_bank, TCL_LOG_SHA256);
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

static void test_replay_mismatch(void **state)
{
	struct att_node *n = node();
	struct att_appraise_res res;
	uint8_t other[32];
	struct lg l = { 0 };

	boot(&l);
	exec_(&l, CID, "/bin/hello", hello);
	memcpy(other, l.pcr, 32);
	other[0] ^= 1;
	assert_int_equal(appraise(n, &l, other, &res), -EILSEQ);
	assert_non_null(strstr(res.error, "replays PCR 13 to"));
	assert_non_null(strstr(res.error, "(2 entries)"));
	/* untouched */
	assert_int_equal(n->log_offset, 0);
	assert_int_equal(n->log_entries, 0);
	assert_int_equal(n->containers.n, 0);
	assert_int_equal(n->findings.total, 0);
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

static void test_malformed(void **state)
{
	struct att_node *n = node();
	struct att_appraise_res res;
	struct lg l = { 0 };

	boot(&l);
	exec_(&l, CID, "/bin/hello", hello);
	/* a flipped digest byte: the template hash no longer matches */
	l.b.p[l.off[1] + 40] ^= 1;
	assert_int_equal(appraise(n, &l, l.pcr, &res), -EBADMSG);
	assert_non_null(strstr(res.error, "log entry at offset"));
	assert_non_null(strstr(res.error, "malformed"));
	l.b.p[l.off[1] + 40] ^= 1;
	/* a cut-off entry */
	assert_int_equal(att_appraise(&cfg, n, l.b.p, l.b.len - 3, l.pcr, zero10, 1, &res),
			 -EBADMSG);
	assert_non_null(strstr(res.error, "incomplete"));
	/* garbage */
	assert_int_equal(att_appraise(&cfg, n, (const uint8_t *)"garbage!", 8, l.pcr, zero10, 1,
				      &res), -EBADMSG);
	assert_int_equal(n->log_offset, 0);
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

static void test_wrong_pcr_and_limits(void **state)
{
	struct att_node *n = node();
	struct att_appraise_res res;
	struct tcl_log_digests d;
	struct lg l = { 0 };
	uint8_t p[32] = { 0 };

	assert_int_equal(tcl_log_encode_ng(&l.b, 10, hello, "/bin/x", &d), 0);
	extend256(p, d.sha256);
	assert_int_equal(appraise(n, &l, p, &res), -EBADMSG);
	assert_non_null(strstr(res.error, "extends PCR 10, not PCR 13"));
	tcl_log_buf_free(&l.b);
	memset(&l, 0, sizeof(l));
	for (int i = 0; i < 5; i++)
		ng(&l, hello, "/bin/x");
	cfg.max_entries = 4;
	assert_int_equal(appraise(n, &l, l.pcr, &res), -E2BIG);
	cfg.max_entries = 5;
	assert_int_equal(appraise(n, &l, l.pcr, &res), 0);
	cfg.max_entries = 1000;
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

static void test_registry_down(void **state)
{
	struct att_node *n = node();
	struct att_appraise_res res;
	struct lg l = { 0 };

	boot(&l);
	start(&l, CID, D_DOWN);
	exec_(&l, CID, "/bin/hello", hello);
	assert_int_equal(appraise(n, &l, l.pcr, &res), -EAGAIN);
	assert_string_equal(res.error, "registry down");
	assert_int_equal(n->log_offset, 0);
	assert_int_equal(n->containers.n, 0);
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

/* Manifests being fetched: every missing one is asked for, the node stays as it was, and the
 * same evidence is appraised when they are there; also for a container an earlier evidence
 * started (its files need its image's manifest too). */
static void test_fetch_in_progress(void **state)
{
	struct att_node *n = node();
	struct att_appraise_res res;
	struct lg l = { 0 };
	uint64_t off;

	boot(&l);
	start(&l, CID, D_APP);
	start(&l, "c2", D_OTHER);
	exec_(&l, CID, "/bin/hello", hello);
	fetching = true;
	golden_calls = 0;
	assert_int_equal(appraise(n, &l, l.pcr, &res), -EINPROGRESS);
	assert_int_equal(golden_calls, 2);
	assert_non_null(strstr(res.error, "is being fetched"));
	assert_int_equal(n->log_offset, 0);
	assert_int_equal(n->containers.n, 0);
	fetching = false;
	assert_int_equal(appraise(n, &l, l.pcr, &res), 0);
	assert_int_equal(res.accepted_entries, 4);
	off = n->log_offset;
	assert_int_equal(off, l.b.len);
	/* the next evidence: a file of CID only, its manifest evicted and being fetched again */
	exec_(&l, CID, "/bin/hello", hello);
	fetching = true;
	assert_int_equal(att_appraise(&cfg, n, l.b.p + off, l.b.len - off, l.pcr, zero10, 1000,
				      &res), -EINPROGRESS);
	assert_int_equal(n->log_offset, off);
	fetching = false;
	assert_int_equal(att_appraise(&cfg, n, l.b.p + off, l.b.len - off, l.pcr, zero10, 1000,
				      &res), 0);
	assert_int_equal(res.findings, 0);
	assert_int_equal(att_container_get(n, CID)->findings.total, 0);
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

static void test_no_golden(void **state)
{
	struct att_node *n = node();
	struct att_appraise_res res;
	struct att_container *c;
	struct lg l = { 0 };

	boot(&l);
	start(&l, CID, D_OTHER);
	exec_(&l, CID, "/bin/hello", hello);
	buf(&l, "container_start", "{\"container_id\":\"nodigest\",\"image\":\"x\"}");
	assert_int_equal(appraise(n, &l, l.pcr, &res), 0);
	c = att_container_get(n, CID);
	assert_int_equal(c->findings.total, 2);
	assert_non_null(strstr(c->findings.v[0].reason, "is not verified: no golden manifest"));
	assert_non_null(strstr(c->findings.v[1].reason, "whose image is not verified"));
	c = att_container_get(n, "nodigest");
	assert_non_null(c);
	assert_non_null(strstr(c->findings.v[0].reason, "has no image_digest"));
	assert_int_equal(n->untrusted_containers, 2);
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

static void test_boot_aggregate(void **state)
{
	struct att_node *n = node();
	struct att_appraise_res res;
	uint8_t pcrs[10 * 32] = { 0 };
	struct lg l = { 0 };

	boot(&l);
	exec_(&l, CID, "/usr/bin/runc", runc);	/* before container_start: host allowlist */
	pcrs[0] = 1;	/* PCR 0 is not what boot_aggregate hashed */
	assert_int_equal(att_appraise(&cfg, n, l.b.p, l.b.len, l.pcr, pcrs, 1, &res), 0);
	assert_int_equal(n->findings.total, 1);
	assert_string_equal(n->findings.v[0].reason,
			    "boot_aggregate does not match the quoted PCRs 0-9");
	tcl_log_buf_free(&l.b);
	node_free_(n);

	/* a log that does not start with boot_aggregate, and one in the middle */
	n = node();
	memset(&l, 0, sizeof(l));
	ng(&l, runc, "/usr/bin/runc");
	boot(&l);
	exec_(&l, "nostart", "/bin/sh", evil);	/* no container_start, not allowlisted */
	assert_int_equal(appraise(n, &l, l.pcr, &res), 0);
	assert_int_equal(n->findings.total, 3);
	assert_string_equal(n->findings.v[0].reason,
			    "the log does not start with boot_aggregate");
	assert_string_equal(n->findings.v[1].reason, "boot_aggregate after the start of the log");
	assert_non_null(strstr(n->findings.v[2].reason, "which has no container_start"));
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

static void test_host_files(void **state)
{
	struct att_node *n = node();
	struct att_appraise_res res;
	struct lg l = { 0 };

	boot(&l);
	ng(&l, runc, "/usr/bin/runc");
	ng(&l, evil, "/usr/bin/evil");
	ng(&l, evil, "not a path");
	assert_int_equal(appraise(n, &l, l.pcr, &res), 0);
	assert_int_equal(n->findings.total, 2);
	assert_string_equal(n->findings.v[0].name, "/usr/bin/evil");
	assert_string_equal(n->findings.v[0].reason, "host file is not in the host allowlist");
	assert_non_null(strstr(n->findings.v[1].reason, "neither /PATH nor"));
	tcl_log_buf_free(&l.b);
	node_free_(n);

	/* without a host allowlist, host files are counted as unappraised */
	n = node();
	memset(&l, 0, sizeof(l));
	boot(&l);
	ng(&l, evil, "/usr/bin/evil");
	ng(&l, runc, "/usr/bin/runc");
	cfg.host_allow = NULL;
	assert_int_equal(appraise(n, &l, l.pcr, &res), 0);
	cfg.host_allow = &host;
	assert_int_equal(n->findings.total, 0);
	assert_int_equal(res.unappraised, 2);
	assert_int_equal(n->unappraised, 2);
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

static void test_image_verify(void **state)
{
	struct att_node *n = node();
	struct att_appraise_res res;
	char json[512];
	struct lg l = { 0 };

	boot(&l);
	snprintf(json, sizeof(json), "{\"image\":\"a\",\"image_digest\":\"%s\",\"result\":"
		 "\"verified\",\"golden_manifest\":\"%s\",\"keyid\":\"k1\"}", D_APP,
		 golden->sha256);
	buf(&l, "image_verify", json);		/* agrees */
	buf(&l, "image_verify", "{\"image\":\"b\",\"image_digest\":\"" D_OTHER "\","
	    "\"result\":\"not_verified\",\"reason\":\"no golden\"}");	/* a refusal */
	buf(&l, "image_verify", "{\"image\":\"b\",\"image_digest\":\"" D_OTHER "\","
	    "\"result\":\"verified\"}");	/* the attestor cannot */
	snprintf(json, sizeof(json), "{\"image\":\"a\",\"image_digest\":\"%s\",\"result\":"
		 "\"verified\",\"golden_manifest\":\"%064d\"}", D_APP, 7);
	buf(&l, "image_verify", json);		/* another manifest */
	snprintf(json, sizeof(json), "{\"image\":\"a\",\"image_digest\":\"%s\",\"result\":"
		 "\"verified\",\"keyid\":\"k2\"}", D_APP);
	buf(&l, "image_verify", json);		/* another key */
	buf(&l, "image_verify", "{\"image_digest\":\"sha256:12\",\"result\":\"verified\"}");
	buf(&l, "container_start", "[1,2]");
	buf(&l, "container_start", "{\"container_id\":7}");
	assert_int_equal(appraise(n, &l, l.pcr, &res), 0);
	assert_int_equal(n->findings.total, 6);
	assert_non_null(strstr(n->findings.v[0].reason, "the attestor cannot: no golden"));
	assert_non_null(strstr(n->findings.v[1].reason, "against golden manifest 0000"));
	assert_non_null(strstr(n->findings.v[2].reason, "says key k2 signed"));
	assert_non_null(strstr(n->findings.v[3].reason, "image_digest is not sha256:<64 hex>"));
	assert_non_null(strstr(n->findings.v[4].reason, "not a JSON object"));
	assert_non_null(strstr(n->findings.v[5].reason, "a field is not a string"));
	assert_int_equal(n->findings.v[0].offset, l.off[3]);
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

static void test_golden_cached_per_evidence(void **state)
{
	struct att_node *n = node();
	struct att_appraise_res res;
	struct lg l = { 0 };

	boot(&l);
	start(&l, CID, D_APP);
	for (int i = 0; i < 10; i++)
		exec_(&l, CID, "/bin/hello", hello);
	golden_calls = 0;
	assert_int_equal(appraise(n, &l, l.pcr, &res), 0);
	/* the prefetch asks once; every entry after that uses the evidence's own table */
	assert_int_equal(golden_calls, 1);
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

static void test_second_start(void **state)
{
	struct att_node *n = node();
	struct att_appraise_res res;
	struct lg l = { 0 };

	boot(&l);
	start(&l, CID, D_APP);
	start(&l, CID, D_APP);			/* the same again: fine */
	start(&l, CID, D_OTHER);		/* another image under the same id: not fine */
	assert_int_equal(appraise(n, &l, l.pcr, &res), 0);
	assert_int_equal(att_container_get(n, CID)->findings.total, 1);
	assert_non_null(strstr(att_container_get(n, CID)->findings.v[0].reason,
			       "a second container_start names another image"));
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

/* A log that says records were lost is incomplete: what ran may be missing, so the node is
 * untrusted whatever else the log holds.  The same log without it stays trusted. */
static void test_records_lost(void **state)
{
	struct att_node *n = node();
	struct att_appraise_res res;
	char why[512];
	const char *reason = NULL;
	struct lg l = { 0 };

	/* without a loss: trusted */
	boot(&l);
	start(&l, CID, D_APP);
	exec_(&l, CID, "/bin/hello", hello);
	assert_int_equal(appraise(n, &l, l.pcr, &res), 0);
	assert_int_equal(res.findings, 0);
	n->last_evidence = 1000;
	assert_int_equal(att_node_verdict(n, 1000, 300, &reason, why, sizeof(why)), ATT_TRUSTED);

	/* the next evidence carries the agent's records_lost: the node is untrusted from then on */
	buf(&l, "records_lost", "{\"count\":6,\"source\":\"agent\"}");
	exec_(&l, CID, "/bin/hello", hello);
	assert_int_equal(att_appraise(&cfg, n, l.b.p + l.off[3], l.b.len - l.off[3], l.pcr,
				      zero10, 1000, &res), 0);
	assert_int_equal(res.accepted_entries, 2);
	assert_int_equal(res.findings, 1);
	assert_int_equal(n->findings.total, 1);
	assert_int_equal(n->findings.v[0].offset, l.off[3]);
	assert_string_equal(n->findings.v[0].name, "records_lost");
	assert_null(n->findings.v[0].container_id);
	assert_string_equal(n->findings.v[0].reason, "incomplete log: 6 records lost (by the "
			    "agent, measurement queue full): what ran may be missing");
	assert_int_equal(att_node_verdict(n, 1000, 300, &reason, why, sizeof(why)),
			 ATT_UNTRUSTED);
	assert_non_null(strstr(reason, "incomplete log: 6 records lost"));
	/* its containers with it */
	assert_int_equal(att_container_verdict(n, att_container_get(n, CID), 1000, 300, why,
					       sizeof(why)), ATT_UNTRUSTED);
	assert_non_null(strstr(why, "node node-a is untrusted: incomplete log"));
	assert_int_equal(att_container_get(n, CID)->findings.total, 0);
	tcl_log_buf_free(&l.b);
	node_free_(n);

	/* the kernel's, and records_lost that do not parse: a gap all the same */
	n = node();
	memset(&l, 0, sizeof(l));
	boot(&l);
	buf(&l, "records_lost", "{\"count\":3,\"source\":\"kernel\"}");
	buf(&l, "records_lost", "[1]");
	buf(&l, "records_lost", "{\"count\":\"3\",\"source\":\"kernel\"}");
	buf(&l, "records_lost", "{\"count\":0,\"source\":\"agent\"}");
	buf(&l, "records_lost", "{\"count\":2,\"source\":\"moon\"}");
	assert_int_equal(appraise(n, &l, l.pcr, &res), 0);
	assert_int_equal(n->findings.total, 5);
	assert_string_equal(n->findings.v[0].reason, "incomplete log: 3 records lost (by the "
			    "kernel, ring buffer full): what ran may be missing");
	for (int i = 1; i < 5; i++) {
		assert_non_null(strstr(n->findings.v[i].reason, "incomplete log: records lost "
				       "(malformed records_lost record)"));
		assert_int_equal(n->findings.v[i].offset, l.off[i + 1]);
	}
	n->last_evidence = 1000;
	assert_int_equal(att_node_verdict(n, 1000, 300, NULL, why, sizeof(why)), ATT_UNTRUSTED);
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

static void refused(struct lg *l, const char *cid, const char *path, const uint8_t d[32])
{
	char json[512], hex[65];

	tcl_hex(d, 32, hex);
	snprintf(json, sizeof(json), "{%s%s%s\"digest\":\"sha256:%s\",\"hook\":\"exec\","
		 "\"path\":\"%s\",\"reason\":\"not_allowed\"}", cid ? "\"container_id\":\"" : "",
		 cid ? cid : "", cid ? "\"," : "", hex, path);
	buf(l, "exec_refused", json);
}

/* A refused attempt under enforce mode is the container's: it is untrusted, its node is not.
 * Code that ran outside the golden set still untrusts the node. */
static void test_refused_enforce(void **state)
{
	struct att_node *n = node();
	struct att_appraise_res res;
	struct att_container *c, *o;
	struct json_object *j, *a;
	const char *reason = NULL;
	char why[1024], dg[80];
	struct lg l = { 0 };

	boot(&l);
	buf(&l, "agent_start", "{\"mode\":\"enforce\",\"scope\":\"containers\"}");
	start(&l, CID, D_APP);
	exec_(&l, CID, "/bin/hello", hello);
	for (int i = 0; i < 3; i++)	/* the agent logs one; more are appraised all the same */
		refused(&l, CID, "/tmp/dropped", evil);
	refused(&l, "other", "/tmp/x", evil);	/* no container_start seen: the entry is made */
	assert_int_equal(appraise(n, &l, l.pcr, &res), 0);
	assert_int_equal(res.findings, 0);
	assert_int_equal(res.refusals, 4);
	assert_int_equal(n->mode, ATT_MODE_ENFORCE);
	assert_int_equal(n->findings.total, 0);
	assert_int_equal(n->untrusted_containers, 0);
	c = att_container_get(n, CID);
	assert_int_equal(c->findings.total, 0);
	assert_int_equal(c->refusals.total, 3);
	assert_int_equal(c->refusals.v[0].offset, l.off[4]);
	assert_string_equal(c->refusals.v[0].name, "/tmp/dropped");
	assert_string_equal(c->refusals.v[0].container_id, CID);
	tcl_hex(evil, 32, dg + 7);
	memcpy(dg, "sha256:", 7);
	assert_string_equal(c->refusals.v[0].digest, dg);
	assert_string_equal(c->refusals.v[0].reason,
			    "exec refused by the kernel (enforce mode): not_allowed");
	o = att_container_get(n, "other");
	assert_non_null(o);
	assert_int_equal(o->refusals.total, 1);
	n->last_evidence = 1000;
	assert_int_equal(att_node_verdict(n, 1000, 300, &reason, why, sizeof(why)), ATT_TRUSTED);
	assert_int_equal(att_container_verdict(n, c, 1000, 300, why, sizeof(why)), ATT_UNTRUSTED);
	assert_non_null(strstr(why, "refused by the kernel"));
	assert_int_equal(att_container_verdict(n, o, 1000, 300, why, sizeof(why)), ATT_UNTRUSTED);
	/* the API view lists them */
	j = att_container_json(n, c, 1000, 300);
	assert_non_null(j);
	assert_string_equal(json_object_get_string(json_object_object_get(j, "verdict")),
			    "untrusted");
	a = json_object_object_get(j, "refusals");
	assert_int_equal(json_object_array_length(a), 3);
	assert_string_equal(json_object_get_string(json_object_object_get(
				    json_object_array_get_idx(a, 0), "name")), "/tmp/dropped");
	assert_int_equal(json_object_get_int(json_object_object_get(j, "refusals_total")), 3);
	json_object_put(j);

	/* a later evidence: code that ran outside the golden set untrusts the node, as before */
	exec_(&l, CID, "/tmp/dropped", evil);
	assert_int_equal(att_appraise(&cfg, n, l.b.p + l.off[8], l.b.len - l.off[8], l.pcr,
				      zero10, 1000, &res), 0);
	assert_int_equal(res.findings, 1);
	assert_int_equal(res.refusals, 0);
	assert_int_equal(att_node_verdict(n, 1000, 300, &reason, why, sizeof(why)),
			 ATT_UNTRUSTED);
	assert_non_null(strstr(reason, "not in the golden manifest"));
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

/* Outside enforce mode (audit, an unknown mode, a new log), on the host, or malformed: the log
 * cannot show that nothing ran, so the node is untrusted. */
static void test_refused_not_enforce(void **state)
{
	static const char *const modes[] = {
		"{\"mode\":\"audit\"}", NULL, "{\"mode\":\"sideways\"}", "[1]",
	};
	struct att_node *n;
	struct att_appraise_res res;
	char why[1024];
	struct lg l;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		n = node();
		memset(&l, 0, sizeof(l));
		boot(&l);
		if (modes[i])
			buf(&l, "agent_start", modes[i]);
		start(&l, CID, D_APP);
		refused(&l, CID, "/tmp/dropped", evil);
		assert_int_equal(appraise(n, &l, l.pcr, &res), 0);
		assert_int_equal(res.refusals, 0);
		assert_int_equal(res.findings, 1);
		assert_int_not_equal(n->mode, ATT_MODE_ENFORCE);
		assert_int_equal(n->findings.total, 1);
		assert_string_equal(n->findings.v[0].name, "/tmp/dropped");
		assert_non_null(strstr(n->findings.v[0].reason, "not enforce"));
		n->last_evidence = 1000;
		assert_int_equal(att_node_verdict(n, 1000, 300, NULL, why, sizeof(why)),
				 ATT_UNTRUSTED);
		tcl_log_buf_free(&l.b);
		node_free_(n);
	}

	/* enforce, then a new log (boot_aggregate at offset 0): unknown again until agent_start */
	n = node();
	n->mode = ATT_MODE_ENFORCE;
	memset(&l, 0, sizeof(l));
	boot(&l);
	refused(&l, CID, "/tmp/dropped", evil);
	assert_int_equal(appraise(n, &l, l.pcr, &res), 0);
	assert_int_equal(res.findings, 1);
	assert_int_equal(n->mode, ATT_MODE_UNKNOWN);
	n->mode = ATT_MODE_ENFORCE;
	att_node_reset_log(n);
	assert_int_equal(n->mode, ATT_MODE_UNKNOWN);
	tcl_log_buf_free(&l.b);
	node_free_(n);

	/* enforce and the host, or malformed records: node findings */
	n = node();
	memset(&l, 0, sizeof(l));
	boot(&l);
	buf(&l, "agent_start", "{\"mode\":\"enforce\"}");
	refused(&l, NULL, "/usr/local/bin/x", evil);
	buf(&l, "exec_refused", "{\"container_id\":\"" CID "\",\"path\":\"/x\"}");
	buf(&l, "exec_refused", "{\"container_id\":\"" CID "\",\"digest\":\"sha256:00\","
	    "\"path\":\"/x\"}");
	buf(&l, "exec_refused", "{\"container_id\":\"a/b\",\"digest\":\"" D_APP "\","
	    "\"path\":\"/x\"}");
	buf(&l, "exec_refused", "{\"container_id\":\"" CID "\",\"digest\":\"" D_APP "\"}");
	buf(&l, "exec_refused", "not json");
	assert_int_equal(appraise(n, &l, l.pcr, &res), 0);
	assert_int_equal(res.refusals, 0);
	assert_int_equal(res.findings, 6);
	assert_non_null(strstr(n->findings.v[0].reason, "host process"));
	for (int i = 1; i < 6; i++)
		assert_non_null(strstr(n->findings.v[i].reason, "malformed exec_refused record"));
	assert_null(att_container_get(n, CID));
	tcl_log_buf_free(&l.b);
	node_free_(n);
}

static void test_allow_from_policy(void **state)
{
	char h1[65], h2[65], json[512], err[256];
	struct tcl_policy *p = NULL;
	struct att_allow a;

	tcl_hex(evil, 32, h1);
	tcl_hex(runc, 32, h2);
	snprintf(json, sizeof(json), "{\"version\":1,\"allow\":[{\"sha256\":\"%s\"},"
		 "{\"sha256\":\"%s\"},{\"sha256\":\"%s\"}]}", h1, h2, h1);
	assert_int_equal(tcl_policy_parse(json, strlen(json), "t", &p, err, sizeof(err)), 0);
	assert_int_equal(att_allow_from_policy(p, &a), 0);
	assert_int_equal(a.n, 2);	/* deduplicated */
	assert_true(att_allow_has(&a, evil));
	assert_true(att_allow_has(&a, runc));
	assert_false(att_allow_has(&a, hello));
	assert_false(att_allow_has(NULL, hello));
	att_allow_free(&a);
	tcl_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_honest),
		cmocka_unit_test(test_not_in_golden),
		cmocka_unit_test(test_prefix_and_pending),
		cmocka_unit_test(test_sha384_bank),
		cmocka_unit_test(test_replay_mismatch),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_wrong_pcr_and_limits),
		cmocka_unit_test(test_registry_down),
		cmocka_unit_test(test_fetch_in_progress),
		cmocka_unit_test(test_no_golden),
		cmocka_unit_test(test_boot_aggregate),
		cmocka_unit_test(test_host_files),
		cmocka_unit_test(test_image_verify),
		cmocka_unit_test(test_golden_cached_per_evidence),
		cmocka_unit_test(test_second_start),
		cmocka_unit_test(test_records_lost),
		cmocka_unit_test(test_refused_enforce),
		cmocka_unit_test(test_refused_not_enforce),
		cmocka_unit_test(test_allow_from_policy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
