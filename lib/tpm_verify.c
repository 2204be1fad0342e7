// SPDX-License-Identifier: GPL-2.0
/* The verifier's side of TPM 2.0 in software (OpenSSL, libtss2-mu for the wire format): public
 * areas to keys, AK checks and names, EK certificates, quote signatures and PCR digests,
 * TPM2_MakeCredential.  No TPM and no ESYS here: the attestor links this without a device.
 * Models: tpm2-tools (tpm2_checkquote, tpm2_makecredential, lib/tpm2_identity_util.c). */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include "diag.h"
#include "tpm_internal.h"
#include "tpm_verify.h"

#define SUB "tpm"

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

const char *tcl_tpm_alg_name(uint16_t alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return algs[i].name;
	return NULL;
}

uint16_t tcl_tpm_alg_by_name(const char *name)
{
	for (size_t i = 0; name && i < sizeof(algs) / sizeof(algs[0]); i++)
		if (!strcmp(algs[i].name, name))
			return algs[i].alg;
	return 0;
}

size_t tcl_tpm_alg_size(uint16_t alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return algs[i].size;
	return 0;
}

const char *tpm_alg_str(uint16_t alg)
{
	const char *n = tcl_tpm_alg_name(alg);

	return n ? n : "unknown";
}

const EVP_MD *tpm_alg_md(uint16_t alg)
{
	const char *n = tcl_tpm_alg_name(alg);

	return n ? EVP_get_digestbyname(n) : NULL;
}

/* Log @what with the decoded TSS2 return code; every ESYS/TCTI failure goes through here. */
int tpm_tss_fail(const char *what, TSS2_RC rc)
{
	pr_err(SUB, "%s: %s (0x%x)", what, Tss2_RC_Decode(rc), rc);
	return -EIO;
}

int tpm_ssl_fail(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "unknown error";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	pr_err(SUB, "%s: %s", what, buf);
	return -EIO;
}
/* ---------------------------------------------------------------- PCR selections */

bool tpm_bank_has_pcr(const TPMS_PCR_SELECTION *s, uint32_t pcr)
{
	return pcr < s->sizeofSelect * 8u && (s->pcrSelect[pcr / 8] & (1u << (pcr % 8)));
}

bool tpm_ak_attrs_ok(const TPMT_PUBLIC *a)
{
	TPMA_OBJECT at = a->objectAttributes;

	if ((at & AK_ATTRS_REQUIRED) != AK_ATTRS_REQUIRED || (at & TPMA_OBJECT_DECRYPT))
		return false;
	return a->type == TPM2_ALG_RSA || a->type == TPM2_ALG_ECC;
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

int tpm_pub_to_pkey(const TPMT_PUBLIC *a, EVP_PKEY **out)
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
	err = tpm_ssl_fail("public key from TPM public area");
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	return err;
}

int tpm_pkey_pem(EVP_PKEY *pk, char **pem)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int err = 0;

	*pem = NULL;
	if (!b || !PEM_write_bio_PUBKEY(b, pk)) {
		err = tpm_ssl_fail("PEM_write_bio_PUBKEY");
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
		err = tpm_pub_to_pkey(&p.publicArea, &pk);
	if (!err)
		err = tpm_pkey_pem(pk, pem);
	EVP_PKEY_free(pk);
	return err;
}

static int pub_name(const TPMT_PUBLIC *a, uint8_t *name, size_t *name_len)
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	const EVP_MD *md = tpm_alg_md(a->nameAlg);
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
		return tpm_tss_fail("marshal TPMT_PUBLIC", rc);
	name[0] = a->nameAlg >> 8;
	name[1] = a->nameAlg & 0xff;
	if (!EVP_Digest(buf, off, name + 2, &mdlen, md, NULL))
		return tpm_ssl_fail("name digest");
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
	if (!tpm_ak_attrs_ok(&p.publicArea)) {
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
		tpm_ssl_fail("EK certificate");
		return -EBADMSG;
	}
	err = tpm_pub_to_pkey(&p.publicArea, &ek);
	if (!err && EVP_PKEY_eq(X509_get0_pubkey(x), ek) != 1) {
		pr_warn(SUB, "EK certificate does not certify this EK");
		err = -EKEYREJECTED;
	}
	EVP_PKEY_free(ek);
	X509_free(x);
	return err;
}

/* ---------------------------------------------------------------- quotes */

uint16_t tpm_sig_hash(const TPMT_SIGNATURE *s)
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

/* pcrDigest is the hash (the signing scheme's) of the selected values concatenated. */
int tpm_pcr_digest(const EVP_MD *md, const uint8_t *vals, size_t len, uint8_t *out,
		      unsigned int *olen)
{
	return EVP_Digest(vals, len, out, olen, md, NULL) ? 0 : tpm_ssl_fail("PCR digest");
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
		tpm_ssl_fail("quote check: AK public key");
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
	md = tpm_alg_md(tpm_sig_hash(&sig));
	if (!md) {
		pr_warn(SUB, "quote check: unsupported signature 0x%04x/0x%04x", sig.sigAlg,
			tpm_sig_hash(&sig));
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
		if (tpm_bank_has_pcr(qs, p))
			qmask |= p < TCL_TPM_NUM_PCRS ? 1u << p : 0x80000000u;
	if (qi->pcrSelect.count != 1 || qs->hash != bank || qmask != pcr_mask || !dsz) {
		pr_warn(SUB, "quote check: quote selects %u bank(s), %s:0x%x; expected %s:0x%x",
			qi->pcrSelect.count, tpm_alg_str(qs->hash), qmask, tpm_alg_str(bank),
			pcr_mask);
		goto out;
	}
	if (values_len != tpm_popcount24(pcr_mask) * dsz) {
		pr_warn(SUB, "quote check: %zu bytes of PCR values for %d PCRs of %s", values_len,
			tpm_popcount24(pcr_mask), tpm_alg_str(bank));
		goto out;
	}
	if (tpm_pcr_digest(md, values, values_len, dig, &dlen)) {
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
			return tpm_ssl_fail("KDFa");
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
	md = tpm_alg_md(a->nameAlg);
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
		return tpm_ssl_fail("RAND_bytes");
	err = tpm_pub_to_pkey(a, &pk);
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
		err = tpm_ssl_fail("make credential: OAEP setup");
		goto out;
	}
	if (EVP_PKEY_CTX_set0_rsa_oaep_label(pc, label, strlen(label) + 1) <= 0) {
		OPENSSL_free(label);
		err = tpm_ssl_fail("make credential: OAEP label");
		goto out;
	}
	if (EVP_PKEY_encrypt(pc, es.secret, &olen, seed, dsz) <= 0) {
		err = tpm_ssl_fail("make credential: OAEP");
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
		err = tpm_ssl_fail("make credential: AES-CFB");
		goto out;
	}
	/* outerHMAC = HMAC(KDFa(seed, "INTEGRITY"), encIdentity || name) */
	memcpy(hin, cipher, n1 + n2);
	memcpy(hin + n1 + n2, ak_name, name_len);
	if (!HMAC(md, hkey, dsz, hin, n1 + n2 + name_len, hmac, &hl)) {
		err = tpm_ssl_fail("make credential: HMAC");
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
