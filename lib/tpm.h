/* SPDX-License-Identifier: GPL-2.0 */
/* TPM 2.0 access through libtss2 ESYS: PCR banks, read and extend, the attestation key (AK)
 * under the endorsement key (EK), quotes, credential activation.  This module is the only
 * caller of Esys_* in tcl.  All functions return 0 or -errno and log the reason once.
 *
 * A struct tcl_tpm may be shared between threads (calls are serialised by a mutex); a TPM
 * command is never issued from the exec path.
 *
 * The *_sw functions need no TPM (tpm_verify.h, included here): the attestor uses them to
 * check quotes, AKs and EK certificates and to run TPM2_MakeCredential in software.
 *
 * Algorithms are TPM_ALG_ID values; digests are raw bytes.  Byte strings called "TPM2B_PUBLIC"
 * are the TPM wire format (big endian, size-prefixed), as tpm2_readpublic -f tss writes. */
#ifndef TCL_TPM_H
#define TCL_TPM_H

#include <stddef.h>
#include <stdint.h>

#include "tpm_verify.h"

struct tcl_tpm;

/* Digests of one measurement, one per bank.  Extends fill exactly the banks that are
 * allocated for the PCR; a digest for a bank that is not allocated is ignored. */
struct tcl_tpm_digests {
	uint32_t n;
	struct {
		uint16_t alg;
		uint8_t d[TCL_TPM_MAX_DIGEST];
	} v[TCL_TPM_MAX_BANKS];
};

struct tcl_tpm_ak {
	uint32_t handle;		/* persistent handle */
	int created;			/* 1: created by this call, 0: loaded */
	uint8_t pub[TCL_TPM_PUB_MAX];	/* marshalled TPM2B_PUBLIC */
	size_t pub_len;
	uint8_t name[TCL_TPM_NAME_MAX];	/* TPM name: u16 nameAlg || H(TPMT_PUBLIC) */
	size_t name_len;
};

struct tcl_tpm_quote {
	uint8_t attest[TCL_TPM_ATTEST_MAX];	/* TPMS_ATTEST bytes, as tpm2_quote -m writes */
	size_t attest_len;
	uint8_t sig[TCL_TPM_SIG_MAX];		/* TPMT_SIGNATURE, as tpm2_quote -s writes */
	size_t sig_len;
	uint8_t pcrs_file[TCL_TPM_PCRS_FILE_MAX]; /* as tpm2_quote -o writes (-F serialized) */
	size_t pcrs_file_len;
	uint16_t bank;
	uint32_t pcr_mask;			/* bit i = PCR i */
	size_t digest_len;
	/* The selected PCR values concatenated in ascending PCR order: what pcrDigest hashes,
	 * what the evidence carries and tcl_tpm_verify_quote_sw takes. */
	uint8_t values[TCL_TPM_NUM_PCRS * TCL_TPM_MAX_DIGEST];
	size_t values_len;
};


/* tcti_conf: "device:/dev/tpmrm0", "swtpm:host=127.0.0.1,port=2321", ... (NULL: libtss2
 * default).  "none" gives -ENODEV without a message: the caller runs without a TPM. */
int tcl_tpm_open(const char *tcti_conf, struct tcl_tpm **out);
void tcl_tpm_close(struct tcl_tpm *t);

/* Allocated banks for @pcr.  *n: capacity of @algs in, count out (-ENOSPC if too small). */
int tcl_tpm_banks(struct tcl_tpm *t, uint32_t pcr, uint16_t *algs, size_t *n);
/* *len: capacity in, digest size out.  -ENOENT if @alg is not allocated for @pcr. */
int tcl_tpm_pcr_read(struct tcl_tpm *t, uint32_t pcr, uint16_t alg, uint8_t *out, size_t *len);
/* Every PCR in @mask (bit i = PCR i) of bank @alg: PCR i's value at @out + i * *dlen
 * (*dlen = digest size; unselected slots untouched).  Mask 0x3ff gives PCRs 0-9 back to back
 * for boot_aggregate; 0xffffff a whole bank (24 x 20 or 24 x 32 bytes) for evmctl --pcrs. */
int tcl_tpm_pcr_read_many(struct tcl_tpm *t, uint16_t alg, uint32_t mask, uint8_t *out,
			  size_t out_len, size_t *dlen);

/* Append @alg's digest (tcl_tpm_alg_size(@alg) bytes) to @d (zero-initialised). */
int tcl_tpm_digests_add(struct tcl_tpm_digests *d, uint16_t alg, const uint8_t *digest);
/* One TPM2_PCR_Extend covering every allocated bank of @pcr.  -EOPNOTSUPP, before touching
 * the PCR, when an allocated bank has no digest in @d: that bank could never be verified. */
int tcl_tpm_extend(struct tcl_tpm *t, uint32_t pcr, const struct tcl_tpm_digests *d);
/* @n extends in order under one lock, all entries checked first.  *done (may be NULL) says
 * how many reached the PCR, also on failure, so the caller knows where the log stands. */
int tcl_tpm_extend_batch(struct tcl_tpm *t, uint32_t pcr, const struct tcl_tpm_digests *d,
			 size_t n, size_t *done);

/* Load the AK at @handle (0: TCL_TPM_AK_HANDLE) or, when the handle is free, create it as
 * tpm2_createek + tpm2_createak do (RSA 2048 EK from the TCG default template; restricted
 * RSASSA-SHA256 RSA 2048 AK as its child) and make it persistent.  -EEXIST if the handle
 * holds a key that is not a restricted signing key.  The AK stays loaded in @t. */
int tcl_tpm_ak_ensure(struct tcl_tpm *t, uint32_t handle, struct tcl_tpm_ak *ak);
/* PEM SubjectPublicKeyInfo of the loaded AK (free()); what tpm2_checkquote -u reads. */
int tcl_tpm_ak_public_pem(struct tcl_tpm *t, char **pem);
/* EK public (TCG default RSA template, recreated with CreatePrimary), marshalled
 * TPM2B_PUBLIC; *len: capacity in, size out.  PEM with tcl_tpm_pub_pem_sw(). */
int tcl_tpm_ek_public(struct tcl_tpm *t, uint8_t *pub, size_t *len);
/* DER EK certificate from NV TCL_TPM_EK_CERT_NV (malloc'd); -ENOENT when absent. */
int tcl_tpm_ek_cert(struct tcl_tpm *t, uint8_t **der, size_t *len);

/* TPM2_Quote with the loaded AK over @pcr_mask of @bank, @nonce as qualifying data
 * (<= TCL_TPM_NONCE_MAX bytes), plus the PCR values the quote covers. */
int tcl_tpm_quote(struct tcl_tpm *t, const uint8_t *nonce, size_t nonce_len, uint16_t bank,
		  uint32_t pcr_mask, struct tcl_tpm_quote *q);
/* quote.msg quote.sig quote.pcrs ak.pub.pem in @dir (created if missing), so that
 * tpm2_checkquote -u ak.pub.pem -m quote.msg -s quote.sig -f quote.pcrs -g sha256 -q NONCE */
int tcl_tpm_quote_write_dir(const struct tcl_tpm_quote *q, const char *ak_pem, const char *dir);

/* TPM2_ActivateCredential with the loaded AK and the EK (PolicySecret(endorsement), empty
 * endorsement auth).  @blob: marshalled TPM2B_ID_OBJECT, @secret: marshalled
 * TPM2B_ENCRYPTED_SECRET; *out_len: capacity in, size out.  Fails unless the AK and the EK
 * the attestor encrypted to live in this TPM. */
int tcl_tpm_activate_credential(struct tcl_tpm *t, const uint8_t *blob, size_t blob_len,
				const uint8_t *secret, size_t secret_len,
				uint8_t *out, size_t *out_len);

#endif
