/* SPDX-License-Identifier: GPL-2.0 */
/* TPM 2.0 verification in software (no TPM needed): what the attestor uses to check quotes,
 * AKs and EK certificates and to run TPM2_MakeCredential.  The device side (ESYS) is tpm.h,
 * which includes this header.  All functions return 0 or -errno and log the reason once.
 *
 * Algorithms are TPM_ALG_ID values; digests are raw bytes.  Byte strings called "TPM2B_PUBLIC"
 * are the TPM wire format (big endian, size-prefixed), as tpm2_readpublic -f tss writes. */
#ifndef TCL_TPM_VERIFY_H
#define TCL_TPM_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#define TCL_TPM_ALG_SHA1	0x0004
#define TCL_TPM_ALG_SHA256	0x000b
#define TCL_TPM_ALG_SHA384	0x000c
#define TCL_TPM_ALG_SHA512	0x000d
#define TCL_TPM_ALG_SM3_256	0x0012

#define TCL_TPM_NUM_PCRS	24
#define TCL_TPM_MAX_DIGEST	64	/* largest bank digest (sha512) */
#define TCL_TPM_MAX_BANKS	8
#define TCL_TPM_AK_HANDLE	0x81010002u	/* default persistent AK handle */
#define TCL_TPM_EK_CERT_NV	0x01c00002u	/* RSA 2048 EK certificate (TCG EK profile) */

#define TCL_TPM_PUB_MAX		1024	/* marshalled TPM2B_PUBLIC */
#define TCL_TPM_NAME_MAX	68	/* TPM2B_NAME.name: u16 nameAlg + digest */
#define TCL_TPM_ATTEST_MAX	1024	/* TPMS_ATTEST as returned in TPM2B_ATTEST */
#define TCL_TPM_SIG_MAX		1024	/* marshalled TPMT_SIGNATURE */
#define TCL_TPM_PCRS_FILE_MAX	4096	/* tpm2_quote -o "serialized" file */
#define TCL_TPM_CRED_BLOB_MAX	256	/* marshalled TPM2B_ID_OBJECT */
#define TCL_TPM_CRED_SECRET_MAX	520	/* marshalled TPM2B_ENCRYPTED_SECRET */
#define TCL_TPM_NONCE_MAX	64	/* TPM2B_DATA: callers hash longer binding data */

/* Facts from a verified quote the attestor needs to judge freshness and reboots. */
struct tcl_tpm_quote_info {
	uint64_t clock;
	uint32_t reset_count;		/* changes on TPM reset (reboot): PCRs start over */
	uint32_t restart_count;
	int safe;
	uint64_t firmware_version;
};

const char *tcl_tpm_alg_name(uint16_t alg);	/* "sha256" (an OpenSSL digest name) or NULL */
size_t tcl_tpm_alg_size(uint16_t alg);		/* digest size, 0 if unknown */
uint16_t tcl_tpm_alg_by_name(const char *name);	/* "sha384" -> TCL_TPM_ALG_SHA384, 0 if unknown */

/* Marshalled TPM2B_PUBLIC (RSA or ECC P-256/P-384) to PEM SubjectPublicKeyInfo (free()). */
int tcl_tpm_pub_pem_sw(const uint8_t *pub, size_t len, char **pem);
/* Check that @pub is an attestation key (restricted, sign, fixedTPM, fixedParent,
 * sensitiveDataOrigin, not decrypt) and compute its TPM name. *name_len: capacity in. */
int tcl_tpm_ak_check_sw(const uint8_t *pub, size_t len, uint8_t *name, size_t *name_len);
/* 0 if the certificate (DER) certifies the key in @ek_pub, -EKEYREJECTED if not.  The chain
 * to a manufacturer CA is the caller's job. */
int tcl_tpm_ek_cert_match_sw(const uint8_t *der, size_t der_len,
			     const uint8_t *ek_pub, size_t ek_len);
/* TPM2_MakeCredential for an RSA EK: @secret (at most the EK nameAlg digest size, 32 bytes
 * for SHA-256) for the key named @ak_name.
 * *blob_len / *enc_len: capacity in, size out (marshalled TPM2B_ID_OBJECT and
 * TPM2B_ENCRYPTED_SECRET, what tcl_tpm_activate_credential takes). */
int tcl_tpm_make_credential_sw(const uint8_t *ek_pub, size_t ek_len,
			       const uint8_t *ak_name, size_t name_len,
			       const uint8_t *secret, size_t secret_len,
			       uint8_t *blob, size_t *blob_len, uint8_t *enc, size_t *enc_len);
/* Verify a quote: signature by @ak_pem over @attest, magic and type, extraData == @nonce,
 * a selection of exactly @pcr_mask in @bank, and pcrDigest == H(@values), @values being the
 * selected PCR values concatenated in ascending PCR order.  @info may be NULL.
 * -EBADMSG malformed, -EKEYREJECTED bad signature, -ESTALE nonce, -EILSEQ PCRs. */
int tcl_tpm_verify_quote_sw(const char *ak_pem, const uint8_t *attest, size_t attest_len,
			    const uint8_t *sig, size_t sig_len,
			    const uint8_t *nonce, size_t nonce_len,
			    uint16_t bank, uint32_t pcr_mask,
			    const uint8_t *values, size_t values_len,
			    struct tcl_tpm_quote_info *info);

#endif
