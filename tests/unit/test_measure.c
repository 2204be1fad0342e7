// SPDX-License-Identifier: GPL-2.0
/* Unit tests for lib/measure.c without a TPM (--tpm none): queue, dedup, flush, reopen,
 * mismatch and torn-tail handling, drops, the crash hook; and tclctl log show/verify offline. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include <json-c/json.h>

#include "canonjson.h"
#include "cmds.h"
#include "diag.h"
#include "hexb64.h"
#include "log.h"
#include "measure.h"
#include "util.h"
#include "testutil.h"

#define PCR 13

static void digest_of(unsigned int i, uint8_t d[32])
{
	char s[32];

	snprintf(s, sizeof(s), "file %u", i);
	assert_true(EVP_Digest(s, strlen(s), d, NULL, EVP_sha256(), NULL));
}

static struct tcl_measure *open_none(const char *log, struct tcl_measure_report *r)
{
	struct tcl_measure_opts o = { .log_path = log, .tcti = "none" };
	struct tcl_measure *m = NULL;

	assert_int_equal(tcl_measure_open(&o, &m, r), 0);
	assert_non_null(m);
	return m;
}

/* Every entry's name, in order. */
struct names {
	char **v;
	size_t n;
	size_t on_pcr;
	bool first_zero_aggregate;
};

static int names_cb(const struct tcl_log_entry *e, uint64_t off, void *arg)
{
	struct names *ns = arg;
	static const uint8_t zero[32];

	if (!ns->n)
		ns->first_zero_aggregate = !strcmp(e->name, "boot_aggregate") &&
					   !strcmp(e->template_name, "ima-ng") &&
					   e->digest_len == 32 && !memcmp(e->digest, zero, 32);
	ns->v = realloc(ns->v, (ns->n + 1) * sizeof(*ns->v));
	ns->v[ns->n++] = strdup(e->name);
	ns->on_pcr += e->pcr == PCR;
	return 0;
}

static void names_load(const char *log, struct names *ns)
{
	memset(ns, 0, sizeof(*ns));
	assert_int_equal(tcl_log_foreach(log, names_cb, ns, NULL), 0);
}

static size_t names_count(const struct names *ns, const char *name)
{
	size_t c = 0;

	for (size_t i = 0; i < ns->n; i++)
		c += !strcmp(ns->v[i], name);
	return c;
}

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

static void file_sha(const char *path, uint8_t out[32])
{
	uint8_t buf[65536];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(c, buf, n);
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
	close(fd);
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void copy_file(const char *from, const char *to)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "cp %s %s", from, to);
	assert_int_equal(system(cmd), 0);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Offset of an ima-ng entry's file digest: pcr, sha1, tname len, "ima-ng", data len,
 * d-ng len, "sha256:\0". */
#define DIGEST_OFF (4 + 20 + 4 + 6 + 4 + 4 + 8)

struct find {
	size_t want, i;
	uint64_t off;
};

static int find_cb(const struct tcl_log_entry *e, uint64_t off, void *arg)
{
	struct find *f = arg;

	if (f->i++ == f->want) {
		f->off = off;
		return 1;
	}
	return 0;
}

static uint64_t entry_offset(const char *log, size_t i)
{
	struct find f = { .want = i };

	assert_int_equal(tcl_log_foreach(log, find_cb, &f, NULL), 1);
	return f.off;
}

/* ---- tests ---- */

static void test_new_log(void **state)
{
	const char *log = tu_path("new/sub/m.bin");
	struct tcl_measure_report r;
	struct tcl_measure_status st;
	struct tcl_measure *m;
	struct names ns;

	m = open_none(log, &r);
	assert_true(r.created);
	assert_false(r.anchored);
	assert_int_equal(r.state, TCL_MEASURE_OK);
	assert_int_equal(r.entries, 1);
	assert_int_equal(r.torn_bytes, 0);
	assert_string_equal(r.rotated_to, "");
	tcl_measure_status(m, &st);
	assert_false(st.anchored);
	assert_int_equal(st.pcr, PCR);
	assert_int_equal(st.entries, 1);
	assert_string_equal(tcl_measure_state_name(st.state), "ok");
	/* Nothing to quote without a TPM. */
	assert_int_equal(tcl_measure_quote(m, (const uint8_t *)"n", 1, tu_path("q")), -ENODEV);
	tcl_measure_close(m);

	names_load(log, &ns);
	assert_int_equal(ns.n, 1);
	assert_true(ns.first_zero_aggregate);
	assert_int_equal(ns.on_pcr, 1);
	names_free(&ns);
}

static void test_queue_dedup_flush(void **state)
{
	const char *log = tu_path("dedup.bin");
	struct tcl_measure_status st;
	struct tcl_measure *m;
	struct names ns;
	char cid[16], p[64], name[96];
	uint8_t d[32];

	m = open_none(log, NULL);
	for (unsigned int i = 0; i < 1000; i++) {
		digest_of(i, d);
		snprintf(cid, sizeof(cid), "c%u", i % 3);
		snprintf(p, sizeof(p), "/bin/f%u", i);
		assert_int_equal(tcl_measure_file(m, cid, p, d), 0);
	}
	/* The same (container, digest) under another path: measured once. */
	for (unsigned int i = 0; i < 1000; i++) {
		digest_of(i, d);
		snprintf(cid, sizeof(cid), "c%u", i % 3);
		snprintf(p, sizeof(p), "/usr/bin/other%u", i);
		assert_int_equal(tcl_measure_file(m, cid, p, d), 0);
	}
	/* ...but the same digest on the host, or in another container, is another pair. */
	digest_of(0, d);
	assert_int_equal(tcl_measure_file(m, NULL, "/usr/bin/f0", d), 0);
	assert_int_equal(tcl_measure_file(m, "", "/usr/bin/f0-again", d), 0);
	assert_int_equal(tcl_measure_file(m, "c1", "/bin/f0", d), 0);
	/* Events are never deduplicated. */
	assert_int_equal(tcl_measure_buf(m, "agent_start", "{\"pid\":1}"), 0);
	assert_int_equal(tcl_measure_buf(m, "agent_start", "{\"pid\":1}"), 0);
	assert_int_equal(tcl_measure_flush(m), 0);
	tcl_measure_status(m, &st);
	assert_int_equal(st.state, TCL_MEASURE_OK);
	assert_int_equal(st.entries, 1 + 1000 + 2 + 2);
	assert_int_equal(st.extended, st.entries);	/* no TPM: logged is as far as it goes */
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.measured, 1004);
	assert_int_equal(st.deduped, 1001);
	assert_int_equal(st.dropped, 0);
	assert_true(st.appends >= 1);
	assert_int_equal(st.log_bytes, file_size(log));
	tcl_measure_close(m);

	names_load(log, &ns);
	assert_int_equal(ns.n, 1005);
	assert_int_equal(ns.on_pcr, 1005);
	for (unsigned int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "c%u:/bin/f%u", i % 3, i);
		assert_int_equal(names_count(&ns, name), 1);
	}
	assert_int_equal(names_count(&ns, "/usr/bin/f0"), 1);
	assert_int_equal(names_count(&ns, "/usr/bin/f0-again"), 0);
	assert_int_equal(names_count(&ns, "c1:/bin/f0"), 1);
	assert_int_equal(names_count(&ns, "agent_start"), 2);
	assert_int_equal(names_count(&ns, "c0:/usr/bin/other0"), 0);
	/* Queue order is log order. */
	assert_string_equal(ns.v[1], "c0:/bin/f0");
	assert_string_equal(ns.v[1000], "c0:/bin/f999");
	assert_string_equal(ns.v[1004], "agent_start");
	names_free(&ns);
}

static void test_reopen_rebuilds_dedup(void **state)
{
	const char *log = tu_path("dedup.bin");	/* from the previous test */
	struct tcl_measure_report r;
	struct tcl_measure_status st;
	struct tcl_measure *m;
	char cid[16], p[64];
	uint8_t d[32];

	m = open_none(log, &r);
	assert_false(r.created);
	assert_int_equal(r.entries, 1005);
	for (unsigned int i = 0; i < 1010; i++) {
		digest_of(i, d);
		snprintf(cid, sizeof(cid), "c%u", i % 3);
		snprintf(p, sizeof(p), "/sbin/g%u", i);
		assert_int_equal(tcl_measure_file(m, cid, p, d), 0);
	}
	digest_of(0, d);
	assert_int_equal(tcl_measure_file(m, NULL, "/x", d), 0);	/* host pair: seen */
	assert_int_equal(tcl_measure_flush(m), 0);
	tcl_measure_status(m, &st);
	assert_int_equal(st.deduped, 1001);
	assert_int_equal(st.measured, 10);
	assert_int_equal(st.entries, 1015);
	tcl_measure_close(m);
}

static void test_busy(void **state)
{
	const char *log = tu_path("busy.bin");
	struct tcl_measure_opts o = { .log_path = log, .tcti = "none" };
	struct tcl_measure *m, *m2 = (void *)1;

	m = open_none(log, NULL);
	assert_int_equal(tcl_measure_open(&o, &m2, NULL), -EBUSY);
	assert_null(m2);
	tcl_measure_close(m);
}

static void test_bad_args(void **state)
{
	const char *log = tu_path("args.bin");
	struct tcl_measure_opts o = { .log_path = log, .tcti = "none" };
	char longp[6000], cid[300];
	struct tcl_measure *m, *m2;
	struct names ns;
	uint8_t d[32];

	for (uint32_t bad = 1; bad < 30; bad++) {
		if (bad >= 10 && bad <= 15)
			continue;
		o.pcr = bad;
		assert_int_equal(tcl_measure_open(&o, &m2, NULL), -EINVAL);
	}
	o.pcr = 0;
	o.log_path = "";
	assert_int_equal(tcl_measure_open(&o, &m2, NULL), -EINVAL);
	o.log_path = log;
	o.tcti = "nosuchtcti:x";
	assert_true(tcl_measure_open(&o, &m2, NULL) < 0);

	m = open_none(log, NULL);
	digest_of(1, d);
	assert_int_equal(tcl_measure_file(m, "a:b", "/p", d), -EINVAL);
	assert_int_equal(tcl_measure_file(m, "a/b", "/p", d), -EINVAL);
	memset(cid, 'c', sizeof(cid) - 1);
	cid[sizeof(cid) - 1] = '\0';
	assert_int_equal(tcl_measure_file(m, cid, "/p", d), -EINVAL);
	assert_int_equal(tcl_measure_file(m, "c", NULL, d), -EINVAL);
	assert_int_equal(tcl_measure_file(m, "c", "/p", NULL), -EINVAL);
	assert_int_equal(tcl_measure_buf(m, "", "{}"), -EINVAL);
	assert_int_equal(tcl_measure_buf(m, "x", NULL), -EINVAL);
	assert_int_equal(tcl_measure_buf(m, "x", "{\"b\":1,\"a\":2}"), -EINVAL);	/* order */
	assert_int_equal(tcl_measure_buf(m, "x", "{\"a\": 2}"), -EINVAL);	/* space */
	assert_int_equal(tcl_measure_buf(m, "x", "not json"), -EINVAL);
	assert_int_equal(tcl_measure_buf(m, "x", "{\"a\":2,\"b\":1}"), 0);
	{
		size_t big = TCL_LOG_DATA_MAX + 10;
		char *j = malloc(big + 1);

		memset(j, 'a', big);
		j[0] = '"';
		j[big - 1] = '"';
		j[big] = '\0';
		assert_int_equal(tcl_measure_buf(m, "x", j), -E2BIG);
		free(j);
	}
	/* A path too long for the log keeps its end; an empty one is named. */
	memset(longp, 'p', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	memcpy(longp + sizeof(longp) - 8, "/target", 7);
	assert_int_equal(tcl_measure_file(m, "c", longp, d), 0);
	digest_of(2, d);
	assert_int_equal(tcl_measure_file(m, "c", "", d), 0);
	assert_int_equal(tcl_measure_flush(m), 0);
	tcl_measure_close(m);

	names_load(log, &ns);
	assert_int_equal(ns.n, 4);
	assert_int_equal(strlen(ns.v[2]), TCL_LOG_NAME_MAX - 1);
	assert_memory_equal(ns.v[2], "c:...", 5);
	assert_string_equal(ns.v[2] + strlen(ns.v[2]) - 7, "/target");
	assert_string_equal(ns.v[3], "c:(unknown)");
	names_free(&ns);
}

static void test_corrupt_is_mismatch(void **state)
{
	const char *good = tu_path("dedup.bin"), *log = tu_path("corrupt.bin");
	struct tcl_measure_report r;
	struct tcl_measure_status st;
	uint8_t before[32], after[32], d[32];
	struct tcl_measure *m;
	int fd;

	copy_file(good, log);
	/* A byte of a file digest in the middle: the template hash no longer matches. */
	fd = open(log, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "\xff", 1, entry_offset(log, 500) + DIGEST_OFF), 1);
	close(fd);
	file_sha(log, before);

	m = open_none(log, &r);
	assert_int_equal(r.state, TCL_MEASURE_MISMATCH);
	assert_non_null(strstr(r.why, "corrupt entry at offset"));
	digest_of(77777, d);
	assert_int_equal(tcl_measure_file(m, "c", "/new", d), -ENOTRECOVERABLE);
	assert_int_equal(tcl_measure_buf(m, "agent_start", "{}"), -ENOTRECOVERABLE);
	assert_int_equal(tcl_measure_lost(m, TCL_MEASURE_LOST_KERNEL, 5), -ENOTRECOVERABLE);
	assert_int_equal(tcl_measure_flush(m), -ENOTRECOVERABLE);
	tcl_measure_status(m, &st);
	assert_int_equal(st.lost_pending, 5);
	assert_int_equal(st.state, TCL_MEASURE_MISMATCH);
	assert_string_equal(tcl_measure_state_name(st.state), "mismatch");
	assert_non_null(strstr(st.why, "corrupt entry at offset"));
	assert_int_equal(st.refused, 2);
	assert_int_equal(st.measured, 0);
	tcl_measure_close(m);
	/* No silent repair or new log: the file is exactly as it was. */
	file_sha(log, after);
	assert_memory_equal(before, after, 32);
}

static void test_torn_tail(void **state)
{
	const char *good = tu_path("dedup.bin"), *log = tu_path("torn.bin");
	struct tcl_measure_report r;
	struct tcl_measure_status st;
	struct tcl_measure *m;
	off_t size;
	uint8_t d[32];
	int fd;

	copy_file(good, log);
	size = file_size(log);
	/* The first 30 bytes of a copy of the last entry: a crash mid-write. */
	fd = open(log, O_RDWR);
	{
		uint8_t head[30];

		assert_int_equal(pread(fd, head, sizeof(head), 0), sizeof(head));
		assert_int_equal(pwrite(fd, head, sizeof(head), size), sizeof(head));
	}
	close(fd);
	m = open_none(log, &r);
	assert_int_equal(r.state, TCL_MEASURE_OK);
	assert_int_equal(r.torn_bytes, 30);
	assert_true(r.torn_saved_to[0]);
	assert_int_equal(r.entries, 1015);
	assert_int_equal(file_size(log), size);
	digest_of(424242, d);
	assert_int_equal(tcl_measure_file(m, "c", "/after-torn", d), 0);
	assert_int_equal(tcl_measure_flush(m), 0);
	tcl_measure_status(m, &st);
	assert_int_equal(st.entries, 1016);
	tcl_measure_close(m);
	m = open_none(log, &r);
	assert_int_equal(r.torn_bytes, 0);
	assert_int_equal(r.entries, 1016);
	tcl_measure_close(m);
}

/* A damaged length field that claims to run past the end looks like a torn tail: the
 * bytes are dropped from the log but kept beside it. */
static void test_damaged_length_is_kept(void **state)
{
	const char *good = tu_path("dedup.bin"), *log = tu_path("damaged.bin");
	struct tcl_measure_report r;
	struct tcl_measure *m;
	uint64_t off;
	off_t size;
	char *kept = NULL;
	size_t kl;
	int fd;

	copy_file(good, log);
	size = file_size(log);
	off = entry_offset(log, 1010);
	fd = open(log, O_RDWR);
	/* data_len of entry 1010 := 0x000fffff */
	assert_int_equal(pwrite(fd, "\xff\xff\x0f\x00", 4, off + 4 + 20 + 4 + 6), 4);
	close(fd);
	m = open_none(log, &r);
	assert_int_equal(r.entries, 1010);
	assert_int_equal(r.torn_bytes, size - off);
	assert_int_equal(file_size(log), off);
	assert_true(r.torn_saved_to[0]);
	assert_non_null(strstr(r.torn_saved_to, "damaged.bin.torn-"));
	assert_int_equal(tcl_read_file(r.torn_saved_to, 1 << 20, &kept, &kl), 0);
	assert_int_equal(kl, size - off);
	assert_memory_equal(kept, "\x0d\x00\x00\x00", 4);	/* PCR 13: the entry start */
	free(kept);
	tcl_measure_close(m);
}

static void test_other_pcr_and_foreign_log(void **state)
{
	struct tcl_measure_opts o = { .log_path = tu_path("dedup.bin"), .tcti = "none",
				      .pcr = 14 };
	struct tcl_log_open_report lr;
	struct tcl_measure_report r;
	struct tcl_log_buf b = { 0 };
	struct tcl_measure *m;
	struct tcl_log *l;
	uint8_t d[32];

	assert_int_equal(tcl_measure_open(&o, &m, &r), 0);
	assert_int_equal(r.state, TCL_MEASURE_MISMATCH);
	assert_non_null(strstr(r.why, "for PCR 13"));
	assert_int_equal(tcl_measure_file(m, "c", "/p", (uint8_t[32]){ 1 }), -ENOTRECOVERABLE);
	tcl_measure_close(m);

	/* A log that does not start with boot_aggregate was not started by tcl. */
	o.log_path = tu_path("foreign.bin");
	o.pcr = 0;
	assert_int_equal(tcl_log_open(o.log_path, &l, &lr), 0);
	digest_of(5, d);
	assert_int_equal(tcl_log_encode_ng(&b, PCR, d, "/bin/sh", NULL), 0);
	assert_int_equal(tcl_log_append(l, b.p, b.len), 0);
	tcl_log_close(l);
	tcl_log_buf_free(&b);
	assert_int_equal(tcl_measure_open(&o, &m, &r), 0);
	assert_int_equal(r.state, TCL_MEASURE_MISMATCH);
	assert_non_null(strstr(r.why, "boot_aggregate"));
	tcl_measure_close(m);
}

static void test_queue_full_drops(void **state)
{
	const char *log = tu_path("drops.bin");
	struct tcl_measure_opts o = { .log_path = log, .tcti = "none", .queue_max = 4,
				      .block_ms = 5, .test_append_delay_ms = 100 };
	struct tcl_measure_status st;
	struct tcl_measure *m;
	unsigned int dropped = 0, ok = 0, first_drop = 0;
	double worst = 0;
	struct names ns;
	size_t lost;
	char p[32];
	uint8_t d[32];

	assert_int_equal(tcl_measure_open(&o, &m, NULL), 0);
	for (unsigned int i = 0; i < 40; i++) {
		double t0 = now_ms(), dt;
		int err;

		digest_of(i, d);
		snprintf(p, sizeof(p), "/d%u", i);
		err = tcl_measure_file(m, NULL, p, d);
		dt = now_ms() - t0;
		if (dt > worst)
			worst = dt;
		if (err == -ENOBUFS) {
			if (!dropped)
				first_drop = i;
			dropped++;
		} else {
			assert_int_equal(err, 0);
			ok++;
		}
	}
	/* The caller is never held longer than block_ms (plus scheduling slack). */
	assert_true(worst < 5 + 40);
	assert_true(dropped > 0);
	tcl_measure_status(m, &st);
	assert_int_equal(st.dropped, dropped);
	assert_int_equal(st.measured, ok);
	/* A dropped file is not remembered: measured again when it comes back. */
	assert_int_equal(tcl_measure_flush(m), 0);
	digest_of(first_drop, d);
	snprintf(p, sizeof(p), "/d%u", first_drop);
	assert_int_equal(tcl_measure_file(m, NULL, p, d), 0);
	assert_int_equal(tcl_measure_flush(m), 0);
	tcl_measure_status(m, &st);
	assert_int_equal(st.dropped, dropped);
	/* Every drop is in the log, in records_lost entries that came before the next entry. */
	assert_int_equal(st.lost_logged, dropped);
	assert_int_equal(st.lost_pending, 0);
	tcl_measure_close(m);
	names_load(log, &ns);
	lost = names_count(&ns, "records_lost");
	assert_true(lost >= 1);
	assert_int_equal(st.entries, 1 + ok + lost + 1);
	assert_int_equal(ns.n, 1 + ok + lost + 1);
	assert_int_equal(names_count(&ns, p), 1);
	assert_string_equal(ns.v[ns.n - 1], p);
	names_free(&ns);
}

/* Every entry's name and ima-buf buffer, in order. */
struct ents {
	char name[16][64];
	char buf[16][128];
	size_t n;
};

static int ents_cb(const struct tcl_log_entry *e, uint64_t off, void *arg)
{
	struct ents *es = arg;

	assert_true(es->n < 16);
	snprintf(es->name[es->n], sizeof(es->name[0]), "%s", e->name);
	snprintf(es->buf[es->n], sizeof(es->buf[0]), "%.*s", e->buf ? (int)e->buf_len : 0,
		 e->buf ? (const char *)e->buf : "");
	es->n++;
	return 0;
}

static void assert_canonical(const char *json)
{
	struct json_object *o = NULL;
	char *canon = NULL;
	size_t len;

	assert_int_equal(tcl_json_parse("test", json, strlen(json), 1024, &o), 0);
	assert_int_equal(tcl_canon_json(o, &canon, &len), 0);
	assert_string_equal(canon, json);
	free(canon);
	json_object_put(o);
}

/* A full queue drops measurements, and the kernel reports records it could not deliver: once
 * there is room again, the log says how many were lost, by whom, before any later entry. */
static void test_records_lost(void **state)
{
	const char *log = tu_path("lost.bin");
	struct tcl_measure_opts o = { .log_path = log, .tcti = "none", .queue_max = 4,
				      .block_ms = -1, .test_append_delay_ms = 200 };
	static const char *const want[] = {
		"boot_aggregate", "/f0", "/f1", "/f2", "/f3", "records_lost", "records_lost",
		"/f10",
	};
	struct tcl_measure_status st;
	struct tcl_log_pcr pcr = { .index = PCR };
	struct tcl_measure *m;
	struct ents es = { .n = 0 };
	char p[32];
	uint8_t d[32];

	assert_int_equal(tcl_measure_open(&o, &m, NULL), 0);
	/* The worker holds the first batch for 200 ms: the queue (4) is full after /f3 and a
	 * caller that does not wait (block_ms < 0) has its measurement dropped at once. */
	for (unsigned int i = 0; i < 10; i++) {
		digest_of(i, d);
		snprintf(p, sizeof(p), "/f%u", i);
		assert_int_equal(tcl_measure_file(m, NULL, p, d), i < 4 ? 0 : -ENOBUFS);
	}
	assert_int_equal(tcl_measure_lost(m, TCL_MEASURE_LOST_KERNEL, 3), 0);
	assert_int_equal(tcl_measure_lost(m, TCL_MEASURE_LOST_KERNEL, 0), -EINVAL);
	assert_int_equal(tcl_measure_lost(m, TCL_MEASURE_LOST_SOURCES, 1), -EINVAL);
	assert_int_equal(tcl_measure_lost(NULL, TCL_MEASURE_LOST_AGENT, 1), -EINVAL);
	tcl_measure_status(m, &st);
	assert_int_equal(st.dropped, 6);
	assert_int_equal(st.lost_pending, 6 + 3);	/* no room: not queued yet */
	assert_int_equal(st.lost_logged, 0);
	/* Room returns: the losses are queued before the next measurement; a flush waits for
	 * them too. */
	assert_int_equal(tcl_measure_flush(m), 0);
	tcl_measure_status(m, &st);
	assert_int_equal(st.lost_pending, 0);
	assert_int_equal(st.lost_logged, 9);
	assert_int_equal(st.entries, 7);
	assert_int_equal(st.queued, 0);
	digest_of(10, d);
	assert_int_equal(tcl_measure_file(m, NULL, "/f10", d), 0);
	assert_int_equal(tcl_measure_flush(m), 0);
	tcl_measure_status(m, &st);
	assert_int_equal(st.lost_pending, 0);
	assert_int_equal(st.lost_logged, 9);
	assert_int_equal(st.measured, 5);
	assert_int_equal(st.entries, 8);
	tcl_measure_close(m);

	assert_int_equal(tcl_log_foreach(log, ents_cb, &es, NULL), 0);
	assert_int_equal(es.n, 8);
	for (size_t i = 0; i < es.n; i++)
		assert_string_equal(es.name[i], want[i]);
	assert_string_equal(es.buf[5], "{\"count\":6,\"source\":\"agent\"}");
	assert_string_equal(es.buf[6], "{\"count\":3,\"source\":\"kernel\"}");
	assert_canonical(es.buf[5]);
	assert_canonical(es.buf[6]);
	/* Entries like any other: the whole log replays. */
	assert_int_equal(tcl_log_replay(log, PCR, &pcr), 0);
	assert_int_equal(pcr.entries, 8);

	/* With room, a kernel loss is queued at once; reopening keeps the log as it is. */
	m = open_none(log, NULL);
	assert_int_equal(tcl_measure_lost(m, TCL_MEASURE_LOST_KERNEL, 2), 0);
	tcl_measure_status(m, &st);
	assert_int_equal(st.lost_pending, 0);
	assert_int_equal(st.lost_logged, 2);
	assert_int_equal(tcl_measure_flush(m), 0);
	tcl_measure_close(m);
	memset(&es, 0, sizeof(es));
	assert_int_equal(tcl_log_foreach(log, ents_cb, &es, NULL), 0);
	assert_int_equal(es.n, 9);
	assert_string_equal(es.name[8], "records_lost");
	assert_string_equal(es.buf[8], "{\"count\":2,\"source\":\"kernel\"}");
}

/* exec_refused entries: one per (container, digest) whatever the attempts, a key apart from the
 * ran one, canonical JSON, rebuilt at open. */
struct refused {
	size_t n;
	char buf[8][512];
};

static int refused_cb(const struct tcl_log_entry *e, uint64_t off, void *arg)
{
	struct refused *rs = arg;

	if (!e->buf || strcmp(e->name, TCL_MEASURE_EXEC_REFUSED))
		return 0;
	assert_string_equal(e->template_name, "ima-buf");
	assert_true(rs->n < 8);
	snprintf(rs->buf[rs->n++], sizeof(rs->buf[0]), "%.*s", (int)e->buf_len,
		 (const char *)e->buf);
	return 0;
}

static void test_refused(void **state)
{
	const char *log = tu_path("refused.bin");
	struct tcl_measure_status st;
	struct tcl_measure *m;
	struct refused rs = { 0 };
	struct names ns;
	char want[512], hex[65];
	uint8_t d[32], d2[32];

	digest_of(7, d);
	digest_of(8, d2);
	tcl_hex(d, 32, hex);
	m = open_none(log, NULL);
	/* a tenant looping on execve: one entry */
	for (int i = 0; i < 100; i++)
		assert_int_equal(tcl_measure_refused(m, "c1", "/tmp/dropped", d, "exec",
						     "not_allowed"), 0);
	/* the same digest at another path, or mapped: the same refusal */
	assert_int_equal(tcl_measure_refused(m, "c1", "/tmp/other", d, "mmap", "not_allowed"), 0);
	/* the same digest that runs (audit mode later): measured as ran all the same */
	assert_int_equal(tcl_measure_file(m, "c1", "/tmp/dropped", d), 0);
	/* another container, another digest, the host, a path that is not UTF-8 */
	assert_int_equal(tcl_measure_refused(m, "c2", "/tmp/dropped", d, "exec", "not_allowed"), 0);
	assert_int_equal(tcl_measure_refused(m, "c1", "/tmp/\xff\xfe", d2, "exec", "writers"), 0);
	assert_int_equal(tcl_measure_refused(m, NULL, "/usr/local/bin/x", d, "exec",
					     "not_allowed"), 0);
	assert_int_equal(tcl_measure_refused(m, "c:1", "/x", d, "exec", "x"), -EINVAL);
	assert_int_equal(tcl_measure_refused(m, "c1", NULL, d, "exec", "x"), -EINVAL);
	assert_int_equal(tcl_measure_flush(m), 0);
	tcl_measure_status(m, &st);
	assert_int_equal(st.measured, 5);
	assert_int_equal(st.deduped, 100);
	tcl_measure_close(m);

	names_load(log, &ns);
	assert_int_equal(ns.n, 6);
	assert_int_equal(names_count(&ns, TCL_MEASURE_EXEC_REFUSED), 4);
	assert_int_equal(names_count(&ns, "c1:/tmp/dropped"), 1);
	names_free(&ns);
	assert_int_equal(tcl_log_foreach(log, refused_cb, &rs, NULL), 0);
	assert_int_equal(rs.n, 4);
	snprintf(want, sizeof(want), "{\"container_id\":\"c1\",\"digest\":\"sha256:%s\","
		 "\"hook\":\"exec\",\"path\":\"/tmp/dropped\",\"reason\":\"not_allowed\"}", hex);
	assert_string_equal(rs.buf[0], want);
	assert_canonical(rs.buf[0]);
	assert_non_null(strstr(rs.buf[1], "\"container_id\":\"c2\""));
	assert_non_null(strstr(rs.buf[2], "\"path\":\"/tmp/\xef\xbf\xbd\xef\xbf\xbd\""));
	assert_non_null(strstr(rs.buf[2], "\"reason\":\"writers\""));
	snprintf(want, sizeof(want), "{\"digest\":\"sha256:%s\",\"hook\":\"exec\","
		 "\"path\":\"/usr/local/bin/x\",\"reason\":\"not_allowed\"}", hex);
	assert_string_equal(rs.buf[3], want);

	/* after a restart: the refusals are known, nothing is logged again */
	m = open_none(log, NULL);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(tcl_measure_refused(m, "c1", "/tmp/dropped", d, "exec",
						     "not_allowed"), 0);
		assert_int_equal(tcl_measure_refused(m, NULL, "/usr/local/bin/x", d, "exec",
						     "not_allowed"), 0);
		assert_int_equal(tcl_measure_refused(m, "c1", "/y", d2, "mmap", "writers"), 0);
	}
	/* but a new container is */
	assert_int_equal(tcl_measure_refused(m, "c3", "/tmp/dropped", d, "exec", "not_allowed"), 0);
	assert_int_equal(tcl_measure_flush(m), 0);
	tcl_measure_status(m, &st);
	assert_int_equal(st.measured, 1);
	assert_int_equal(st.deduped, 30);
	tcl_measure_close(m);
	names_load(log, &ns);
	assert_int_equal(names_count(&ns, TCL_MEASURE_EXEC_REFUSED), 5);
	names_free(&ns);
}

static void test_log_write_error(void **state)
{
	const char *log = tu_path("fsize.bin");
	struct tcl_measure_status st;
	struct tcl_measure_report r;
	struct rlimit old, lim;
	struct tcl_measure *m;
	off_t size;
	char p[32];
	uint8_t d[32];
	int err = 0;

	m = open_none(log, NULL);
	size = file_size(log);
	/* Writes past the limit fail with EFBIG: a full disk, as far as the log can tell. */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = size + 1000;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (unsigned int i = 0; i < 200 && !err; i++) {
		digest_of(i, d);
		snprintf(p, sizeof(p), "/w%u", i);
		err = tcl_measure_file(m, NULL, p, d);
		if (!err && i % 10 == 9)
			err = tcl_measure_flush(m);
	}
	assert_int_equal(err, -ENOTRECOVERABLE);
	assert_int_equal(tcl_measure_flush(m), -ENOTRECOVERABLE);
	tcl_measure_status(m, &st);
	assert_int_equal(st.state, TCL_MEASURE_LOG_ERROR);
	assert_string_equal(tcl_measure_state_name(st.state), "log_error");
	assert_non_null(strstr(st.why, "measurements lost"));
	assert_true(st.dropped > 0);
	assert_int_equal(tcl_measure_file(m, NULL, "/late", d), -ENOTRECOVERABLE);
	tcl_measure_close(m);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	/* The failed batch was taken back: the log reopens clean, with what was flushed. */
	m = open_none(log, &r);
	assert_int_equal(r.state, TCL_MEASURE_OK);
	assert_int_equal(r.torn_bytes, 0);
	assert_int_equal(r.entries, st.entries);
	assert_true(r.entries > 1);
	tcl_measure_close(m);
}

static void test_crash_hook(void **state)
{
	const char *log = tu_path("crash.bin");
	struct tcl_measure_report r;
	struct tcl_measure *m;
	struct names ns;
	char p[32];
	uint8_t d[32];
	pid_t pid;
	int st;

	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct tcl_measure_opts o = { .log_path = log, .tcti = "none",
					      .test_exit_after_appends = 2 };

		if (tcl_measure_open(&o, &m, NULL))
			_exit(1);
		for (unsigned int i = 0; i < 10; i++) {
			digest_of(i, d);
			snprintf(p, sizeof(p), "/k%u", i);
			if (tcl_measure_file(m, NULL, p, d))
				_exit(2);
			if (i == 4 && tcl_measure_flush(m))
				_exit(3);
		}
		tcl_measure_flush(m);
		_exit(4);	/* not reached: the hook exits after the second append */
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 99);
	/* The flush after /k4 cannot return before /k0../k4 are appended, in one or two
	 * appends; the hook fires at the second, so the log holds at least those, and more
	 * if the second append came after the flush. Whatever was appended is intact and in
	 * order. */
	m = open_none(log, &r);
	assert_int_equal(r.state, TCL_MEASURE_OK);
	assert_in_range(r.entries, 6, 11);
	assert_int_equal(r.torn_bytes, 0);
	names_load(log, &ns);
	assert_int_equal(ns.n, r.entries);
	for (size_t i = 1; i < ns.n; i++) {
		snprintf(p, sizeof(p), "/k%zu", i - 1);
		assert_string_equal(ns.v[i], p);
	}
	names_free(&ns);
	/* The logged ones are known after the restart; the others are measured now. */
	for (unsigned int i = 0; i < 10; i++) {
		digest_of(i, d);
		assert_int_equal(tcl_measure_file(m, NULL, "/again", d), 0);
	}
	assert_int_equal(tcl_measure_flush(m), 0);
	tcl_measure_close(m);
	names_load(log, &ns);
	assert_int_equal(ns.n, 11);
	assert_int_equal(names_count(&ns, "/again"), 11 - r.entries);
	names_free(&ns);
}

struct thr {
	struct tcl_measure *m;
	unsigned int seed;
	unsigned int errors;
};

static void *measure_thread(void *arg)
{
	struct thr *t = arg;
	char cid[16], p[32];
	uint8_t d[32];

	for (unsigned int k = 0; k < 2000; k++) {
		unsigned int i = (k * 7 + t->seed * 613) % 2000;

		digest_of(i, d);
		snprintf(cid, sizeof(cid), "t%u", i % 5);
		snprintf(p, sizeof(p), "/c%u", i);
		if (tcl_measure_file(t->m, cid, p, d))
			t->errors++;
		if (k % 500 == 0 && tcl_measure_buf(t->m, "policy_load", "{\"n\":1}"))
			t->errors++;
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	const char *log = tu_path("threads.bin");
	struct tcl_measure_status st;
	pthread_t th[4];
	struct thr t[4];
	struct names ns;
	char name[48];

	struct tcl_measure *m = open_none(log, NULL);

	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){ .m = m, .seed = i };
		assert_int_equal(pthread_create(&th[i], NULL, measure_thread, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].errors, 0);
	}
	assert_int_equal(tcl_measure_flush(m), 0);
	tcl_measure_status(m, &st);
	assert_int_equal(st.measured, 2000 + 16);
	assert_int_equal(st.deduped, 3 * 2000);
	assert_int_equal(st.entries, 1 + 2000 + 16);
	tcl_measure_close(m);
	names_load(log, &ns);
	assert_int_equal(ns.n, 1 + 2000 + 16);
	for (unsigned int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "t%u:/c%u", i % 5, i);
		assert_int_equal(names_count(&ns, name), 1);
	}
	names_free(&ns);
}

/* Run a tclctl command with stdout in @out (may be NULL: discarded). */
static int run_cmd(int (*fn)(int, char **), const char *out, ...)
{
	char *argv[16];
	int argc = 0, saved, fd, rc;
	va_list ap;

	va_start(ap, out);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	saved = dup(1);
	fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, 1);
	close(fd);
	rc = fn(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	return rc;
}

static size_t count_lines(const char *path, const char *prefix)
{
	char line[8192];
	size_t n = 0;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += !prefix || !strncmp(line, prefix, strlen(prefix));
	fclose(f);
	return n;
}

/* A bounded log through the pipeline: segments close as it grows, nothing goes before the
 * attestor's acknowledgement, then the acknowledged ones go; a reopen starts from the
 * checkpoint (no boot_aggregate first) and the dedup set is what the kept segments hold. */
static void test_bounded_log(void **state)
{
	const char *log = tu_path("bounded.bin");
	struct tcl_measure_opts o = { .log_path = log, .tcti = "none",
				      .log_max_bytes = 64u << 10 };
	struct tcl_measure_status st;
	struct tcl_measure_report r;
	struct tcl_measure *m = NULL;
	struct tcl_log_pcr p;
	uint8_t d[32];
	char path[64];
	unsigned int i;
	uint64_t end;

	assert_int_equal(tcl_measure_open(&o, &m, &r), 0);
	assert_int_equal(r.state, TCL_MEASURE_OK);
	for (i = 0; i < 2000; i++) {
		digest_of(i, d);
		snprintf(path, sizeof(path), "/usr/bin/tool-%u", i);
		assert_int_equal(tcl_measure_file(m, "c1", path, d), 0);
		if (i % 50 == 49)
			assert_int_equal(tcl_measure_flush(m), 0);
	}
	assert_int_equal(tcl_measure_flush(m), 0);
	tcl_measure_status(m, &st);
	assert_int_equal(st.log_start, 0);
	assert_true(st.log_bytes > 2 * o.log_max_bytes);
	assert_int_equal(st.log_disk_bytes, st.log_bytes);
	assert_int_equal(st.segments_deleted, 0);
	assert_true(st.log_over_bound);
	end = st.log_bytes;
	/* the attestor acknowledges everything: the worker deletes down to the bound */
	tcl_measure_set_acked(m, end);
	for (i = 0; i < 500; i++) {
		tcl_measure_status(m, &st);
		if (st.segments_deleted)
			break;
		usleep(10000);
	}
	assert_true(st.segments_deleted > 0);
	assert_true(st.log_disk_bytes <= o.log_max_bytes);
	assert_true(st.log_start > 0);
	assert_int_equal(st.log_bytes, end);
	assert_false(st.log_over_bound);
	tcl_measure_close(m);

	assert_int_equal(tcl_log_replay(log, PCR, &p), 0);
	assert_int_equal(p.entries, 2001);	/* boot_aggregate + 2000 */
	m = NULL;
	assert_int_equal(tcl_measure_open(&o, &m, &r), 0);
	assert_int_equal(r.state, TCL_MEASURE_OK);
	assert_false(r.created);
	assert_int_equal(r.entries, 2001);
	/* the last file is in a kept segment: deduplicated; the first was deleted: logged anew */
	digest_of(1999, d);
	assert_int_equal(tcl_measure_file(m, "c1", "/usr/bin/tool-1999", d), 0);
	digest_of(0, d);
	assert_int_equal(tcl_measure_file(m, "c1", "/usr/bin/tool-0", d), 0);
	assert_int_equal(tcl_measure_flush(m), 0);
	tcl_measure_status(m, &st);
	assert_int_equal(st.entries, 2002);
	assert_int_equal(st.deduped, 1);
	tcl_measure_close(m);
}

static void test_cmd_log_offline(void **state)
{
	const char *log = tu_path("dedup.bin"), *pcrs = tu_path("pcrs.txt");
	const char *bad = tu_path("pcrs-bad.txt"), *out = tu_path("out.txt");
	uint8_t vals[TCL_LOG_NR_PCRS * 32] = { 0 };
	struct tcl_log_pcr rp;

	assert_int_equal(run_cmd(tcl_cmd_log, out, "log", "show", "--log", log, NULL), 0);
	assert_int_equal(count_lines(out, "13 "), 1015);
	assert_int_equal(count_lines(out, NULL), 1015);

	assert_int_equal(tcl_log_replay(log, PCR, &rp), 0);
	memcpy(vals + PCR * 32, rp.sha256, 32);
	assert_int_equal(tcl_log_write_pcrs_file(pcrs, TCL_LOG_SHA256, vals), 0);
	assert_int_equal(run_cmd(tcl_cmd_log, out, "log", "verify", "--log", log, "--pcrs",
				 pcrs, NULL), 0);
	assert_int_equal(count_lines(out, "ok sha256: PCR 13 = "), 1);
	assert_int_equal(run_cmd(tcl_cmd_log, out, "log", "verify", "--log", log, "--pcrs", pcrs,
				 "--strict", NULL), 0);
	/* A PCR 13 no prefix replays to. */
	vals[PCR * 32] ^= 1;
	assert_int_equal(tcl_log_write_pcrs_file(bad, TCL_LOG_SHA256, vals), 0);
	assert_int_equal(run_cmd(tcl_cmd_log, out, "log", "verify", "--log", log, "--pcrs", bad,
				 NULL), 1);
	assert_int_equal(count_lines(out, "MISMATCH sha256: PCR 13"), 1);
	/* The replay of a prefix: fine unless --strict. */
	{
		struct tcl_log_pcr pre = { .index = PCR };
		struct tcl_log_digests *rest = NULL;
		size_t matched, total, n_rest;

		/* zero PCR = the empty prefix; then extend two entries by hand */
		memset(vals, 0, sizeof(vals));
		assert_int_equal(tcl_log_match_prefix(log, PCR, TCL_LOG_SHA256, vals + PCR * 32,
						      &matched, &total, &rest, &n_rest), 0);
		assert_int_equal(n_rest, 1015);
		tcl_log_pcr_extend(&pre, &rest[0]);
		tcl_log_pcr_extend(&pre, &rest[1]);
		free(rest);
		memcpy(vals + PCR * 32, pre.sha256, 32);
		assert_int_equal(tcl_log_write_pcrs_file(bad, TCL_LOG_SHA256, vals), 0);
	}
	assert_int_equal(run_cmd(tcl_cmd_log, out, "log", "verify", "--log", log, "--pcrs", bad,
				 NULL), 0);
	assert_int_equal(count_lines(out, "prefix sha256: PCR 13"), 1);
	assert_int_equal(run_cmd(tcl_cmd_log, out, "log", "verify", "--log", log, "--pcrs", bad,
				 "--strict", NULL), 1);
	/* The corrupt copy from test_corrupt_is_mismatch. */
	assert_int_equal(run_cmd(tcl_cmd_log, out, "log", "verify", "--log", tu_path("corrupt.bin"),
				 "--pcrs", pcrs, NULL), 1);
	assert_int_equal(count_lines(out, "CORRUPT: "), 1);
	assert_int_equal(run_cmd(tcl_cmd_log, out, "log", "show", "--log", tu_path("corrupt.bin"),
				 NULL), 1);
	/* Errors and usage. */
	assert_int_equal(run_cmd(tcl_cmd_log, NULL, "log", "verify", "--log", tu_path("nosuch"),
				 "--pcrs", pcrs, NULL), 1);
	assert_int_equal(run_cmd(tcl_cmd_log, NULL, "log", "verify", "--log", log, "--pcrs",
				 tu_path("nosuch"), NULL), 1);
	assert_int_equal(run_cmd(tcl_cmd_log, NULL, "log", "verify", "--log", log, "--pcrs", log,
				 NULL), 1);
	assert_int_equal(run_cmd(tcl_cmd_log, NULL, "log", "verify", "--pcr", "24", NULL), 2);
	assert_int_equal(run_cmd(tcl_cmd_log, NULL, "log", "verify", "--tpm", "none", NULL), 2);
	assert_int_equal(run_cmd(tcl_cmd_log, NULL, "log", "verify", "--tpm", "x", "--pcrs", "y",
				 NULL), 2);
	assert_int_equal(run_cmd(tcl_cmd_log, NULL, "log", "show", "extra", NULL), 2);
	assert_int_equal(run_cmd(tcl_cmd_log, NULL, "log", "frobnicate", NULL), 2);
	assert_int_equal(run_cmd(tcl_cmd_log, NULL, "log", NULL), 2);
	assert_int_equal(run_cmd(tcl_cmd_log, out, "log", "--help", NULL), 0);
	assert_true(count_lines(out, "usage: ") == 1);
	assert_int_equal(run_cmd(tcl_cmd_log, out, "log", "verify", "--help", NULL), 0);
	assert_int_equal(run_cmd(tcl_cmd_log, NULL, "log", "pcrs", NULL), 2);
	assert_int_equal(run_cmd(tcl_cmd_log, NULL, "log", "pcrs", "-o", out, "--bank", "md5",
				 NULL), 2);
	assert_int_equal(run_cmd(tcl_cmd_quote, NULL, "quote", "--nonce", "abc", "-o", out,
				 NULL), 2);
	assert_int_equal(run_cmd(tcl_cmd_quote, NULL, "quote", "--nonce", "zz", "-o", out,
				 NULL), 2);
	assert_int_equal(run_cmd(tcl_cmd_quote, NULL, "quote", "-o", out, NULL), 2);
	assert_int_equal(run_cmd(tcl_cmd_quote, out, "quote", "--help", NULL), 0);
	assert_int_equal(run_cmd(tcl_cmd_ak, NULL, "ak", NULL), 2);
	assert_int_equal(run_cmd(tcl_cmd_ak, NULL, "ak", "export", "extra", NULL), 2);
	assert_int_equal(run_cmd(tcl_cmd_ak, out, "ak", "--help", NULL), 0);
	/* No TPM behind this TCTI: a clear failure, not a crash. */
	assert_int_equal(run_cmd(tcl_cmd_log, NULL, "log", "verify", "--log", log, "--tpm",
				 "nosuchtcti:x", NULL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_log),
		cmocka_unit_test(test_queue_dedup_flush),
		cmocka_unit_test(test_reopen_rebuilds_dedup),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_corrupt_is_mismatch),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_damaged_length_is_kept),
		cmocka_unit_test(test_other_pcr_and_foreign_log),
		cmocka_unit_test(test_queue_full_drops),
		cmocka_unit_test(test_records_lost),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_log_write_error),
		cmocka_unit_test(test_crash_hook),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_bounded_log),
		cmocka_unit_test(test_cmd_log_offline),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
