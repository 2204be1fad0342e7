// SPDX-License-Identifier: GPL-2.0
/* tclctl ak export [-o FILE] [--public FILE] [--tpm TCTI]: the attestation key's public key as
 * PEM, optionally its TPM2B_PUBLIC; the AK is created at 0x81010002 if absent, as the agent
 * would. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "diag.h"
#include "measure.h"
#include "tpm.h"
#include "hexb64.h"

enum { OPT_TPM = 256, OPT_PUBLIC };

static const char ak_help[] =
	"usage: %s ak export [-o FILE] [--public FILE] [--tpm TCTI]\n"
	"Write the attestation key's public key as PEM (SubjectPublicKeyInfo) to FILE or stdout.\n"
	"The AK lives at persistent handle 0x81010002 and is created under the endorsement key\n"
	"if absent, as tcl-agent does. Its TPM name goes to stderr.\n"
	"  -o, --output FILE   PEM output (default stdout)\n"
	"  --public FILE       also write the marshalled TPM2B_PUBLIC (as tpm2_readpublic -f tss)\n"
	"  --tpm TCTI          libtss2 TCTI (default " TCL_MEASURE_DEFAULT_TCTI ")\n";

static int cmd_ak_export(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "public", required_argument, NULL, OPT_PUBLIC },
		{ "tpm", required_argument, NULL, OPT_TPM },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *pub = NULL, *tcti = TCL_MEASURE_DEFAULT_TCTI;
	char name[2 * TCL_TPM_NAME_MAX + 1], *pem = NULL;
	struct tcl_tpm *t = NULL;
	struct tcl_tpm_ak ak;
	int c, err, ret = 1;

	while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case OPT_PUBLIC:
			pub = optarg;
			break;
		case OPT_TPM:
			tcti = optarg;
			break;
		case 'h':
			printf(ak_help, tcl_prog);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: ak export takes no arguments (--help)\n", tcl_prog);
		return EXIT_USAGE;
	}
	err = tcl_tpm_open(tcti, &t);
	if (!err)
		err = tcl_tpm_ak_ensure(t, 0, &ak);
	if (!err)
		err = tcl_tpm_ak_public_pem(t, &pem);
	if (err) {
		fprintf(stderr, "%s: ak export: %s\n", tcl_prog, strerror(-err));
		goto out;
	}
	if (ctl_write_output(out ? out : "-", pem, strlen(pem)) ||
	    (pub && ctl_write_output(pub, ak.pub, ak.pub_len)))
		goto out;
	tcl_hex(ak.name, ak.name_len, name);
	fprintf(stderr, "AK 0x%08x (%s), name %s\n", ak.handle, ak.created ? "created" : "loaded",
		name);
	ret = 0;
out:
	tcl_tpm_close(t);
	free(pem);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f, ak_help, tcl_prog);
}

int tcl_cmd_ak(int argc, char **argv)
{
	static const struct cmd verbs[] = {
		{ "export", cmd_ak_export },
		{ NULL, NULL },
	};

	return cmd_select(verbs, argv[0], argc - 1, argv + 1, usage);
}
