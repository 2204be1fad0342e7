// SPDX-License-Identifier: GPL-2.0
/* TPM 2.0 device access through libtss2 ESYS: every Esys_* call of tcl is in this file, each
 * failure decoded once by tpm_tss_fail (Tss2_RC_Decode).  The software side is tpm_verify.c.
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

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "diag.h"
#include "fileio.h"
#include "tpm.h"
#include "tpm_internal.h"

#define SUB "tpm"

struct tcl_tpm {
	pthread_mutex_t lock;
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	TPML_PCR_SELECTION banks;	/* allocation only changes across a TPM reset */
	ESYS_TR ak;
	TPM2B_PUBLIC ak_pub;
};

/* TCG EK Credential Profile, template L-1: PolicySecret(TPM_RH_ENDORSEMENT), SHA-256. */
static const uint8_t policy_a_sha256[32] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7,
	0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14,
	0x69, 0xaa,
};

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
		err = tpm_tss_fail("Esys_Initialize", rc);
		goto fail;
	}
	/* The first command also proves the TPM answers at all. */
	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_PCRS,
				0, 1, &more, &cap);
	if (rc != TSS2_RC_SUCCESS) {
		err = tpm_tss_fail("GetCapability(PCRS)", rc);
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

int tcl_tpm_banks(struct tcl_tpm *t, uint32_t pcr, uint16_t *out, size_t *n)
{
	size_t k = 0;
	int err = 0;

	pthread_mutex_lock(&t->lock);
	for (uint32_t i = 0; i < t->banks.count; i++) {
		if (!tpm_bank_has_pcr(&t->banks.pcrSelections[i], pcr))
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
			return tpm_tss_fail("PCR_Read", rc);
		for (uint32_t i = 0; i < osel->count && !err; i++) {
			const TPMS_PCR_SELECTION *s = &osel->pcrSelections[i];

			for (uint32_t p = 0; p < s->sizeofSelect * 8u && !err; p++) {
				if (!tpm_bank_has_pcr(s, p))
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
			pr_err(SUB, "PCR_Read: malformed response for bank %s", tpm_alg_str(alg));
			return err;
		}
		if (!got) {
			pr_err(SUB, "PCR(s) 0x%x not allocated in bank %s", left, tpm_alg_str(alg));
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
				       tpm_alg_str(d->v[i].alg));
				return -EINVAL;
			}
	v->count = 0;
	for (uint32_t b = 0; b < t->banks.count; b++) {
		uint16_t alg = t->banks.pcrSelections[b].hash;
		size_t dsz = tcl_tpm_alg_size(alg);
		uint32_t i;

		if (!tpm_bank_has_pcr(&t->banks.pcrSelections[b], pcr))
			continue;
		for (i = 0; i < d->n && d->v[i].alg != alg; i++)
			;
		if (i == d->n || !dsz) {
			pr_err(SUB, "PCR %u: bank %s (0x%04x) is allocated but entry %zu has no "
			       "digest for it; refusing to extend, the bank could not be verified",
			       pcr, tpm_alg_str(alg), alg, idx);
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
			err = tpm_tss_fail(what, rc);
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
		return tpm_tss_fail(
			"CreatePrimary(EK; needs an empty endorsement hierarchy password)", rc);
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
		return tpm_tss_fail("StartAuthSession(policy)", rc);
	}
	rc = Esys_PolicySecret(t->esys, ESYS_TR_RH_ENDORSEMENT, *s, ESYS_TR_PASSWORD,
			       ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		flush(t, s);
		return tpm_tss_fail("PolicySecret(endorsement)", rc);
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
		return tpm_tss_fail("GetCapability(HANDLES)", rc);
	*present = cap->data.handles.count > 0 && cap->data.handles.handle[0] == handle;
	free(cap);
	return 0;
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
		err = tpm_tss_fail("Create(AK under EK)", rc);
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
		err = tpm_tss_fail("Load(AK)", rc);
		goto out;
	}
	rc = Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			       ESYS_TR_NONE, handle, out);
	if (rc != TSS2_RC_SUCCESS) {
		char what[64];

		snprintf(what, sizeof(what), "EvictControl(AK -> 0x%08x)", handle);
		err = tpm_tss_fail(what, rc);
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
		return tpm_tss_fail("marshal TPM2B_PUBLIC", rc);
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
			err = tpm_tss_fail("TR_FromTPMPublic(AK)", rc);
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
		err = tpm_tss_fail("ReadPublic(AK)", rc);
		goto out;
	}
	if (!tpm_ak_attrs_ok(&pub->publicArea)) {
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
		err = tpm_pub_to_pkey(&t->ak_pub.publicArea, &pk);
	}
	pthread_mutex_unlock(&t->lock);
	if (!err)
		err = tpm_pkey_pem(pk, pem);
	EVP_PKEY_free(pk);
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
		err = tpm_tss_fail("TR_FromTPMPublic(EK certificate NV index)", rc);
		goto out;
	}
	rc = Esys_NV_ReadPublic(t->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nvpub,
				&nvname);
	if (rc != TSS2_RC_SUCCESS) {
		err = tpm_tss_fail("NV_ReadPublic(EK certificate)", rc);
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
			err = tpm_tss_fail("NV_Read(EK certificate)", rc);
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

/* The layout tpm2_quote -o writes and tpm2_checkquote -f reads: the host's TPML_PCR_SELECTION
 * struct, a u32 count, then that many TPML_DIGEST structs of up to 8 digests, little endian
 * (lib/pcr.c pcr_fwrite_serialized).  The struct sizes are the format: pin them. */
_Static_assert(sizeof(TPML_PCR_SELECTION) == 132, "tpm2-tools pcrs file layout");
_Static_assert(sizeof(TPML_DIGEST) == 532, "tpm2-tools pcrs file layout");

static int pcrs_file(struct tcl_tpm_quote *q)
{
	TPML_PCR_SELECTION sel;
	uint32_t npcr = tpm_popcount24(q->pcr_mask), nlist = (npcr + 7) / 8, le32, k = 0;
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
		pr_err(SUB, "quote: bad PCR selection %s:0x%x", tpm_alg_str(bank), pcr_mask);
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
			err = tpm_tss_fail("Quote", rc);
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
		md = tpm_alg_md(tpm_sig_hash(sig));
		if (rc != TSS2_RC_SUCCESS || !md) {
			pr_err(SUB, "quote: cannot parse the TPM's attestation");
			err = -EPROTO;
			goto out;
		}
		err = tpm_pcr_digest(md, q->values, q->values_len, dig, &dlen);
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
			err = tpm_tss_fail("marshal TPMT_SIGNATURE", rc);
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
	int fd, err;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		pr_err(SUB, "%s: %s", path, strerror(errno));
		return err;
	}
	err = tcl_write_all(fd, buf, len);
	if (err)
		pr_err(SUB, "write %s: %s", path, strerror(-err));
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
		err = tpm_tss_fail("ActivateCredential (credential not made for this EK and AK?)",
				   rc);
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
