/* SPDX-License-Identifier: GPL-2.0 */
/* Parsers for the bodies nodes send to the attestor (enrolment, activation, evidence).
 * Strict and bounded: the body is parsed by tcl_json_parse (size limit, RFC 8259, UTF-8); every
 * key must be known, every field has its type and size; binary fields are strict base64.  On
 * error the return is -EINVAL (-EFBIG for a field over its limit) and @err says which field and
 * why, in words fit for an HTTP error body.  Nothing is logged here.
 *
 * Evidence:   {"nonce":"<64 hex>","attest":"<b64 TPMS_ATTEST>","sig":"<b64 TPMT_SIGNATURE>",
 *              "bank":"sha256"|"sha1"|"sha384"|"sha512","pcr_mask":<int>,
 *              "pcr_values":"<b64, selected PCRs in order>",
 *              "log_offset":<int>,"log":"<b64 IMA binary log bytes from log_offset>"}
 * Enrolment:  {"node_id":"...","ek_pub":"<b64 TPM2B_PUBLIC>","ak_pub":"<b64 TPM2B_PUBLIC>",
 *              "tls_cert_sha256":"<64 hex>"[,"ek_cert":"<b64 DER>"]}
 * Activation: {"secret":"<b64>"} */
#ifndef ATT_EVIDENCE_H
#define ATT_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "tpm.h"

#define ATT_EK_CERT_MAX		8192

struct att_evidence {
	uint8_t nonce[32];
	uint8_t attest[TCL_TPM_ATTEST_MAX];
	size_t attest_len;
	uint8_t sig[TCL_TPM_SIG_MAX];
	size_t sig_len;
	uint16_t bank;
	uint32_t pcr_mask;
	uint8_t pcr_values[TCL_TPM_NUM_PCRS * TCL_TPM_MAX_DIGEST];
	size_t pcr_values_len;
	uint64_t log_offset;
	uint8_t *log;		/* malloc'd, never NULL after a successful parse */
	size_t log_len;
};

struct att_enrol_req {
	char node_id[254];
	uint8_t ek_pub[TCL_TPM_PUB_MAX];
	size_t ek_pub_len;
	uint8_t ak_pub[TCL_TPM_PUB_MAX];
	size_t ak_pub_len;
	char tls_sha256[65];
	uint8_t *ek_cert;	/* NULL when absent */
	size_t ek_cert_len;
};

struct att_activate_req {
	uint8_t secret[64];
	size_t secret_len;
};

/* @max_body: JSON size limit; @max_log: decoded log bytes limit. */
int att_evidence_parse(const char *buf, size_t len, size_t max_body, size_t max_log,
		       struct att_evidence *ev, char *err, size_t errlen);
void att_evidence_free(struct att_evidence *ev);

int att_enrol_parse(const char *buf, size_t len, struct att_enrol_req *r, char *err,
		    size_t errlen);
void att_enrol_free(struct att_enrol_req *r);

int att_activate_parse(const char *buf, size_t len, struct att_activate_req *r, char *err,
		       size_t errlen);

#endif
