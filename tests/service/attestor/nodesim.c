// SPDX-License-Identifier: GPL-2.0
/*
 * A simulated tcl node for the attestor tests: a real TPM (swtpm), a real measurement log
 * (lib/log.h, the agent's writer) and the agent's attestation client (agent/attest_client.h),
 * plus the ways a compromised node could try to cheat.
 *
 *   nodesim OPTIONS enrol [--force]
 *   nodesim OPTIONS append [--log-only|--tpm-only] ENTRY...
 *       boot                     boot_aggregate of the TPM's PCRs 0-9 (first entry)
 *       start,CID,IMAGE,DIGEST   container_start record (canonical JSON)
 *       stop,CID                 container_stop record
 *       exec,CID,PATH,HEX        file executed in a container ("CID:PATH", sha256 HEX)
 *       host,PATH,HEX            file executed on the host
 *       verify,IMAGE,DIGEST,RESULT[,GOLDEN_SHA256]   image_verify record
 *   (fields are separated by ',' since image references and digests contain ':')
 *   nodesim OPTIONS push                 one attestation round (with the client's retries)
 *   nodesim OPTIONS forge KEY.pem        quote re-signed with another RSA key
 *   nodesim OPTIONS replay               honest evidence, then the same evidence again
 *   nodesim OPTIONS stale SECONDS        wait that long between challenge and evidence
 *   nodesim OPTIONS tamper [--no-reseal] the last log entry sent with another file digest
 *   nodesim OPTIONS relay CERT.pem       quote bound to another TLS client certificate
 *   nodesim OPTIONS offset               the acknowledged offset and the log size
 *   nodesim OPTIONS split URL2           challenge from --url, the evidence to URL2 (another
 *                                        replica of the attestor)
 *   nodesim OPTIONS race URL2            a challenge from each of --url and URL2, then both
 *                                        evidences for the same offset at once; prints both
 *   nodesim OPTIONS bench-evidence N     N evidences of the whole log (re-enrolling between
 *                                        them), the POSTs timed; prints a JSON summary
 *   nodesim OPTIONS poll SECONDS INTERVAL [ENTRIES]  a long-running node: ENTRIES (1) host
 *                                        measurements and one attestation round every
 *                                        INTERVAL s; "ok|fail MS"
 * append --from FILE reads entries from FILE, one per line.
 * OPTIONS: --tpm TCTI --url URL --cert PEM --key PEM --ca PEM --dir DIR [--pcr N]
 *          [--attempts N] [--retry-ms N] [--node ID (default: the certificate's CN)]
 *          [--ak-handle H (default 0x81010002)] [--max-log BYTES (client's max_log_bytes)]
 * The log is DIR/log.bin, the client state DIR/attest.json.  Results go to stdout as one JSON
 * line; the exit status is 0 when the attestor accepted the (last) evidence, 1 otherwise,
 * 2 for usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attest_client.h"
#include "canonjson.h"
#include "diag.h"
#include "log.h"
#include "tpm.h"
#include "util.h"

static const char *tcti, *dir;
static uint32_t pcr = 13;
static struct tcl_attest_opts opts;
static char log_path[4096], state_path[4096];

static void usage(FILE *f)
{
	fprintf(f, "Usage: nodesim --tpm TCTI --url URL --cert PEM --key PEM --ca PEM --dir DIR\n"
		"               [--pcr N] [--attempts N] [--retry-ms N] [--node ID]\n"
		"               [--ak-handle H] [--max-log BYTES] COMMAND ...\n"
		"Commands: enrol [--force] | append [--log-only|--tpm-only] ENTRY... | push |\n"
		"          forge KEY.pem | replay | stale SECONDS | tamper [--no-reseal] |\n"
		"          relay CERT.pem | offset | bench-evidence N |\n"
		"          poll SECONDS INTERVAL [ENTRIES] |\n"
		"          split URL2 | race URL2\n"
		"append --from FILE: entries from FILE, one per line\n"
		"Entries: boot | start,CID,IMAGE,DIGEST | stop,CID | exec,CID,PATH,HEX |\n"
		"         host,PATH,HEX | verify,IMAGE,DIGEST,RESULT[,GOLDEN_SHA256]\n");
}

static void print(const char *what, int rc, const struct tcl_attest_result *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "what", json_object_new_string(what));
	json_object_object_add(o, "rc", json_object_new_int(rc));
	json_object_object_add(o, "error", json_object_new_string(rc ? strerror(-rc) : ""));
	json_object_object_add(o, "status", json_object_new_int(r->http_status));
	json_object_object_add(o, "verdict", json_object_new_string(r->verdict));
	json_object_object_add(o, "reason", json_object_new_string(r->reason));
	json_object_object_add(o, "log_offset", json_object_new_int64((int64_t)r->log_offset));
	json_object_object_add(o, "accepted", json_object_new_int64((int64_t)r->accepted_entries));
	json_object_object_add(o, "pending", json_object_new_int64((int64_t)r->pending_entries));
	json_object_object_add(o, "findings", json_object_new_int64((int64_t)r->findings));
	if (r->have_revocations) {
		json_object_object_add(o, "revocations_version",
				       json_object_new_int64((int64_t)r->revocations_version));
		json_object_object_add(o, "revocations",
				       json_object_new_int64((int64_t)r->revocations));
	}
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(o);
}

/* ---- log entries ---- */

static int record(struct tcl_log_buf *b, const char *name, struct json_object *o,
		  struct tcl_log_digests *d)
{
	char *s = NULL;
	size_t len;
	int rc = tcl_canon_json(o, &s, &len);

	if (!rc)
		rc = tcl_log_encode_buf(b, pcr, name, s, len, d);
	free(s);
	json_object_put(o);
	return rc;
}

/* Split @spec at ',' into at most @max fields (the last takes the rest). */
static int split(char *spec, char **f, int max)
{
	int n = 0;

	f[n++] = spec;
	while (n < max && (spec = strchr(spec, ','))) {
		*spec++ = '\0';
		f[n++] = spec;
	}
	return n;
}

static int encode(struct tcl_tpm *t, struct tcl_log_buf *b, char *spec,
		  struct tcl_log_digests *d)
{
	char *f[6];
	uint8_t dg[32];
	int n;

	if (!strcmp(spec, "boot")) {
		uint8_t pcrs[10][32], agg[32];
		size_t dl;
		int rc = tcl_tpm_pcr_read_many(t, TCL_TPM_ALG_SHA256, 0x3ff, &pcrs[0][0],
					       sizeof(pcrs), &dl);

		if (rc)
			return rc;
		tcl_log_boot_aggregate((const uint8_t (*)[32])pcrs, agg);
		return tcl_log_encode_ng(b, pcr, agg, "boot_aggregate", d);
	}
	if (!strncmp(spec, "start,", 6)) {
		struct json_object *o = json_object_new_object();

		n = split(spec + 6, f, 3);
		if (n != 3)
			return -EINVAL;
		/* the keys tcl_ocimeta_start_record writes, those the attestor reads */
		json_object_object_add(o, "container_id", json_object_new_string(f[0]));
		json_object_object_add(o, "image", json_object_new_string(f[1]));
		json_object_object_add(o, "image_digest", json_object_new_string(f[2]));
		json_object_object_add(o, "runtime", json_object_new_string("runc"));
		return record(b, "container_start", o, d);
	}
	if (!strncmp(spec, "stop,", 5)) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "container_id", json_object_new_string(spec + 5));
		return record(b, "container_stop", o, d);
	}
	if (!strncmp(spec, "verify,", 7)) {
		struct json_object *o = json_object_new_object();

		n = split(spec + 7, f, 4);
		if (n < 3)
			return -EINVAL;
		json_object_object_add(o, "image", json_object_new_string(f[0]));
		json_object_object_add(o, "image_digest", json_object_new_string(f[1]));
		json_object_object_add(o, "result", json_object_new_string(f[2]));
		if (n == 4)
			json_object_object_add(o, "golden_manifest", json_object_new_string(f[3]));
		return record(b, "image_verify", o, d);
	}
	if (!strncmp(spec, "exec,", 5)) {
		char name[4400];

		n = split(spec + 5, f, 3);
		if (n != 3 || strlen(f[2]) != 64 || tcl_unhex(f[2], dg, 32))
			return -EINVAL;
		snprintf(name, sizeof(name), "%s:%s", f[0], f[1]);
		return tcl_log_encode_ng(b, pcr, dg, name, d);
	}
	if (!strncmp(spec, "host,", 5)) {
		n = split(spec + 5, f, 2);
		if (n != 2 || strlen(f[1]) != 64 || tcl_unhex(f[1], dg, 32))
			return -EINVAL;
		return tcl_log_encode_ng(b, pcr, dg, f[0], d);
	}
	return -EINVAL;
}

struct entries {
	struct tcl_log_buf b;
	struct tcl_log_digests *d;
	struct tcl_tpm_digests *td;
	size_t n, cap;
};

static int add_entry(struct tcl_tpm *t, struct entries *e, char *spec)
{
	int rc;

	if (e->n == e->cap) {
		size_t cap = e->cap * 2 + 1024;
		void *nd = realloc(e->d, cap * sizeof(*e->d));

		if (!nd)
			return -ENOMEM;
		e->d = nd;
		nd = realloc(e->td, cap * sizeof(*e->td));
		if (!nd)
			return -ENOMEM;
		e->td = nd;
		e->cap = cap;
	}
	rc = encode(t, &e->b, spec, &e->d[e->n]);
	if (rc) {
		fprintf(stderr, "nodesim: bad entry '%s'\n", spec);
		return rc;
	}
	/* every bank's digest, as the agent: the extend takes those of the allocated banks */
	memset(&e->td[e->n], 0, sizeof(*e->td));
	for (int a = 0; a < TCL_LOG_NR_ALGS; a++)
		tcl_tpm_digests_add(&e->td[e->n], tcl_tpm_alg_by_name(tcl_log_alg_name(a)),
				    tcl_log_digest_of(&e->d[e->n], a));
	e->n++;
	return 0;
}

/* Entries from a file, one per line (for logs too long for a command line). */
static int append_from(struct tcl_tpm *t, const char *path, struct entries *e)
{
	FILE *f = fopen(path, "re");
	char line[8192];
	int rc = 0;

	if (!f)
		return -errno;
	while (!rc && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0])
			rc = add_entry(t, e, line);
	}
	fclose(f);
	return rc;
}

/* Append entries to the log and extend the TPM, as the agent does (log first).  --log-only
 * and --tpm-only make the two disagree on purpose. */
static int cmd_append(struct tcl_tpm *t, int argc, char **argv)
{
	bool log_only = false, tpm_only = false;
	struct entries e = { 0 };
	struct tcl_log *l = NULL;
	size_t done = 0;
	int rc = 0;

	for (int i = 0; i < argc && !rc; i++) {
		if (!strcmp(argv[i], "--from") && i + 1 < argc)
			rc = append_from(t, argv[++i], &e);
		else if (!strcmp(argv[i], "--log-only"))
			log_only = true;
		else if (!strcmp(argv[i], "--tpm-only"))
			tpm_only = true;
		else
			rc = add_entry(t, &e, argv[i]);
	}
	if (!rc && !tpm_only) {
		rc = tcl_log_open(log_path, &l, NULL);
		if (!rc)
			rc = tcl_log_append(l, e.b.p, e.b.len);
		tcl_log_close(l);
	}
	if (!rc && !log_only)
		rc = tcl_tpm_extend_batch(t, pcr, e.td, e.n, &done);
	if (rc)
		fprintf(stderr, "nodesim: append: %s\n", strerror(-rc));
	tcl_log_buf_free(&e.b);
	free(e.d);
	free(e.td);
	return rc;
}

/* ---- misbehaviour ---- */

/* Replace the quote's signature by one from @key_path (TPMT_SIGNATURE, RSASSA-SHA256). */
static int forge(struct tcl_tpm_quote *q, const char *key_path)
{
	FILE *f = fopen(key_path, "re");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t sig[512];
	size_t sl = sizeof(sig);
	int rc = -EINVAL;

	if (f)
		fclose(f);
	if (!k || !md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(md, sig, &sl, q->attest, q->attest_len) != 1)
		goto out;
	q->sig[0] = 0x00;	/* TPM_ALG_RSASSA */
	q->sig[1] = 0x14;
	q->sig[2] = 0x00;	/* TPM_ALG_SHA256 */
	q->sig[3] = 0x0b;
	q->sig[4] = (uint8_t)(sl >> 8);
	q->sig[5] = (uint8_t)sl;
	memcpy(q->sig + 6, sig, sl);
	q->sig_len = 6 + sl;
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return rc;
}

static int cert_sha(const char *path, uint8_t out[32])
{
	FILE *f = fopen(path, "re");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	int len = x ? i2d_X509(x, &der) : -1;

	if (f)
		fclose(f);
	if (len > 0)
		EVP_Digest(der, (size_t)len, out, NULL, EVP_sha256(), NULL);
	OPENSSL_free(der);
	X509_free(x);
	return len > 0 ? 0 : -EINVAL;
}

/* Change the file digest of the last ima-ng entry in @log (and, with @reseal, fix its
 * template SHA-1 so that it still parses: only the replay can tell). */
static int tamper(uint8_t *log, size_t len, bool reseal)
{
	size_t off = 0, n, last = SIZE_MAX;
	struct tcl_log_entry e;

	while (off < len && !tcl_log_parse_entry(log + off, len - off, &e, &n, NULL)) {
		if (!e.buf)
			last = off;
		off += n;
	}
	if (last == SIZE_MAX)
		return -ENOENT;
	if (tcl_log_parse_entry(log + last, len - last, &e, &n, NULL))
		return -EINVAL;
	((uint8_t *)e.digest)[0] ^= 0x5a;
	if (reseal)
		EVP_Digest(e.data, e.data_len, log + last + 4, NULL, EVP_sha1(), NULL);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* @rounds evidences, each carrying the whole log from offset 0 (the node re-enrols between
 * rounds, which starts the attestor's replay over); only the POST is timed. */
static int bench_evidence(struct tcl_attest *a, struct tcl_tpm *t, int rounds)
{
	struct tcl_attest_result r = { 0 };
	struct tcl_attest_challenge ch;
	struct tcl_tpm_quote *q = calloc(1, sizeof(*q));
	uint8_t qual[32], *log = NULL;
	size_t len = 0, jl = 0;
	double total = 0, worst = 0;
	uint64_t entries = 0;
	char *json = NULL;
	int rc = 0;

	if (!q)
		return -ENOMEM;
	for (int i = 0; i < rounds && !rc; i++) {
		double t0, dt;

		rc = tcl_attest_enrol(a, true, &r);
		if (!rc)
			rc = tcl_attest_get_challenge(a, &ch, &r);
		if (rc)
			break;
		tcl_attest_bind(ch.nonce, tcl_attest_cert_sha256(a), qual);
		rc = tcl_tpm_quote(t, qual, sizeof(qual), ch.bank, ch.pcr_mask, q);
		free(log);
		log = NULL;
		if (!rc)
			rc = tcl_attest_read_log(log_path, 0, 256u << 20, &log, &len);
		free(json);
		json = NULL;
		if (!rc)
			rc = tcl_attest_evidence_json(ch.nonce, q, 0, log, len, &json, &jl);
		if (rc)
			break;
		t0 = now_s();
		rc = tcl_attest_post_evidence(a, json, jl, &r);
		dt = now_s() - t0;
		if (!rc && (strcmp(r.verdict, "trusted") || r.log_offset != len)) {
			fprintf(stderr, "nodesim: bench round %d: verdict %s, offset %llu of %zu\n",
				i, r.verdict, (unsigned long long)r.log_offset, len);
			rc = -EPROTO;
		}
		total += dt;
		worst = dt > worst ? dt : worst;
		entries = r.accepted_entries;
	}
	if (!rc)
		printf("{\"rounds\":%d,\"entries\":%llu,\"log_bytes\":%zu,\"body_bytes\":%zu,"
		       "\"seconds\":%.3f,\"evidence_per_second\":%.2f,\"ms_mean\":%.1f,"
		       "\"ms_max\":%.1f}\n", rounds, (unsigned long long)entries, len, jl, total,
		       rounds / total, 1000 * total / rounds, 1000 * worst);
	else
		print("bench", rc, &r);
	free(json);
	free(log);
	free(q);
	return rc;
}

/* A long-running node, as the agent is: every @interval seconds one new host measurement and
 * one attestation round, until @seconds have passed.  One line per round: "ok MS" or
 * "fail MS" (MS: the round, challenge to answer). */
static int poll_loop(struct tcl_attest *a, struct tcl_tpm *t, int seconds, double interval,
		     int entries)
{
	double end = now_s() + seconds, t0, dt;
	char (*spec)[200] = calloc((size_t)entries, sizeof(*spec)), hex[65];
	char **argv = calloc((size_t)entries, sizeof(*argv));
	unsigned long e = 0;
	uint8_t d[32];
	int fails = 0;

	if (!spec || !argv) {
		free(spec);
		free(argv);
		return -ENOMEM;
	}
	for (unsigned long k = 0; now_s() < end; k++) {
		struct tcl_attest_result r = { 0 };
		int rc;

		for (int i = 0; i < entries; i++, e++) {
			snprintf(spec[i], sizeof(spec[i]), "%s-%lu", tcl_attest_node_id(a), e);
			EVP_Digest(spec[i], strlen(spec[i]), d, NULL, EVP_sha256(), NULL);
			tcl_hex(d, 32, hex);
			snprintf(spec[i], sizeof(spec[i]), "host,/usr/bin/tool%lu,%s", e, hex);
			argv[i] = spec[i];
		}
		t0 = now_s();
		rc = cmd_append(t, entries, argv);
		if (!rc)
			rc = tcl_attest_push(a, &r);
		dt = now_s() - t0;
		printf("%s %.0f\n", rc ? "fail" : "ok", dt * 1000);
		fflush(stdout);
		fails += rc != 0;
		if (interval > dt) {
			struct timespec ts = { (time_t)(interval - dt),
					       (long)((interval - dt - (long)(interval - dt)) * 1e9) };

			nanosleep(&ts, NULL);
		}
	}
	free(spec);
	free(argv);
	return fails ? -EIO : 0;
}

enum mode { M_FORGE, M_REPLAY, M_STALE, M_TAMPER, M_RELAY };

/* The same node talking to another replica: its own scratch client state, so that the node's
 * state (bound to --url) stays as it is. */
static int other_replica(struct tcl_tpm *t, const char *url, struct tcl_attest **b)
{
	static char scratch[4200];
	struct tcl_attest_opts o = opts;

	snprintf(scratch, sizeof(scratch), "%s/other-replica.json", dir);
	o.url = url;
	o.state_path = scratch;
	return tcl_attest_open(&o, t, b);
}

/* Evidence for challenge @ch: quote and the log from the challenge's offset. */
static int evidence_for(struct tcl_attest *a, struct tcl_tpm *t,
			const struct tcl_attest_challenge *ch, char **json, size_t *jl)
{
	struct tcl_tpm_quote *q = calloc(1, sizeof(*q));
	uint8_t qual[32], *log = NULL;
	size_t len = 0;
	int rc;

	if (!q)
		return -ENOMEM;
	tcl_attest_bind(ch->nonce, tcl_attest_cert_sha256(a), qual);
	rc = tcl_tpm_quote(t, qual, sizeof(qual), ch->bank, ch->pcr_mask, q);
	if (!rc)
		rc = tcl_attest_read_log(log_path, ch->log_offset, 64u << 20, &log, &len);
	if (!rc)
		rc = tcl_attest_evidence_json(ch->nonce, q, ch->log_offset, log, len, json, jl);
	free(log);
	free(q);
	return rc;
}

/* split: the nonce of one replica, the evidence to the other.  race: one challenge from each,
 * both evidences (for the same offset) posted at once, the second from a child process. */
static int replicas(struct tcl_attest *a, struct tcl_tpm *t, const char *url2, bool race)
{
	struct tcl_attest_result r = { 0 }, r2 = { 0 };
	struct tcl_attest_challenge ch, ch2;
	struct tcl_attest *b = NULL;
	char *json = NULL, *json2 = NULL;
	size_t jl = 0, jl2 = 0;
	pid_t pid;
	int rc, st = 0;

	rc = other_replica(t, url2, &b);
	if (!rc)
		rc = tcl_attest_get_challenge(a, &ch, &r);
	if (!rc && race)
		rc = tcl_attest_get_challenge(b, &ch2, &r2);
	if (!rc)
		rc = evidence_for(a, t, &ch, &json, &jl);
	if (!rc && race)
		rc = evidence_for(a, t, &ch2, &json2, &jl2);
	if (rc || !race) {
		if (!rc)
			rc = tcl_attest_post_evidence(b, json, jl, &r);
		print("split", rc, &r);
		goto out;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		rc = tcl_attest_post_evidence(b, json2, jl2, &r2);
		print("race-b", rc, &r2);
		_exit(0);
	}
	rc = tcl_attest_post_evidence(a, json, jl, &r);
	print("race-a", rc, &r);
	if (pid > 0)
		waitpid(pid, &st, 0);
	rc = 0;
out:
	free(json);
	free(json2);
	tcl_attest_close(b);
	return rc;
}

static int misbehave(struct tcl_attest *a, struct tcl_tpm *t, enum mode m, const char *arg,
		     bool reseal)
{
	struct tcl_attest_result r = { 0 };
	struct tcl_attest_challenge ch;
	struct tcl_tpm_quote *q = calloc(1, sizeof(*q));
	uint8_t qual[32], other[32], *log = NULL;
	size_t len = 0, jl = 0;
	char *json = NULL;
	int rc;

	if (!q)
		return -ENOMEM;
	rc = tcl_attest_get_challenge(a, &ch, &r);
	if (rc)
		goto out;
	if (m == M_STALE)
		sleep((unsigned int)atoi(arg));
	if (m == M_RELAY) {
		rc = cert_sha(arg, other);
		if (rc)
			goto out;
		tcl_attest_bind(ch.nonce, other, qual);
	} else {
		tcl_attest_bind(ch.nonce, tcl_attest_cert_sha256(a), qual);
	}
	rc = tcl_tpm_quote(t, qual, sizeof(qual), ch.bank, ch.pcr_mask, q);
	if (!rc)
		rc = tcl_attest_read_log(log_path, ch.log_offset, 64u << 20, &log, &len);
	if (!rc && m == M_FORGE)
		rc = forge(q, arg);
	if (!rc && m == M_TAMPER)
		rc = tamper(log, len, reseal);
	if (!rc)
		rc = tcl_attest_evidence_json(ch.nonce, q, ch.log_offset, log, len, &json, &jl);
	if (rc)
		goto out;
	rc = tcl_attest_post_evidence(a, json, jl, &r);
	if (m == M_REPLAY) {
		print("first", rc, &r);
		memset(&r, 0, sizeof(r));
		rc = tcl_attest_post_evidence(a, json, jl, &r);
	}
out:
	print(m == M_REPLAY ? "replayed" : "evidence", rc, &r);
	free(json);
	free(log);
	free(q);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "tpm", required_argument, NULL, 't' }, { "url", required_argument, NULL, 'u' },
		{ "cert", required_argument, NULL, 'c' }, { "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' }, { "dir", required_argument, NULL, 'd' },
		{ "pcr", required_argument, NULL, 'p' },
		{ "attempts", required_argument, NULL, 'n' },
		{ "retry-ms", required_argument, NULL, 'r' },
		{ "node", required_argument, NULL, 'i' },
		{ "ak-handle", required_argument, NULL, 'H' },
		{ "max-log", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct tcl_attest_result r = { 0 };
	struct tcl_attest *a = NULL;
	struct tcl_tpm *t = NULL;
	const char *cmd;
	int o, rc;

	tcl_prog = "nodesim";
	while ((o = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (o) {
		case 't': tcti = optarg; break;
		case 'u': opts.url = optarg; break;
		case 'c': opts.cert = optarg; break;
		case 'k': opts.key = optarg; break;
		case 'a': opts.ca_file = optarg; break;
		case 'd': dir = optarg; break;
		case 'p': pcr = (uint32_t)atoi(optarg); break;
		case 'n': opts.max_attempts = (unsigned int)atoi(optarg); break;
		case 'r': opts.retry_min_ms = (unsigned int)atoi(optarg); break;
		case 'i': opts.node_id = optarg; break;
		case 'H': opts.ak_handle = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'm': opts.max_log_bytes = strtoul(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc || !tcti || !dir) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	snprintf(log_path, sizeof(log_path), "%s/log.bin", dir);
	snprintf(state_path, sizeof(state_path), "%s/attest.json", dir);
	opts.state_path = state_path;
	opts.log_path = log_path;
	opts.retry_max_ms = opts.retry_min_ms ? opts.retry_min_ms * 8 : 2000;
	mkdir(dir, 0700);
	rc = tcl_tpm_open(tcti, &t);
	if (rc) {
		fprintf(stderr, "nodesim: TPM %s: %s\n", tcti, strerror(-rc));
		return 1;
	}
	if (!strcmp(cmd, "append")) {
		rc = cmd_append(t, argc - optind, argv + optind);
		goto out;
	}
	if (!strcmp(cmd, "offset")) {
		struct stat st;

		rc = tcl_attest_open(&opts, t, &a);
		if (!rc)
			printf("{\"acked\":%llu,\"log_size\":%lld}\n",
			       (unsigned long long)tcl_attest_acked_offset(a),
			       stat(log_path, &st) ? 0LL : (long long)st.st_size);
		goto out;
	}
	rc = tcl_attest_open(&opts, t, &a);
	if (rc)
		goto out;
	if (!strcmp(cmd, "enrol")) {
		bool force = optind < argc && !strcmp(argv[optind], "--force");

		rc = tcl_attest_enrol(a, force, &r);
		print("enrol", rc, &r);
	} else if (!strcmp(cmd, "push")) {
		rc = tcl_attest_push(a, &r);
		print("push", rc, &r);
	} else if (!strcmp(cmd, "poll") && optind + 1 < argc) {
		rc = poll_loop(a, t, atoi(argv[optind]), atof(argv[optind + 1]),
			       optind + 2 < argc && atoi(argv[optind + 2]) > 0 ?
			       atoi(argv[optind + 2]) : 1);
	} else if (!strcmp(cmd, "bench-evidence") && optind < argc) {
		rc = bench_evidence(a, t, atoi(argv[optind]));
	} else if (!strcmp(cmd, "forge") && optind < argc) {
		rc = misbehave(a, t, M_FORGE, argv[optind], false);
	} else if (!strcmp(cmd, "replay")) {
		rc = misbehave(a, t, M_REPLAY, NULL, false);
	} else if (!strcmp(cmd, "stale") && optind < argc) {
		rc = misbehave(a, t, M_STALE, argv[optind], false);
	} else if (!strcmp(cmd, "tamper")) {
		rc = misbehave(a, t, M_TAMPER, NULL,
			       !(optind < argc && !strcmp(argv[optind], "--no-reseal")));
	} else if (!strcmp(cmd, "relay") && optind < argc) {
		rc = misbehave(a, t, M_RELAY, argv[optind], false);
	} else if ((!strcmp(cmd, "split") || !strcmp(cmd, "race")) && optind < argc) {
		rc = replicas(a, t, argv[optind], !strcmp(cmd, "race"));
	} else {
		usage(stderr);
		rc = -EINVAL;
		tcl_attest_close(a);
		tcl_tpm_close(t);
		return 2;
	}
out:
	tcl_attest_close(a);
	tcl_tpm_close(t);
	return rc ? 1 : 0;
}
