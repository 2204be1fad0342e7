// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "config.h"
#include "diag.h"
#include "log.h"
#include "util.h"

enum {
	O_CONFIG = 256, O_LISTEN, O_CERT, O_KEY, O_CLIENT_CA, O_STATE, O_DB, O_REGISTRY,
	O_REGISTRY_CA, O_REGISTRY_AUTH, O_REGISTRY_TIMEOUT, O_TRUST_KEY, O_EK_CA, O_ADMIN_CA,
	O_HOST_POLICY, O_PCR, O_PCR_BANK, O_NONCE_TTL, O_STALE_AFTER, O_ENROL_TTL, O_MAX_BODY,
	O_MAX_ENTRIES, O_MAX_NODES, O_OPEN_READS, O_VERBOSE, O_QUIET, O_HELP
};

static const struct option opts[] = {
	{ "config", required_argument, NULL, O_CONFIG },
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "cert", required_argument, NULL, O_CERT },
	{ "key", required_argument, NULL, O_KEY },
	{ "client-ca", required_argument, NULL, O_CLIENT_CA },
	{ "admin-ca", required_argument, NULL, O_ADMIN_CA },
	{ "state", required_argument, NULL, O_STATE },
	{ "db", required_argument, NULL, O_DB },
	{ "registry", required_argument, NULL, O_REGISTRY },
	{ "registry-ca", required_argument, NULL, O_REGISTRY_CA },
	{ "registry-auth-file", required_argument, NULL, O_REGISTRY_AUTH },
	{ "registry-timeout", required_argument, NULL, O_REGISTRY_TIMEOUT },
	{ "trust-key", required_argument, NULL, O_TRUST_KEY },
	{ "ek-ca", required_argument, NULL, O_EK_CA },
	{ "host-policy", required_argument, NULL, O_HOST_POLICY },
	{ "pcr", required_argument, NULL, O_PCR },
	{ "pcr-bank", required_argument, NULL, O_PCR_BANK },
	{ "nonce-ttl", required_argument, NULL, O_NONCE_TTL },
	{ "stale-after", required_argument, NULL, O_STALE_AFTER },
	{ "enrol-ttl", required_argument, NULL, O_ENROL_TTL },
	{ "max-body", required_argument, NULL, O_MAX_BODY },
	{ "max-entries", required_argument, NULL, O_MAX_ENTRIES },
	{ "max-nodes", required_argument, NULL, O_MAX_NODES },
	{ "open-reads", no_argument, NULL, O_OPEN_READS },
	{ "verbose", no_argument, NULL, O_VERBOSE },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

const struct option *att_config_options(void)
{
	return opts;
}

void att_config_usage(FILE *f)
{
	fprintf(f,
		"Usage: tcl-attestor [--config FILE] [OPTIONS]\n"
		"Remote attestation service for tcl nodes: enrolment (AK bound to the EK), nonce\n"
		"challenges, quote + measurement log verification, appraisal against signed golden\n"
		"manifests from the registry, verdicts and a kube-scheduler extender filter.\n"
		"HTTPS only (TLS 1.3), every client presents a certificate from --client-ca.\n"
		"\n"
		"  --config FILE            'key = value' lines, keys = these option names\n"
		"  --listen ADDR:PORT       address to listen on (default 127.0.0.1:8443)\n"
		"  --cert PEM --key PEM     server certificate (chain) and private key (required)\n"
		"  --client-ca PEM          CA bundle issuing node and reader certificates (required)\n"
		"  --admin-ca PEM           CA bundle issuing admin certificates (POST and DELETE\n"
		"                           /v1/revocations); a CA of its own, not --client-ca\n"
		"                           (default: no admin calls)\n"
		"  --db URL                 where the state lives: sqlite:PATH (default\n"
		"                           sqlite:DIR/state.db, DIR the folder of --state), or\n"
		"                           postgresql://USER@HOST/DB (or postgresql:CONNINFO),\n"
		"                           which several replicas can share\n"
		"  --state FILE             JSON state file of an older attestor, imported once into\n"
		"                           an empty database and renamed FILE.imported\n"
		"                           (default /var/lib/tcl-attestor/state.json)\n"
		"  --registry URL           OCI registry holding images and golden manifests\n"
		"  --registry-ca PEM        CA bundle for an https registry\n"
		"  --registry-auth-file F   'user:pass' for the registry\n"
		"  --registry-timeout S     seconds per registry request (default 10)\n"
		"  --trust-key PEM          key that signs golden manifests (repeatable, up to %d)\n"
		"  --ek-ca PEM              TPM manufacturer CA bundle: EK certificates required and\n"
		"                           checked against it (default: EK certificates optional)\n"
		"  --host-policy FILE       policy v1 (tclctl policy); its \"allow\" list appraises host\n"
		"                           files (default: host files are reported as unappraised)\n"
		"  --pcr N                  PCR the nodes extend their log into, 10-15\n"
		"                           (default 13)\n"
		"  --pcr-bank ALG           bank the nodes quote, the log's replay: sha256\n"
		"                           (default), sha1, sha384 or sha512; a node replayed\n"
		"                           in another bank keeps it until its log restarts\n"
		"  --nonce-ttl S            seconds a challenge stays valid (default 60)\n"
		"  --stale-after S          seconds after the last evidence a node turns stale\n"
		"                           (default 300)\n"
		"  --enrol-ttl S            seconds an enrolment waits for activation (default 300)\n"
		"  --max-body N[K|M|G]      largest evidence body (default 64M)\n"
		"  --max-entries N          log entries per evidence (default 1000000)\n"
		"  --max-nodes N            nodes (default 100000)\n"
		"  --open-reads             GET verdicts, /scheduler/filter and /metrics without a\n"
		"                           client certificate\n"
		"  -v, --verbose / -q, --quiet   more / fewer messages\n"
		"  -h, --help               this text\n", ATT_MAX_TRUST_KEYS);
}

static int set_str(char **dst, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int num(const char *v, int64_t min, int64_t max, bool suffix, int64_t *out)
{
	char *end;
	long long x;

	errno = 0;
	if (!isdigit((unsigned char)v[0]))
		return -EINVAL;
	x = strtoll(v, &end, 10);
	if (errno)
		return -EINVAL;
	if (suffix && *end && !end[1]) {
		int shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20 :
			    *end == 'G' || *end == 'g' ? 30 : -1;

		if (shift < 0 || x > (LLONG_MAX >> shift))
			return -EINVAL;
		x <<= shift;
		end++;
	}
	if (*end || x < min || x > max)
		return -EINVAL;
	*out = x;
	return 0;
}

/* Apply one setting; @from names where it came from in messages. */
static int apply(struct att_config *c, int id, const char *v, const char *from, FILE *err)
{
	int64_t x = 0;
	int rc = 0;

	switch (id) {
	case O_LISTEN:
		return set_str(&c->listen, v);
	case O_CERT:
		return set_str(&c->cert, v);
	case O_KEY:
		return set_str(&c->key, v);
	case O_CLIENT_CA:
		return set_str(&c->client_ca, v);
	case O_ADMIN_CA:
		return set_str(&c->admin_ca, v);
	case O_STATE:
		return set_str(&c->state, v);
	case O_DB:
		if (strlen(v) > 4096) {
			fprintf(err, "tcl-attestor: %s: longer than 4096 bytes\n", from);
			return -EINVAL;
		}
		return set_str(&c->db, v);
	case O_REGISTRY:
		return set_str(&c->registry, v);
	case O_REGISTRY_CA:
		return set_str(&c->registry_ca, v);
	case O_REGISTRY_AUTH:
		return set_str(&c->registry_auth_file, v);
	case O_EK_CA:
		return set_str(&c->ek_ca, v);
	case O_HOST_POLICY:
		return set_str(&c->host_policy, v);
	case O_TRUST_KEY:
		if (c->n_trust >= ATT_MAX_TRUST_KEYS) {
			fprintf(err, "tcl-attestor: %s: more than %d trust keys\n", from,
				ATT_MAX_TRUST_KEYS);
			return -E2BIG;
		}
		c->trust_keys[c->n_trust] = strdup(v);
		if (!c->trust_keys[c->n_trust])
			return -ENOMEM;
		c->n_trust++;
		return 0;
	case O_REGISTRY_TIMEOUT:
		rc = num(v, 1, 3600, false, &x);
		c->registry_timeout = (long)x;
		break;
	case O_PCR:
		/* as the agent (measure.h): 0-9 are the firmware's and boot_aggregate's, 16 can be
		 * reset by anyone, 17-22 only at locality 4 (D-RTM): nodes cannot extend them */
		rc = num(v, 10, 15, false, &x);
		c->pcr = (uint32_t)x;
		break;
	case O_PCR_BANK:
		c->pcr_bank = tcl_log_alg_from_name(v);
		rc = c->pcr_bank < 0 ? -EINVAL : 0;
		break;
	case O_NONCE_TTL:
		rc = num(v, 1, 86400, false, &c->nonce_ttl);
		break;
	case O_STALE_AFTER:
		rc = num(v, 1, 365 * 86400, false, &c->stale_after);
		break;
	case O_ENROL_TTL:
		rc = num(v, 1, 86400, false, &c->enrol_ttl);
		break;
	case O_MAX_BODY:
		rc = num(v, 4096, 1ll << 30, true, &x);
		c->max_body = (size_t)x;
		break;
	case O_MAX_ENTRIES:
		rc = num(v, 1, 100000000, false, &x);
		c->max_entries = (size_t)x;
		break;
	case O_MAX_NODES:
		rc = num(v, 1, 10000000, false, &x);
		c->max_nodes = (size_t)x;
		break;
	case O_OPEN_READS:
		if (!v || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
			c->open_reads = true;
		else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
			c->open_reads = false;
		else
			rc = -EINVAL;
		break;
	default:
		rc = -EINVAL;
	}
	if (rc)
		fprintf(err, "tcl-attestor: %s: invalid value '%.100s'\n", from, v ? v : "");
	return rc;
}

static void defaults(struct att_config *c)
{
	memset(c, 0, sizeof(*c));
	c->registry_timeout = 10;
	c->pcr = 13;
	c->pcr_bank = TCL_LOG_SHA256;
	c->nonce_ttl = 60;
	c->stale_after = 300;
	c->enrol_ttl = 300;
	c->max_body = 64u << 20;
	c->max_entries = 1000000;
	c->max_nodes = 100000;
	c->verbosity = TCL_INFO;
}

struct file_ctx {
	struct att_config *c;
	FILE *err;
};

static int set_from_file(void *ctx, const struct option *o, const char *v, const char *from)
{
	struct file_ctx *f = ctx;

	return apply(f->c, o->val, v, from, f->err);
}

int att_config_file(const char *path, struct att_config *c, FILE *err)
{
	static const char *const not_keys[] = { "config", "help", "verbose", "quiet", NULL };
	struct file_ctx f = { c, err };
	struct tcl_conf conf = {
		.prog = "tcl-attestor",
		.opts = opts,
		.not_keys = not_keys,
		.set = set_from_file,
		.ctx = &f,
		.err = err,
	};

	return tcl_conf_read(&conf, path) ? 2 : 0;
}

int att_config_parse(int argc, char **argv, struct att_config *c, FILE *err)
{
	const char *cfg = NULL;
	int o, rc;

	defaults(c);
	/* the file first, so that flags override it */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			cfg = argv[i + 1];
		else if (!strncmp(argv[i], "--config=", 9))
			cfg = argv[i] + 9;
	}
	if (cfg) {
		rc = att_config_file(cfg, c, err);
		if (rc)
			return rc;
	}
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":vqh", opts, NULL)) != -1) {
		char from[64] = "";

		switch (o) {
		case O_CONFIG:
			break;
		case 'v':
		case O_VERBOSE:
			c->verbosity = TCL_DEBUG;
			break;
		case 'q':
		case O_QUIET:
			c->verbosity = TCL_WARN;
			break;
		case 'h':
		case O_HELP:
			c->help = true;
			return 0;
		case ':':
			fprintf(err, "tcl-attestor: %s needs a value (see --help)\n",
				argv[optind - 1]);
			return 2;
		case '?':
			fprintf(err, "tcl-attestor: unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			return 2;
		default:
			for (const struct option *op = opts; op->name; op++)
				if (op->val == o)
					snprintf(from, sizeof(from), "--%s", op->name);
			if (apply(c, o, o == O_OPEN_READS ? NULL : optarg, from, err))
				return 2;
		}
	}
	if (optind < argc) {
		fprintf(err, "tcl-attestor: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	if (!c->listen && set_str(&c->listen, "127.0.0.1:8443"))
		return 2;
	if (!c->state && set_str(&c->state, "/var/lib/tcl-attestor/state.json"))
		return 2;
	if (!c->db) {
		const char *slash = strrchr(c->state, '/');
		int dl = slash ? (int)(slash - c->state) : 1;

		if (asprintf(&c->db, "sqlite:%.*s/state.db", dl, slash ? c->state : ".") < 0) {
			c->db = NULL;
			return 2;
		}
	}
	if (!c->cert || !c->key || !c->client_ca) {
		fprintf(err, "tcl-attestor: --cert, --key and --client-ca are required (mutual "
			"TLS only)\n");
		return 2;
	}
	if (c->admin_ca && !strcmp(c->admin_ca, c->client_ca)) {
		fprintf(err, "tcl-attestor: --admin-ca must be a CA of its own: with --client-ca's, "
			"every node could revoke\n");
		return 2;
	}
	return 0;
}

void att_config_free(struct att_config *c)
{
	free(c->listen);
	free(c->cert);
	free(c->key);
	free(c->client_ca);
	free(c->admin_ca);
	free(c->state);
	free(c->db);
	free(c->registry);
	free(c->registry_ca);
	free(c->registry_auth_file);
	free(c->ek_ca);
	free(c->host_policy);
	for (size_t i = 0; i < c->n_trust; i++)
		free(c->trust_keys[i]);
	memset(c, 0, sizeof(*c));
}
