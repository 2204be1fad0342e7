// SPDX-License-Identifier: GPL-2.0
/*
 * Test driver for lib/log.c, used by tests/host/test_log_evmctl.sh:
 *   logtool build LOG PCRS_SHA256 PCRS_SHA1 PCR N_NG N_BUF   write a log + evmctl pcrs files
 *   logtool pcrs LOG PCR K PCRS_SHA256                  pcrs file for the first K entries
 *   logtool bank LOG PCR ALG PCRS                        pcrs file of bank ALG (sha1, sha256,
 *                                                        sha384, sha512) after the whole log
 *   logtool show LOG                                     ascii form, one line per entry
 *   logtool verify LOG                                   parse every entry; print the count
 *   logtool flip LOG N [reseal]                          flip a bit of entry N's d-ng digest;
 *                                                        reseal: fix its template SHA-1 too
 *   logtool aggregate                                    boot_aggregate of the fixed PCRs 0-9
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log.h"

static uint8_t boot_pcrs[10][32];

static void hex(const uint8_t *p, size_t n)
{
	while (n--)
		printf("%02x", *p++);
}

/* Stand-ins for firmware PCRs 0-9: fixed so the boot_aggregate is reproducible. */
static void fake_boot_pcrs(void)
{
	char s[16];
	int i;

	for (i = 0; i < 10; i++) {
		snprintf(s, sizeof(s), "pcr%d", i);
		EVP_Digest(s, strlen(s), boot_pcrs[i], NULL, EVP_sha256(), NULL);
	}
}

static int write_pcrs(const char *file, enum tcl_log_alg alg, uint32_t pcr,
		      const struct tcl_log_pcr *p)
{
	size_t dlen = tcl_log_alg_size(alg);
	uint8_t v[TCL_LOG_NR_PCRS * TCL_LOG_DIGEST_MAX] = { 0 };
	int i;

	/* evmctl ignores PCRs its replay left at zero; 0-9 are there for ima_boot_aggregate. */
	for (i = 0; i < 10 && alg == TCL_LOG_SHA256; i++)
		memcpy(v + i * dlen, boot_pcrs[i], dlen);
	memcpy(v + pcr * dlen, tcl_log_pcr_value(p, alg), dlen);
	return tcl_log_write_pcrs_file(file, alg, v);
}

/* bank LOG PCR ALG FILE: the replay of the whole log in one bank, as an evmctl pcrs file */
static int bank_pcrs(char **argv)
{
	uint32_t pcr = strtoul(argv[1], NULL, 0);
	int alg = tcl_log_alg_from_name(argv[2]);
	struct tcl_log_pcr p;
	int err;

	if (alg < 0)
		return alg;
	fake_boot_pcrs();
	err = tcl_log_replay(argv[0], pcr, &p);
	if (!err)
		err = write_pcrs(argv[3], alg, pcr, &p);
	return err;
}

static int build(char **argv)
{
	const char *path = argv[0];
	uint32_t pcr = strtoul(argv[3], NULL, 0);
	int n_ng = atoi(argv[4]), n_buf = atoi(argv[5]), i, err;
	struct tcl_log_open_report rep;
	struct tcl_log_buf b = { 0 };
	struct tcl_log *l = NULL;
	struct tcl_log_pcr p;
	uint8_t agg[32], d[32];
	char name[128], json[256];

	fake_boot_pcrs();
	unlink(path);
	err = tcl_log_open(path, &l, &rep);
	if (err)
		goto out;
	err = tcl_log_boot_aggregate(boot_pcrs, agg);
	if (!err)
		err = tcl_log_encode_ng(&b, pcr, agg, "boot_aggregate", NULL);
	for (i = 0; i < n_ng && !err; i++) {
		snprintf(name, sizeof(name), "%064x:/usr/bin/tool-%d", i % 3, i);
		EVP_Digest(name, strlen(name), d, NULL, EVP_sha256(), NULL);
		err = tcl_log_encode_ng(&b, pcr, d, name, NULL);
		/* Several batches, as the agent appends them. */
		if (!err && b.len > 8192) {
			err = tcl_log_append(l, b.p, b.len);
			b.len = 0;
		}
	}
	for (i = 0; i < n_buf && !err; i++) {
		snprintf(json, sizeof(json),
			 "{\"container_id\":\"%064x\",\"image\":\"reg/app:%d\"}", i, i);
		err = tcl_log_encode_buf(&b, pcr, "container_start", json, strlen(json), NULL);
	}
	if (!err)
		err = tcl_log_append(l, b.p, b.len);
	if (!err)
		err = tcl_log_replay(path, pcr, &p);
	if (!err)
		err = write_pcrs(argv[1], TCL_LOG_SHA256, pcr, &p);
	if (!err)
		err = write_pcrs(argv[2], TCL_LOG_SHA1, pcr, &p);
	if (!err) {
		printf("entries %zu sha256 ", p.entries);
		hex(p.sha256, 32);
		printf("\n");
	}
out:
	tcl_log_close(l);
	tcl_log_buf_free(&b);
	return err;
}

struct nth {
	size_t n, i;
	long off;		/* the digest byte to flip */
	long entry_off;
	size_t data_off;	/* template data, from the entry start */
	size_t data_len;
};

static int nth_cb(const struct tcl_log_entry *e, uint64_t off, void *arg)
{
	struct nth *t = arg;

	if (t->i++ != t->n)
		return 0;
	t->entry_off = off;
	t->data_off = 4 + 20 + 4 + strlen(e->template_name) + 4;
	t->data_len = e->data_len;
	t->off = off + t->data_off + (e->digest - e->data);
	return 1;
}

/* reseal: a forger who also fixes the template hash; only the PCR can catch that. */
static int flip(char **argv, int reseal)
{
	struct nth t = { .n = strtoul(argv[1], NULL, 0), .off = -1 };
	uint8_t c, sha1[20], *data = NULL;
	int fd, err = -EIO;

	tcl_log_foreach(argv[0], nth_cb, &t, NULL);
	if (t.off < 0)
		return -ENOENT;
	fd = open(argv[0], O_RDWR);
	if (fd < 0)
		return -errno;
	if (pread(fd, &c, 1, t.off) != 1)
		goto out;
	c ^= 1;
	if (pwrite(fd, &c, 1, t.off) != 1)
		goto out;
	if (reseal) {
		data = malloc(t.data_len);
		if (!data || pread(fd, data, t.data_len, t.entry_off + t.data_off) !=
			     (ssize_t)t.data_len)
			goto out;
		EVP_Digest(data, t.data_len, sha1, NULL, EVP_sha1(), NULL);
		if (pwrite(fd, sha1, 20, t.entry_off + 4) != 20)
			goto out;
	}
	err = 0;
	printf("flipped byte at offset %ld%s\n", t.off, reseal ? ", template hash resealed" : "");
out:
	free(data);
	close(fd);
	return err;
}

static int show_cb(const struct tcl_log_entry *e, uint64_t off, void *arg)
{
	return tcl_log_format_ascii(e, stdout);
}

static int prefix_pcrs(char **argv)
{
	uint32_t pcr = strtoul(argv[1], NULL, 0);
	size_t k = strtoul(argv[2], NULL, 0), matched, total, n_rest;
	struct tcl_log_digests *rest;
	struct tcl_log_pcr p = { .index = pcr };
	int err;

	/* Replay all, then the first total - k entries would be "rest" of a k-prefix. */
	fake_boot_pcrs();
	err = tcl_log_match_prefix(argv[0], pcr, TCL_LOG_SHA256, p.sha256, &matched, &total,
				   &rest, &n_rest);
	if (err)
		return err;
	if (k > total) {
		free(rest);
		return -EINVAL;
	}
	for (size_t i = 0; i < k && !err; i++)
		err = tcl_log_pcr_extend(&p, &rest[i]);
	free(rest);
	if (!err)
		err = write_pcrs(argv[3], TCL_LOG_SHA256, pcr, &p);
	return err;
}

int main(int argc, char **argv)
{
	struct tcl_log_scan s;
	uint8_t agg[32];
	int err = -EINVAL;

	if (argc == 8 && !strcmp(argv[1], "build"))
		err = build(argv + 2);
	else if (argc == 3 && !strcmp(argv[1], "show"))
		err = tcl_log_foreach(argv[2], show_cb, NULL, NULL);
	else if (argc == 3 && !strcmp(argv[1], "verify")) {
		err = tcl_log_foreach(argv[2], NULL, NULL, &s);
		if (!err)
			printf("%zu entries, %llu bytes, tail %llu\n", s.entries,
			       (unsigned long long)s.valid_len, (unsigned long long)s.tail_len);
	} else if ((argc == 4 || argc == 5) && !strcmp(argv[1], "flip"))
		err = flip(argv + 2, argc == 5 && !strcmp(argv[4], "reseal"));
	else if (argc == 6 && !strcmp(argv[1], "pcrs"))
		err = prefix_pcrs(argv + 2);
	else if (argc == 6 && !strcmp(argv[1], "bank"))
		err = bank_pcrs(argv + 2);
	else if (argc == 2 && !strcmp(argv[1], "aggregate")) {
		fake_boot_pcrs();
		err = tcl_log_boot_aggregate(boot_pcrs, agg);
		printf("sha256:");
		hex(agg, 32);
		printf("\n");
	} else
		fprintf(stderr, "usage: see the comment at the top of tests/host/logtool.c\n");
	if (err)
		fprintf(stderr, "logtool: %s\n", strerror(-err));
	return err ? 1 : 0;
}
