// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "escape.h"
#include "hexb64.h"
#include "canonjson.h"
#include "evidence.h"
#include "state.h"
#include "util.h"

#define SMALL_BODY_MAX	(64u << 10)

/* Parse and check the top level: an object whose keys are all in @keys. */
static int top(const char *what, const char *buf, size_t len, size_t max,
	       const char *const *keys, struct json_object **out, char *err, size_t errlen)
{
	struct json_object *o = NULL;
	int rc;

	*out = NULL;
	rc = tcl_json_parse(what, buf, len, max, &o);
	if (rc == -EFBIG) {
		snprintf(err, errlen, "%s: body of %zu bytes is over the limit of %zu", what, len,
			 max);
		return rc;
	}
	if (rc) {
		snprintf(err, errlen, "%s: body is not valid JSON (RFC 8259, UTF-8, no NUL)",
			 what);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "%s: body is not a JSON object", what);
		json_object_put(o);
		return -EINVAL;
	}
	json_object_object_foreach(o, k, v) {
		size_t i;

		(void)v;
		for (i = 0; keys[i]; i++)
			if (!strcmp(k, keys[i]))
				break;
		if (!keys[i]) {
			char kb[64];

			/* keys are valid UTF-8 here, but may hold control characters */
			tcl_esc_ctrl(k, kb, 49, TCL_ESC_C0);
			snprintf(err, errlen, "%s: unknown key \"%s\"", what, kb);
			json_object_put(o);
			return -EINVAL;
		}
	}
	*out = o;
	return 0;
}

/* The string value of @k; NULL and an error unless it is present (when @required). */
static const char *str(struct json_object *o, const char *what, const char *k, bool required,
		       size_t *len, char *err, size_t errlen, int *rc)
{
	struct json_object *v;

	if (*rc)
		return NULL;
	if (!json_object_object_get_ex(o, k, &v)) {
		if (required) {
			snprintf(err, errlen, "%s: \"%s\" is missing", what, k);
			*rc = -EINVAL;
		}
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "%s: \"%s\" is not a string", what, k);
		*rc = -EINVAL;
		return NULL;
	}
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

static void b64_field(struct json_object *o, const char *what, const char *k, bool required,
		      uint8_t *out, size_t cap, size_t *olen, char *err, size_t errlen, int *rc)
{
	size_t len = 0;
	const char *s = str(o, what, k, required, &len, err, errlen, rc);
	int r;

	if (!s)
		return;
	r = tcl_b64_decode_buf(s, len, out, cap, olen);
	if (r == -EFBIG) {
		snprintf(err, errlen, "%s: \"%s\" decodes to more than %zu bytes", what, k, cap);
		*rc = r;
	} else if (r || !*olen) {
		snprintf(err, errlen, "%s: \"%s\" is not non-empty base64", what, k);
		*rc = -EINVAL;
	}
}

static void b64_alloc(struct json_object *o, const char *what, const char *k, bool required,
		      bool empty_ok, size_t max, uint8_t **out, size_t *olen, char *err,
		      size_t errlen, int *rc)
{
	size_t len = 0;
	const char *s = str(o, what, k, required, &len, err, errlen, rc);
	int r;

	if (!s)
		return;
	r = tcl_b64_decode(s, len, max, out, olen);
	if (r == -EFBIG) {
		snprintf(err, errlen, "%s: \"%s\" decodes to more than %zu bytes", what, k, max);
		*rc = r;
	} else if (r == -ENOMEM) {
		snprintf(err, errlen, "%s: out of memory", what);
		*rc = r;
	} else if (r || (!*olen && !empty_ok)) {
		snprintf(err, errlen, "%s: \"%s\" is not %sbase64", what, k,
			 empty_ok ? "" : "non-empty ");
		free(*out);
		*out = NULL;
		*rc = -EINVAL;
	}
}

static void hex_field(struct json_object *o, const char *what, const char *k, uint8_t *out,
		      size_t n, char *err, size_t errlen, int *rc)
{
	size_t len = 0;
	const char *s = str(o, what, k, true, &len, err, errlen, rc);

	if (!s)
		return;
	if (len != 2 * n || !tcl_is_hex(s, len) || tcl_unhex(s, out, n)) {
		snprintf(err, errlen, "%s: \"%s\" is not %zu lowercase hex digits", what, k,
			 2 * n);
		*rc = -EINVAL;
	}
}

static int64_t int_field(struct json_object *o, const char *what, const char *k, int64_t min,
			 int64_t max, char *err, size_t errlen, int *rc)
{
	struct json_object *v;
	int64_t x;

	if (*rc)
		return 0;
	if (!json_object_object_get_ex(o, k, &v)) {
		snprintf(err, errlen, "%s: \"%s\" is missing", what, k);
		*rc = -EINVAL;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "%s: \"%s\" is not an integer", what, k);
		*rc = -EINVAL;
		return 0;
	}
	x = json_object_get_int64(v);
	/* json-c saturates values outside int64 without a word: the extremes are refused */
	if (x == INT64_MAX || x == INT64_MIN || x < min || x > max) {
		snprintf(err, errlen, "%s: \"%s\" is out of range", what, k);
		*rc = -EINVAL;
		return 0;
	}
	return x;
}

int att_evidence_parse(const char *buf, size_t len, size_t max_body, size_t max_log,
		       struct att_evidence *ev, char *err, size_t errlen)
{
	static const char *const keys[] = { "nonce", "attest", "sig", "bank", "pcr_mask",
					     "pcr_values", "log_offset", "log", NULL };
	const char *what = "evidence", *bank;
	struct json_object *o;
	size_t blen = 0;
	int rc;

	memset(ev, 0, sizeof(*ev));
	err[0] = '\0';
	rc = top(what, buf, len, max_body, keys, &o, err, errlen);
	if (rc)
		return rc;
	hex_field(o, what, "nonce", ev->nonce, sizeof(ev->nonce), err, errlen, &rc);
	b64_field(o, what, "attest", true, ev->attest, sizeof(ev->attest), &ev->attest_len, err,
		  errlen, &rc);
	b64_field(o, what, "sig", true, ev->sig, sizeof(ev->sig), &ev->sig_len, err, errlen,
		  &rc);
	bank = str(o, what, "bank", true, &blen, err, errlen, &rc);
	if (bank) {
		/* the banks a log can be replayed in; which one the attestor takes is api.c's */
		if (strlen(bank) != blen || tcl_log_alg_from_name(bank) < 0) {
			snprintf(err, errlen, "%s: \"bank\" must be \"sha256\", \"sha1\", "
				 "\"sha384\" or \"sha512\"", what);
			rc = -EINVAL;
		}
		ev->bank = tcl_tpm_alg_by_name(bank);
	}
	ev->pcr_mask = (uint32_t)int_field(o, what, "pcr_mask", 1, (1 << TCL_TPM_NUM_PCRS) - 1,
					   err, errlen, &rc);
	b64_field(o, what, "pcr_values", true, ev->pcr_values, sizeof(ev->pcr_values),
		  &ev->pcr_values_len, err, errlen, &rc);
	ev->log_offset = (uint64_t)int_field(o, what, "log_offset", 0, INT64_MAX, err, errlen,
					     &rc);
	b64_alloc(o, what, "log", true, true, max_log, &ev->log, &ev->log_len, err, errlen, &rc);
	json_object_put(o);
	if (rc)
		att_evidence_free(ev);
	return rc;
}

void att_evidence_free(struct att_evidence *ev)
{
	free(ev->log);
	ev->log = NULL;
	ev->log_len = 0;
}

int att_enrol_parse(const char *buf, size_t len, struct att_enrol_req *r, char *err,
		    size_t errlen)
{
	static const char *const keys[] = { "node_id", "ek_pub", "ak_pub", "tls_cert_sha256",
					     "ek_cert", NULL };
	const char *what = "enrolment", *id;
	uint8_t tls[32];
	struct json_object *o;
	size_t idlen = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	err[0] = '\0';
	rc = top(what, buf, len, SMALL_BODY_MAX, keys, &o, err, errlen);
	if (rc)
		return rc;
	id = str(o, what, "node_id", true, &idlen, err, errlen, &rc);
	if (id) {
		if (idlen != strlen(id) || !att_node_id_valid(id)) {
			snprintf(err, errlen, "%s: \"node_id\" is not a node name (lowercase "
				 "letters, digits, '-' and '.', at most %d)", what,
				 ATT_NODE_ID_MAX);
			rc = -EINVAL;
		} else {
			memcpy(r->node_id, id, idlen + 1);
		}
	}
	b64_field(o, what, "ek_pub", true, r->ek_pub, sizeof(r->ek_pub), &r->ek_pub_len, err,
		  errlen, &rc);
	b64_field(o, what, "ak_pub", true, r->ak_pub, sizeof(r->ak_pub), &r->ak_pub_len, err,
		  errlen, &rc);
	hex_field(o, what, "tls_cert_sha256", tls, sizeof(tls), err, errlen, &rc);
	if (!rc)
		tcl_hex(tls, sizeof(tls), r->tls_sha256);
	b64_alloc(o, what, "ek_cert", false, false, ATT_EK_CERT_MAX, &r->ek_cert,
		  &r->ek_cert_len, err, errlen, &rc);
	json_object_put(o);
	if (rc)
		att_enrol_free(r);
	return rc;
}

void att_enrol_free(struct att_enrol_req *r)
{
	free(r->ek_cert);
	r->ek_cert = NULL;
	r->ek_cert_len = 0;
}

int att_activate_parse(const char *buf, size_t len, struct att_activate_req *r, char *err,
		       size_t errlen)
{
	static const char *const keys[] = { "secret", NULL };
	struct json_object *o;
	int rc;

	memset(r, 0, sizeof(*r));
	err[0] = '\0';
	rc = top("activation", buf, len, SMALL_BODY_MAX, keys, &o, err, errlen);
	if (rc)
		return rc;
	b64_field(o, "activation", "secret", true, r->secret, sizeof(r->secret), &r->secret_len,
		  err, errlen, &rc);
	json_object_put(o);
	return rc;
}
