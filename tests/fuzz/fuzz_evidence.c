// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target for what the attestor reads from the network and from its disk: evidence
 * bodies (parsed, then the log inside replayed and appraised), enrolment bodies, scheduler
 * ExtenderArgs, the state file, and raw logs that are "resealed" (template SHA-1 fixed up, as
 * fuzz_log does) and replayed to their own PCR value so that appraisal of every entry kind is
 * reached.  The first input byte picks the mode, the rest is the input.
 *
 * Build and run (from the top of the tree): tests/fuzz/run.sh evidence, which links it against
 * the instrumented archives of lib/ and attestor/; to keep a corpus:
 *   mkdir -p build/fuzz-evidence
 *   TCL_FUZZ_SEED_DIR=build/fuzz-evidence build/fuzz/fuzz_evidence -max_total_time=60 \
 *     -max_len=65536 build/fuzz-evidence
 * TCL_FUZZ_SEED_DIR makes the target write its seeds (a valid evidence body whose log holds
 * every entry kind, an enrolment, ExtenderArgs, a state file, a raw log) there first. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "appraise.h"
#include "hexb64.h"
#include "canonjson.h"
#include "diag.h"
#include "evidence.h"
#include "filter.h"
#include "fuzz.h"
#include "golden.h"
#include "log.h"
#include "state.h"
#include "util.h"

#define D_APP "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static struct tcl_golden *golden;
static struct att_allow host;
static uint8_t hello[32];
static uint8_t ak[2 + 24 + 256];	/* an RSA attestation key's TPM2B_PUBLIC */

static int fake_golden(void *arg, const char *image, const char *digest,
		       const struct tcl_golden **g, const char **keyid, char *err, size_t errlen)
{
	*g = NULL;
	*keyid = NULL;
	if (!strcmp(digest, D_APP)) {
		*g = golden;
		*keyid = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
		return 0;
	}
	if (digest[7] == '3') {
		snprintf(err, errlen, "down");
		return -EAGAIN;
	}
	snprintf(err, errlen, "none");
	return -ENOENT;
}

static const struct att_appraise_cfg cfg = { .pcr = 13, .bank = TCL_LOG_SHA256,
					     .max_entries = 100000,
					     .host_allow = &host, .golden = fake_golden };

static enum att_verdict verdict(void *arg, const char *node, char *reason, size_t len)
{
	snprintf(reason, len, "r");
	return node[0] == 'a' ? ATT_TRUSTED : ATT_UNTRUSTED;
}

static void extend(uint8_t pcr[32], const uint8_t d[32])
{
	uint8_t b[64];

	memcpy(b, pcr, 32);
	memcpy(b + 32, d, 32);
	EVP_Digest(b, 64, pcr, NULL, EVP_sha256(), NULL);
}

/* Appraise @log on a fresh node, to @quoted; check the promises of att_appraise. */
static void appraise(const uint8_t *log, size_t len, const uint8_t quoted[32],
		     const uint8_t *pcr0_9)
{
	struct att_node *n = calloc(1, sizeof(*n));
	struct att_appraise_res res;
	struct att_state st = { 0 };
	struct json_object *o;
	int rc;

	if (!n)
		return;
	strcpy(n->id, "node");
	strcpy(n->ek_cert, "none");
	memset(n->tls_sha256, 'a', 64);
	n->enrolled = true;
	rc = att_appraise(&cfg, n, log, len, quoted, pcr0_9, 1, &res);
	if (rc && (n->log_offset || n->containers.n || n->findings.total))
		abort();	/* a failure leaves the node untouched */
	if (!rc && (n->log_offset != res.accepted_len || res.accepted_len > len ||
		    memcmp(n->pcr, quoted, 32)))
		abort();
	if (!rc && strlen(res.error) >= sizeof(res.error))
		abort();
	o = att_node_json(n, 1, 10);
	json_object_put(o);
	/* what was appraised survives a save and a load unchanged */
	if (att_node_set_ak(n, ak, sizeof(ak)) || tcl_map_put(&st.nodes, n->id, n)) {
		free(n->ak_pem);
		free(n);	/* (only an allocation failure gets here) */
		return;
	}
	{
		struct att_state st2 = { 0 };
		char *j = NULL, *j2 = NULL;
		size_t jl, jl2;

		if (!att_state_to_json(&st, &j, &jl) &&
		    (att_state_from_json(j, jl, &st2) || att_state_to_json(&st2, &j2, &jl2) ||
		     jl != jl2 || memcmp(j, j2, jl)))
			abort();
		free(j);
		free(j2);
		att_state_free(&st2);
	}
	att_state_free(&st);
}

static void raw_log(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1), pcr[32] = { 0 }, zero[10 * 32] = { 0 };
	struct tcl_log_entry e;
	struct tcl_log_digests d;
	size_t off = 0, n;

	if (!p)
		return;
	memcpy(p, data, size);
	fuzz_reseal(p, size, 64);
	/* the PCR the valid prefix replays to, so that appraisal runs over all of it */
	while (off < size && !tcl_log_parse_entry(p + off, size - off, &e, &n, NULL)) {
		if (e.pcr == 13 && !tcl_log_entry_digests(&e, &d))
			extend(pcr, d.sha256);
		off += n;
	}
	appraise(p, size, pcr, zero);
	free(p);
}

static void evidence(const uint8_t *data, size_t size)
{
	struct att_evidence ev;
	uint8_t q[32] = { 0 };
	char err[512];

	if (att_evidence_parse((const char *)data, size, 1 << 20, 1 << 20, &ev, err, sizeof(err))) {
		if (!err[0] || strlen(err) >= sizeof(err))
			abort();
		return;
	}
	if (ev.pcr_values_len >= 32)
		memcpy(q, ev.pcr_values + ev.pcr_values_len - 32, 32);
	appraise(ev.log, ev.log_len, q, ev.pcr_values_len >= 320 ? ev.pcr_values : NULL);
	att_evidence_free(&ev);
}

static void state(const uint8_t *data, size_t size)
{
	struct att_state st = { 0 }, st2 = { 0 };
	char *j = NULL;
	size_t jl;

	if (!att_state_from_json((const char *)data, size, &st)) {
		/* accepted: it serialises and reads back the same */
		char *j2 = NULL;
		size_t jl2;

		if (att_state_to_json(&st, &j, &jl) || att_state_from_json(j, jl, &st2) ||
		    att_state_to_json(&st2, &j2, &jl2) || jl != jl2 || memcmp(j, j2, jl))
			abort();
		free(j2);
	}
	free(j);
	att_state_free(&st);
	att_state_free(&st2);
}

/* ---- seeds ---- */

static void write_seeds(const char *dir)
{
	struct tcl_log_buf b = { 0 };
	struct tcl_log_digests d;
	uint8_t pcr[32] = { 0 }, zero[10][32] = { { 0 } }, agg[32], vals[11 * 32] = { 0 };
	const char *start = "{\"container_id\":\"c1\",\"image\":\"r/app:v1\",\"image_digest\":\""
			    D_APP "\"}";
	const char *verify = "{\"image\":\"r/app:v1\",\"image_digest\":\"" D_APP
			     "\",\"result\":\"verified\"}";
	const char *lost = "{\"count\":3,\"source\":\"kernel\"}";
	char *lb = NULL, *vb = NULL, *body = NULL;
	size_t n;

	tcl_log_boot_aggregate(zero, agg);
	tcl_log_encode_ng(&b, 13, agg, "boot_aggregate", &d);
	extend(pcr, d.sha256);
	tcl_log_encode_buf(&b, 13, "container_start", start, strlen(start), &d);
	extend(pcr, d.sha256);
	tcl_log_encode_buf(&b, 13, "image_verify", verify, strlen(verify), &d);
	extend(pcr, d.sha256);
	tcl_log_encode_ng(&b, 13, hello, "c1:/bin/hello", &d);
	extend(pcr, d.sha256);
	tcl_log_encode_ng(&b, 13, agg, "c1:/bin/other", &d);
	extend(pcr, d.sha256);
	tcl_log_encode_ng(&b, 13, agg, "/usr/bin/host", &d);
	extend(pcr, d.sha256);
	tcl_log_encode_buf(&b, 13, "container_stop", "{\"container_id\":\"c1\"}", 21, &d);
	extend(pcr, d.sha256);
	tcl_log_encode_buf(&b, 13, "records_lost", lost, strlen(lost), &d);
	extend(pcr, d.sha256);
	fuzz_seed(dir, "log", 4, b.p, b.len);
	memcpy(vals + 10 * 32, pcr, 32);
	tcl_b64_encode(b.p, b.len, &lb, NULL);
	tcl_b64_encode(vals, sizeof(vals), &vb, NULL);
	n = (size_t)asprintf(&body, "{\"nonce\":\"%064d\",\"attest\":\"AAAA\",\"sig\":\"AAAA\","
			     "\"bank\":\"sha256\",\"pcr_mask\":9215,\"pcr_values\":\"%s\","
			     "\"log_offset\":0,\"log\":\"%s\"}", 0, vb, lb);
	fuzz_seed(dir, "evidence", 0, body, n);
	free(body);
	n = (size_t)asprintf(&body, "{\"node_id\":\"node-a\",\"ek_pub\":\"AAEC\",\"ak_pub\":"
			     "\"AAED\",\"tls_cert_sha256\":\"%064d\",\"ek_cert\":\"MIIB\"}", 0);
	fuzz_seed(dir, "enrol", 1, body, n);
	free(body);
	body = "{\"Pod\":{},\"Nodes\":{\"items\":[{\"metadata\":{\"name\":\"a\"}},"
	       "{\"metadata\":{\"name\":\"b\"}}]},\"NodeNames\":[\"a\",\"b\",\"C\"]}";
	fuzz_seed(dir, "filter", 2, body, strlen(body));
	body = "{\"version\":1,\"nodes\":[{\"id\":\"n\",\"enrolled_at\":1,\"ak_pub\":\"AAAA\","
	       "\"ak_name\":\"\",\"ek_sha256\":\"\",\"ek_cert\":\"none\",\"tls_sha256\":\"x\","
	       "\"log_offset\":0,\"log_entries\":0,\"pcr\":\"00\",\"last_evidence\":0,"
	       "\"evidence_ok\":0,\"evidence_failed\":0,\"unappraised\":0,\"findings\":[],"
	       "\"findings_total\":0,\"containers\":[]}]}";
	fuzz_seed(dir, "state", 3, body, strlen(body));
	free(lb);
	free(vb);
	tcl_log_buf_free(&b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct json_object *o = json_object_new_object(), *files = json_object_new_object();
	const char *dir = getenv("TCL_FUZZ_SEED_DIR");
	char hex[65], *text = NULL;
	size_t len;

	tcl_verbosity = -1;
	EVP_Digest("hello", 5, hello, NULL, EVP_sha256(), NULL);
	tcl_hex(hello, 32, hex);
	json_object_object_add(files, "/bin/hello", json_object_new_string(hex));
	json_object_object_add(o, "config_digest", json_object_new_string(D_APP));
	json_object_object_add(o, "files", files);
	json_object_object_add(o, "image", json_object_new_string("r/app:v1"));
	json_object_object_add(o, "manifest_digest", json_object_new_string(D_APP));
	json_object_object_add(o, "version", json_object_new_int(1));
	if (tcl_canon_json(o, &text, &len) || tcl_golden_parse(text, len, &golden))
		abort();
	free(text);
	json_object_put(o);
	/* RSA 2048, restricted signing, fixedTPM/fixedParent/sensitiveDataOrigin/userWithAuth */
	memcpy(ak, "\x01\x18\x00\x01\x00\x0b\x00\x05\x00\x72\x00\x00\x00\x10\x00\x14"
	       "\x00\x0b\x08\x00\x00\x00\x00\x00\x01\x00", 26);
	memset(ak + 26, 0xa5, 256);
	host.d = malloc(32);
	memcpy(host.d[0], hello, 32);
	host.d[0][0] ^= 1;
	host.n = 1;
	if (dir)
		write_seeds(dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct att_enrol_req r;
	char err[512], *out = NULL;
	size_t olen;

	if (!size)
		return 0;
	switch (data[0] % 5) {
	case 0:
		evidence(data + 1, size - 1);
		break;
	case 1:
		if (!att_enrol_parse((const char *)data + 1, size - 1, &r, err, sizeof(err)))
			att_enrol_free(&r);
		break;
	case 2:
		if (!att_filter((const char *)data + 1, size - 1, 1 << 20, verdict, NULL, &out,
				&olen, err, sizeof(err)) && strlen(out) != olen)
			abort();
		free(out);
		break;
	case 3:
		state(data + 1, size - 1);
		break;
	default:
		raw_log(data + 1, size - 1);
	}
	return 0;
}
