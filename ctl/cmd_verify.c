// SPDX-License-Identifier: GPL-2.0
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd_verify.h"
#include "verify.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: tclctl image verify --registry URL --trust-key PEM [--trust-key PEM...]\n"
		   "                          [--digest sha256:HEX] [--cache DIR] REF\n"
		   "Verify image REF against its signed golden manifest in the registry, as tcl-hook\n"
		   "does before a container starts. Prints \"verified\" (exit 0) or\n"
		   "\"NOT verified: <reason>\" (exit 1).\n");
}

int tcl_cmd_image_verify(int argc, char **argv)
{
	static const struct option opts[] = { { "registry", required_argument, NULL, 'r' },
					      { "trust-key", required_argument, NULL, 'k' },
					      { "digest", required_argument, NULL, 'd' },
					      { "cache", required_argument, NULL, 'c' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	struct tcl_verifier_opts o = { .cache_dir = "/var/lib/tcl/golden" };
	struct tcl_verify_result r;
	struct tcl_verifier *v = NULL;
	const char *digest = NULL;
	int c, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o.registry_url = optarg;
			break;
		case 'k':
			if (o.n_trust_keys == TCL_MAX_TRUST_KEYS)
				return 2;
			o.trust_keys[o.n_trust_keys++] = optarg;
			break;
		case 'd':
			digest = optarg;
			break;
		case 'c':
			o.cache_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || !o.n_trust_keys) {
		usage(stderr);
		return 2;
	}
	if (tcl_verifier_new(&o, &v))
		return 1;
	if (tcl_verify_image(v, argv[optind], digest, &r) == 0 && r.verified) {
		printf("verified: %s %s, golden manifest sha256:%s, key %s%s\n", argv[optind],
		       r.image_digest, r.manifest_sha256, r.keyid,
		       r.resolved_by_name ? " (digest resolved from the tag)" : "");
		rc = 0;
	} else {
		printf("NOT verified: %s\n", r.reason);
	}
	tcl_verify_result_free(&r);
	tcl_verifier_free(v);
	return rc;
}
