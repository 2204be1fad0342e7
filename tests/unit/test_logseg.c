// SPDX-License-Identifier: GPL-2.0
/* Unit tests for a bounded log: segments, deletion after acknowledgement, the checkpoint
 * (lib/logseg.c and the segment side of lib/log.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "diag.h"
#include "log.h"
#include "logseg.h"
#include "testutil.h"

#define PCR	13
#define BOUND	(64u << 10)	/* the smallest bound: segments of 8 KiB */

/* Everything appended, kept in memory: the reference the files are compared with. */
struct ref {
	uint8_t *all;
	size_t len;
	struct tcl_log_pcr pcr;		/* the replay of every entry, as a TPM would hold it */
	size_t entries;
};

static void ref_free(struct ref *r)
{
	free(r->all);
	memset(r, 0, sizeof(*r));
	r->pcr.index = PCR;
}

/* Append @n entries (one batch) to @l and @r; each about 300 bytes. */
static void append(struct tcl_log *l, struct ref *r, unsigned int n)
{
	struct tcl_log_buf b = { 0 };
	struct tcl_log_digests d;
	char name[300];

	for (unsigned int i = 0; i < n; i++) {
		uint8_t dg[32] = { 0 };

		memcpy(dg, &r->entries, sizeof(r->entries));
		snprintf(name, sizeof(name), "c%zu:/usr/lib/x86_64-linux-gnu/a-rather-long-path/"
			 "to-make-entries-of-a-few-hundred-bytes/file-%zu.so.%0200d", r->entries,
			 r->entries, 0);
		if (!r->entries)
			snprintf(name, sizeof(name), "boot_aggregate");
		assert_int_equal(tcl_log_encode_ng(&b, PCR, dg, name, &d), 0);
		assert_int_equal(tcl_log_pcr_extend(&r->pcr, &d), 0);
		r->entries++;
	}
	assert_int_equal(tcl_log_append(l, b.p, b.len), 0);
	r->all = realloc(r->all, r->len + b.len);
	assert_non_null(r->all);
	memcpy(r->all + r->len, b.p, b.len);
	r->len += b.len;
	tcl_log_buf_free(&b);
}

/* A path that stays valid for the whole test (tu_path's buffers are reused). */
static const char *fresh_log(const char *name)
{
	static char paths[16][512];
	static int k;
	char cmd[1200];
	char *p = paths[k++ % 16];

	snprintf(p, sizeof(paths[0]), "%s", tu_path(name));
	snprintf(cmd, sizeof(cmd), "rm -f %s %s.*", p, p);
	assert_int_equal(system(cmd), 0);
	return p;
}

static uint64_t disk_bytes(const char *log)
{
	struct tcl_logseg_set s;
	uint64_t n = 0;

	assert_int_equal(tcl_logseg_list(log, &s), 0);
	for (size_t i = 0; i < s.n; i++)
		n += s.seg[i].size;
	tcl_logseg_set_free(&s);
	return n;
}

/* The log's replay from its checkpoint equals the reference's, and matches as a whole. */
static void assert_replays(const char *log, const struct ref *r)
{
	struct tcl_log_digests *rest = NULL;
	size_t matched, total, n_rest;
	struct tcl_log_pcr p;

	assert_int_equal(tcl_log_replay(log, PCR, &p), 0);
	assert_int_equal(p.entries, r->entries);
	assert_memory_equal(p.sha256, r->pcr.sha256, 32);
	assert_memory_equal(p.sha1, r->pcr.sha1, 20);
	assert_memory_equal(p.sha384, r->pcr.sha384, 48);
	assert_memory_equal(p.sha512, r->pcr.sha512, 64);
	assert_int_equal(tcl_log_match_prefix(log, PCR, TCL_LOG_SHA384, r->pcr.sha384, &matched,
					      &total, &rest, &n_rest), 0);
	assert_int_equal(matched, r->entries);
	assert_int_equal(total, r->entries);
	free(rest);
}

struct offs {
	uint64_t last;
	size_t n;
	bool ordered;
};

static int offs_cb(const struct tcl_log_entry *e, uint64_t off, void *arg)
{
	struct offs *o = arg;

	if (o->n && off <= o->last)
		o->ordered = false;
	o->last = off;
	o->n++;
	return 0;
}

/* Unbounded: one file, no checkpoint, as before. */
static void test_unbounded(void **state)
{
	const char *log = fresh_log("unb.bin");
	struct ref r = { .pcr.index = PCR };
	struct tcl_log_maint m;
	struct tcl_log *l;
	struct stat st;

	assert_int_equal(tcl_log_open(log, &l, NULL), 0);
	assert_int_equal(tcl_log_set_bound(l, PCR, 0), 0);
	for (int i = 0; i < 20; i++) {
		append(l, &r, 10);
		assert_int_equal(tcl_log_maintain(l, r.len, &m), 0);
		assert_false(m.rotated);
	}
	tcl_log_close(l);
	assert_int_equal(stat(log, &st), 0);
	assert_int_equal(st.st_size, r.len);
	assert_int_not_equal(stat(tu_path("unb.bin.checkpoint"), &st), 0);
	assert_int_not_equal(stat(tu_path("unb.bin.00000001"), &st), 0);
	assert_replays(log, &r);
	ref_free(&r);
}

static void test_bound_too_small(void **state)
{
	const char *log = fresh_log("small.bin");
	struct tcl_log *l;

	assert_int_equal(tcl_log_open(log, &l, NULL), 0);
	assert_int_equal(tcl_log_set_bound(l, PCR, BOUND - 1), -EINVAL);
	tcl_log_close(l);
}

/* Without acknowledgements segments are closed but never deleted: the log outgrows the
 * bound and says so. */
static void test_rotate_no_ack(void **state)
{
	const char *log = fresh_log("noack.bin");
	struct ref r = { .pcr.index = PCR };
	struct tcl_log_maint m;
	struct tcl_logseg_set s;
	struct offs o = { .ordered = true };
	struct tcl_log_scan sc;
	struct tcl_log *l;
	size_t rotations = 0;
	bool over = false;

	assert_int_equal(tcl_log_open(log, &l, NULL), 0);
	assert_int_equal(tcl_log_set_bound(l, PCR, BOUND), 0);
	for (int i = 0; i < 40; i++) {
		append(l, &r, 10);
		assert_int_equal(tcl_log_maintain(l, 0, &m), 0);
		assert_int_equal(m.deleted, 0);
		rotations += m.rotated;
		over |= m.over_bound;
	}
	assert_true(r.len > 2 * BOUND);
	assert_true(rotations >= 10);
	assert_true(over);
	assert_int_equal(tcl_log_count(l), r.entries);
	assert_int_equal(tcl_log_size(l), r.len);
	assert_int_equal(tcl_log_start(l), 0);
	tcl_log_close(l);

	assert_int_equal(tcl_logseg_list(log, &s), 0);
	assert_true(s.have_ckpt);
	assert_int_equal(s.ckpt.offset, 0);
	assert_int_equal(s.n, rotations + 1);
	tcl_logseg_set_free(&s);
	assert_int_equal(disk_bytes(log), r.len);
	assert_int_equal(tcl_log_foreach(log, offs_cb, &o, &sc), 0);
	assert_int_equal(o.n, r.entries);
	assert_true(o.ordered);
	assert_int_equal(sc.valid_len, r.len);
	assert_replays(log, &r);
	ref_free(&r);
}

/* Acknowledged segments go once the bound needs the room; the checkpoint carries the PCR
 * values past them; reopening finds the same log. */
static void test_delete_acked(void **state)
{
	const char *log = fresh_log("ack.bin");
	struct ref r = { .pcr.index = PCR };
	struct tcl_log_open_report rep;
	struct tcl_log_maint m;
	struct tcl_log_ckpt c;
	struct tcl_log *l;
	size_t deleted = 0;
	uint8_t *b = NULL;
	size_t len;

	assert_int_equal(tcl_log_open(log, &l, NULL), 0);
	assert_int_equal(tcl_log_set_bound(l, PCR, BOUND), 0);
	for (int i = 0; i < 250; i++) {
		append(l, &r, 5);
		/* the attestor lags one batch behind */
		assert_int_equal(tcl_log_maintain(l, r.len - 1500 > r.len ? 0 : r.len - 1500, &m),
				 0);
		deleted += m.deleted;
		assert_true(tcl_log_disk_bytes(l) <= BOUND);
		assert_int_equal(disk_bytes(log), tcl_log_disk_bytes(l));
	}
	assert_true(r.len > 4 * BOUND);
	assert_true(deleted > 10);
	assert_true(tcl_log_start(l) > 0);
	assert_int_equal(tcl_log_size(l), r.len);
	assert_int_equal(tcl_log_count(l), r.entries);
	tcl_log_close(l);

	assert_int_equal(tcl_logseg_ckpt_load(log, &c), 0);
	assert_true(c.offset > 0 && c.entries > 0);
	assert_replays(log, &r);

	/* reading across segments from the log offset the attestor holds */
	assert_int_equal(tcl_logseg_read(log, c.offset, SIZE_MAX, &b, &len), 0);
	assert_int_equal(len, r.len - c.offset);
	assert_memory_equal(b, r.all + c.offset, len);
	free(b);
	assert_int_equal(tcl_logseg_read(log, c.offset + 1000, 5000, &b, &len), 0);
	assert_int_equal(len, 5000);
	assert_memory_equal(b, r.all + c.offset + 1000, len);
	free(b);
	assert_int_equal(tcl_logseg_read(log, c.offset - 1, 10, &b, &len), -ESPIPE);
	assert_int_equal(tcl_logseg_read(log, r.len + 1, 10, &b, &len), -ESPIPE);

	assert_int_equal(tcl_log_open(log, &l, &rep), 0);
	assert_int_equal(rep.entries, r.entries);
	assert_int_equal(tcl_log_size(l), r.len);
	assert_int_equal(tcl_log_start(l), c.offset);
	assert_int_equal(tcl_log_set_bound(l, PCR, BOUND), 0);
	/* the checkpoint keeps its identity */
	append(l, &r, 5);
	tcl_log_close(l);
	{
		struct tcl_log_ckpt c2;

		assert_int_equal(tcl_logseg_ckpt_load(log, &c2), 0);
		assert_string_equal(c2.id, c.id);
	}
	assert_replays(log, &r);
	/* another PCR than the checkpoint's */
	assert_int_equal(tcl_log_open(log, &l, NULL), 0);
	assert_int_equal(tcl_log_set_bound(l, PCR + 1, BOUND), -EBADMSG);
	tcl_log_close(l);
	ref_free(&r);
}

/* A log with segments deleted, for the tampering tests: returns the reference. */
static const char *cut_log(const char *name, struct ref *r)
{
	const char *log = fresh_log(name);
	struct tcl_log *l;

	memset(r, 0, sizeof(*r));
	r->pcr.index = PCR;
	assert_int_equal(tcl_log_open(log, &l, NULL), 0);
	assert_int_equal(tcl_log_set_bound(l, PCR, BOUND), 0);
	for (int i = 0; i < 60; i++) {
		append(l, r, 5);
		assert_int_equal(tcl_log_maintain(l, r->len, NULL), 0);
	}
	tcl_log_close(l);
	assert_true(tcl_log_replay(log, PCR, &(struct tcl_log_pcr){ 0 }) == 0);
	return log;
}

static void flip(const char *path, off_t at)
{
	int fd = open(path, O_RDWR);
	uint8_t c;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x20;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

static void test_tampered_segment(void **state)
{
	struct tcl_log_digests *rest = NULL;
	size_t matched, total, n_rest;
	struct tcl_logseg_set s;
	char seg[PATH_MAX];
	struct tcl_log_scan sc;
	struct ref r;
	const char *log = cut_log("tamper.bin", &r);

	assert_int_equal(tcl_logseg_list(log, &s), 0);
	assert_true(s.n >= 3);
	assert_int_equal(tcl_logseg_path(log, s.seg[1].seq, seg), 0);
	/* a character of a name inside the second kept segment: its template hash breaks */
	flip(seg, 100);
	assert_int_equal(tcl_log_foreach(log, NULL, NULL, &sc), -EBADMSG);
	assert_true(sc.bad_off >= s.seg[1].offset && sc.bad_off < s.seg[1].offset + s.seg[1].size);
	assert_int_equal(tcl_log_match_prefix(log, PCR, TCL_LOG_SHA256, r.pcr.sha256, &matched,
					      &total, &rest, &n_rest), -EBADMSG);
	flip(seg, 100);
	assert_replays(log, &r);
	/* a segment cut inside an entry */
	assert_int_equal(truncate(seg, (off_t)s.seg[1].size - 7), 0);
	assert_int_equal(tcl_log_foreach(log, NULL, NULL, &sc), -EBADMSG);
	tcl_logseg_set_free(&s);
	ref_free(&r);
}

static void test_missing_segment(void **state)
{
	struct tcl_logseg_set s;
	struct tcl_log_scan sc;
	char seg[PATH_MAX], last[PATH_MAX];
	struct tcl_log *l;
	struct tcl_log_pcr p;
	struct ref r;
	const char *log = cut_log("missing.bin", &r);

	assert_int_equal(tcl_logseg_list(log, &s), 0);
	assert_true(s.n >= 3);
	assert_int_equal(tcl_logseg_path(log, s.seg[1].seq, seg), 0);
	assert_int_equal(tcl_logseg_path(log, s.seg[s.n - 2].seq, last), 0);
	assert_int_equal(unlink(seg), 0);
	assert_int_equal(tcl_logseg_list(log, &(struct tcl_logseg_set){ 0 }), -EBADMSG);
	assert_int_equal(tcl_log_foreach(log, NULL, NULL, &sc), -EBADMSG);
	assert_int_equal(tcl_log_replay(log, PCR, &p), -EBADMSG);
	assert_int_equal(tcl_log_open(log, &l, NULL), -EBADMSG);
	/* renaming the last closed segment into the hole: the names are whole again (the
	 * live segment's number is implied), but the replay no longer ends on the PCR */
	assert_int_equal(rename(last, seg), 0);
	assert_int_equal(tcl_log_replay(log, PCR, &p), 0);
	assert_memory_not_equal(p.sha256, r.pcr.sha256, 32);
	assert_int_equal(p.entries < r.entries, true);
	tcl_logseg_set_free(&s);
	ref_free(&r);
}

/* A checkpoint with other PCR values cannot replay to the PCR. */
static void test_forged_checkpoint(void **state)
{
	struct tcl_log_digests *rest = NULL;
	size_t matched, total, n_rest;
	struct tcl_log_ckpt c;
	struct tcl_log_pcr p;
	struct ref r;
	const char *log = cut_log("forged.bin", &r);

	assert_int_equal(tcl_logseg_ckpt_load(log, &c), 0);
	c.values.sha256[0] ^= 1;
	assert_int_equal(tcl_logseg_ckpt_save(log, &c), 0);
	assert_int_equal(tcl_log_match_prefix(log, PCR, TCL_LOG_SHA256, r.pcr.sha256, &matched,
					      &total, &rest, &n_rest), -ENOMSG);
	assert_null(rest);
	/* the other banks still replay: each bank is checked on its own */
	assert_int_equal(tcl_log_replay(log, PCR, &p), 0);
	assert_memory_equal(p.sha384, r.pcr.sha384, 48);
	assert_memory_not_equal(p.sha256, r.pcr.sha256, 32);
	ref_free(&r);
}

static void test_checkpoint_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"tcl-log-checkpoint 2\n",
		"tcl-log-checkpoint 1\nid 00\n",
		"tcl-log-checkpoint 1\nid 0123456789abcdef0123456789abcdef\npcr 13\nseq 1\n"
		"entries 0\noffset 0\n",	/* no PCR values */
		"tcl-log-checkpoint 1\nid 0123456789abcdef0123456789abcdef\npcr 99\nseq 1\n",
		"tcl-log-checkpoint 1\nbogus 1\n",
	};
	const char *log = fresh_log("mal.bin");
	struct tcl_log_ckpt c;
	struct tcl_log_scan sc;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f = fopen(tu_path("mal.bin.checkpoint"), "w");

		assert_non_null(f);
		fputs(bad[i], f);
		fclose(f);
		assert_int_equal(tcl_logseg_ckpt_load(log, &c), -EBADMSG);
		assert_int_equal(tcl_log_foreach(log, NULL, NULL, &sc), -EBADMSG);
	}
	/* a good one round-trips */
	assert_int_equal(tcl_logseg_ckpt_init(&c, PCR), 0);
	c.seq = 4;
	c.entries = 7;
	c.offset = 4242;
	c.values.sha512[63] = 9;
	assert_int_equal(tcl_logseg_ckpt_save(log, &c), 0);
	{
		struct tcl_log_ckpt d;

		assert_int_equal(tcl_logseg_ckpt_load(log, &d), 0);
		assert_string_equal(d.id, c.id);
		assert_int_equal(d.seq, 4);
		assert_int_equal(d.entries, 7);
		assert_int_equal(d.offset, 4242);
		assert_int_equal(d.values.entries, 7);
		assert_int_equal(d.values.sha512[63], 9);
	}
}

/* A deletion cut short (checkpoint saved, segment not yet unlinked): the next open removes
 * the segment and the log is whole. */
static void test_stale_segment(void **state)
{
	struct tcl_logseg_set s;
	struct tcl_log_ckpt c;
	struct tcl_log_pcr p;
	char seg[PATH_MAX];
	struct tcl_log *l;
	struct stat st;
	struct ref r;
	const char *log = cut_log("stale.bin", &r);

	assert_int_equal(tcl_logseg_list(log, &s), 0);
	assert_int_equal(tcl_logseg_path(log, s.seg[0].seq, seg), 0);
	/* move the checkpoint past the first kept segment by hand */
	assert_int_equal(tcl_logseg_ckpt_load(log, &c), 0);
	p = c.values;
	{
		/* replay that segment alone onto the checkpoint's values */
		struct tcl_log_scan sc;
		uint8_t *b;
		size_t len;

		assert_int_equal(tcl_logseg_read(log, s.seg[0].offset, s.seg[0].size, &b, &len),
				 0);
		assert_int_equal(len, s.seg[0].size);
		assert_int_equal(tcl_log_foreach_buf(b, len, NULL, NULL, &sc), 0);
		for (size_t off = 0; off < len;) {
			struct tcl_log_entry e;
			struct tcl_log_digests d;
			size_t n;

			assert_int_equal(tcl_log_parse_entry(b + off, len - off, &e, &n, NULL), 0);
			assert_int_equal(tcl_log_entry_digests(&e, &d), 0);
			assert_int_equal(tcl_log_pcr_extend(&p, &d), 0);
			off += n;
		}
		c.entries += sc.entries;
		free(b);
	}
	c.values = p;
	c.values.entries = c.entries;
	c.seq++;
	c.offset = s.seg[0].offset + s.seg[0].size;
	assert_int_equal(tcl_logseg_ckpt_save(log, &c), 0);
	tcl_logseg_set_free(&s);
	assert_int_equal(tcl_logseg_list(log, &s), 0);
	assert_int_equal(s.stale, 1);
	tcl_logseg_set_free(&s);
	assert_replays(log, &r);
	assert_int_equal(tcl_log_open(log, &l, NULL), 0);
	tcl_log_close(l);
	assert_int_not_equal(stat(seg, &st), 0);
	assert_replays(log, &r);
	ref_free(&r);
}

/* Moving a log aside (TPM reset) takes every file along. */
static void test_move(void **state)
{
	const char *dst = fresh_log("moved.bin");
	struct tcl_logseg_set s;
	struct stat st;
	struct ref r;
	const char *log = cut_log("tomove.bin", &r);

	assert_int_equal(tcl_logseg_move(log, dst), 0);
	assert_int_not_equal(stat(log, &st), 0);
	assert_int_equal(tcl_logseg_list(log, &s), 0);
	assert_false(s.have_ckpt);
	assert_int_equal(s.n, 1);
	tcl_logseg_set_free(&s);
	assert_replays(dst, &r);
	ref_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unbounded),
		cmocka_unit_test(test_bound_too_small),
		cmocka_unit_test(test_rotate_no_ack),
		cmocka_unit_test(test_delete_acked),
		cmocka_unit_test(test_tampered_segment),
		cmocka_unit_test(test_missing_segment),
		cmocka_unit_test(test_forged_checkpoint),
		cmocka_unit_test(test_checkpoint_malformed),
		cmocka_unit_test(test_stale_segment),
		cmocka_unit_test(test_move),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
