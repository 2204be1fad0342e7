/* SPDX-License-Identifier: GPL-2.0 */
/* tcl-attestor configuration: an optional file (--config FILE) of "key = value" lines, the keys
 * being the long option names without "--" ('#' starts a comment, blank lines are ignored,
 * "trust-key" may repeat), then the command line, which wins over the file (trust keys from
 * both are used).  See att_config_usage() and docs/attestor.md. */
#ifndef ATT_CONFIG_H
#define ATT_CONFIG_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ATT_MAX_TRUST_KEYS 32

struct att_config {
	char *listen;			/* ADDR:PORT, [IPv6]:PORT */
	char *cert, *key;		/* server certificate chain and key (PEM) */
	char *client_ca;		/* CAs that issue node (and reader) client certificates */
	char *admin_ca;			/* CAs that issue admin certificates; NULL: no admin calls */
	char *state;			/* JSON state file to import once */
	char *db;			/* sqlite:PATH, postgresql://..., postgresql:CONNINFO */
	char *registry;			/* registry URL for golden manifests */
	char *registry_ca;
	char *registry_auth_file;
	long registry_timeout;		/* seconds */
	char *trust_keys[ATT_MAX_TRUST_KEYS];
	size_t n_trust;
	char *ek_ca;			/* EK manufacturer CA bundle; set: EK certificates required */
	char *host_policy;		/* policy v1 whose "allow" list is the host allowlist */
	uint32_t pcr;
	int pcr_bank;			/* enum tcl_log_alg the quotes and the replay use */
	int64_t nonce_ttl;		/* seconds */
	int64_t stale_after;		/* seconds */
	int64_t enrol_ttl;		/* seconds an enrolment waits for its activation */
	size_t max_body;		/* bytes of an evidence body */
	size_t max_entries;		/* log entries per evidence */
	size_t max_nodes;
	bool open_reads;		/* verdicts, filter, metrics without a client certificate */
	int verbosity;
	bool help;
};

/* 0, or 2 (usage error, message written to @err).  Sets defaults first. */
int att_config_parse(int argc, char **argv, struct att_config *c, FILE *err);
/* The file part alone (used by att_config_parse; exposed for tests). */
int att_config_file(const char *path, struct att_config *c, FILE *err);
void att_config_free(struct att_config *c);
void att_config_usage(FILE *f);
/* The long options, NULL-terminated: the unit test checks --help names every one of them. */
const struct option *att_config_options(void);

#endif
