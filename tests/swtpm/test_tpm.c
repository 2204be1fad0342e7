// SPDX-License-Identifier: GPL-2.0
/* lib/tpm.c against a real swtpm (started by tests/swtpm/run.sh).
 * Environment: TCL_TEST_TCTI (e.g. swtpm:host=127.0.0.1,port=P), TCL_TEST_DIR (scratch). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "tpm.h"

#define PCR 13

static const char *tcti;
static const char *dir;
static struct tcl_tpm *tpm;
static struct tcl_tpm_ak ak;

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* new = H(old || d), in software. */
static void sw_extend(const char *md, uint8_t *pcr, const uint8_t *d, size_t len)
{
	uint8_t buf[2 * TCL_TPM_MAX_DIGEST];
	unsigned int ol;

	memcpy(buf, pcr, len);
	memcpy(buf + len, d, len);
	assert_int_equal(EVP_Digest(buf, 2 * len, pcr, &ol, EVP_get_digestbyname(md), NULL), 1);
	assert_int_equal(ol, len);
}

static void fill(struct tcl_tpm_digests *d, const uint8_t *s1, const uint8_t *s256)
{
	memset(d, 0, sizeof(*d));
	assert_int_equal(tcl_tpm_digests_add(d, TCL_TPM_ALG_SHA1, s1), 0);
	assert_int_equal(tcl_tpm_digests_add(d, TCL_TPM_ALG_SHA256, s256), 0);
	assert_int_equal(d->n, 2);
}

static void read13(uint8_t s1[20], uint8_t s256[32])
{
	size_t l = 20;

	assert_int_equal(tcl_tpm_pcr_read(tpm, PCR, TCL_TPM_ALG_SHA1, s1, &l), 0);
	assert_int_equal(l, 20);
	l = 32;
	assert_int_equal(tcl_tpm_pcr_read(tpm, PCR, TCL_TPM_ALG_SHA256, s256, &l), 0);
	assert_int_equal(l, 32);
}

static void test_bad_tcti(void **state)
{
	struct tcl_tpm *t = (void *)1;

	assert_int_equal(tcl_tpm_open("nosuchtcti:foo", &t), -ENODEV);
	assert_null(t);
	/* A TCTI that loads but finds nothing listening. */
	assert_true(tcl_tpm_open("swtpm:host=127.0.0.1,port=1", &t) < 0);
	assert_null(t);
	assert_int_equal(tcl_tpm_open("none", &t), -ENODEV);
	tcl_tpm_close(NULL);
}

static void test_open_banks(void **state)
{
	uint16_t algs[TCL_TPM_MAX_BANKS];
	size_t n = TCL_TPM_MAX_BANKS;
	int has1 = 0, has256 = 0;

	assert_int_equal(tcl_tpm_open(tcti, &tpm), 0);
	assert_int_equal(tcl_tpm_banks(tpm, PCR, algs, &n), 0);
	for (size_t i = 0; i < n; i++) {
		has1 |= algs[i] == TCL_TPM_ALG_SHA1;
		has256 |= algs[i] == TCL_TPM_ALG_SHA256;
	}
	assert_true(has1 && has256);
	assert_int_equal(n, 2);
	n = 1;
	assert_int_equal(tcl_tpm_banks(tpm, PCR, algs, &n), -ENOSPC);
	assert_string_equal(tcl_tpm_alg_name(TCL_TPM_ALG_SHA256), "sha256");
	assert_int_equal(tcl_tpm_alg_size(TCL_TPM_ALG_SHA384), 48);
}

static void test_pcr_read(void **state)
{
	uint8_t vals[24 * 32], v[64];
	size_t dlen, l = 64;

	/* boot_aggregate PCRs and a whole bank need more than one PCR_Read (8 per call). */
	memset(vals, 0xee, sizeof(vals));
	assert_int_equal(tcl_tpm_pcr_read_many(tpm, TCL_TPM_ALG_SHA256, 0x3ff, vals, 10 * 32,
					       &dlen), 0);
	assert_int_equal(dlen, 32);
	assert_int_equal(vals[10 * 32], 0xee);
	assert_int_equal(tcl_tpm_pcr_read(tpm, 9, TCL_TPM_ALG_SHA256, v, &l), 0);
	assert_memory_equal(v, vals + 9 * 32, 32);
	assert_int_equal(tcl_tpm_pcr_read_many(tpm, TCL_TPM_ALG_SHA1, 0xffffff, vals, 24 * 20,
					       &dlen), 0);
	assert_int_equal(dlen, 20);
	l = 64;
	assert_int_equal(tcl_tpm_pcr_read(tpm, PCR, TCL_TPM_ALG_SHA1, v, &l), 0);
	assert_memory_equal(v, vals + PCR * 20, 20);
	assert_int_equal(tcl_tpm_pcr_read_many(tpm, TCL_TPM_ALG_SHA1, 0xffffff, vals, 24 * 20 - 1,
					       &dlen), -ENOSPC);
	assert_int_equal(tcl_tpm_pcr_read(tpm, 30, TCL_TPM_ALG_SHA256, v, &l), -EINVAL);
	l = 64;
	assert_int_equal(tcl_tpm_pcr_read(tpm, PCR, TCL_TPM_ALG_SHA384, v, &l), -ENOENT);
	l = 8;
	assert_int_equal(tcl_tpm_pcr_read(tpm, PCR, TCL_TPM_ALG_SHA256, v, &l), -ENOSPC);
}

static void test_extend_known(void **state)
{
	uint8_t e1[20], e256[32], g1[20], g256[32], d1[20], d256[32];
	struct tcl_tpm_digests d;

	/* Digests of "tcl" so the expected values can be checked by hand with sha1sum. */
	EVP_Digest("tcl", 3, d1, NULL, EVP_sha1(), NULL);
	EVP_Digest("tcl", 3, d256, NULL, EVP_sha256(), NULL);
	read13(e1, e256);
	sw_extend("sha1", e1, d1, 20);
	sw_extend("sha256", e256, d256, 32);
	fill(&d, d1, d256);
	assert_int_equal(tcl_tpm_extend(tpm, PCR, &d), 0);
	read13(g1, g256);
	assert_memory_equal(g1, e1, 20);
	assert_memory_equal(g256, e256, 32);

	/* A digest for an unallocated bank is ignored; both banks still move. */
	d.n = 3;
	d.v[2].alg = TCL_TPM_ALG_SHA384;
	memset(d.v[2].d, 0xaa, 48);
	sw_extend("sha1", e1, d1, 20);
	sw_extend("sha256", e256, d256, 32);
	assert_int_equal(tcl_tpm_extend(tpm, PCR, &d), 0);
	read13(g1, g256);
	assert_memory_equal(g1, e1, 20);
	assert_memory_equal(g256, e256, 32);
}

static void test_extend_refuses_missing_bank(void **state)
{
	uint8_t b1[20], b256[32], a1[20], a256[32];
	struct tcl_tpm_digests d[2];
	size_t done = 99;

	read13(b1, b256);
	memset(d, 0, sizeof(d));
	d[0].n = 1;
	d[0].v[0].alg = TCL_TPM_ALG_SHA256;
	assert_int_equal(tcl_tpm_extend(tpm, PCR, &d[0]), -EOPNOTSUPP);
	/* A bad entry late in a batch stops the whole batch before the first extend. */
	fill(&d[0], b1, b256);
	d[1] = d[0];
	d[1].n = 1;
	assert_int_equal(tcl_tpm_extend_batch(tpm, PCR, d, 2, &done), -EOPNOTSUPP);
	assert_int_equal(done, 0);
	d[1] = d[0];
	d[1].v[1].alg = TCL_TPM_ALG_SHA1;	/* two sha1 digests */
	assert_int_equal(tcl_tpm_extend_batch(tpm, PCR, d, 2, &done), -EINVAL);
	assert_int_equal(tcl_tpm_extend(tpm, 24, &d[0]), -EINVAL);
	read13(a1, a256);
	assert_memory_equal(a1, b1, 20);
	assert_memory_equal(a256, b256, 32);
}

static void test_extend_batch(void **state)
{
	enum { N = 1000 };
	struct tcl_tpm_digests *d = calloc(N, sizeof(*d));
	uint8_t e1[20], e256[32], g1[20], g256[32];
	size_t done = 0;
	double t0, t1;

	assert_non_null(d);
	read13(e1, e256);
	for (int i = 0; i < N; i++) {
		uint8_t r1[20], r256[32];

		assert_int_equal(RAND_bytes(r1, 20), 1);
		assert_int_equal(RAND_bytes(r256, 32), 1);
		fill(&d[i], r1, r256);
		sw_extend("sha1", e1, r1, 20);
		sw_extend("sha256", e256, r256, 32);
	}
	t0 = now();
	assert_int_equal(tcl_tpm_extend_batch(tpm, PCR, d, N, &done), 0);
	t1 = now();
	assert_int_equal(done, N);
	read13(g1, g256);
	assert_memory_equal(g1, e1, 20);
	assert_memory_equal(g256, e256, 32);
	printf("bench: batch of %d extends (sha1+sha256) in %.3f s = %.0f extends/s\n", N,
	       t1 - t0, N / (t1 - t0));

	/* The same one call per entry, for comparison. */
	t0 = now();
	for (int i = 0; i < 200; i++)
		assert_int_equal(tcl_tpm_extend(tpm, PCR, &d[i]), 0);
	t1 = now();
	printf("bench: 200 single tcl_tpm_extend calls in %.3f s = %.0f extends/s\n", t1 - t0,
	       200 / (t1 - t0));
	free(d);
}

static void test_quote_needs_ak(void **state)
{
	struct tcl_tpm_quote *q = malloc(sizeof(*q));
	struct tcl_tpm *t;
	char *pem = (char *)1;

	assert_int_equal(tcl_tpm_open(tcti, &t), 0);
	assert_int_equal(tcl_tpm_quote(t, NULL, 0, TCL_TPM_ALG_SHA256, 1u << PCR, q), -ENOKEY);
	assert_int_equal(tcl_tpm_ak_public_pem(t, &pem), -ENOKEY);
	assert_null(pem);
	tcl_tpm_close(t);
	free(q);
}

static void test_ak_ensure(void **state)
{
	struct tcl_tpm_ak again, other;
	uint8_t name[TCL_TPM_NAME_MAX];
	size_t nl = sizeof(name);
	struct tcl_tpm *t;

	assert_int_equal(tcl_tpm_ak_ensure(tpm, 0, &ak), 0);
	printf("AK at 0x%08x %s\n", ak.handle, ak.created ? "created" : "loaded");
	assert_int_equal(ak.handle, TCL_TPM_AK_HANDLE);
	assert_int_equal(tcl_tpm_ak_ensure(tpm, 0, &again), 0);
	assert_int_equal(again.created, 0);
	assert_int_equal(again.pub_len, ak.pub_len);
	assert_memory_equal(again.pub, ak.pub, ak.pub_len);
	assert_int_equal(again.name_len, ak.name_len);
	assert_memory_equal(again.name, ak.name, ak.name_len);

	/* Another connection (a restarted agent) loads the same key. */
	assert_int_equal(tcl_tpm_open(tcti, &t), 0);
	assert_int_equal(tcl_tpm_ak_ensure(t, TCL_TPM_AK_HANDLE, &again), 0);
	assert_int_equal(again.created, 0);
	assert_memory_equal(again.pub, ak.pub, ak.pub_len);
	tcl_tpm_close(t);

	/* The attestor's view of the public area: an AK, and the name the TPM reports. */
	assert_int_equal(tcl_tpm_ak_check_sw(ak.pub, ak.pub_len, name, &nl), 0);
	assert_int_equal(nl, ak.name_len);
	assert_memory_equal(name, ak.name, nl);

	/* swtpm_setup left the EK (a decryption key) at 0x81010001: not an AK. */
	assert_int_equal(tcl_tpm_ak_ensure(tpm, 0x81010001, &other), -EEXIST);
	assert_int_equal(tcl_tpm_ak_ensure(tpm, 0x01000000, &other), -EINVAL);
	/* A failed ensure keeps the AK in use. */
	{
		char *pem = NULL;

		assert_int_equal(tcl_tpm_ak_public_pem(tpm, &pem), 0);
		free(pem);
	}
}

static void test_ek(void **state)
{
	uint8_t ek[TCL_TPM_PUB_MAX], name[TCL_TPM_NAME_MAX], *der = NULL;
	size_t ek_len = sizeof(ek), der_len = 0, nl = sizeof(name);
	char *pem = NULL;
	FILE *f;
	char path[512];

	assert_int_equal(tcl_tpm_ek_public(tpm, ek, &ek_len), 0);
	assert_int_equal(tcl_tpm_pub_pem_sw(ek, ek_len, &pem), 0);
	assert_non_null(strstr(pem, "BEGIN PUBLIC KEY"));
	free(pem);
	/* The EK is a decryption key, not an AK. */
	assert_int_equal(tcl_tpm_ak_check_sw(ek, ek_len, name, &nl), -EKEYREJECTED);

	assert_int_equal(tcl_tpm_ek_cert(tpm, &der, &der_len), 0);
	assert_true(der_len > 500);
	/* swtpm's local CA certified the EK made from the TCG default template. */
	assert_int_equal(tcl_tpm_ek_cert_match_sw(der, der_len, ek, ek_len), 0);
	assert_int_equal(tcl_tpm_ek_cert_match_sw(der, der_len, ak.pub, ak.pub_len),
			 -EKEYREJECTED);
	snprintf(path, sizeof(path), "%s/ek.crt", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(der, 1, der_len, f), der_len);
	fclose(f);
	free(der);
	assert_int_equal(tcl_tpm_ek_public(tpm, ek, &(size_t){ 10 }), -ENOSPC);
}

static void quote_values(const struct tcl_tpm_quote *q, uint8_t *out, size_t *len)
{
	memcpy(out, q->values, q->values_len);
	*len = q->values_len;
}

static void test_quote_checkquote(void **state)
{
	struct tcl_tpm_quote *q = malloc(sizeof(*q));
	uint8_t nonce[32], vals[TCL_TPM_NUM_PCRS * TCL_TPM_MAX_DIGEST];
	char nhex[65], bad[65], *pem = NULL, qdir[512], path[600];
	uint32_t mask = 0x3ff | 1u << PCR;
	size_t vl;
	FILE *f;

	assert_int_equal(RAND_bytes(nonce, sizeof(nonce)), 1);
	hex(nonce, sizeof(nonce), nhex);
	assert_int_equal(tcl_tpm_quote(tpm, nonce, sizeof(nonce), TCL_TPM_ALG_SHA256, mask, q),
			 0);
	assert_int_equal(q->digest_len, 32);
	assert_true(q->attest_len > 0 && q->sig_len > 0 && q->pcrs_file_len > 0);
	assert_int_equal(tcl_tpm_ak_public_pem(tpm, &pem), 0);
	snprintf(qdir, sizeof(qdir), "%s/quote", dir);
	assert_int_equal(tcl_tpm_quote_write_dir(q, pem, qdir), 0);
	snprintf(path, sizeof(path), "%s/nonce.hex", qdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", nhex);
	fclose(f);

	assert_int_equal(sh("tpm2_checkquote -u %s/ak.pub.pem -m %s/quote.msg -s %s/quote.sig "
			    "-f %s/quote.pcrs -g sha256 -q %s >/dev/null", qdir, qdir, qdir, qdir,
			    nhex), 0);
	memcpy(bad, nhex, sizeof(bad));
	bad[0] = bad[0] == '0' ? '1' : '0';
	assert_int_not_equal(sh("tpm2_checkquote -u %s/ak.pub.pem -m %s/quote.msg -s %s/quote.sig "
				"-f %s/quote.pcrs -g sha256 -q %s >/dev/null 2>&1", qdir, qdir,
				qdir, qdir, bad), 0);

	/* The PCR values in the quote are the live ones; run.sh checks that tpm2_checkquote
	 * reads the same PCR 13 value out of quote.pcrs. */
	{
		uint8_t v[32];
		char vh[65];
		size_t l = 32;

		assert_int_equal(tcl_tpm_pcr_read(tpm, PCR, TCL_TPM_ALG_SHA256, v, &l), 0);
		/* PCR 13 is the last of the 11 selected */
		assert_memory_equal(v, q->values + 10 * 32, 32);
		hex(v, 32, vh);
		snprintf(path, sizeof(path), "%s/pcr13.hex", qdir);
		f = fopen(path, "w");
		assert_non_null(f);
		fprintf(f, "%s\n", vh);
		fclose(f);
	}
	quote_values(q, vals, &vl);
	assert_int_equal(vl, 11 * 32);
	assert_int_equal(tcl_tpm_quote(tpm, vals, 65, TCL_TPM_ALG_SHA256, mask, q), -EINVAL);
	assert_int_equal(tcl_tpm_quote(tpm, nonce, 32, TCL_TPM_ALG_SHA256, 0, q), -EINVAL);
	free(pem);
	free(q);
}

/* tcl_tpm_verify_quote_sw on @q with the given expectations. */
static int vq(const char *pem, const struct tcl_tpm_quote *q, const uint8_t *nonce, size_t nl,
	      uint16_t bank, uint32_t mask, const uint8_t *vals, size_t vl)
{
	return tcl_tpm_verify_quote_sw(pem, q->attest, q->attest_len, q->sig, q->sig_len, nonce,
				       nl, bank, mask, vals, vl, NULL);
}

static void test_verify_quote_sw(void **state)
{
	struct tcl_tpm_quote *q = malloc(sizeof(*q));
	uint8_t nonce[20], vals[TCL_TPM_NUM_PCRS * TCL_TPM_MAX_DIGEST];
	uint32_t mask = 0x3ff | 1u << PCR;
	const uint16_t b256 = TCL_TPM_ALG_SHA256;
	struct tcl_tpm_quote_info info = { 0 };
	char *pem = NULL;
	size_t vl;

	assert_int_equal(RAND_bytes(nonce, sizeof(nonce)), 1);
	assert_int_equal(tcl_tpm_quote(tpm, nonce, sizeof(nonce), b256, mask, q), 0);
	assert_int_equal(tcl_tpm_ak_public_pem(tpm, &pem), 0);
	quote_values(q, vals, &vl);

	assert_int_equal(tcl_tpm_verify_quote_sw(pem, q->attest, q->attest_len, q->sig,
						 q->sig_len, nonce, sizeof(nonce), b256, mask,
						 vals, vl, &info), 0);
	assert_true(info.clock > 0);
	/* wrong nonce, or a prefix of it */
	nonce[3] ^= 1;
	assert_int_equal(vq(pem, q, nonce, sizeof(nonce), b256, mask, vals, vl), -ESTALE);
	nonce[3] ^= 1;
	assert_int_equal(vq(pem, q, nonce, 10, b256, mask, vals, vl), -ESTALE);
	/* flipped signature byte */
	q->sig[q->sig_len - 7] ^= 0x40;
	assert_int_equal(vq(pem, q, nonce, sizeof(nonce), b256, mask, vals, vl), -EKEYREJECTED);
	q->sig[q->sig_len - 7] ^= 0x40;
	/* flipped attestation byte: the signature no longer covers it */
	q->attest[q->attest_len - 1] ^= 1;
	assert_int_equal(vq(pem, q, nonce, sizeof(nonce), b256, mask, vals, vl), -EKEYREJECTED);
	q->attest[q->attest_len - 1] ^= 1;
	/* wrong PCR value: digest mismatch */
	vals[vl - 1] ^= 1;
	assert_int_equal(vq(pem, q, nonce, sizeof(nonce), b256, mask, vals, vl), -EILSEQ);
	vals[vl - 1] ^= 1;
	/* a different selection than the one asked for, too few values, another bank */
	assert_int_equal(vq(pem, q, nonce, sizeof(nonce), b256, 1u << PCR, vals + vl - 32, 32),
			 -EILSEQ);
	assert_int_equal(vq(pem, q, nonce, sizeof(nonce), b256, mask, vals, vl - 32), -EILSEQ);
	assert_int_equal(vq(pem, q, nonce, sizeof(nonce), TCL_TPM_ALG_SHA1, mask, vals, vl),
			 -EILSEQ);
	/* garbage */
	assert_int_equal(tcl_tpm_verify_quote_sw(pem, q->attest, 10, q->sig, q->sig_len, nonce,
						 sizeof(nonce), b256, mask, vals, vl, NULL),
			 -EBADMSG);
	assert_int_equal(tcl_tpm_verify_quote_sw(pem, q->attest, q->attest_len, q->sig, 3,
						 nonce, sizeof(nonce), b256, mask, vals, vl,
						 NULL), -EBADMSG);
	assert_int_equal(vq("not a key", q, nonce, sizeof(nonce), b256, mask, vals, vl),
			 -EINVAL);
	/* a quote checked against another key (the EK here) */
	{
		uint8_t ek[TCL_TPM_PUB_MAX];
		size_t el = sizeof(ek);
		char *ekpem = NULL;

		assert_int_equal(tcl_tpm_ek_public(tpm, ek, &el), 0);
		assert_int_equal(tcl_tpm_pub_pem_sw(ek, el, &ekpem), 0);
		assert_int_equal(vq(ekpem, q, nonce, sizeof(nonce), b256, mask, vals, vl),
				 -EKEYREJECTED);
		free(ekpem);
	}
	free(pem);
	free(q);
}

static void test_credential(void **state)
{
	uint8_t ek[TCL_TPM_PUB_MAX], blob[TCL_TPM_CRED_BLOB_MAX], enc[TCL_TPM_CRED_SECRET_MAX];
	uint8_t secret[32], out[64], name[TCL_TPM_NAME_MAX];
	size_t el = sizeof(ek), bl = sizeof(blob), encl = sizeof(enc), ol = sizeof(out);

	assert_int_equal(tcl_tpm_ek_public(tpm, ek, &el), 0);
	assert_int_equal(RAND_bytes(secret, sizeof(secret)), 1);
	assert_int_equal(tcl_tpm_make_credential_sw(ek, el, ak.name, ak.name_len, secret,
						    sizeof(secret), blob, &bl, enc, &encl), 0);
	assert_int_equal(encl, 2 + 256);
	assert_int_equal(tcl_tpm_activate_credential(tpm, blob, bl, enc, encl, out, &ol), 0);
	assert_int_equal(ol, sizeof(secret));
	assert_memory_equal(out, secret, sizeof(secret));

	/* Made for another key name: the TPM refuses (integrity check fails). */
	memcpy(name, ak.name, ak.name_len);
	name[ak.name_len - 1] ^= 1;
	bl = sizeof(blob);
	encl = sizeof(enc);
	assert_int_equal(tcl_tpm_make_credential_sw(ek, el, name, ak.name_len, secret,
						    sizeof(secret), blob, &bl, enc, &encl), 0);
	ol = sizeof(out);
	assert_int_equal(tcl_tpm_activate_credential(tpm, blob, bl, enc, encl, out, &ol),
			 -EKEYREJECTED);
	assert_int_equal(tcl_tpm_activate_credential(tpm, blob, 3, enc, encl, out, &ol),
			 -EBADMSG);
	/* Bad arguments are refused before any crypto. */
	bl = sizeof(blob);
	encl = sizeof(enc);
	assert_int_equal(tcl_tpm_make_credential_sw(ek, el, ak.name, ak.name_len, secret, 33,
						    blob, &bl, enc, &encl), -EINVAL);
	assert_int_equal(tcl_tpm_make_credential_sw(ak.pub, ak.pub_len, ak.name, ak.name_len,
						    secret, 16, blob, &bl, enc, &encl),
			 -EOPNOTSUPP);
}

/* tpm2_makecredential --tcti none writes BADCC0DE | 1 | TPM2B_ID_OBJECT |
 * TPM2B_ENCRYPTED_SECRET: what it makes, we activate. */
static void test_credential_tpm2_tools(void **state)
{
	uint8_t ek[TCL_TPM_PUB_MAX], secret[24], out[64], file[1024];
	size_t el = sizeof(ek), ol = sizeof(out), n, blen;
	char nhex[2 * TCL_TPM_NAME_MAX + 1], path[600];
	FILE *f;

	assert_int_equal(tcl_tpm_ek_public(tpm, ek, &el), 0);
	assert_int_equal(RAND_bytes(secret, sizeof(secret)), 1);
	snprintf(path, sizeof(path), "%s/ek.pub", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(ek, 1, el, f), el);
	fclose(f);
	snprintf(path, sizeof(path), "%s/secret.bin", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(secret, 1, sizeof(secret), f), sizeof(secret));
	fclose(f);
	hex(ak.name, ak.name_len, nhex);
	assert_int_equal(sh("tpm2_makecredential --tcti none -u %s/ek.pub -s %s/secret.bin "
			    "-n %s -o %s/cred.out >/dev/null", dir, dir, nhex, dir), 0);
	snprintf(path, sizeof(path), "%s/cred.out", dir);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(file, 1, sizeof(file), f);
	fclose(f);
	assert_true(n > 12);
	assert_memory_equal(file, "\xba\xdc\xc0\xde\x00\x00\x00\x01", 8);
	blen = 2 + (file[8] << 8 | file[9]);
	assert_true(8 + blen < n);
	assert_int_equal(tcl_tpm_activate_credential(tpm, file + 8, blen, file + 8 + blen,
						     n - 8 - blen, out, &ol), 0);
	assert_int_equal(ol, sizeof(secret));
	assert_memory_equal(out, secret, sizeof(secret));
}

static void test_close(void **state)
{
	tcl_tpm_close(tpm);
	tpm = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_tcti),
		cmocka_unit_test(test_open_banks),
		cmocka_unit_test(test_pcr_read),
		cmocka_unit_test(test_extend_known),
		cmocka_unit_test(test_extend_refuses_missing_bank),
		cmocka_unit_test(test_extend_batch),
		cmocka_unit_test(test_quote_needs_ak),
		cmocka_unit_test(test_ak_ensure),
		cmocka_unit_test(test_ek),
		cmocka_unit_test(test_quote_checkquote),
		cmocka_unit_test(test_verify_quote_sw),
		cmocka_unit_test(test_credential),
		cmocka_unit_test(test_credential_tpm2_tools),
		cmocka_unit_test(test_close),
	};

	tcti = getenv("TCL_TEST_TCTI");
	dir = getenv("TCL_TEST_DIR");
	if (!tcti || !dir) {
		fprintf(stderr, "set TCL_TEST_TCTI and TCL_TEST_DIR (tests/swtpm/run.sh does)\n");
		return 2;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
