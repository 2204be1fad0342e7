// SPDX-License-Identifier: GPL-2.0
/* Unit tests for lib/log.c: the IMA binary measurement list. */
#include <errno.h>
#include <fcntl.h>
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
#include <openssl/evp.h>

#include "diag.h"
#include "log.h"
#include "testutil.h"

/* ---- helpers ---- */

static void unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sscanf(s + 2 * i, "%2hhx", &out[i]), 1);
}

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static void sha(const EVP_MD *md, const void *p, size_t n, uint8_t *out)
{
	assert_true(EVP_Digest(p, n, out, NULL, md, NULL));
}

/* What a TPM does: new = H(old || digest). */
static void hand_extend(const EVP_MD *md, uint8_t *pcr, const uint8_t *d, size_t n)
{
	uint8_t in[2 * 64];

	memcpy(in, pcr, n);
	memcpy(in + n, d, n);
	sha(md, in, 2 * n, pcr);
}

static void write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* Three entries on PCR 13; offs[i] = where entry i starts, offs[3] = total. */
static void three_entries(struct tcl_log_buf *b, size_t offs[4], struct tcl_log_digests d[3])
{
	uint8_t dig[32];

	memset(dig, 0xab, sizeof(dig));
	offs[0] = b->len;
	assert_int_equal(tcl_log_encode_ng(b, 13, dig, "boot_aggregate", &d[0]), 0);
	offs[1] = b->len;
	assert_int_equal(tcl_log_encode_ng(b, 13, dig, "c0ffee:/bin/sh", &d[1]), 0);
	offs[2] = b->len;
	assert_int_equal(tcl_log_encode_buf(b, 13, "container_start", "{\"id\":\"c0ffee\"}",
					    15, &d[2]), 0);
	offs[3] = b->len;
}

/* ---- encoding and parsing ---- */

static void test_roundtrip_ng(void **state)
{
	struct tcl_log_buf b = { 0 };
	struct tcl_log_digests d, d2;
	struct tcl_log_entry e;
	const char *why = NULL;
	uint8_t dig[32];
	size_t n;

	for (int i = 0; i < 32; i++)
		dig[i] = i * 7;
	assert_int_equal(tcl_log_encode_ng(&b, 10, dig, "abc:/usr/lib/libc.so.6", &d), 0);
	assert_int_equal(tcl_log_parse_entry(b.p, b.len, &e, &n, &why), 0);
	assert_int_equal(n, b.len);
	assert_int_equal(e.pcr, 10);
	assert_string_equal(e.template_name, "ima-ng");
	assert_string_equal(e.digest_algo, "sha256");
	assert_int_equal(e.digest_len, 32);
	assert_memory_equal(e.digest, dig, 32);
	assert_string_equal(e.name, "abc:/usr/lib/libc.so.6");
	assert_null(e.buf);
	assert_memory_equal(e.template_sha1, d.sha1, 20);
	assert_int_equal(tcl_log_entry_digests(&e, &d2), 0);
	assert_memory_equal(&d, &d2, sizeof(d));
	tcl_log_buf_free(&b);
	assert_null(b.p);
}

static void test_roundtrip_buf(void **state)
{
	static const char json[] = "{\"image\":\"reg/app@sha256:00\",\"verified\":true}";
	struct tcl_log_buf b = { 0 };
	struct tcl_log_digests d[2];
	struct tcl_log_entry e;
	uint8_t want[32];
	size_t n, first;

	assert_int_equal(tcl_log_encode_buf(&b, 13, "image_verify", json, strlen(json), &d[0]),
			 0);
	first = b.len;
	assert_int_equal(tcl_log_encode_buf(&b, 13, "agent_start", NULL, 0, &d[1]), 0);

	assert_int_equal(tcl_log_parse_entry(b.p, b.len, &e, &n, NULL), 0);
	assert_int_equal(n, first);
	assert_string_equal(e.template_name, "ima-buf");
	assert_string_equal(e.name, "image_verify");
	assert_int_equal(e.buf_len, strlen(json));
	assert_memory_equal(e.buf, json, strlen(json));
	sha(EVP_sha256(), json, strlen(json), want);
	assert_memory_equal(e.digest, want, 32);

	/* An empty buffer is still an ima-buf entry with an (empty) buf field. */
	assert_int_equal(tcl_log_parse_entry(b.p + first, b.len - first, &e, &n, NULL), 0);
	assert_int_equal(n, b.len - first);
	assert_string_equal(e.name, "agent_start");
	assert_non_null(e.buf);
	assert_int_equal(e.buf_len, 0);
	tcl_log_buf_free(&b);
}

/* The whole entry assembled by hand from its fields, and the digests from Python hashlib. */
static void test_known_answer(void **state)
{
	static const char name[] = "/usr/bin/true";
	uint8_t dig[32], want[256], sha1[20], kat[20], kat256[32];
	struct tcl_log_buf b = { 0 };
	struct tcl_log_digests d;
	size_t n = 0, data_at;

	for (int i = 0; i < 32; i++)
		dig[i] = i;
	le32(want, 10);
	n = 24;				/* template sha1 filled below */
	le32(want + n, 6);
	memcpy(want + n + 4, "ima-ng", 6);
	n += 10;
	le32(want + n, 4 + 40 + 4 + sizeof(name));
	n += 4;
	data_at = n;
	le32(want + n, 40);
	memcpy(want + n + 4, "sha256:", 8);
	memcpy(want + n + 12, dig, 32);
	n += 44;
	le32(want + n, sizeof(name));
	memcpy(want + n + 4, name, sizeof(name));
	n += 4 + sizeof(name);
	sha(EVP_sha1(), want + data_at, n - data_at, sha1);
	memcpy(want + 4, sha1, 20);

	unhex("fd40698858d9983431a4b261febc281d4e2fa076", kat, 20);
	unhex("b9dd3c053700d61c01ce4cfb31ef72322678df5432620d8c8c8d807e365c0901", kat256, 32);
	assert_memory_equal(sha1, kat, 20);

	assert_int_equal(tcl_log_encode_ng(&b, 10, dig, name, &d), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.p, want, n);
	assert_memory_equal(d.sha1, kat, 20);
	assert_memory_equal(d.sha256, kat256, 32);
	b.len = 0;

	/* ima-buf: d-ng of {"a":1}, n-ng policy_load, buf. */
	unhex("81fca97d644e24c4132d16ce5e330f0e94348521", kat, 20);
	assert_int_equal(tcl_log_encode_buf(&b, 10, "policy_load", "{\"a\":1}", 7, &d), 0);
	assert_memory_equal(d.sha1, kat, 20);
	assert_memory_equal(b.p + 4, kat, 20);
	tcl_log_buf_free(&b);
}

static void test_boot_aggregate(void **state)
{
	uint8_t pcrs[10][32], out[32], want[32], zero[32] = { 0 };

	for (int i = 0; i < 10; i++)
		memset(pcrs[i], i, 32);
	unhex("a4cc7213a98bc92e113dad44ef63113826a16c3a6ca551d2b76244a49ae043dd", want, 32);
	assert_int_equal(tcl_log_boot_aggregate((const uint8_t (*)[32])pcrs, out), 0);
	assert_memory_equal(out, want, 32);

	/* PCRs 8 and 9 count for the sha256 aggregate. */
	pcrs[9][0] ^= 1;
	assert_int_equal(tcl_log_boot_aggregate((const uint8_t (*)[32])pcrs, out), 0);
	assert_memory_not_equal(out, want, 32);

	memset(out, 0x55, 32);
	assert_int_equal(tcl_log_boot_aggregate(NULL, out), 0);
	assert_memory_equal(out, zero, 32);
}

static void test_encode_rejects(void **state)
{
	struct tcl_log_buf b = { 0 };
	uint8_t dig[32] = { 1 };
	char *name = malloc(TCL_LOG_NAME_MAX + 1);
	uint8_t *big = calloc(1, TCL_LOG_DATA_MAX);

	assert_non_null(name);
	assert_non_null(big);
	memset(name, 'a', TCL_LOG_NAME_MAX);
	name[TCL_LOG_NAME_MAX] = '\0';
	assert_int_equal(tcl_log_encode_ng(&b, 24, dig, "x", NULL), -EINVAL);
	assert_int_equal(tcl_log_encode_ng(&b, 13, dig, "", NULL), -EINVAL);
	assert_int_equal(tcl_log_encode_ng(&b, 13, dig, NULL, NULL), -EINVAL);
	assert_int_equal(tcl_log_encode_ng(&b, 13, dig, name, NULL), -EINVAL);
	name[TCL_LOG_NAME_MAX - 1] = '\0';	/* NAME_MAX with its NUL: the largest */
	assert_int_equal(tcl_log_encode_ng(&b, 13, dig, name, NULL), 0);
	assert_int_equal(tcl_log_encode_buf(&b, 13, "x", big, TCL_LOG_DATA_MAX, NULL), -EINVAL);
	assert_int_equal(tcl_log_encode_buf(&b, 13, "x", NULL, 3, NULL), -EINVAL);
	/* The largest buffer that fits is accepted and parses back. */
	size_t before = b.len, fit = TCL_LOG_DATA_MAX - (4 + 40 + 4 + 2 + 4);

	assert_int_equal(tcl_log_encode_buf(&b, 13, "x", big, fit + 1, NULL), -EINVAL);
	assert_int_equal(b.len, before);
	assert_int_equal(tcl_log_encode_buf(&b, 13, "x", big, fit, NULL), 0);
	assert_int_equal(tcl_log_foreach_buf(b.p, b.len, NULL, NULL, NULL), 0);
	tcl_log_buf_free(&b);
	free(name);
	free(big);
}

/* Every strict prefix of an entry is "incomplete", never "bad". */
static void test_parse_prefixes(void **state)
{
	struct tcl_log_buf b = { 0 };
	struct tcl_log_entry e;
	uint8_t dig[32] = { 3 };
	size_t n;

	assert_int_equal(tcl_log_encode_buf(&b, 13, "container_start", "{}", 2, NULL), 0);
	assert_int_equal(tcl_log_encode_ng(&b, 13, dig, "/bin/true", NULL), 0);
	for (size_t cut = 0; cut < b.len; cut++) {
		int err = tcl_log_parse_entry(b.p, cut, &e, &n, NULL);

		if (err == 0) {	/* the first entry is complete */
			assert_true(cut >= n);
			continue;
		}
		assert_int_equal(err, -ENODATA);
		assert_true(n > cut);
	}
	tcl_log_buf_free(&b);
}

static void expect_bad(const uint8_t *p, size_t len, const char *reason)
{
	struct tcl_log_entry e;
	const char *why = NULL;
	size_t n;

	assert_int_equal(tcl_log_parse_entry(p, len, &e, &n, &why), -EBADMSG);
	assert_non_null(why);
	assert_non_null(strstr(why, reason));
}

static void test_parse_rejects(void **state)
{
	struct tcl_log_buf b = { 0 };
	uint8_t dig[32] = { 9 }, *p, hdr[64] = { 0 };
	size_t name_len_at, data_at;

	assert_int_equal(tcl_log_encode_ng(&b, 13, dig, "/bin/sh", NULL), 0);
	p = malloc(b.len);
	assert_non_null(p);
	data_at = 4 + 20 + 4 + 6 + 4;
	name_len_at = data_at + 44;

#define MUTATE(stmt, reason) do {			\
		memcpy(p, b.p, b.len);			\
		stmt;					\
		expect_bad(p, b.len, reason);		\
	} while (0)

	MUTATE(le32(p, 24), "PCR index");
	MUTATE(le32(p + 24, 0), "template name length");
	MUTATE(le32(p + 24, 17), "template name length");
	MUTATE(memcpy(p + 28, "ima-sg", 6), "unsupported template");
	MUTATE(le32(p + 34, TCL_LOG_DATA_MAX + 1), "template data too long");
	MUTATE(le32(p + data_at, 1000), "d-ng field overruns");
	MUTATE(p[data_at + 4 + 6] = 'x', "prefix");
	MUTATE(memcpy(p + data_at + 4, "sha257", 6), "unknown hash algorithm");
	MUTATE(memcpy(p + data_at + 4, "sha1:\0", 6), "length does not match");
	MUTATE(le32(p + name_len_at, 1000), "n-ng field overruns");
	MUTATE(le32(p + name_len_at, 1), "empty or too long");
	MUTATE(p[b.len - 1] = 'x', "NUL-terminated");
	MUTATE(p[b.len - 3] = '\0', "NUL-terminated");
	MUTATE(p[data_at + 12] ^= 1, "template digest does not match");
	MUTATE(memset(p + 4, 0, 20), "zero template digest");

	/* Trailing bytes inside the template data (with a matching template hash). */
	uint8_t *q = calloc(1, b.len + 1);

	assert_non_null(q);
	memcpy(q, b.p, b.len);
	le32(q + 34, b.len + 1 - data_at);
	sha(EVP_sha1(), q + data_at, b.len + 1 - data_at, q + 4);
	expect_bad(q, b.len + 1, "trailing bytes");
	free(q);

	/* Bad lengths are rejected from the header alone, not awaited as "incomplete". */
	le32(hdr + 24, 7);
	memcpy(hdr + 28, "ima-buf", 7);
	le32(hdr + 35, 0xffffffff);
	expect_bad(hdr, 39, "template data too long");
	le32(hdr, 99);
	expect_bad(hdr, 4, "PCR index");
	free(p);
	tcl_log_buf_free(&b);

	/* ima-buf whose d-ng does not match its buffer, with a valid template hash. */
	struct tcl_log_entry e;
	uint8_t sha1[20];

	assert_int_equal(tcl_log_encode_buf(&b, 13, "policy_load", "{}", 2, NULL), 0);
	b.p[b.len - 1] = ']';
	assert_int_equal(tcl_log_parse_entry(b.p, b.len, &e, NULL, NULL), -EBADMSG);
	sha(EVP_sha1(), b.p + 4 + 20 + 4 + 7 + 4, b.len - (4 + 20 + 4 + 7 + 4), sha1);
	memcpy(b.p + 4, sha1, 20);
	expect_bad(b.p, b.len, "ima-buf digest does not match");
	tcl_log_buf_free(&b);
#undef MUTATE
}

static void test_format_ascii(void **state)
{
	struct tcl_log_buf b = { 0 };
	struct tcl_log_digests d;
	struct tcl_log_entry e;
	char *text = NULL, want[512], sha1[41];
	size_t n, tlen = 0;
	uint8_t dig[32];
	FILE *f;

	memset(dig, 0x11, 32);
	assert_int_equal(tcl_log_encode_ng(&b, 13, dig, "c1:/bin/a b\n\x1b[2J", &d), 0);
	assert_int_equal(tcl_log_parse_entry(b.p, b.len, &e, &n, NULL), 0);
	f = open_memstream(&text, &tlen);
	assert_non_null(f);
	assert_int_equal(tcl_log_format_ascii(&e, f), 0);
	b.len = 0;
	assert_int_equal(tcl_log_encode_buf(&b, 10, "policy_load", "{\"a\":1}", 7, NULL), 0);
	assert_int_equal(tcl_log_parse_entry(b.p, b.len, &e, &n, NULL), 0);
	assert_int_equal(tcl_log_format_ascii(&e, f), 0);
	fclose(f);

	for (int i = 0; i < 20; i++)
		sprintf(sha1 + 2 * i, "%02x", d.sha1[i]);
	snprintf(want, sizeof(want),
		 "13 %s ima-ng sha256:%s c1:/bin/a b\\x0a\\x1b[2J\n"
		 "10 81fca97d644e24c4132d16ce5e330f0e94348521 ima-buf sha256:"
		 "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862 policy_load "
		 "7b2261223a317d\n",
		 sha1, "1111111111111111111111111111111111111111111111111111111111111111");
	assert_string_equal(text, want);
	free(text);
	tcl_log_buf_free(&b);
}

/* ---- files ---- */

static void test_replay_three(void **state)
{
	struct tcl_log_digests d[3], od;
	struct tcl_log_buf b = { 0 };
	uint8_t p1[20] = { 0 }, p256[32] = { 0 }, dig[32] = { 7 };
	uint8_t p384[48] = { 0 }, p512[64] = { 0 };
	struct tcl_log_open_report r;
	struct tcl_log_pcr out;
	struct tcl_log *l;
	size_t offs[4];
	const char *path = tu_path("replay/sub/m.bin");

	three_entries(&b, offs, d);
	/* Another PCR's entry in between must not count. */
	assert_int_equal(tcl_log_encode_ng(&b, 11, dig, "/other", &od), 0);

	assert_int_equal(tcl_log_open(path, &l, &r), 0);
	assert_true(r.created);
	assert_int_equal(r.entries, 0);
	assert_int_equal(tcl_log_append(l, b.p, offs[2]), 0);
	assert_int_equal(tcl_log_append(l, b.p + offs[2], b.len - offs[2]), 0);
	assert_int_equal(tcl_log_count(l), 4);
	assert_int_equal(tcl_log_size(l), b.len);
	tcl_log_close(l);
	assert_int_equal(file_size(path), b.len);

	for (int i = 0; i < 3; i++) {
		struct tcl_log_entry e;
		uint8_t h1[20], h256[32], h384[48], h512[64];
		size_t n;

		/* Independent: hash the template data found by offset arithmetic. */
		assert_int_equal(tcl_log_parse_entry(b.p + offs[i], b.len - offs[i], &e, &n,
						     NULL), 0);
		sha(EVP_sha1(), e.data, e.data_len, h1);
		sha(EVP_sha256(), e.data, e.data_len, h256);
		/* every bank: that bank's hash of the template data, as IMA extends them */
		sha(EVP_sha384(), e.data, e.data_len, h384);
		sha(EVP_sha512(), e.data, e.data_len, h512);
		assert_memory_equal(h1, d[i].sha1, 20);
		assert_memory_equal(h256, d[i].sha256, 32);
		assert_memory_equal(h384, d[i].sha384, 48);
		assert_memory_equal(h512, d[i].sha512, 64);
		hand_extend(EVP_sha1(), p1, h1, 20);
		hand_extend(EVP_sha256(), p256, h256, 32);
		hand_extend(EVP_sha384(), p384, h384, 48);
		hand_extend(EVP_sha512(), p512, h512, 64);
	}
	assert_int_equal(tcl_log_replay(path, 13, &out), 0);
	assert_int_equal(out.entries, 3);
	assert_memory_equal(out.sha1, p1, 20);
	assert_memory_equal(out.sha256, p256, 32);
	assert_memory_equal(out.sha384, p384, 48);
	assert_memory_equal(out.sha512, p512, 64);
	assert_ptr_equal(tcl_log_pcr_value(&out, TCL_LOG_SHA384), out.sha384);

	assert_int_equal(tcl_log_replay(path, 11, &out), 0);
	assert_int_equal(out.entries, 1);
	memset(p256, 0, 32);
	hand_extend(EVP_sha256(), p256, od.sha256, 32);
	assert_memory_equal(out.sha256, p256, 32);

	assert_int_equal(tcl_log_replay(path, 24, &out), -EINVAL);
	char nope[300];

	snprintf(nope, sizeof(nope), "%s/nope.bin", tu_dir);
	assert_int_equal(tcl_log_replay(nope, 13, &out), -ENOENT);

	/* Reopen: nothing dropped, counts restored. */
	assert_int_equal(tcl_log_open(path, &l, &r), 0);
	assert_false(r.created);
	assert_int_equal(r.entries, 4);
	assert_int_equal(r.dropped, 0);
	assert_int_equal(r.size, b.len);
	tcl_log_close(l);
	tcl_log_buf_free(&b);
}

static void test_torn_tail(void **state)
{
	struct tcl_log_digests d[3];
	struct tcl_log_buf b = { 0 };
	struct tcl_log_open_report r;
	struct tcl_log_pcr full2, out;
	struct tcl_log *l;
	size_t offs[4];
	const char *path = tu_path("torn.bin");

	three_entries(&b, offs, d);
	memset(&full2, 0, sizeof(full2));
	assert_int_equal(tcl_log_pcr_extend(&full2, &d[0]), 0);
	assert_int_equal(tcl_log_pcr_extend(&full2, &d[1]), 0);

	for (size_t cut = offs[2]; cut < offs[3]; cut++) {
		write_file(path, b.p, cut);
		assert_int_equal(tcl_log_open(path, &l, &r), 0);
		assert_int_equal(r.dropped, cut - offs[2]);
		assert_int_equal(r.entries, 2);
		assert_int_equal(r.size, offs[2]);
		assert_int_equal(file_size(path), offs[2]);
		/* The reopened log takes new entries right after the prefix. */
		assert_int_equal(tcl_log_append(l, b.p + offs[2], offs[3] - offs[2]), 0);
		tcl_log_close(l);
		assert_int_equal(file_size(path), offs[3]);
		write_file(path, b.p, cut);
		assert_int_equal(tcl_log_open(path, &l, &r), 0);
		tcl_log_close(l);
		assert_int_equal(tcl_log_replay(path, 13, &out), 0);
		assert_int_equal(out.entries, 2);
		assert_memory_equal(out.sha256, full2.sha256, 32);
		assert_memory_equal(out.sha1, full2.sha1, 20);
	}

	/* Blocks allocated but never written before the crash read back as zeros. */
	uint8_t *z = calloc(1, offs[3] + 100000);

	assert_non_null(z);
	memcpy(z, b.p, offs[2]);
	write_file(path, z, offs[2] + 100000);
	assert_int_equal(tcl_log_open(path, &l, &r), 0);
	assert_int_equal(r.dropped, 100000);
	assert_int_equal(r.entries, 2);
	tcl_log_close(l);
	assert_int_equal(file_size(path), offs[2]);

	/* A reader of a live log sees the tail but does not fail on it. */
	struct tcl_log_scan sc;

	write_file(path, b.p, offs[3] - 1);
	assert_int_equal(tcl_log_foreach(path, NULL, NULL, &sc), 0);
	assert_int_equal(sc.entries, 2);
	assert_int_equal(sc.tail_len, offs[3] - 1 - offs[2]);
	assert_int_equal(file_size(path), offs[3] - 1);
	free(z);
	tcl_log_buf_free(&b);
}

static void test_corrupt_middle(void **state)
{
	struct tcl_log_digests d[3];
	struct tcl_log_buf b = { 0 };
	struct tcl_log_open_report r;
	struct tcl_log_scan sc;
	struct tcl_log *l = NULL;
	size_t offs[4];
	uint8_t *p;
	const char *path = tu_path("corrupt.bin");
	/* A byte in entry 1: its pcr, template hash, name length, template data. */
	const size_t where[] = { 0, 5, 24, 30, 40, 60 };

	three_entries(&b, offs, d);
	p = malloc(b.len);
	assert_non_null(p);
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		memcpy(p, b.p, b.len);
		p[offs[1] + where[i]] ^= 0x40;
		write_file(path, p, b.len);
		assert_int_equal(tcl_log_open(path, &l, &r), -EBADMSG);
		assert_null(l);
		assert_int_equal(r.bad_off, offs[1]);
		assert_int_equal(file_size(path), b.len);	/* never silently dropped */
		assert_int_equal(tcl_log_foreach(path, NULL, NULL, &sc), -EBADMSG);
		assert_int_equal(sc.bad_off, offs[1]);
		assert_int_equal(sc.entries, 1);
	}
	/* Corrupt last entry followed by nothing: still corrupt, not a torn tail. */
	memcpy(p, b.p, b.len);
	p[offs[2] + 50] ^= 1;
	write_file(path, p, b.len);
	assert_int_equal(tcl_log_open(path, &l, &r), -EBADMSG);
	assert_int_equal(r.bad_off, offs[2]);
	/* Zeros inside, data after: corrupt. */
	memcpy(p, b.p, b.len);
	memset(p + offs[1], 0, offs[2] - offs[1]);
	write_file(path, p, b.len);
	assert_int_equal(tcl_log_open(path, &l, &r), -EBADMSG);
	assert_int_equal(r.bad_off, offs[1]);
	free(p);
	tcl_log_buf_free(&b);
}

static void test_match_prefix(void **state)
{
	struct tcl_log_digests d[5], *rest;
	struct tcl_log_buf b = { 0 };
	struct tcl_log_pcr pcr;
	struct tcl_log *l;
	size_t matched, total, n_rest;
	uint8_t dig[32] = { 0 };
	char name[32];
	const char *path = tu_path("prefix.bin");

	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "c:/bin/%d", i);
		dig[0] = i;
		assert_int_equal(tcl_log_encode_ng(&b, 13, dig, name, &d[i]), 0);
		/* Other PCRs interleaved are not part of PCR 13's history. */
		assert_int_equal(tcl_log_encode_ng(&b, 12, dig, name, NULL), 0);
	}
	unlink(path);
	assert_int_equal(tcl_log_open(path, &l, NULL), 0);
	assert_int_equal(tcl_log_append(l, b.p, b.len), 0);
	tcl_log_close(l);

	/* "Crash" after k extends: PCR holds the replay of the first k entries. */
	for (size_t k = 0; k <= 5; k++) {
		memset(&pcr, 0, sizeof(pcr));
		for (size_t i = 0; i < k; i++)
			assert_int_equal(tcl_log_pcr_extend(&pcr, &d[i]), 0);
		for (int alg = TCL_LOG_SHA1; alg < TCL_LOG_NR_ALGS; alg++) {
			assert_int_equal(tcl_log_match_prefix(path, 13, alg,
							      tcl_log_pcr_value(&pcr, alg),
							      &matched, &total, &rest, &n_rest),
					 0);
			assert_int_equal(matched, k);
			assert_int_equal(total, 5);
			assert_int_equal(n_rest, 5 - k);
			if (k == 5)
				assert_null(rest);
			else
				assert_memory_equal(rest, &d[k], (5 - k) * sizeof(*rest));
			free(rest);
		}
	}

	/* Extending the rest lands on the full replay. */
	struct tcl_log_pcr full;

	assert_int_equal(tcl_log_replay(path, 13, &full), 0);
	memset(&pcr, 0, sizeof(pcr));
	assert_int_equal(tcl_log_pcr_extend(&pcr, &d[0]), 0);
	assert_int_equal(tcl_log_match_prefix(path, 13, TCL_LOG_SHA256, pcr.sha256, &matched,
					      &total, &rest, &n_rest), 0);
	for (size_t i = 0; i < n_rest; i++)
		assert_int_equal(tcl_log_pcr_extend(&pcr, &rest[i]), 0);
	free(rest);
	assert_memory_equal(pcr.sha256, full.sha256, 32);

	/* A PCR that no prefix explains: the log and the TPM disagree. */
	pcr.sha256[0] ^= 1;
	assert_int_equal(tcl_log_match_prefix(path, 13, TCL_LOG_SHA256, pcr.sha256, &matched,
					      &total, &rest, &n_rest), -ENOMSG);
	assert_null(rest);
	assert_int_equal(n_rest, 0);
	assert_int_equal(tcl_log_match_prefix(path, 13, 7, pcr.sha256, &matched, &total,
					      &rest, &n_rest), -EINVAL);
	/* one sha384 bank changed: that bank alone disagrees */
	memset(&pcr, 0, sizeof(pcr));
	for (int i = 0; i < 5; i++)
		assert_int_equal(tcl_log_pcr_extend(&pcr, &d[i]), 0);
	assert_int_equal(tcl_log_match_prefix(path, 13, TCL_LOG_SHA384, pcr.sha384, &matched,
					      &total, &rest, &n_rest), 0);
	assert_int_equal(matched, 5);
	pcr.sha384[47] ^= 1;
	assert_int_equal(tcl_log_match_prefix(path, 13, TCL_LOG_SHA384, pcr.sha384, &matched,
					      &total, &rest, &n_rest), -ENOMSG);
	assert_int_equal(tcl_log_match_prefix(path, 13, TCL_LOG_SHA512, pcr.sha512, &matched,
					      &total, &rest, &n_rest), 0);
	tcl_log_buf_free(&b);
}

static void test_append_rules(void **state)
{
	struct tcl_log_digests d[3];
	struct tcl_log_buf b = { 0 };
	struct tcl_log *l, *l2;
	size_t offs[4];
	const char *path = tu_path("append.bin");

	three_entries(&b, offs, d);
	unlink(path);
	assert_int_equal(tcl_log_open(path, &l, NULL), 0);
	/* One writer: a second open of the same log is refused. */
	assert_int_equal(tcl_log_open(path, &l2, NULL), -EBUSY);
	assert_null(l2);
	/* Half an entry, or garbage, never reaches the file. */
	assert_int_equal(tcl_log_append(l, b.p, offs[1] + 3), -EINVAL);
	b.p[offs[1] + 40] ^= 1;
	assert_int_equal(tcl_log_append(l, b.p, b.len), -EINVAL);
	b.p[offs[1] + 40] ^= 1;
	assert_int_equal(file_size(path), 0);
	assert_int_equal(tcl_log_append(l, b.p, 0), 0);
	assert_int_equal(tcl_log_append(l, b.p, b.len), 0);
	assert_int_equal(tcl_log_count(l), 3);
	tcl_log_close(l);
	assert_int_equal(file_size(path), b.len);

	/* Not a regular file. */
	assert_int_equal(tcl_log_open(tu_dir, &l, NULL), -EISDIR);
	tcl_log_buf_free(&b);
}

/* Entries larger than the reader's first chunk, whole and torn. */
static int count_big(const struct tcl_log_entry *e, uint64_t off, void *arg)
{
	size_t *big = arg;

	if (e->buf_len > 65536)
		*big += 1;
	return 0;
}

static void test_big_entries(void **state)
{
	size_t fit = TCL_LOG_DATA_MAX - (4 + 40 + 4 + 2 + 4), big = 0, first;
	struct tcl_log_buf b = { 0 };
	struct tcl_log_open_report r;
	struct tcl_log_scan sc;
	struct tcl_log *l;
	uint8_t *payload = malloc(fit), dig[32] = { 0 };
	const char *path = tu_path("big.bin");

	assert_non_null(payload);
	for (size_t i = 0; i < fit; i++)
		payload[i] = i * 31;
	assert_int_equal(tcl_log_encode_ng(&b, 13, dig, "/a", NULL), 0);
	assert_int_equal(tcl_log_encode_buf(&b, 13, "x", payload, fit, NULL), 0);
	first = b.len;
	assert_int_equal(tcl_log_encode_buf(&b, 13, "x", payload, 200000, NULL), 0);
	assert_int_equal(tcl_log_encode_ng(&b, 13, dig, "/b", NULL), 0);
	write_file(path, b.p, b.len);
	assert_int_equal(tcl_log_foreach(path, count_big, &big, &sc), 0);
	assert_int_equal(sc.entries, 4);
	assert_int_equal(big, 2);

	/* Torn in the middle of the 200 kB entry. */
	write_file(path, b.p, first + 150000);
	assert_int_equal(tcl_log_open(path, &l, &r), 0);
	assert_int_equal(r.entries, 2);
	assert_int_equal(r.dropped, 150000);
	tcl_log_close(l);
	free(payload);
	tcl_log_buf_free(&b);
}

static int stop_at_second(const struct tcl_log_entry *e, uint64_t off, void *arg)
{
	int *n = arg;

	return ++*n == 2 ? 42 : 0;
}

static void test_foreach_buf(void **state)
{
	struct tcl_log_digests d[3];
	struct tcl_log_buf b = { 0 };
	struct tcl_log_scan sc;
	size_t offs[4];
	int n = 0;

	three_entries(&b, offs, d);
	assert_int_equal(tcl_log_foreach_buf(b.p, b.len, stop_at_second, &n, &sc), 42);
	assert_int_equal(n, 2);
	assert_int_equal(tcl_log_foreach_buf(b.p, b.len - 1, NULL, NULL, &sc), 0);
	assert_int_equal(sc.entries, 2);
	assert_int_equal(sc.valid_len, offs[2]);
	assert_int_equal(sc.tail_len, offs[3] - 1 - offs[2]);
	assert_int_equal(tcl_log_foreach_buf(b.p, 0, NULL, NULL, &sc), 0);
	assert_int_equal(sc.entries, 0);
	tcl_log_buf_free(&b);
}

static void test_alg_names(void **state)
{
	static const struct { const char *n; size_t len; } want[TCL_LOG_NR_ALGS] = {
		{ "sha1", 20 }, { "sha256", 32 }, { "sha384", 48 }, { "sha512", 64 },
	};
	struct tcl_log_digests d;

	for (int a = 0; a < TCL_LOG_NR_ALGS; a++) {
		assert_string_equal(tcl_log_alg_name(a), want[a].n);
		assert_int_equal(tcl_log_alg_size(a), want[a].len);
		assert_int_equal(tcl_log_alg_from_name(want[a].n), a);
		assert_non_null(tcl_log_digest_of(&d, a));
	}
	assert_ptr_equal(tcl_log_digest_of(&d, TCL_LOG_SHA512), d.sha512);
	assert_null(tcl_log_alg_name(TCL_LOG_NR_ALGS));
	assert_int_equal(tcl_log_alg_size(TCL_LOG_NR_ALGS), 0);
	assert_null(tcl_log_digest_of(&d, TCL_LOG_NR_ALGS));
	assert_int_equal(tcl_log_alg_from_name("sm3_256"), -EINVAL);
	assert_int_equal(tcl_log_alg_from_name(NULL), -EINVAL);
}

static void test_pcrs_file(void **state)
{
	uint8_t v[TCL_LOG_NR_PCRS * TCL_LOG_DIGEST_MAX];
	char line[128], want[128];
	const char *path = tu_path("pcrs.sha256");
	FILE *f;
	int i = 0;

	for (size_t j = 0; j < sizeof(v); j++)
		v[j] = j;
	assert_int_equal(tcl_log_write_pcrs_file(path, TCL_LOG_SHA256, v), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		int n = snprintf(want, sizeof(want), "PCR-%02d: ", i);

		for (int k = 0; k < 32; k++)
			n += snprintf(want + n, sizeof(want) - n, "%02x", v[i * 32 + k]);
		snprintf(want + n, sizeof(want) - n, "\n");
		assert_string_equal(line, want);
		i++;
	}
	fclose(f);
	assert_int_equal(i, 24);
	assert_int_equal(tcl_log_write_pcrs_file(path, TCL_LOG_SHA1, v), 0);
	assert_int_equal(file_size(path), 24 * (8 + 40 + 1));
	assert_int_equal(tcl_log_write_pcrs_file(path, TCL_LOG_SHA384, v), 0);
	assert_int_equal(file_size(path), 24 * (8 + 96 + 1));
	assert_int_equal(tcl_log_write_pcrs_file(path, TCL_LOG_NR_ALGS, v), -EINVAL);
	assert_int_equal(tcl_log_write_pcrs_file(tu_path("no/such/dir/p"), TCL_LOG_SHA1, v),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_ng),
		cmocka_unit_test(test_alg_names),
		cmocka_unit_test(test_roundtrip_buf),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_boot_aggregate),
		cmocka_unit_test(test_encode_rejects),
		cmocka_unit_test(test_parse_prefixes),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_format_ascii),
		cmocka_unit_test(test_replay_three),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_corrupt_middle),
		cmocka_unit_test(test_match_prefix),
		cmocka_unit_test(test_append_rules),
		cmocka_unit_test(test_big_entries),
		cmocka_unit_test(test_foreach_buf),
		cmocka_unit_test(test_pcrs_file),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
