// SPDX-License-Identifier: GPL-2.0
/* tclctl: the operator's command line for tcl. See README.md "tclctl".  The global options,
 * then one noun from the table below; each noun's file dispatches its verbs (cmds.h). */
#include <getopt.h>
#include <stdio.h>

#include "cmds.h"
#include "diag.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tclctl [--pin-dir DIR] [--socket PATH] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  status                         programs, mode, scope, counters; exit 0 only when enforcing\n"
		"  events [--follow] [--verdict V] [--type T] [--container ID] [--pod P]\n"
		"         [--namespace NS] [--image REF] [-o text|json] [--color WHEN]\n"
		"                                 event records from the agent (readable lines on\n"
		"                                 a terminal, else JSON lines)\n"
		"  top [--interval S] [--once]    per container: execs, denials, the last denial\n"
		"  policy generate --dir DIR... [-o FILE]\n"
		"  policy check FILE\n"
		"  image push|resolve ...         OCI images in a registry (tclctl image --help)\n"
		"  image verify --registry URL --trust-key PEM REF\n"
		"                                 verify an image against its signed golden manifest\n"
		"  golden generate|sign|verify|keygen ...\n"
		"                                 golden manifests of OCI images (tclctl golden --help)\n"
		"  golden push|pull ...           golden manifests beside their image in a registry\n"
		"  golden learn --image REF -o FILE\n"
		"                                 propose a golden manifest from audit records\n"
		"  log show|verify|pcrs ...       the measurement log: IMA ascii form, replay vs the PCR\n"
		"  quote --nonce HEX -o DIR       a TPM quote in the files tpm2_checkquote reads\n"
		"  ak export [-o FILE]            the attestation key (PEM)\n"
		"  k8s render|hook-spec ...       TrustedImage objects -> agent policy; tcl-hook in a\n"
		"                                 runtime spec (tclctl k8s --help)\n"
		"  unload --yes                   detach and remove every pinned program and map\n"
		"\n"
		"Each command takes --help.\n");
}

static const struct cmd nouns[] = {
	{ "status", tcl_cmd_status },
	{ "events", tcl_cmd_events },
	{ "top", tcl_cmd_top },
	{ "policy", tcl_cmd_policy },
	{ "image", tcl_cmd_image },
	{ "golden", tcl_cmd_golden },
	{ "log", tcl_cmd_log },
	{ "quote", tcl_cmd_quote },
	{ "ak", tcl_cmd_ak },
	{ "k8s", tcl_cmd_k8s },
	{ "unload", tcl_cmd_unload },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "pin-dir", required_argument, NULL, 'P' },
					      { "socket", required_argument, NULL, 'S' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	int opt;

	tcl_prog = "tclctl";
	tcl_verbosity = TCL_WARN;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'P':
			ctl_pin_dir = optarg;
			break;
		case 'S':
			ctl_socket = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	return cmd_select(nouns, NULL, argc - optind, argv + optind, usage);
}
