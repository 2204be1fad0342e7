/* SPDX-License-Identifier: GPL-2.0 */
/* What tpm.c (device) and tpm_verify.c (software) share: libtss2 and OpenSSL types, so only
 * these two files include it.  Defined in tpm_verify.c. */
#ifndef TCL_TPM_INTERNAL_H
#define TCL_TPM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

/* What an attestation key must have: tpm2_createak's defaults, checked on both sides. */
#define AK_ATTRS_REQUIRED (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT | \
			   TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
			   TPMA_OBJECT_SENSITIVEDATAORIGIN)

const char *tpm_alg_str(uint16_t alg);		/* name or "unknown", for messages */
const EVP_MD *tpm_alg_md(uint16_t alg);
/* Log @what with the decoded TSS2 return code (every ESYS/TCTI/MU failure); -EIO. */
int tpm_tss_fail(const char *what, TSS2_RC rc);
/* Log @what with the OpenSSL error queue, cleared; -EIO. */
int tpm_ssl_fail(const char *what);

bool tpm_bank_has_pcr(const TPMS_PCR_SELECTION *s, uint32_t pcr);
bool tpm_ak_attrs_ok(const TPMT_PUBLIC *a);
int tpm_pub_to_pkey(const TPMT_PUBLIC *a, EVP_PKEY **out);
int tpm_pkey_pem(EVP_PKEY *pk, char **pem);
uint16_t tpm_sig_hash(const TPMT_SIGNATURE *s);
/* pcrDigest is the hash (the signing scheme's) of the selected values concatenated. */
int tpm_pcr_digest(const EVP_MD *md, const uint8_t *vals, size_t len, uint8_t *out,
		   unsigned int *olen);

static inline int tpm_popcount24(uint32_t m)
{
	return __builtin_popcount(m & 0xffffff);
}

#endif
