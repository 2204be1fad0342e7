// SPDX-License-Identifier: GPL-2.0
/* TPM 2.0 through libtss2 ESYS, and the verifier's side of it in software (OpenSSL).
 * Models: tpm2-tools (tpm2_createek, tpm2_createak, tpm2_quote, tpm2_checkquote,
 * tpm2_makecredential) and systemd's tpm2-util.c. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "diag.h"
#include "tpm.h"

#define SUB "tpm"

struct tcl_tpm {
	pthread_mutex_t lock;
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	TPML_PCR_SELECTION banks;	/* allocation only changes across a TPM reset */
	ESYS_TR ak;
	TPM2B_PUBLIC ak_pub;
};

static const struct {
	uint16_t alg;
	const char *name;
	size_t size;
} algs[] = {
	{ TPM2_ALG_SHA1, "sha1", 20 },
	{ TPM2_ALG_SHA256, "sha256", 32 },
	{ TPM2_ALG_SHA384, "sha384", 48 },
	{ TPM2_ALG_SHA512, "sha512", 64 },
	{ TPM2_ALG_SM3_256, "sm3", 32 },
	{ TPM2_ALG_SHA3_256, "sha3-256", 32 },
	{ TPM2_ALG_SHA3_384, "sha3-384", 48 },
	{ TPM2_ALG_SHA3_512, "sha3-512", 64 },
};

/* TCG EK Credential Profile, template L-1: PolicySecret(TPM_RH_ENDORSEMENT), SHA-256. */
static const uint8_t policy_a_sha256[32] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7,
	0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14,
	0x69, 0xaa,
};

#define AK_ATTRS_REQUIRED (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT | \
			   TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
			   TPMA_OBJECT_SENSITIVEDATAORIGIN)

const char *tcl_tpm_alg_name(uint16_t alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return algs[i].name;
	return NULL;
}

size_t tcl_tpm_alg_size(uint16_t alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return algs[i].size;
	return 0;
}

static const char *alg_str(uint16_t alg)
{
	const char *n = tcl_tpm_alg_name(alg);

	return n ? n : "unknown";
}

static const EVP_MD *alg_md(uint16_t alg)
{
	const char *n = tcl_tpm_alg_name(alg);

	return n ? EVP_get_digestbyname(n) : NULL;
}

/* Log @what with the decoded TSS2 return code; every ESYS/TCTI failure goes through here. */
static int tss_fail(const char *what, TSS2_RC rc)
{
	pr_err(SUB, "%s: %s (0x%x)", what, Tss2_RC_Decode(rc), rc);
	return -EIO;
}

static int ssl_fail(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "unknown error";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	pr_err(SUB, "%s: %s", what, buf);
	return -EIO;
}

static void flush(struct tcl_tpm *t, ESYS_TR *h)
{
	if (*h == ESYS_TR_NONE)
		return;
	Esys_FlushContext(t->esys, *h);
	*h = ESYS_TR_NONE;
}

/* ---------------------------------------------------------------- open / close */

int tcl_tpm_open(const char *tcti_conf, struct tcl_tpm **out)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	struct tcl_tpm *t;
	TSS2_RC rc;
	int err;

	*out = NULL;
	if (tcti_conf && !strcmp(tcti_conf, "none"))
		return -ENODEV;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	t->ak = ESYS_TR_NONE;

	rc = Tss2_TctiLdr_Initialize(tcti_conf, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		pr_err(SUB, "cannot open TCTI \"%s\": %s (0x%x)",
		       tcti_conf ? tcti_conf : "(default)", Tss2_RC_Decode(rc), rc);
		t->tcti = NULL;
		err = -ENODEV;
		goto fail;
	}
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		t->esys = NULL;
		err = tss_fail("Esys_Initialize", rc);
		goto fail;
	}
	/* The first command also proves the TPM answers at all. */
	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_PCRS,
				0, 1, &more, &cap);
	if (rc != TSS2_RC_SUCCESS) {
		err = tss_fail("GetCapability(PCRS)", rc);
		goto fail;
	}
	t->banks = cap->data.assignedPCR;
	free(cap);
	*out = t;
	return 0;
fail:
	tcl_tpm_close(t);
	return err;
}

void tcl_tpm_close(struct tcl_tpm *t)
{
	if (!t)
		return;
	if (t->esys) {
		if (t->ak != ESYS_TR_NONE)
			Esys_TR_Close(t->esys, &t->ak);
		Esys_Finalize(&t->esys);
	}
	if (t->tcti)
		Tss2_TctiLdr_Finalize(&t->tcti);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* ---------------------------------------------------------------- PCRs */

static bool bank_has_pcr(const TPMS_PCR_SELECTION *s, uint32_t pcr)
{
	return pcr < s->sizeofSelect * 8u && (s->pcrSelect[pcr / 8] & (1u << (pcr % 8)));
}

int tcl_tpm_banks(struct tcl_tpm *t, uint32_t pcr, uint16_t *out, size_t *n)
{
	size_t k = 0;
	int err = 0;

	pthread_mutex_lock(&t->lock);
	for (uint32_t i = 0; i < t->banks.count; i++) {
		if (!bank_has_pcr(&t->banks.pcrSelections[i], pcr))
			continue;
		if (k >= *n) {
			err = -ENOSPC;
			break;
		}
		out[k++] = t->banks.pcrSelections[i].hash;
	}
	pthread_mutex_unlock(&t->lock);
	*n = k;
	return err;
}

static void sel_init(TPML_PCR_SELECTION *sel, uint16_t alg, uint32_t mask)
{
	memset(sel, 0, sizeof(*sel));
	sel->count = 1;
	sel->pcrSelections[0].hash = alg;
	sel->pcrSelections[0].sizeofSelect = 3;
	sel->pcrSelections[0].pcrSelect[0] = mask & 0xff;
	sel->pcrSelections[0].pcrSelect[1] = (mask >> 8) & 0xff;
	sel->pcrSelections[0].pcrSelect[2] = (mask >> 16) & 0xff;
}

/* PCR_Read returns at most 8 digests per call: ask again for what is left. */
static int read_pcrs(struct tcl_tpm *t, uint16_t alg, uint32_t mask,
		     uint8_t vals[TCL_TPM_NUM_PCRS][TCL_TPM_MAX_DIGEST], size_t *dlen)
{
	size_t dsz = tcl_tpm_alg_size(alg);
	uint32_t left = mask;

	if (!dsz) {
		pr_err(SUB, "PCR read: unknown hash algorithm 0x%04x", alg);
		return -EINVAL;
	}
	if (!mask || mask >> TCL_TPM_NUM_PCRS) {
		pr_err(SUB, "PCR read: bad PCR mask 0x%x", mask);
		return -EINVAL;
	}
	while (left) {
		TPML_PCR_SELECTION sel, *osel = NULL;
		TPML_DIGEST *dig = NULL;
		uint32_t counter, got = 0, k = 0;
		TSS2_RC rc;
		int err = 0;

		sel_init(&sel, alg, left);
		rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel,
				   &counter, &osel, &dig);
		if (rc != TSS2_RC_SUCCESS)
			return tss_fail("PCR_Read", rc);
		for (uint32_t i = 0; i < osel->count && !err; i++) {
			const TPMS_PCR_SELECTION *s = &osel->pcrSelections[i];

			for (uint32_t p = 0; p < s->sizeofSelect * 8u && !err; p++) {
				if (!bank_has_pcr(s, p))
					continue;
				if (s->hash != alg || p >= TCL_TPM_NUM_PCRS || !(left >> p & 1) ||
				    k >= dig->count || dig->digests[k].size != dsz) {
					err = -EPROTO;
					break;
				}
				memcpy(vals[p], dig->digests[k++].buffer, dsz);
				got |= 1u << p;
			}
		}
		free(osel);
		free(dig);
		if (err) {
			pr_err(SUB, "PCR_Read: malformed response for bank %s", alg_str(alg));
			return err;
		}
		if (!got) {
			pr_err(SUB, "PCR(s) 0x%x not allocated in bank %s", left, alg_str(alg));
			return -ENOENT;
		}
		left &= ~got;
	}
	*dlen = dsz;
	return 0;
}

int tcl_tpm_pcr_read_many(struct tcl_tpm *t, uint16_t alg, uint32_t mask, uint8_t *out,
			  size_t out_len, size_t *dlen)
{
	uint8_t vals[TCL_TPM_NUM_PCRS][TCL_TPM_MAX_DIGEST];
	size_t dsz = tcl_tpm_alg_size(alg);
	int err;

	if (dsz && mask && !(mask >> TCL_TPM_NUM_PCRS) &&
	    out_len < (32 - (size_t)__builtin_clz(mask)) * dsz)
		return -ENOSPC;
	pthread_mutex_lock(&t->lock);
	err = read_pcrs(t, alg, mask, vals, dlen);
	pthread_mutex_unlock(&t->lock);
	if (err)
		return err;
	for (int p = 0; p < TCL_TPM_NUM_PCRS; p++)
		if (mask >> p & 1)
			memcpy(out + p * dsz, vals[p], dsz);
	return 0;
}

int tcl_tpm_pcr_read(struct tcl_tpm *t, uint32_t pcr, uint16_t alg, uint8_t *out, size_t *len)
{
	uint8_t vals[TCL_TPM_NUM_PCRS][TCL_TPM_MAX_DIGEST];
	size_t dlen;
	int err;

	if (pcr >= TCL_TPM_NUM_PCRS) {
		pr_err(SUB, "PCR %u out of range", pcr);
		return -EINVAL;
	}
	if (*len < tcl_tpm_alg_size(alg))
		return -ENOSPC;
	pthread_mutex_lock(&t->lock);
	err = read_pcrs(t, alg, 1u << pcr, vals, &dlen);
	pthread_mutex_unlock(&t->lock);
	if (err)
		return err;
	memcpy(out, vals[pcr], dlen);
	*len = dlen;
	return 0;
}

int tcl_tpm_digests_add(struct tcl_tpm_digests *d, uint16_t alg, const uint8_t *digest)
{
	size_t dsz = tcl_tpm_alg_size(alg);

	if (!dsz || d->n >= TCL_TPM_MAX_BANKS)
		return -EINVAL;
	d->v[d->n].alg = alg;
	memcpy(d->v[d->n].d, digest, dsz);
	d->n++;
	return 0;
}

/* Map caller digests onto the banks allocated for @pcr.  @idx names the entry in messages. */
static int build_extend(struct tcl_tpm *t, uint32_t pcr, const struct tcl_tpm_digests *d,
			size_t idx, TPML_DIGEST_VALUES *v)
{
	if (pcr >= TCL_TPM_NUM_PCRS) {
		pr_err(SUB, "extend: PCR %u out of range", pcr);
		return -EINVAL;
	}
	if (d->n > TCL_TPM_MAX_BANKS) {
		pr_err(SUB, "extend: entry %zu has %u digests (max %d)", idx, d->n,
		       TCL_TPM_MAX_BANKS);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < d->n; i++)
		for (uint32_t j = i + 1; j < d->n; j++)
			if (d->v[i].alg == d->v[j].alg) {
				pr_err(SUB, "extend: entry %zu has two %s digests", idx,
				       alg_str(d->v[i].alg));
				return -EINVAL;
			}
	v->count = 0;
	for (uint32_t b = 0; b < t->banks.count; b++) {
		uint16_t alg = t->banks.pcrSelections[b].hash;
		size_t dsz = tcl_tpm_alg_size(alg);
		uint32_t i;

		if (!bank_has_pcr(&t->banks.pcrSelections[b], pcr))
			continue;
		for (i = 0; i < d->n && d->v[i].alg != alg; i++)
			;
		if (i == d->n || !dsz) {
			pr_err(SUB, "PCR %u: bank %s (0x%04x) is allocated but entry %zu has no "
			       "digest for it; refusing to extend, the bank could not be verified",
			       pcr, alg_str(alg), alg, idx);
			return -EOPNOTSUPP;
		}
		v->digests[v->count].hashAlg = alg;
		memcpy(&v->digests[v->count].digest, d->v[i].d, dsz);
		v->count++;
	}
	if (!v->count) {
		pr_err(SUB, "PCR %u is not allocated in any bank", pcr);
		return -ENOENT;
	}
	return 0;
}

int tcl_tpm_extend_batch(struct tcl_tpm *t, uint32_t pcr, const struct tcl_tpm_digests *d,
			 size_t n, size_t *done)
{
	TPML_DIGEST_VALUES v;
	size_t i = 0;
	int err = 0;

	pthread_mutex_lock(&t->lock);
	/* Refuse the whole batch up front rather than leave the PCR half way. */
	for (i = 0; i < n && !err; i++)
		err = build_extend(t, pcr, &d[i], i, &v);
	for (i = 0; i < n && !err; i++) {
		TSS2_RC rc;

		build_extend(t, pcr, &d[i], i, &v);
		rc = Esys_PCR_Extend(t->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				     ESYS_TR_NONE, &v);
		if (rc != TSS2_RC_SUCCESS) {
			char what[64];

			snprintf(what, sizeof(what), "PCR_Extend(PCR %u, entry %zu)", pcr, i);
			err = tss_fail(what, rc);
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (done)
		*done = i;
	return err;
}

int tcl_tpm_extend(struct tcl_tpm *t, uint32_t pcr, const struct tcl_tpm_digests *d)
{
	return tcl_tpm_extend_batch(t, pcr, d, 1, NULL);
}

/* ---------------------------------------------------------------- keys */

static void ek_template(TPM2B_PUBLIC *p)
{
	TPMT_PUBLIC *a = &p->publicArea;

	memset(p, 0, sizeof(*p));
	a->type = TPM2_ALG_RSA;
	a->nameAlg = TPM2_ALG_SHA256;
	a->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
			      TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
			      TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	a->authPolicy.size = sizeof(policy_a_sha256);
	memcpy(a->authPolicy.buffer, policy_a_sha256, sizeof(policy_a_sha256));
	a->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	a->parameters.rsaDetail.symmetric.keyBits.aes = 128;
	a->parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	a->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	a->parameters.rsaDetail.keyBits = 2048;
	a->parameters.rsaDetail.exponent = 0;
	a->unique.rsa.size = 256;	/* zeros, as the profile says */
}

/* What tpm2_createak builds by default: rsa2048:rsassa-sha256:null. */
static void ak_template(TPM2B_PUBLIC *p)
{
	TPMT_PUBLIC *a = &p->publicArea;

	memset(p, 0, sizeof(*p));
	a->type = TPM2_ALG_RSA;
	a->nameAlg = TPM2_ALG_SHA256;
	a->objectAttributes = AK_ATTRS_REQUIRED | TPMA_OBJECT_USERWITHAUTH;
	a->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	a->parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
	a->parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
	a->parameters.rsaDetail.keyBits = 2048;
}

static int create_ek(struct tcl_tpm *t, ESYS_TR *ek, TPM2B_PUBLIC **pub)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPML_PCR_SELECTION none = { 0 };
	TPM2B_DATA outside = { 0 };
	TPM2B_PUBLIC tmpl;
	TSS2_RC rc;

	ek_template(&tmpl);
	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &sens, &tmpl, &outside, &none, ek, pub, NULL, NULL,
				NULL);
	if (rc != TSS2_RC_SUCCESS) {
		*ek = ESYS_TR_NONE;
		return tss_fail("CreatePrimary(EK; needs an empty endorsement hierarchy password)",
				rc);
	}
	return 0;
}

/* A policy session satisfying the EK's policy A: PolicySecret(TPM_RH_ENDORSEMENT). */
static int ek_policy_session(struct tcl_tpm *t, ESYS_TR *s)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
	TSS2_RC rc;

	rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym,
				   TPM2_ALG_SHA256, s);
	if (rc != TSS2_RC_SUCCESS) {
		*s = ESYS_TR_NONE;
		return tss_fail("StartAuthSession(policy)", rc);
	}
	rc = Esys_PolicySecret(t->esys, ESYS_TR_RH_ENDORSEMENT, *s, ESYS_TR_PASSWORD,
			       ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		flush(t, s);
		return tss_fail("PolicySecret(endorsement)", rc);
	}
	return 0;
}

static int handle_present(struct tcl_tpm *t, uint32_t handle, bool *present)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	TSS2_RC rc;

	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				TPM2_CAP_HANDLES, handle, 1, &more, &cap);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("GetCapability(HANDLES)", rc);
	*present = cap->data.handles.count > 0 && cap->data.handles.handle[0] == handle;
	free(cap);
	return 0;
}

static bool ak_attrs_ok(const TPMT_PUBLIC *a)
{
	TPMA_OBJECT at = a->objectAttributes;

	if ((at & AK_ATTRS_REQUIRED) != AK_ATTRS_REQUIRED || (at & TPMA_OBJECT_DECRYPT))
		return false;
	return a->type == TPM2_ALG_RSA || a->type == TPM2_ALG_ECC;
}

static int create_ak(struct tcl_tpm *t, uint32_t handle, ESYS_TR *out)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPML_PCR_SELECTION none = { 0 };
	TPM2B_DATA outside = { 0 };
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL, tmpl;
	ESYS_TR ek = ESYS_TR_NONE, s = ESYS_TR_NONE, ak = ESYS_TR_NONE;
	TSS2_RC rc;
	int err;

	err = create_ek(t, &ek, NULL);
	if (err)
		return err;
	err = ek_policy_session(t, &s);
	if (err)
		goto out;
	ak_template(&tmpl);
	rc = Esys_Create(t->esys, ek, s, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside,
			 &none, &priv, &pub, NULL, NULL, NULL);
	flush(t, &s);
	if (rc != TSS2_RC_SUCCESS) {
		err = tss_fail("Create(AK under EK)", rc);
		goto out;
	}
	/* A satisfied policy is consumed by the command it authorised: start over. */
	err = ek_policy_session(t, &s);
	if (err)
		goto out;
	rc = Esys_Load(t->esys, ek, s, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, &ak);
	flush(t, &s);
	if (rc != TSS2_RC_SUCCESS) {
		ak = ESYS_TR_NONE;
		err = tss_fail("Load(AK)", rc);
		goto out;
	}
	rc = Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			       ESYS_TR_NONE, handle, out);
	if (rc != TSS2_RC_SUCCESS) {
		char what[64];

		snprintf(what, sizeof(what), "EvictControl(AK -> 0x%08x)", handle);
		err = tss_fail(what, rc);
		goto out;
	}
	pr_info(SUB, "created attestation key at persistent handle 0x%08x", handle);
out:
	flush(t, &ak);
	flush(t, &ek);
	free(priv);
	free(pub);
	return err;
}

static int marshal_pub(const TPM2B_PUBLIC *p, uint8_t *buf, size_t cap, size_t *len)
{
	size_t off = 0;
	TSS2_RC rc;

	rc = Tss2_MU_TPM2B_PUBLIC_Marshal(p, buf, cap, &off);
	if (rc == TSS2_MU_RC_INSUFFICIENT_BUFFER)
		return -ENOSPC;
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("marshal TPM2B_PUBLIC", rc);
	*len = off;
	return 0;
}

int tcl_tpm_ak_ensure(struct tcl_tpm *t, uint32_t handle, struct tcl_tpm_ak *ak)
{
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_NAME *name = NULL, *qname = NULL;
	ESYS_TR tr = ESYS_TR_NONE;
	bool present;
	TSS2_RC rc;
	int err;

	if (!handle)
		handle = TCL_TPM_AK_HANDLE;
	if ((handle >> 24) != TPM2_HT_PERSISTENT) {
		pr_err(SUB, "AK handle 0x%08x is not a persistent handle (0x81xxxxxx)", handle);
		return -EINVAL;
	}
	memset(ak, 0, sizeof(*ak));
	pthread_mutex_lock(&t->lock);
	err = handle_present(t, handle, &present);
	if (err)
		goto out;
	if (present) {
		rc = Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE,
					   ESYS_TR_NONE, &tr);
		if (rc != TSS2_RC_SUCCESS) {
			tr = ESYS_TR_NONE;
			err = tss_fail("TR_FromTPMPublic(AK)", rc);
			goto out;
		}
	} else {
		err = create_ak(t, handle, &tr);
		if (err)
			goto out;
		ak->created = 1;
	}
	rc = Esys_ReadPublic(t->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, &name,
			     &qname);
	if (rc != TSS2_RC_SUCCESS) {
		err = tss_fail("ReadPublic(AK)", rc);
		goto out;
	}
	if (!ak_attrs_ok(&pub->publicArea)) {
		pr_err(SUB, "persistent handle 0x%08x holds a key that is not a restricted signing "
		       "key (attributes 0x%x); evict it or choose another AK handle", handle,
		       pub->publicArea.objectAttributes);
		err = -EEXIST;
		goto out;
	}
	err = marshal_pub(pub, ak->pub, sizeof(ak->pub), &ak->pub_len);
	if (err)
		goto out;
	if (name->size > sizeof(ak->name)) {
		err = -EPROTO;
		goto out;
	}
	memcpy(ak->name, name->name, name->size);
	ak->name_len = name->size;
	ak->handle = handle;
	/* Only a good key replaces the one in use.  ESYS hands out the same ESYS_TR for a
	 * handle it already knows, so the old one may be the new one. */
	if (t->ak != ESYS_TR_NONE && t->ak != tr)
		Esys_TR_Close(t->esys, &t->ak);
	t->ak_pub = *pub;
	t->ak = tr;
	tr = ESYS_TR_NONE;
out:
	if (tr != ESYS_TR_NONE && tr != t->ak)
		Esys_TR_Close(t->esys, &tr);
	pthread_mutex_unlock(&t->lock);
	free(pub);
	free(name);
	free(qname);
	return err;
}

/* ---------------------------------------------------------------- public keys (software) */

static int pad_be(const TPM2B_ECC_PARAMETER *p, uint8_t *out, size_t len)
{
	if (p->size > len)
		return -EINVAL;
	memset(out, 0, len - p->size);
	memcpy(out + len - p->size, p->buffer, p->size);
	return 0;
}

static int pub_to_pkey(const TPMT_PUBLIC *a, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t point[1 + 2 * 66];
	int err = -EIO;

	*out = NULL;
	if (!bld)
		return -ENOMEM;
	if (a->type == TPM2_ALG_RSA) {
		uint32_t exp = a->parameters.rsaDetail.exponent ? : 65537;

		n = BN_bin2bn(a->unique.rsa.buffer, a->unique.rsa.size, NULL);
		e = BN_new();
		if (!n || !e || !BN_set_word(e, exp) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto ssl;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else if (a->type == TPM2_ALG_ECC) {
		const char *group;
		size_t flen;

		switch (a->parameters.eccDetail.curveID) {
		case TPM2_ECC_NIST_P256:
			group = "P-256";
			flen = 32;
			break;
		case TPM2_ECC_NIST_P384:
			group = "P-384";
			flen = 48;
			break;
		default:
			pr_err(SUB, "unsupported ECC curve 0x%04x",
			       a->parameters.eccDetail.curveID);
			err = -EOPNOTSUPP;
			goto out;
		}
		point[0] = 0x04;
		if (pad_be(&a->unique.ecc.x, point + 1, flen) ||
		    pad_be(&a->unique.ecc.y, point + 1 + flen, flen)) {
			pr_err(SUB, "ECC point larger than its curve");
			err = -EBADMSG;
			goto out;
		}
		if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
						      1 + 2 * flen))
			goto ssl;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	} else {
		pr_err(SUB, "unsupported key type 0x%04x", a->type);
		err = -EOPNOTSUPP;
		goto out;
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	if (!ctx || !params || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto ssl;
	err = 0;
	goto out;
ssl:
	err = ssl_fail("public key from TPM public area");
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	return err;
}

static int pkey_pem(EVP_PKEY *pk, char **pem)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int err = 0;

	*pem = NULL;
	if (!b || !PEM_write_bio_PUBKEY(b, pk)) {
		err = ssl_fail("PEM_write_bio_PUBKEY");
		goto out;
	}
	len = BIO_get_mem_data(b, &data);
	*pem = malloc(len + 1);
	if (!*pem) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(*pem, data, len);
	(*pem)[len] = '\0';
out:
	BIO_free(b);
	return err;
}

static int unmarshal_pub(const uint8_t *buf, size_t len, TPM2B_PUBLIC *p)
{
	size_t off = 0;
	TSS2_RC rc;

	memset(p, 0, sizeof(*p));
	rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, p);
	if (rc != TSS2_RC_SUCCESS || off != len) {
		pr_err(SUB, "malformed TPM2B_PUBLIC (%zu bytes)", len);
		return -EBADMSG;
	}
	return 0;
}

int tcl_tpm_pub_pem_sw(const uint8_t *buf, size_t len, char **pem)
{
	TPM2B_PUBLIC p;
	EVP_PKEY *pk = NULL;
	int err;

	*pem = NULL;
	err = unmarshal_pub(buf, len, &p);
	if (!err)
		err = pub_to_pkey(&p.publicArea, &pk);
	if (!err)
		err = pkey_pem(pk, pem);
	EVP_PKEY_free(pk);
	return err;
}

int tcl_tpm_ak_public_pem(struct tcl_tpm *t, char **pem)
{
	EVP_PKEY *pk = NULL;
	int err;

	*pem = NULL;
	pthread_mutex_lock(&t->lock);
	if (t->ak == ESYS_TR_NONE) {
		pr_err(SUB, "no attestation key loaded");
		err = -ENOKEY;
	} else {
		err = pub_to_pkey(&t->ak_pub.publicArea, &pk);
	}
	pthread_mutex_unlock(&t->lock);
	if (!err)
		err = pkey_pem(pk, pem);
	EVP_PKEY_free(pk);
	return err;
}

static int pub_name(const TPMT_PUBLIC *a, uint8_t *name, size_t *name_len)
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	const EVP_MD *md = alg_md(a->nameAlg);
	size_t off = 0, dsz = tcl_tpm_alg_size(a->nameAlg);
	unsigned int mdlen;
	TSS2_RC rc;

	if (!md) {
		pr_err(SUB, "unsupported nameAlg 0x%04x", a->nameAlg);
		return -EOPNOTSUPP;
	}
	if (*name_len < 2 + dsz)
		return -ENOSPC;
	rc = Tss2_MU_TPMT_PUBLIC_Marshal(a, buf, sizeof(buf), &off);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("marshal TPMT_PUBLIC", rc);
	name[0] = a->nameAlg >> 8;
	name[1] = a->nameAlg & 0xff;
	if (!EVP_Digest(buf, off, name + 2, &mdlen, md, NULL))
		return ssl_fail("name digest");
	*name_len = 2 + mdlen;
	return 0;
}

int tcl_tpm_ak_check_sw(const uint8_t *buf, size_t len, uint8_t *name, size_t *name_len)
{
	TPM2B_PUBLIC p;
	int err;

	err = unmarshal_pub(buf, len, &p);
	if (err)
		return err;
	if (!ak_attrs_ok(&p.publicArea)) {
		pr_warn(SUB, "key is not an attestation key (type 0x%04x, attributes 0x%x): it "
			"must be a restricted, fixedTPM, TPM-generated signing key",
			p.publicArea.type, p.publicArea.objectAttributes);
		return -EKEYREJECTED;
	}
	return pub_name(&p.publicArea, name, name_len);
}

int tcl_tpm_ek_cert_match_sw(const uint8_t *der, size_t der_len, const uint8_t *ek_pub,
			     size_t ek_len)
{
	const unsigned char *pp = der;
	EVP_PKEY *ek = NULL;
	X509 *x = NULL;
	TPM2B_PUBLIC p;
	int err;

	err = unmarshal_pub(ek_pub, ek_len, &p);
	if (err)
		return err;
	x = d2i_X509(NULL, &pp, der_len);
	if (!x) {
		ssl_fail("EK certificate");
		return -EBADMSG;
	}
	err = pub_to_pkey(&p.publicArea, &ek);
	if (!err && EVP_PKEY_eq(X509_get0_pubkey(x), ek) != 1) {
		pr_warn(SUB, "EK certificate does not certify this EK");
		err = -EKEYREJECTED;
	}
	EVP_PKEY_free(ek);
	X509_free(x);
	return err;
}

/* ---------------------------------------------------------------- EK */

int tcl_tpm_ek_public(struct tcl_tpm *t, uint8_t *buf, size_t *len)
{
	TPM2B_PUBLIC *pub = NULL;
	ESYS_TR ek = ESYS_TR_NONE;
	int err;

	pthread_mutex_lock(&t->lock);
	err = create_ek(t, &ek, &pub);
	flush(t, &ek);
	pthread_mutex_unlock(&t->lock);
	if (!err)
		err = marshal_pub(pub, buf, *len, len);
	free(pub);
	return err;
}

/* Some TPMs pad the NV area past the certificate: keep what the DER header covers. */
static size_t der_len(const uint8_t *d, size_t len)
{
	size_t n = 0, hdr;

	if (len < 2 || d[0] != 0x30)
		return len;
	if (d[1] < 0x80) {
		n = d[1];
		hdr = 2;
	} else {
		size_t k = d[1] & 0x7f;

		if (k == 0 || k > 4 || len < 2 + k)
			return len;
		for (size_t i = 0; i < k; i++)
			n = n << 8 | d[2 + i];
		hdr = 2 + k;
	}
	return hdr + n <= len ? hdr + n : len;
}

int tcl_tpm_ek_cert(struct tcl_tpm *t, uint8_t **der, size_t *len)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPM2B_NV_PUBLIC *nvpub = NULL;
	TPM2B_NAME *nvname = NULL;
	ESYS_TR nv = ESYS_TR_NONE, auth;
	uint8_t *buf = NULL;
	uint16_t size, chunk = 512, off = 0;
	TPMI_YES_NO more;
	bool present;
	TSS2_RC rc;
	int err;

	*der = NULL;
	*len = 0;
	pthread_mutex_lock(&t->lock);
	err = handle_present(t, TCL_TPM_EK_CERT_NV, &present);
	if (err)
		goto out;
	if (!present) {
		err = -ENOENT;
		goto out;
	}
	rc = Esys_TR_FromTPMPublic(t->esys, TCL_TPM_EK_CERT_NV, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, &nv);
	if (rc != TSS2_RC_SUCCESS) {
		nv = ESYS_TR_NONE;
		err = tss_fail("TR_FromTPMPublic(EK certificate NV index)", rc);
		goto out;
	}
	rc = Esys_NV_ReadPublic(t->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nvpub,
				&nvname);
	if (rc != TSS2_RC_SUCCESS) {
		err = tss_fail("NV_ReadPublic(EK certificate)", rc);
		goto out;
	}
	if (nvpub->nvPublic.attributes & TPMA_NV_AUTHREAD) {
		auth = nv;
	} else if (nvpub->nvPublic.attributes & TPMA_NV_OWNERREAD) {
		auth = ESYS_TR_RH_OWNER;
	} else {
		pr_err(SUB, "EK certificate NV index is readable by neither owner nor index auth");
		err = -EACCES;
		goto out;
	}
	size = nvpub->nvPublic.dataSize;
	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				TPM2_CAP_TPM_PROPERTIES, TPM2_PT_NV_BUFFER_MAX, 1, &more, &cap);
	if (rc == TSS2_RC_SUCCESS && cap->data.tpmProperties.count &&
	    cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_NV_BUFFER_MAX &&
	    cap->data.tpmProperties.tpmProperty[0].value &&
	    cap->data.tpmProperties.tpmProperty[0].value < TPM2_MAX_NV_BUFFER_SIZE)
		chunk = cap->data.tpmProperties.tpmProperty[0].value;
	buf = malloc(size ? size : 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (off < size) {
		TPM2B_MAX_NV_BUFFER *data = NULL;
		uint16_t want = size - off < chunk ? size - off : chunk;

		rc = Esys_NV_Read(t->esys, auth, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
				  want, off, &data);
		if (rc != TSS2_RC_SUCCESS) {
			err = tss_fail("NV_Read(EK certificate)", rc);
			goto out;
		}
		if (data->size != want) {
			free(data);
			pr_err(SUB, "NV_Read(EK certificate): short read");
			err = -EPROTO;
			goto out;
		}
		memcpy(buf + off, data->buffer, want);
		off += want;
		free(data);
	}
	*len = der_len(buf, size);
	*der = buf;
	buf = NULL;
out:
	if (nv != ESYS_TR_NONE)
		Esys_TR_Close(t->esys, &nv);
	pthread_mutex_unlock(&t->lock);
	free(cap);
	free(nvpub);
	free(nvname);
	free(buf);
	return err;
}

/* ---------------------------------------------------------------- quotes */

static uint16_t sig_hash(const TPMT_SIGNATURE *s)
{
	switch (s->sigAlg) {
	case TPM2_ALG_RSASSA:
		return s->signature.rsassa.hash;
	case TPM2_ALG_RSAPSS:
		return s->signature.rsapss.hash;
	case TPM2_ALG_ECDSA:
		return s->signature.ecdsa.hash;
	default:
		return TPM2_ALG_NULL;
	}
}

static int popcount24(uint32_t m)
{
	return __builtin_popcount(m & 0xffffff);
}

/* pcrDigest is the hash (the signing scheme's) of the selected values concatenated. */
static int pcr_digest(const EVP_MD *md, const uint8_t *vals, size_t len, uint8_t *out,
		      unsigned int *olen)
{
	return EVP_Digest(vals, len, out, olen, md, NULL) ? 0 : ssl_fail("PCR digest");
}

/* The layout tpm2_quote -o writes and tpm2_checkquote -f reads: the host's TPML_PCR_SELECTION
 * struct, a u32 count, then that many TPML_DIGEST structs of up to 8 digests, little endian
 * (lib/pcr.c pcr_fwrite_serialized).  The struct sizes are the format: pin them. */
_Static_assert(sizeof(TPML_PCR_SELECTION) == 132, "tpm2-tools pcrs file layout");
_Static_assert(sizeof(TPML_DIGEST) == 532, "tpm2-tools pcrs file layout");

static int pcrs_file(struct tcl_tpm_quote *q)
{
	TPML_PCR_SELECTION sel;
	uint32_t npcr = popcount24(q->pcr_mask), nlist = (npcr + 7) / 8, le32, k = 0;
	size_t off = 0, need = sizeof(sel) + 4 + nlist * sizeof(TPML_DIGEST);

	if (need > sizeof(q->pcrs_file))
		return -ENOSPC;
	sel_init(&sel, q->bank, q->pcr_mask);
	sel.pcrSelections[0].hash = htole16(sel.pcrSelections[0].hash);
	sel.count = htole32(sel.count);
	memcpy(q->pcrs_file, &sel, sizeof(sel));
	off = sizeof(sel);
	le32 = htole32(nlist);
	memcpy(q->pcrs_file + off, &le32, 4);
	off += 4;
	for (uint32_t l = 0; l < nlist; l++) {
		TPML_DIGEST d;

		memset(&d, 0, sizeof(d));
		for (; d.count < 8 && k < npcr; k++) {
			d.digests[d.count].size = htole16(q->digest_len);
			memcpy(d.digests[d.count].buffer, q->values + k * q->digest_len,
			       q->digest_len);
			d.count++;
		}
		d.count = htole32(d.count);
		memcpy(q->pcrs_file + off, &d, sizeof(d));
		off += sizeof(d);
	}
	q->pcrs_file_len = off;
	return 0;
}

int tcl_tpm_quote(struct tcl_tpm *t, const uint8_t *nonce, size_t nonce_len, uint16_t bank,
		  uint32_t pcr_mask, struct tcl_tpm_quote *q)
{
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
	TPM2B_ATTEST *quoted = NULL;
	TPMT_SIGNATURE *sig = NULL;
	uint8_t vals[TCL_TPM_NUM_PCRS][TCL_TPM_MAX_DIGEST];
	TPML_PCR_SELECTION sel;
	TPM2B_DATA qd = { 0 };
	int err = 0, tries;

	memset(q, 0, sizeof(*q));
	if (nonce_len > TCL_TPM_NONCE_MAX) {
		pr_err(SUB, "quote: nonce of %zu bytes, at most %d fit (hash longer data)",
		       nonce_len, TCL_TPM_NONCE_MAX);
		return -EINVAL;
	}
	if (!pcr_mask || pcr_mask >> TCL_TPM_NUM_PCRS || !tcl_tpm_alg_size(bank)) {
		pr_err(SUB, "quote: bad PCR selection %s:0x%x", alg_str(bank), pcr_mask);
		return -EINVAL;
	}
	qd.size = nonce_len;
	if (nonce_len)
		memcpy(qd.buffer, nonce, nonce_len);
	sel_init(&sel, bank, pcr_mask);
	q->bank = bank;
	q->pcr_mask = pcr_mask;

	pthread_mutex_lock(&t->lock);
	if (t->ak == ESYS_TR_NONE) {
		pr_err(SUB, "quote: no attestation key loaded");
		err = -ENOKEY;
		goto out;
	}
	/* Another process may extend between Quote and PCR_Read: retry until the values read
	 * are the ones quoted, so the pcrs file always matches the signed digest. */
	for (tries = 0; tries < 5; tries++) {
		uint8_t dig[EVP_MAX_MD_SIZE];
		unsigned int dlen;
		TPMS_ATTEST at;
		const EVP_MD *md;
		size_t off = 0;
		TSS2_RC rc;

		free(quoted);
		free(sig);
		quoted = NULL;
		sig = NULL;
		rc = Esys_Quote(t->esys, t->ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qd,
				&scheme, &sel, &quoted, &sig);
		if (rc != TSS2_RC_SUCCESS) {
			err = tss_fail("Quote", rc);
			goto out;
		}
		err = read_pcrs(t, bank, pcr_mask, vals, &q->digest_len);
		if (err)
			goto out;
		q->values_len = 0;
		for (int p = 0; p < TCL_TPM_NUM_PCRS; p++)
			if (pcr_mask >> p & 1) {
				memcpy(q->values + q->values_len, vals[p], q->digest_len);
				q->values_len += q->digest_len;
			}
		rc = Tss2_MU_TPMS_ATTEST_Unmarshal(quoted->attestationData, quoted->size, &off,
						   &at);
		md = alg_md(sig_hash(sig));
		if (rc != TSS2_RC_SUCCESS || !md) {
			pr_err(SUB, "quote: cannot parse the TPM's attestation");
			err = -EPROTO;
			goto out;
		}
		err = pcr_digest(md, q->values, q->values_len, dig, &dlen);
		if (err)
			goto out;
		if (at.attested.quote.pcrDigest.size == dlen &&
		    !memcmp(at.attested.quote.pcrDigest.buffer, dig, dlen))
			break;
	}
	if (tries == 5) {
		pr_err(SUB, "quote: PCRs kept changing between Quote and PCR_Read");
		err = -EAGAIN;
		goto out;
	}
	if (quoted->size > sizeof(q->attest)) {
		err = -ENOSPC;
		goto out;
	}
	memcpy(q->attest, quoted->attestationData, quoted->size);
	q->attest_len = quoted->size;
	{
		size_t off = 0;
		TSS2_RC rc = Tss2_MU_TPMT_SIGNATURE_Marshal(sig, q->sig, sizeof(q->sig), &off);

		if (rc != TSS2_RC_SUCCESS) {
			err = tss_fail("marshal TPMT_SIGNATURE", rc);
			goto out;
		}
		q->sig_len = off;
	}
	err = pcrs_file(q);
out:
	pthread_mutex_unlock(&t->lock);
	free(quoted);
	free(sig);
	return err;
}

static int write_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[4096];
	const uint8_t *p = buf;
	int fd, err = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		pr_err(SUB, "%s: %s", path, strerror(errno));
		return err;
	}
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			pr_err(SUB, "write %s: %s", path, strerror(errno));
			break;
		}
		p += n;
		len -= n;
	}
	if (close(fd) && !err) {
		err = -errno;
		pr_err(SUB, "close %s: %s", path, strerror(errno));
	}
	return err;
}

int tcl_tpm_quote_write_dir(const struct tcl_tpm_quote *q, const char *ak_pem, const char *dir)
{
	int err;

	if (mkdir(dir, 0755) && errno != EEXIST) {
		err = -errno;
		pr_err(SUB, "mkdir %s: %s", dir, strerror(errno));
		return err;
	}
	err = write_file(dir, "quote.msg", q->attest, q->attest_len);
	if (!err)
		err = write_file(dir, "quote.sig", q->sig, q->sig_len);
	if (!err)
		err = write_file(dir, "quote.pcrs", q->pcrs_file, q->pcrs_file_len);
	if (!err && ak_pem)
		err = write_file(dir, "ak.pub.pem", ak_pem, strlen(ak_pem));
	return err;
}

/* ---------------------------------------------------------------- quote check (software) */

static int verify_sig(EVP_PKEY *pk, const TPMT_SIGNATURE *s, const EVP_MD *md,
		      const uint8_t *msg, size_t len)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	uint8_t *der = NULL;
	const uint8_t *sb;
	size_t slen;
	int ok = 0, type = EVP_PKEY_get_base_id(pk);

	if (!c)
		return -ENOMEM;
	if (s->sigAlg == TPM2_ALG_RSASSA || s->sigAlg == TPM2_ALG_RSAPSS) {
		if (type != EVP_PKEY_RSA)
			goto out;
		sb = s->signature.rsassa.sig.buffer;
		slen = s->signature.rsassa.sig.size;
	} else if (s->sigAlg == TPM2_ALG_ECDSA) {
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *r, *ss;
		int n;

		if (type != EVP_PKEY_EC || !es) {
			ECDSA_SIG_free(es);
			goto out;
		}
		r = BN_bin2bn(s->signature.ecdsa.signatureR.buffer,
			      s->signature.ecdsa.signatureR.size, NULL);
		ss = BN_bin2bn(s->signature.ecdsa.signatureS.buffer,
			       s->signature.ecdsa.signatureS.size, NULL);
		if (!r || !ss || !ECDSA_SIG_set0(es, r, ss)) {
			BN_free(r);
			BN_free(ss);
			ECDSA_SIG_free(es);
			goto out;
		}
		n = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		if (n <= 0)
			goto out;
		sb = der;
		slen = n;
	} else {
		goto out;
	}
	if (EVP_DigestVerifyInit(c, &pc, md, NULL, pk) <= 0)
		goto out;
	if (s->sigAlg == TPM2_ALG_RSAPSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) <= 0 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_AUTO) <= 0))
		goto out;
	ok = EVP_DigestVerify(c, sb, slen, msg, len) == 1;
out:
	ERR_clear_error();
	OPENSSL_free(der);
	EVP_MD_CTX_free(c);
	return ok ? 0 : -EKEYREJECTED;
}

int tcl_tpm_verify_quote_sw(const char *ak_pem, const uint8_t *attest, size_t attest_len,
			    const uint8_t *sigbuf, size_t sig_len,
			    const uint8_t *nonce, size_t nonce_len,
			    uint16_t bank, uint32_t pcr_mask,
			    const uint8_t *values, size_t values_len,
			    struct tcl_tpm_quote_info *info)
{
	uint8_t dig[EVP_MAX_MD_SIZE];
	const TPMS_PCR_SELECTION *qs;
	const TPMS_QUOTE_INFO *qi;
	EVP_PKEY *pk = NULL;
	TPMT_SIGNATURE sig;
	const EVP_MD *md;
	TPMS_ATTEST at;
	size_t off = 0, dsz = tcl_tpm_alg_size(bank);
	unsigned int dlen;
	uint32_t qmask = 0;
	BIO *b;
	int err;

	b = BIO_new_mem_buf(ak_pem, -1);
	pk = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!pk) {
		ssl_fail("quote check: AK public key");
		return -EINVAL;
	}
	err = -EBADMSG;
	if (Tss2_MU_TPMS_ATTEST_Unmarshal(attest, attest_len, &off, &at) != TSS2_RC_SUCCESS ||
	    off != attest_len) {
		pr_warn(SUB, "quote check: malformed TPMS_ATTEST (%zu bytes)", attest_len);
		goto out;
	}
	off = 0;
	memset(&sig, 0, sizeof(sig));
	if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(sigbuf, sig_len, &off, &sig) != TSS2_RC_SUCCESS ||
	    off != sig_len) {
		pr_warn(SUB, "quote check: malformed TPMT_SIGNATURE (%zu bytes)", sig_len);
		goto out;
	}
	md = alg_md(sig_hash(&sig));
	if (!md) {
		pr_warn(SUB, "quote check: unsupported signature 0x%04x/0x%04x", sig.sigAlg,
			sig_hash(&sig));
		goto out;
	}
	/* Nothing in the attestation is believed before the signature is. */
	err = verify_sig(pk, &sig, md, attest, attest_len);
	if (err) {
		pr_warn(SUB, "quote check: signature does not verify with the AK");
		goto out;
	}
	err = -EBADMSG;
	if (at.magic != TPM2_GENERATED_VALUE || at.type != TPM2_ST_ATTEST_QUOTE) {
		pr_warn(SUB, "quote check: not a TPM-generated quote (magic 0x%08x type 0x%04x)",
			at.magic, at.type);
		goto out;
	}
	if (at.extraData.size != nonce_len ||
	    (nonce_len && memcmp(at.extraData.buffer, nonce, nonce_len))) {
		pr_warn(SUB, "quote check: qualifying data does not match the nonce");
		err = -ESTALE;
		goto out;
	}
	err = -EILSEQ;
	qi = &at.attested.quote;
	qs = &qi->pcrSelect.pcrSelections[0];
	for (uint32_t p = 0; qi->pcrSelect.count == 1 && p < qs->sizeofSelect * 8u; p++)
		if (bank_has_pcr(qs, p))
			qmask |= p < TCL_TPM_NUM_PCRS ? 1u << p : 0x80000000u;
	if (qi->pcrSelect.count != 1 || qs->hash != bank || qmask != pcr_mask || !dsz) {
		pr_warn(SUB, "quote check: quote selects %u bank(s), %s:0x%x; expected %s:0x%x",
			qi->pcrSelect.count, alg_str(qs->hash), qmask, alg_str(bank), pcr_mask);
		goto out;
	}
	if (values_len != popcount24(pcr_mask) * dsz) {
		pr_warn(SUB, "quote check: %zu bytes of PCR values for %d PCRs of %s", values_len,
			popcount24(pcr_mask), alg_str(bank));
		goto out;
	}
	if (pcr_digest(md, values, values_len, dig, &dlen)) {
		err = -EIO;
		goto out;
	}
	if (qi->pcrDigest.size != dlen || memcmp(qi->pcrDigest.buffer, dig, dlen)) {
		pr_warn(SUB, "quote check: PCR values do not match the quoted PCR digest");
		goto out;
	}
	if (info) {
		info->clock = at.clockInfo.clock;
		info->reset_count = at.clockInfo.resetCount;
		info->restart_count = at.clockInfo.restartCount;
		info->safe = at.clockInfo.safe;
		info->firmware_version = at.firmwareVersion;
	}
	err = 0;
out:
	EVP_PKEY_free(pk);
	return err;
}

/* ---------------------------------------------------------------- credentials */

/* TPM 2.0 Part 1, 11.4.10.2 KDFa in counter mode; labels include their NUL. */
static int kdfa(const EVP_MD *md, const uint8_t *key, size_t klen, const char *label,
		const uint8_t *u, size_t ulen, uint32_t bits, uint8_t *out)
{
	size_t llen = strlen(label) + 1, want = (bits + 7) / 8, done = 0;
	uint8_t in[4 + 32 + TCL_TPM_NAME_MAX + 4], h[EVP_MAX_MD_SIZE];
	uint32_t ctr = 1, be;

	if (llen > 32 || ulen > TCL_TPM_NAME_MAX)
		return -EINVAL;
	while (done < want) {
		unsigned int hl;
		size_t n = 0;

		be = htobe32(ctr++);
		memcpy(in, &be, 4);
		n = 4;
		memcpy(in + n, label, llen);
		n += llen;
		if (ulen)
			memcpy(in + n, u, ulen);
		n += ulen;
		be = htobe32(bits);
		memcpy(in + n, &be, 4);
		n += 4;
		if (!HMAC(md, key, klen, in, n, h, &hl))
			return ssl_fail("KDFa");
		memcpy(out + done, h, want - done < hl ? want - done : hl);
		done += want - done < hl ? want - done : hl;
	}
	return 0;
}

int tcl_tpm_make_credential_sw(const uint8_t *ek_pub, size_t ek_len,
			       const uint8_t *ak_name, size_t name_len,
			       const uint8_t *secret, size_t secret_len,
			       uint8_t *blob, size_t *blob_len, uint8_t *enc, size_t *enc_len)
{
	uint8_t seed[EVP_MAX_MD_SIZE], symkey[32], hkey[EVP_MAX_MD_SIZE], hmac[EVP_MAX_MD_SIZE];
	uint8_t plain[2 + TCL_TPM_MAX_DIGEST], cipher[2 + TCL_TPM_MAX_DIGEST];
	uint8_t hin[sizeof(cipher) + TCL_TPM_NAME_MAX], iv[16] = { 0 };
	const TPMT_PUBLIC *a;
	TPM2B_ENCRYPTED_SECRET es = { 0 };
	TPM2B_ID_OBJECT id = { 0 };
	EVP_PKEY_CTX *pc = NULL;
	EVP_CIPHER_CTX *cc = NULL;
	const EVP_CIPHER *cph;
	EVP_PKEY *pk = NULL;
	const EVP_MD *md;
	TPM2B_PUBLIC p;
	size_t dsz, olen, off;
	unsigned int hl;
	int err, n1, n2;
	char *label;

	err = unmarshal_pub(ek_pub, ek_len, &p);
	if (err)
		return err;
	a = &p.publicArea;
	md = alg_md(a->nameAlg);
	dsz = tcl_tpm_alg_size(a->nameAlg);
	if (a->type != TPM2_ALG_RSA || !md ||
	    a->parameters.rsaDetail.symmetric.algorithm != TPM2_ALG_AES ||
	    a->parameters.rsaDetail.symmetric.mode.aes != TPM2_ALG_CFB) {
		pr_err(SUB, "make credential: EK must be an RSA storage key with AES-CFB");
		return -EOPNOTSUPP;
	}
	switch (a->parameters.rsaDetail.symmetric.keyBits.aes) {
	case 128:
		cph = EVP_aes_128_cfb128();
		break;
	case 256:
		cph = EVP_aes_256_cfb128();
		break;
	default:
		pr_err(SUB, "make credential: unsupported AES key size");
		return -EOPNOTSUPP;
	}
	if (!secret_len || secret_len > dsz || name_len < 2 || name_len > TCL_TPM_NAME_MAX) {
		pr_err(SUB, "make credential: secret must be 1..%zu bytes, name 2..%d bytes", dsz,
		       TCL_TPM_NAME_MAX);
		return -EINVAL;
	}

	/* The seed goes to the EK with OAEP, label "IDENTITY" (with its NUL). */
	if (RAND_bytes(seed, dsz) != 1)
		return ssl_fail("RAND_bytes");
	err = pub_to_pkey(a, &pk);
	if (err)
		goto out;
	err = -EIO;
	label = OPENSSL_strdup("IDENTITY");
	pc = EVP_PKEY_CTX_new(pk, NULL);
	olen = sizeof(es.secret);
	if (!label || !pc || EVP_PKEY_encrypt_init(pc) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(pc, md) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) <= 0) {
		OPENSSL_free(label);
		err = ssl_fail("make credential: OAEP setup");
		goto out;
	}
	if (EVP_PKEY_CTX_set0_rsa_oaep_label(pc, label, strlen(label) + 1) <= 0) {
		OPENSSL_free(label);
		err = ssl_fail("make credential: OAEP label");
		goto out;
	}
	if (EVP_PKEY_encrypt(pc, es.secret, &olen, seed, dsz) <= 0) {
		err = ssl_fail("make credential: OAEP");
		goto out;
	}
	es.size = olen;

	/* encIdentity = AES-CFB(KDFa(seed, "STORAGE", name), TPM2B_DIGEST(secret)) */
	err = kdfa(md, seed, dsz, "STORAGE", ak_name, name_len,
		   a->parameters.rsaDetail.symmetric.keyBits.aes, symkey);
	if (!err)
		err = kdfa(md, seed, dsz, "INTEGRITY", NULL, 0, dsz * 8, hkey);
	if (err)
		goto out;
	plain[0] = secret_len >> 8;
	plain[1] = secret_len & 0xff;
	memcpy(plain + 2, secret, secret_len);
	cc = EVP_CIPHER_CTX_new();
	if (!cc || !EVP_EncryptInit_ex(cc, cph, NULL, symkey, iv) ||
	    !EVP_EncryptUpdate(cc, cipher, &n1, plain, 2 + secret_len) ||
	    !EVP_EncryptFinal_ex(cc, cipher + n1, &n2)) {
		err = ssl_fail("make credential: AES-CFB");
		goto out;
	}
	/* outerHMAC = HMAC(KDFa(seed, "INTEGRITY"), encIdentity || name) */
	memcpy(hin, cipher, n1 + n2);
	memcpy(hin + n1 + n2, ak_name, name_len);
	if (!HMAC(md, hkey, dsz, hin, n1 + n2 + name_len, hmac, &hl)) {
		err = ssl_fail("make credential: HMAC");
		goto out;
	}
	id.size = 2 + hl + n1 + n2;
	id.credential[0] = hl >> 8;
	id.credential[1] = hl & 0xff;
	memcpy(id.credential + 2, hmac, hl);
	memcpy(id.credential + 2 + hl, cipher, n1 + n2);

	off = 0;
	if (Tss2_MU_TPM2B_ID_OBJECT_Marshal(&id, blob, *blob_len, &off) != TSS2_RC_SUCCESS) {
		err = -ENOSPC;
		goto out;
	}
	*blob_len = off;
	off = 0;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&es, enc, *enc_len, &off) !=
	    TSS2_RC_SUCCESS) {
		err = -ENOSPC;
		goto out;
	}
	*enc_len = off;
	err = 0;
out:
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(symkey, sizeof(symkey));
	OPENSSL_cleanse(hkey, sizeof(hkey));
	OPENSSL_cleanse(plain, sizeof(plain));
	EVP_CIPHER_CTX_free(cc);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(pk);
	return err;
}

int tcl_tpm_activate_credential(struct tcl_tpm *t, const uint8_t *blob, size_t blob_len,
				const uint8_t *secret, size_t secret_len,
				uint8_t *out, size_t *out_len)
{
	TPM2B_ENCRYPTED_SECRET es;
	TPM2B_DIGEST *cert = NULL;
	TPM2B_ID_OBJECT id;
	ESYS_TR ek = ESYS_TR_NONE, s = ESYS_TR_NONE;
	size_t off = 0;
	TSS2_RC rc;
	int err;

	memset(&id, 0, sizeof(id));
	memset(&es, 0, sizeof(es));
	if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(blob, blob_len, &off, &id) != TSS2_RC_SUCCESS ||
	    off != blob_len) {
		pr_err(SUB, "activate credential: malformed credential blob");
		return -EBADMSG;
	}
	off = 0;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(secret, secret_len, &off, &es) !=
	    TSS2_RC_SUCCESS || off != secret_len) {
		pr_err(SUB, "activate credential: malformed encrypted secret");
		return -EBADMSG;
	}
	pthread_mutex_lock(&t->lock);
	if (t->ak == ESYS_TR_NONE) {
		pr_err(SUB, "activate credential: no attestation key loaded");
		err = -ENOKEY;
		goto out;
	}
	err = create_ek(t, &ek, NULL);
	if (!err)
		err = ek_policy_session(t, &s);
	if (err)
		goto out;
	rc = Esys_ActivateCredential(t->esys, t->ak, ek, ESYS_TR_PASSWORD, s, ESYS_TR_NONE, &id,
				     &es, &cert);
	if (rc != TSS2_RC_SUCCESS) {
		err = tss_fail("ActivateCredential (credential not made for this EK and AK?)", rc);
		if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER)
			err = -EKEYREJECTED;
		goto out;
	}
	if (cert->size > *out_len) {
		err = -ENOSPC;
		goto out;
	}
	memcpy(out, cert->buffer, cert->size);
	*out_len = cert->size;
out:
	flush(t, &s);
	flush(t, &ek);
	pthread_mutex_unlock(&t->lock);
	if (cert)
		OPENSSL_cleanse(cert, sizeof(*cert));
	free(cert);
	return err;
}
